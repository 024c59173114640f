"""Conformance of every registry entry: a new game, Shapley estimator, baseline, export
format, Display or fitted attribute is tested the day it is added to its registry."""

import inspect
import re
from functools import partial

import numpy as np
import pytest

import skshapsae
from skshapsae import SHAPSparseAutoencoder, baselines, export, load, plotting, save
from skshapsae.conductor._fitted import BY_NAME, FIELDS, names
from skshapsae.io._export import FORMATS
from skshapsae.scoring._scoring import GAME_FAMILIES
from skshapsae.scoring._shapley import ESTIMATORS, LayerGame

from _models import fast_model

_model = partial(fast_model, hidden_layer_sizes=(5, 2), max_iter=5, n_background=15, n_explain=12)


def _fit(X, **params):
    return _model(**params).fit(X)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(80, 2))
    return 1 / (1 + np.exp(-latent @ rng.normal(size=(2, 7))))


@pytest.fixture(scope="module")
def model(X):
    return _fit(X, early_stopping=True)


@pytest.fixture(scope="module")
def frame_model(X):
    """Fitted on a DataFrame with ``importance_target="auto"``, so that every attribute
    (feature names and the second ranking too) is set."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    return _fit(frame, importance_target="auto")


# ------------------------------------------------------------------ fitted state
def test_every_fitted_attribute_is_declared_once(frame_model):
    model = frame_model
    fitted = {k for k in vars(model) if k.endswith("_")}
    assert fitted == set(BY_NAME), "fit sets exactly the schema's attributes"
    assert len(BY_NAME) == len(FIELDS)
    slim = model.slim()
    assert {k for k in vars(slim) if k.endswith("_")} == set(names(slim=True))
    for name in names(frozen=True):
        for array in getattr(model, name):
            data = array.data if hasattr(array, "indptr") else array
            assert not data.flags.writeable, name


@pytest.fixture(scope="module")
def copies(frame_model, tmp_path_factory):
    """The model saved and loaded, and re-pruned at another level."""
    path = tmp_path_factory.mktemp("model") / "m.npz"
    save(frame_model, path)
    return load(path), frame_model.reprune(0.5)


def _documented_attributes():
    """The names in the numpydoc "Attributes" section of the estimator's docstring."""
    doc = inspect.getdoc(SHAPSparseAutoencoder)
    section = doc.split("\nAttributes\n----------\n", 1)[1]
    section = re.split(r"\n\n[A-Z][\w ]+\n-+\n", section, maxsplit=1)[0]
    entries = re.findall(r"^(\w+(?:, \w+)*) :", section, flags=re.M)
    return {name for entry in entries for name in entry.split(", ")}


def test_the_documented_attributes_are_the_public_fitted_state():
    public = {name for name in BY_NAME if name.endswith("_") and not name.startswith("_")}
    documented = _documented_attributes()
    properties = {
        name
        for name in documented
        if isinstance(inspect.getattr_static(SHAPSparseAutoencoder, name, None), property)
    }
    assert public - documented == set(), "fitted attributes missing from the docstring"
    assert documented - public - properties == set(), "documented attributes nobody sets"


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_fitted_attribute_round_trips_and_reprune_follows_its_group(frame_model, copies, field):
    model, (loaded, other) = frame_model, copies
    a, b = getattr(model, field.name), getattr(loaded, field.name)
    if field.kind == "csr_list":
        assert all((x != y).nnz == 0 for x, y in zip(a, b))
    elif field.kind in ("array_list",):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    elif field.kind in ("array", "strings"):
        assert np.array_equal(a, b)
    else:
        assert a == b or (a is None and b is None)
    if field.group == "training":  # level-independent: shared, not recomputed
        assert getattr(other, field.name) is getattr(model, field.name)


# ------------------------------------------------------------------ games
def test_importance_target_choices_are_the_game_registry():
    constraint = SHAPSparseAutoencoder._parameter_constraints["importance_target"][0]
    assert constraint.options == set(GAME_FAMILIES)


@pytest.mark.parametrize("target", sorted(GAME_FAMILIES))
def test_game_scores_and_explain_follow_the_game(X, target):
    ae = _fit(X, importance_target=target)
    assert [s.shape for s in ae.link_importances_] == [W.shape for W in ae.dense_weights_]
    assert all(np.all(s >= 0) and np.all(np.isfinite(s)) for s in ae.link_importances_)
    e = ae.explain(X[:3], layer=1)
    assert e.values.shape == (3, 5, 2)
    assert np.all(np.isfinite(e.values))
    if GAME_FAMILIES[target].name == "network":  # per-row terms of the network game
        assert np.asarray(e.base_values).shape == (3,)
    else:  # the layer game: values add up to the layer's output
        assert np.asarray(e.base_values).shape == (3, 2)


