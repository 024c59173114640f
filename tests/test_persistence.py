"""Model files are untrusted input: atomic saves, bounded loads, a schema for every field."""

import io
import json
import os
import stat
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skshapsae.io._persistence as persistence
from skshapsae import PermutationEstimator, SHAPSparseAutoencoder, export, load, save
from skshapsae.conductor._fitted import FIELDS
from skshapsae.network._network import TrainingDivergenceError

from _models import fast_model


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(size=(60, 6))


@pytest.fixture(scope="module")
def model(X):
    return fast_model().fit(X)


@pytest.fixture(scope="module")
def model_bytes(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.npz"
    save(model, path)
    return path.read_bytes()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename[:-4]: np.load(io.BytesIO(archive.read(info)), allow_pickle=False)
            for info in archive.infolist()
        }


def _resigned(data, edit):
    """The file with its header edited by ``edit(header, arrays)`` and the digest recomputed."""
    arrays = _members(data)
    header = json.loads(arrays.pop("__header__").tobytes().decode())
    header.pop("sha256")
    edit(header, arrays)
    header["sha256"] = persistence._digest(arrays, header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _peak_bytes(function, argument, out=None):
    """Call ``function(argument)``; the peak of traced allocations goes to ``out``."""
    out = [] if out is None else out
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        return function(argument)
    finally:
        out.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def _write(tmp_path, data, name="edited.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_failed_save_keeps_the_previous_file(model, X, tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save(model, path)

    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(OSError, match="No space"):
        save(model, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path).transform(X), model.transform(X))
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left


@pytest.mark.parametrize("cut", [10, 200, 0.5, 0.9, -10])
def test_truncated_file_is_a_clear_error(model_bytes, tmp_path, cut):
    n = cut if isinstance(cut, int) and cut > 0 else int(len(model_bytes) * cut) if cut > 0 else cut
    with pytest.raises(ValueError, match="Cannot load"):
        load(_write(tmp_path, model_bytes[:n]))


def test_declared_huge_array_is_refused_before_allocation(tmp_path):
    # a .npy header declaring 10**12 float64 values, followed by nothing
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as archive:
        archive.writestr("weights.npy", buffer.getvalue())
    peak = []
    with pytest.raises(ValueError, match="larger than its member"):
        _peak_bytes(load, tmp_path / "bomb.npz", peak)
    assert peak[0] < 2**20


def test_compression_bomb_is_refused_before_decompressing(tmp_path):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, zeros=np.zeros(8 * 2**20))  # 64 MiB of zeros, ~70 kB packed
    path = _write(tmp_path, buffer.getvalue(), "zeros.npz")
    peak = []
    with pytest.raises(ValueError, match="decompressed"):
        _peak_bytes(load, path, peak)
    assert peak[0] < 2**20


def _set_attribute(name, info):
    def edit(header, arrays):
        header["attributes"][name] = info

    return edit


def _drop_attribute(name):
    def edit(header, arrays):
        header["attributes"].pop(name)

    return edit


def _set_param(name, value):
    def edit(header, arrays):
        header["params"][name] = value

    return edit


def _csr_shape(header, arrays):
    header["attributes"]["weights_"]["shapes"][0] = [3, 10**12]


def _dangling(header, arrays):
    header["attributes"]["intercepts_"]["length"] += 1


