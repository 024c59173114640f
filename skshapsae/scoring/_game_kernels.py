"""The permutation estimator's inner loop on the CPU, fused (numba).

For a row of a layer game (an explained point ``a`` against one background row ``r``:
``gap_j = a_j - r_j``, ``c = W r + b``, ``mirror = W a + b + c``) and a random order of the
active players, the estimator walks the order once, adding ``W[:, j] gap_j`` to the
pre-activations ``z`` of every output unit, and credits player ``j`` with the increment of
``act(z) - act(mirror - z)``: its marginal along the order plus its marginal along the
reverse order (the antithetic pair). See ``PermutationEstimator`` in ``_shapley``.

torch evaluates this as a dozen whole-tensor passes (gather, multiply, cumulative sum,
two activations, differences, scatter) over ``rows x players x outputs`` float32 values,
so it runs at the speed of memory. Here one loop over the output units does all of it
while the unit's values are in registers; the loop is vectorised (``error_model="numpy"``
lets LLVM drop Python's division-by-zero check, which otherwise kept it scalar).
Measured on the 256 -> 784 logistic layer of the paper's network (100 background rows,
one thread, CPU time on a loaded machine): 30-38 ms per explained point against 57-114
ms in torch.

Activations. ``tanh`` is a rational function ``x p(x^2) / q(x^2)`` (degrees 11 and 6)
fitted by least squares to ``tanh`` on [0, 9] and clamped there (``|tanh| = 1`` in float32
beyond); its largest error is 6.3e-7 (float32 evaluation, checked on 2 million points of
[-12, 12]). ``logistic(x) = (1 + tanh(x / 2)) / 2`` and ``silu(x) = x logistic(x)``
(0 below -18, where the clamped logistic is a constant that ``x`` would scale without
bound and the exact value is below 2.8e-7); the piecewise-linear activations are exact,
and NaN stays NaN.
Others (``elu``, ``gelu``) stay on torch: :data:`FUSED` lists the ones here.

Each explained point is computed by one thread in one order, so the result does not
depend on the number of threads.
"""

import types

import numba
import numpy as np

from ..network._activations import LEAKY_SLOPE
from ..network._network import kernel_pool

# tanh(x) ~ x P(x^2) / Q(x^2) on [-CLAMP, CLAMP] (see the module notes)
_P = [
    np.float32(v)
    for v in (0.99999994, 0.1296884, 0.0029741242, 9.752549e-06, -1.4215695e-08, 2.1844582e-11)
]
_Q = [np.float32(v) for v in (1.0, 0.46302146, 0.023981605, 0.00023546908)]
P0, P1, P2, P3, P4, P5 = _P
Q0, Q1, Q2, Q3 = _Q
CLAMP = np.float32(9.0)
TWICE_CLAMP = np.float32(18.0)
HALF = np.float32(0.5)
ZERO = np.float32(0.0)
SLOPE = np.float32(LEAKY_SLOPE)

_OPTIONS = dict(nogil=True, boundscheck=False, fastmath={"contract"}, error_model="numpy")


def _njit_inline(fn):
    return numba.njit(inline="always", **_OPTIONS)(fn)


@_njit_inline
def _tanh(x):
    x = CLAMP if x > CLAMP else x
    x = -CLAMP if x < -CLAMP else x
    x2 = x * x
    p = ((((P5 * x2 + P4) * x2 + P3) * x2 + P2) * x2 + P1) * x2 + P0
    q = ((Q3 * x2 + Q2) * x2 + Q1) * x2 + Q0
    return x * p / q


@_njit_inline
def _logistic(x):
    return HALF + HALF * _tanh(HALF * x)


@_njit_inline
def _silu(x):
    # below -2 CLAMP the clamped logistic is a constant ~1.5e-8, which x would scale
    # without bound (phi 2384 at -1e10); there |silu| < 18 e^-18 = 2.8e-7, within the
    # kernel's error, so 0: a select, not a branch with exp (which stopped the loop's
    # vectorisation and made the SiLU game 3x slower)
    y = x * _logistic(x)
    return ZERO if x < -TWICE_CLAMP else y


@_njit_inline
def _relu(x):
    # NaN stays NaN, as in torch (``x > 0 else 0`` made it 0)
    return ZERO if x < ZERO else x


