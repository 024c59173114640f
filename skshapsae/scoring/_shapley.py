"""Shapley values of a layer game (SPEC section 2), behind one small interface.

The game of layer ``l`` at an explained point ``a`` is, for every output unit
``i``, ``v_i(J) = mean_{r in B} act(W_i . (a_J, r_notJ) + b_i)``.  Because the
game is linear in the background rows, its Shapley values are the mean over
``r`` of the Shapley values of the single-row games
``v_i^r(J) = act(c_i + sum_{j in J} d_ij)`` with ``c = W r + b`` and
``d_ij = W_ij (a_j - r_j)``.

Estimators
----------
One class per estimator, each the public object ``shapley_estimator`` takes
(``SHAPSparseAutoencoder(shapley_estimator=...)`` takes a name, the estimator at its
default budget, or one of these objects). Each holds its budget as scikit-learn
parameters (``get_params`` / ``set_params`` / ``clone``, so that a search tunes it as a
nested parameter::

    GridSearchCV(SHAPSparseAutoencoder(shapley_estimator=PermutationEstimator()),
                 {"shapley_estimator__n_permutations": [1, 3]})

) and computes: :meth:`ShapleyEstimator.for_game` gives the scoring stage a seeded copy,
whose ``shapley_values`` returns ``phi[n, i, j]`` for a batch of explained points;
:func:`partial_sums` / :func:`combine_sums` aggregate ``mean_n |phi[n, i, j]|`` in
bounded memory (the scoring stage, :mod:`skshapsae.scoring._scoring`, drives them).
Every one takes ``background_rows`` (on the base class, :class:`ShapleyEstimator`).

``"auto"`` (:class:`AutoEstimator`)
    Picks per layer: the closed form for a linear game, exact enumeration up to
    :data:`AUTO_EXACT_MAX_PLAYERS` inputs, permutation sampling otherwise.
``"linear"`` (:class:`LinearEstimator`)
    Closed form ``phi_ij = W_ij (a_j - mean_B a_j)``; exact for the identity
    activation and for the pre-activation game.
``"exact"`` (:class:`ExactEstimator`)
    Enumerates all ``2**n_in`` coalitions; exact, for small fan-in.
``"permutation"`` (:class:`PermutationEstimator`)
    The library's estimator: antithetic permutation sampling of the
    single-row games: one pass along each order updates every output unit.
    On the CPU a fused numba kernel (:mod:`skshapsae.scoring._game_kernels`) runs it for
    the identity, ReLU, leaky ReLU, logistic, tanh and SiLU activations; on CUDA
    and for ``elu`` / ``gelu``, one cumulative sum per permutation in torch.
    Unbiased; its standard error is estimated from independent permutation
    groups.
``"kernel"`` (:class:`KernelEstimator`)
    ``shap.KernelExplainer`` on the layer function, as in the paper.
``"shap-permutation"`` (:class:`ShapPermutationEstimator`)
    ``shap.PermutationExplainer`` on the layer function (model-agnostic sampling).
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval, StrOptions

from ..network._activations import numpy_activation, torch_activation
from ..network._network import torch_threads
from ._game_kernels import add_orders, fused_available

#: Working-memory budget of one estimator step, in bytes. Small steps stay in the CPU's
#: caches: on a 784 -> 256 layer (Fashion-MNIST, 100 background rows) a point took
#: 158 ms with 256 MiB steps, 69 ms with 64 MiB, 56 ms with 16 MiB and 52 ms with 4 MiB.
DEFAULT_MEMORY_BYTES = 16 * 2**20

#: Fan-in up to which ``"auto"`` enumerates coalitions exactly: up to it enumeration is
#: as cheap as permutation sampling or cheaper. Measured (scoring of a fit, 500 rows,
#: 100 background and 200 explained rows): 5 inputs 0.015 s exact against 0.037 s
#: sampled, 6: 0.029 / 0.037, 7: 0.067 / 0.058, 8: 0.095 / 0.037, 9: 0.20 / 0.058, and
#: 10 (diabetes): 0.99 / 0.04 s, which is why the former limit of 10 made a 10-column
#: table 25x slower to score than a 13-column one.
AUTO_EXACT_MAX_PLAYERS = 7

#: Fan-in up to which the ``"exact"`` estimator enumerates when asked for explicitly
#: (``2**20`` coalitions per output and background row); above it, it refuses.
EXACT_MAX_PLAYERS = 20

_ROWS = [Interval(Integral, 1, None, closed="left"), None]
_COUNT = [Interval(Integral, 1, None, closed="left")]


@dataclass
class LayerGame:
    """The layer function ``h(a) = act(W a + b)`` and its background rows."""

    W: np.ndarray
    b: np.ndarray
    activation: str
    background: np.ndarray

    @property
    def n_players(self):
        return self.W.shape[1]

    @property
    def n_outputs(self):
        return self.W.shape[0]

    def __call__(self, A):
        """Evaluate the layer on rows ``A`` (numpy)."""
        return numpy_activation(self.activation)(A @ self.W.T + self.b)


@contextmanager
def numpy_global_state_kept():
    """Restore numpy's global random state on exit (shap's explainers draw from it)."""
    state = np.random.get_state()  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


@dataclass
class GameShape:
    """A game's sizes only, for memory estimates (no arrays allocated)."""

    n_players: int
    n_outputs: int
    activation: str
    background: range


