"""Inference with the pruned network: the compacted plan, its cache, its forward pass.

``transform`` / ``inverse_transform`` run :func:`forward_compact` on the plan that
:func:`encode_decode_plan` builds once per fitted estimator (removed units dropped, each
remaining block dense or CSR by density) and caches outside it. The numpy forward pass
of the dense network, used by the scoring stage, is in :mod:`skshapsae.scoring._scoring`.
"""

import warnings
import weakref

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from ..network._activations import TorchActivation, numpy_activation
from ..network._network import available_threads, nonnegative_strides, torch_threads

#: Rows per batch in inference; bounds the memory of ``transform``.
DEFAULT_BATCH_ROWS = 4096


#: The kernel calibration table: ``(rows per batch up to, density up to which a compacted
#: block is multiplied by the CSR kernel of :mod:`._kernels`)``; denser blocks, and
#: smaller batches, use torch's dense kernel. Measured by ``benchmarks/bench_inference.py
#: --only kernels`` (float32, the 256 x 400 and 64 x 256 blocks of a pruned 784-256-64
#: encoder, random supports, inside the network and as a first layer that gathers its
#: inputs, 2-core machine): the highest density at which CSR was at least as fast on
#: both blocks, the lowest of three calibration runs: 1 row: none (0.3-0.4x at density
#: 0.1); 16 rows: 0.05; 100 rows: 0.15 (1.0-1.7x there); 500 rows: 0.3 (1.1-1.4x); 2,000 rows: 0.3
#: (1.1-1.8x; at 0.4 one run gave 1.00x); 4,096 rows: 0.4 (1.0-1.4x there, 2.0-2.7x at
#: 0.2, 3.1-5.1x at 0.1; 0.8-1.2x at 0.5). Between measured sizes, the smaller's.
CSR_MAX_DENSITY_BY_ROWS = (
    (15, 0.0),
    (99, 0.05),
    (499, 0.15),
    (4095, 0.3),
    (float("inf"), 0.4),
)

#: ... and only for blocks of at least this many elements (outputs x inputs, compacted):
#: on the small blocks of a table's network torch's dense kernel won at every density
#: and batch size. Measured through ``transform`` with every block forced to CSR against
#: every block dense (default fits, 100 / 500 / 2,000 / 20,000 rows): breast cancer's
#: 15 x 30 block at density 0.26 0.85-1.01x, digits' 32 x 46 at 0.21 and 0.32 0.60-0.91x;
#: a 150 x 300 block (make_classification, 300 columns) at 0.17 1.34-1.40x from 500
#: rows, at 0.33 0.92-1.02x; MNIST's 242 x 379 at 0.21 2x. (Measured alone, the small
#: blocks had favoured CSR: a calibration of single blocks missed the gather of a first
#: layer and the kernel running on one thread where torch ran on two.)
CSR_MIN_BLOCK = 2**13

#: A block is never made dense when that would hold more than this many times its
#: stored links (and more than :data:`CSR_MIN_BLOCK` elements): whatever the batch size,
#: it stays CSR. So the memory inference uses is bounded by the model's own size (a
#: 32,768 x 32,768 block with one link per unit would be 4 GiB dense, 0.4 MB as CSR), and
#: at density 1/64 the CSR kernel does 64x fewer multiply-adds than the dense one.
MAX_DENSE_EXPANSION = 64

#: A number forces one threshold for every batch size and block size (tests and
#: benchmarks compare the kernels with it); ``None`` reads :data:`CSR_MAX_DENSITY_BY_ROWS`
#: and :data:`CSR_MIN_BLOCK`.
CSR_MAX_DENSITY = None


def csr_threshold(rows):
    """The density up to which blocks are multiplied as CSR for batches of ``rows`` rows."""
    if CSR_MAX_DENSITY is not None:
        return CSR_MAX_DENSITY
    return next(density for limit, density in CSR_MAX_DENSITY_BY_ROWS if rows <= limit)


