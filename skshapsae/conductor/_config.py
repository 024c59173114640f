"""From the estimator's parameters to the stages' configurations.

:func:`fit_setup` reads the validated parameters of a
:class:`~skshapsae.SHAPSparseAutoencoder` once per fit into a :class:`FitSetup`, the one
object every stage reads, of resolved values only; :meth:`FitSetup.for_data` then
resolves what depends on the data's shape: the layer sizes and activations, the seeds,
the training configuration (``_network.TrainingConfig``, with ``solver``, ``init`` and
``batch_size`` resolved), the column weighting and an array's scoring rows. Pure but for
the draws from ``random_state``: the same parameters and shape give the same setup.

First, :data:`PARAMETER_CONSTRAINTS`: what each parameter accepts (scikit-learn's
``_parameter_constraints`` of the estimator). Below the setup, the two other readings of
the parameters: :func:`check_fit_memory` (a fit's RAM, the training and scoring
estimates against this machine's physical memory, checked before any work) and
:data:`RENAMED` / :func:`upgrade_params` (the parameters removed in 0.2 and what
replaced them).
"""

import functools
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..network._activations import ACTIVATIONS, layer_activations
from ..network._network import (
    AUTO_INIT_MAX_FEATURES,
    LBFGS_MAX_ROWS,
    TrainingConfig,
    default_batch_size,
    resolve_device,
    resolve_init,
    training_memory_bytes,
)
from ..scoring._scoring import GAME_FAMILIES, ScoringConfig, scoring_memory_bytes
from ..scoring._shapley import (
    ESTIMATOR_NAMES,
    ESTIMATORS,
    KernelEstimator,
    PermutationEstimator,
    ShapleyEstimator,
    as_estimator,
    from_old_settings,
    physical_memory_bytes,
)

#: ``pruning`` -> (how the kept links are shared among the layers, what is pruned).
PRUNING = {"layer": ("layer", "links"), "global": ("global", "links"), "units": ("layer", "units")}

_COUNT = Interval(Integral, 1, None, closed="left")  # an int >= 1

#: What each parameter of :class:`~skshapsae.SHAPSparseAutoencoder` accepts (its
#: ``_parameter_constraints``, checked by scikit-learn before every fit).
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", _COUNT, None],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "out_activation": [StrOptions(set(ACTIVATIONS))],
    "importance_level": [Interval(Real, 0, 1, closed="right")],
    "target_sparsity": [Interval(Real, 0, 1, closed="left"), None],
    "pruning": [StrOptions(set(PRUNING))],
    "importance_target": [StrOptions(set(GAME_FAMILIES))],
    "shapley_estimator": [StrOptions(set(ESTIMATOR_NAMES)), ShapleyEstimator],
    "n_background": [_COUNT],
    "n_explain": [_COUNT],
    "fold_bias": ["boolean"],
    "fine_tune_iter": [Interval(Integral, 0, None, closed="left")],
    "max_iter": [_COUNT],
    "solver": [StrOptions({"auto", "adam", "lbfgs"})],
    "batch_size": [StrOptions({"auto"}), _COUNT],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "learning_rate": [StrOptions({"constant", "adaptive"})],
    "tol": [Interval(Real, 0, 1, closed="left")],
    "n_iter_no_change": [_COUNT],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "column_weights": [StrOptions({"auto", "unique", "uniform"})],
    "init": [StrOptions({"auto", "pca", "varimax", "random"})],
    "device": [str],
    "memory": [None, str, HasMethods(["cache"])],
    "n_jobs": [None, Interval(Integral, None, -1, closed="right"), _COUNT],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


