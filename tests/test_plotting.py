"""Displays: built from a fitted estimator, re-plottable, clear error without matplotlib."""

import sys

import numpy as np
import pytest

from skshapsae import SHAPSparseAutoencoder
from skshapsae.plotting import (
    FeatureMaskDisplay,
    ImageMaskDisplay,
    LinkImportanceDisplay,
    SparsityCurveDisplay,
    UnitImportanceDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 16)) * (rng.uniform(size=16) > 0.3)
    ae = SHAPSparseAutoencoder(
        (6, 3), max_iter=3, n_background=20, n_explain=20, device="cpu", random_state=0
    ).fit(X)
    return X, ae


def test_unit_and_link_displays(images):
    import matplotlib.pyplot as plt

    _, ae = images
    disp = UnitImportanceDisplay.from_estimator(ae)
    assert len(disp.ax_.patches) == 16
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