def compact_plan(
    weights,
    biases,
    activations,
    unit_masks,
    fill,
    dtype=np.float64,
    csr_max_density=None,
    csr_min_size=0,
    pad=False,
    gather=True,
):
    """Per layer: the compacted block of surviving outputs x inputs, and its kernel.

    ``unit_masks[k]`` says which units of layer ``k`` carry signal (for the first layer:
    the inputs that are used; for the last: the outputs that have kept incoming links).
    ``fill`` holds the values of the last layer's other units (0 for removed code units,
    the constant ``act(b)`` for reconstruction units without links). A block of density
    at most ``csr_max_density`` (and of at least ``csr_min_size`` elements) is a
    ``scipy.sparse.csr_array`` run by :mod:`._kernels`, otherwise a dense torch tensor
    stored transposed (inputs x outputs). Without numba every block is dense. The index
    vectors of the first layer's inputs and of the last layer's outputs are ``None``
    where every unit survives (no gather or scatter needed).

    The plan holds arrays of ``dtype`` (float64, or float32 for float32 input): it is
    built on first use after ``fit`` and cached outside the estimator, whose fitted state
    stays numpy / scipy. ``pad`` (a plan of dense blocks only): every block's outputs are
    padded with zero units to a multiple of :func:`pad_units` (and the next block's
    inputs with zero weights), see :data:`PAD_BYTES`; the last block's padding is cut
    off by :func:`forward_compact`, which runs a padded plan on one thread. ``gather=False``
    (dense blocks): the first block spans every input, unused ones with zero weights, so
    that no gather copies the batch first, and the last block every output unit, removed
    ones with zero weights, their ``fill`` values put in their place (``plan.overwrite``)
    instead of scattering the surviving units into the output (see
    :func:`encode_decode_plan`).
    """
    import torch

    dtype = np.dtype(dtype)
    if csr_max_density is None:
        csr_max_density = csr_threshold(DEFAULT_BATCH_ROWS)
    if not csr_kernel_available():
        csr_max_density = -1.0  # every block dense

    def index(mask):
        return None if mask.all() else torch.from_numpy(np.flatnonzero(mask))

    steps, padded_in, inputs, outputs = [], 0, unit_masks[0], unit_masks[-1]
    overwrite, fill_values = None, np.asarray(fill)
    for k, (W, b, act) in enumerate(zip(weights, biases, activations)):
        rows, cols = np.flatnonzero(unit_masks[k + 1]), np.flatnonzero(unit_masks[k])
        b = np.asarray(b)
        block = sp.csr_array(W)[rows][:, cols]
        size = rows.size * cols.size
        sparse_enough = size >= csr_min_size and block.nnz <= csr_max_density * size
        # a dense block out of proportion to the links it holds stays CSR (see above)
        oversized = size > max(CSR_MIN_BLOCK, MAX_DENSE_EXPANSION * block.nnz)
        is_sparse = 0 < size and (sparse_enough or (oversized and csr_max_density >= 0))
        if k == 0 and not gather and not is_sparse:  # every input, unused ones zero
            inputs = np.ones_like(unit_masks[0])
            cols = np.arange(len(inputs))
            block = sp.csr_array(W)[rows][:, cols]
        if k == len(weights) - 1 and not gather and not is_sparse and not outputs.all():
            # every output unit: the removed ones get zero weights and bias, and their
            # fill values are written over them after the activation
            overwrite = np.flatnonzero(~outputs)
            outputs, rows = np.ones_like(outputs), np.arange(len(outputs))
            block = sp.csr_array(W)[rows][:, cols]
            b, overwrite = _spanned_bias(b, act, unit_masks[-1], fill_values, overwrite)
        if is_sparse:
            block = sp.csr_array(
                (
                    block.data.astype(dtype),
                    block.indices.astype(np.int64),
                    block.indptr.astype(np.int64),
                ),
                shape=block.shape,
            )
            bias = torch.from_numpy(np.asarray(b[rows], dtype=dtype))
        else:  # stored transposed: the product is A @ block.T = addmm(b, A, block_t)
            dense = block.toarray().T
            bias = np.asarray(b[rows], dtype=dtype)
            if pad:  # zero inputs for the previous block's padding, zero units of its own
                extra = -rows.size % pad_units(dtype)
                dense = np.pad(dense, ((0, padded_in), (0, extra)))
                bias, padded_in = np.pad(bias, (0, extra)), extra
            block = torch.from_numpy(np.ascontiguousarray(dense, dtype=dtype))
            bias = torch.from_numpy(np.ascontiguousarray(bias))
        steps.append((block, bias, TorchActivation(act)))
    if overwrite is not None:  # a factor (0 on removed units, else 1), then their fill
        # values added where any is not 0 (a multiply and an add: an indexed write took
        # 60-100 us on 4,096 x 32 values, the multiply 13)
        width = steps[-1][0].shape[1]
        keep = np.ones(width, dtype=dtype)
        keep[overwrite] = 0
        add = np.zeros(width, dtype=dtype)
        add[overwrite] = fill_values[overwrite]
        add = torch.from_numpy(add) if add.any() else None
        overwrite = (torch.from_numpy(keep), add)
    fill = torch.from_numpy(np.array(fill, dtype=dtype))  # a copy: fitted arrays are read-only
    plan = _Plan((index(inputs), steps, index(outputs), fill))
    plan.padded, plan.overwrite = bool(pad), overwrite
    return plan


