"""The CSR kernel of link-pruned blocks: values, layouts, threads, forks and fallbacks."""

import copy
import multiprocessing
import os
import sys
import threading

import numpy as np
import pytest
import scipy.sparse as sp

from skshapsae import SHAPSparseAutoencoder, export
from skshapsae.inference import _inference, _kernels

from _models import fast_model


def _block(n_out, n_in, density, dtype, seed=0):
    W = sp.random_array((n_out, n_in), density=density, random_state=seed, format="csr")
    W = W.astype(dtype)
    W.indices, W.indptr = W.indices.astype(np.int64), W.indptr.astype(np.int64)
    return W


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("rows", [1, 7, 600, 1500])
def test_csr_product_matches_scipy_in_both_layouts(rows, threads):
    rng = np.random.default_rng(rows)
    W = _block(30, 50, 0.2, np.float32)
    bias = rng.normal(size=30).astype(np.float32)
    X = rng.normal(size=(rows, 80)).astype(np.float32)
    cols = np.sort(rng.choice(80, 50, replace=False)).astype(np.int64)
    expected = W @ X[:, cols].T + bias[:, None]
    _kernels.MIN_THREAD_WORK, saved = 1, _kernels.MIN_THREAD_WORK  # threads even when small
    try:
        got = _kernels.csr_product(X, W, bias, cols=cols, threads=threads)
        again = _kernels.csr_product(
            np.ascontiguousarray(X[:, cols].T), W, bias, transposed=True, threads=threads
        )
    finally:
        _kernels.MIN_THREAD_WORK = saved
    assert got.shape == (30, rows) and got.flags.c_contiguous and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(again, got)  # gathered or not: the same sums


def test_result_does_not_depend_on_threads_or_the_path(monkeypatch):
    rng = np.random.default_rng(0)
    W = _block(64, 256, 0.1, np.float32)
    bias = rng.normal(size=64).astype(np.float32)
    X = rng.uniform(size=(3000, 256)).astype(np.float32)
    one = _kernels.csr_product(X, W, bias, threads=1)
    assert np.array_equal(_kernels.csr_product(X, W, bias, threads=2), one)
    monkeypatch.setattr(_kernels, "parallel_safe", lambda: False)  # the thread-pool path
    assert np.array_equal(_kernels.csr_product(X, W, bias, threads=2), one)


def test_float64_rows_are_gathered_into_a_float32_block():
    rng = np.random.default_rng(1)
    W = _block(20, 40, 0.3, np.float32)
    bias = np.zeros(20, dtype=np.float32)
    X = rng.normal(size=(100, 40))
    got = _kernels.csr_product(X, W, bias)  # no float32 copy of X first
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, _kernels.csr_product(X.astype(np.float32), W, bias))


def test_empty_batch():
    W = _block(5, 8, 0.5, np.float32)
    out = _kernels.csr_product(np.zeros((0, 8), np.float32), W, np.zeros(5, np.float32))
    assert out.shape == (5, 0)


@pytest.fixture(scope="module")
def sparse_model():
    rng = np.random.default_rng(0)
    X = 1 / (1 + np.exp(-rng.normal(size=(300, 6)) @ rng.normal(size=(6, 40))))
    ae = fast_model(
        (32, 8), max_iter=5, n_background=20, n_explain=20, importance_level=0.5, device="auto"
    ).fit(X)
    return X.astype(np.float32), ae


def _csr_everywhere(monkeypatch):  # every block and batch size, small ones too
    monkeypatch.setattr(_inference, "CSR_MAX_DENSITY", 1.0)


