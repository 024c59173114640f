"""Pruning of a scored network (SPEC section 4), in pure numpy / scipy.sparse.

Layer ``l`` (``0 <= l < 2L`` here, ``l + 1`` in the paper) maps the units of
layer ``l`` to those of layer ``l + 1``; its weight, mask and importance
arrays have shape ``(n(l+1), n(l))``.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..network._activations import numpy_activation


@dataclass
class PrunedNetwork:
    """Result of :meth:`Pruner.prune`: masks, adjusted biases, surviving units and sparsity."""

    masks: list
    biases: list
    active_units: list
    sparsity: float
    layer_sparsity: np.ndarray
    level: float
    keep_counts: list


class _LayerRanking:
    """Descending order of one layer's importances (ties by flat index), for eq. 8."""

    def __init__(self, importance):
        self.shape = importance.shape
        flat = importance.ravel()
        self.order = np.argsort(-flat, kind="stable")
        self.n_positive = int(np.count_nonzero(flat[self.order] > 0))
        cum = np.cumsum(flat[self.order])
        self.cum_share = cum / cum[-1] if cum.size and cum[-1] > 0 else np.zeros_like(cum)

    def top(self, count):
        """Mask of the ``count`` most important links (never links of zero importance)."""
        keep = np.zeros(self.order.size, dtype=bool)
        keep[self.order[: min(int(count), self.n_positive)]] = True
        return keep.reshape(self.shape)

    def keep_count(self, level):
        """``k*``: the fewest top links whose importance reaches ``level`` of the total."""
        if self.n_positive == 0:
            return 0
        # relative tolerance so that level=1 reaches the total despite rounding
        k = int(np.searchsorted(self.cum_share, level * (1 - 1e-12), side="left")) + 1
        return min(k, self.n_positive)

    def mask(self, level):
        return self.top(self.keep_count(level))


def fold_pruned_means(weights, biases, masks, input_means):
    """Biases with each pruned link's mean contribution ``W_ij * mean(a_j)`` folded in."""
    return [
        b + np.where(m, 0.0, W) @ mu for W, b, m, mu in zip(weights, biases, masks, input_means)
    ]


def cascade(masks, weights, biases, activations):
    """Remove dead hidden units until nothing changes (SPEC section 4).

    A hidden unit without a kept outgoing link is removed with its incoming
    links. A hidden unit without a kept incoming link outputs the constant
    ``act(b)``, which is folded into the next layer's biases through its kept
    outgoing links; then it is removed too.

    Returns ``(masks, biases, active_units)``, new arrays; inputs are not modified.
    """
    masks = [m.copy() for m in masks]
    biases = [np.array(b, dtype=np.float64, copy=True) for b in biases]
    n_layers = len(masks)
    alive = [np.ones(masks[0].shape[1], dtype=bool)]
    alive += [np.ones(m.shape[0], dtype=bool) for m in masks]
    changed = True
    while changed:
        changed = False
        for k in range(1, n_layers):  # hidden layers
            incoming, outgoing = masks[k - 1], masks[k]
            has_out = outgoing.any(axis=0)
            has_in = incoming.any(axis=1)
            dead = alive[k] & ~has_out
            if dead.any():
                incoming[dead, :] = False
                alive[k] &= ~dead
                changed = True
            constant = alive[k] & ~has_in & has_out
            if constant.any():
                value = numpy_activation(activations[k - 1])(biases[k - 1][constant])
                kept = np.where(outgoing[:, constant], weights[k][:, constant], 0.0)
                biases[k] = biases[k] + kept @ value
                outgoing[:, constant] = False
                alive[k] &= ~constant
                changed = True
    alive[0] = masks[0].any(axis=0)
    alive[-1] = masks[-1].any(axis=1)
    return masks, biases, alive


def sparsity(masks):
    """Overall sparsity eta (eq. 9) and the per-layer share of pruned links."""
    sizes = np.array([m.size for m in masks])
    pruned = np.array([m.size - np.count_nonzero(m) for m in masks])
    return float(pruned.sum() / sizes.sum()), pruned / sizes