def _spanned_bias(b, act, kept, fill, removed):
    """The bias of a last block that spans every output unit, and the removed units whose
    fill values must still be written (None: none). With zero weights a removed unit
    outputs ``act(its bias)``: the reconstruction's fill *is* ``act(b)``, so its bias
    stays; a code unit's fill is 0, which a bias of 0 gives where ``act(0) == 0``
    (every activation but the logistic). Only the rest pay a multiply over the output
    (3-5 % of a narrow table's call)."""
    act_np = numpy_activation(act)
    if np.array_equal(fill[removed], act_np(b[removed])):
        return b, None
    zero = np.where(kept, b, 0.0)
    if not np.any(fill[removed]) and float(act_np(np.zeros(1))[0]) == 0.0:
        return zero, None
    return zero, removed


class _Plan(tuple):
    """``(first, steps, last, fill)``, and whether the units are padded (``padded``).

    What each call would otherwise work out again from the blocks (a few microseconds
    of a small call): the numpy dtype, the largest block's elements, whether every
    block is CSR."""

    padded = False
    #: ``(keep, add)``: the last activation times ``keep`` (0 on removed units) plus
    #: ``add`` (their fill values; None where all are 0), or None
    overwrite = None

    def __init__(self, parts):
        first, steps, last, fill = parts
        self.widest = max((block.shape[0] * block.shape[1] for block, _, _ in steps), default=0)
        self.sparse = tuple(isinstance(block, sp.csr_array) for block, _, _ in steps)
        self.all_sparse = all(self.sparse)
        self.np_dtype = fill.numpy().dtype
        self.cols = None if first is None else first.numpy()
        self.width = len(fill) if last is None else len(last)
        #: every block dense: ``(block, bias, activation's torch function)`` per layer,
        #: for the one-batch path (:func:`_forward_batch`); else None
        self.dense = None
        if not any(self.sparse):
            self.dense = tuple((block, bias, act.function) for block, bias, act in steps)


def forward_compact(X, plan, batch_rows=DEFAULT_BATCH_ROWS):
    """Run a :func:`compact_plan` on ``X`` (float32 or float64), ``batch_rows`` at a time.

    Rows of another dtype than the plan's are rounded to it as they are read: by the CSR
    kernel's gather, or batch by batch after the dense kernel's (no copy of ``X``).

    Dense blocks, the gathers and the activations run in torch (mixing numpy's BLAS
    threads with torch's made the activations 5-20x slower here); CSR blocks run in
    :mod:`._kernels`. From the first CSR block on, activations are kept transposed
    (units x rows), the layout that kernel writes; on the first layer it gathers the
    used inputs itself. ``X`` is only read; the result is a new numpy array of the
    plan's dtype. Small batches run on one thread (see ``network._network.torch_threads``).
    """

    X = nonnegative_strides(X)  # torch views need non-negative strides
    work = min(X.shape[0], batch_rows) * plan.widest
    # a padded plan (a table's network) runs on one thread whatever the load: torch splits
    # an elementwise pass among its threads at element counts that need not be whole
    # vectors, and each share rounds its own tail on the scalar path (see PAD_BYTES)
    with torch_threads(work, threads=1 if plan.padded else None) as threads:
        if plan.dense is not None and X.shape[0] <= batch_rows:
            return _forward_batch(X, plan)
        out = np.empty((X.shape[0], len(plan[3])), dtype=plan.np_dtype)
        if not plan.all_sparse:
            return _forward(X, out, plan, batch_rows, threads)
        # every product in the CSR kernel's threads: torch's elementwise work on one
        # thread, so that no OpenMP thread of torch spins on a core the kernel needs
        with torch_threads(threads=1):
            return _forward(X, out, plan, batch_rows, threads)


