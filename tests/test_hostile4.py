"""Hostile conditions, round four (issue 32): model files, exports, inputs, threads, CLI."""

import json
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skshapsae import SHAPSparseAutoencoder, export, load, save
from skshapsae._estimator import fit_with_training
from skshapsae.conductor._fitted import FIELDS
from skshapsae.network._network import TrainingDivergenceError

from _models import fast_model


def _fit(X, **params):
    return fast_model(device="auto", **params).fit(X)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return 1 / (1 + np.exp(-rng.normal(size=(60, 2)) @ rng.normal(size=(2, 6))))


@pytest.fixture(scope="module")
def model(X):
    return _fit(X)


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    save(model, path)
    return path


def _rewrite(source, path, edit_header=None, edit_arrays=None):
    """A copy of a model file with an edited header or arrays, re-signed."""
    from skshapsae.io._persistence import _HEADER_KEY, _digest

    with np.load(source) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode())
    header.pop("sha256")
    if edit_arrays:
        edit_arrays(arrays)
    if edit_header:
        edit_header(header)
    header["sha256"] = _digest(arrays, header)
    arrays[_HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def _serves(estimator, X):
    """Every method a loaded model offers runs (or says clearly that slim() dropped it)."""
    estimator.inverse_transform(estimator.transform(X))
    estimator.score(X)
    for method in (
        lambda e: e.reprune(0.5),
        lambda e: e.reprune(0.5, X=X),
        lambda e: e.explain(X[:2], layer=0),
        lambda e: e.select_features(2),
        lambda e: e.partial_fit(X),
    ):
        try:
            method(estimator)
        except ValueError as exc:
            assert "slim" in str(exc)


# ------------------------------------------------------------------ model files
@pytest.mark.parametrize("name", [f.name for f in FIELDS if f.name != "feature_names_in_"])
def test_a_file_without_an_attribute_is_refused_or_serves(model_file, tmp_path, X, name):
    def drop(header):
        header["attributes"].pop(name, None)

    def drop_arrays(arrays):
        for key in [k for k in arrays if k == name or k.startswith(name + "/")]:
            del arrays[key]

    path = _rewrite(model_file, tmp_path / "m.npz", drop, drop_arrays)
    try:
        loaded = load(path)
    except ValueError as exc:
        assert name in str(exc)
        return
    _serves(loaded, X)


_SETTINGS = st.sampled_from(
    [
        "max_iter",
        "solver",
        "batch_size",
        "learning_rate_init",
        "learning_rate",
        "tol",
        "n_iter_no_change",
        "early_stopping",
        "validation_fraction",
        "init",
        "seed",
        "device",
        "dropout",
        "code_top_k",
    ]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["adam", "lbfgs", "auto", "random", "pca", "cpu", "", "constant"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=_SETTINGS, value=_VALUES)
def test_stored_training_settings_are_refused_or_serve(model_file, tmp_path, X, key, value):
    def edit(header):
        header["attributes"]["_training_config_"]["value"][key] = value

    path = _rewrite(model_file, tmp_path / "s.npz", edit)
    try:
        loaded = load(path)
    except ValueError as exc:
        assert "_training_config_" in str(exc)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # a valid but large step may diverge, as it would in fit: a clear error
            loaded.reprune(0.5, X=X)
            loaded.partial_fit(X)
        except TrainingDivergenceError:
            return
    assert np.isfinite(loaded.transform(X)).all()


_JSON_FIELDS = [f.name for f in FIELDS if f.kind == "json" and f.name != "_training_config_"]
_JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**60), 2**60),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(_JSON_FIELDS), value=_JSON_VALUES)
def test_stored_json_attributes_are_refused_or_serve(model_file, tmp_path, X, name, value):
    def edit(header):
        header["attributes"][name]["value"] = value

    path = _rewrite(model_file, tmp_path / "j.npz", edit)
    try:
        loaded = load(path)
    except ValueError as exc:
        assert "Cannot load" in str(exc)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _serves(loaded, X)


def test_big_endian_arrays_load_as_native(model_file, tmp_path, X, model):
    def swap(arrays):
        for key, value in arrays.items():
            if value.dtype.kind == "f":
                arrays[key] = value.astype(value.dtype.newbyteorder(">"))

    loaded = load(_rewrite(model_file, tmp_path / "be.npz", edit_arrays=swap))
    np.testing.assert_allclose(loaded.transform(X), model.transform(X))
    assert loaded.weights_[0].dtype.isnative