class ShapleyEstimator(BaseEstimator):
    """Base class of the Shapley estimators: the budget every one takes, and the
    interface the scoring stage calls.

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against. ``None``: the whole background
        (``n_background`` rows, the paper's setting). An int ``k`` below it: each
        explained row plays against its own random ``k`` of them, so the cost stays that
        of ``k`` rows while the averaged importances approach those of the whole
        background (what ``background_pool`` did: ``n_background=1000`` with
        ``background_rows=100`` is the former ``n_background=100, background_pool=1000``).

    Notes
    -----
    The parameters are the budget (``get_params`` / ``set_params`` / ``clone``, so that
    a search tunes it as ``shapley_estimator__<name>``). The scoring stage plays each
    game with :meth:`for_game`, a fresh copy that draws from its own seeded stream, whose
    :meth:`shapley_values` returns ``(phi, var)``: ``phi`` of shape
    ``(n_points, n_outputs, n_players)`` and ``var``, the estimated variance of each
    entry of ``phi`` (``None`` for exact methods); :meth:`points_per_batch` says how many
    points to pass at once and :meth:`memory_bytes` what one step needs.
    """

    #: The name ``shapley_estimator`` takes for this estimator at its default budget.
    name = "base"
    #: The stream a copy made by :meth:`for_game` draws from, and its torch device.
    _seed = 0
    _device = "cpu"

    _parameter_constraints: dict = {"background_rows": _ROWS}

    def __init__(self, background_rows=None):
        self.background_rows = background_rows

    def for_game(self, game, *, seed=0, device="cpu"):
        """A fresh copy at this budget that plays ``game``, seeded with ``seed``, on
        ``device`` (``"auto"``: the estimator it picks for ``game``)."""
        estimator = clone(self)
        estimator._seed, estimator._device = seed, device
        return estimator

    def points_per_batch(self, game):
        return 1

    def memory_bytes(self, game):
        """Estimated working memory of the smallest unit of work, in bytes."""
        return 8 * game.n_outputs * game.n_players

    def shapley_values(self, game, A):  # pragma: no cover - interface
        raise NotImplementedError


