"""Explanations to look at, in the scikit-learn Display style.

Every display follows :class:`sklearn.metrics.ConfusionMatrixDisplay`:
``from_estimator(estimator, ..., ax=None, **kwargs)`` computes and plots,
``plot(*, ax=None, **kwargs)`` re-plots (``ax`` keyword-only, as in scikit-learn),
matplotlib is checked first (``check_matplotlib_support``), styling goes through ``*_kw``
dictionaries passed on to matplotlib (``im_kw``, ``bar_kw``, ``line_kw``), and ``figure_``,
``ax_`` and the artists drawn (``im_``, ``bars_``, ``images_``, ``lines_``, ...) keep the
result. All displays share the small base :class:`_Display`. The displays work on images
and on tables: ``image_shape`` is a parameter, inferred when the number of features is a
square (8 x 8 digits, 28 x 28 MNIST); other data get bar charts and heat maps with the
feature names. matplotlib is an optional dependency: ``pip install "skshapsae[plot]"``.
"""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "UnitImportanceDisplay",
    "LinkImportanceDisplay",
    "ImageMaskDisplay",
    "FeatureMaskDisplay",
    "SparsityCurveDisplay",
    "in_readable_units",
]

#: Feature names are written on the axis up to this many features.
MAX_TICK_LABELS = 60


def _check_matplotlib(caller):
    """sklearn's ``check_matplotlib_support``, naming this package's extra."""
    try:
        check_matplotlib_support(caller)
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with: "
            "pip install 'skshapsae[plot]'"
        ) from None


