"""The public surface: the parameter list, the removed spellings, the estimator objects."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skshapsae import (
    AutoEstimator,
    KernelEstimator,
    PermutationEstimator,
    SHAPSparseAutoencoder,
    load,
    save,
)
from skshapsae.conductor._config import RENAMED
from skshapsae.scoring._shapley import ESTIMATORS, ShapleyEstimator


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return np.tanh(rng.normal(size=(60, 3)) @ rng.normal(size=(3, 6)))


def fast(**params):
    defaults = dict(max_iter=3, n_background=10, n_explain=10, fine_tune_iter=0, random_state=0)
    return SHAPSparseAutoencoder(**{**defaults, **params})


def test_at_most_28_parameters():
    params = SHAPSparseAutoencoder().get_params(deep=False)
    assert len(params) <= 28
    assert set(params) == set(SHAPSparseAutoencoder._parameter_constraints)
    assert not set(params) & set(RENAMED)


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_a_removed_parameter_names_its_new_spelling(old):
    with pytest.raises(TypeError, match=f"no longer takes '{old}'") as info:
        SHAPSparseAutoencoder(**{old: 1})
    assert RENAMED[old] in str(info.value)
    with pytest.raises(ValueError, match=f"no longer takes '{old}'") as info:
        SHAPSparseAutoencoder().set_params(**{old: 1})
    assert RENAMED[old] in str(info.value)


def test_every_registered_estimator_is_one_public_class():
    import skshapsae

    for name, cls in ESTIMATORS.items():
        assert cls.name == name and issubclass(cls, ShapleyEstimator)
        assert getattr(skshapsae, cls.__name__) is cls
        # the budget lives on the shared base: every one takes background_rows
        assert cls().get_params()["background_rows"] is None
    assert set(ESTIMATORS) == {
        "auto",
        "linear",
        "exact",
        "permutation",
        "kernel",
        "shap-permutation",
    }


def test_no_two_classes_of_the_package_share_a_name():
    import ast
    from collections import Counter
    from pathlib import Path

    import skshapsae

    names = Counter(
        node.name
        for path in Path(skshapsae.__file__).parent.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    )
    assert [name for name, count in names.items() if count > 1] == []


def test_the_estimator_budget_is_a_nested_parameter(X):
    ae = SHAPSparseAutoencoder(shapley_estimator=PermutationEstimator())
    params = ae.get_params(deep=True)
    assert params["shapley_estimator__n_permutations"] == 1
    ae.set_params(shapley_estimator__n_permutations=3)
    assert ae.shapley_estimator.n_permutations == 3
    copy = clone(ae)
    assert copy.shapley_estimator is not ae.shapley_estimator
    assert copy.shapley_estimator.get_params() == ae.shapley_estimator.get_params()
    search = GridSearchCV(
        fast(shapley_estimator=PermutationEstimator()),
        {"shapley_estimator__n_permutations": [1, 2]},
        cv=2,
    ).fit(X)
    assert search.best_params_["shapley_estimator__n_permutations"] in (1, 2)


def test_a_name_stays_a_name():
    named = SHAPSparseAutoencoder(shapley_estimator="permutation")
    assert named.get_params()["shapley_estimator"] == "permutation"
    assert clone(named).set_params(shapley_estimator="exact").shapley_estimator == "exact"
    # a budget needs the object: a clear error, and nothing changed
    for ae in (SHAPSparseAutoencoder(), named):
        before = ae.shapley_estimator
        with pytest.raises(ValueError, match=r"is a name.*PermutationEstimator\(n_permutations"):
            ae.set_params(shapley_estimator__n_permutations=3)
        assert ae.shapley_estimator == before
    # a name and a budget together: the budget goes on the object passed with it
    both = named.set_params(
        shapley_estimator=PermutationEstimator(), shapley_estimator__n_permutations=2
    )
    assert both.shapley_estimator.get_params() == {"n_permutations": 2, "background_rows": None}


def test_a_name_is_its_object_at_the_default_budget(X):
    a = fast(shapley_estimator="permutation").fit(X)
    b = fast(shapley_estimator=PermutationEstimator()).fit(X)
    for x, y in zip(a.link_importances_, b.link_importances_):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="n_permutations"):
        fast(shapley_estimator=PermutationEstimator(n_permutations=0)).fit(X)


def test_the_network_game_takes_its_budget_from_auto(X):
    a = fast(importance_target="reconstruction").fit(X)
    b = fast(importance_target="reconstruction", shapley_estimator=AutoEstimator(2)).fit(X)
    assert b._scoring_config_["n_permutations"] == 2
    assert not np.array_equal(a.link_importances_[0], b.link_importances_[0])
    with pytest.raises(ValueError, match="own estimator"):
        fast(importance_target="reconstruction", shapley_estimator=PermutationEstimator()).fit(X)


def test_explain_plays_the_recorded_game(X):
    ae = fast(shapley_estimator=KernelEstimator(n_samples=30)).fit(X)
    first = ae.explain(X[:3], layer=0).values
    ae.set_params(shapley_estimator="exact", importance_target="preactivation")
    np.testing.assert_array_equal(ae.explain(X[:3], layer=0).values, first)


def test_an_estimator_object_survives_save_and_load(X, tmp_path):
    ae = fast(shapley_estimator=KernelEstimator(n_samples=30, background_rows=5)).fit(X)
    save(ae, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert isinstance(back.shapley_estimator, KernelEstimator)
    assert back.shapley_estimator.get_params() == {"n_samples": 30, "background_rows": 5}


def _as_old_file(path, params):
    """Rewrite a model file's parameters as a version before 0.2 wrote them."""
    from skshapsae.io._persistence import _HEADER_KEY, _digest

    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode())
    header.pop("sha256")
    header["params"].update(params)
    for new in ("pruning",):
        header["params"].pop(new)
    header["sha256"] = _digest(arrays, header)
    arrays[_HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_a_file_from_before_the_renaming_loads(X, tmp_path):
    ae = fast(hidden_layer_sizes=None).fit(X)
    path = tmp_path / "old.npz"
    save(ae, path)
    _as_old_file(
        path,
        {
            "n_components": 2,
            "allocation": "layer",
            "structure": "units",
            "shapley_estimator": "auto",
            "n_permutations": 3,
            "kernel_nsamples": "auto",
            "n_background": 10,
            "background_pool": 40,
            "dropout": 0.0,
            "code_top_k": None,
        },
    )
    back = load(path)
    np.testing.assert_array_equal(back.transform(X), ae.transform(X))
    assert back.hidden_layer_sizes == 2 and back.pruning == "units"
    assert back.n_background == 40
    assert back.shapley_estimator.get_params() == {"n_permutations": 3, "background_rows": 10}
    # a trained baseline's settings are no parameters any more: dropped, with a warning
    save(ae, path)
    _as_old_file(path, {"allocation": "global", "structure": "links", "dropout": 0.5})
    with pytest.warns(UserWarning, match="fit_trained_baseline"):
        back = load(path)
    assert back.pruning == "global" and "dropout" not in back.get_params()


def test_nested_budget_of_an_unknown_estimator_name_is_a_clear_error():
    from skshapsae import SHAPSparseAutoencoder

    ae = SHAPSparseAutoencoder(shapley_estimator="bogus")
    with pytest.raises(ValueError, match="'bogus' is a name"):
        ae.set_params(shapley_estimator__n_permutations=3)


def test_select_features_refuses_an_array_of_weights_clearly():
    X = np.random.default_rng(0).uniform(size=(40, 6))
    ae = fast(hidden_layer_sizes=2).fit(X)
    with pytest.raises(
        ValueError, match=r"'uniform' or 'importance', got an array of shape \(6,\)"
    ):
        ae.select_features(2, weights=np.ones(6))


# -------------------------------------------------------- hostile conditions (issues 22, 32)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    layer=st.one_of(
        st.integers(-10, 10), st.floats(allow_nan=True), st.booleans(), st.none(), st.text()
    )
)
def test_get_unit_names_validates_the_layer(logistic_model, layer):
    n_layers = len(logistic_model.layer_sizes_) - 1
    if isinstance(layer, int) and not isinstance(layer, bool) and 0 <= layer <= n_layers:
        names = logistic_model.get_unit_names(layer)
        assert len(names) == logistic_model.layer_sizes_[layer] and "-" not in "".join(names)
    elif isinstance(layer, int) and not isinstance(layer, bool):
        with pytest.raises(ValueError, match=r"layer must be in \[0, 4\]"):
            logistic_model.get_unit_names(layer)
    else:
        with pytest.raises(TypeError, match="layer must be an integer"):
            logistic_model.get_unit_names(layer)
