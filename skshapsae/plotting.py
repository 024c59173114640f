"""Explanations to look at, in the scikit-learn Display style.

Every display has ``from_estimator(...)`` (compute and plot) and ``plot(ax=...)``
(re-plot), and keeps ``figure_`` and ``ax_``. matplotlib is an optional dependency:
``pip install "skshapsae[plot]"``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "UnitImportanceDisplay",
    "LinkImportanceDisplay",
    "ImageMaskDisplay",
    "FeatureMaskDisplay",
    "SparsityCurveDisplay",
]


def _axes(ax, name, **subplots):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{name} needs matplotlib, which is not installed. Install it with: "
            "pip install 'skshapsae[plot]'"
        ) from exc

    if ax is None:
        fig, ax = plt.subplots(**subplots)
    else:
        fig = np.ravel(ax)[0].figure
    return fig, ax


class UnitImportanceDisplay:
    """Bar chart of the unit importances of one layer (eq. 4); layer 0 = input features.

    Parameters
    ----------
    importances : ndarray of shape (n_units,)
    names : list of str
    layer : int
    """

    def __init__(self, importances, names, layer=0):
        self.importances = importances
        self.names = names
        self.layer = layer

    @classmethod
    def from_estimator(cls, estimator, *, layer=0, ax=None):
        """Plot ``estimator.unit_importances_[layer]`` with feature names when known."""
        check_is_fitted(estimator)
        imp = estimator.unit_importances_[layer]
        return cls(imp, estimator.get_unit_names(layer), layer).plot(ax=ax)

    def plot(self, ax=None):
        self.figure_, self.ax_ = _axes(ax, "UnitImportanceDisplay")
        self.ax_.bar(range(len(self.importances)), self.importances, color="tab:blue")
        self.ax_.set_xticks(range(len(self.importances)), self.names, rotation=90)
        self.ax_.set_ylabel("unit importance (mean |SHAP|)")
        self.ax_.set_title("feature importances" if self.layer == 0 else f"layer {self.layer}")
        return self


class LinkImportanceDisplay:
    """Link importances of one layer: heatmap (Figure 2c) and per-input variance (2b).

    Parameters
    ----------
    importances : ndarray of shape (n_out, n_in)
    mask : ndarray of bool, same shape, or None
    input_names : list of str
    """

    def __init__(self, importances, mask, input_names):
        self.importances = importances
        self.mask = mask
        self.input_names = input_names

    @classmethod
    def from_estimator(cls, estimator, *, layer=0, kind="heatmap", ax=None):
        """Plot layer ``layer``'s link importances as a ``"heatmap"`` or their ``"variance"``."""
        check_is_fitted(estimator)
        imp = estimator.link_importances_[layer]
        disp = cls(imp, estimator.link_masks_[layer], estimator.get_unit_names(layer))
        return disp.plot(kind=kind, ax=ax)

    def plot(self, kind="heatmap", ax=None):
        self.figure_, self.ax_ = _axes(ax, "LinkImportanceDisplay")
        n_in = self.importances.shape[1]
        if kind == "heatmap":
            im = self.ax_.imshow(self.importances, cmap="viridis", aspect="auto")
            if self.mask is not None:
                rows, cols = np.nonzero(self.mask)
                self.ax_.scatter(cols, rows, marker="s", facecolors="none", edgecolors="w", s=60)
            self.figure_.colorbar(im, ax=self.ax_, label="link importance")
            self.ax_.set_ylabel("output unit")
            self.ax_.set_title("link importances (white: kept)")
        elif kind == "variance":
            self.ax_.bar(range(n_in), self.importances.var(axis=0), color="tab:orange")
            self.ax_.set_ylabel("variance of LI over output units")
            self.ax_.set_title("variance of link importance")
        else:
            raise ValueError(f"kind must be 'heatmap' or 'variance', got {kind!r}.")
        if n_in <= 40:
            self.ax_.set_xticks(range(n_in), self.input_names, rotation=90)
        self.ax_.set_xlabel("input unit")
        return self


def _input_maps(estimator):
    """Boolean kept-path mask and path importance from the inputs to each code unit."""
    L = len(estimator.link_masks_) // 2
    mask = estimator.link_masks_[0].astype(float)
    imp = estimator.link_importances_[0]
    for layer in range(1, L):
        mask = (estimator.link_masks_[layer].astype(float) @ mask) > 0
        imp = estimator.link_importances_[layer] @ imp
    return np.asarray(mask, dtype=bool), imp


