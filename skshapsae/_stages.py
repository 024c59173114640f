"""The method's stages composed: train -> score (the dense stage), then prune -> tune.

Each function takes numpy arrays and configurations and returns a dict of fitted
attributes (names from the schema in ``_fitted``); the estimator validates, calls them
and assigns the result at once. Nothing here reads or writes an estimator.

* :func:`dense_stage`: train the dense network and score its links, everything that
  does not depend on the level (cached by ``memory`` across a search over it);
* :func:`prune_stage`: masks at a level, a target sparsity or given counts, the
  dead-unit cascade, mean folding, then masked fine-tuning;
* :func:`resume_point` / :func:`train_increment`: ``partial_fit``'s continued training.
"""

import copy
import logging
from dataclasses import replace

import numpy as np

from ._attribution import input_relevance
from ._network import (
    StreamState,
    TrainingConfig,
    fine_tune,
    train_autoencoder,
    unique_variance_weights,
)
from ._pruning import Pruner, to_csr
from ._scoring import DenseNetwork, _progress, score_network
from ._streaming import Reservoir

logger = logging.getLogger("skshapsae")


def sample_rows(n_samples, wanted, rng):
    """``wanted`` sorted row indices drawn without replacement; all rows of a small table
    (documented, no warning)."""
    if wanted >= n_samples:
        return np.arange(n_samples)
    return np.sort(rng.choice(n_samples, size=wanted, replace=False))