class Pruner:
    """Prunes one scored network at any importance level or target sparsity.

    ``allocation="layer"`` is the paper's eq. 8: every layer keeps the fewest links
    carrying a share ``level`` of *its own* total importance. ``"global"`` ranks the
    links of all layers together and keeps the fewest carrying ``level`` of the whole
    network's importance, so the scores decide how sparse each layer gets (meaningful
    when the scores of different layers share a unit, as the network game's do).

    ``structure="units"`` removes whole units instead (structured pruning): every layer
    but the output keeps the fewest units whose unit importance (eq. 4, the mean
    importance of the unit's outgoing links) reaches a share ``level`` of the layer's
    total, and the links between kept units all stay. The pruned network compacts to a
    smaller *dense* network, which any runtime runs faster; the sparsity (the share of
    removed links) is then the share of removed multiply-adds.

    ``allowed`` (one boolean mask per layer) limits every pruning to those links
    (``reprune(rescore=True)``: a subset of the model's links, whole units included).

    Sorting the importances happens once, so trying many levels (as :meth:`solve`
    does) costs one cascade per level.
    """

    def __init__(
        self,
        importances,
        weights,
        biases,
        activations,
        input_means=None,
        allocation="layer",
        structure="links",
        allowed=None,
    ):
        importances = [np.asarray(imp) for imp in importances]
        # the links that may be kept (None: all): a rescored model keeps a subset of its
        # links, whole units included
        self.allowed = None if allowed is None else [np.asarray(m, dtype=bool) for m in allowed]
        if structure not in ("links", "units"):
            raise ValueError(f"structure must be 'links' or 'units', got {structure!r}.")
        if structure == "units" and allocation != "layer":
            raise ValueError(
                "structure='units' keeps a share of each layer's unit importance; "
                "allocation='global' ranks links. Use allocation='layer' with units."
            )
        self.structure = structure
        self.rankings = [_LayerRanking(imp) for imp in importances]
        self.unit_rankings = [_LayerRanking(imp.mean(axis=0)) for imp in importances]
        self.allocation = allocation
        if allocation == "global":
            self._global = _LayerRanking(np.concatenate([imp.ravel() for imp in importances]))
            self._layer_of = np.repeat(np.arange(len(importances)), [i.size for i in importances])
        self.weights = weights
        self.biases = biases
        self.activations = activations
        self.input_means = input_means

    def keep_counts(self, level):
        """Links each layer keeps at ``level`` under the allocation."""
        if self.allocation == "layer":
            return [r.keep_count(level) for r in self.rankings]
        top = self._global.order[: self._global.keep_count(level)]
        return np.bincount(self._layer_of[top], minlength=len(self.rankings)).tolist()

    def prune(self, level):
        """Support sets at ``level`` (eq. 8), optional mean folding, then the cascade."""
        if self.structure == "units":
            return self.prune_units(level)
        return self.prune_counts(self.keep_counts(level), level)

    def unit_masks(self, level):
        """Kept units of every layer at ``level`` (the output layer keeps all)."""
        kept = [r.mask(level) for r in self.unit_rankings]
        return [*kept, np.ones(self.rankings[-1].shape[0], dtype=bool)]

    def prune_units(self, level):
        """Structured pruning: the links between the units kept at ``level``."""
        units = self.unit_masks(level)
        masks = [np.outer(units[k + 1], units[k]) for k in range(len(self.rankings))]
        counts = [int(np.count_nonzero(m)) for m in masks]
        return self._finish(masks, level, counts)

    def prune_counts(self, counts, level=float("nan")):
        """Keep the ``counts[l]`` most important links of each layer, then fold and cascade.

        This is how baselines are compared at equal per-layer keep counts.
        """
        masks = [r.top(k) for r, k in zip(self.rankings, counts)]
        return self._finish(masks, level, counts)

    def _finish(self, masks, level, counts):
        """Mean folding (optional) and the cascade of the kept links ``masks``."""
        if self.allowed is not None:
            masks = [m & a for m, a in zip(masks, self.allowed)]
        biases = self.biases
        if self.input_means is not None:
            biases = fold_pruned_means(self.weights, biases, masks, self.input_means)
        masks, biases, active = cascade(masks, self.weights, biases, self.activations)
        eta, per_layer = sparsity(masks)
        return PrunedNetwork(
            masks, biases, active, eta, per_layer, float(level), [int(k) for k in counts]
        )

    def solve(self, target, n_steps=60):
        """Prune at the level whose sparsity is closest to ``target`` (bisection on the level).

        Sparsity falls as the level rises, in steps; the closest achievable
        sparsity is returned when ``target`` itself is not reachable, and on
        ties the higher level (more links kept) wins.
        """
        best = self.prune(1.0)
        if best.sparsity >= target:
            return best
        lo, hi = 0.0, 1.0
        for _ in range(n_steps):
            mid = 0.5 * (lo + hi)
            if mid <= 0.0:
                break
            result = self.prune(mid)
            gap, best_gap = abs(result.sparsity - target), abs(best.sparsity - target)
            if gap < best_gap or (gap == best_gap and mid > best.level):
                best = result
            if result.sparsity > target:
                lo = mid
            else:
                hi = mid
        return best


