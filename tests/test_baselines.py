"""Baselines share the dense network and the keep counts of SHAP-SAE."""

import numpy as np
import pytest

from skshapsae.baselines import fit_trained_baseline, prune_with_scores, score_links

from _models import fast_model


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    latent = rng.uniform(size=(40, 3))
    return np.hstack([latent, latent @ rng.uniform(size=(3, 5))])


@pytest.fixture(scope="module")
def ae(X):
    # as many background and explained rows as data rows: every row is used
    return fast_model(max_iter=5, n_background=40, n_explain=40).fit(X)


def test_scores_have_link_shapes(ae, X):
    for method in ("magnitude", "wanda", "lap", "random", "mint"):
        scores = score_links(method, ae, X, random_state=0)
        assert [s.shape for s in scores] == [w.shape for w in ae.dense_weights_]
        assert all(np.all(s >= 0) for s in scores)
    for method in ("wanda", "mint"):
        with pytest.raises(ValueError, match="needs X"):
            score_links(method, ae)
    with pytest.raises(ValueError, match="Unknown baseline"):
        score_links("oracle", ae)


def test_wanda_is_the_preactivation_shapley_score(ae, X):
    pre = fast_model(
        max_iter=5, n_background=40, n_explain=40, importance_target="preactivation"
    ).fit(X)
    for w, s in zip(score_links("wanda", ae, X), pre.link_importances_):
        np.testing.assert_allclose(w, s, rtol=1e-10, atol=1e-12)


def test_lap_formula(ae):
    W = ae.dense_weights_
    lap = score_links("lap", ae)[1]
    i, j = 1, 2
    expected = abs(W[1][i, j]) * np.linalg.norm(W[0][j]) * np.linalg.norm(W[2][:, i])
    assert lap[i, j] == pytest.approx(expected)


