"""Displays: built from a fitted estimator, re-plottable, clear error without matplotlib."""

import sys

import numpy as np
import pytest

from skshapsae.plotting import (
    FeatureMaskDisplay,
    ImageMaskDisplay,
    LinkImportanceDisplay,
    SparsityCurveDisplay,
    UnitImportanceDisplay,
)

from _models import fast_model

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 16)) * (rng.uniform(size=16) > 0.3)
    ae = fast_model((6, 3), n_background=20, n_explain=20).fit(X)
    return X, ae


def test_unit_and_link_displays(images):
    import matplotlib.pyplot as plt

    _, ae = images
    disp = UnitImportanceDisplay.from_estimator(ae, image_shape=None, order="input")
    assert len(disp.ax_.patches) == 16
    assert [t.get_text() for t in disp.ax_.get_xticklabels()][:2] == ["x0", "x1"]
    # by default the bars run from the most to the least important feature
    ranked = UnitImportanceDisplay.from_estimator(ae, image_shape=None)
    heights = [bar.get_height() for bar in ranked.bars_]
    assert heights == sorted(heights, reverse=True)
    # 16 features are inferred to be a 4 x 4 image: a heat map with a colour bar
    image = UnitImportanceDisplay.from_estimator(ae)
    assert image.image_shape == (4, 4) and len(image.figure_.axes) == 2
    np.testing.assert_array_equal(disp.importances, ae.feature_importances_)
    heat = LinkImportanceDisplay.from_estimator(ae, layer=1)
    assert heat.importances.shape == (3, 6)
    var = LinkImportanceDisplay.from_estimator(ae, kind="variance")
    assert len(var.ax_.patches) == 16
    with pytest.raises(ValueError, match="heatmap"):
        var.plot(kind="pie")
    fig, ax = plt.subplots()
    assert disp.plot(ax=ax).ax_ is ax
    plt.close("all")


def test_image_displays(images):
    import matplotlib.pyplot as plt

    X, ae = images
    masks = ImageMaskDisplay.from_estimator(ae, image_shape=(4, 4))
    assert masks.maps.shape == (3, 16) and masks.maps.dtype == bool
    # a pixel is seen by a code unit iff a kept path leads there
    path = (ae.link_masks_[1].astype(int) @ ae.link_masks_[0].astype(int)) > 0
    np.testing.assert_array_equal(masks.maps, path)
    ImageMaskDisplay.from_estimator(ae, image_shape=(4, 4), what="importance")
    fm = FeatureMaskDisplay.from_estimator(ae, levels=(0.5, 0.9), image_shape=(4, 4), image=X[0])
    assert len(fm.masks) == 2 and fm.sparsities[0] >= fm.sparsities[1]
    plt.close("all")


def test_sparsity_curve_display(images):
    import matplotlib.pyplot as plt

    X, ae = images
    disp = SparsityCurveDisplay.from_estimator(
        ae, levels=[0.5, 0.8, 1.0], scorer=lambda m: m.score(X), score_name="-MSE"
    )
    assert disp.scores.shape == (3,)
    assert np.all(np.diff(disp.sparsities) <= 0)
    plt.close("all")


def test_missing_matplotlib_message(images, monkeypatch):
    _, ae = images
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'skshapsae\[plot\]'"):
        UnitImportanceDisplay.from_estimator(ae)


def test_tabular_data_and_display_conventions(images):
    """A 30-column table: no image shape, heat maps with feature names and a legend."""
    import matplotlib.pyplot as plt
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(size=(50, 30)), columns=[f"col{i}" for i in range(30)])
    ae = fast_model(max_iter=2).fit(X)
    fm = FeatureMaskDisplay.from_estimator(ae, levels=(0.5, 0.9))
    assert fm.image_shape is None
    assert [t.get_text() for t in fm.ax_.get_xticklabels()][:2] == ["col0", "col1"]
    assert {t.get_text() for t in fm.ax_.get_legend().get_texts()} == {"kept", "pruned"}
    masks = ImageMaskDisplay.from_estimator(ae)
    assert masks.image_shape is None and masks.ax_.get_legend() is not None
    disp = UnitImportanceDisplay.from_estimator(ae, bar_kw={"color": "red"})
    assert disp.ax_.patches[0].get_facecolor()[:3] == (1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="image_shape"):
        FeatureMaskDisplay.from_estimator(ae, image_shape=(28, 28))
    plt.close("all")


