"""The scoring stage: a trained dense network and rows in, link importances out.

``fit``, ``explain`` and the memory check all go through this module, so a new kind of
game plugs in at one place: a :class:`GameFamily` turns a network and background rows
into one cooperative game per weight layer (players: the links of that layer, grouped
by their input unit; outputs: the layer's units), and :func:`score_network` estimates
every game's Shapley values at the explained rows with the estimator the
:class:`ScoringConfig` names (see :mod:`skshapsae.scoring._shapley`), in fixed-size chunks
that joblib (or a Dask backend) may run in parallel.

``link_importances[l][i, j]`` is the mean over the explained rows of ``|phi_ij|``, with
its standard error over those rows.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from ..network._activations import numpy_activation
from ..network._network import SMALL_WORK, available_threads, torch_threads
from ._shapley import (
    GameShape,
    LayerGame,
    ShapleyEstimator,
    as_estimator,
    combine_sums,
    numpy_global_state_kept,
    partial_sums,
)

logger = logging.getLogger("skshapsae")

#: Explained rows per parallel task; tasks have their own seeds, so the result does
#: not depend on ``n_jobs``.
POINTS_PER_TASK = 25

#: Antithetic pairs per parallel task of the network game (each task has its own seed).
PAIRS_PER_TASK = 16


#: Antithetic pairs of sampled coalitions per unit of ``n_permutations`` in the
#: network game (each pair costs two forward-backward passes over the explained rows).
NETWORK_PAIRS_PER_PERMUTATION = 64


@dataclass(frozen=True)
class ScoringConfig:
    """Settings of the scoring stage.

    ``estimator`` is the Shapley estimator, with its budget (a
    :class:`~skshapsae.scoring._shapley.ShapleyEstimator`; a name is its object at the
    default budget); ``target`` picks the game: ``"activation"`` / ``"preactivation"``
    (the paper's layer game) or ``"reconstruction"`` (the network game).
    """

    estimator: ShapleyEstimator | str = "auto"
    target: str = "activation"
    seed: int = 0
    device: str = "cpu"
    #: With a background pool: rows each explained point draws from it (None: all rows;
    #: ``conductor._config.scoring_config`` takes the estimator's ``background_rows``).
    background_rows: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "estimator", as_estimator(self.estimator))

    @property
    def n_permutations(self):
        """The estimator's permutation budget (1 for those without one)."""
        return int(getattr(self.estimator, "n_permutations", 1))


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

    ``score(network, background, explained, config, n_jobs=, verbose=)`` returns
    ``(importances, stderrs, estimators)``: per weight layer an array of shape
    ``(n_out, n_in)`` of non-negative link importances, their standard errors, and the
    name of the estimator used. :func:`score_network` picks the family from
    ``config.target`` and adds the bookkeeping every family shares.
    """

    name = "base"
    #: The one estimator the family scores with, or None when ``shapley_estimator`` picks.
    own_estimator = None

    def score(self, network, background, explained, config, *, n_jobs=None, verbose=False):
        raise NotImplementedError  # pragma: no cover - interface

    def memory_bytes(self, sizes, activations, config, n_background, n_explain):
        """Largest working memory of one scoring step, and the layer it belongs to."""
        raise NotImplementedError  # pragma: no cover - interface

    def explain_layer(self, network, layer, X, background, config):
        """Per-row Shapley values of layer ``layer``'s links at the rows ``X``.

        Returns ``(phi, base, points)``: ``phi`` of shape ``(n_rows, n_out, n_in)``
        (the per-row terms whose mean absolute value is the link importance), the base
        value(s) and the layer's inputs at ``X``.
        """
        raise NotImplementedError  # pragma: no cover - interface


class LayerGames(GameFamily):
    """The paper's layer game (SPEC 2): layer ``l``'s own function ``act(W a + b)``.

    Players are the layer's inputs (masking input ``j`` masks every link ``j -> i``),
    absent inputs take the background rows' values (``v_i(J) = mean_r h_i(a_J, r_notJ)``).
    With ``target="preactivation"`` the game is ``W a + b`` and its values are closed form.
    A link's importance is the mean over the explained rows of ``|phi_ij|``; the games are
    evaluated by the estimators of :mod:`skshapsae.scoring._shapley`, in chunks of
    ``POINTS_PER_TASK`` rows that joblib (or a Dask backend) may run in parallel.
    """

    name = "layer"

    def __init__(self, target="activation"):
        self.target = target

    def activation(self, activation):
        """The activation of a layer's game: the layer's own, or identity (pre-activation)."""
        return "identity" if self.target == "preactivation" else activation

    def games(self, network, background):
        """One game per weight layer, its background the layer's inputs at ``background``."""
        inputs = network.layer_outputs(background)
        return [
            LayerGame(W, b, self.activation(act), inputs[layer])
            for layer, (W, b, act) in enumerate(
                zip(network.weights, network.biases, network.activations)
            )
        ]

    def score(self, network, background, explained, config, *, n_jobs=None, verbose=False):
        games = self.games(network, background)
        points = network.layer_outputs(explained)[:-1]
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
        for parts in partials:
            imp, err = combine_sums(parts, n_points)
            importances.append(imp)
            stderrs.append(err)
        return importances, stderrs, [config.estimator.for_game(g).name for g in games]

    def memory_bytes(self, sizes, activations, config, n_background, n_explain):
        worst, worst_layer = 0.0, 0
        for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            act = self.activation(activations[layer])
            game = GameShape(n_in, n_out, act, range(n_background))
            # the device too: the fused CPU kernel and the torch path differ in memory
            estimator = _estimator(config, game, config.seed)
            need = float(estimator.memory_bytes(game))
            if need > worst:
                worst, worst_layer = need, layer
        return worst, worst_layer

    def explain_layer(self, network, layer, X, background, config):
        """The layer game at the rows ``X``; ``base`` is the game's mean output over the
        background, per output unit (``f_i(x) = base_i + sum_j phi_ij``)."""
        inputs = layer_outputs(
            np.vstack([X, background]),
            network.weights[:layer],
            network.biases[:layer],
            network.activations[:layer],
        )[-1]
        points, rows = inputs[: len(X)], inputs[len(X) :]
        W, b = network.weights[layer], network.biases[layer]
        game = LayerGame(W, b, self.activation(network.activations[layer]), rows)
        phi, _ = _estimator(config, game, config.seed).shapley_values(game, points)
        return phi, np.tile(game(rows).mean(axis=0), (len(X), 1)), points


class NetworkGame(GameFamily):
    """The network game: players are all links, the value is the whole network's fit.

    The value of a coalition ``S`` of links is ``-MSE`` of the autoencoder's
    reconstruction of the explained rows when every link outside ``S`` is replaced by
    its mean over the background (link ``j -> i`` of layer ``l`` contributes
    ``W_ij mean(a_j)`` instead of ``W_ij a_j``; the same mean imputation as
    ``fold_bias``). So ``phi_ij`` is the share of the reconstruction error that link
    ``j -> i`` removes, seen through every later layer, and the values of all links sum
    to ``MSE(all links imputed) - MSE(dense)``.

    Estimator (``"owen-gradient"``): Owen's formula writes the Shapley value as
    ``phi_i = int_0^1 E_{S ~ Bernoulli(q)}[v(S + i) - v(S - i)] dq``. ``q`` is
    stratified over ``[0, 1]``; each stratum draws one coalition ``S`` and its
    complement (an antithetic pair, ``q`` and ``1 - q``), and one backward pass through
    the network with the links masked by ``S`` gives the derivative of the value with
    respect to every link's mask, which stands in for all the marginals
    ``v(S + i) - v(S - i)`` at once (exact to first order in the link's own effect,
    which is small when many links share a unit). Cost: two forward-backward passes over
    the explained rows per pair, independent of the number of links. The error
    against brute-force Shapley values is tested on tiny networks.

    Importance is ``|phi_ij|``, as in the layer game (a link whose presence raises the
    error matters as much as one that lowers it: measured on MNIST, ``|phi|`` gave a
    lower error after pruning than ``max(phi, 0)``). The standard error is that of the
    mean over the sampled pairs.
    """

    name = "network"
    estimator_name = own_estimator = "owen-gradient"

    def values(self, network, background, explained, config, *, n_jobs=None, verbose=False):
        """Signed Shapley values ``phi`` of every link (per layer) and their standard errors.

        The pairs are split into tasks of ``PAIRS_PER_TASK`` with their own seeds, so the
        result does not depend on ``n_jobs``.
        """
        means = [a.mean(axis=0) for a in network.layer_outputs(background)[:-1]]
        n_pairs = NETWORK_PAIRS_PER_PERMUTATION * config.n_permutations
        starts = range(0, n_pairs, PAIRS_PER_TASK)
        threads = _threads_per_job(n_jobs)
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_network_task)(
                network,
                means,
                explained,
                np.arange(begin, min(begin + PAIRS_PER_TASK, n_pairs)),
                n_pairs,
                config.seed + 7919 * begin,
                config.device,
                threads,
            )
            for begin in starts
        )
        bar = _progress(results, verbose, desc="scoring", total=len(starts), leave=False)
        totals = None
        for sums in bar:  # per task and layer: (sum, sum of squares) over its pairs
            totals = (
                sums if totals is None else [(a + c, b + d) for (a, b), (c, d) in zip(totals, sums)]
            )
        phis = [total / n_pairs for total, _ in totals]
        stderrs = [
            np.sqrt(np.maximum(sq / n_pairs - phi**2, 0) / max(n_pairs - 1, 1))
            for (_, sq), phi in zip(totals, phis)
        ]
        return phis, stderrs

    def score(self, network, background, explained, config, *, n_jobs=None, verbose=False):
        phis, stderrs = self.values(
            network, background, explained, config, n_jobs=n_jobs, verbose=verbose
        )
        importances = [np.abs(phi) for phi in phis]
        return importances, stderrs, [self.estimator_name] * len(importances)

    def explain_layer(self, network, layer, X, background, config):
        """The network game of each row alone (its value: ``-`` the row's squared error).

        ``phi[n]`` holds the values of layer ``layer``'s links for row ``n``; ``base[n]``
        is the row's value with every link imputed, so ``base[n]`` plus the values of
        the links of *all* layers is the row's ``-MSE`` (up to the estimator's error).
        """
        means = [a.mean(axis=0) for a in network.layer_outputs(background)[:-1]]
        empty = [np.zeros_like(W) for W in network.weights]
        phi, base = [], []
        for row in X:
            values, _ = self.values(network, background, row[None, :], config)
            phi.append(values[layer])
            base.append(network_game_values(network, means, row[None, :], empty))
        points = network.layer_outputs(X)[layer]
        return np.asarray(phi), np.asarray(base), points

    def memory_bytes(self, sizes, activations, config, n_background, n_explain):
        n_links = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        per_row = 8 * 4 * sum(sizes)  # activations, pre-activations and their gradients
        # weights, masks, masked weights, gradients, and the sums of estimates and squares
        per_task = 8 * 9 * n_links
        return float(per_row * n_explain + per_task), 0


