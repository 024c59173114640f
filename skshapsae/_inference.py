"""Inference with the pruned network: the compacted plan, its cache, its forward pass.

``transform`` / ``inverse_transform`` run :func:`forward_compact` on the plan that
:func:`encode_decode_plan` builds once per fitted estimator (removed units dropped, each
remaining block dense or CSR by density) and caches outside it. The numpy forward pass
of the dense network, used by the scoring stage, is in :mod:`skshapsae._scoring`.
"""

import warnings
import weakref

import numpy as np
import scipy.sparse as sp

from ._activations import numpy_activation, torch_activation
from ._threads import torch_threads

#: Rows per batch in inference; bounds the memory of ``transform``.
DEFAULT_BATCH_ROWS = 4096


#: The kernel calibration table: ``(rows per batch up to, density up to which a compacted
#: block is multiplied as CSR)``; denser blocks, and smaller batches, use the dense
#: kernel. Measured by ``benchmarks/bench_kernels.py`` (torch, float32, the block shapes
#: of a pruned 784-256-64 encoder, 2-core machine): for one row the dense kernel won at
#: every density (CSR 0.2-0.7x, even at 1 %); at 16 rows it depended on the block (a
#: 256 x 400 block favoured CSR up to 0.3, a 64 x 256 one never); from 100 to 2,000
#: rows CSR was at least as fast up to a density of 0.2 (1.06-1.33x there, 2-14x below
#: 0.1); at 4,096 rows (``transform``'s batches) up to 0.15 (1.3x; a tie at 0.2).
CSR_MAX_DENSITY_BY_ROWS = ((32, 0.0), (2048, 0.2), (float("inf"), 0.15))

#: ... and only for blocks whose work per batch, ``rows x outputs x inputs``, reaches
#: this many multiply-adds: on the small blocks of a table's network the CSR call's
#: fixed cost decides. Measured (same script, blocks of 15 x 30, 8 x 64 and 32 x 64,
#: density 0.1): CSR was 0.6-0.7x the dense kernel at 45-205 k multiply-adds (100 rows),
#: 1.2-1.6x from 225 k (500 rows of the two smaller blocks), 1.4-4.5x from 1 M.
CSR_MIN_WORK = 2**18

#: A number forces one threshold for every batch size (tests and benchmarks compare
#: the kernels with it); ``None`` reads :data:`CSR_MAX_DENSITY_BY_ROWS`.
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
):
    """Per layer: the compacted block of surviving outputs x inputs, as torch tensors.

    ``unit_masks[k]`` says which units of layer ``k`` carry signal (for the first layer:
    the inputs that are used; for the last: the outputs that have kept incoming links).
    ``fill`` holds the values of the last layer's other units (0 for removed code units,
    the constant ``act(b)`` for reconstruction units without links). A block of density
    at most :data:`CSR_MAX_DENSITY` is a sparse CSR tensor, otherwise a dense one. The
    index vectors of the first layer's inputs and of the last layer's outputs are
    ``None`` where every unit survives (no gather or scatter needed).

    The plan holds torch tensors of ``dtype`` (float64, or float32 for float32 input):
    it is built on first use after ``fit`` and cached outside the estimator, whose
    fitted state stays numpy / scipy.
    """
    import torch

    dtype = np.dtype(dtype)
    if csr_max_density is None:
        csr_max_density = csr_threshold(DEFAULT_BATCH_ROWS)

    def index(mask):
        return None if mask.all() else torch.from_numpy(np.flatnonzero(mask))

    steps = []
    for k, (W, b, act) in enumerate(zip(weights, biases, activations)):
        rows, cols = np.flatnonzero(unit_masks[k + 1]), np.flatnonzero(unit_masks[k])
        block = sp.csr_array(W)[rows][:, cols]
        size = rows.size * cols.size
        if 0 < size and size >= csr_min_size and block.nnz <= csr_max_density * size:
            with warnings.catch_warnings():  # torch: "Sparse CSR tensor support is in beta"
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
                block = torch.sparse_csr_tensor(
                    torch.from_numpy(block.indptr.astype(np.int64)),
                    torch.from_numpy(block.indices.astype(np.int64)),
                    torch.from_numpy(block.data.astype(dtype)),
                    size=block.shape,
                    check_invariants=True,  # built once per plan, from a valid scipy CSR
                )
        else:  # stored transposed: the product is A @ block.T = addmm(b, A, block_t)
            block = torch.from_numpy(np.ascontiguousarray(block.toarray().T, dtype=dtype))
        bias = torch.from_numpy(np.asarray(b[rows], dtype=dtype))
        steps.append((block, bias, torch_activation(act)))
    fill = torch.from_numpy(np.array(fill, dtype=dtype))  # a copy: fitted arrays are read-only
    return index(unit_masks[0]), steps, index(unit_masks[-1]), fill


