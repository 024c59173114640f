"""The fitted state's schema: every fitted attribute declared once.

A fitted :class:`~skshapsae.SHAPSparseAutoencoder` is its parameters plus the
attributes below. Each :class:`Field` says how the attribute is stored, which stage
sets it, what shape it has given the layer sizes, and whether ``slim`` keeps it, a
model file must hold it, and inference reads it (read-only). The estimator
(``reprune``, ``slim``, the read-only freeze) and the file format (kinds, required
attributes, shape / dtype / value checks on load) read this table and nothing else, so
a new fitted attribute is one line here plus the code that computes it.

Below the schema, what is conducted here so that the estimator only validates, delegates
and assigns: the fit itself, :func:`fit_state` (``fit`` and ``partial_fit``: validate
-> set up -> train -> score -> prune, from the parameters and the data to a fitted
state), and what a fitted model plays again on its state: :func:`repruned_state`
(``reprune``, with the rescoring of the pruned network), :func:`explanation`
(``explain``), :func:`selected_features`, :func:`grouped_importances` and
:func:`sparsity_levels`.

Groups:

* ``"input"``: set by ``validate_data`` (``n_features_in_``, ``feature_names_in_``);
* ``"training"``: the dense network, its scores and everything else that does not
  depend on the level (``reprune`` reuses them);
* ``"pruning"``: the masks and the pruned network (``reprune`` recomputes them).
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass, replace
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils import check_array

from ..inference._inference import finite_output, run, validate_rows
from ..network._network import AUTO_INIT_MAX_FEATURES, blas_threads
from ..pruning._pruning import sparsity_curve as _sparsity_curve
from ..scoring._attribution import select_features as _select_features
from ..scoring._attribution import source_columns
from ..scoring._scoring import DenseNetwork, explain_codes, explain_layer
from ..scoring._shapley import numpy_global_state_kept
from ._config import PRUNING, check_fit_memory, draw_seed, fit_setup, prune_args
from ._stages import (
    ResumeState,
    chunk_source,
    continued_state,
    data_source,
    fitted_network,
    grouped_attribution,
    importance_state,
    is_dask_array,
    is_stream,
    prune_stage,
    rescored_state,
    same_network,
    warn_constant_features,
    warn_not_converged,
    warn_scaling,
    warn_worse_than_means,
)

__all__ = [
    "FIELDS",
    "Field",
    "freeze",
    "names",
    "shapes",
    "check_value",
    "fitted_attributes",
    "check_full",
    "check_one_array",
    "row_validator",
    "fit_state",
    "reprune_params",
    "repruned_state",
    "explanation",
    "selected_features",
    "grouped_importances",
    "sparsity_levels",
]


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
    Field("preactivation_importances_", "array_list", "training", "weights", "float", slim=False),
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
    Field("pruning_game_", "json", "pruning", "game"),
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
    "game": lambda v: v in ("activation", "preactivation", "reconstruction", "given"),
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


# -- The fit, conducted: validate -> set up -> train -> score -> prune, from values to a
# fitted state. The estimator passes its parameters, its row validation and (for
# ``partial_fit``) its fitted state, and assigns what comes back at once, so that a
# failure anywhere leaves it as it was.


def fitted_attributes(attributes, exclude=()):
    """The fitted attributes among ``attributes`` (an estimator's ``vars``): the schema's
    names, never the parameters."""
    return {
        name: attributes[name] for name in BY_NAME if name in attributes and name not in exclude
    }


def check_full(state, what):
    """Refuse ``what`` on a ``slim()`` copy, which has no dense network."""
    if "dense_weights_" not in state:
        raise ValueError(
            f"{what} needs the dense network, which slim() dropped; use the estimator "
            "before slimming."
        )


def check_one_array(X, what):
    """Refuse an iterable of chunks where ``what`` needs one array (a Dask array is one)."""
    if is_stream(X) and not is_dask_array(X):
        raise ValueError(
            f"{what} needs one array; X is an iterable of chunks. Call "
            "fit(X), then transform each chunk."
        )


def row_validator(estimator):
    """``validate(X, columns) -> (X, columns)``: rows validated as ``estimator``
    validates them (:func:`~skshapsae.inference._inference.validate_rows`), against
    ``columns`` (its input attributes, ``n_features_in_`` and ``feature_names_in_``, as a
    dict), or with ``columns=None`` as a new model's first rows, whose input attributes
    it returns. Nothing is written on ``estimator``: scikit-learn's checks read and set
    the attributes on an unfitted copy, which names the estimator's class in their
    messages."""
    probe = clone(estimator)
    inputs = names(group="input")

    def validate(X, columns):
        for name in inputs:
            vars(probe).pop(name, None)
        vars(probe).update(columns or {})
        X = validate_rows(probe, X, reset=columns is None)
        return X, {name: vars(probe)[name] for name in inputs if name in vars(probe)}

    return validate


def fit_state(X, params, validate, *, incremental=False, current=None, resume=None, training=None):
    """A fit's fitted state, and where a ``partial_fit`` stream stands after it.

    ``X``: an array, a Dask array or re-iterable chunks (``fit``), or one chunk
    (``incremental``: ``partial_fit``); ``params``: the estimator's ``get_params()``,
    validated; ``validate``: its :func:`row_validator`; ``training``: settings of the
    dense training that are no parameters of :class:`~skshapsae.SHAPSparseAutoencoder`
    (the trained baselines', see ``baselines``). ``partial_fit`` continues from
    ``resume`` (its own last call's) or else from ``current``, the model's fitted
    attributes (empty when unfitted).

    Returns ``(state, resume)``: every fitted attribute, the input attributes
    included, and the stream's new :class:`~._stages.ResumeState` (None for ``fit``).
    """
    current = current or {}
    setup = fit_setup(params, training=training)
    resume = resume_state(resume, current, setup, params["random_state"]) if incremental else None
    columns = None if resume is None else _columns(current)
    source = data_source(
        X,
        validate,
        setup,
        params["random_state"],
        incremental=incremental,
        resume=resume,
        columns=columns,
    )
    setup = source.for_data(setup, params)
    if source.fresh:
        names_in = source.columns.get("feature_names_in_")
        warn_constant_features(source.sample(), names_in)
    # every partial_fit chunk too (a column constant within one chunk is no news; a
    # chunk of another scale is)
    warn_scaling(source.sample(), setup.activations[-1])
    check_fit_memory(
        setup.sizes,
        setup.activations,
        setup.scoring,
        *source.memory_rows(setup),
        setup.train.batch_size,
    )
    previous = current if incremental and "weights_" in current else None
    # numpy's BLAS (the PCA start, the games' layer outputs) held to the free cores
    sizes = setup.sizes
    work = setup.train.batch_size * max(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    with blas_threads(work):
        state = _trained_state(source, setup, previous, incremental)
    # the validation's input attributes, which it returned instead of setting
    state.update(source.columns)
    return state, getattr(source, "resume", None)


def _trained_state(source, setup, previous, incremental):
    """Train, score, prune; a ``partial_fit`` call that left the dense network as it
    was keeps ``previous``'s scores and masks."""
    trained = source.train(setup)
    if previous is not None and same_network(trained, previous):
        # nothing dense changed: the scores and the masks stay (no new draws)
        return continued_state(previous, trained, source.n_samples)
    state = source.score(trained, setup)
    if not state.pop("_converged_") and not incremental:
        warn_not_converged(setup.train.max_iter, setup.train.solver, setup.train.tol)
    state.update(fitted_network(state, setup, source.n_samples))
    state.update(prune_stage(state, source.tuning_data, setup))
    if previous is not None:
        state = better_on_seen(state, previous, source)
    warn_worse_than_means(state)
    return state


def resume_state(resume, current, setup, random_state):
    """Where ``partial_fit`` continues: its own last call (``resume``), a fitted or a
    loaded model (its fitted attributes ``current``), or nothing (None)."""
    if isinstance(resume, dict):  # pickled by an earlier version
        resume = ResumeState(**resume)
    if resume is not None:
        return resume  # train_increment works on a copy
    if "weights_" not in current:
        return None
    check_full(current, "partial_fit")
    return ResumeState.from_model(current, setup.reservoir_rows, draw_seed(random_state))


class _PrunedNetwork:
    """A fitted state as the object inference reads: its attributes."""

    def __init__(self, state):
        vars(self).update(state)


def better_on_seen(state, previous, source):
    """``partial_fit``'s new state, whose pruned network is the previous call's where
    that one reconstructs the rows seen so far (the stream's uniform sample of them,
    and the chunk) better: the dense network and its scores are always the newest
    (``reprune`` and the next call start from them)."""
    rows = np.vstack([source.resume.reservoir.sample(), source.X]).astype(np.float64)
    errors = []
    for candidate in (state, previous):
        network = _PrunedNetwork(candidate)
        decoded = run(network, "decode", run(network, "encode", rows))
        errors.append(float(np.mean((decoded - rows) ** 2)))
    if errors[0] <= errors[1] or not np.isfinite(errors[1]):
        return state
    tuning = previous["loss_curve_"][len(previous["dense_loss_curve_"]) :]
    pruned = {name: previous[name] for name in names(group="pruning") if name in previous}
    pruned["loss_curve_"] = list(state["dense_loss_curve_"]) + list(tuning)
    state = {name: value for name, value in state.items() if name != "_pruned_error_"}
    return {**state, **pruned}  # (the new pruning's error, discarded with it)


# -- A fitted model's stages played again. Each function takes the model's fitted
# attributes (a dict of this schema's names, ``state``) and values, and returns values or
# a new state; ``validate(X, columns) -> (X, columns)`` validates rows as the estimator
# does (see ``data_source``). The estimator checks that it is fitted, calls one of them
# and assigns or returns the result.


def _columns(state):
    """The input attributes of ``state`` (what new rows are validated against)."""
    return {name: state[name] for name in names(group="input") if name in state}


def reprune_params(importance_level, target_sparsity, pruning, X):
    """The parameters ``reprune`` sets on its copy: the new target, and the level and
    the pruning where given (a level alone clears the fitted target, which would
    override it; neither keeps the fitted target); without ``X`` to fine-tune on,
    ``fine_tune_iter=0``."""
    params = {}
    if importance_level is not None or target_sparsity is not None:
        params["target_sparsity"] = target_sparsity
    if importance_level is not None:
        params["importance_level"] = importance_level
    if pruning is not None:
        params["pruning"] = pruning
    if X is None:
        params["fine_tune_iter"] = 0
    return params


def repruned_state(state, setup, validate, X=None, scores=None, keep_counts=None, rescore=False):
    """The fitted state of a copy of the model pruned again (``reprune``).

    ``setup``: the copy's :class:`~skshapsae.conductor._config.FitSetup` (its level,
    target, pruning and fine-tuning, playing the fitted game, its ``n_jobs``);
    ``scores`` replace the link importances, ``keep_counts`` fix the links kept per
    layer; ``X`` (an array or chunks) is fine-tuned on. ``rescore``: the pruned network
    as a new dense stage, scored again on rows of ``X``.
    """
    prune_args(setup.structure, setup.allocation, keep_counts)
    new = {name: value for name, value in state.items() if name not in names(group="pruning")}
    if rescore:
        new.update(_rescored(state, X, scores, setup, validate))
    shapes = [W.shape for W in state["dense_weights_"]]
    if scores is not None:
        scores = _given_scores(scores, shapes)
        errors = [np.zeros_like(score) for score in scores]
        new.update(importance_state(scores, errors, ["given"] * len(scores)))
    if keep_counts is not None:
        keep_counts = _keep_counts(keep_counts, [W.size for W in state["dense_weights_"]])
    if X is not None:
        columns = _columns(state)
        X = chunk_source(X, validate, columns) if is_stream(X) else validate(X, columns)[0]
    allowed = state["link_masks_"] if rescore else None  # a subset, whatever the pruning
    new.update(prune_stage(new, X, setup, keep_counts, allowed=allowed))
    warn_worse_than_means(new)
    return new


def _rescored(state, X, scores, setup, validate):
    """``reprune(rescore=True)``: the model's pruned network as a new dense stage."""
    if X is None or is_stream(X) or scores is not None:
        raise ValueError(
            "reprune(rescore=True) scores this model's pruned network again on rows of "
            "X and fine-tunes on X: pass X as an array, and no scores (rescore=True "
            "uses the fitted game's)."
        )
    sparsity = state["sparsity_"]
    if setup.target_sparsity is not None and setup.target_sparsity < sparsity:
        raise ValueError(
            f"reprune(rescore=True) prunes this model further; its sparsity is "
            f"{sparsity:.3f}, above target_sparsity={setup.target_sparsity}. "
            "Pass a higher target, or reprune without rescore=True (from the dense "
            "network)."
        )
    X = validate(X, _columns(state))[0]
    return rescored_state(state, X, setup.scoring, setup.n_explain, setup.n_jobs)


def explanation(
    state, X, validate, model, layer=None, output=None, max_evals="auto", display_data=None
):
    """``explain``'s ``shap.Explanation`` of the rows ``X`` (an array).

    ``model``: the fitted model's read-only functions and draws: ``encode`` and
    ``decode`` (rows -> codes -> reconstruction), ``unit_names(layer)``, ``seed()`` (a
    seed for the codes' explainer) and ``game()`` (the fitted game's scoring
    configuration, for ``layer``).
    """
    with numpy_global_state_kept():  # importing shap may draw from numpy's generator
        import shap

    X = validate(X, _columns(state))[0]
    evals = explain_args(layer, max_evals, len(state["dense_weights_"]), X.shape[1])
    shown = None
    if display_data is not None:
        shown = check_array(display_data, dtype=None, ensure_all_finite=False)
        if shown.shape != X.shape:
            raise ValueError(
                f"display_data must have the shape of X {X.shape} (the same rows as "
                f"the user knows them), got {shown.shape}."
            )
    if output is None:
        output = "error" if layer is None else "units"
    if not (isinstance(output, str) and output in ("error", "units")) or (
        layer is not None and output == "error"
    ):
        sizes = state["layer_sizes_"]
        output_unit(output, sizes[len(sizes) // 2 if layer is None else layer + 1])
    background = state["background_"]
    if layer is None:
        unit_names = model["unit_names"](0)
        encode, decode = model["encode"], model["decode"]
        if output == "error":
            weights = state.get("column_weights_", np.ones(X.shape[1]))

            def error(rows):
                recon = decode(encode(rows))
                return np.mean(weights * (rows - recon) ** 2, axis=1)

            explained = explain_codes(error, background, X, unit_names, model["seed"](), evals)
        else:
            reads = np.asarray(state["active_units_"][0], bool)
            explained = explain_codes(
                encode, background, X, unit_names, model["seed"](), evals, players=reads
            )
            if output != "units":
                explained = explained[:, :, output]
        if shown is not None:
            explained.data = shown
            explained.display_data = shown
        return explained
    # the fitted game, whatever set_params changed since (files without the record:
    # the parameters)
    config = replace(model["game"](), background_rows=None)
    network = DenseNetwork(
        state["dense_weights_"], state["dense_intercepts_"], state["activations_"]
    )
    phi, base, points = explain_layer(network, layer, X, background, config)
    values = np.transpose(phi, (0, 2, 1))
    # rows so large that the float32 network overflows (the layer's inputs or its
    # attributions beyond float32's range): the error transform and explain() raise
    flat = np.hstack([values.reshape(len(values), -1), np.reshape(points, (len(values), -1))])
    finite_output(np.where(np.abs(flat) <= np.finfo(np.float32).max, flat, np.inf), "encode")
    if output != "units":
        values = values[:, :, output]
        base = base[:, output] if base.ndim == 2 else base
    return shap.Explanation(
        values=values,
        base_values=base,
        data=points,
        display_data=shown if layer == 0 else None,
        feature_names=model["unit_names"](layer),
    )


def selected_features(state, n_features, X, validate, *, weights, units):
    """``select_features``: column indices chosen on ``X`` (None: ``background_``)."""
    n_in = state["n_features_in_"]
    n_features = n_selected(n_features, n_in)
    if not (isinstance(weights, str) and weights in ("uniform", "importance")):
        shown = f"an array of shape {np.shape(weights)}" if np.ndim(weights) else repr(weights)
        raise ValueError(
            f"weights must be 'uniform' or 'importance', got {shown}; per-column "
            "weights are not supported (the importances are used with 'importance')."
        )
    if not isinstance(units, str) or units not in ("auto", "standard", "given"):
        raise ValueError(f"units must be 'auto', 'standard' or 'given', got {units!r}.")
    if units == "auto":
        units = "standard" if n_in <= AUTO_INIT_MAX_FEATURES else "given"
    rows = state["background_"] if X is None else validate(X, _columns(state))[0]
    if units == "standard":
        rows = np.asarray(rows, dtype=np.float64)
        spread = rows.std(axis=0)
        rows = rows / np.where(spread > 0, spread, 1.0)
    w = state["feature_importances_"] if weights == "importance" else None
    w = np.ones(n_in) if w is None else w
    return _select_features(w, rows, n_features)


def grouped_importances(state, groups):
    """``group_importances``: group label -> share of the reconstruction game."""
    if hasattr(groups, "fit") and hasattr(groups, "transform"):
        groups = source_columns(groups)
    groups = list(groups)
    n_in = state["n_features_in_"]
    if len(groups) != n_in:
        raise ValueError(
            f"groups has {len(groups)} labels but the model has {n_in} "
            "input columns; give one label per input column (or the fitted "
            "transformer in front of the model)."
        )
    labels = list(dict.fromkeys(groups))
    codes = np.array([labels.index(g) for g in groups], dtype=np.intp)
    values = grouped_attribution(state, codes)
    return dict(zip(labels, map(float, values)))


def sparsity_levels(state, levels, pruning):
    """``sparsity_curve``: the levels and the sparsity after the cascade at each."""
    levels = np.linspace(0.05, 1.0, 20) if levels is None else np.asarray(levels, float)
    if levels.ndim != 1 or not np.all((levels > 0) & (levels <= 1)):
        raise ValueError(
            f"levels must be a 1-d list of importance levels in (0, 1], got {levels!r}."
        )
    return levels, _sparsity_curve(
        levels,
        state["link_importances_"],
        state["dense_weights_"],
        state["dense_intercepts_"],
        state["activations_"],
        *PRUNING[pruning],
    )


# -- The arguments of what is played again, checked.


def _given_scores(scores, shapes):
    """Link scores passed to ``reprune``: one finite, non-negative array per layer."""
    if len(scores) != len(shapes):
        raise ValueError(
            f"scores must hold one array per layer ({len(shapes)}), got {len(scores)}."
        )
    scores = [np.asarray(s, dtype=np.float64) for s in scores]
    for layer, (score, shape) in enumerate(zip(scores, shapes)):
        if score.shape != shape:
            got = f"shape {score.shape}"
        elif not np.all(np.isfinite(score)):
            got = f"{int(np.sum(~np.isfinite(score)))} NaN or infinite values"
        elif (score < 0).any():
            got = f"{int(np.sum(score < 0))} negative values (pass np.abs of signed scores)"
        else:
            continue
        raise ValueError(
            f"scores[{layer}] must be a finite, non-negative array of shape {shape} "
            f"(the shape of dense_weights_[{layer}]); got {got}."
        )
    return scores


def _keep_counts(counts, sizes):
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


def output_unit(output, width):
    """Check ``explain``'s ``output``: None or a unit of a layer of ``width`` units."""
    if output is not None and not (_is_int(output) and 0 <= output < width):
        raise ValueError(
            f"output must be None or an output unit in [0, {width - 1}], got {output!r}."
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