def network_game_values(network, means, X, masks):
    """The network game's value ``-MSE`` at (possibly fractional) link masks, in numpy.

    ``masks[l]`` has the shape of ``network.weights[l]``; a mask of 1 keeps the link, 0
    replaces it by its mean contribution. Used by the tests' brute force.
    """
    a = X
    for W, b, act, mu, m in zip(network.weights, network.biases, network.activations, means, masks):
        Wm = W * m
        a = numpy_activation(act)((a - mu) @ Wm.T + mu @ W.T + b)
    return -float(np.mean((a - X) ** 2))


def _network_task(network, means, X, strata, n_strata, seed, device, threads):
    """Sums over the strata ``strata`` of the per-pair estimates of the network game's
    Shapley values, and of their squares: one ``(sum, sum_sq)`` pair of ``(n_out, n_in)``
    arrays per layer (memory independent of the number of pairs).
    """
    import torch

    from ..network._activations import torch_activation
    from ..network._network import resolve_device

    with torch_threads(threads=threads):
        dev = resolve_device(device)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64, device=dev)  # noqa: E731
        Ws = [as_t(W) for W in network.weights]
        offsets = [as_t(mu @ W.T + b) for W, b, mu in zip(network.weights, network.biases, means)]
        mus = [as_t(mu) for mu in means]
        acts = [torch_activation(a) for a in network.activations]
        Xt = as_t(X)
        sums = [torch.zeros(W.shape, dtype=torch.float64, device=dev) for W in Ws]
        squares = [torch.zeros(W.shape, dtype=torch.float64, device=dev) for W in Ws]

        @torch.enable_grad()  # also inside a caller's torch.no_grad()
        def gradient(masks):
            masks = [m.requires_grad_(True) for m in masks]
            a = Xt
            for W, c, mu, act, m in zip(Ws, offsets, mus, acts, masks):
                a = act((a - mu) @ (W * m).T + c)
            value = -torch.mean((a - Xt) ** 2)
            return torch.autograd.grad(value, masks)

        for k in strata:
            q = (k + float(torch.rand((), generator=gen, dtype=torch.float64))) / n_strata
            draws = [torch.rand(W.shape, generator=gen, dtype=torch.float64).to(dev) for W in Ws]
            inside = [(u < q).to(torch.float64) for u in draws]
            first = gradient([m.clone() for m in inside])
            second = gradient([1.0 - m for m in inside])
            for layer, (g1, g2) in enumerate(zip(first, second)):
                estimate = 0.5 * (g1 + g2)
                sums[layer] += estimate
                squares[layer] += estimate**2
        return [(a.cpu().numpy(), b.cpu().numpy()) for a, b in zip(sums, squares)]