@_njit_inline
def _leaky_relu(x):
    return x if x > ZERO else SLOPE * x


@_njit_inline
def _identity(x):
    return x


@numba.njit(inline="always", **_OPTIONS)
def _splitmix64(x):
    """The next state and output of splitmix64 (Steele et al., 2014), a counter-based
    generator: every row's order follows from the seed and the row alone."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


def _orders(WT, gap, z_a, c, seed, acc, begin, end):
    """Rows ``begin:end``: a random order of each row's active players, and ``acc[point *
    n_in + j] +=`` player ``j``'s two marginals (float32).

    Row ``r`` is explained point ``r // n_rows`` against background row ``r % n_rows``:
    ``gap[r] = a - r_row`` (its nonzero entries are the active players), ``c`` (rows x
    outputs) the background's pre-activations and ``z_a`` (points x outputs) the points';
    ``WT`` (inputs x outputs) the weights leaving each input. The order is a Fisher-Yates
    shuffle drawn from ``seed`` and the row's index.
    """
    n_rows, n_out = c.shape
    n_in = WT.shape[0]
    z = np.empty(n_out, np.float32)
    prev = np.empty(n_out, np.float32)
    m = np.empty(n_out, np.float32)
    order = np.empty(n_in, np.int64)
    for r in range(begin, end):
        point, row = r // n_rows, r % n_rows
        n_active = 0
        for j in range(n_in):
            if gap[r, j] != 0:
                order[n_active] = j
                n_active += 1
        state = np.uint64(seed) ^ (np.uint64(r) * np.uint64(0xD1B54A32D192ED03))
        for t in range(n_active - 1, 0, -1):
            state, x = _splitmix64(state)
            k = int((x >> np.uint64(11)) * (1.0 / 9007199254740992.0) * (t + 1))
            order[t], order[k] = order[k], order[t]
        for i in range(n_out):
            z[i] = c[row, i]
            m[i] = z_a[point, i] + c[row, i]
            prev[i] = act(z[i]) - act(m[i] - z[i])  # noqa: F821 - bound per activation
        for t in range(n_active):
            j = order[t]
            g = gap[r, j]
            w = WT[j]
            a = acc[point * n_in + j]
            for i in range(n_out):
                zi = z[i] + w[i] * g
                z[i] = zi
                value = act(zi) - act(m[i] - zi)  # noqa: F821
                a[i] += value - prev[i]
                prev[i] = value


def _compile(name, act):
    """``_orders`` with ``act`` bound; named per activation so numba caches each apart."""
    fn = types.FunctionType(
        _orders.__code__, {**_orders.__globals__, "act": act}, f"_orders_{name}"
    )
    fn.__qualname__ = fn.__name__
    try:
        return numba.njit(cache=True, **_OPTIONS)(fn)
    except RuntimeError:  # numba found no writable cache folder: compile in memory
        return numba.njit(**_OPTIONS)(fn)


_ACTIVATIONS = {
    "identity": _identity,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "logistic": _logistic,
    "tanh": _tanh,
    "silu": _silu,
}

#: The activations the fused kernel evaluates (the others run on torch).
FUSED = frozenset(_ACTIVATIONS)

_KERNELS = {}


def _kernel(activation):
    if activation not in _KERNELS:
        _KERNELS[activation] = _compile(activation, _ACTIVATIONS[activation])
    return _KERNELS[activation]


def fused_available(activation, device):
    """Whether the fused kernel serves a game with ``activation`` on ``device``."""
    return activation in FUSED and str(device) == "cpu" and not numba.config.DISABLE_JIT


def add_orders(activation, WT, gap, z_a, c, seed, acc, row_splits):
    """Run the kernel (one random order per row) over the rows, one share per
    ``row_splits`` range, in threads.

    ``row_splits``: ``[(begin, end), ...]`` of whole explained points (the rows of a point
    never span two shares, so every accumulator row has one writer).
    """
    kernel = _kernel(activation)
    args = (WT, gap, z_a, c, np.uint64(seed), acc)
    pool = kernel_pool(len(row_splits) - 1) if len(row_splits) > 1 else None
    futures = [pool.submit(kernel, *args, *split) for split in row_splits[1:]]
    kernel(*args, *row_splits[0])  # the calling thread's share
    for future in futures:
        future.result()
