"""Dask collections in inference: lazy results computed block by block on the workers.

``transform``, ``inverse_transform`` and ``explain`` of a Dask array or Dask DataFrame
return a lazy Dask collection; ``score`` returns a float reduced on the workers. Each
block runs the estimator's own in-memory method on its rows (a NumPy block, or a pandas
partition), so validation (finiteness, float32 range, dtype) and values are those of the
in-memory path; what can be checked without reading the data (the number of columns,
the feature names, the dtype, the arguments) is checked at once, on the collection's
metadata.

The model travels once per worker: a copy of the fitted estimator (``slim()`` for
``transform``, ``inverse_transform`` and ``score``; the full estimator for ``explain``)
is wrapped in ``dask.delayed(..., pure=True)``, so it is one key of the graph that every
block's task depends on, not an argument pickled into every task. A worker receives it
once, keeps it while the graph runs, and builds its inference plan once (the plan cache
of :mod:`skshapsae.inference._inference` is keyed on that object).

Nothing here imports Dask unless a Dask collection comes in (:func:`is_dask_collection`
looks at ``sys.modules`` first).
"""

import contextlib
import copy
import functools
import sys
import threading

import numpy as np

__all__ = [
    "is_dask_collection",
    "lazy_explain",
    "lazy_inference",
    "lazy_on_dask",
    "lazy_score",
]


def is_dask_collection(X):
    """Whether ``X`` is a Dask collection (without importing Dask when it was not)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def _is_frame(X):
    if not type(X).__module__.startswith("dask.dataframe"):
        return False
    import dask.dataframe as dd

    return isinstance(X, dd.DataFrame)


def lazy_on_dask(method):
    """Wrap ``transform`` / ``fit_transform`` so that a Dask collection gets a lazy result.

    Applied to the class after scikit-learn's ``set_output`` wrapper, which would
    otherwise turn the lazy result into a pandas DataFrame (computing it in the client):
    Dask input takes this path and never reaches that wrapper.
    """
    name = method.__name__

    @functools.wraps(method)
    def wrapped(self, X, *args, **kwargs):
        if not is_dask_collection(X):
            return method(self, X, *args, **kwargs)
        if name == "fit_transform":
            return self.fit(X, *args, **kwargs).transform(X)
        return lazy_inference(self, X, "transform")

    return wrapped


# ---------------------------------------------------------------------------- checks
def _output_container(estimator):
    """``"default"`` or ``"pandas"`` from ``set_output``; anything else is refused."""
    from sklearn.utils._set_output import _get_output_config

    container = _get_output_config("transform", estimator)["dense"]
    if container not in ("default", "pandas"):
        raise ValueError(
            f"set_output(transform={container!r}) has no Dask counterpart; with a Dask "
            "collection use set_output(transform='pandas') for a Dask DataFrame or "
            "'default' for a Dask array."
        )
    return container


def _check_collection(X, n_columns, what, expected):
    """Refuse, on metadata, what cannot be a table of ``n_columns`` numeric columns."""
    if _is_frame(X):
        dtypes = list(X.dtypes)
        width = len(dtypes)
    elif hasattr(X, "blocks") and hasattr(X, "numblocks"):
        if X.ndim != 2:
            raise ValueError(
                f"{what} expects a 2-d Dask array, got {X.ndim} dimension(s); reshape it "
                "to (n_samples, n_features)."
            )
        dtypes, width = [X.dtype], X.shape[1]
    else:
        raise TypeError(
            f"{what} takes a Dask array or a Dask DataFrame, got {type(X).__name__}; "
            "convert it (a Series with .to_frame(), a bag with .to_dataframe())."
        )
    bad = [str(d) for d in dtypes if getattr(d, "kind", "O") not in "biuf"]
    if bad:
        raise ValueError(
            f"{what} needs numeric columns, but X has dtype(s) {sorted(set(bad))}; select "
            "or encode the numeric columns first."
        )
    if width != n_columns:
        raise ValueError(f"X has {width} columns, but {what} expects {n_columns} ({expected}).")
    return "float32" if all(np.dtype(d) == np.float32 for d in dtypes) else "float64"


def _rows(X):
    """A Dask array of whole rows: a frame's values, one chunk across the columns."""
    if _is_frame(X):
        X = X.to_dask_array()
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X


def _worker_copy(estimator, *, full, output, names):
    """The copy of the model that travels to the workers, as one key of the graph.

    ``full``: the whole estimator (``explain`` needs the dense network and background),
    else ``slim()``. ``output``: the copy's own ``set_output`` container, whatever the
    client's global configuration. ``names``: keep ``feature_names_in_`` (blocks are
    named pandas partitions), else drop it (NumPy blocks, whose names were checked
    here, would warn in every block).
    """
    import dask

    model = copy.copy(estimator) if full else estimator.slim()
    vars(model)["_sklearn_output_config"] = {"transform": output}  # not the shared dict
    if not names:
        vars(model).pop("feature_names_in_", None)
    return dask.delayed(model, pure=True)


# ---------------------------------------------------------------------------- blocks
def _apply_block(block, model, method, empty):
    """``model.<method>(block)``; an empty block (Dask makes some) gives ``empty``."""
    if block.shape[0] == 0:
        if hasattr(empty, "columns"):
            return empty.set_axis(block.index[:0], axis=0)
        return empty
    return getattr(model, method)(block)


