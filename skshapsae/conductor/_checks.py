"""Checks the estimator runs before and around the stages: widths, scaling, arguments, scores.

Each raises a ``ValueError`` that says what was wrong and how to fix it, or warns (at
the user's line: :func:`warn`, first below, which every warning of the library goes
through) about data the network will handle poorly. No stage module is imported here:
the memory check, which needs the stages' estimates, is in
:mod:`skshapsae.conductor._config` (:func:`~skshapsae.conductor._config.check_fit_memory`).
"""

import os
import sys
import sysconfig
import warnings
from numbers import Integral

import numpy as np

from ..network._activations import OUTPUT_RANGE

# -- Warnings that point at the user's line, not at the library's.

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__.partition(".")[0]],)  # the whole package
)

#: Python's own library (multiprocessing, concurrent.futures, threading, runpy): the
#: frames a joblib worker or ``python -m`` runs the call from.
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep

_REGISTRY = {}


def _internal_prefixes():
    """skshapsae, and the libraries that call it on the user's behalf (searches, caching,
    parallel workers)."""
    import joblib
    import sklearn

    return (
        *_INTERNAL,
        *(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (sklearn, joblib)),
        _STDLIB,
    )


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first caller outside skshapsae, scikit-learn and joblib.

    In a joblib worker the user's line is in another process: the warning then names
    the worker (``<joblib worker>``) instead of a line of ``multiprocessing``.
    """
    prefixes = _internal_prefixes()
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen ")  # runpy, importlib
        or os.path.abspath(frame.f_code.co_filename).startswith(prefixes)
    ):
        frame, level = frame.f_back, level + 1
    if frame is not None:
        warnings.warn(message, category, stacklevel=level + 1)
        return
    import multiprocessing

    where = "<joblib worker>" if multiprocessing.parent_process() is not None else "<skshapsae>"
    warnings.warn_explicit(message, category, where, 0, module="skshapsae", registry=_REGISTRY)


def warn_not_converged(max_iter, solver, tol):
    """sklearn's ``ConvergenceWarning`` when the training budget ended first."""
    from sklearn.exceptions import ConvergenceWarning

    warn(
        f"Training stopped at max_iter={max_iter} "
        f"{'L-BFGS iterations' if solver == 'lbfgs' else 'epochs'} "
        f"(solver={solver!r}) before the loss converged (tol={tol:g}); the "
        "model is usable but may improve with a larger max_iter.",
        ConvergenceWarning,
    )


