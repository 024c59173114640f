"""From the estimator's parameters to the stages' configurations.

:func:`fit_setup` turns the validated parameters of a
:class:`~skshapsae.SHAPSparseAutoencoder` and the data's shape into what the stages
take: the layer sizes and activations (``_checks``), the seeds, the training
configuration (``_network.TrainingConfig``, with ``solver`` and ``init`` resolved) and
the scoring configuration (``_scoring.ScoringConfig``). Pure: the same parameters and
shape give the same setup.
"""

from dataclasses import dataclass

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


@dataclass
class FitSetup:
    """Everything a fit needs besides the data."""

    sizes: list
    activations: list
    rng: np.random.RandomState  # draws the background and explained rows, in that order
    train_seed: int
    device: object
    scoring: ScoringConfig
    train: TrainingConfig
    weighting: str = "uniform"  # the columns' loss weights: "unique" or "uniform"


def background_size(params):
    """Rows kept as the Shapley background (the pool when ``background_pool`` is set)."""
    return max(params["n_background"], params["background_pool"] or 0)


def reservoir_size(params):
    """Rows a stream keeps for scoring: the background and the explained rows."""
    return max(background_size(params), params["n_explain"])


def resolve_solver(params, n_samples, in_memory):
    """``solver="auto"`` resolved (see the parameter's documentation)."""
    stochastic = params["dropout"] > 0 or params["code_top_k"] is not None
    if params["solver"] == "lbfgs" and params["dropout"] > 0:
        raise ValueError(
            "dropout draws a new mask at every step, which breaks L-BFGS's line search; "
            "use solver='adam' (or 'auto') with dropout."
        )
    if params["solver"] != "auto":
        return params["solver"]
    small = in_memory and n_samples <= LBFGS_MAX_ROWS
    return "lbfgs" if small and not stochastic else "adam"


def training_config(params, n_samples, n_features, seed, device, solver="adam"):
    """The dense training's :class:`TrainingConfig` for data of this shape."""
    batch = params["batch_size"]
    batch = default_batch_size(n_samples) if batch == "auto" else batch
    return TrainingConfig(
        max_iter=params["max_iter"],
        solver=solver,
        batch_size=int(batch),
        learning_rate_init=float(params["learning_rate_init"]),
        learning_rate=params["learning_rate"],
        tol=float(params["tol"]),
        n_iter_no_change=int(params["n_iter_no_change"]),
        early_stopping=bool(params["early_stopping"]),
        validation_fraction=float(params["validation_fraction"]),
        init=resolve_init(params["init"], n_features),
        seed=int(seed),
        device=str(device),
        dropout=float(params["dropout"]),
        code_top_k=None if params["code_top_k"] is None else int(params["code_top_k"]),
    )


#: The parameters of the game the links were scored by: recorded at fit
#: (``_scoring_config_``), so that ``explain`` plays the fitted game after set_params.
SCORING_PARAMS = ("importance_target", "shapley_estimator", "n_permutations", "kernel_nsamples")


def scoring_config(params, seed, device, *, pool=True):
    """The link scoring's :class:`ScoringConfig` (``pool``: score against subsets)."""
    return ScoringConfig(
        estimator=params["shapley_estimator"],
        target=params["importance_target"],
        n_permutations=params["n_permutations"],
        kernel_nsamples=params["kernel_nsamples"],
        seed=int(seed),
        device=str(device),
        background_rows=params["n_background"] if pool and params["background_pool"] else None,
    )


def resolve_weighting(params, n_features):
    """``column_weights="auto"`` resolved: ``"unique"`` for tables (at most
    ``AUTO_INIT_MAX_FEATURES`` columns) with an identity output, ``"uniform"`` otherwise."""
    kind, out = params["column_weights"], params["out_activation"]
    if kind == "unique" and out != "identity":
        raise ValueError(
            f"column_weights='unique' weighs the squared errors of the columns, which is "
            f"implemented for an identity output; out_activation={out!r}. Use "
            "out_activation='identity' or column_weights='uniform' (or 'auto')."
        )
    if kind != "auto":
        return kind
    return "unique" if out == "identity" and n_features <= AUTO_INIT_MAX_FEATURES else "uniform"


def fit_setup(params, n_samples, n_features, incremental=False, stream=False):
    """Layer sizes, activations, seeds and the training / scoring configurations."""
    family = GAME_FAMILIES[params["importance_target"]]
    if family.own_estimator is not None and params["shapley_estimator"] != "auto":
        raise ValueError(
            f"importance_target={params['importance_target']!r} ({family.name} game) has its "
            f"own estimator ({family.own_estimator}); got shapley_estimator="
            f"{params['shapley_estimator']!r}. Leave shapley_estimator='auto', or use "
            "importance_target='activation'."
        )
    checks.prune_args(params["structure"], params["allocation"])
    if incremental and params["solver"] == "lbfgs":
        raise ValueError(
            "partial_fit trains with a stochastic solver, but solver='lbfgs' is "
            "full-batch. Use solver='adam' or 'auto' with partial_fit, or fit."
        )
    sizes = checks.layer_sizes(params["hidden_layer_sizes"], n_features, params["n_components"])
    checks.code_top_k(params["code_top_k"], sizes[len(sizes) // 2])
    device = resolve_device(params["device"])
    rng = check_random_state(params["random_state"])
    train_seed, shap_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
    solver = resolve_solver(params, n_samples, in_memory=not (incremental or stream))
    return FitSetup(
        sizes=sizes,
        activations=layer_activations(
            params["activation"], params["out_activation"], len(sizes) - 1
        ),
        rng=rng,
        train_seed=train_seed,
        device=device,
        scoring=scoring_config(params, shap_seed, device),
        train=training_config(params, n_samples, n_features, train_seed, device, solver),
        weighting=resolve_weighting(params, n_features),
    )