def forward_compact(X, plan, batch_rows=DEFAULT_BATCH_ROWS):
    """Run a :func:`compact_plan` on ``X`` (of the plan's dtype), ``batch_rows`` at a time.

    Everything runs in torch, so one thread pool serves the gather, the products and
    the activations (mixing numpy's BLAS threads with torch's made the activations
    5-20x slower here). From the first CSR block on, activations are kept transposed
    (units x rows), the layout torch's CSR kernel reads; the gather of the used inputs
    and that transposition are one copy. ``X`` is only read; the result is a new numpy
    array of the plan's dtype. Small batches run on one thread (see :mod:`._threads`).
    """

    first, steps, last, fill = plan
    if any(stride < 0 for stride in X.strides):  # torch views need non-negative strides
        X = np.ascontiguousarray(X)
    out = np.empty((X.shape[0], len(fill)), dtype=fill.numpy().dtype)
    widest = max((block.shape[0] * block.shape[1] for block, _, _ in steps), default=0)
    with torch_threads(min(X.shape[0], batch_rows) * widest):
        return _forward(X, out, plan, batch_rows)


def _forward(X, out, plan, batch_rows):
    import torch

    first, steps, last, fill = plan
    if X.flags.writeable:
        source = torch.from_numpy(X)
    else:
        with warnings.catch_warnings():  # read-only input is fine: it is never written
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            source = torch.from_numpy(X)
    target = torch.from_numpy(out)
    sparse = [block.layout == torch.sparse_csr for block, _, _ in steps]
    with torch.no_grad():
        for begin in range(0, X.shape[0], batch_rows):
            A, transposed = source[begin : begin + batch_rows], False
            if first is not None and sparse[0]:  # gather and transpose in one copy
                A, transposed = A.T.index_select(0, first), True
            elif first is not None:
                A = A.index_select(1, first)
            for (block, bias, act), is_sparse in zip(steps, sparse):
                if is_sparse:
                    if not transposed:
                        A, transposed = A.T.contiguous(), True
                    A = (block @ A).add_(bias[:, None])
                elif transposed:  # block is stored as its transpose (inputs x outputs)
                    A = torch.addmm(bias[:, None], block.T, A)
                else:
                    A = torch.addmm(bias, A, block)
                A = act(A)
            A = A.T if transposed else A
            chunk = target[begin : begin + batch_rows]
            if last is None:
                chunk.copy_(A)
            else:
                chunk.copy_(fill.expand_as(chunk))
                chunk.index_copy_(1, last, A)
    return out


#: Inference plans per estimator; weak keys, so a plan goes away with its estimator.
_PLAN_CACHE = weakref.WeakKeyDictionary()


def encode_decode_plan(estimator, part, dtype=np.float64, csr_density=-1.0, csr_min_size=0):
    """The cached compact plan of a fitted estimator's ``"encode"`` or ``"decode"`` half.

    ``csr_density``: blocks up to this density (and of at least ``csr_min_size``
    elements) are CSR (-1: every block dense, as the exports store them). Plans are
    cached outside the estimator (``transform`` does not touch its ``__dict__``),
    together with the fitted arrays they come from: a refit or a loaded copy gets fresh
    plans, and pickles never carry them.
    """
    L = len(estimator.weights_) // 2
    first, last = (0, L) if part == "encode" else (L, 2 * L)
    source = (estimator.weights_, estimator.intercepts_, estimator.active_units_)
    cached = _PLAN_CACHE.get(estimator)
    if cached is None or any(a is not b for a, b in zip(cached["source"], source)):
        # the cache holds the arrays it was built from, so identity cannot be reused
        cached = {"source": source, "plans": {}}
        _PLAN_CACHE[estimator] = cached
    key = (part, np.dtype(dtype).num, float(csr_density), int(csr_min_size))
    if key not in cached["plans"]:
        active = estimator.active_units_
        masks = list(active[first : last + 1])
        b_last = estimator.intercepts_[last - 1]
        if last == len(active) - 1:  # reconstruction: unlinked units are constant
            fill = numpy_activation(estimator.activations_[-1])(b_last)
        else:  # code: removed units output 0
            fill = np.zeros(len(b_last))
        cached["plans"][key] = compact_plan(
            estimator.weights_[first:last],
            estimator.intercepts_[first:last],
            estimator.activations_[first:last],
            masks,
            fill,
            dtype,
            csr_max_density=csr_density,
            csr_min_size=csr_min_size,
        )
    return cached["plans"][key]


def run(estimator, part, X, dtype=np.float32):
    """``transform`` (``part="encode"``) or ``inverse_transform`` (``"decode"``) of the
    float32 rows ``X``, returned as ``dtype``.

    Computed in float32 for float32 and float64 input alike: the network was trained in
    float32, so float64 arithmetic adds no accuracy (the results agree to about 1e-6
    relative, tested), while float32 halves the memory traffic: measured on the
    784-256-64 encoder, float64 input made a pruned network slower than the dense
    float32 pass (0.67x at eta 0.9). The kernel of each block (dense or CSR) follows its
    density, its size and the batch size (:data:`CSR_MAX_DENSITY_BY_ROWS`,
    :data:`CSR_MIN_WORK`).
    """
    rows = min(len(X), DEFAULT_BATCH_ROWS)
    # the smallest CSR block for batches of this size (rows rounded down to a power of
    # two, so that a few plans serve every batch size)
    min_size = 0 if CSR_MAX_DENSITY is not None else CSR_MIN_WORK >> (rows.bit_length() - 1)
    plan = encode_decode_plan(estimator, part, np.float32, csr_threshold(rows), min_size)
    out = forward_compact(X, plan)
    return out if dtype == np.float32 else out.astype(dtype)