def test_prune_with_own_scores_reproduces_the_model(ae, X):
    same = prune_with_scores(ae, ae.link_importances_, ae.keep_counts_, X)
    for a, b in zip(same.link_masks_, ae.link_masks_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(same.transform(X), ae.transform(X))


def test_baselines_keep_the_same_counts(ae, X):
    for method in ("magnitude", "lap", "random"):
        other = prune_with_scores(ae, score_links(method, ae, random_state=0), ae.keep_counts_)
        assert other.keep_counts_ == ae.keep_counts_
        assert other.dense_weights_ is ae.dense_weights_
        # the cascade can only remove links beyond the kept counts
        assert all(m.sum() <= k for m, k in zip(other.link_masks_, ae.keep_counts_))


@pytest.mark.parametrize("kind", ["ksparse", "dropout"])
def test_trained_baselines(ae, X, kind):
    model = fit_trained_baseline(kind, ae, X, k=1)
    assert not hasattr(model, "_train_options")
    for s, w in zip(model.link_importances_, model.dense_weights_):
        np.testing.assert_array_equal(s, np.abs(w))
    pruned = prune_with_scores(model, model.link_importances_, ae.keep_counts_)
    assert np.all(np.isfinite(pruned.transform(X)))
    # a different training: the dense weights differ from the plain autoencoder's
    assert not np.allclose(model.dense_weights_[0], ae.dense_weights_[0])


def test_mint_sees_conditional_dependence():
    """MINT's statistic is higher for a child that depends on the parent group than for
    one that depends only on the other parents (conditionally independent; measured over
    4 seeds: 0.37-0.49 against 0.21-0.29, the estimator's bias at 300 rows)."""
    from skshapsae.baselines import _ci_dependence

    rng = np.random.default_rng(0)
    parent, rest = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    dependent = parent.sum(axis=1, keepdims=True) + 0.1 * rng.normal(size=(300, 1))
    independent = rest.sum(axis=1, keepdims=True) + 0.1 * rng.normal(size=(300, 1))
    high = _ci_dependence(dependent, parent, rest, np.random.default_rng(1))
    low = _ci_dependence(independent, parent, rest, np.random.default_rng(1))
    assert high > low + 0.1


def test_mint_scores_are_blockwise_and_seeded(ae, X):
    from skshapsae.baselines import mint_scores

    a = mint_scores(ae, X, n_groups=2, random_state=0)
    b = mint_scores(ae, X, n_groups=2, random_state=0)
    for s, t in zip(a, b):
        np.testing.assert_array_equal(s, t)
        # two child groups x two parent groups: at most 4 distinct values up to the tie-break
        assert len(np.unique(np.round(s, 6))) <= 4
    with pytest.raises(ValueError, match="at least 9 rows"):
        mint_scores(ae, X[:5])


def test_trained_baselines_train_away_from_the_start(X):
    """The k-sparse and dropout baselines are trained, not their PCA start returned: the
    start always has the lower loss without the top-k code or dropout."""
    template = fast_model((4,), max_iter=10)
    # the start: the same settings, a step size that cannot move it
    start = fast_model((4,), max_iter=10, learning_rate_init=1e-12).fit(X).dense_weights_
    made = {
        "ksparse k=1": fit_trained_baseline("ksparse", template, X, k=1),
        "ksparse k=3": fit_trained_baseline("ksparse", template, X, k=3),
        "dropout 0.2": fit_trained_baseline("dropout", template, X, dropout=0.2),
        "dropout 0.5": fit_trained_baseline("dropout", template, X, dropout=0.5),
    }
    for name, model in made.items():
        moved = [not np.allclose(w, s, atol=1e-6) for w, s in zip(model.dense_weights_, start)]
        assert any(moved), name
    names = list(made)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not np.array_equal(made[a].dense_weights_[0], made[b].dense_weights_[0]), (a, b)


@pytest.mark.parametrize(
    "kind, options, match",
    [
        ("ksparse", {"k": 0}, "k must be an int from 1 to 4"),
        ("ksparse", {"k": -1}, "k must be"),
        ("ksparse", {"k": 5}, "k must be"),
        ("ksparse", {"k": 1.5}, "k must be"),
        ("ksparse", {"k": True}, "k must be"),
        ("dropout", {"dropout": 1.5}, r"dropout: a number in \[0, 1\)"),
        ("dropout", {"dropout": 1.0}, "dropout"),
        ("dropout", {"dropout": -0.1}, "dropout"),
        ("dropout", {"dropout": float("nan")}, "dropout"),
        ("dropout", {"dropout": "0.5"}, "dropout"),
    ],
)
def test_trained_baselines_refuse_invalid_settings(X, kind, options, match):
    with pytest.raises(ValueError, match=match):
        fit_trained_baseline(kind, fast_model((4,)), X, **options)


# ------------------------------------------------------------------ the baselines' classes
def _baseline_classes():
    from skshapsae.baselines import DropoutAutoencoder, KSparseAutoencoder

    return [(KSparseAutoencoder, "k", 3), (DropoutAutoencoder, "dropout", 0.2)]


@pytest.mark.parametrize("cls, name, value", _baseline_classes())
def test_a_baseline_keeps_its_training_setting_through_clone(cls, name, value):
    from sklearn.base import clone

    from skshapsae import SHAPSparseAutoencoder

    model = cls(4, max_iter=7, **{name: value})
    params = model.get_params()
    assert params[name] == value and params["max_iter"] == 7
    # every parameter of the autoencoder, the setting, and the baselines' two defaults
    assert set(params) == set(SHAPSparseAutoencoder().get_params()) | {name}
    assert params["importance_target"] == "preactivation" and params["fine_tune_iter"] == 0
    copy = clone(model)
    assert type(copy) is cls and copy.get_params() == params
    assert clone(model.set_params(**{name: None if name == "k" else 0.1})).get_params()[name] == (
        None if name == "k" else 0.1
    )


@pytest.mark.parametrize("cls, name, value", _baseline_classes())
def test_a_baseline_passes_scikit_learns_parameter_checks(cls, name, value):
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    for check in (
        check_parameters_default_constructible,
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
    ):
        check(cls.__name__, cls(**{name: value}))


@pytest.mark.parametrize("kind, setting", [("ksparse", {"k": 1}), ("dropout", {"dropout": 0.2})])
def test_a_baseline_class_is_the_trained_baseline(X, tmp_path, kind, setting):
    from skshapsae import load, save
    from skshapsae.baselines import TRAINED

    template = fast_model((4,), max_iter=5)
    made = fit_trained_baseline(kind, template, X, **setting)
    cls = TRAINED[kind]
    params = {**template.get_params(), "importance_target": "preactivation", "fine_tune_iter": 0}
    fitted = cls(**params, **setting).fit(X)
    assert type(made) is cls and made.get_params() == fitted.get_params()
    np.testing.assert_array_equal(made.transform(X), fitted.transform(X))
    for a, b in zip(made.link_masks_, fitted.link_masks_):
        np.testing.assert_array_equal(a, b)
    assert all(
        np.array_equal(s, np.abs(w))
        for s, w in zip(fitted.link_importances_, fitted.dense_weights_)
    )
    # a model file keeps the class and its setting
    save(fitted, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert type(back) is cls and back.get_params() == fitted.get_params()
    np.testing.assert_array_equal(back.transform(X), fitted.transform(X))
    assert not hasattr(fitted, "partial_fit")  # hidden, as scikit-learn expects
    with pytest.raises(AttributeError, match="partial_fit") as refused:
        fitted.partial_fit(X)
    assert "fit only" in str(refused.value.__cause__)  # why, chained


def test_scores_validate_their_rows_and_the_model():
    """Wanda and MINT read X as transform does (2-d, finite, the fitted width and column
    order); a slimmed model is refused by name. Reordered DataFrame columns gave other
    scores without a word, NaN rows NaN scores, 1-d X nonsense."""
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).uniform(size=(40, 5))
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = fast_model((3,), max_iter=3, random_state=0).fit(frame)
    nan = X.copy()
    nan[0, 0] = np.nan
    for method in ("wanda", "mint"):
        score_links(method, model, frame, random_state=0)  # as fitted: fine
        for bad, message in [
            (frame[list("edcba")], "feature names"),
            (pd.DataFrame(nan, columns=list("abcde")), "NaN"),
            (frame.to_numpy()[:, 0], "2D"),
        ]:
            with pytest.raises(ValueError, match=message):
                score_links(method, model, bad, random_state=0)
    with pytest.raises(ValueError, match="slim"):
        score_links("magnitude", model.slim())


def test_mint_scores_a_layer_with_one_unit_and_checks_its_settings():
    from skshapsae.baselines import mint_scores

    X = np.random.default_rng(0).uniform(size=(40, 6))
    model = fast_model((1,), max_iter=3, random_state=0).fit(X)  # the code has 1 unit
    scores = score_links("mint", model, X, random_state=0)
    assert [s.shape for s in scores] == [(1, 6), (6, 1)] and all(np.all(s > 0) for s in scores)
    for setting in (dict(n_groups=0), dict(n_rows=5), dict(n_groups=True)):
        with pytest.raises(ValueError, match="must be an int of at least"):
            mint_scores(model, X, **setting)


def test_trained_baselines_read_chunks_and_refuse_unit_pruning_before_fitting():
    from skshapsae.baselines import DropoutAutoencoder, KSparseAutoencoder

    X = np.random.default_rng(0).uniform(size=(60, 6))
    chunks = [X[:30], X[30:]]
    assert KSparseAutoencoder(max_iter=3, random_state=0).fit(chunks).n_components_ == 3
    with pytest.raises(ValueError, match="2-d array of rows"):
        KSparseAutoencoder(max_iter=3).fit(X[:, 0])
    refused = DropoutAutoencoder((4, 2), pruning="units", max_iter=3)
    with pytest.raises(ValueError, match="pruning='units' does not apply"):
        refused.fit(X)
    assert not hasattr(refused, "n_features_in_")  # nothing fitted
    units = fast_model((4, 2), pruning="units", max_iter=3, random_state=0).fit(X)
    counts = [int(m.sum()) for m in units.link_masks_]
    pruned = prune_with_scores(units, score_links("magnitude", units), counts)
    assert pruned.pruning == "layer" and pruned.sparsity_ > 0
