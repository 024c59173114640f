"""The scoring stage: a trained dense network and rows in, link importances out.

``fit``, ``explain`` and the memory check all go through this module, so a new kind of
game plugs in at one place: a :class:`GameFamily` turns a network and background rows
into one cooperative game per weight layer (players: the links of that layer, grouped
by their input unit; outputs: the layer's units), and :func:`score_network` estimates
every game's Shapley values at the explained rows with the estimator the
:class:`ScoringConfig` names (see :mod:`skshapsae._shapley`), in fixed-size chunks
that joblib (or a Dask backend) may run in parallel.

``link_importances[l][i, j]`` is the mean over the explained rows of ``|phi_ij|``, with
its standard error over those rows.
"""

import logging
import os
import time
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from ._activations import numpy_activation
from ._shapley import (
    GameShape,
    LayerGame,
    combine_sums,
    make_estimator,
    partial_sums,
    resolve_estimator,
)

logger = logging.getLogger("skshapsae")

#: Explained rows per parallel task; tasks have their own seeds, so the result does
#: not depend on ``n_jobs``.
POINTS_PER_TASK = 25


@dataclass(frozen=True)
class ScoringConfig:
    """Settings of the scoring stage (the estimator's parameters of the same names)."""

    estimator: str = "auto"
    target: str = "activation"
    n_permutations: int = 1
    kernel_nsamples: object = "auto"
    seed: int = 0
    device: str = "cpu"


@dataclass
class DenseNetwork:
    """The trained dense network: per weight layer ``W (n_out, n_in)``, ``b`` and activation."""

    weights: list
    biases: list
    activations: list

    def layer_outputs(self, A):
        """Outputs of every layer for the rows ``A`` (``len(weights) + 1`` arrays)."""
        return layer_outputs(A, self.weights, self.biases, self.activations)


def layer_outputs(A, weights, biases, activations):
    """Outputs of every layer for the rows ``A`` (a list of ``len(weights) + 1`` arrays)."""
    outs = [A]
    for W, b, act in zip(weights, biases, activations):
        A = numpy_activation(act)(A @ W.T + b)
        outs.append(A)
    return outs


class GameFamily:
    """Interface: the cooperative games whose Shapley values score a network's links.

    ``games(network, background)`` returns one game per weight layer, each with
    ``n_players`` (the layer's inputs), ``n_outputs`` (its units), ``activation`` and a
    ``background``; ``points(network, X)`` the rows at which each layer's game is
    explained. Games are evaluated by the estimators of :mod:`skshapsae._shapley`.
    """

    name = "base"

    def games(self, network, background):  # pragma: no cover - interface
        raise NotImplementedError

    def points(self, network, X):  # pragma: no cover - interface
        raise NotImplementedError


class LayerGames(GameFamily):
    """The paper's layer game (SPEC 2): layer ``l``'s own function ``act(W a + b)``.

    Players are the layer's inputs (masking input ``j`` masks every link ``j -> i``),
    absent inputs take the background rows' values (``v_i(J) = mean_r h_i(a_J, r_notJ)``).
    With ``target="preactivation"`` the game is ``W a + b`` and its values are closed form.
    """

    name = "layer"

    def __init__(self, target="activation"):
        self.target = target

    def activation(self, activation):
        """The activation of a layer's game: the layer's own, or identity (pre-activation)."""
        return "identity" if self.target == "preactivation" else activation

    def games(self, network, background):
        inputs = network.layer_outputs(background)
        return [
            LayerGame(W, b, self.activation(act), inputs[layer])
            for layer, (W, b, act) in enumerate(
                zip(network.weights, network.biases, network.activations)
            )
        ]

    def points(self, network, X):
        return network.layer_outputs(X)[:-1]


@dataclass
class ScoreResult:
    """Output of :func:`score_network`."""

    importances: list
    stderrs: list
    estimators: list
    layer_input_means: list
    seconds: float