def test_transform_from_several_threads_at_once(sparse_model, monkeypatch):
    _csr_everywhere(monkeypatch)
    X, ae = sparse_model
    ae = copy.deepcopy(ae)
    expected = ae.transform(X)
    results, errors = [None] * 6, []

    def work(i):
        try:
            results[i] = ae.transform(X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for got in results:
        np.testing.assert_array_equal(got, expected)


def _product_in_child(args, queue):
    X, W, bias = args
    queue.put(_kernels.csr_product(X, W, bias, threads=2))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method")
def test_forked_child_runs_the_kernel_after_the_parent_did():
    # GNU OpenMP is not fork-safe: numba terminates a child that launches a parallel
    # kernel after the parent did ("fork() called from a process already using GNU
    # OpenMP"). The child must take the thread-pool path instead.
    W = _block(256, 400, 0.2, np.float32)
    X = np.random.default_rng(0).uniform(size=(4000, 400)).astype(np.float32)
    bias = np.zeros(256, dtype=np.float32)
    expected = _kernels.csr_product(X, W, bias, threads=2)
    if not _kernels.parallel_safe():
        pytest.skip("numba's prange is not used here (workqueue layer)")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_product_in_child, args=((X, W, bias), queue))
    child.start()
    try:
        got = queue.get(timeout=60)  # before join: the child exits once its data is read
    finally:
        child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, expected)


def test_without_numba_every_block_is_dense(sparse_model, monkeypatch):
    X, ae = sparse_model
    expected = ae.transform(X)
    _csr_everywhere(monkeypatch)
    monkeypatch.setattr(_inference, "csr_kernel_available", lambda: False)
    plain = copy.deepcopy(ae)
    plan = _inference.encode_decode_plan(plain, "encode", np.float32, 1.0)
    assert not any(isinstance(block, sp.csr_array) for block, _, _ in plan[1])
    np.testing.assert_allclose(plain.transform(X), expected, rtol=1e-5, atol=1e-6)


def test_kernels_compile_without_a_writable_cache_folder(monkeypatch):
    from numba import njit

    def no_cache(**options):  # numba raises like this when it finds no cache folder
        if options.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return njit(**options)

    monkeypatch.setattr(_kernels, "njit", no_cache)
    count = _kernels._jit(_kernels._count_outside)
    assert count(np.array([[1.0, np.nan], [np.inf, 2.0]]), 10.0) == 2


@pytest.mark.parametrize("threads", [1, 2])
def test_finiteness_check_finds_nan_inf_and_float32_overflow(threads, monkeypatch):
    monkeypatch.setattr(_kernels, "PARALLEL_CHECK_SIZE", 2**19)  # threads=2: in parallel
    X = np.random.default_rng(0).normal(size=(3000, 300))  # large enough for threads
    limit = float(np.finfo(np.float32).max)
    assert _kernels.all_within(X, limit, threads)
    for bad in (np.nan, np.inf, -np.inf, 1e39):  # 1e39 is finite, but not in float32
        Y = X.copy()
        Y[2999, 299] = bad
        assert not _kernels.all_within(Y, limit, threads)
    assert _kernels.count_outside(X[:3], limit) == 0
    # the serial check of contiguous rows runs flat, of others by rows; float32 values,
    # compared in float32, and the largest float64 as the limit (finite values only)
    largest = float(np.finfo(np.float64).max)
    for Y in (X.astype(np.float32), X[:, ::3], X.astype(np.float32)[::2]):
        assert _kernels.all_within(Y, limit) and _kernels.all_within(Y, largest)
        for bad in (np.nan, np.inf):
            Z = Y.copy() if bad is np.nan else np.array(Y, order="F")
            Z[-1, -1] = bad
            assert not _kernels.all_within(Z, limit) and not _kernels.all_within(Z, largest)


def test_parallel_builds_have_a_cache_of_their_own():
    # numba's disk cache is keyed by name and signature, not by ``parallel``: a parallel
    # build under the serial build's name would load the serial machine code
    pairs = [(_kernels.SERIAL[k], _kernels.PARALLEL[k]) for k in _kernels.SERIAL]
    pairs.append((_kernels.count_outside, _kernels.parallel_count_outside))
    for serial, parallel in pairs:
        assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")
        assert parallel.py_func.__qualname__ != serial.py_func.__qualname__


