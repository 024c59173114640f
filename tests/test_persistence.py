"""Model files are untrusted input: atomic saves, bounded loads, a schema for every field."""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skshapsae.io._persistence as persistence
from skshapsae import load, save

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
