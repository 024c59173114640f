"""The sparse kernel of link-pruned blocks: CSR weights times a dense batch (numba).

A link-pruned block ``W`` (outputs x inputs, CSR) is applied to a batch in the
transposed layout, units x rows::

    out[i, r] = bias[i] + sum over p in row i of W.data[p] * A[W.indices[p], r]

one tile of rows at a time, so that the tile of the inputs stays in the core's cache
while every nonzero of ``W`` adds a scaled tile row into an output tile row: one
contiguous, vectorized multiply-add per nonzero and tile. On the first layer the tile
is gathered from the rows of the input (the used inputs only) and transposed in cache,
so the batch is read once.

Why not a library kernel: on blocks of density 0.1-0.2 (a link-pruned 784-256-64
encoder's blocks are 21 % dense once the removed units are dropped) and 2,000 rows,
torch's CSR product (MKL) ran at 40-50 GFLOP/s and scipy's at 20-25 on 2 cores, little
faster than torch's dense kernel on the compacted block; this one runs at 100-110
(``benchmarks/bench_inference.py --only kernels``: 2.7x torch's dense kernel at density
0.2, where torch's CSR product gave 1.2-1.3x). numba comes with shap, a dependency already.

Threads. Tiles run in parallel with ``numba.prange`` where numba's threading layer is
safe for it, and otherwise on a small pool of Python threads, each running a serial
kernel that releases the GIL (measured on 2 cores, a 242 x 379 block of density 0.21
on 2,000 rows: the ``prange`` kernel took 0.96 ms where the pool took 1.17 and one
thread 1.7-1.9; the pool's sleeping threads wake slowly). ``prange`` is not used

* on numba's ``workqueue`` layer, which aborts the process when two threads launch
  parallel kernels at once (``transform`` from several threads), and
* in a process forked after its ``omp`` layer ran: GNU OpenMP is not fork-safe and
  numba terminates such a child.

Either way each output element is computed by one thread in one order, so the result
does not depend on the number of threads. The kernels compile on first use (3 s for
float32 rows, 1 s more for float64, measured) and are cached on disk where numba finds a
writable cache folder (then 0.4 s to load per process); where none is, they compile
once per process.
"""

import os
import threading
import types
from contextlib import contextmanager

import numba
import numpy as np
from numba import njit, prange

from ..network._network import kernel_pool

#: Rows per tile: the tile of a 400-input block (0.8 MB in float32) stays in a core's L2
#: cache. Measured on the 379 x 242 block at 2,000 / 20,000 rows: 64 rows 1.37 / 18.3
#: ms, 256 rows 1.08 / 14.1, 512 rows 0.91 / 11.9, 1,024 rows 0.88 / 11.4.
TILE_ROWS = 512

#: Multiply-adds a thread gets at least (a gathered value counts as one). With 2^20, a
#: first layer of 64 x 256 at density 0.1-0.2 on 500 rows ran on one thread and lost to
#: torch's dense kernel on two (0.79-0.90x); with 2^18 it won (1.1-1.6x;
#: ``benchmarks/bench_inference.py --only kernels``).
MIN_THREAD_WORK = 2**18


def _jit(fn, parallel=False):
    # "contract": a multiply and an add become one fused multiply-add (one rounding, not
    # two; 2-5 % faster here); no other fast-math freedom, so NaN and inf propagate
    options = dict(nogil=True, boundscheck=False, parallel=parallel, fastmath={"contract"})
    if parallel:
        # numba's disk cache is keyed by the function's name and signature, not by
        # ``parallel``: the parallel build of a function also compiled serial gets a
        # name of its own, or one build would load the other's machine code
        fn = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel")
        fn.__qualname__ = fn.__name__
    try:
        return njit(cache=True, **options)(fn)
    except RuntimeError:  # numba found no writable cache folder: compile in memory
        return njit(**options)(fn)