def _tensor(X):
    """``X`` as a torch tensor sharing its memory (read-only arrays too: never written)."""
    import torch

    if X.flags.writeable:
        return torch.from_numpy(X)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(X)


def _forward_batch(X, plan):
    """:func:`_forward` for one batch through dense blocks only, with nothing worked out
    per call but the products: the path of small calls (one row of a table, a unit-pruned
    encoder), where the general loop's bookkeeping had cost as much as the products.
    The same operations in the same order as :func:`_forward`, so the same bits."""
    import torch

    first, _, last, fill = plan
    n = X.shape[0]
    if X.dtype != plan.np_dtype:  # numpy's cast: the same rounding, faster than torch's
        X = X.astype(plan.np_dtype)  # (1 x 25 values: 1.1 us against 2.5 us)
    A = _tensor(X)
    if first is not None:
        A = torch.index_select(A, 1, first)
    if plan.padded and n < MIN_DENSE_ROWS:  # the batch runs as 16 rows (see there)
        A = torch.nn.functional.pad(A, (0, 0, 0, MIN_DENSE_ROWS - n))
    for block, bias, function in plan.dense:
        A = function(torch.addmm(bias, A, block))
    if plan.overwrite is not None:
        _put_fill(A, *plan.overwrite)
    if last is None:
        if plan.padded:
            return np.ascontiguousarray(A[:n, : plan.width].numpy())
        return A.numpy()  # the last product's own (contiguous) tensor
    out = np.empty((n, len(fill)), dtype=plan.np_dtype)
    target = torch.from_numpy(out)
    target.copy_(fill.expand_as(target))
    target.index_copy_(1, last, A[:n, : plan.width])
    return out


def _forward(X, out, plan, batch_rows, threads):
    import torch

    first, steps, last, fill = plan
    source = _tensor(X)
    target = torch.from_numpy(out)
    sparse = plan.sparse
    if any(sparse):
        from ._kernels import csr_product
    cols = plan.cols
    # with several batches, the dense products and activations write into buffers
    # allocated once per call: a new tensor per batch and layer was measured 1.75x slower
    # where large allocations go back to the system at once (a Dask worker's
    # MALLOC_TRIM_THRESHOLD_=65536); one batch allocates once either way
    buffers = _Buffers(batch_rows, target.dtype) if X.shape[0] > batch_rows else None
    width, padded, overwrite = plan.width, plan.padded, plan.overwrite
    with torch.no_grad():
        for begin in range(0, X.shape[0], batch_rows):
            A, transposed = source[begin : begin + batch_rows], False
            n = A.shape[0]
            if not sparse[0]:
                if buffers is not None:
                    A = buffers.cast(A, "input")
                elif A.dtype != target.dtype:  # (a call to .to costs 4 us even when a no-op)
                    A = A.to(target.dtype)
                if first is not None:
                    out_first = None if buffers is None else buffers.take("first", (n, len(first)))
                    A = torch.index_select(A, 1, first, out=out_first)
                if padded and n < MIN_DENSE_ROWS:  # the batch runs as 16 rows (see there)
                    A = torch.nn.functional.pad(A, (0, 0, 0, MIN_DENSE_ROWS - n))  # zero rows
            for k, ((block, bias, act), is_sparse) in enumerate(zip(steps, sparse)):
                if is_sparse:
                    rows = np.ascontiguousarray(A.numpy())
                    A = torch.from_numpy(
                        csr_product(
                            rows,
                            block,
                            bias.numpy(),
                            cols=cols if k == 0 else None,
                            transposed=transposed,
                            threads=threads,
                        )
                    )
                    transposed = True
                    A = act(A)
                elif transposed:  # block is stored as its transpose (inputs x outputs)
                    A = act(torch.addmm(bias[:, None], block.T, A))
                elif buffers is None:
                    A = act(torch.addmm(bias, A, block))
                else:
                    buf = buffers.take(k, (A.shape[0], block.shape[1]))  # padded: >= n
                    A = act.inplace(torch.addmm(bias, A, block, out=buf))
            A = A.T if transposed else A
            if overwrite is not None:  # the removed units of a last block that spans all
                _put_fill(A, *overwrite)
            A = A[:n, :width]  # the padding rows and units (a padded plan)
            chunk = target[begin : begin + batch_rows]
            if last is None:
                chunk.copy_(A)
            else:
                chunk.copy_(fill.expand_as(chunk))
                chunk.index_copy_(1, last, A)
    return out