def _orphan(header, arrays):
    arrays["extra"] = np.zeros(3)


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set_attribute("transform", {"kind": "json", "value": "boom"}), "unknown attribute"),
        (_drop_attribute("active_units_"), "lacks the fitted attributes"),
        (_dangling, "missing"),
        (_orphan, "no attribute refers to"),
        (_csr_shape, "invalid shape|shapes"),
        (_set_param("importance_level", 7), "parameters are invalid"),
        (_set_param("no_such_param", 1), "unknown parameters"),
        (_set_attribute("sparsity_", {"kind": "json", "value": 3}), "sparsity_"),
        (_set_attribute("layer_sizes_", {"kind": "json", "value": [6, 4, 2, 4, 7]}), "layer_"),
        (_set_attribute("activations_", {"kind": "json", "value": ["os.system"] * 4}), "activ"),
        (_set_attribute("n_iter_", {"kind": "json", "value": "many"}), "n_iter_"),
    ],
)
def test_resigned_edits_are_validated(model_bytes, tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        load(_write(tmp_path, _resigned(model_bytes, edit)))


def test_memory_path_is_never_restored(model_bytes, tmp_path):
    loaded = load(_write(tmp_path, _resigned(model_bytes, _set_param("memory", "/etc"))))
    assert loaded.memory is None


def test_non_json_parameter_warns_at_save(X, tmp_path):
    ae = fast_model(
        (2,),
        max_iter=2,
        n_background=5,
        n_explain=5,
        device="auto",
        random_state=np.random.RandomState(0),
    ).fit(X)
    with pytest.warns(UserWarning, match="random_state=RandomState"):
        save(ae, tmp_path / "model.npz")
    assert load(tmp_path / "model.npz").random_state is None


# ----------------------------------------------------------------- property-based
def _corrupt(data, positions, values, cut):
    data = bytearray(data)
    for pos, value in zip(positions, values):
        data[pos % len(data)] = value
    return bytes(data[:cut]) if cut else bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    positions=st.lists(st.integers(0, 10**7), max_size=4),
    values=st.lists(st.integers(0, 255), max_size=4),
    cut=st.one_of(st.none(), st.integers(1, 10**5)),
)
def test_random_corruption_loads_the_same_model_or_raises_value_error(
    model, model_bytes, X, tmp_path_factory, positions, values, cut
):
    data = _corrupt(model_bytes, positions, values, cut)
    path = tmp_path_factory.mktemp("c") / "corrupt.npz"
    path.write_bytes(data)
    peak = []
    try:
        loaded = _peak_bytes(load, path, peak)
    except ValueError:
        return
    finally:
        # never more than the bound the file's size allows (twice: a read and its copy)
        assert peak[0] <= 2 * max(
            persistence.MIN_BUDGET_BYTES, persistence.MAX_EXPANSION * len(data)
        )
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(where=st.sampled_from(["params", "attributes"]), index=st.integers(0, 100), value=_JSON)
def test_resigned_random_edit_loads_a_working_model_or_raises_value_error(
    model_bytes, X, tmp_path_factory, where, index, value
):
    def edit(header, arrays):
        table = header[where]
        key = sorted(table)[index % len(table)]
        table[key] = value if where == "params" else {"kind": "json", "value": value}

    path = tmp_path_factory.mktemp("e") / "edited.npz"
    path.write_bytes(_resigned(model_bytes, edit))
    try:
        loaded = load(path)
    except ValueError:
        return
    Z = loaded.transform(X)
    assert Z.shape == (len(X), loaded.n_components_) and np.all(np.isfinite(Z))


def _made_by_every_public_way(X):
    """Models made by each public way of making one: fit, partial_fit, reprune (level,
    target, keep counts, units, rescore), prune_with_scores, the trained baselines, and
    the one-row cases whose standard errors are undefined."""
    from skshapsae.baselines import fit_trained_baseline, prune_with_scores, score_links

    fitted = fast_model().fit(X)
    streamed = fast_model()
    for chunk in (X[:30], X[30:]):
        streamed.partial_fit(chunk)
    yield "fit", fitted
    yield "partial_fit", streamed
    yield "partial_fit of one row", fast_model().partial_fit(X[:1])
    yield "n_explain=1", fast_model(n_explain=1).fit(X)
    yield "one-row table", fast_model(n_background=1, n_explain=1).fit(X[:1])
    yield "reprune level", fitted.reprune(0.5)
    yield "reprune target", fitted.reprune(target_sparsity=0.4, X=X)
    yield "reprune keep_counts", fitted.reprune(keep_counts=[3, 2, 2, 3])
    yield "reprune units", fitted.reprune(pruning="units")
    yield "reprune rescore", fitted.reprune(target_sparsity=0.9, X=X, rescore=True)
    scores = score_links("magnitude", fitted)
    yield "prune_with_scores", prune_with_scores(fitted, scores, [3, 2, 2, 3], X)
    for kind in ("ksparse", "dropout"):
        yield f"fit_trained_baseline {kind}", fit_trained_baseline(kind, fast_model(), X, k=1)


def test_every_public_way_of_making_a_model_saves_a_file_that_loads(X, tmp_path):
    """What save writes, load reads: the same transform, and NaN (no level; one row's
    undefined standard error) loaded back as it was."""
    for i, (how, made) in enumerate(_made_by_every_public_way(X)):
        path = tmp_path / f"model{i}.npz"
        save(made, path)
        loaded = load(path)
        np.testing.assert_array_equal(loaded.transform(X), made.transform(X), err_msg=how)
        level = made.importance_level_
        assert loaded.importance_level_ == level or (
            np.isnan(level) and np.isnan(loaded.importance_level_)
        ), how
        for a, b in zip(loaded.link_importance_stderr_, made.link_importance_stderr_):
            np.testing.assert_array_equal(a, b, err_msg=how)  # NaN where NaN


