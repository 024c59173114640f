"""From the estimator's parameters to the stages' configurations.

:func:`fit_setup` reads the validated parameters of a
:class:`~skshapsae.SHAPSparseAutoencoder` once per fit into a :class:`FitSetup`, the one
object every stage reads; :meth:`FitSetup.for_data` then resolves what depends on the
data's shape: the layer sizes and activations (``_checks``), the seeds, the training
configuration (``_network.TrainingConfig``, with ``solver``, ``init`` and ``batch_size``
resolved) and the column weighting. Pure: the same parameters and shape give the same
setup.
"""

from dataclasses import dataclass, replace
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..network._activations import layer_activations
from ..network._network import (
    AUTO_INIT_MAX_FEATURES,
    LBFGS_MAX_ROWS,
    TrainingConfig,
    default_batch_size,
    resolve_device,
    resolve_init,
)
from ..scoring._scoring import GAME_FAMILIES, ScoringConfig
from ..scoring._shapley import ESTIMATOR_NAMES
from ..scoring._shapley_params import as_estimator_params
from . import _checks as checks


@dataclass(frozen=True)
class FitSetup:
    """Everything a fit reads besides the data, from the parameters read once.

    The fields up to ``verbose`` come from the parameters; ``for_data`` fills the rest
    (``None`` until then) once the data's shape is known.
    """

    # the parameters, as the stages read them
    hidden_layer_sizes: object
    activation: str
    out_activation: str
    solver: str  # as asked ("auto" resolved in ``train``)
    batch_size: object  # as asked ("auto" resolved in ``train``)
    init: str  # as asked ("auto" resolved in ``train``)
    column_weights: str  # as asked ("auto" resolved in ``weighting``)
    train: TrainingConfig  # the training parameters; ``for_data`` resolves the rest
    scoring: ScoringConfig  # seed 0 until ``for_data`` draws it
    n_background: int  # rows of the Shapley background
    n_explain: int  # rows at which the Shapley values are averaged
    importance_level: float
    target_sparsity: float | None
    fold_bias: bool
    allocation: str
    structure: str
    fine_tune_iter: int
    random_state: object
    device: object  # resolved ("auto" -> "cuda" or "cpu")
    memory: object = None
    n_jobs: int | None = None
    verbose: bool = False
    # resolved for the data by ``for_data``
    sizes: list | None = None
    activations: list | None = None
    rng: np.random.RandomState | None = None  # draws the background and explained rows
    weighting: str = "uniform"  # the columns' loss weights: "unique" or "uniform"

    @property
    def reservoir_rows(self):
        """Rows a stream keeps for scoring: the background and the explained rows."""
        return max(self.n_background, self.n_explain)

    def seed(self):
        """A seed from ``random_state`` (an int's is fixed; a ``RandomState`` advances)."""
        return check_random_state(self.random_state).randint(2**31 - 1)

    def for_data(self, n_samples, n_features, *, incremental=False, in_memory=True):
        """The setup resolved for ``n_samples`` rows of ``n_features`` columns."""
        if incremental and self.solver == "lbfgs":
            raise ValueError(
                "partial_fit trains with a stochastic solver, but solver='lbfgs' is "
                "full-batch. Use solver='adam' or 'auto' with partial_fit, or fit."
            )
        sizes = checks.layer_sizes(self.hidden_layer_sizes, n_features)
        checks.code_top_k(self.train.code_top_k, sizes[len(sizes) // 2])
        rng = check_random_state(self.random_state)
        train_seed, shap_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        batch = default_batch_size(n_samples) if self.batch_size == "auto" else self.batch_size
        train = replace(
            self.train,
            solver=self.resolve_solver(n_samples, in_memory=in_memory and not incremental),
            batch_size=int(batch),
            init=resolve_init(self.init, n_features),
            seed=train_seed,
        )
        return replace(
            self,
            sizes=sizes,
            activations=layer_activations(self.activation, self.out_activation, len(sizes) - 1),
            rng=rng,
            train=train,
            scoring=replace(self.scoring, seed=shap_seed),
            weighting=self.resolve_weighting(n_features),
        )

    def resolve_solver(self, n_samples, in_memory):
        """``solver="auto"`` resolved (see the parameter's documentation)."""
        dropout, top_k = self.train.dropout, self.train.code_top_k
        if self.solver == "lbfgs" and dropout > 0:
            raise ValueError(
                "dropout draws a new mask at every step, which breaks L-BFGS's line "
                "search; use solver='adam' (or 'auto') with dropout."
            )
        if self.solver != "auto":
            return self.solver
        small = in_memory and n_samples <= LBFGS_MAX_ROWS
        return "lbfgs" if small and not (dropout > 0 or top_k is not None) else "adam"

    def resolve_weighting(self, n_features):
        """``column_weights="auto"`` resolved: ``"unique"`` for tables (at most
        ``AUTO_INIT_MAX_FEATURES`` columns) with an identity output, ``"uniform"``
        otherwise."""
        kind, out = self.column_weights, self.out_activation
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


#: ``pruning`` -> (how the kept links are shared among the layers, what is pruned).
PRUNING = {"layer": ("layer", "links"), "global": ("global", "links"), "units": ("layer", "units")}

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
    ``shapley_estimator`` (a name or a ``ShapleyEstimatorParams``)."""
    options = as_estimator_params(shapley_estimator).scoring_options()
    family = GAME_FAMILIES[target]
    if family.own_estimator is not None and options["estimator"] != "auto":
        raise ValueError(
            f"importance_target={target!r} ({family.name} game) has its own estimator "
            f"({family.own_estimator}); got shapley_estimator={shapley_estimator!r}. Leave "
            "shapley_estimator='auto' (or AutoEstimator(n_permutations=...) for its "
            "budget), or use importance_target='activation'."
        )
    return ScoringConfig(target=target, seed=int(seed), device=str(device), **options)


def recorded_scoring(config):
    """The record of a fit's :class:`ScoringConfig` (``_scoring_config_``)."""
    return {
        "importance_target": config.target,
        "shapley_estimator": config.estimator,
        "n_permutations": config.n_permutations,
        "kernel_nsamples": config.kernel_nsamples,
    }


def played_scoring(record, seed, device):
    """The :class:`ScoringConfig` of a recorded game (every explained row against the
    whole background)."""
    return ScoringConfig(
        estimator=record["shapley_estimator"],
        target=record["importance_target"],
        n_permutations=record["n_permutations"],
        kernel_nsamples=record["kernel_nsamples"],
        seed=int(seed),
        device=str(device),
    )


def fit_setup(params, *, training=None, scoring=None):
    """The :class:`FitSetup` of these parameters (``get_params()``, validated).

    ``training``: settings of the dense training that are no parameters (the dropout
    and k-sparse baselines' ``dropout`` and ``code_top_k``, see ``baselines.TRAINED``).
    ``scoring``: a :class:`ScoringConfig` to use instead of the parameters' (``reprune``
    keeps the fitted one).
    """
    allocation, structure = PRUNING[params["pruning"]]
    device = resolve_device(params["device"])
    training = dict(training or {})
    top_k = training.pop("code_top_k", None)
    train = TrainingConfig(
        max_iter=params["max_iter"],
        learning_rate_init=float(params["learning_rate_init"]),
        learning_rate=params["learning_rate"],
        tol=float(params["tol"]),
        n_iter_no_change=int(params["n_iter_no_change"]),
        early_stopping=bool(params["early_stopping"]),
        validation_fraction=float(params["validation_fraction"]),
        device=str(device),
        dropout=float(training.pop("dropout", 0.0)),
        code_top_k=None if top_k is None else int(top_k),
    )
    if training:
        raise TypeError(f"Unknown training settings {sorted(training)}.")
    if scoring is None:
        scoring = scoring_config(params["importance_target"], params["shapley_estimator"])
    return FitSetup(
        hidden_layer_sizes=params["hidden_layer_sizes"],
        activation=params["activation"],
        out_activation=params["out_activation"],
        solver=params["solver"],
        batch_size=params["batch_size"],
        init=params["init"],
        column_weights=params["column_weights"],
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
        random_state=params["random_state"],
        device=device,
        memory=params["memory"],
        n_jobs=params["n_jobs"],
        verbose=bool(params["verbose"]),
    )