class ImageMaskDisplay:
    """Per code unit, the input pixels it sees through kept links, or its importance map.

    For a deeper encoder the mask is "some kept path from the pixel to the unit" and the
    importance map is the product of the link-importance matrices along the way.

    Parameters
    ----------
    maps : ndarray of shape (n_units, n_features)
    image_shape : tuple of int
    """

    def __init__(self, maps, image_shape, what="mask"):
        self.maps = maps
        self.image_shape = image_shape
        self.what = what

    @classmethod
    def from_estimator(cls, estimator, *, image_shape=(28, 28), what="mask", units=None, ax=None):
        """Grid of the first ``units`` code units (default up to 16)."""
        check_is_fitted(estimator)
        mask, imp = _input_maps(estimator)
        maps = mask if what == "mask" else imp
        units = min(16, len(maps)) if units is None else units
        return cls(maps[:units], image_shape, what).plot(ax=ax)

    def plot(self, ax=None):
        n = len(self.maps)
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        self.figure_, self.ax_ = _axes(
            ax,
            "ImageMaskDisplay",
            nrows=rows,
            ncols=cols,
            figsize=(1.6 * cols, 1.6 * rows),
            squeeze=False,
        )
        cmap = "gray" if self.what == "mask" else "magma"
        for k, axis in enumerate(np.ravel(self.ax_)):
            axis.set_axis_off()
            if k < n:
                axis.imshow(self.maps[k].reshape(self.image_shape), cmap=cmap)
                axis.set_title(f"code {k + 1}", fontsize=8)
        return self


class FeatureMaskDisplay:
    """Figure 4: which input pixels survive at each importance level (grey: pruned).

    Parameters
    ----------
    masks : list of ndarray of bool, one per level
    levels : list of float
    sparsities : list of float
    image : ndarray or None
        A sample image drawn under the kept pixels.
    """

    def __init__(self, masks, levels, sparsities, image_shape, image=None):
        self.masks = masks
        self.levels = levels
        self.sparsities = sparsities
        self.image_shape = image_shape
        self.image = image

    @classmethod
    def from_estimator(
        cls, estimator, *, levels=(0.5, 0.8, 0.9, 0.95), image_shape=(28, 28), image=None, ax=None
    ):
        """Re-prune ``estimator`` at each level (no retraining) and show its input masks."""
        check_is_fitted(estimator)
        models = [estimator.reprune(m) for m in levels]
        return cls(
            [m.active_units_[0] for m in models],
            list(levels),
            [m.sparsity_ for m in models],
            image_shape,
            image,
        ).plot(ax=ax)

    def plot(self, ax=None):
        n = len(self.masks)
        self.figure_, self.ax_ = _axes(
            ax, "FeatureMaskDisplay", ncols=n, figsize=(3.0 * n, 3.3), squeeze=False
        )
        for axis, mask, level, eta in zip(
            np.ravel(self.ax_), self.masks, self.levels, self.sparsities
        ):
            shown = np.where(mask, 1.0 if self.image is None else self.image, 0.5)
            axis.imshow(shown.reshape(self.image_shape), cmap="gray", vmin=0, vmax=1)
            axis.set_title(f"m={level:g}, eta={eta:.2f}", fontsize=9)
            axis.set_axis_off()
        return self


class SparsityCurveDisplay:
    """Sparsity versus importance level, and downstream score versus sparsity (Figure 3).

    Parameters
    ----------
    levels, sparsities : ndarray
    scores : ndarray or None
        Downstream score of the model pruned at each level.
    """

    def __init__(self, levels, sparsities, scores=None, score_name="score"):
        self.levels = levels
        self.sparsities = sparsities
        self.scores = scores
        self.score_name = score_name

    @classmethod
    def from_estimator(
        cls, estimator, *, levels=None, scorer=None, score_name="score", X=None, ax=None
    ):
        """``scorer(model) -> float``, when given, scores the model re-pruned at each level.

        ``X`` (the training data) lets each re-pruned model be fine-tuned as in ``fit``.
        """
        check_is_fitted(estimator)
        levels, eta = estimator.sparsity_curve(levels)
        scores = None
        if scorer is not None:
            scores = np.array([scorer(estimator.reprune(m, X=X)) for m in levels])
        return cls(levels, eta, scores, score_name).plot(ax=ax)

    def plot(self, ax=None):
        ncols = 1 if self.scores is None else 2
        self.figure_, self.ax_ = _axes(
            ax, "SparsityCurveDisplay", ncols=ncols, figsize=(4.5 * ncols, 3.5), squeeze=False
        )
        axes = np.ravel(self.ax_)
        axes[0].plot(self.levels, self.sparsities, marker="o")
        axes[0].set_xlabel("importance level m")
        axes[0].set_ylabel("sparsity eta")
        if self.scores is not None:
            axes[1].plot(self.sparsities, self.scores, marker="o", color="tab:green")
            axes[1].set_xlabel("sparsity eta")
            axes[1].set_ylabel(self.score_name)
        return self