def test_sparsity_figure_draws_the_majority_line():
    disp = SparsityCurveDisplay(
        np.array([0.5, 1.0]), np.array([0.6, 0.0]), np.array([0.7, 0.72]), baseline=0.8
    ).plot()
    assert disp.baseline_line_ is not None
    assert list(disp.baseline_line_.get_ydata()) == [0.8, 0.8]
    low, high = disp.ax_[0, 1].get_ylim()
    assert low < 0.7 and high > 0.8  # the line is in view
    # far below the scores (digits: 0.97 against 0.10): a note, the scores keep the axis
    far = SparsityCurveDisplay(
        np.array([0.5, 1.0]), np.array([0.6, 0.0]), np.array([0.96, 0.97]), baseline=0.102
    ).plot()
    assert far.baseline_line_ is None and "0.102 (below the axis)" in far.baseline_text_.get_text()
    assert far.ax_[0, 1].get_ylim()[0] > 0.9


def test_small_attributions_get_readable_units_in_shaps_plots():
    import matplotlib.pyplot as plt

    shap = pytest.importorskip("shap")
    from skshapsae.plotting import in_readable_units

    rng = np.random.default_rng(0)
    values = rng.normal(scale=2e-3, size=(30, 5))  # a reconstruction error's attributions
    e = shap.Explanation(values=values, base_values=np.full(30, 0.01), data=values)
    labels = _bar_labels(shap, e)
    assert set(labels) <= {"+0", "-0"}  # what shap writes without the units
    scaled, factor = in_readable_units(e)
    assert factor == 1000.0
    np.testing.assert_allclose(scaled.values, values * 1000)
    np.testing.assert_allclose(scaled.base_values, 10.0)
    labels = _bar_labels(shap, scaled)
    assert len(labels) == 5 and not set(labels) & {"+0", "-0"}
    # one row (a waterfall) and values shap writes well as they are
    assert in_readable_units(e[0])[1] == 10 ** -np.floor(np.log10(np.abs(values[0]).max()))
    big = shap.Explanation(values=values * 100)
    assert in_readable_units(big) == (big, 1.0)
    zero = shap.Explanation(values=np.zeros((3, 2)))
    assert in_readable_units(zero)[1] == 1.0
    plt.close("all")


def _bar_labels(shap, explanation):
    import matplotlib.pyplot as plt

    plt.figure()
    shap.plots.bar(explanation, show=False)
    return [t.get_text() for t in plt.gca().texts if t.get_text().startswith(("+", "-"))]


def test_displays_refuse_what_they_cannot_draw_before_opening_a_figure(images):
    """Panels dropped on a single Axes, an IndexError for a scorer's second panel, bare
    AttributeErrors on a slimmed model, layer and unit counts out of range: each is a
    clear error now, and none leaves a figure open."""
    import matplotlib.pyplot as plt
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, ae = images
    plt.close("all")
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="draws 4 panels here; ax holds 1"):
        FeatureMaskDisplay.from_estimator(ae, levels=(0.5, 0.8, 0.9, 0.95), ax=ax)
    with pytest.raises(ValueError, match="draws 2 panels"):
        SparsityCurveDisplay.from_estimator(
            ae, levels=[0.5, 1.0], scorer=lambda m: m.score(X), ax=ax
        )
    _, axes = plt.subplots(1, 4)
    assert len(FeatureMaskDisplay.from_estimator(ae, ax=axes).images_) == 4
    plt.close("all")
    for make, message in [
        (lambda: UnitImportanceDisplay.from_estimator(ae, order="bogus"), "order must be"),
        (lambda: UnitImportanceDisplay.from_estimator(ae, layer=5), "layer must be in 0..3"),
        (lambda: LinkImportanceDisplay.from_estimator(ae, layer=-1), "layer must be in 0..3"),
        (lambda: LinkImportanceDisplay.from_estimator(ae.slim()), "slim"),
        (lambda: ImageMaskDisplay.from_estimator(ae.slim()), "slim"),
        (lambda: ImageMaskDisplay.from_estimator(ae, units=0), "positive int"),
        (lambda: FeatureMaskDisplay.from_estimator(ae, levels=[]), "levels is empty"),
    ]:
        with pytest.raises(ValueError, match=message):
            make()
        assert plt.get_fignums() == []
    # a Pipeline ending in the model (as the CLI saves it) is read through its last step
    pipe = make_pipeline(MinMaxScaler(), ae)
    assert UnitImportanceDisplay.from_estimator(pipe).figure_ is not None
    plt.close("all")