def test_pipeline_with_weighted_scaler_and_pandas_output_round_trips(X, tmp_path):
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    pipe = make_pipeline(
        StandardScaler(), SHAPSparseAutoencoder(max_iter=3, n_background=10, random_state=0)
    ).set_output(transform="pandas")
    pipe.fit(frame, standardscaler__sample_weight=np.linspace(0.1, 2.0, len(X)))
    save(pipe, tmp_path / "p.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        loaded = load(tmp_path / "p.npz")
        codes = loaded.transform(frame)
    assert isinstance(codes, pd.DataFrame)
    pd.testing.assert_frame_equal(codes, pipe.transform(frame))
    ae = load(tmp_path / "p.npz")[-1]
    assert isinstance(ae.inverse_transform(codes), pd.DataFrame)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("fmt", [None, "torchscript"])
def test_save_and_export_write_only_over_regular_files(model, tmp_path, fmt):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "null"
    link.symlink_to(os.devnull)
    for target in (fifo, link, os.devnull):
        with pytest.raises(ValueError, match="not a regular file"):
            save(model, target) if fmt is None else export(model, target, format=fmt)
    assert os.path.islink(link) and not os.path.isfile(os.devnull)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "pipe"]


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


def _plans(est):
    from skshapsae.inference._inference import _PLAN_CACHE

    return [_PLAN_CACHE[est]["plans"].values()]


def test_export_of_a_pipeline_is_a_type_error(X, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    pipe = make_pipeline(MinMaxScaler(), SHAPSparseAutoencoder(max_iter=2, random_state=0)).fit(X)
    with pytest.raises(TypeError, match=r"SHAPSparseAutoencoder.*pipeline\[-1\]"):
        export(pipe, tmp_path / "p.pt2")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "X_const, params",
    [
        (np.tile(np.linspace(0.2, 0.7, 5), (40, 1)), {}),
        (np.full((40, 5), 0.1), {"solver": "adam"}),
        (np.full((40, 5), 0.1), {}),
    ],
)
def test_all_constant_data_warn_prune_everything_and_export(X_const, params, tmp_path):
    import torch

    with pytest.warns(UserWarning, match="Constant feature"):
        est = _fit(X_const, max_iter=5, **params)
    assert est.sparsity_ == 1.0
    out = est.inverse_transform(est.transform(X_const))
    assert np.isfinite(out).all()
    for part, rows in (("encoder", X_const), ("decoder", est.transform(X_const))):
        path = export(est, tmp_path / f"{part}.pt2", part=part)
        module = torch.export.load(path).module()
        got = module(torch.tensor(rows, dtype=torch.float32)).numpy()
        want = est.transform(X_const) if part == "encoder" else out
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_torchscript_export_under_deprecation_errors(model, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export(model, tmp_path / "m.pt", format="torchscript")


def test_divergence_advice_follows_the_solver(X):
    for solver, advice, not_advice in (("lbfgs", "solver='adam'", "solver='lbfgs'"),):
        with pytest.raises(TrainingDivergenceError) as info:
            _fit(X * 1e30, solver=solver)
        assert not_advice not in str(info.value)
        assert advice in str(info.value)


# ------------------------------------------------------------------ estimator API and inputs
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    layer=st.one_of(
        st.integers(-10, 10), st.floats(allow_nan=True), st.booleans(), st.none(), st.text()
    )
)
def test_get_unit_names_validates_the_layer(model, layer):
    n_layers = len(model.layer_sizes_) - 1
    if isinstance(layer, int) and not isinstance(layer, bool) and 0 <= layer <= n_layers:
        names = model.get_unit_names(layer)
        assert len(names) == model.layer_sizes_[layer] and "-" not in "".join(names)
    elif isinstance(layer, int) and not isinstance(layer, bool):
        with pytest.raises(ValueError, match=r"layer must be in \[0, 4\]"):
            model.get_unit_names(layer)
    else:
        with pytest.raises(TypeError, match="layer must be an integer"):
            model.get_unit_names(layer)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.integers(1, 4), k=st.integers(1, 6))
def test_code_top_k_wider_than_the_code_is_refused_at_fit(X, code, k):
    est = SHAPSparseAutoencoder(code, max_iter=1, random_state=0)
    if k > code:
        with pytest.raises(ValueError, match="code_top_k"):
            fit_with_training(est, X, code_top_k=k)
        assert not hasattr(est, "n_features_in_")
    else:
        fit_with_training(est.set_params(n_background=5, n_explain=5), X, code_top_k=k)