def _tile_product(G, g0, indptr, indices, data, bias, out, o0, width):
    """out[i, o0:o0+width] = bias[i] + sum_p data[p] G[indices[p], g0:g0+width].

    Eight nonzeros per pass over the output tile row, so that it is loaded and stored an
    eighth as often (measured on the blocks of the benchmark: four at a time was 20-35 %
    faster than one, eight 5 % faster than four).
    """
    for i in range(indptr.shape[0] - 1):
        o = out[i, o0 : o0 + width]
        b = bias[i]
        for c in range(width):
            o[c] = b
        p, end = indptr[i], indptr[i + 1]
        while p + 7 < end:
            v0, v1, v2, v3 = data[p], data[p + 1], data[p + 2], data[p + 3]
            v4, v5, v6, v7 = data[p + 4], data[p + 5], data[p + 6], data[p + 7]
            a0 = G[indices[p], g0 : g0 + width]
            a1 = G[indices[p + 1], g0 : g0 + width]
            a2 = G[indices[p + 2], g0 : g0 + width]
            a3 = G[indices[p + 3], g0 : g0 + width]
            a4 = G[indices[p + 4], g0 : g0 + width]
            a5 = G[indices[p + 5], g0 : g0 + width]
            a6 = G[indices[p + 6], g0 : g0 + width]
            a7 = G[indices[p + 7], g0 : g0 + width]
            for c in range(width):
                o[c] += (v0 * a0[c] + v1 * a1[c] + v2 * a2[c] + v3 * a3[c]) + (
                    v4 * a4[c] + v5 * a5[c] + v6 * a6[c] + v7 * a7[c]
                )
            p += 8
        for q in range(p, end):
            v = data[q]
            g = G[indices[q], g0 : g0 + width]
            for c in range(width):
                o[c] += v * g[c]


tile_product = _jit(_tile_product)


def _gather_tile(X, cols, G, r0, width):
    """G[j, :width] = X[r0:r0+width, cols[j]]: the gather and the transposition, in cache."""
    for j in range(cols.shape[0]):
        c = cols[j]
        for r in range(width):
            G[j, r] = X[r0 + r, c]


gather_tile = _jit(_gather_tile)


