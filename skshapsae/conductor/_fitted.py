"""The fitted state's schema: every fitted attribute declared once.

A fitted :class:`~skshapsae.SHAPSparseAutoencoder` is its parameters plus the
attributes below. Each :class:`Field` says how the attribute is stored, which stage
sets it, what shape it has given the layer sizes, and whether ``slim`` keeps it, a
model file must hold it, and inference reads it (read-only). The estimator
(``reprune``, ``slim``, the read-only freeze) and the file format (kinds, required
attributes, shape / dtype / value checks on load) read this table and nothing else, so
a new fitted attribute is one line here plus the code that computes it.

Groups:

* ``"input"``: set by ``validate_data`` (``n_features_in_``, ``feature_names_in_``);
* ``"training"``: the dense network, its scores and everything else that does not
  depend on the level (``reprune`` reuses them);
* ``"pruning"``: the masks and the pruned network (``reprune`` recomputes them).
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["FIELDS", "Field", "freeze", "names", "shapes", "check_value"]


@dataclass(frozen=True)
class Field:
    """One fitted attribute.

    kind : how it is stored: ``"array"``, ``"array_list"`` (one array per layer),
        ``"csr_list"`` (one ``scipy.sparse.csr_array`` per layer), ``"strings"`` or
        ``"json"`` (numbers, names, lists and tables of them).
    group : ``"input"``, ``"training"`` or ``"pruning"`` (module docstring).
    shape : for arrays, the shape rule (a key of :func:`shapes`); for JSON, the value
        rule (a key of :data:`VALUE_CHECKS`).
    dtype : ``"float"`` (finite numbers), ``"float_or_nan"`` (finite numbers or NaN: a
        standard error over one row is undefined) or ``"bool"`` for arrays.
    slim : kept by ``slim()`` (inference and the unit importances need it).
    required : every model file holds it (slimmed or not).
    frozen : inference reads it: read-only once fitted, so the cached inference plan
        can never disagree with it.
    """

    name: str
    kind: str
    group: str
    shape: str = None
    dtype: str = None
    slim: bool = True
    required: bool = False
    frozen: bool = False


FIELDS = (
    # input (validate_data)
    Field("n_features_in_", "json", "input", "count", required=True),
    Field("feature_names_in_", "strings", "input", "names_per_feature"),
    # training: the dense network and its scores (independent of the level)
    Field("layer_sizes_", "json", "training", "sizes", required=True),
    Field("activations_", "json", "training", "activations", required=True),
    Field("n_components_", "json", "training", "count", required=True),
    Field("dense_weights_", "array_list", "training", "weights", "float", slim=False),
    Field("dense_intercepts_", "array_list", "training", "biases", "float", slim=False),
    Field("dense_loss_curve_", "json", "training", "numbers", slim=False),
    Field("n_iter_", "json", "training", "count", required=True),
    Field("n_samples_seen_", "json", "training", "count", required=True),
    Field("validation_scores_", "json", "training", "optional_numbers", required=True),
    Field("best_validation_score_", "json", "training", "optional_number", required=True),
    Field("link_importances_", "array_list", "training", "weights", "float", slim=False),
    Field(
        "link_importance_stderr_",
        "array_list",
        "training",
        "weights",
        "float_or_nan",  # NaN: scored on one row, where a standard error is undefined
        slim=False,
    ),
    Field("shapley_estimators_", "json", "training", "strings", required=True),
    Field("unit_importances_", "array_list", "training", "units_in", "float", required=True),
    Field("feature_importances_", "array", "training", "features", "float", required=True),
    Field("reconstruction_importances_", "array", "training", "features_square", "float"),
    Field("column_weights_", "array", "training", "features", "float"),
    Field("layer_input_means_", "array_list", "training", "units_in", "float", slim=False),
    Field("background_", "array", "training", "rows", "float", slim=False),
    Field("fit_times_", "json", "training", "seconds", required=True),
    Field("_training_config_", "json", "training", "training_config", required=True),
    Field("_scoring_config_", "json", "training", "scoring_config", slim=False),
    # pruning (recomputed by reprune)
    Field("link_masks_", "array_list", "pruning", "weights", "bool", slim=False),
    Field("active_units_", "array_list", "pruning", "units", "bool", required=True, frozen=True),
    Field("weights_", "csr_list", "pruning", "weights", "float", required=True, frozen=True),
    Field("intercepts_", "array_list", "pruning", "biases", "float", required=True, frozen=True),
    Field("sparsity_", "json", "pruning", "fraction", required=True),
    Field("layer_sparsity_", "array", "pruning", "layers", "float", required=True),
    # NaN where the model was pruned by keep counts (reprune(keep_counts=...),
    # prune_with_scores, the trained baselines): no level chose the links
    Field("importance_level_", "json", "pruning", "level", required=True),
    Field("keep_counts_", "json", "pruning", "count_per_layer", required=True),
    Field("loss_curve_", "json", "pruning", "numbers", required=True),
)

BY_NAME = {field.name: field for field in FIELDS}


def names(**where):
    """Names of the fields whose attributes equal ``where`` (e.g. ``group="pruning"``)."""
    return tuple(
        f.name for f in FIELDS if all(getattr(f, key) == value for key, value in where.items())
    )


@contextmanager
def restored_on_failure(estimator, attributes):
    """Restore ``attributes`` of ``estimator`` (and remove new ones) if the block fails."""
    previous = {k: vars(estimator)[k] for k in attributes if k in vars(estimator)}
    try:
        yield
    except BaseException:
        for k in attributes:
            vars(estimator).pop(k, None)
        vars(estimator).update(previous)
        raise


def freeze(state):
    """Make the inference arrays of a fitted state read-only (in place); returns ``state``."""
    for name in names(frozen=True):
        for array in state.get(name, ()):
            parts = (
                (array.data, array.indices, array.indptr) if hasattr(array, "indptr") else (array,)
            )
            for part in parts:
                part.setflags(write=False)
    return state


def shapes(sizes):
    """Shape rule -> expected shape (or per-layer shapes) for layer widths ``sizes``."""
    n_layers = len(sizes) - 1
    return {
        "weights": [(sizes[k + 1], sizes[k]) for k in range(n_layers)],
        "biases": [(sizes[k + 1],) for k in range(n_layers)],
        "units": [(n,) for n in sizes],
        "units_in": [(n,) for n in sizes[:-1]],
        "features": (sizes[0],),
        "features_square": (sizes[0], sizes[0]),
        "layers": (n_layers,),
        "rows": (None, sizes[0]),
    }


def _number(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 1e300
    )


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _numbers(value):
    return isinstance(value, list) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
    )


#: JSON value rule -> predicate (``None`` is accepted where the estimator
#: sets it: ``validation_scores_`` and ``best_validation_score_`` without early stopping).
VALUE_CHECKS = {
    "count": _count,
    "number": _number,
    "optional_number": lambda v: v is None or _number(v),
    # loss curves may record a diverging epoch (inf / nan), so only the type is checked
    "numbers": _numbers,
    "optional_numbers": lambda v: v is None or _numbers(v),
    "fraction": lambda v: _number(v) and 0 <= v <= 1,
    # an importance level, or NaN where no level chose the links (pruned by counts)
    "level": lambda v: (isinstance(v, float) and math.isnan(v)) or (_number(v) and 0 <= v <= 1),
    "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    # the seconds of the level-independent stages (partial_fit adds to "training")
    "seconds": lambda v: (
        isinstance(v, dict)
        and set(v) == {"training", "scoring"}
        and all(_number(x) and x >= 0 for x in v.values())
    ),
}


def check_value(field, value, sizes):
    """Why ``value`` does not fit ``field`` for layer widths ``sizes``, or None if it does.

    Arrays: shape, dtype and finiteness; JSON values: :data:`VALUE_CHECKS` (the
    architecture rules ``sizes``, ``activations``, ``count_per_layer`` and
    ``training_config`` are checked by the file format, which knows their context).
    """
    if field.kind in ("array", "array_list", "csr_list"):
        rule = shapes(sizes)[field.shape]
        arrays = value if field.kind != "array" else [value]
        expected = rule if field.kind != "array" else [rule]
        if not isinstance(arrays, list) or len(arrays) != len(expected):
            return f"{field.name} does not hold {len(expected)} array(s)."
        for array, shape in zip(arrays, expected):
            if len(array.shape) != len(shape) or any(
                n is not None and n != m for n, m in zip(shape, array.shape)
            ):
                return f"{field.name} has shape {array.shape}, expected {shape}."
            data = array.data if sp.issparse(array) else array
            if (data.dtype.kind == "b") != (field.dtype == "bool"):
                return f"{field.name} has dtype {data.dtype}."
            if field.dtype in ("float", "float_or_nan"):
                if data.dtype not in (np.float32, np.float64):
                    return f"{field.name} has dtype {data.dtype}, not float32/float64."
                finite = np.isfinite(data)
                if field.dtype == "float_or_nan":
                    finite |= np.isnan(data)
                if not np.all(finite):
                    what = "finite or NaN" if field.dtype == "float_or_nan" else "finite"
                    return f"{field.name} holds values that are not {what} float32/float64 numbers."
        return None
    if field.kind == "strings":
        if len(value) != sizes[0]:
            return f"{field.name} does not have one name per feature."
        return None
    check = VALUE_CHECKS.get(field.shape)
    if check is not None and not check(value):
        return f"{field.name} = {str(value)[:80]!r} is not a valid {field.shape.replace('_', ' ')}."
    return None