@pytest.mark.parametrize(
    "edit",
    [
        lambda h, a: h["attributes"]["importance_level_"].update(value=1.5),
        lambda h, a: h["attributes"]["importance_level_"].update(value=float("inf")),
        lambda h, a: a.update(
            {"link_importance_stderr_/0": a["link_importance_stderr_/0"] + np.inf}
        ),
    ],
)
def test_nan_is_accepted_where_it_means_undefined_and_nothing_else(model_bytes, tmp_path, edit):
    with pytest.raises(ValueError, match="importance_level_|link_importance_stderr_"):
        load(_write(tmp_path, _resigned(model_bytes, edit)))


def _as_before_0_2(params):
    """An edit giving a file the parameters a version before 0.2 wrote (``pruning`` then
    was ``allocation`` / ``structure``; ``shapley_estimator`` a name)."""

    def edit(header, arrays):
        header["params"].pop("pruning")
        header["params"]["shapley_estimator"] = "auto"
        header["params"].update(params)

    return edit


@pytest.mark.parametrize(
    "old",
    [
        {"n_permutations": 0},
        {"n_permutations": -3},
        {"n_permutations": "abc"},
        {"n_permutations": 1e300},
        {"shapley_estimator": "kernel", "kernel_nsamples": 0},
        {"shapley_estimator": "exact", "n_permutations": 0},  # unused, still refused
        {"structure": "bogus"},
        {"structure": "units", "allocation": "bogus"},
        {"allocation": 3},
        {"background_pool": "abc"},
        {"shapley_estimator": "bogus", "n_permutations": 2},
    ],
)
def test_a_file_from_before_0_2_with_invalid_old_values_is_refused(model_bytes, tmp_path, old):
    """Old spellings are checked as the new ones are: at load, not at the next refit."""
    path = _write(tmp_path, _resigned(model_bytes, _as_before_0_2(old)))
    with pytest.raises(ValueError, match="parameters"):
        load(path)


def test_a_file_from_before_0_2_with_valid_old_values_loads(model, model_bytes, X, tmp_path):
    old = {"structure": "links", "allocation": "global", "n_permutations": 2}
    back = load(_write(tmp_path, _resigned(model_bytes, _as_before_0_2(old))))
    assert back.pruning == "global" and back.shapley_estimator.n_permutations == 2
    np.testing.assert_array_equal(back.transform(X), model.transform(X))


# -------------------------------------------------------- hostile conditions (issues 22, 32)
@pytest.fixture(scope="module")
def model_file(logistic_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    save(logistic_model, path)
    return path


def _rewrite(source, path, edit_header=None, edit_arrays=None):
    """A copy of a model file (``path`` may be ``source``) with an edited header or
    arrays, re-signed."""
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


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_refuses_what_is_not_a_regular_file(tmp_path):
    link = tmp_path / "zero.npz"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        load(link)
    with pytest.raises(ValueError, match="not a regular file"):
        load(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.npz"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match="not a regular file"):
            load(fifo)  # must not block


def test_load_of_a_file_object_is_a_type_error(logistic_model, tmp_path):
    save(logistic_model, tmp_path / "m.npz")
    with pytest.raises(TypeError, match="path"):
        load(io.BytesIO((tmp_path / "m.npz").read_bytes()))


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a.update({"weights_/0/data": a["weights_/0/data"].astype(np.float16)}),
        lambda a: a.__setitem__(
            "feature_importances_", np.full_like(a["feature_importances_"], np.nan)
        ),
        lambda a: a.__setitem__("background_", np.full_like(a["background_"], np.inf)),
        lambda a: a.__setitem__("layer_sparsity_", np.full_like(a["layer_sparsity_"], np.nan)),
    ],
    ids=["float16", "nan importances", "inf background", "nan sparsity"],
)
def test_load_refuses_arrays_of_the_wrong_kind(logistic_model, tmp_path, edit):
    path = tmp_path / "m.npz"
    save(logistic_model, path)
    _rewrite(path, path, edit_arrays=edit)
    with pytest.raises(ValueError, match="Cannot load"):
        load(path)


def _backwards_unsigned_row_pointer(arrays):
    indptr = arrays["weights_/0/indptr"].astype(np.uint64)
    indptr[1] = indptr[-1] + 1000  # runs backwards after it: [0, big, ..., nnz]
    arrays["weights_/0/indptr"] = indptr