def default_hidden_sizes(n_features, n_components=None):
    """``hidden_layer_sizes=None``: the encoder's widths derived from the table's width.

    Without ``n_components``: one layer of ``max(1, n_features // 2)`` units. With a code
    size ``k`` (as ``PCA(n_components=k)``): the code layer alone, ``(k,)``.
    """
    if n_components is None:
        return (max(1, n_features // 2),)
    return (int(n_components),)


def layer_sizes(hidden_layer_sizes, n_features, n_components=None):
    """Widths ``n(0), ..., n(2L)`` of the mirrored network, validated."""
    sizes = hidden_layer_sizes
    if sizes is None:
        if n_components is not None and n_components > n_features:
            raise ValueError(
                f"n_components={n_components} is larger than the number of features "
                f"({n_features}); the code must not be wider than the input."
            )
        sizes = default_hidden_sizes(n_features, n_components)
    elif isinstance(sizes, Integral):
        sizes = (sizes,)
    sizes = list(sizes)
    if len(sizes) == 0:
        raise ValueError(
            "hidden_layer_sizes is empty; give at least one layer width, e.g. (32, 8)."
        )
    for pos, width in enumerate(sizes):
        if not isinstance(width, Integral) or isinstance(width, bool) or width < 1:
            raise ValueError(
                f"hidden_layer_sizes[{pos}] = {width!r} is not a positive integer; "
                "every layer width must be an integer >= 1."
            )
    if sizes[0] > n_features:
        raise ValueError(
            f"hidden_layer_sizes[0] = {sizes[0]} is wider than the input "
            f"(n_features = {n_features}); an encoder's widths must not exceed "
            "the number of features."
        )
    for pos in range(1, len(sizes)):
        if sizes[pos] > sizes[pos - 1]:
            raise ValueError(
                f"hidden_layer_sizes[{pos}] = {sizes[pos]} is larger than "
                f"hidden_layer_sizes[{pos - 1}] = {sizes[pos - 1]}; the encoder's "
                "widths must be non-increasing (the decoder mirrors them)."
            )
    sizes = [int(s) for s in sizes]
    if n_components is not None and hidden_layer_sizes is not None and sizes[-1] != n_components:
        raise ValueError(
            f"n_components={n_components} disagrees with hidden_layer_sizes={sizes}, whose "
            f"last width ({sizes[-1]}) is the code size. Give one of them, or make them agree."
        )
    return [n_features, *sizes, *sizes[-2::-1], n_features]


def warn_scaling(X, out_activation):
    """Warn when X lies outside what ``out_activation`` can produce, or far from unit scale."""
    lo, hi = OUTPUT_RANGE[out_activation]
    x_min, x_max = float(X.min()), float(X.max())
    if x_min < lo - 1e-9 or x_max > hi + 1e-9:
        warn(
            f"out_activation={out_activation!r} outputs values in [{lo:g}, {hi:g}] "
            f"but X has values in [{x_min:.4g}, {x_max:.4g}], which the network cannot "
            "reconstruct. Scale X into that range (for example with MinMaxScaler) or use "
            "out_activation='identity'."
        )
    elif max(abs(x_min), abs(x_max)) > 1e3:
        warn(
            f"X has values up to {max(abs(x_min), abs(x_max)):.4g}; the network trains "
            "best on data of unit scale. Scale X first (StandardScaler, or MinMaxScaler "
            "for a bounded output activation)."
        )


def warn_constant_features(X, names=None):
    """Warn when every column is constant: nothing can be learned.

    Some constant columns are normal (the border pixels of digits, a column constant in
    one fold of a search) and handled: their links get exactly zero importance and are
    pruned. Warning about them made one small search over the level on digits raise 36
    warnings, so only the case where nothing is left is reported.
    """
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if X.shape[0] > 1 and constant.size == X.shape[1]:
        labels = names[constant] if names is not None else constant
        warn(
            f"Constant feature(s) {labels[:10].tolist()} carry no information; their "
            "links get zero importance and are pruned."
        )


def given_scores(scores, shapes):
    """Link scores passed to ``reprune``: one finite, non-negative array per layer."""
    if len(scores) != len(shapes):
        raise ValueError(
            f"scores must hold one array per layer ({len(shapes)}), got {len(scores)}."
        )
    scores = [np.asarray(s, dtype=np.float64) for s in scores]
    for layer, (score, shape) in enumerate(zip(scores, shapes)):
        if score.shape != shape or not np.all(np.isfinite(score)) or (score < 0).any():
            raise ValueError(
                f"scores[{layer}] must be a finite, non-negative array of shape {shape} "
                f"(the shape of dense_weights_[{layer}]); got shape {score.shape}."
            )
    return scores


def keep_counts(counts, sizes):
    """Links to keep per layer: one integer in ``[0, n_links]`` per layer."""
    counts = list(counts)
    if len(counts) != len(sizes) or not all(
        isinstance(c, Integral) and 0 <= c <= n for c, n in zip(counts, sizes)
    ):
        raise ValueError(
            f"keep_counts must hold one integer per layer, between 0 and the layer's "
            f"number of links {sizes}; got {counts}."
        )
    return [int(c) for c in counts]


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def float32_range(X):
    """``X`` itself when its values fit float32 (the network's precision), else an error."""
    if X.size and max(X.max(), -X.min()) > _FLOAT32_MAX:
        cols = np.flatnonzero((np.abs(X) > _FLOAT32_MAX).any(axis=0))
        raise ValueError(
            f"X has values beyond the float32 range (|x| > {_FLOAT32_MAX:.3g}) in "
            f"column(s) {cols[:10].tolist()}; the network computes in float32. "
            "Rescale the data, for example with StandardScaler."
        )
    return X


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def explain_args(layer, max_evals, n_layers, n_features):
    """Check ``explain``'s arguments; returns the model evaluations per row."""
    if layer is not None and not (_is_int(layer) and 0 <= layer < n_layers):
        raise ValueError(
            f"layer must be None (code attributions) or an integer in [0, {n_layers - 1}] "
            f"(a layer of the dense network), got {layer!r}."
        )
    least = 2 * n_features + 1
    if max_evals != "auto" and not (_is_int(max_evals) and max_evals >= least):
        raise ValueError(
            f"max_evals must be 'auto' or an integer >= 2 * n_features + 1 = {least} "
            f"(one antithetic permutation), got {max_evals!r}."
        )
    return least if max_evals == "auto" else max_evals


def n_selected(n_features, n_features_in):
    """Check ``select_features``'s count."""
    if not (_is_int(n_features) and 1 <= n_features <= n_features_in):
        raise ValueError(
            f"n_features must be an integer in [1, {n_features_in}] (the number "
            f"of input columns), got {n_features!r}."
        )
    return n_features


def untracked(X):
    """A torch tensor as numpy, detached from autograd (``requires_grad=True`` included)."""
    if type(X).__module__.split(".")[0] == "torch" and hasattr(X, "detach"):
        return X.detach().cpu().numpy()
    return X


def prune_args(structure, allocation, keep_counts=None):
    """Check that the pruning options go together."""
    if structure == "units" and allocation != "layer":
        raise ValueError(
            "pruning='units' keeps a share of each layer's unit importance; "
            "allocation='global' ranks links."
        )
    if structure == "units" and keep_counts is not None:
        raise ValueError(
            "keep_counts fixes the number of links per layer, which whole units cannot "
            "match; use importance_level or target_sparsity with pruning='units'."
        )


def output_unit(output, width):
    """Check ``explain``'s ``output``: None or a unit of a layer of ``width`` units."""
    if output is not None and not (_is_int(output) and 0 <= output < width):
        raise ValueError(
            f"output must be None or an output unit in [0, {width - 1}], got {output!r}."
        )


def inference_rows(X, estimator):
    """``(X, output dtype)`` for a plain array, validated at numpy speed; else None.

    A plain 2-d float32 / float64 ndarray of the fitted width, the estimator without
    feature names to check: one pass over the data checks that every value is finite and
    within float32's range (the network computes in float32, so a larger float64 value
    would become inf there) -- for float32 rows not under
    ``sklearn.config_context(assume_finite=True)``. ``X`` is not copied: float64 rows are
    rounded to float32 as inference reads them. Anything else, or a failed check, returns
    None and the full ``validate_data`` runs (with its messages). Through
    ``validate_data`` one row cost about as much as the forward pass.
    """
    from sklearn import get_config

    if (
        type(X) is not np.ndarray
        or X.ndim != 2
        or X.dtype not in (np.float32, np.float64)
        or X.shape[0] == 0
        or X.shape[1] != getattr(estimator, "n_features_in_", -1)
        or hasattr(estimator, "feature_names_in_")
    ):
        return None
    if (X.dtype == np.float64 or not get_config()["assume_finite"]) and not _within_float32(X):
        return None  # the full check names the problem (or finds an overflowing sum fine)
    if min(X.strides) < 0:
        X = np.ascontiguousarray(X)
    return X, X.dtype


def _within_float32(X):
    """Whether every value of the 2-d float array ``X`` is finite and within float32's range.

    One pass in numba (0.06 ms for 2,000 x 784 float32 values, where ``np.sum`` took 0.24
    and the float32 copy of float64 rows plus its sum 0.50; on the free cores from 2^22
    values); without numba, the sum of the
    float32 rows (which may overflow where the values do not: then the caller's full
    check decides).
    """
    import math

    try:
        from ..inference._kernels import all_within
    except ImportError:  # pragma: no cover - numba comes with shap
        return math.isfinite(float(X.astype(np.float32, copy=False).sum()))
    from ..network._threads import available_threads

    return all_within(X, float(np.finfo(np.float32).max), available_threads(X.size))


def code_top_k(k, code):
    """``code_top_k`` must leave a choice among the code's ``code`` units."""
    if k is not None and k > code:
        raise ValueError(
            f"code_top_k={k} is wider than the code ({code} units, the last of "
            "hidden_layer_sizes); use at most the code size, or None."
        )


def unit_layer(layer, n_layers):
    """Check ``get_unit_names``' layer: an int in ``[0, n_layers]``; returns it."""
    if not _is_int(layer):
        raise TypeError(
            f"layer must be an integer in [0, {n_layers}] (0: the inputs, {n_layers // 2}: "
            f"the code), got {type(layer).__name__} {layer!r}."
        )
    if not 0 <= layer <= n_layers:
        raise ValueError(
            f"layer must be in [0, {n_layers}] (0: the inputs, {n_layers // 2}: the code, "
            f"{n_layers}: the reconstruction; negative indices are not accepted), got {layer}."
        )
    return int(layer)
