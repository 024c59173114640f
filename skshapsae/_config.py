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

import numpy as np
from sklearn.utils import check_random_state

from . import _checks as checks
from ._activations import layer_activations
from ._network import (
    AUTO_INIT_MAX_FEATURES,
    LBFGS_MAX_ROWS,
    TrainingConfig,
    default_batch_size,
    resolve_device,
    resolve_init,
)
from ._scoring import GAME_FAMILIES, ScoringConfig


@dataclass(frozen=True)
class FitSetup:
    """Everything a fit reads besides the data, from the parameters read once.

    The fields up to ``verbose`` come from the parameters; ``for_data`` fills the rest
    (``None`` until then) once the data's shape is known.
    """

    # the parameters, as the stages read them
    hidden_layer_sizes: object
    n_components: object
    activation: str
    out_activation: str
    solver: str  # as asked ("auto" resolved in ``train``)
    batch_size: object  # as asked ("auto" resolved in ``train``)
    init: str  # as asked ("auto" resolved in ``train``)
    column_weights: str  # as asked ("auto" resolved in ``weighting``)
    train: TrainingConfig  # the training parameters; ``for_data`` resolves the rest
    scoring: ScoringConfig  # seed 0 until ``for_data`` draws it
    n_background: int  # rows of the Shapley background (the pool when one is set)
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
        sizes = checks.layer_sizes(self.hidden_layer_sizes, n_features, self.n_components)
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


#: The parameters of the game the links were scored by: recorded at fit
#: (``_scoring_config_``), so that ``explain`` plays the fitted game after set_params.
SCORING_PARAMS = ("importance_target", "shapley_estimator", "n_permutations", "kernel_nsamples")


def scoring_config(params, seed=0, device="cpu", *, pool=True):
    """The link scoring's :class:`ScoringConfig` (``pool``: score against subsets)."""
    pool_rows = params.get("background_pool")
    return ScoringConfig(
        estimator=params["shapley_estimator"],
        target=params["importance_target"],
        n_permutations=params["n_permutations"],
        kernel_nsamples=params["kernel_nsamples"],
        seed=int(seed),
        device=str(device),
        background_rows=params["n_background"] if pool and pool_rows else None,
    )


def recorded_scoring(setup):
    """The scoring settings a fit records (``_scoring_config_``, plain JSON)."""
    s = setup.scoring
    return {
        "importance_target": s.target,
        "shapley_estimator": s.estimator,
        "n_permutations": s.n_permutations,
        "kernel_nsamples": s.kernel_nsamples,
    }


def fit_setup(params):
    """The :class:`FitSetup` of these parameters (``get_params()``, validated)."""
    family = GAME_FAMILIES[params["importance_target"]]
    if family.own_estimator is not None and params["shapley_estimator"] != "auto":
        raise ValueError(
            f"importance_target={params['importance_target']!r} ({family.name} game) has its "
            f"own estimator ({family.own_estimator}); got shapley_estimator="
            f"{params['shapley_estimator']!r}. Leave shapley_estimator='auto', or use "
            "importance_target='activation'."
        )
    checks.prune_args(params["structure"], params["allocation"])
    device = resolve_device(params["device"])
    return FitSetup(
        hidden_layer_sizes=params["hidden_layer_sizes"],
        n_components=params["n_components"],
        activation=params["activation"],
        out_activation=params["out_activation"],
        solver=params["solver"],
        batch_size=params["batch_size"],
        init=params["init"],
        column_weights=params["column_weights"],
        train=TrainingConfig(
            max_iter=params["max_iter"],
            learning_rate_init=float(params["learning_rate_init"]),
            learning_rate=params["learning_rate"],
            tol=float(params["tol"]),
            n_iter_no_change=int(params["n_iter_no_change"]),
            early_stopping=bool(params["early_stopping"]),
            validation_fraction=float(params["validation_fraction"]),
            device=str(device),
            dropout=float(params["dropout"]),
            code_top_k=None if params["code_top_k"] is None else int(params["code_top_k"]),
        ),
        scoring=scoring_config(params, 0, device),
        n_background=max(params["n_background"], params["background_pool"] or 0),
        n_explain=params["n_explain"],
        importance_level=params["importance_level"],
        target_sparsity=params["target_sparsity"],
        fold_bias=params["fold_bias"],
        allocation=params["allocation"],
        structure=params["structure"],
        fine_tune_iter=params["fine_tune_iter"],
        random_state=params["random_state"],
        device=device,
        memory=params["memory"],
        n_jobs=params["n_jobs"],
        verbose=bool(params["verbose"]),
    )