def _unsigned_column_beyond_int64(arrays):
    indices = arrays["weights_/0/indices"].astype(np.uint64)
    indices[0] = 2**64 - 1
    arrays["weights_/0/indices"] = indices


@pytest.mark.parametrize("edit", [_backwards_unsigned_row_pointer, _unsigned_column_beyond_int64])
def test_unsigned_csr_indices_are_checked_as_numbers(logistic_model, logistic_X, tmp_path, edit):
    """A row pointer stored unsigned that runs backwards passed the check (differences of
    unsigned values never go below 0) and crashed the interpreter in ``transform``."""
    path = tmp_path / "m.npz"
    save(logistic_model, path)
    _rewrite(path, path, edit_arrays=edit)
    with pytest.raises(ValueError, match="row pointer|column indices|beyond int64"):
        load(path)
    # valid unsigned indices still load, and serve as before
    save(logistic_model, path)
    _rewrite(
        path,
        path,
        edit_arrays=lambda a: a.update(
            {k: v.astype(np.uint32) for k, v in a.items() if k.endswith(("indptr", "indices"))}
        ),
    )
    np.testing.assert_array_equal(
        load(path).transform(logistic_X), logistic_model.transform(logistic_X)
    )


def test_numpy_parameters_are_stored_as_the_numbers_they_hold(X, tmp_path):
    """A ``GridSearchCV`` grid built with ``np.arange`` sets numpy scalars; they were
    stored as None (with a warning), so the file did not load or lost the setting."""
    ae = fast_model(
        (np.int64(2),),
        max_iter=2,
        n_background=5,
        n_explain=5,
        fine_tune_iter=np.int64(1),
        target_sparsity=np.float32(0.5),
        shapley_estimator=PermutationEstimator(n_permutations=np.int64(2)),
        random_state=0,
    ).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # nothing is dropped
        save(ae, tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert loaded.hidden_layer_sizes == (2,)
    assert loaded.shapley_estimator.n_permutations == 2
    assert loaded.fine_tune_iter == 1 and type(loaded.fine_tune_iter) is int
    assert loaded.target_sparsity == pytest.approx(0.5)
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))
    loaded.partial_fit(X)  # the same network sizes as the parameters say


def test_load_refuses_non_finite_settings_and_huge_integers(logistic_model, tmp_path):
    path = tmp_path / "m.npz"
    save(logistic_model, path)
    _rewrite(
        path,
        path,
        edit_header=lambda h: h["attributes"]["_training_config_"]["value"].update(
            learning_rate_init=float("nan")
        ),
    )
    with pytest.raises(ValueError, match="Cannot load.*_training_config_"):
        load(path)
    save(logistic_model, path)
    from skshapsae.io._persistence import _HEADER_KEY, _digest

    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode())
    header.pop("sha256")
    header["sha256"] = _digest(arrays, header)
    text = json.dumps(header).replace('"n_iter_": {"kind": "json", "value": 3}', "")
    text = text.replace('"format_version": 1', '"format_version": ' + "9" * 5000)
    arrays[_HEADER_KEY] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="Cannot load") as info:
        load(path)
    assert "set_int_max_str_digits" not in str(info.value)