def _put_fill(A, keep, add):
    """``A * keep + add`` in place: the removed units' fill values (``add`` None: all 0).
    ``A`` is the last product's own tensor (or buffer)."""
    A.mul_(keep)
    if add is not None:
        A.add_(add)


#: Dense products of fewer rows than this run on a batch padded with zero rows: torch's
#: float32 product (MKL here) sums a row's terms in another order for batches of 1-11
#: rows than for larger ones (measured on blocks of 2-379 inputs and 2-64 outputs), so a
#: row's code depended on the rows it came with. From 12 rows on every batch size gave a
#: row the same bits.
MIN_DENSE_ROWS = 16

#: A table's network (every block under :data:`CSR_MIN_BLOCK` elements) is run with each
#: row of units padded to a multiple of this many bytes (32 float32 units, 16 float64):
#: torch's vectorised activations run over a contiguous tensor in steps of two vectors
#: and take a scalar path for the elements after the last full step, which rounds some
#: values differently (sigmoid, SiLU, GELU: 2-35 % of values by one ulp, measured here
#: on AVX2 and AVX-512), so a value's bits depended on where it fell in the batch. Two
#: AVX-512 vectors are 128 bytes, the widest step of torch's x86-64 capabilities (AVX2
#: and the default build: 64 bytes; a build that stepped wider would need this raised,
#: and ``.ci/instruction_sets`` checks every capability the machine has); with rows of
#: whole steps every value takes the vector path, whatever the number of rows. (Padding
#: to 16 float32 units, 64 bytes, was enough on AVX2 only: on AVX-512 the last row of an
#: odd-sized batch took the scalar path, and one value in a few hundred differed.) The
#: plan also runs on one thread (see :func:`forward_compact`). Together with
#: :data:`MIN_DENSE_ROWS`, a table's rows get the same float32 results in any batch.
#: Networks with larger blocks choose each block's kernel by the batch size (the fastest
#: one), and so can differ at float32 rounding across batch sizes.
PAD_BYTES = 128


def pad_units(dtype):
    """Units a padded plan's rows are a multiple of: :data:`PAD_BYTES` of ``dtype``."""
    return PAD_BYTES // np.dtype(dtype).itemsize


#: ... for a half (encoder or decoder) of at most this many multiply-adds a row (tables:
#: breast cancer's default encoder 240, digits' 2,048). The padding costs a small call
#: about 7 us (a row of breast cancer: 31 -> 38 us; from 2,000 rows no cost, at 20,000
#: 1.2x faster) and 10 us on the unit-pruned MNIST encoder of the inference benchmark
#: (4,272 a row, 39 -> 49 us), which therefore is not padded: the trade is made where a
#: call costs microseconds either way.
PAD_MAX_WORK = 4096


class _Buffers:
    """Tensors reused from batch to batch (the last, shorter batch uses their first rows)."""

    def __init__(self, rows, dtype):
        self.rows, self.dtype, self.tensors = rows, dtype, {}

    def take(self, key, shape):
        import torch

        if key not in self.tensors:
            self.tensors[key] = torch.empty((self.rows, shape[1]), dtype=self.dtype)
        return self.tensors[key][: shape[0]]

    def cast(self, A, key):
        """``A`` in the buffers' dtype (rows of another dtype rounded as they are read)."""
        if A.dtype == self.dtype:
            return A
        return self.take(key, A.shape).copy_(A)


def _layers(estimator, part):
    L = len(estimator.weights_) // 2
    return range(0, L) if part == "encode" else range(L, 2 * L)


def _block_sizes(estimator, part):
    """Elements of each of ``part``'s compacted blocks (surviving outputs x inputs)."""
    active = estimator.active_units_
    return [int(active[k + 1].sum()) * int(active[k].sum()) for k in _layers(estimator, part)]


def dense_elements(estimator, part):
    """``(elements, links)``: the size of ``part``'s compacted blocks stored dense (as the
    exports store them) and the links they hold, computed without building them."""
    links = sum(int(estimator.weights_[k].nnz) for k in _layers(estimator, part))
    return sum(_block_sizes(estimator, part)), links


def csr_kernel_available():
    """Whether the CSR kernel's module imports (it needs numba, which comes with shap)."""
    try:
        from . import _kernels  # noqa: F401
    except ImportError:
        return False
    return True