#: shap's PermutationExplainer (``explain(layer=None)``) seeds and draws its permutations
#: from NumPy's global generator: blocks explained at once in two threads of one worker
#: would interleave their draws, so they take turns (a block's values then do not depend
#: on the scheduler).
_GLOBAL_RNG_LOCK = threading.Lock()


def _explain_block(block, model, layer, output, max_evals, shape):
    if block.shape[0] == 0:
        return np.empty((0, *shape))
    with _GLOBAL_RNG_LOCK if layer is None else contextlib.nullcontext():
        explanation = model.explain(block, layer=layer, output=output, max_evals=max_evals)
    return np.asarray(explanation.values, dtype=np.float64)


def _score_block(block, model):
    """``[[sum of squared errors, number of values]]`` of one block."""
    if block.shape[0] == 0:
        return np.zeros((1, 2))
    return np.array([[-model.score(block) * block.size, block.size]], dtype=np.float64)


# ---------------------------------------------------------------------------- methods
def lazy_inference(estimator, X, method):
    """``transform`` or ``inverse_transform`` of a Dask collection, lazily.

    A Dask array gives a Dask array (one block per row block of ``X``), a Dask DataFrame
    gives a Dask array with unknown chunk sizes; under ``set_output(transform="pandas")``
    either gives a Dask DataFrame with the columns of ``get_feature_names_out()`` (the
    input's names for ``inverse_transform``), a frame keeping its index. float32 input
    gives float32, anything else float64, as in memory.
    """
    from sklearn.utils.validation import check_is_fitted, validate_data

    check_is_fitted(estimator)
    container = _output_container(estimator)
    if method == "transform":
        width_in, width_out = estimator.n_features_in_, estimator.n_components_
        names = estimator.get_unit_names(len(estimator.layer_sizes_) // 2)
        expected = "n_features_in_"
    else:
        width_in, width_out = estimator.n_components_, estimator.n_features_in_
        names = estimator.get_unit_names(0)
        expected = "n_components_; pass the output of transform"
    dtype = np.dtype(_check_collection(X, width_in, method, expected))
    if method == "transform":
        # feature names and their count, on the metadata (warns once, as in memory)
        validate_data(estimator, X._meta if _is_frame(X) else X, reset=False, skip_check_array=True)
    empty = np.empty((0, width_out), dtype=dtype)
    if _is_frame(X):
        import pandas as pd

        model = _worker_copy(estimator, full=False, output="pandas", names=True)
        meta = pd.DataFrame(empty, columns=names, index=X._meta.index)
        out = X.map_partitions(_apply_block, model, method, meta, meta=meta)
        return out if container == "pandas" else out.to_dask_array()
    X = _rows(X)
    model = _worker_copy(estimator, full=False, output="default", names=False)
    Z = X.map_blocks(
        _apply_block,
        model,
        method,
        empty,
        chunks=(X.chunks[0], (width_out,)),
        dtype=dtype,
        meta=empty,
    )
    if container == "pandas":
        import dask.dataframe as dd

        return dd.from_dask_array(Z, columns=names)
    return Z


def lazy_explain(estimator, X, layer, output, max_evals):
    """``explain`` of a Dask collection: a lazy Dask array of the Explanation's values.

    Shape ``(n_samples, n_inputs)`` (the rows' reconstruction errors, the default with
    ``layer=None``, or one output unit), or ``(n_samples, n_inputs, n_outputs)`` with
    ``output="units"`` (the default with a ``layer``); float64. Each block holds
    ``explain(block).values``.
    """
    from sklearn.utils.validation import validate_data

    from ._fitted import explain_args, output_unit

    n_features = estimator.n_features_in_
    _check_collection(X, n_features, "explain", "n_features_in_")
    validate_data(estimator, X._meta if _is_frame(X) else X, reset=False, skip_check_array=True)
    sizes = estimator.layer_sizes_
    explain_args(layer, max_evals, len(sizes) - 1, n_features)
    n_in, n_out = (
        (n_features, sizes[len(sizes) // 2]) if layer is None else sizes[layer : layer + 2]
    )
    if output is None:
        output = "error" if layer is None else "units"
    if not (isinstance(output, str) and output in ("error", "units")) or (
        layer is not None and output == "error"
    ):
        output_unit(output, n_out)
    shape = (n_in, n_out) if output == "units" else (n_in,)
    X = _rows(X)
    model = _worker_copy(estimator, full=True, output="default", names=False)
    return X.map_blocks(
        _explain_block,
        model,
        layer,
        output,
        max_evals,
        shape,
        chunks=(X.chunks[0], *((size,) for size in shape)),
        new_axis=list(range(2, 1 + len(shape))),
        dtype=np.float64,
        meta=np.empty((0,) * (1 + len(shape))),
    )


def lazy_score(estimator, X):
    """``score`` of a Dask collection: per block the sum of squared errors and the number
    of values, summed on the workers; one pair comes back."""
    from sklearn.utils.validation import check_is_fitted, validate_data

    check_is_fitted(estimator)
    _check_collection(X, estimator.n_features_in_, "score", "n_features_in_")
    validate_data(estimator, X._meta if _is_frame(X) else X, reset=False, skip_check_array=True)
    X = _rows(X)
    model = _worker_copy(estimator, full=False, output="default", names=False)
    parts = X.map_blocks(
        _score_block,
        model,
        chunks=((1,) * X.numblocks[0], (2,)),
        dtype=np.float64,
        meta=np.empty((0, 0)),
    )
    sse, count = parts.sum(axis=0).compute()
    if count == 0:
        raise ValueError("X holds no rows: every block of the Dask collection is empty.")
    return -float(sse / count)