def in_readable_units(explanation):
    """``(explanation * factor, factor)``: attributions in units that shap's plots can
    write.

    shap's ``bar`` and ``waterfall`` plots write each value with two decimals
    (``"%+0.02f"``), so attributions of a reconstruction error (often about 1e-3) are all
    labelled ``+0``. ``factor`` is 1 when the largest mean absolute value of a column
    (of the one row, for a single row) is at least 0.1, else the power of ten that
    brings it into [1, 10); values and base values are multiplied by it. Name the
    factor on the plot (``ax.set_xlabel(f"... x {factor:g}")``).

    Parameters
    ----------
    explanation : shap.Explanation
        What ``explain`` returned, or a row of it.

    Returns
    -------
    scaled : shap.Explanation
    factor : float

    Examples
    --------
    >>> import numpy as np, shap
    >>> from skshapsae.plotting import in_readable_units
    >>> e = shap.Explanation(values=np.array([[4e-3, -1e-3], [2e-3, 1e-3]]),
    ...                      base_values=np.array([1e-2, 1e-2]))
    >>> scaled, factor = in_readable_units(e)
    >>> factor, scaled.values[0].tolist()
    (1000.0, [4.0, -1.0])
    """
    values = np.abs(np.asarray(explanation.values, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        per_column = values.mean(axis=0) if values.ndim > 1 and len(values) else values
    finite = per_column[np.isfinite(per_column)] if np.ndim(per_column) else per_column
    top = float(np.max(finite)) if np.size(finite) else 0.0
    factor = 1.0 if not 0 < top < 0.1 else float(10.0 ** -np.floor(np.log10(top)))
    return (explanation * factor if factor != 1.0 else explanation), factor


class _Display:
    """Base of the displays, in the style of :class:`sklearn.metrics.ConfusionMatrixDisplay`.

    ``from_estimator`` checks matplotlib first, computes what to draw and calls
    ``plot``; ``plot(*, ax=None, <name>_kw=None)`` checks matplotlib, draws on ``ax`` (a
    new figure when None) and keeps ``figure_``, ``ax_`` and the artists it drew (named
    in each display's Attributes). A new display is a subclass and a line in ``__all__``.
    """

    def _axes(self, ax, panels=1, **subplots):
        """Check matplotlib, then use ``ax`` or a new figure; sets ``figure_`` and ``ax_``.
        ``panels``: the Axes the display draws on; fewer given is an error (panels were
        dropped without a word)."""
        _check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is not None and np.size(ax) < panels:
            raise ValueError(
                f"{type(self).__name__} draws {panels} panels here; ax holds "
                f"{np.size(ax)}. Pass an array of {panels} Axes (plt.subplots(1, "
                f"{panels})[1]) or ax=None for a new figure."
            )
        if ax is None:
            fig, ax = plt.subplots(**subplots)
        else:
            fig = np.ravel(ax)[0].figure
        self.figure_, self.ax_ = fig, ax
        return fig, ax


def _model(estimator, name, needs=(), layer=None, layers=None):
    """The fitted ``SHAPSparseAutoencoder`` a display reads: ``estimator`` itself, or the
    last step of a Pipeline ending in one (as the CLI saves); a clear error where it was
    slimmed of what ``needs`` names or ``layer`` is not one of ``layers(model)``."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    check_is_fitted(estimator)
    missing = [a for a in needs if not hasattr(estimator, a)]
    if missing:
        raise ValueError(
            f"{name} needs {missing[0]}, which slim() dropped with the dense network; "
            "use the estimator before slimming."
        )
    if layer is not None:
        count = layers(estimator)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise TypeError(f"layer must be an int, got {layer!r}.")
        if not 0 <= layer < count:
            raise ValueError(f"layer must be in 0..{count - 1} for this model, got {layer}.")
    return estimator


def _unit_names(estimator, layer):
    names = getattr(estimator, "get_unit_names", None)
    if names is not None:
        return names(layer)
    n = estimator.unit_importances_[layer].shape[0]
    return [f"x{j}" if layer == 0 else f"h{layer}_{j}" for j in range(n)]


def infer_image_shape(n_features, image_shape="auto"):
    """The image shape of ``n_features`` inputs, or None for a tabular plot.

    ``image_shape`` as the displays take it: a tuple (checked against ``n_features``),
    ``"auto"`` (``(s, s)`` when ``n_features = s * s >= 16``, else None) or None.
    """
    if image_shape is None:
        return None
    if isinstance(image_shape, str) and image_shape == "auto":
        side = int(round(np.sqrt(n_features)))
        return (side, side) if side * side == n_features and n_features >= 16 else None
    image_shape = tuple(int(n) for n in image_shape)
    if int(np.prod(image_shape)) != n_features:
        raise ValueError(
            f"image_shape={image_shape} holds {int(np.prod(image_shape))} pixels but the "
            f"data has {n_features} features; pass a shape whose product is "
            f"{n_features}, or image_shape=None for a tabular plot."
        )
    return image_shape


def _side_legend(ax, handles):
    """A legend beside a heat map, clear of its feature names."""
    return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)


def _ticks(ax, names, axis="x"):
    if len(names) > MAX_TICK_LABELS:
        return
    if axis == "x":
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
    else:
        ax.set_yticks(range(len(names)), names, fontsize=8)


class UnitImportanceDisplay(_Display):
    """Unit importances of one layer (eq. 4); layer 0 = the input features'
    ``feature_importances_``.

    A bar chart with the unit names, or, for input features that form an image, the
    importance of every pixel as a heat map with a colour bar.

    Parameters
    ----------
    importances : ndarray of shape (n_units,)
        Unit importances.
    names : list of str
        Unit names (feature names for layer 0).
    layer : int, default=0
        The layer the units belong to.
    image_shape : tuple of int or None, default=None
        Draw layer-0 importances as an image of this shape.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    im_ : AxesImage or None
        The image (image-shaped features).
    colorbar_ : Colorbar or None
    bars_ : BarContainer or None
        The bars (tabular features or hidden units).
    """

    def __init__(self, importances, names, layer=0, image_shape=None):
        self.importances = importances
        self.names = names
        self.layer = layer
        self.image_shape = image_shape

    @classmethod
    def from_estimator(cls, estimator, *, layer=0, image_shape="auto", ax=None, **kwargs):
        """Plot ``estimator.unit_importances_[layer]`` (``feature_importances_`` for layer 0).

        Parameters
        ----------
        estimator : SHAPSparseAutoencoder
            A fitted estimator.
        layer : int, default=0
            Layer whose units are shown (0: the input features).
        image_shape : tuple of int, "auto" or None, default="auto"
            For layer 0: draw the features as an image of this shape; "auto" infers a
            square image (at least 4 x 4), None always draws bars.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : UnitImportanceDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        estimator = _model(
            estimator, cls.__name__, layer=layer, layers=lambda m: len(m.unit_importances_)
        )
        imp = estimator.feature_importances_ if layer == 0 else estimator.unit_importances_[layer]
        shape = infer_image_shape(len(imp), image_shape) if layer == 0 else None
        return cls(imp, _unit_names(estimator, layer), layer, shape).plot(ax=ax, **kwargs)

    def plot(self, *, ax=None, order="importance", bar_kw=None, im_kw=None):
        """Draw the importances.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        order : {"importance", "input"}, default="importance"
            Bars from the most to the least important unit, or in the units' order.
        bar_kw : dict, default=None
            Passed to ``ax.bar`` (tabular data).
        im_kw : dict, default=None
            Passed to ``ax.imshow`` (images).

        Returns
        -------
        display : UnitImportanceDisplay
        """
        if order not in ("importance", "input"):  # before a figure is opened
            raise ValueError(f"order must be 'importance' or 'input', got {order!r}.")
        self._axes(ax)
        self.im_ = self.colorbar_ = self.bars_ = None
        label = "feature importance (share)" if self.layer == 0 else "unit importance (mean |SHAP|)"
        if self.image_shape is not None:
            kw = {"cmap": "magma", **(im_kw or {})}
            self.im_ = self.ax_.imshow(np.reshape(self.importances, self.image_shape), **kw)
            self.colorbar_ = self.figure_.colorbar(self.im_, ax=self.ax_, label=label)
            self.ax_.set_axis_off()
        else:
            importances = np.asarray(self.importances)
            rank = (
                np.argsort(-importances, kind="stable")
                if order == "importance"
                else np.arange(len(importances))
            )
            kw = {"color": "tab:blue", **(bar_kw or {})}
            self.bars_ = self.ax_.bar(range(len(rank)), importances[rank], **kw)
            _ticks(self.ax_, [self.names[j] for j in rank])
            self.ax_.set_ylabel(label)
        self.ax_.set_title("feature importances" if self.layer == 0 else f"layer {self.layer}")
        return self


class LinkImportanceDisplay(_Display):
    """Link importances of one layer: heatmap (Figure 2c) and per-input variance (2b).

    Parameters
    ----------
    importances : ndarray of shape (n_out, n_in)
        Link importances.
    mask : ndarray of bool of the same shape, or None
        Kept links, outlined in the heatmap.
    input_names : list of str
        Names of the layer's inputs.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    im_ : AxesImage or None
        The heat map.
    colorbar_ : Colorbar or None
    bars_ : BarContainer or None
        The variance bars.
    """

    def __init__(self, importances, mask, input_names):
        self.importances = importances
        self.mask = mask
        self.input_names = input_names

    @classmethod
    def from_estimator(cls, estimator, *, layer=0, kind="heatmap", ax=None, **kwargs):
        """Plot layer ``layer``'s link importances as a ``"heatmap"`` or their ``"variance"``.

        Parameters
        ----------
        estimator : SHAPSparseAutoencoder
            A fitted estimator.
        layer : int, default=0
            Weight layer.
        kind : {"heatmap", "variance"}, default="heatmap"
            What to draw.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : LinkImportanceDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        estimator = _model(
            estimator,
            cls.__name__,
            needs=("link_importances_",),
            layer=layer,
            layers=lambda m: len(m.link_masks_),
        )
        imp = estimator.link_importances_[layer]
        disp = cls(imp, estimator.link_masks_[layer], _unit_names(estimator, layer))
        return disp.plot(kind=kind, ax=ax, **kwargs)

    def plot(self, *, kind="heatmap", ax=None, im_kw=None, bar_kw=None):
        """Draw the heatmap (kept links outlined in white) or the per-input variance.

        Parameters
        ----------
        kind : {"heatmap", "variance"}, default="heatmap"
            What to draw.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        im_kw, bar_kw : dict, default=None
            Passed to ``ax.imshow`` / ``ax.bar``.

        Returns
        -------
        display : LinkImportanceDisplay
        """
        if kind not in ("heatmap", "variance"):
            raise ValueError(f"kind must be 'heatmap' or 'variance', got {kind!r}.")
        self._axes(ax)
        self.im_ = self.colorbar_ = self.bars_ = None
        if kind == "heatmap":
            kw = {"cmap": "viridis", "aspect": "auto", **(im_kw or {})}
            self.im_ = im = self.ax_.imshow(self.importances, **kw)
            if self.mask is not None:
                rows, cols = np.nonzero(self.mask)
                self.ax_.scatter(
                    cols, rows, marker="s", facecolors="none", edgecolors="w", s=60, label="kept"
                )
            self.colorbar_ = self.figure_.colorbar(im, ax=self.ax_, label="link importance")
            self.ax_.set_ylabel("output unit")
            self.ax_.set_title("link importances (white: kept)")
        else:
            kw = {"color": "tab:orange", **(bar_kw or {})}
            self.bars_ = self.ax_.bar(
                range(self.importances.shape[1]), self.importances.var(axis=0), **kw
            )
            self.ax_.set_ylabel("variance of LI over output units")
            self.ax_.set_title("variance of link importance")
        _ticks(self.ax_, self.input_names)
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


def _mask_colours():
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap(["#bdbdbd", "#2166ac"])
    legend = [Patch(color="#2166ac", label="kept"), Patch(color="#bdbdbd", label="pruned")]
    return cmap, legend


class ImageMaskDisplay(_Display):
    """Per code unit, the inputs it sees through kept links, or its importance map.

    For a deeper encoder the mask is "some kept path from the input to the unit" and the
    importance map is the product of the link-importance matrices along the way. Images
    get one panel per code unit; tables get one heat map (code units x features).

    Parameters
    ----------
    maps : ndarray of shape (n_units, n_features)
        Boolean masks or importance maps.
    image_shape : tuple of int or None
        Shape of one input image; None for tabular data.
    what : {"mask", "importance"}, default="mask"
        What ``maps`` hold.
    names : list of str or None, default=None
        Feature names (tabular data).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes or ndarray of Axes
    images_ : list of AxesImage
        One per panel (one heat map for tables).
    legend_ : Legend or None
    colorbar_ : Colorbar or None
    """

    def __init__(self, maps, image_shape, what="mask", names=None):
        self.maps = maps
        self.image_shape = image_shape
        self.what = what
        self.names = names

    @classmethod
    def from_estimator(
        cls, estimator, *, image_shape="auto", what="mask", units=None, ax=None, **kwargs
    ):
        """Masks (or importance maps) of the first ``units`` code units (default up to 16).

        Parameters
        ----------
        estimator : SHAPSparseAutoencoder
            A fitted estimator.
        image_shape : tuple of int, "auto" or None, default="auto"
            Shape of one input image; "auto" infers a square, None draws a heat map.
        what : {"mask", "importance"}, default="mask"
            Kept paths, or the product of link importances along them.
        units : int or None, default=None
            Number of code units shown.
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ImageMaskDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        if what not in ("mask", "importance"):
            raise ValueError(f"what must be 'mask' or 'importance', got {what!r}.")
        if units is not None and (
            isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1
        ):
            raise ValueError(f"units must be a positive int or None, got {units!r}.")
        estimator = _model(estimator, cls.__name__, needs=("link_importances_",))
        mask, imp = _input_maps(estimator)
        maps = mask if what == "mask" else imp
        units = min(16, len(maps)) if units is None else units
        shape = infer_image_shape(maps.shape[1], image_shape)
        names = _unit_names(estimator, 0)
        return cls(maps[:units], shape, what, names).plot(ax=ax, **kwargs)

    def plot(self, *, ax=None, im_kw=None):
        """Draw the maps, with a legend (masks) or a colour bar (importances).

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw.
        im_kw : dict, default=None
            Passed to ``ax.imshow``.

        Returns
        -------
        display : ImageMaskDisplay
        """
        n = len(self.maps)
        if self.what == "mask":
            cmap, legend = _mask_colours()
            kw = {"cmap": cmap, "vmin": 0, "vmax": 1, **(im_kw or {})}
        else:
            legend, kw = None, {"cmap": "magma", **(im_kw or {})}
        if self.image_shape is None:  # tabular: one heat map, units x features
            self._axes(ax, figsize=(max(6, 0.22 * self.maps.shape[1] + 2), 3.5))
            im = self.ax_.imshow(np.asarray(self.maps, float), aspect="auto", **kw)
            self.images_ = [im]
            _ticks(self.ax_, self.names or [])
            self.ax_.set_yticks(range(n), [f"code {k + 1}" for k in range(n)], fontsize=8)
            self.ax_.set_xlabel("input feature")
            targets = self.ax_
        else:
            cols = int(np.ceil(np.sqrt(n)))
            rows = int(np.ceil(n / cols))
            self._axes(
                ax,
                panels=n,
                nrows=rows,
                ncols=cols,
                figsize=(2.2 * cols + 1.2, 2.2 * rows + 0.6),
                squeeze=False,
            )
            im, self.images_ = None, []
            for k, axis in enumerate(np.ravel(self.ax_)):
                axis.set_axis_off()
                if k < n:
                    im = axis.imshow(
                        np.reshape(np.asarray(self.maps[k], float), self.image_shape), **kw
                    )
                    self.images_.append(im)
                    empty = self.what == "mask" and not np.any(self.maps[k])
                    axis.set_title(
                        f"code unit {k + 1}" + (" (removed)" if empty else ""), fontsize=10
                    )
            targets = np.ravel(self.ax_).tolist()
        title = "inputs reaching each code unit" if self.what == "mask" else "path importance"
        self.figure_.suptitle(title, fontsize=11)
        self.legend_ = self.colorbar_ = None
        if legend is not None and self.image_shape is None:
            self.legend_ = _side_legend(self.ax_, legend)
        elif legend is not None:
            self.legend_ = self.figure_.legend(
                handles=legend, loc="lower center", ncol=2, fontsize=9
            )
        elif im is not None:
            self.colorbar_ = self.figure_.colorbar(im, ax=targets, label="path importance")
        return self


class FeatureMaskDisplay(_Display):
    """Figure 4: which inputs survive at each importance level.

    Images get one panel per level (pruned pixels grey, kept ones shown, or drawn from
    ``image``); tables get one heat map (levels x features) with the feature names.

    Parameters
    ----------
    masks : list of ndarray of bool, one per level
        Surviving inputs.
    levels : list of float
        Importance levels.
    sparsities : list of float
        Sparsity of the network at each level.
    image_shape : tuple of int or None
        Shape of one input image; None for tabular data.
    image : ndarray or None, default=None
        A sample image drawn under the kept pixels.
    names : list of str or None, default=None
        Feature names (tabular data).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes or ndarray of Axes
    images_ : list of AxesImage
        One per level (one heat map for tables).
    legend_ : Legend
    """

    def __init__(self, masks, levels, sparsities, image_shape, image=None, names=None):
        self.masks = masks
        self.levels = levels
        self.sparsities = sparsities
        self.image_shape = image_shape
        self.image = image
        self.names = names

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        levels=(0.5, 0.8, 0.9, 0.95),
        image_shape="auto",
        image=None,
        ax=None,
        **kwargs,
    ):
        """Re-prune ``estimator`` at each level (no retraining) and show its input masks.

        Parameters
        ----------
        estimator : SHAPSparseAutoencoder
            A fitted estimator (with its dense network: not slimmed).
        levels : sequence of float, default=(0.5, 0.8, 0.9, 0.95)
            Importance levels.
        image_shape : tuple of int, "auto" or None, default="auto"
            Shape of one input image; "auto" infers a square, None draws a heat map.
        image : array-like or None, default=None
            A sample drawn under the kept pixels (images only).
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : FeatureMaskDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        if len(levels) == 0:
            raise ValueError("levels is empty; pass at least one importance level.")
        estimator = _model(estimator, cls.__name__)
        models = [estimator.reprune(m) for m in levels]
        shape = infer_image_shape(len(models[0].active_units_[0]), image_shape)
        return cls(
            [m.active_units_[0] for m in models],
            list(levels),
            [m.sparsity_ for m in models],
            shape,
            image,
            _unit_names(estimator, 0),
        ).plot(ax=ax, **kwargs)

    def plot(self, *, ax=None, im_kw=None):
        """Draw the masks, with a legend saying what the colours mean.

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw.
        im_kw : dict, default=None
            Passed to ``ax.imshow``.

        Returns
        -------
        display : FeatureMaskDisplay
        """
        from matplotlib.patches import Patch

        n = len(self.masks)
        cmap, legend = _mask_colours()
        if self.image_shape is None:  # tabular: levels x features
            width = len(self.masks[0])
            self._axes(ax, figsize=(max(6, 0.22 * width + 2), 1.2 + 0.45 * n))
            kw = {"cmap": cmap, "vmin": 0, "vmax": 1, "aspect": "auto", **(im_kw or {})}
            self.images_ = [self.ax_.imshow(np.asarray(self.masks, float), **kw)]
            _ticks(self.ax_, self.names or [])
            labels = [f"m={m:g} (eta={e:.2f})" for m, e in zip(self.levels, self.sparsities)]
            self.ax_.set_yticks(range(n), labels, fontsize=8)
            self.ax_.set_xlabel("input feature")
            self.ax_.set_title("input layer: features kept at each importance level")
        else:
            self._axes(ax, panels=n, ncols=n, figsize=(3.0 * n, 3.6), squeeze=False)
            self.images_ = []
            for axis, mask, level, eta in zip(
                np.ravel(self.ax_), self.masks, self.levels, self.sparsities
            ):
                if self.image is None:
                    kw = {"cmap": cmap, "vmin": 0, "vmax": 1, **(im_kw or {})}
                    shown = np.reshape(np.asarray(mask, float), self.image_shape)
                else:
                    shown = np.where(mask, np.ravel(self.image), np.nan)
                    kw = {"cmap": "gray_r", **(im_kw or {})}
                    axis.set_facecolor("#bdbdbd")
                    shown = np.reshape(shown, self.image_shape)
                self.images_.append(axis.imshow(shown, **kw))
                axis.set_title(f"m={level:g}, eta={eta:.2f}", fontsize=10)
                axis.set_xticks([])
                axis.set_yticks([])
            if self.image is not None:
                legend = [
                    Patch(color="black", label="kept input (sample image)"),
                    Patch(color="#bdbdbd", label="pruned input"),
                ]
        if self.image_shape is None:  # beside the heat map, clear of the feature names
            self.legend_ = _side_legend(self.ax_, legend)
        else:
            self.legend_ = self.figure_.legend(
                handles=legend, loc="lower center", ncol=2, fontsize=9
            )
            if ax is None:
                self.figure_.suptitle("input layer: pixels kept at each importance level")
                self.figure_.subplots_adjust(bottom=0.12, top=0.85, wspace=0.05)
        return self


class SparsityCurveDisplay(_Display):
    """Sparsity versus importance level, and downstream score versus sparsity (Figure 3).

    Parameters
    ----------
    levels, sparsities : ndarray
        Importance levels and the sparsity at each.
    scores : ndarray or None, default=None
        Downstream score of the model pruned at each level.
    score_name : str, default="score"
        Label of the score axis.
    score_errors : ndarray or None, default=None
        Standard deviation of each score (over splits or seeds), drawn as error bars.
    baseline : float or None, default=None
        A reference score (the majority class's accuracy, say), drawn as a dashed
        horizontal line on the score axis, so that scores at or below it are seen as such;
        one so far from the scores that the axis would be more than 4 times their range
        (at least 0.05) is written in a corner instead, so that the scores keep their
        resolution.
    baseline_name : str, default="majority class"
        The baseline's label in the legend.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : ndarray of matplotlib Axes
    lines_ : list of Line2D
        The sparsity curve, then the score curve.
    baseline_line_ : Line2D or None
        The baseline's line (None without ``baseline`` or ``scores``, or far from them).
    baseline_text_ : Text or None
        The baseline's note when it is far from the scores.
    """

    def __init__(
        self,
        levels,
        sparsities,
        scores=None,
        score_name="score",
        score_errors=None,
        baseline=None,
        baseline_name="majority class",
    ):
        self.levels = levels
        self.sparsities = sparsities
        self.scores = scores
        self.score_name = score_name
        self.score_errors = score_errors
        self.baseline = baseline
        self.baseline_name = baseline_name

    @classmethod
    def from_estimator(
        cls, estimator, *, levels=None, scorer=None, score_name="score", X=None, ax=None, **kwargs
    ):
        """Sparsity at each level and, with ``scorer(model) -> float``, a score per level.

        Parameters
        ----------
        estimator : SHAPSparseAutoencoder
            A fitted estimator.
        levels : array-like of float or None, default=None
            Importance levels (default: 20 from 0.05 to 1).
        scorer : callable or None, default=None
            Scores the model re-pruned at each level.
        score_name : str, default="score"
            Label of the score axis.
        X : array-like or None, default=None
            Training data, so that each re-pruned model is fine-tuned as in ``fit``.
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : SparsityCurveDisplay
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        estimator = _model(estimator, cls.__name__)
        levels, eta = estimator.sparsity_curve(levels)
        scores = None
        if scorer is not None:
            scores = np.array([scorer(estimator.reprune(m, X=X)) for m in levels])
        return cls(levels, eta, scores, score_name).plot(ax=ax, **kwargs)

    def _draw_baseline(self, ax, low, high):
        """The baseline as a dashed line when it is near the scores (the axis then takes
        it in); far from them, as a note in the corner, so that the scores keep their
        resolution (digits: accuracy 0.97 against a majority class of 0.10): near means
        that taking it in at most quadruples the axis's range (at least 0.05)."""
        baseline, span = float(self.baseline), max(0.05, high - low)
        if max(high, baseline) - min(low, baseline) <= 4 * span:
            self.baseline_line_ = ax.axhline(
                baseline, color="tab:red", linestyle="--", zorder=3, label=self.baseline_name
            )
            ax.legend(loc="best", fontsize="small")
            return min(low, baseline), max(high, baseline)
        where = "below" if baseline < low else "above"
        self.baseline_text_ = ax.text(
            0.02,
            0.03 if where == "below" else 0.93,
            f"{self.baseline_name}: {baseline:.3f} ({where} the axis)",
            transform=ax.transAxes,
            color="tab:red",
            fontsize="small",
        )
        return low, high

    def plot(self, *, ax=None, line_kw=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw.
        line_kw : dict, default=None
            Passed to ``ax.plot``.

        Returns
        -------
        display : SparsityCurveDisplay
        """
        ncols = 1 if self.scores is None else 2
        self._axes(ax, panels=ncols, ncols=ncols, figsize=(4.5 * ncols, 3.5), squeeze=False)
        axes = np.ravel(self.ax_)
        kw = {"marker": "o", **(line_kw or {})}
        self.lines_ = axes[0].plot(self.levels, self.sparsities, **kw)
        axes[0].set_xlabel("importance level m")
        axes[0].set_ylabel("sparsity eta")
        self.baseline_line_ = self.baseline_text_ = None
        if self.scores is not None:
            if self.score_errors is None:
                self.lines_ += axes[1].plot(
                    self.sparsities, self.scores, **{"color": "tab:green", **kw}
                )
            else:
                bars = axes[1].errorbar(
                    self.sparsities,
                    self.scores,
                    yerr=self.score_errors,
                    capsize=3,
                    **{"color": "tab:green", **kw},
                )
                self.lines_.append(bars.lines[0])
            axes[1].set_xlabel("sparsity eta")
            axes[1].set_ylabel(self.score_name)
            # at least 5 points of range, so that differences smaller than that are not
            # drawn as a trend
            errors = 0 if self.score_errors is None else np.asarray(self.score_errors)
            low = float(np.min(np.asarray(self.scores) - errors))
            high = float(np.max(np.asarray(self.scores) + errors))
            if self.baseline is not None:
                low, high = self._draw_baseline(axes[1], low, high)
            pad = max(0.0, 0.05 - (high - low)) / 2 + 0.005
            axes[1].set_ylim(low - pad, high + pad)
        return self