#: Inference plans per estimator; weak keys, so a plan goes away with its estimator.
_PLAN_CACHE = weakref.WeakKeyDictionary()


#: Whether a padded plan (a table's network) gathers the used inputs before its first,
#: dense block and scatters the surviving units of its last into the output (True), or
#: runs those blocks over every input and every output unit, zero weights for the others,
#: and puts the removed units' fill values in their place (False); ``None``: whichever
#: :func:`_measure_gather` finds faster, once per fitted model and half, on this machine.
#: On the narrow table of issue 38 (25 columns, 12 code units, 2-core AVX-512 machine)
#: the gather and the scatter made link-pruned models slower than the same model at level
#: 1.0, which reads every column and keeps every unit: 0.79-0.94x at eta 0.9 (24 columns
#: used), 0.72-0.96x at eta 0.95 (14 used, 11 code units), 0.81-0.94x pruned by units;
#: spanning runs blocks of the same padded size as the model at level 1.0. The choice
#: stays the same for every batch size (one measurement a model and half), so a row's
#: bits do not depend on the batch; both variants agree to float32 rounding (tested).
GATHER = None

#: Rows of the calls :func:`_measure_gather` times: one small call (every call under
#: 16 rows runs as 16) and one of many rows, at most ``GATHER_PROBE_VALUES`` values (a
#: 784-pixel network measured 4,096 rows for 0.09 s at every new model, a quarter of a
#: quick experiment's time); best of this many interleaved repeats.
GATHER_PROBE_ROWS = (16, 4096)
GATHER_PROBE_VALUES = 1 << 17
GATHER_PROBE_REPEATS = 3