def test_fit_transform_of_chunks_fails_before_training(X):
    est = SHAPSparseAutoencoder(max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="transform each chunk"):
        est.fit_transform([X[:30], X[30:]])
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "weights_")


def test_an_iterable_sharing_one_iterator_is_refused(X):
    class Shared:
        def __init__(self, chunks):
            self.it = iter(chunks)

        def __iter__(self):
            return self.it

    class Once:  # a new iterator, but empty after the first pass
        def __init__(self, chunks):
            self.chunks, self.used = chunks, False

        def __iter__(self):
            chunks, self.used = ([] if self.used else self.chunks), True
            return iter(chunks)

    for data in (Shared([X[:30], X[30:]]), Once([X[:30], X[30:]])):
        est = SHAPSparseAutoencoder(max_iter=2, random_state=0)
        with pytest.raises(ValueError, match="__iter__"):
            est.fit(data)
        assert not hasattr(est, "weights_")


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(scale=st.floats(1e30, 3.4e38), dtype=st.sampled_from([np.float32, np.float64]))
def test_overflowing_inference_is_an_error_not_inf(model, X, scale, dtype):
    rows = (X[:3] * scale).astype(dtype)
    try:
        out = model.transform(rows)
    except ValueError as exc:
        assert "overflow" in str(exc) or "float32" in str(exc)
    else:
        assert np.isfinite(out).all()
    codes = np.full((2, model.n_components_), scale, dtype=dtype)
    codes[1] = 1e308 if dtype == np.float64 else scale
    try:
        out = model.inverse_transform(codes)
    except ValueError as exc:
        assert "overflow" in str(exc)
    else:
        assert np.isfinite(out).all()


def test_explain_plays_the_fitted_game(X):
    est = _fit(X, importance_target="preactivation")
    before = est.explain(X[:3], layer=0).values
    est.set_params(importance_target="reconstruction")
    np.testing.assert_allclose(est.explain(X[:3], layer=0).values, before)


# ------------------------------------------------------------------ environment and threads
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


def test_training_and_the_network_game_inside_no_grad(X):
    import torch

    with torch.no_grad():
        est = _fit(X, solver="adam", importance_target="reconstruction")
        est.partial_fit(X)
        est.reprune(0.5, X=X)
        est.explain(X[:2], layer=0)
        _fit(X, solver="lbfgs")
    assert np.isfinite(est.transform(X)).all()


def test_the_kernel_pool_survives_concurrent_growth(monkeypatch):
    import threading

    import scipy.sparse as sp

    from skshapsae.inference import _kernels as k
    from skshapsae.network import _threads as threads

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


# ------------------------------------------------------------------ CLI
def _table(tmp_path, n_rows, n_classes, extra=None, name="t.csv"):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(size=(n_rows, 3)), columns=["a", "b", "c"])
    frame["y"] = np.arange(n_rows) % n_classes
    for column, values in (extra or {}).items():
        frame[column] = values
    frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(n_classes=st.integers(2, 15), per_class=st.integers(2, 5))
def test_cli_tables_too_small_for_the_split_are_one_line(tmp_path_factory, n_classes, per_class):
    from skshapsae._cli import _check_data

    n_rows = n_classes * per_class
    y = np.arange(n_rows) % n_classes
    X = np.random.default_rng(0).uniform(size=(n_rows, 3))
    try:
        _check_data(X.shape, y, [2])
    except Exception as exc:
        assert type(exc).__name__ == "UsageError" and "split" in str(exc)
        return
    from sklearn.model_selection import train_test_split

    train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)  # must not fail


def test_cli_refusals_create_no_folders_and_list_every_column(tmp_path, capsys):
    from skshapsae._cli import main as cli_main

    out = tmp_path / "deep" / "er" / "out"
    small = _table(tmp_path, 4, 2)
    assert cli_main(["--data", small, "--target", "y", "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("skshapsae: error:") == 1 and "split" in err
    assert not (tmp_path / "deep").exists()
    nan = {f"n{j}": [np.nan] + [0.5] * 39 for j in range(12)}
    text = {"city": ["x"] * 40}
    for extra, message in ((nan, "and 2 more"), (text, "--drop city")):
        path = _table(tmp_path, 40, 2, extra, name="bad.csv")
        args = ["--data", path, "--target", "y", "--output", str(out), "--quiet"]
        assert cli_main([*args, "--no-preprocess"]) == 2  # by default: filled, one-hot
        err = capsys.readouterr().err
        assert err.count("skshapsae: error:") == 1 and message in err, err
    assert not (tmp_path / "deep").exists()