def test_a_larger_networks_rows_agree_to_float32_rounding_in_any_batch():
    """Blocks from 8,192 elements choose their kernel (CSR or dense) by the batch size, so
    a row's bits may change with the batch; the promise is a stated tolerance: relative
    1e-5, and absolute 1e-6 of the output's largest value (a few float32 ulps of sums of
    a hundred terms)."""
    rng = np.random.default_rng(2)
    X = 1 / (1 + np.exp(-rng.normal(size=(600, 8)) @ rng.normal(size=(8, 120))))
    ae = fast_model((96, 16), max_iter=3, importance_level=0.6).fit(X)
    assert not _inference.small_network(ae, "encode")
    X = X.astype(np.float32)
    full = ae.transform(X)
    back = ae.inverse_transform(full)
    for start, size in [(0, 1), (5, 15), (30, 99), (100, 500)]:
        rows = slice(start, start + size)
        np.testing.assert_allclose(
            ae.transform(X[rows]), full[rows], rtol=1e-5, atol=1e-6 * np.abs(full).max()
        )
        np.testing.assert_allclose(
            ae.inverse_transform(full[rows]), back[rows], rtol=1e-5, atol=1e-6 * np.abs(back).max()
        )


# -------------------------------------------------------- hostile conditions (issues 22, 32)
def _one_link_per_unit(n):
    """A slim model whose n x n layers hold one link per unit (as a hostile file can)."""
    import scipy.sparse as sp

    est = SHAPSparseAutoencoder(hidden_layer_sizes=(n,), activation="identity")
    eye = sp.csr_array(sp.eye(n, dtype=np.float32, format="csr"))
    ones = np.ones(n, dtype=bool)
    vars(est).update(
        n_features_in_=n,
        n_components_=n,
        layer_sizes_=[n, n, n],
        activations_=["identity", "identity"],
        weights_=[eye, eye],
        intercepts_=[np.zeros(n), np.zeros(n)],
        active_units_=[ones, ones, ones],
    )
    return est


def _plans(est):
    from skshapsae.inference._inference import _PLAN_CACHE

    return [_PLAN_CACHE[est]["plans"].values()]


def test_inference_memory_is_bounded_by_the_links(tmp_path):
    n = 4096  # dense: 64 MiB per block; as CSR: 4,096 links
    est = _one_link_per_unit(n)
    row = np.random.default_rng(0).normal(size=(1, n)).astype(np.float32)
    np.testing.assert_allclose(est.transform(row), row)
    np.testing.assert_allclose(est.inverse_transform(row), row)
    plans = [p for cached in _plans(est) for p in cached]
    assert plans and all(type(block).__name__ == "csr_array" for p in plans for block, *_ in p[1])
    with pytest.raises(ValueError, match="dense"):
        export(est, tmp_path / "refused.pt2")
    assert not (tmp_path / "refused.pt2").exists()


def test_no_jit_falls_back_to_the_serial_kernel():
    import subprocess
    import sys

    code = (
        "import numpy as np, scipy.sparse as sp\n"
        "from skshapsae.inference import _kernels as k\n"
        "k.MIN_THREAD_WORK = 1\n"
        "assert not k.parallel_safe()\n"
        "W = sp.random(5, 7, density=0.4, format='csr', dtype=np.float32, random_state=0)\n"
        "W = sp.csr_array((W.data, W.indices.astype(np.int64), W.indptr.astype(np.int64)),"
        " shape=W.shape)\n"
        "A = np.random.default_rng(0).normal(size=(9, 7)).astype(np.float32)\n"
        "out = k.csr_product(A, W, np.zeros(5, np.float32), threads=4)\n"
        "assert np.allclose(out, (W @ A.T), atol=1e-5)\n"
        "assert k.all_within(A, 10.0, threads=4)\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_kernel_pool_survives_concurrent_growth(monkeypatch):
    import threading

    import scipy.sparse as sp

    from skshapsae.inference import _kernels as k
    from skshapsae.network import _network as threads

    monkeypatch.setattr(k, "parallel_safe", lambda: False)
    monkeypatch.setattr(k, "MIN_THREAD_WORK", 1)
    monkeypatch.setitem(threads._POOL, "pid", None)
    W = sp.random(6, 8, density=0.5, format="csr", dtype=np.float32, random_state=0)
    W = sp.csr_array((W.data, W.indices.astype(np.int64), W.indptr.astype(np.int64)), shape=W.shape)
    A = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    want = W @ A.T
    errors = []

    def work(threads):
        try:
            for _ in range(20):
                out = k.csr_product(A, W, np.zeros(6, np.float32), threads=threads)
                np.testing.assert_allclose(out, want, atol=1e-5)
        except Exception as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(2, 10)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[:1]