def _progress(iterable, enabled, **kwargs):
    """Wrap ``iterable`` in a tqdm progress bar when ``enabled``."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def _threads_per_job(n_jobs):
    """Torch threads for each parallel scoring job, so jobs do not oversubscribe the CPU."""
    if n_jobs is None or n_jobs == 1:
        return None
    workers = effective_n_jobs(n_jobs)
    return max(1, (os.cpu_count() or 1) // workers)


def _estimator(config, game, seed):
    return make_estimator(
        config.estimator,
        game,
        n_permutations=config.n_permutations,
        kernel_nsamples=config.kernel_nsamples,
        seed=seed,
        device=config.device,
    )


def _score_task(game, points, config, seed, threads):
    """Partial sums of ``|phi|`` for one chunk of explained points of one layer."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return partial_sums(game, points, _estimator(config, game, seed))
    finally:
        torch.set_num_threads(previous)


def score_network(network, background, explained, config, *, n_jobs=None, verbose=False):
    """Link importances of every layer of ``network`` (mean ``|phi|`` over ``explained``).

    Parameters
    ----------
    network : DenseNetwork
    background, explained : ndarray of shape (n_rows, n_features)
        Rows whose layer inputs form each game's background, and the rows explained.
    config : ScoringConfig
    n_jobs : int or None
        Parallel jobs (joblib), each with ``cpu_count // n_jobs`` torch threads.
    verbose : bool
        tqdm progress bar and a log line.

    Returns
    -------
    ScoreResult
    """
    start = time.perf_counter()
    family = LayerGames(config.target)
    games = family.games(network, background)
    points = family.points(network, explained)
    n_points = len(explained)
    tasks = [
        (layer, begin)
        for layer in range(len(games))
        for begin in range(0, n_points, POINTS_PER_TASK)
    ]
    threads = _threads_per_job(n_jobs)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_score_task)(
            games[layer],
            points[layer][begin : begin + POINTS_PER_TASK],
            config,
            config.seed + 7919 * layer + begin,
            threads,
        )
        for layer, begin in tasks
    )
    partials = [[] for _ in games]
    bar = _progress(results, verbose, desc="scoring", total=len(tasks), leave=False)
    for (layer, _), result in zip(tasks, bar):
        partials[layer].append(result)
    importances, stderrs = [], []
    for layer, parts in enumerate(partials):
        imp, err = combine_sums(parts, n_points)
        if not np.all(np.isfinite(imp)):
            raise ValueError(
                f"Link importances of layer {layer + 1} are not finite; the trained network "
                "produces non-finite activations. Scale the data or lower learning_rate_init."
            )
        importances.append(imp)
        stderrs.append(err)
    seconds = time.perf_counter() - start
    if verbose:
        logger.info("scored %d layers in %.1fs", len(importances), seconds)
    return ScoreResult(
        importances,
        stderrs,
        [resolve_estimator(config.estimator, game) for game in games],
        [g.background.mean(axis=0) for g in games],
        seconds,
    )


def explain_layer(network, layer, X, background, config):
    """Per-row Shapley values ``phi[n, i, j]`` of layer ``layer``'s game at the rows ``X``.

    Returns ``(phi, base, points)``: the values, the game's mean output over the
    background (``f(x) = base + sum_j phi_j``) and the layer's inputs at ``X``.
    """
    family = LayerGames(config.target)
    inputs = layer_outputs(
        np.vstack([X, background]),
        network.weights[:layer],
        network.biases[:layer],
        network.activations[:layer],
    )[-1]
    points, rows = inputs[: len(X)], inputs[len(X) :]
    W, b = network.weights[layer], network.biases[layer]
    game = LayerGame(W, b, family.activation(network.activations[layer]), rows)
    phi, _ = _estimator(config, game, config.seed).shapley_values(game, points)
    return phi, game(rows).mean(axis=0), points


def scoring_memory_bytes(sizes, activations, config, n_background):
    """Largest working memory of one scoring step over the layers, and the layer, in bytes."""
    family = LayerGames(config.target)
    worst, worst_layer = 0.0, 0
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        game = GameShape(n_in, n_out, family.activation(activations[layer]), range(n_background))
        estimator = make_estimator(
            config.estimator,
            game,
            n_permutations=config.n_permutations,
            kernel_nsamples=config.kernel_nsamples,
        )
        need = float(estimator.memory_bytes(game))
        if need > worst:
            worst, worst_layer = need, layer
    return worst, worst_layer