def column_weights(kind, rows, sizes, seed):
    """The loss weights of the columns: ``"unique"`` (one over the unique variance, with
    as many factors as the code has units; see ``unique_variance_weights``) or ``"uniform"``
    (ones: the plain MSE)."""
    if kind == "uniform":
        return np.ones(sizes[0])
    return unique_variance_weights(rows, sizes[len(sizes) // 2], seed=seed)


def train_dense(data, sizes, activations, config, verbose, **kwargs):
    """Train the dense network (see :func:`train_autoencoder`), with a progress bar."""
    bar = _progress(range(config.max_iter), verbose, desc="training", leave=False)
    progress = None
    if verbose:

        def progress(epoch, loss):
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}")

    trained = train_autoencoder(data, sizes, activations, config, progress=progress, **kwargs)
    if verbose:
        bar.close()
        logger.info(
            "trained %s in %.1fs (%d %s), final loss %.4g",
            "-".join(map(str, sizes)),
            trained.seconds,
            trained.n_iter,
            "iterations" if config.solver == "lbfgs" else "epochs",
            trained.loss_curve[-1] if trained.loss_curve else float("nan"),
        )
    return trained


def dense_stage(
    X,
    sizes,
    activations,
    bg_rows,
    ex_rows,
    *,
    train,
    scoring,
    weighting="uniform",
    verbose=False,
    n_jobs=None,
):
    """Train the dense network and score all its links: everything that does not depend on m.

    A pure function of its arguments, so ``joblib.Memory`` can cache it across
    the candidates of a search over ``importance_level`` / ``target_sparsity``.
    ``weighting`` is the resolved ``column_weights`` (``"unique"`` or ``"uniform"``).
    """
    weights = column_weights(weighting, X, sizes, train.seed)
    trained = train_dense(X, sizes, activations, train, verbose, column_weights=weights)
    return scored_state(trained, X[bg_rows], X[ex_rows], activations, scoring, n_jobs, verbose)


def scored_state(trained, background, explained, activations, scoring, n_jobs, verbose):
    """Fitted attributes of a trained dense network once its links are scored.

    Two private entries travel with them to the estimator: ``_converged_`` (for the
    ``ConvergenceWarning``) and ``_final_learning_rate_`` (where fine-tuning starts).
    """
    network = DenseNetwork(trained.weights, trained.biases, activations)
    weights = trained.column_weights
    weights = np.ones(len(background[0])) if weights is None else weights
    scores = score_network(network, background, explained, scoring, n_jobs=n_jobs, verbose=verbose)
    return {
        "dense_weights_": trained.weights,
        "dense_intercepts_": trained.biases,
        "dense_loss_curve_": trained.loss_curve,
        "n_iter_": trained.n_iter,
        "_final_learning_rate_": trained.final_learning_rate,
        "_converged_": trained.converged,
        "validation_scores_": trained.validation_scores,
        "best_validation_score_": (
            max(trained.validation_scores) if trained.validation_scores else None
        ),
        "column_weights_": np.asarray(weights, dtype=np.float64),
        **importance_state(scores.importances, scores.stderrs, scores.estimators, weights),
        "layer_input_means_": scores.layer_input_means,
        "background_": background,
        "fit_times_": {"training": trained.seconds, "scoring": scores.seconds},
    }


def importance_state(importances, stderrs, estimators, weights=None):
    """Link, unit (eq. 4) and feature importances from per-layer link scores.

    ``feature_importances_`` is the inputs' share of the relevance of the reconstruction
    weighted by the columns' loss ``weights`` (see ``_attribution``), normalised to sum
    to 1; ``unit_importances_`` is eq. 4.
    """
    unit_importances = [imp.mean(axis=0) for imp in importances]
    relevance = input_relevance(importances, weights)
    total = relevance.sum()
    return {
        "link_importances_": importances,
        "link_importance_stderr_": stderrs,
        "shapley_estimators_": estimators,
        "unit_importances_": unit_importances,
        "feature_importances_": relevance / total if total > 0 else relevance,
    }


def prune_stage(
    state,
    X,
    *,
    level,
    target,
    counts,
    fold_bias,
    allocation,
    fine_tune_iter,
    device,
    structure="links",
):
    """Pruning attributes (and masked fine-tuning on ``X``) for a trained, scored network.

    ``counts`` (per-layer numbers of kept links) overrides ``level`` and ``target``;
    ``target`` (a sparsity) overrides ``level``. Without ``X`` or with
    ``fine_tune_iter=0`` the pruned network is not fine-tuned. Fine-tuning runs on
    ``device`` (the estimator's, not the one the model was trained on: a model trained
    on CUDA can be re-pruned on a CPU machine).
    """
    weights, biases = state["dense_weights_"], state["dense_intercepts_"]
    activations = state["activations_"]
    means = state["layer_input_means_"] if fold_bias else None
    pruner = Pruner(
        state["link_importances_"], weights, biases, activations, means, allocation, structure
    )
    if counts is not None:
        pruned = pruner.prune_counts(counts)
    elif target is not None:
        pruned = pruner.solve(target)
    else:
        pruned = pruner.prune(level)
    weights = [np.where(m, W, 0.0) for W, m in zip(weights, pruned.masks)]
    biases = pruned.biases
    loss_curve = list(state["dense_loss_curve_"])
    if fine_tune_iter > 0 and X is not None:
        tuned = fine_tune(
            X,
            state["layer_sizes_"],
            activations,
            weights,
            biases,
            pruned.masks,
            replace(TrainingConfig(**state["_training_config_"]), device=str(device)),
            fine_tune_iter,
            column_weights=state.get("column_weights_"),
        )
        weights, biases = tuned.weights, tuned.biases
        loss_curve += tuned.loss_curve
    return {
        "link_masks_": pruned.masks,
        "active_units_": pruned.active_units,
        "weights_": to_csr(weights, pruned.masks),
        "intercepts_": biases,
        "sparsity_": pruned.sparsity,
        "layer_sparsity_": pruned.layer_sparsity,
        "importance_level_": pruned.level,
        "keep_counts_": pruned.keep_counts,
        "loss_curve_": loss_curve,
    }


def new_increment(reservoir_rows, seed):
    """``partial_fit``'s state before its first call (the loss weights come from the first
    chunk, as the PCA start does)."""
    return {
        "column_weights": None,
        "reservoir": Reservoir(reservoir_rows, np.random.default_rng(seed)),
        "state": None,
        "calls": 0,
        "loss_curve": [],
        "training_seconds": 0.0,
    }


def resume_point(model, reservoir_rows, seed):
    """Where ``partial_fit`` continues a fitted or loaded model (its fitted attributes).

    The dense weights with fresh Adam moments, at a tenth of the step size the fit ended
    with: fresh moments make full-size first steps, so a converged network is refined,
    not shaken (measured: at the full step the loss of a converged digits model rose
    4 %). The reservoir restarts from ``background_``.
    """
    reservoir = Reservoir(reservoir_rows, np.random.default_rng(seed))
    reservoir.restart(model["background_"], model["n_samples_seen_"])
    config = model.get("_training_config_")
    return {
        "reservoir": reservoir,
        "state": StreamState(
            [np.array(W) for W in model["dense_weights_"]],
            [np.array(b) for b in model["dense_intercepts_"]],
            learning_rate=config["learning_rate_init"] / 10 if config else None,
        ),
        "calls": int(model["n_iter_"]),
        "loss_curve": list(model["dense_loss_curve_"]),
        # files from before the weighted loss: the plain loss they were trained on
        "column_weights": model.get("column_weights_", np.ones(model["layer_sizes_"][0])),
        "training_seconds": float(model["fit_times_"]["training"]),
        "sizes": list(model["layer_sizes_"]),
        "activations": list(model["activations_"]),
    }


def train_increment(X, setup, resume):
    """One pass of training over the chunk ``X``, continuing ``resume`` (a copy is updated).

    Returns ``(trained, resume)``: the training result with the whole stream's loss
    curve, call count and seconds, and the updated stream state.
    """
    resume = copy.deepcopy(resume)
    if "sizes" in resume and [resume["sizes"], resume["activations"]] != [
        setup.sizes,
        setup.activations,
    ]:
        raise ValueError(
            f"partial_fit continues the fitted network {resume['sizes']} with activations "
            f"{resume['activations']}, but the parameters now ask for {setup.sizes} "
            f"with {setup.activations}. Set hidden_layer_sizes / n_components / "
            "activation / out_activation back, or call fit to start afresh."
        )
    resume["sizes"], resume["activations"] = setup.sizes, setup.activations
    if resume.get("column_weights") is None:
        resume["column_weights"] = column_weights(setup.weighting, X, setup.sizes, setup.train.seed)
    resume["reservoir"].update(X)
    trained = train_autoencoder(
        X,
        setup.sizes,
        setup.activations,
        setup.train,
        n_epochs=1,
        state=resume["state"],
        column_weights=resume["column_weights"],
    )
    resume["state"] = trained.state
    resume["calls"] += 1
    resume["loss_curve"] += trained.loss_curve
    resume["training_seconds"] += trained.seconds
    trained = replace(
        trained,
        loss_curve=list(resume["loss_curve"]),
        n_iter=resume["calls"],
        seconds=resume["training_seconds"],
    )
    return trained, resume