def _measure_gather(plans, width):
    """``True`` where the gathering plan of ``plans`` (gather, span) ran faster, summed
    over calls of :data:`GATHER_PROBE_ROWS` rows of ``width`` columns (random rows)."""
    import time

    rng = np.random.default_rng(0)
    totals = [0.0, 0.0]
    for rows in GATHER_PROBE_ROWS:
        rows = int(np.clip(GATHER_PROBE_VALUES // max(width, 1), 16, rows))
        X = rng.standard_normal((rows, width), dtype=np.float32)
        best = [float("inf"), float("inf")]
        for plan in plans:  # warm: first calls allocate
            forward_compact(X, plan)
        for _ in range(GATHER_PROBE_REPEATS):
            for i, plan in enumerate(plans):
                start = time.perf_counter()
                forward_compact(X, plan)
                best[i] = min(best[i], time.perf_counter() - start)
        totals = [t + b for t, b in zip(totals, best)]
    return totals[0] < totals[1]


def encode_decode_plan(
    estimator, part, dtype=np.float64, csr_density=-1.0, csr_min_size=0, pad=False
):
    """The cached compact plan of a fitted estimator's ``"encode"`` or ``"decode"`` half.

    ``csr_density``: blocks up to this density (and of at least ``csr_min_size``
    elements) are CSR (-1: every block dense, as the exports store them). Plans are
    cached outside the estimator (``transform`` does not touch its ``__dict__``),
    together with the fitted arrays they come from: a refit or a loaded copy gets fresh
    plans, and pickles never carry them. A padded plan whose first block leaves inputs
    unused gathers them or not as :data:`GATHER` says (measured once per model and half).
    """
    L = len(estimator.weights_) // 2
    first, last = (0, L) if part == "encode" else (L, 2 * L)
    source = (estimator.weights_, estimator.intercepts_, estimator.active_units_)
    cached = _PLAN_CACHE.get(estimator)
    if cached is None or any(a is not b for a, b in zip(cached["source"], source)):
        # the cache holds the arrays it was built from, so identity cannot be reused
        cached = {"source": source, "plans": {}, "gather": {}, "small": {}}
        _PLAN_CACHE[estimator] = cached
    if pad == "auto":  # computed once per model, half and override (6 us a call)
        small = (part, CSR_MAX_DENSITY)
        if small not in cached["small"]:
            cached["small"][small] = small_network(estimator, part)
        pad = cached["small"][small]
    pad = bool(pad)
    key = (part, np.dtype(dtype).num, float(csr_density), int(csr_min_size), str(pad))
    if key not in cached["plans"]:
        active = estimator.active_units_
        masks = list(active[first : last + 1])
        b_last = estimator.intercepts_[last - 1]
        if last == len(active) - 1:  # reconstruction: unlinked units are constant
            fill = numpy_activation(estimator.activations_[-1])(b_last)
        else:  # code: removed units output 0
            fill = np.zeros(len(b_last))

        def build(gather, dtype=dtype, csr_density=csr_density, csr_min_size=csr_min_size):
            return compact_plan(
                estimator.weights_[first:last],
                estimator.intercepts_[first:last],
                estimator.activations_[first:last],
                masks,
                fill,
                dtype,
                csr_max_density=csr_density,
                csr_min_size=csr_min_size,
                pad=pad,
                gather=gather,
            )

        gather = True
        if pad and not (masks[0].all() and masks[-1].all()):
            gather = GATHER
            if gather is None:
                if (part, np.dtype(dtype).num) not in cached["gather"]:
                    plans = [build(True, csr_density=-1.0), build(False, csr_density=-1.0)]
                    cached["gather"][part, np.dtype(dtype).num] = _measure_gather(
                        plans, len(masks[0])
                    )
                gather = cached["gather"][part, np.dtype(dtype).num]
        cached["plans"][key] = build(gather)
    return cached["plans"][key]


def run(estimator, part, X, dtype=None):
    """``transform`` (``part="encode"``) or ``inverse_transform`` (``"decode"``) of the
    float32 or float64 rows ``X``, returned as ``dtype`` (default: ``X``'s).

    Computed in float32 for float32 and float64 input alike: the network was trained in
    float32, so float64 arithmetic adds no accuracy (the results agree to about 1e-6
    relative, tested), while float32 halves the memory traffic: measured on the
    784-256-64 encoder, float64 input made a pruned network slower than the dense
    float32 pass (0.67x at eta 0.9); on tables float64 arithmetic was 2-3x slower from
    2,000 rows. float64 rows are not copied first: they are rounded as they are read
    (see :func:`forward_compact`). A table's network runs padded (:data:`PAD_BYTES`), so
    that a row's result does not depend on the batch. The kernel of each block (dense or
    CSR) follows its density, its size and the batch size
    (:data:`CSR_MAX_DENSITY_BY_ROWS`, :data:`CSR_MIN_BLOCK`).
    """
    dtype = X.dtype if dtype is None else dtype
    rows = min(len(X), DEFAULT_BATCH_ROWS)
    min_size = 0 if CSR_MAX_DENSITY is not None else CSR_MIN_BLOCK
    plan = encode_decode_plan(estimator, part, np.float32, csr_threshold(rows), min_size, "auto")
    out = forward_compact(X, plan)
    # values near float32's limit (3e38 rows, 1e308 codes) overflow inside the network;
    # skipped, as the input's check, under scikit-learn's assume_finite=True
    if not get_config()["assume_finite"]:
        finite_output(out, part)
    return out if out.dtype == dtype else out.astype(dtype)


def small_network(estimator, part):
    """Whether ``part`` is a table's network: every compacted block under
    :data:`CSR_MIN_BLOCK` elements (dense whatever the batch) and at most
    :data:`PAD_MAX_WORK` multiply-adds a row (a batch padded to 16 rows costs little).
    Such a network runs padded (see :data:`PAD_BYTES`)."""
    if CSR_MAX_DENSITY is not None:
        return False
    sizes = _block_sizes(estimator, part)
    return max(sizes, default=0) < CSR_MIN_BLOCK and sum(sizes) <= PAD_MAX_WORK


def as_output(out, X, columns, estimator):
    """``out`` in the container ``estimator.set_output(transform=...)`` asks for."""
    from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config

    container = _get_output_config("transform", estimator)["dense"]
    if container == "default":
        return out
    return ADAPTERS_MANAGER.adapters[container].create_container(
        out, X, columns=columns, inplace=False
    )


def finite_output(out, part):
    """``out`` itself when every value is finite, else a ValueError saying why."""
    if not _all_within(out, _FLOAT64_MAX):  # not inf: |inf| <= inf
        rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
        what = "X" if part == "encode" else "the codes"
        raise ValueError(
            f"The network's output is not finite for {rows.size} row(s) ({rows[:10].tolist()}"
            f"{', ...' if rows.size > 10 else ''}): {what} hold values so large that the "
            "float32 computation overflowed. Pass rows on the scale of the training data."
        )
    return out


# -- The rows the network reads: torch tensors as numpy, values within float32's range,
# and the fast check of a plain array in ``transform``.

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT64_MAX = float(np.finfo(np.float64).max)


def float32_range(X):
    """``X`` itself when its values fit float32 (the network's precision), else an error."""
    if X.size and max(X.max(), -X.min()) > _FLOAT32_MAX:
        cols = np.flatnonzero((np.abs(X) > _FLOAT32_MAX).any(axis=0))
        raise ValueError(
            f"X has values beyond the float32 range (|x| > {_FLOAT32_MAX:.3g}) in "
            f"column(s) {cols[:10].tolist()}; the network computes in float32. "
            "Rescale the data, for example with StandardScaler."
        )
    return X


def untracked(X):
    """A torch tensor as numpy, detached from autograd (``requires_grad=True`` included)."""
    if type(X).__module__.split(".")[0] == "torch" and hasattr(X, "detach"):
        return X.detach().cpu().numpy()
    return X


def validate_rows(estimator, X, *, reset, keep_float32=False):
    """``X`` validated for ``estimator`` (``reset``: a new model's first data, which set
    ``n_features_in_`` and ``feature_names_in_``) as float64; float32 stays float32 when
    ``keep_float32`` (inference)."""
    X = validate_data(
        estimator,
        untracked(X),
        reset=reset,
        dtype=[np.float64, np.float32],
        accept_sparse=False,
        ensure_min_samples=1,
    )
    X = nonnegative_strides(X)  # X[::-1]: torch refuses negative strides
    if keep_float32 and X.dtype == np.float32:
        return X  # finite float32 values are in range by construction
    return float32_range(np.asarray(X, dtype=np.float64))


def code_rows(Z, n_components):
    """Codes ``Z`` validated for ``inverse_transform`` (float64, or float32 kept) against
    the code size ``n_components``."""
    Z = check_array(Z, dtype=[np.float64, np.float32], input_name="X")
    if Z.shape[1] != n_components:
        raise ValueError(
            f"inverse_transform expects codes with {n_components} columns "
            f"(n_components_), got {Z.shape[1]}. Pass the output of transform."
        )
    return Z


def inference_rows(X, estimator):
    """``(X, output dtype)`` for a plain array, validated at numpy speed; else None.

    A plain 2-d float32 / float64 ndarray of the fitted width, the estimator without
    feature names to check: one pass over the data checks that every value is finite and
    within float32's range (the network computes in float32, so a larger float64 value
    would become inf there) -- for float32 rows not under
    ``sklearn.config_context(assume_finite=True)``. ``X`` is not copied: float64 rows are
    rounded to float32 as inference reads them. Anything else, or a failed check, returns
    None and the full ``validate_data`` runs (with its messages). Through
    ``validate_data`` one row cost about as much as the forward pass.
    """
    if (
        type(X) is not np.ndarray
        or X.ndim != 2
        or X.dtype not in (np.float32, np.float64)
        or X.shape[0] == 0
        or X.shape[1] != getattr(estimator, "n_features_in_", -1)
        or hasattr(estimator, "feature_names_in_")
    ):
        return None
    if (X.dtype == np.float64 or not get_config()["assume_finite"]) and not _within_float32(X):
        return None  # the full check names the problem (or finds an overflowing sum fine)
    return nonnegative_strides(X), X.dtype


def _within_float32(X):
    """Whether every value of the 2-d float array ``X`` is finite and within float32's range.

    One pass in numba (0.06 ms for 2,000 x 784 float32 values, where ``np.sum`` took 0.24
    and the float32 copy of float64 rows plus its sum 0.50; on the free cores from 2^22
    values).
    """
    return _all_within(X, _FLOAT32_MAX)


def _all_within(X, limit):
    """Whether every value of the 2-d float array ``X`` is within +-``limit`` (NaN is not;
    ``limit=_FLOAT64_MAX``: whether every value is finite)."""
    all_within = _KERNELS.get("all_within")
    if all_within is None:
        try:
            from ._kernels import all_within
        except ImportError:  # pragma: no cover - numba comes with shap
            return bool((np.abs(X) <= limit).all())
        _KERNELS["all_within"] = all_within
    return all_within(X, limit, available_threads(X.size))


#: The numba kernel :func:`_all_within` uses, imported on first use (numba is imported
#: only when needed; an import statement in the call cost a few microseconds of a
#: one-row ``transform``).
_KERNELS = {}