@dataclass(frozen=True)
class FitSetup:
    """Everything a fit reads besides the data: resolved values only, no generator.

    :func:`fit_setup` fills the values that do not depend on the data; ``for_data``
    resolves the rest (``None`` until then) from the parameters once the data's shape is
    known: the layer sizes and activations, the training's ``solver``, ``batch_size``,
    ``init`` and seed, the scoring seed, the column weighting and the scoring rows.
    """

    train: TrainingConfig  # solver, batch_size, init and seed resolved by ``for_data``
    scoring: ScoringConfig  # seed 0 until ``for_data`` draws it
    n_background: int  # rows of the Shapley background
    n_explain: int  # rows at which the Shapley values are averaged
    importance_level: float
    target_sparsity: float | None
    fold_bias: bool
    allocation: str
    structure: str
    fine_tune_iter: int
    device: object  # resolved ("auto" -> "cuda" or "cpu")
    memory: object = None
    n_jobs: int | None = None
    verbose: bool = False
    # resolved for the data by ``for_data``
    sizes: list | None = None
    activations: list | None = None
    weighting: str | None = None  # the columns' loss weights: "unique" or "uniform"
    # an array's background and explained rows (sorted indices); streams: None
    scoring_rows: tuple | None = None

    @property
    def reservoir_rows(self):
        """Rows a stream keeps for scoring: the background and the explained rows."""
        return max(self.n_background, self.n_explain)

    def for_data(self, params, n_samples, n_features, *, incremental=False, in_memory=True):
        """The setup resolved for ``n_samples`` rows of ``n_features`` columns, from the
        parameters (``get_params()``, validated); the seeds and an array's scoring rows
        are drawn from ``params["random_state"]``."""
        solver = params["solver"]
        if incremental and solver == "lbfgs":
            raise ValueError(
                "partial_fit trains with a stochastic solver, but solver='lbfgs' is "
                "full-batch. Use solver='adam' or 'auto' with partial_fit, or fit."
            )
        sizes = layer_sizes(params["hidden_layer_sizes"], n_features)
        code_top_k(self.train.code_top_k, sizes[len(sizes) // 2])
        rng = check_random_state(params["random_state"])
        train_seed, shap_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        batch = params["batch_size"]
        batch = default_batch_size(n_samples) if batch == "auto" else batch
        in_memory = in_memory and not incremental
        train = replace(
            self.train,
            solver=_resolve_solver(solver, self.train, n_samples, in_memory),
            batch_size=int(batch),
            init=resolve_init(params["init"], n_features),
            seed=train_seed,
        )
        out = params["out_activation"]
        activations = layer_activations(params["activation"], out, len(sizes) - 1)
        weighting = _resolve_weighting(params["column_weights"], out, n_features)
        rows = None
        if in_memory:  # the background and the explained rows, drawn after the seeds
            rows = (
                sample_rows(n_samples, self.n_background, rng),
                sample_rows(n_samples, self.n_explain, rng),
            )
        return replace(
            self,
            sizes=sizes,
            activations=activations,
            train=train,
            scoring=replace(self.scoring, seed=shap_seed),
            weighting=weighting,
            scoring_rows=rows,
        )


def draw_seed(random_state):
    """A seed from ``random_state`` (an int's is fixed; a ``RandomState`` advances)."""
    return check_random_state(random_state).randint(2**31 - 1)


def sample_rows(n_samples, wanted, rng):
    """``wanted`` sorted row indices drawn without replacement; all rows of a small table
    (documented, no warning)."""
    if wanted >= n_samples:
        return np.arange(n_samples)
    return np.sort(rng.choice(n_samples, size=wanted, replace=False))


def _resolve_solver(solver, train, n_samples, in_memory):
    """``solver="auto"`` resolved (see the parameter's documentation)."""
    dropout, top_k = train.dropout, train.code_top_k
    if solver == "lbfgs" and dropout > 0:
        raise ValueError(
            "dropout draws a new mask at every step, which breaks L-BFGS's line "
            "search; use solver='adam' (or 'auto') with dropout."
        )
    if solver != "auto":
        return solver
    small = in_memory and n_samples <= LBFGS_MAX_ROWS
    return "lbfgs" if small and not (dropout > 0 or top_k is not None) else "adam"


def _resolve_weighting(kind, out, n_features):
    """``column_weights="auto"`` resolved: ``"unique"`` for tables (at most
    ``AUTO_INIT_MAX_FEATURES`` columns) with an identity output, ``"uniform"``
    otherwise."""
    if kind == "unique" and out != "identity":
        raise ValueError(
            f"column_weights='unique' weighs the squared errors of the columns, which "
            f"is implemented for an identity output; out_activation={out!r}. Use "
            "out_activation='identity' or column_weights='uniform' (or 'auto')."
        )
    if kind != "auto":
        return kind
    small = out == "identity" and n_features <= AUTO_INIT_MAX_FEATURES
    return "unique" if small else "uniform"


# -- Checks of the parameters against the data's shape and each other.


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


def code_top_k(k, code):
    """``code_top_k`` must leave a choice among the code's ``code`` units."""
    if k is not None and k > code:
        raise ValueError(
            f"code_top_k={k} is wider than the code ({code} units, the last of "
            "hidden_layer_sizes); use at most the code size, or None."
        )


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


#: The scoring settings a fit records (``_scoring_config_``, plain JSON), so that
#: ``explain`` plays the fitted game after set_params: name -> constraints.
SCORING_RECORD = {
    "importance_target": [StrOptions(set(GAME_FAMILIES))],
    "shapley_estimator": [StrOptions(set(ESTIMATOR_NAMES))],
    "n_permutations": [Interval(Integral, 1, None, closed="left")],
    "kernel_nsamples": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
}


def scoring_config(target, shapley_estimator, seed=0, device="cpu"):
    """The link scoring's :class:`ScoringConfig` for ``importance_target`` and
    ``shapley_estimator``: a name becomes its estimator at the default budget here (the
    parameter keeps what the user passed), an object is validated and used as it is."""
    estimator = as_estimator(shapley_estimator)
    estimator._validate_params()
    family = GAME_FAMILIES[target]
    if family.own_estimator is not None and estimator.name != "auto":
        raise ValueError(
            f"importance_target={target!r} ({family.name} game) has its own estimator "
            f"({family.own_estimator}); got shapley_estimator={shapley_estimator!r}. Leave "
            "shapley_estimator='auto' (or AutoEstimator(n_permutations=...) for its "
            "budget), or use importance_target='activation'."
        )
    return ScoringConfig(
        estimator=estimator,
        target=target,
        seed=int(seed),
        device=str(device),
        background_rows=estimator.background_rows,
    )


def recorded_scoring(config):
    """The record of a fit's :class:`ScoringConfig` (``_scoring_config_``): the game, the
    estimator's name and its budget."""
    return {
        "importance_target": config.target,
        "shapley_estimator": config.estimator.name,
        "n_permutations": config.n_permutations,
        "kernel_nsamples": getattr(config.estimator, "n_samples", "auto"),
    }


def played_scoring(record, params, seed):
    """The :class:`ScoringConfig` of the game a fitted model's links were scored by
    (every explained row against the whole background), whatever ``set_params`` changed
    since: its ``record`` (``_scoring_config_``), or, for files without one (None), the
    parameters ``params``."""
    device = resolve_device(params["device"])
    if record is None:
        return scoring_config(
            params["importance_target"], params["shapley_estimator"], seed, device
        )
    cls = ESTIMATORS[record["shapley_estimator"]]
    budget = {"n_permutations": record["n_permutations"], "n_samples": record["kernel_nsamples"]}
    takes = cls().get_params()
    estimator = cls(**{name: value for name, value in budget.items() if name in takes})
    return ScoringConfig(
        estimator=estimator, target=record["importance_target"], seed=int(seed), device=str(device)
    )


def fit_setup(params, *, training=None, scoring=None):
    """The :class:`FitSetup` of these parameters (``get_params()``, validated).

    ``training``: settings of the dense training that are no parameters of
    :class:`~skshapsae.SHAPSparseAutoencoder` (``TrainingConfig`` field -> value: the
    trained baselines' ``dropout`` and ``code_top_k``, from their parameters, see
    ``baselines``).
    ``scoring``: a :class:`ScoringConfig` to use instead of the parameters' (``reprune``
    keeps the fitted one).
    """
    allocation, structure = PRUNING[params["pruning"]]
    device = resolve_device(params["device"])
    train = TrainingConfig(
        max_iter=params["max_iter"],
        learning_rate_init=float(params["learning_rate_init"]),
        learning_rate=params["learning_rate"],
        tol=float(params["tol"]),
        n_iter_no_change=int(params["n_iter_no_change"]),
        early_stopping=bool(params["early_stopping"]),
        validation_fraction=float(params["validation_fraction"]),
        device=str(device),
    )
    train = replace(train, **(training or {}))
    if scoring is None:
        scoring = scoring_config(params["importance_target"], params["shapley_estimator"])
    return FitSetup(
        train=train,
        scoring=replace(scoring, device=str(device)),
        n_background=params["n_background"],
        n_explain=params["n_explain"],
        importance_level=params["importance_level"],
        target_sparsity=params["target_sparsity"],
        fold_bias=params["fold_bias"],
        allocation=allocation,
        structure=structure,
        fine_tune_iter=params["fine_tune_iter"],
        device=device,
        memory=params["memory"],
        n_jobs=params["n_jobs"],
        verbose=bool(params["verbose"]),
    )


# -- A fit's RAM, checked before any work: the training and scoring stages' estimates
# against this machine's physical memory.


def check_fit_memory(sizes, activations, scoring, n_background, n_samples, batch_size):
    """Fail before any work when training or scoring needs more memory than exists."""
    available = physical_memory_bytes()
    if available is None:
        return
    training = training_memory_bytes(sizes, n_samples, batch_size)
    scoring_need, layer = scoring_memory_bytes(sizes, activations, scoring, n_background)
    if max(training, scoring_need) > available:
        gib = 2.0**30
        raise ValueError(
            f"This fit needs about {training / gib:.1f} GiB of memory to train the "
            f"{'-'.join(map(str, sizes))} network and {scoring_need / gib:.1f} GiB to "
            f"score layer {layer + 1} with shapley_estimator={scoring.estimator!r} "
            f"(n_permutations={scoring.n_permutations}, n_background={n_background}), more "
            f"than this machine's {available / gib:.1f} GiB. Use smaller hidden_layer_sizes, "
            "fewer rows or n_background, a smaller budget (n_permutations, "
            "background_rows of the shapley_estimator), or shapley_estimator='permutation'."
        )


# -- The parameters removed in 0.2 and what replaced them.
# :data:`RENAMED` (old name -> new spelling) gives a clear error when an old spelling is
# passed to the constructor (``TypeError``, as Python's own for an unknown keyword) or to
# ``set_params`` (``ValueError``, as scikit-learn's). :func:`upgrade_params` maps the
# parameters stored in a model file written before 0.2 to the new ones where the mapping
# is exact.

#: Removed parameter -> its new spelling (CHANGELOG, 0.2).
RENAMED = {
    "n_components": "hidden_layer_sizes=k (an int is one layer of k units; or the last "
    "width of hidden_layer_sizes)",
    "allocation": "pruning='layer' | 'global' | 'units'",
    "structure": "pruning='units' (structure='links' is pruning='layer' or 'global')",
    "n_permutations": "shapley_estimator=PermutationEstimator(n_permutations=...) (or "
    "AutoEstimator(n_permutations=...) with 'auto')",
    "kernel_nsamples": "shapley_estimator=KernelEstimator(n_samples=...)",
    "background_pool": "n_background=<pool size> with shapley_estimator=<estimator>("
    "background_rows=<rows per explained row>), e.g. AutoEstimator(background_rows=100)",
    "dropout": "skshapsae.baselines.DropoutAutoencoder(dropout=...)",
    "code_top_k": "skshapsae.baselines.KSparseAutoencoder(k=...)",
}


def renamed_message(names, cls_name):
    lines = [f"  {name} -> {RENAMED[name]}" for name in names]
    return (
        f"{cls_name} no longer takes {', '.join(map(repr, names))} (removed in 0.2; "
        "see the CHANGELOG):\n" + "\n".join(lines)
    )


def check_set_params(params, current, cls_name):
    """Refuse in ``set_params`` a parameter removed in 0.2 (``ValueError`` naming its new
    spelling) and a budget (``shapley_estimator__<name>``) set on an estimator given by
    name; ``current``: the estimator's ``get_params(deep=False)``."""
    old = [name for name in params if name in RENAMED and name not in current]
    if old:
        raise ValueError(renamed_message(old, cls_name))
    nested = sorted(name for name in params if name.startswith("shapley_estimator__"))
    estimator = params.get("shapley_estimator", current["shapley_estimator"])
    if nested and isinstance(estimator, str):
        raise ValueError(
            f"shapley_estimator={estimator!r} is a name, which has no parameters to set "
            f"({', '.join(nested)}): pass the estimator object with its budget, e.g. "
            "shapley_estimator=PermutationEstimator(n_permutations=3) or "
            "AutoEstimator(n_permutations=3) (from skshapsae)."
        )


def check_renamed(init):
    """Wrap ``__init__`` so that an old spelling raises a ``TypeError`` naming the new
    one. The signature seen by scikit-learn (``get_params``, ``clone``) is ``init``'s."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        old = [name for name in kwargs if name in RENAMED]
        if old:
            raise TypeError(renamed_message(old, type(self).__name__))
        init(self, *args, **kwargs)

    return __init__


def upgrade_params(params):
    """Stored parameters of a file written before 0.2, in the new spelling.

    Exact: ``n_components``, ``allocation`` / ``structure``, ``n_permutations``,
    ``kernel_nsamples`` and ``background_pool``. ``dropout`` and ``code_top_k`` (only
    the trained baselines set them) are dropped: the fitted state does not depend on
    them (the training settings the model ran are in ``_training_config_``), a refit
    from the loaded parameters trains a plain autoencoder; returned as ``dropped``.

    Every old value is checked as its new spelling is (``ValueError`` otherwise): a
    ``structure`` other than "links" / "units", an ``allocation`` other than "layer" /
    "global", an ``n_permutations`` or ``kernel_nsamples`` that the estimator objects
    refuse, even where the chosen estimator would not use it.
    """
    params = dict(params)
    _check_old_values(params)
    dropped = {}
    for name, default in (("dropout", 0.0), ("code_top_k", None)):
        if name in params:
            value = params.pop(name)
            if value != default:
                dropped[name] = value
    if "n_components" in params:
        k = params.pop("n_components")
        if params.get("hidden_layer_sizes") is None and k is not None:
            params["hidden_layer_sizes"] = k
    if "structure" in params or "allocation" in params:
        structure = params.pop("structure", "links")
        allocation = params.pop("allocation", "layer")
        params["pruning"] = "units" if structure == "units" else allocation
    old_scoring = ("n_permutations", "kernel_nsamples", "background_pool")
    if any(name in params for name in old_scoring) and isinstance(
        params.get("shapley_estimator", "auto"), str
    ):
        pool = params.pop("background_pool", None)
        n_background = params.get("n_background", 100)
        rows = None
        if isinstance(pool, int) and isinstance(n_background, int) and pool > n_background:
            params["n_background"], rows = pool, n_background
        params["shapley_estimator"] = from_old_settings(
            params.get("shapley_estimator", "auto"),
            n_permutations=params.pop("n_permutations", 1),
            kernel_nsamples=params.pop("kernel_nsamples", "auto"),
            background_rows=rows,
        )
    return params, dropped


def _check_old_values(params):
    """Raise ``ValueError`` for an old parameter whose value its new spelling refuses."""
    from sklearn.utils._param_validation import InvalidParameterError

    choices = {"structure": ("links", "units"), "allocation": ("layer", "global")}
    for name, allowed in choices.items():
        if name in params and params[name] not in allowed:
            raise ValueError(f"{name}={params[name]!r} is not one of {allowed}.")
    checks = (
        ("n_permutations", PermutationEstimator, "n_permutations"),
        ("kernel_nsamples", KernelEstimator, "n_samples"),
    )
    for old, cls, new in checks:
        if old not in params:
            continue
        try:
            cls(**{new: params[old]})._validate_params()
        except (InvalidParameterError, ValueError, TypeError) as exc:
            raise ValueError(f"{old}={params[old]!r} is invalid: {exc}") from None
    pool = params.get("background_pool")
    if pool is not None and (not isinstance(pool, int) or isinstance(pool, bool) or pool < 1):
        raise ValueError(f"background_pool={pool!r} is not a positive int or None.")