def reconstruction_error(weights, biases, activations, rows):
    """Mean squared error with which a network (weights with the pruned links at zero,
    biases) reconstructs ``rows``."""
    A = rows
    for W, b, act in zip(weights, biases, activations):
        A = numpy_activation(act)(A @ W.T + b)
    return float(np.mean((A - rows) ** 2))


#: A competing ranking's pruned network may keep this share more links than the first
#: ranking's (see :func:`prune_by_evidence`); a larger one does not compete.
FAIR_SIZE = 0.01


def prune_by_evidence(rankings, prune, finish):
    """The pruning of the ranking whose finished network reconstructs best.

    ``rankings`` maps a game's name to its link importances; ``prune(importances,
    sparsity=None)`` prunes by them. The first ranking is pruned as asked (a level, a
    target or counts), every other one to the same sparsity (or counts), each with its own
    eq. 8 allocation among the layers, so that they compete at equal size (one that
    keeps more than :data:`FAIR_SIZE` more links, where the sparsity is not reachable
    for it, is left out; so is one that keeps the first's links and biases, the same network).
    ``finish(pruned)`` turns a pruning into its final network (fine-tuned, when the fit
    fine-tunes) and returns ``(error, network)``. The lowest error wins, the first
    ranking on ties. Returns ``(name, PrunedNetwork, error, network)``.
    """
    names = list(rankings)
    pruned = {names[0]: prune(rankings[names[0]])}
    first = pruned[names[0]].sparsity
    for name in names[1:]:
        candidate = prune(rankings[name], sparsity=first)
        # it competes only at the same size: at most 1 % more kept links (a small
        # network's cascade can leave the target unreachable for one ranking)
        fair = candidate.sparsity >= first - FAIR_SIZE * (1.0 - first)
        # the same links and biases (folding depends on the masks before the cascade
        # too) as the first ranking's: the same network, not finished twice
        lead = pruned[names[0]]
        same = all(
            np.array_equal(a, b)
            for ours, theirs in ((candidate.masks, lead.masks), (candidate.biases, lead.biases))
            for a, b in zip(ours, theirs)
        )
        if fair and not same:
            pruned[name] = candidate
    finished = {name: finish(p) for name, p in pruned.items()}
    best = min(pruned, key=lambda name: finished[name][0])  # the first of equal errors
    return (best, pruned[best], *finished[best])


def to_csr(weights, masks):
    """Pruned weights as CSR arrays storing exactly the kept links."""
    out = []
    for W, m in zip(weights, masks):
        rows, cols = np.nonzero(m)
        out.append(sp.csr_array((W[rows, cols], (rows, cols)), shape=W.shape))
    return out


def sparsity_curve(
    levels, importances, weights, biases, activations, allocation="layer", structure="links"
):
    """Sparsity ``eta`` after the cascade at each importance level in ``levels``."""
    pruner = Pruner(
        importances, weights, biases, activations, allocation=allocation, structure=structure
    )
    return np.array([pruner.prune(m).sparsity for m in levels])