def _gather_product(X, cols, indptr, indices, data, bias, out, begin, end, tile):
    """Rows ``begin:end`` of ``out`` (units x rows) from ``X`` (rows x inputs), inputs
    ``cols``, one tile of rows at a time. Compiled twice: serial (``prange`` is
    ``range`` there) and parallel over the tiles."""
    for t in prange((end - begin + tile - 1) // tile):
        r0 = begin + t * tile
        width = min(end - r0, tile)
        G = np.empty((cols.shape[0], width), dtype=data.dtype)
        gather_tile(X, cols, G, r0, width)
        tile_product(G, 0, indptr, indices, data, bias, out, r0, width)


def _transposed_product(A, indptr, indices, data, bias, out, begin, end, tile):
    """Rows ``begin:end`` of ``out`` (units x rows) from ``A`` (inputs x rows)."""
    for t in prange((end - begin + tile - 1) // tile):
        r0 = begin + t * tile
        tile_product(A, r0, indptr, indices, data, bias, out, r0, min(end - r0, tile))


def _count_outside(X, limit):
    """How many values of ``X`` (2-d) are NaN or beyond +-``limit``: one pass, no copy.

    Compiled twice: serial (``prange`` is ``range`` there) and parallel.
    """
    count = 0
    for i in prange(X.shape[0]):
        for j in range(X.shape[1]):
            count += not (abs(X[i, j]) <= limit)
    return count


count_outside = _jit(_count_outside)


def _count_outside_flat(x, limit):
    """:func:`_count_outside` of a 1-d array (a C-contiguous array's values): one long
    loop vectorises where rows of a few columns did not (measured: 2,000 x 25 float32
    values 15 us as rows, 3 us flat; 2,000 x 784 192 us and 90 us)."""
    count = 0
    for i in range(x.shape[0]):
        count += not (abs(x[i]) <= limit)
    return count


count_outside_flat = _jit(_count_outside_flat)


SERIAL = {"gather": _jit(_gather_product), "transposed": _jit(_transposed_product)}
PARALLEL = {
    "gather": _jit(_gather_product, parallel=True),
    "transposed": _jit(_transposed_product, parallel=True),
}
parallel_count_outside = _jit(_count_outside, parallel=True)

#: The process whose ``prange`` first ran, and numba's threading layer then.
_LAYER = {"pid": None, "name": None}
_LAYER_LOCK = threading.Lock()


def parallel_safe():
    """Whether the ``prange`` kernels may run in this process now (see the module notes)."""
    if numba.config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1: plain Python, no threading layer
        return False
    with _LAYER_LOCK:
        if _LAYER["pid"] is None:  # the first parallel launch, alone: it picks the layer
            parallel_count_outside(np.zeros((2, 1)), 1.0)
            try:
                name = numba.threading_layer()
            except ValueError:  # "Threading layer is not initialized": none ran in parallel
                name = "workqueue"  # treated as unsafe: the pool or one thread then
            _LAYER.update(pid=os.getpid(), name=name)
    if _LAYER["name"] == "workqueue":
        return False
    return _LAYER["pid"] == os.getpid() or _LAYER["name"] == "tbb"


@contextmanager
def _numba_threads(threads):
    """numba's thread count for the calling thread (a per-thread setting), restored after."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def csr_product(A, block, bias, *, cols=None, transposed=False, threads=1):
    """``block @ A[:, cols].T + bias[:, None]`` (or ``block @ A + bias[:, None]`` when
    ``transposed``) as a new C-contiguous array, units x rows.

    ``A``: C-contiguous numpy array (rows x inputs, of any float dtype: float64 rows are
    read as they are and rounded to the block's dtype in the gathered tile; or inputs x
    rows of the block's dtype when ``transposed``); ``block``: a ``scipy.sparse.csr_array``
    with int64 indices, whose dtype the result has; ``bias``: its intercepts; ``cols``:
    the inputs used (int64), ``None`` for all; ``threads``: the most threads to run on.
    """
    rows = A.shape[1] if transposed else A.shape[0]
    out = np.empty((block.shape[0], rows), dtype=block.dtype)
    if rows == 0:
        return out
    if transposed:
        name, args = "transposed", (A,)
    else:
        if cols is None:
            cols = np.arange(A.shape[1], dtype=np.int64)
        name, args = "gather", (A, cols)
    args += (block.indptr, block.indices, block.data, bias, out)
    # each thread gets at least MIN_THREAD_WORK multiply-adds (a gathered value counts as
    # one: on a first layer of a small block the gather is most of the work)
    work = (block.nnz + (0 if transposed else len(cols))) * rows
    threads = max(1, min(threads, work // MIN_THREAD_WORK))
    per_thread = -(-rows // threads)
    tile = min(TILE_ROWS, per_thread)
    if threads > 1 and parallel_safe():
        with _numba_threads(threads):
            PARALLEL[name](*args, 0, rows, tile)
        return out
    ranges = [(begin, min(rows, begin + per_thread)) for begin in range(0, rows, per_thread)]
    kernel = SERIAL[name]
    pool = kernel_pool(threads - 1) if len(ranges) > 1 else None  # one pool for every share
    futures = [pool.submit(kernel, *args, *r, tile) for r in ranges[1:]]
    kernel(*args, *ranges[0], tile)  # the calling thread's share
    for future in futures:
        future.result()
    return out


#: Values from which the finiteness check runs on several threads. Measured inside
#: ``transform`` of the link-pruned MNIST encoder (eta 0.9) against the bare pass: at
#: 2,000 x 784 values the parallel check lost 4-10 %, at 20,000 x 784 it gained 2-6 %.
PARALLEL_CHECK_SIZE = 2**22


#: dtype -> its largest finite value (``np.finfo`` costs a microsecond a call).
_LARGEST = {}


def all_within(X, limit, threads=1):
    """Whether every value of the 2-d float array ``X`` is within +-``limit`` (NaN is not;
    ``limit`` is taken at most ``X``'s largest finite value, so that it is compared in
    ``X``'s precision and an infinite value never passes)."""
    largest = _LARGEST.get(X.dtype)
    if largest is None:
        largest = _LARGEST.setdefault(X.dtype, float(np.finfo(X.dtype).max))
    limit = X.dtype.type(min(limit, largest))
    if threads > 1 and X.size >= PARALLEL_CHECK_SIZE and parallel_safe():
        with _numba_threads(threads):
            return parallel_count_outside(X, limit) == 0
    if X.flags.c_contiguous:
        return count_outside_flat(X.reshape(-1), limit) == 0
    return count_outside(X, limit) == 0