def test_network_game_explain_differs_from_the_layer_game(X):
    # explain plays the game the model was fitted with (set_params does not change it)
    net = _fit(X, importance_target="reconstruction")
    layer = _fit(X, importance_target="activation")
    a = layer.explain(X[:2], layer=0).values
    b = net.explain(X[:2], layer=0).values
    assert not np.allclose(a, b)
    net.set_params(importance_target="activation")
    np.testing.assert_allclose(net.explain(X[:2], layer=0).values, b)


# ------------------------------------------------------------------ Shapley estimators
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_shapley_estimator_is_built_from_the_config_and_is_efficient(name):
    rng = np.random.default_rng(0)
    activation = "identity" if name == "linear" else "tanh"
    game = LayerGame(
        rng.normal(size=(2, 4)), rng.normal(size=2), activation, rng.normal(size=(6, 4))
    )
    budget = {"permutation": {"n_permutations": 50}, "kernel": {"n_samples": 200}}
    estimator = ESTIMATORS[name](**budget.get(name, {})).for_game(game, seed=0)
    picked = {"auto": "exact"}.get(name, name)  # 4 inputs: "auto" enumerates
    assert isinstance(estimator, ESTIMATORS[picked]) and estimator.name == picked
    points = rng.normal(size=(3, 4))
    phi, _ = estimator.shapley_values(game, points)
    assert phi.shape == (3, 2, 4)
    # efficiency: the values add up to f(x) - E_background f
    total = game(points) - game(game.background).mean(axis=0)
    np.testing.assert_allclose(phi.sum(axis=2), total, atol=1e-6)


# ------------------------------------------------------------------ baselines
@pytest.mark.parametrize("method", sorted(baselines.SCORES))
def test_baseline_score_contract(model, X, method):
    scores = baselines.score_links(method, model, X, random_state=0)
    assert [s.shape for s in scores] == [W.shape for W in model.dense_weights_]
    assert all(np.all(np.isfinite(s)) and np.all(s >= 0) for s in scores)
    pruned = baselines.prune_with_scores(model, scores, model.keep_counts_)
    assert pruned.transform(X).shape == (len(X), 2)


@pytest.mark.parametrize("kind", sorted(baselines.TRAINED))
def test_trained_baseline_contract(model, X, kind):
    fitted = baselines.fit_trained_baseline(kind, model, X)
    magnitude = [np.abs(W) for W in fitted.dense_weights_]
    assert all(np.array_equal(a, b) for a, b in zip(fitted.link_importances_, magnitude))
    assert np.all(np.isfinite(fitted.transform(X)))


# ------------------------------------------------------------------ export formats
def _run(fmt, path, rows):
    import torch

    if fmt == "torch.export":
        return torch.export.load(path).module()(torch.tensor(rows)).numpy()
    if fmt == "torchscript":
        return torch.jit.load(path)(torch.tensor(rows)).numpy()
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": rows})[0]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_format_contract(model, X, fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("onnxscript")
    path = export(model, tmp_path / "encoder.bin", format=fmt)
    assert path.is_file() and not list(tmp_path.glob(".sks*"))  # no temporary left behind
    rows = X[:5].astype(np.float32)
    np.testing.assert_allclose(_run(fmt, path, rows), model.transform(rows), atol=1e-5)


# ------------------------------------------------------------------ Displays
@pytest.mark.parametrize("name", [n for n in plotting.__all__ if n.endswith("Display")])
def test_display_contract(model, name):
    import matplotlib.pyplot as plt

    cls = getattr(plotting, name)
    assert issubclass(cls, plotting._Display)
    plot = inspect.signature(cls.plot).parameters
    assert plot["ax"].kind is inspect.Parameter.KEYWORD_ONLY
    assert all(p.endswith("_kw") for p in plot if p not in ("self", "ax", "kind", "order"))
    fig, ax = plt.subplots()
    try:
        kwargs = (
            {"image_shape": None}
            if "image_shape" in inspect.signature(cls.from_estimator).parameters
            else {}
        )
        shape_free = name in ("UnitImportanceDisplay", "LinkImportanceDisplay")
        display = cls.from_estimator(model, ax=ax if shape_free else None, **kwargs)
        assert display.figure_ is not None and display.ax_ is not None
        if shape_free:
            assert display.ax_ is ax
    finally:
        plt.close("all")


def test_public_names_are_exported():
    for name in skshapsae.__all__:
        assert hasattr(skshapsae, name)