GAME_FAMILIES = {
    # "auto" scores by the layer game (and the conductor adds the pre-activation game)
    "auto": LayerGames,
    "activation": LayerGames,
    "preactivation": LayerGames,
    "reconstruction": NetworkGame,
}


def game_family(target):
    """The :class:`GameFamily` that ``ScoringConfig.target`` names."""
    family = GAME_FAMILIES[target]
    return family(target) if family is LayerGames else family()


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
    """Torch threads for each scoring job: the free cores shared by the parallel jobs."""
    if n_jobs is None or n_jobs == 1:
        return available_threads()
    return max(1, available_threads() // effective_n_jobs(n_jobs))


def _estimator(config, game, seed):
    """The configured estimator, ready to play ``game`` with the stream ``seed``."""
    return config.estimator.for_game(game, seed=seed, device=config.device)


def _score_task(game, points, config, seed, threads):
    """Partial sums of ``|phi|`` for one chunk of explained points of one layer.

    With ``config.background_rows`` below the game's background (a pool), every point is
    explained against its own random subset of that many pool rows.
    """
    # a small layer's work runs on one thread: a pool's wake-ups cost more than they save
    work = len(points) * len(game.background) * game.n_outputs * game.n_players
    with torch_threads(threads=1 if work < SMALL_WORK else threads):
        rows = config.background_rows
        if rows is None or rows >= len(game.background):
            return partial_sums(game, points, _estimator(config, game, seed))
        rng = np.random.default_rng(seed)
        estimator = _estimator(config, game, seed)
        total = np.zeros((game.n_outputs, game.n_players))
        total_sq = np.zeros_like(total)
        for point in points:
            subset = game.background[rng.choice(len(game.background), rows, replace=False)]
            own = LayerGame(game.W, game.b, game.activation, subset)
            part, part_sq = partial_sums(own, point[None, :], estimator)
            total += part
            total_sq += part_sq
        return total, total_sq


def score_network(network, background, explained, config, *, n_jobs=None, verbose=False):
    """Link importances of every layer of ``network`` under the game ``config.target`` names.

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
    family = game_family(config.target)
    importances, stderrs, estimators = family.score(
        network, background, explained, config, n_jobs=n_jobs, verbose=verbose
    )
    for layer, imp in enumerate(importances):
        if not np.all(np.isfinite(imp)):
            raise ValueError(
                f"Link importances of layer {layer + 1} are not finite; the trained network "
                "produces non-finite activations. Scale the data or lower learning_rate_init."
            )
    seconds = time.perf_counter() - start
    if verbose:
        logger.info("scored %d layers in %.1fs", len(importances), seconds)
    means = [a.mean(axis=0) for a in network.layer_outputs(background)[:-1]]
    return ScoreResult(importances, stderrs, estimators, means, seconds)


def explain_layer(network, layer, X, background, config):
    """Per-row link attributions of layer ``layer`` under the game ``config.target`` names
    (see :meth:`GameFamily.explain_layer`)."""
    return game_family(config.target).explain_layer(network, layer, X, background, config)


def scoring_memory_bytes(sizes, activations, config, n_background, n_explain=0):
    """Largest working memory of one scoring step over the layers, and the layer, in bytes."""
    return game_family(config.target).memory_bytes(
        sizes, activations, config, n_background, n_explain
    )


def explain_codes(encode, background, X, feature_names, seed, max_evals, players=None):
    """Shapley attributions of the input features to the outputs of ``encode`` at the rows
    ``X``: ``shap.PermutationExplainer`` with an independent masker over ``background``.

    ``players`` (a boolean mask of the columns) restricts the game to the columns that
    ``encode`` reads: the others are dummy players, whose Shapley value is exactly 0 and
    whose presence does not change the others' values, so they are left out of the
    permutations (cheaper) and get exact zeros. Returns a ``shap.Explanation`` over all
    columns (values ``(n_rows, n_features)`` or ``(n_rows, n_features, n_outputs)``);
    shap's own progress bar shows when a run takes long.
    """
    with numpy_global_state_kept():  # shap draws from numpy's global generator
        import shap

        background = np.asarray(background)
        n_features = X.shape[1]
        players = np.ones(n_features, bool) if players is None else np.asarray(players, bool)
        if not players.any():  # nothing is read: every value is exactly 0
            out = np.asarray(encode(X[:1]))
            values = np.zeros((len(X), n_features, *out.shape[1:]))
            base = np.broadcast_to(np.asarray(encode(background)).mean(0), (len(X), *out.shape[1:]))
            return shap.Explanation(values, base, data=X, feature_names=feature_names)
        fill = background.mean(axis=0)

        def game(rows):
            full = np.tile(fill, (len(rows), 1))
            full[:, players] = rows
            return encode(full)

        names = [n for n, p in zip(feature_names, players) if p]
        masker = shap.maskers.Independent(background[:, players], max_samples=len(background))
        explainer = shap.PermutationExplainer(game, masker, seed=seed, feature_names=names)
        evals = max(int(max_evals), 2 * int(players.sum()) + 1)
        part = explainer(X[:, players], max_evals=evals, silent=False)
        values = np.zeros((len(X), n_features, *part.values.shape[2:]))
        values[:, players] = part.values
        return shap.Explanation(values, part.base_values, data=X, feature_names=list(feature_names))