def test_stored_device_is_a_preference(logistic_model, tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save(logistic_model, path)

    def on_cuda(header):
        header["params"]["device"] = "cuda"
        header["attributes"]["_training_config_"]["value"]["device"] = "cuda"

    _rewrite(path, path, edit_header=on_cuda)
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present: the stored device is available")
    with pytest.warns(UserWarning, match="cuda"):
        loaded = load(path)
    assert loaded.device == "cpu"
    loaded.reprune(0.5, X=logistic_model.background_)  # fine-tuning runs on the CPU


@pytest.mark.parametrize("name", [f.name for f in FIELDS if f.name != "feature_names_in_"])
def test_a_file_without_an_attribute_is_refused_or_serves(model_file, tmp_path, logistic_X, name):
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
    _serves(loaded, logistic_X)


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
def test_stored_training_settings_are_refused_or_serve(
    model_file, tmp_path, logistic_X, key, value
):
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
            loaded.reprune(0.5, X=logistic_X)
            loaded.partial_fit(logistic_X)
        except TrainingDivergenceError:
            return
    assert np.isfinite(loaded.transform(logistic_X)).all()


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
def test_stored_json_attributes_are_refused_or_serve(model_file, tmp_path, logistic_X, name, value):
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
        _serves(loaded, logistic_X)


def test_big_endian_arrays_load_as_native(model_file, tmp_path, logistic_X, logistic_model):
    def swap(arrays):
        for key, value in arrays.items():
            if value.dtype.kind == "f":
                arrays[key] = value.astype(value.dtype.newbyteorder(">"))

    loaded = load(_rewrite(model_file, tmp_path / "be.npz", edit_arrays=swap))
    np.testing.assert_allclose(loaded.transform(logistic_X), logistic_model.transform(logistic_X))
    assert loaded.weights_[0].dtype.isnative


def test_save_long_name_mode_and_empty_path(logistic_model, tmp_path):
    name = "m" * 250 + ".npz"  # 254 characters: legal on Linux
    save(logistic_model, tmp_path / name)
    assert load(tmp_path / name).n_features_in_ == logistic_model.n_features_in_
    old = os.umask(0o022)
    try:
        save(logistic_model, tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o644
        os.chmod(tmp_path / "new.npz", 0o640)
        save(logistic_model, tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640
    finally:
        os.umask(old)
    with pytest.raises(ValueError, match="file name"):
        save(logistic_model, "")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_save_refuses_what_load_cannot_read(logistic_X, tmp_path):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="SHAPSparseAutoencoder"):
        save(PCA(2).fit(logistic_X), tmp_path / "pca.npz")
    assert not (tmp_path / "pca.npz").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("fmt", [None, "torchscript"])
def test_save_and_export_write_only_over_regular_files(logistic_model, tmp_path, fmt):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "null"
    link.symlink_to(os.devnull)
    for target in (fifo, link, os.devnull):
        with pytest.raises(ValueError, match="not a regular file"):
            save(logistic_model, target) if fmt is None else export(
                logistic_model, target, format=fmt
            )
    assert os.path.islink(link) and not os.path.isfile(os.devnull)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "pipe"]


@pytest.mark.parametrize("scaler", ["minmax", "standard", "standard-no-mean"])
def test_a_pipeline_of_scalers_and_the_model_round_trips(logistic_X, tmp_path, scaler):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    first = {
        "minmax": MinMaxScaler(feature_range=(0, 2)),
        "standard": StandardScaler(),
        "standard-no-mean": StandardScaler(with_mean=False),
    }[scaler]
    raw = logistic_X * 50 + 7
    pipe = make_pipeline(
        first,
        fast_model(device="auto"),
    ).fit(raw)
    save(pipe, tmp_path / "pipe.npz")
    loaded = load(tmp_path / "pipe.npz")
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    np.testing.assert_allclose(loaded.transform(raw), pipe.transform(raw))
    np.testing.assert_allclose(
        loaded.inverse_transform(loaded.transform(raw)), pipe.inverse_transform(pipe.transform(raw))
    )


def test_save_refuses_other_pipeline_steps(logistic_X, tmp_path):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(PCA(3), SHAPSparseAutoencoder((2,), max_iter=2)).fit(logistic_X)
    with pytest.raises(TypeError, match="step 'pca' is a PCA"):
        save(pipe, tmp_path / "p.npz")


def test_pipeline_with_weighted_scaler_and_pandas_output_round_trips(logistic_X, tmp_path):
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame(logistic_X, columns=[f"c{j}" for j in range(logistic_X.shape[1])])
    pipe = make_pipeline(
        StandardScaler(), SHAPSparseAutoencoder(max_iter=3, n_background=10, random_state=0)
    ).set_output(transform="pandas")
    pipe.fit(frame, standardscaler__sample_weight=np.linspace(0.1, 2.0, len(logistic_X)))
    save(pipe, tmp_path / "p.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        loaded = load(tmp_path / "p.npz")
        codes = loaded.transform(frame)
    assert isinstance(codes, pd.DataFrame)
    pd.testing.assert_frame_equal(codes, pipe.transform(frame))
    ae = load(tmp_path / "p.npz")[-1]
    assert isinstance(ae.inverse_transform(codes), pd.DataFrame)


def test_auto_ranking_survives_the_file(tmp_path, logistic_X):
    """A model fitted with ``importance_target="auto"`` keeps both rankings in its file:
    the loaded copy reprunes as the original does."""
    model = fast_model(importance_target="auto", random_state=1).fit(logistic_X)
    save(model, tmp_path / "auto.npz")
    loaded = load(tmp_path / "auto.npz")
    assert loaded.pruning_game_ == model.pruning_game_
    for level in (0.3, 0.9):
        ours, theirs = loaded.reprune(level), model.reprune(level)
        assert ours.pruning_game_ == theirs.pruning_game_
        np.testing.assert_array_equal(ours.transform(logistic_X), theirs.transform(logistic_X))