class AutoEstimator(ShapleyEstimator):
    """``"auto"``: the closed form for a linear layer, exact enumeration for a layer of
    at most 7 inputs, antithetic permutation sampling otherwise.

    Parameters
    ----------
    n_permutations : int, default=1
        Antithetic permutation pairs per (explained row, background row) on the layers
        that are sampled; with ``importance_target="reconstruction"``, the network
        game's Owen sampling draws ``n_permutations`` x 64 antithetic pairs.
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them; see
        :class:`ShapleyEstimator`).

    Examples
    --------
    >>> from skshapsae import AutoEstimator, SHAPSparseAutoencoder
    >>> ae = SHAPSparseAutoencoder(shapley_estimator=AutoEstimator(n_permutations=2))
    >>> ae.get_params()["shapley_estimator__n_permutations"]
    2
    """

    name = "auto"
    _parameter_constraints: dict = {"n_permutations": _COUNT, "background_rows": _ROWS}

    def __init__(self, n_permutations=1, background_rows=None):
        self.n_permutations = n_permutations
        self.background_rows = background_rows

    def picked(self, game):
        """The estimator ``"auto"`` plays ``game`` with, at this budget: the closed form
        for a linear game, exact enumeration up to :data:`AUTO_EXACT_MAX_PLAYERS` inputs
        (where it is cheaper than sampling), permutation sampling otherwise."""
        if game.activation == "identity":
            return LinearEstimator(background_rows=self.background_rows)
        if game.n_players <= AUTO_EXACT_MAX_PLAYERS:
            return ExactEstimator(background_rows=self.background_rows)
        return PermutationEstimator(self.n_permutations, background_rows=self.background_rows)

    def for_game(self, game, *, seed=0, device="cpu"):
        return self.picked(game).for_game(game, seed=seed, device=device)


