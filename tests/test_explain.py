"""Per-row explanations and tabular feature attribution with SelectFromModel."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from _models import fast_model, fit_fast


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).uniform(size=(50, 6))
    return X, fast_model(activation="logistic", n_background=20, n_explain=20).fit(X)


def test_link_explanations_are_the_terms_of_the_importances(fitted):
    X, ae = fitted
    exp = ae.explain(X[:5], layer=0)
    assert exp.values.shape == (5, 6, 4)
    # efficiency: attributions sum to f(x) - E_B f(background) for every output
    h = 1 / (1 + np.exp(-(X[:5] @ ae.dense_weights_[0].T + ae.dense_intercepts_[0])))
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, h, atol=1e-6)
    assert exp.feature_names == [f"x{j}" for j in range(6)]
    deeper = ae.explain(X[:3], layer=2)
    assert deeper.values.shape == (3, 2, 4)
    with pytest.raises(ValueError, match="layer must be"):
        ae.explain(X[:2], layer=4)


def test_code_explanations_use_the_pruned_encoder(fitted):
    X, ae = fitted
    exp = ae.explain(X[:3], output="units")
    assert exp.values.shape == (3, 6, 2)
    assert list(exp.output_names) == list(ae.get_feature_names_out())  # not "Output 0"
    codes = ae.transform(X[:3])
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, codes, atol=1e-6)
    # features whose every link was pruned get no attribution: exactly 0 (dummy players)
    dead = ~ae.active_units_[0]
    assert dead.any()
    assert np.all(exp.values[:, dead, :] == 0.0)
    one = ae.explain(X[:3], output=1)
    np.testing.assert_allclose(one.values, exp.values[:, :, 1], atol=1e-6)


def test_default_explanation_goes_into_every_shap_plot(fitted):
    """explain(X) as it comes: 2-d values, the rows' reconstruction errors explained."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    X, ae = fitted
    exp = ae.explain(X[:8])
    assert exp.values.shape == (8, 6)
    err = np.mean(ae.column_weights_ * (ae.inverse_transform(ae.transform(X[:8])) - X[:8]) ** 2, 1)
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, err, atol=1e-6)
    for plot in (shap.plots.bar, shap.plots.beeswarm, shap.plots.heatmap):
        plot(exp, show=False)
        plt.close("all")
    shap.plots.waterfall(exp[0], show=False)
    plt.close("all")
    # raw rows shown on the plots; the values do not change
    raw = X[:8] * 100 + 5
    shown = ae.explain(X[:8], display_data=raw)
    np.testing.assert_array_equal(shown.values, exp.values)
    np.testing.assert_array_equal(shown.display_data, raw)
    np.testing.assert_array_equal(shown.data, raw)
    with pytest.raises(ValueError, match="shape of X"):
        ae.explain(X[:8], display_data=raw[:3])
    with pytest.raises(ValueError, match="output"):
        ae.explain(X[:2], output="codes")


def test_select_from_model_uses_feature_importances():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    pipe = make_pipeline(
        MinMaxScaler().set_output(transform="pandas"),
        SelectFromModel(
            fast_model((8, 4), max_iter=10, n_background=50, n_explain=50),
            max_features=8,
            threshold=-np.inf,
        ),
        LogisticRegression(max_iter=1000),
    )
    pipe.fit(X, y)
    selector = pipe[1]
    chosen = selector.get_feature_names_out()
    assert len(chosen) == 8 and set(chosen) <= set(X.columns)
    assert pipe.score(X, y) > 0.85


@pytest.mark.parametrize("layer", [None, 0])
def test_one_output_plugs_into_shaps_plots(layer):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    X = np.random.default_rng(0).uniform(size=(40, 5))
    ae = fast_model(2, max_iter=5, device="auto").fit(X)
    e = ae.explain(X[:8], layer=layer, output=1)
    assert e.values.shape == (8, 5)
    try:
        shap.plots.bar(e, show=False)
        shap.plots.beeswarm(e, show=False)
        shap.plots.heatmap(e, show=False)
        shap.plots.waterfall(e[0], show=False)
    finally:
        plt.close("all")
    with pytest.raises(ValueError, match="output unit"):
        ae.explain(X[:2], output=2)


@pytest.mark.parametrize("layer", [None, 0, 1, 2, 3])
def test_explain_refuses_rows_that_overflow_at_every_layer(layer):
    """Rows x 3e38 overflow float32: explain(layer=...) returned NaN / inf attributions
    where transform and explain() raise "output is not finite"."""
    X = np.random.default_rng(0).uniform(size=(50, 6))
    ae = fast_model(n_background=20, n_explain=20).fit(X)
    with pytest.raises(ValueError, match="not finite"):
        ae.explain(X[:3] * 3e38, layer=layer)
    assert np.all(np.isfinite(ae.explain(X[:3], layer=layer).values))


# -------------------------------------------------------- hostile conditions (issues 22, 32)
def test_explain_plays_the_fitted_game(logistic_X):
    est = fit_fast(logistic_X, importance_target="preactivation")
    before = est.explain(logistic_X[:3], layer=0).values
    est.set_params(importance_target="reconstruction")
    np.testing.assert_allclose(est.explain(logistic_X[:3], layer=0).values, before)