class LinearEstimator(ShapleyEstimator):
    """``"linear"``: the closed form of a linear game, ``W_ij (a_j - mean_B a_j)``.

    Exact for the identity activation and for the pre-activation game; refuses others.

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them; see
        :class:`ShapleyEstimator`).

    Examples
    --------
    >>> from skshapsae import LinearEstimator, SHAPSparseAutoencoder
    >>> ae = SHAPSparseAutoencoder(importance_target="preactivation",
    ...                            shapley_estimator=LinearEstimator())
    >>> ae.shapley_estimator
    LinearEstimator()
    """

    name = "linear"

    def points_per_batch(self, game):
        return max(1, DEFAULT_MEMORY_BYTES // (8 * game.W.size))

    def shapley_values(self, game, A):
        if game.activation != "identity":
            raise ValueError(
                "The 'linear' estimator is exact only for the identity activation or "
                f"the pre-activation game, not for activation={game.activation!r}."
            )
        centred = A - game.background.mean(axis=0)
        return game.W[None, :, :] * centred[:, None, :], None


def _shapley_weight_matrix(n):
    """Matrix ``M`` (2**n, n) with ``phi = v @ M`` for coalition values ``v``."""
    sizes = np.array([bin(s).count("1") for s in range(2**n)])
    members = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    weight = np.array(
        [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    )
    M = np.where(
        members == 1,
        weight[np.clip(sizes - 1, 0, n - 1)][:, None],
        -weight[np.clip(sizes, 0, n - 1)][:, None],
    )
    return members.astype(np.float64), M


class ExactEstimator(ShapleyEstimator):
    """``"exact"``: enumeration of all coalitions of a layer's inputs (small fan-in only:
    it refuses a layer of more than :data:`EXACT_MAX_PLAYERS` inputs).

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them; see
        :class:`ShapleyEstimator`).

    Examples
    --------
    >>> from skshapsae import ExactEstimator
    >>> ExactEstimator(background_rows=50).get_params()
    {'background_rows': 50}
    """

    name = "exact"
    #: The widest layer it enumerates.
    max_players = EXACT_MAX_PLAYERS

    def memory_bytes(self, game):
        return 24.0 * len(game.background) * game.n_outputs * 2.0**game.n_players

    def points_per_batch(self, game):
        return max(1, int(DEFAULT_MEMORY_BYTES // self.memory_bytes(game)))

    def shapley_values(self, game, A):
        n = game.n_players
        if n > self.max_players:
            raise ValueError(
                f"Exact enumeration of a layer with {n} inputs needs 2**{n} coalitions; "
                f"it is limited to {self.max_players} inputs. Use the 'permutation' or "
                "'kernel' estimator for this layer."
            )
        members, M = _shapley_weight_matrix(n)
        act = numpy_activation(game.activation)
        R = game.background
        c = R @ game.W.T + game.b  # (R, out)
        phi = np.empty((len(A), game.n_outputs, n))
        for k, a in enumerate(A):
            d = game.W[None, :, :] * (a - R)[:, None, :]  # (R, out, n)
            values = act(c[:, :, None] + d @ members.T)  # (R, out, 2**n)
            # null players (d_ij == 0) get exactly zero, not rounding noise
            phi[k] = np.where(d != 0, values @ M, 0.0).mean(axis=0)
        return phi, None


class PermutationEstimator(ShapleyEstimator):
    """``"permutation"``: antithetic permutation sampling on every layer (a fused numba
    kernel on the CPU, torch on CUDA).

    For every explained point ``a`` and every background row ``r`` the
    estimator draws ``n_permutations`` random orders of the players and uses
    each order together with its reverse (antithetic pair). Along one order,
    the prefix sums of ``d_ij`` give every coalition value of all output
    units with one cumulative sum, so one order costs about one forward pass
    per player and output. The antithetic pair is exact for games that are
    quadratic in the sum ``sum_J d_ij`` (so for the identity and, to second
    order, every smooth activation); its error comes only from higher-order
    terms, and it is averaged further over the background rows.

    The estimate is unbiased. Its variance is estimated from the spread of the
    ``n_permutations`` independent groups (``None`` when there is one group).

    On the CPU, for the activations of :data:`skshapsae.scoring._game_kernels.FUSED`, the
    walk along each order runs in one fused kernel (4-6x faster than the torch
    path, ``benchmarks/bench_scoring.py --only speed``); its orders come from a
    counter-based generator seeded from this estimator's stream, so its values
    differ from the torch path's by sampling error, and do not depend on the
    number of threads.

    Parameters
    ----------
    n_permutations : int, default=1
        Antithetic permutation pairs per (explained row, background row).
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them; see
        :class:`ShapleyEstimator`).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skshapsae import PermutationEstimator, SHAPSparseAutoencoder
    >>> ae = SHAPSparseAutoencoder(shapley_estimator=PermutationEstimator())
    >>> search = GridSearchCV(ae, {"shapley_estimator__n_permutations": [1, 3]})
    >>> ae.set_params(shapley_estimator__n_permutations=3).shapley_estimator
    PermutationEstimator(n_permutations=3)
    """

    name = "permutation"
    _parameter_constraints: dict = {"n_permutations": _COUNT, "background_rows": _ROWS}
    #: Working memory of one step, in bytes.
    memory_budget = DEFAULT_MEMORY_BYTES

    def __init__(self, n_permutations=1, background_rows=None):
        self.n_permutations = n_permutations
        self.background_rows = background_rows

    def memory_bytes(self, game):
        if self._fused(game):
            return self._fused_point_bytes(game)
        working = 4 * game.n_outputs * game.n_players * 6 * self._rows_per_step(game)
        # per-group accumulators, float32 then float64, and the point's phi / var
        groups = (4 + 8) * self.n_permutations * game.n_outputs * game.n_players
        return working + groups + 16 * game.n_outputs * game.n_players

    def _rows_per_step(self, game):
        per_row = 4 * game.n_outputs * game.n_players * 4  # bytes of the live float32 tensors
        return int(max(1, min(len(game.background), self.memory_budget // per_row)))

    def _fused(self, game):
        from ..network._network import resolve_device

        return fused_available(game.activation, resolve_device(self._device))

    def _fused_point_bytes(self, game):
        # per point: the float32 accumulators of the K groups; phi and var in float64
        # (the batch's and the caller's) and numpy's temporary of the variance; the gap
        # of every (point, background row)
        cells = game.n_outputs * game.n_players
        rows = len(game.background) * 4 * game.n_players
        return (4 * self.n_permutations + 40) * cells + rows

    def points_per_batch(self, game):
        """Explained points evaluated together: as many as fit the memory budget with
        the whole background each (1 for layers whose background needs several steps).
        On small layers the per-point loop of torch calls was the cost of scoring (a
        30-column table: 0.09 s of a 0.14 s fit); together they take a few calls. The
        fused kernel keeps only accumulators per point, so more points fit, and the
        points of a batch are what its threads share."""
        if self._fused(game):
            return int(max(1, self.memory_budget // self._fused_point_bytes(game)))
        per_row = 4 * game.n_outputs * game.n_players * 4
        return int(max(1, (self.memory_budget // per_row) // max(len(game.background), 1)))

    def shapley_values(self, game, A):
        import torch

        from ..network._network import resolve_device

        dev = resolve_device(self._device)
        if getattr(self, "_generator", None) is None:
            # one stream per estimator: successive batches get fresh orders
            self._generator = torch.Generator(device="cpu")
            self._generator.manual_seed(int(self._seed))
        gen = self._generator
        if self._fused(game):
            return self._fused_values(game, np.asarray(A), gen)
        act = torch_activation(game.activation)
        W = torch.as_tensor(game.W, dtype=torch.float32, device=dev)
        WT = W.T.contiguous()  # row j: the weights leaving input j
        b = torch.as_tensor(game.b, dtype=torch.float32, device=dev)
        R = torch.as_tensor(game.background, dtype=torch.float32, device=dev)
        Z_bg = R @ W.T + b  # pre-activations of the background, (R, out)
        n_rows, n_out, n_in = R.shape[0], W.shape[0], W.shape[1]
        step = self._rows_per_step(game)
        K = self.n_permutations
        phi = np.empty((len(A), n_out, n_in))
        var = np.empty((len(A), n_out, n_in)) if K > 1 else None
        together = self.points_per_batch(game)
        if together > 1:  # the whole background fits with several points: one pass each
            for begin in range(0, len(A), together):
                chunk = slice(begin, begin + together)
                p, v = self._points_together(A[chunk], W, WT, b, R, Z_bg, act, gen, dev)
                phi[chunk] = p
                if var is not None:
                    var[chunk] = v
            return phi, var
        with torch.no_grad():
            for k, a_np in enumerate(A):
                a = torch.as_tensor(a_np, dtype=torch.float32, device=dev)
                z_a = W @ a + b
                # accumulators in (player, output) layout, like the working tensors
                groups = torch.zeros((K, n_in, n_out), dtype=torch.float32, device=dev)
                for begin in range(0, n_rows, step):
                    c = Z_bg[begin : begin + step]  # (rows, out)
                    gap = a[None, :] - R[begin : begin + step]  # a_j - r_j, (rows, in)
                    null = gap == 0  # null players: d_ij = 0 for every i
                    n_active = int((~null).sum(dim=1).max())
                    # c + sum_j d_ij + c: the reverse order's prefix is mirror - forward prefix
                    mirror = (z_a[None, :] + c)[:, None, :]
                    for g in range(K):
                        _add_orders(groups[g], gap, c, mirror, null, n_active, 0, WT, act, gen)
                groups = groups.double().transpose(1, 2) / (2 * n_rows)
                phi[k] = groups.mean(dim=0).cpu().numpy()
                if var is not None:
                    var[k] = (groups.var(dim=0) / K).cpu().numpy()
        return phi, var

    def _fused_values(self, game, A, gen):
        """The estimate of :meth:`shapley_values` by the fused CPU kernel
        (:mod:`skshapsae.scoring._game_kernels`), in batches of :meth:`points_per_batch` points."""
        n_out, n_in = np.shape(game.W)
        K = self.n_permutations
        phi = np.zeros((len(A), n_out, n_in))
        var = np.zeros((len(A), n_out, n_in)) if K > 1 else None
        if len(game.background) == 0:
            return phi, var
        W = np.asarray(game.W, dtype=np.float32)
        WT = np.ascontiguousarray(W.T)
        b = np.asarray(game.b, dtype=np.float32)
        R = np.asarray(game.background, dtype=np.float32)
        c = R @ W.T + b  # (rows, out): the background rows' pre-activations
        step = self.points_per_batch(game)
        for begin in range(0, len(A), step):
            chunk = slice(begin, begin + step)
            p, v = self._fused_batch(game.activation, A[chunk], W, WT, b, R, c, gen)
            phi[chunk] = p
            if var is not None:
                var[chunk] = v
        return phi, var

    def _fused_batch(self, activation, A, W, WT, b, R, c, gen):
        import torch

        n_rows, n_out, n_in = R.shape[0], W.shape[0], W.shape[1]
        p, K = len(A), self.n_permutations
        points = A.astype(np.float32)
        gap = (points[:, None, :] - R[None, :, :]).reshape(p * n_rows, n_in)
        z_a = points @ W.T + b
        # the points split among the threads torch may use here (each point is one
        # thread's, so the result does not depend on their number)
        threads = max(1, min(p, torch.get_num_threads()))
        bounds = np.linspace(0, p, threads + 1).round().astype(int) * n_rows
        splits = [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
        groups = np.zeros((K, p * n_in, n_out), dtype=np.float32)
        for g in range(K):
            # one seed per batch and group from the estimator's stream
            seed = int(torch.randint(0, 2**62, (1,), generator=gen))
            add_orders(activation, WT, gap, z_a, c, seed, groups[g], splits)
        # views (points, out, in); the float64 results are the only copies
        groups = groups.reshape(K, p, n_in, n_out).transpose(0, 1, 3, 2)
        scale = 1.0 / (2 * n_rows)
        if K == 1:
            return np.multiply(groups[0], scale, dtype=np.float64), None
        phi = np.mean(groups, axis=0, dtype=np.float64) * scale
        var = np.var(groups, axis=0, dtype=np.float64, ddof=1) * (scale**2 / K)
        return phi, var

    def _points_together(self, A, W, WT, b, R, Z_bg, act, gen, dev):
        """The estimate of :meth:`shapley_values` for several points in one pass: every
        (point, background row) pair is a row of the same computation."""
        import torch

        n_rows, n_out, n_in = R.shape[0], W.shape[0], W.shape[1]
        K = self.n_permutations
        # one thread: small tensors, and float32 sums that do not depend on the pool's
        # size, so the result does not depend on n_jobs (each job gets fewer threads)
        with torch.no_grad(), torch_threads(threads=1):
            points = torch.as_tensor(np.asarray(A), dtype=torch.float32, device=dev)
            p = points.shape[0]
            gap = (points[:, None, :] - R[None, :, :]).reshape(p * n_rows, n_in)
            c = Z_bg.repeat(p, 1)  # (pairs, out)
            null = gap == 0
            n_active = int((~null).sum(dim=1).max())
            z_a = (points @ W.T + b).repeat_interleave(n_rows, dim=0)
            mirror = (z_a + c)[:, None, :]
            # row of each pair's player j in the accumulator: point * n_in + j
            owner = torch.arange(p, device=dev).repeat_interleave(n_rows)[:, None] * n_in
            groups = torch.zeros((K, p * n_in, n_out), dtype=torch.float32, device=dev)
            for g in range(K):
                _add_orders(groups[g], gap, c, mirror, null, n_active, owner, WT, act, gen)
            groups = groups.double().reshape(K, p, n_in, n_out).transpose(2, 3) / (2 * n_rows)
            phi = groups.mean(dim=0).cpu().numpy()
            var = (groups.var(dim=0) / K).cpu().numpy() if K > 1 else None
        return phi, var


def _add_orders(acc, gap, c, mirror, null, n_active, offset, WT, act, gen):
    """One random order of the players per row (and its reverse, the antithetic pair):
    adds each player's two marginals to ``acc[offset + player]``.

    Row ``r`` holds a single-row game: ``gap[r, j] = a_j - r_j``, ``c[r]`` the
    background row's pre-activations and ``mirror[r] = z_a + c[r]``; ``offset`` (0, or a
    column of row offsets when several points share the pass) places its players in
    ``acc``.
    """
    import torch

    rows, n_in = gap.shape
    # a random order of the players with the null ones last: only the relative order
    # of the others matters, so the first n_active suffice
    keys = torch.rand(rows, n_in, generator=gen).to(gap.device) + null
    perm = torch.argsort(keys, dim=1)[:, :n_active]
    # P[:, t] = c + sum of d over the first t players of the order
    P = torch.empty((rows, n_active + 1, c.shape[1]), device=gap.device)
    P[:, 0, :] = c
    torch.mul(WT[perm], torch.gather(gap, 1, perm)[:, :, None], out=P[:, 1:, :])
    torch.cumsum(P, dim=1, out=P)
    # coalition values along the order minus those along its reverse: the marginals of
    # perm[t] in both orders are the increments
    values = act(P)
    if values is P:  # identity: keep P for the reverse order
        values = P.clone()
    values -= act(P.neg_().add_(mirror))
    marg = values[:, 1:, :] - values[:, :-1, :]
    acc.index_add_(0, (offset + perm).reshape(-1), marg.reshape(-1, c.shape[1]))


class KernelEstimator(ShapleyEstimator):
    """``"kernel"``: ``shap.KernelExplainer`` on each layer, as in the paper (slow).

    ``l1_reg`` is off so no link is silently zeroed; the sampling is seeded
    through numpy's global generator, whose state is restored afterwards.
    Points are explained one at a time to bound the memory of the
    ``n_samples * n_background`` model evaluations.

    Parameters
    ----------
    n_samples : int or "auto", default="auto"
        Coalitions per explained row (shap's ``nsamples``).
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them; see
        :class:`ShapleyEstimator`).

    Examples
    --------
    >>> from skshapsae import KernelEstimator, SHAPSparseAutoencoder
    >>> ae = SHAPSparseAutoencoder(shapley_estimator=KernelEstimator(n_samples=100))
    >>> ae.get_params()["shapley_estimator__n_samples"]
    100
    """

    name = "kernel"
    _parameter_constraints: dict = {
        "n_samples": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "background_rows": _ROWS,
    }

    def __init__(self, n_samples="auto", background_rows=None):
        self.n_samples = n_samples
        self.background_rows = background_rows

    def memory_bytes(self, game):
        n = 2 * game.n_players + 2**11 if self.n_samples == "auto" else self.n_samples
        n = min(n, 2**game.n_players - 2) if game.n_players < 30 else n
        # shap's synthetic data and model outputs: nsamples * n_background rows
        rows = max(n, 1) * len(game.background)
        return 8 * rows * (game.n_players + game.n_outputs)

    def shapley_values(self, game, A):
        with numpy_global_state_kept():  # shap samples from numpy's global generator
            import shap

            explainer = shap.KernelExplainer(game, game.background)
            np.random.seed(self._seed)  # noqa: NPY002
            phi = np.empty((len(A), game.n_outputs, game.n_players))
            for k, a in enumerate(A):
                values = explainer.shap_values(
                    a[None, :], nsamples=self.n_samples, l1_reg=False, silent=True
                )
                values = np.asarray(values)
                if values.ndim == 3 and values.shape[0] == 1:  # (1, n_in, n_out)
                    phi[k] = values[0].T
                else:  # older list-per-output layout: (n_out, 1, n_in)
                    phi[k] = values.reshape(game.n_outputs, game.n_players)
        return phi, None


class ShapPermutationEstimator(ShapleyEstimator):
    """``"shap-permutation"``: ``shap.PermutationExplainer`` (model-agnostic sampling),
    with an independent masker over the background.

    shap's own antithetic permutation sampling, which does not use the layer's
    structure; ``2 * n_inputs + 1`` model evaluations per point (one antithetic
    permutation), each over every background row.

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them; see
        :class:`ShapleyEstimator`).

    Examples
    --------
    >>> from skshapsae import SHAPSparseAutoencoder, ShapPermutationEstimator
    >>> ae = SHAPSparseAutoencoder(shapley_estimator=ShapPermutationEstimator())
    >>> ae.shapley_estimator.name
    'shap-permutation'
    """

    name = "shap-permutation"
    #: Model evaluations per point ("auto": one antithetic permutation).
    max_evals = "auto"

    def memory_bytes(self, game):
        return 8 * len(game.background) * (2 * game.n_players + 1) * game.n_outputs

    def shapley_values(self, game, A):
        with numpy_global_state_kept():  # shap draws from numpy's global generator
            import shap

            masker = shap.maskers.Independent(game.background, max_samples=len(game.background))
            explainer = shap.PermutationExplainer(game, masker, seed=self._seed)
            evals = 2 * game.n_players + 1 if self.max_evals == "auto" else self.max_evals
            values = explainer(A, max_evals=evals, silent=True).values  # (n, in, out)
        return np.transpose(values, (0, 2, 1)), None


#: Name -> class: the one registry of the ``shapley_estimator`` choices.
ESTIMATORS = {
    cls.name: cls
    for cls in (
        AutoEstimator,
        LinearEstimator,
        ExactEstimator,
        PermutationEstimator,
        KernelEstimator,
        ShapPermutationEstimator,
    )
}

#: The names ``shapley_estimator`` accepts.
ESTIMATOR_NAMES = tuple(ESTIMATORS)


def as_estimator(value):
    """``shapley_estimator`` as an object: a name is its class at the default budget."""
    if isinstance(value, ShapleyEstimator):
        return value
    if value not in ESTIMATORS:
        raise ValueError(f"Unknown Shapley estimator {value!r}; choose one of {ESTIMATOR_NAMES}.")
    return ESTIMATORS[value]()


def from_old_settings(name, n_permutations=1, kernel_nsamples="auto", background_rows=None):
    """The ``shapley_estimator`` value equal to the settings of the parameters removed in
    0.2: the name when every budget is at its default, else the object."""
    options = {}
    if name in ("auto", "permutation") and n_permutations != 1:
        options["n_permutations"] = n_permutations
    if name == "kernel" and kernel_nsamples != "auto":
        options["n_samples"] = kernel_nsamples
    if background_rows is not None:
        options["background_rows"] = background_rows
    return ESTIMATORS[name](**options) if options else name


def partial_sums(game, A_explain, estimator):
    """``(sum_n |phi[n]|, sum_n phi[n]**2)`` over the points, in batches of bounded memory."""
    total = np.zeros((game.n_outputs, game.n_players))
    total_sq = np.zeros_like(total)
    step = estimator.points_per_batch(game)
    for begin in range(0, len(A_explain), step):
        phi, _ = estimator.shapley_values(game, A_explain[begin : begin + step])
        abs_phi = np.abs(phi)
        total += abs_phi.sum(axis=0)
        total_sq += (abs_phi**2).sum(axis=0)
    return total, total_sq


def combine_sums(partials, n_points):
    """Mean of ``|phi|`` and its standard error from :func:`partial_sums` of disjoint chunks."""
    total = sum(p[0] for p in partials)
    total_sq = sum(p[1] for p in partials)
    mean = total / n_points
    if n_points > 1:
        variance = np.maximum(total_sq / n_points - mean**2, 0) * n_points / (n_points - 1)
        stderr = np.sqrt(variance / n_points)
    else:
        stderr = np.full_like(mean, np.nan)
    return mean, stderr


def physical_memory_bytes():
    """This machine's physical memory in bytes (None where the OS does not say)."""
    import os

    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None
