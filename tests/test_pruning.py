"""Support sets, the dead-unit cascade, sparsity, target sparsity and sparse inference."""

import copy
import warnings
from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp

from skshapsae import SHAPSparseAutoencoder, _inference, _scoring
from skshapsae.pruning._pruning import Pruner, cascade, prune_by_evidence, sparsity

from _models import fast_model


def support_masks(importances, level):
    """Support sets (eq. 8) of single-layer networks, where the cascade changes nothing."""
    return [
        Pruner([imp], [np.ones_like(imp)], [np.zeros(len(imp))], ["identity"]).prune(level).masks[0]
        for imp in importances
    ]


def test_support_set_is_smallest_top_set_reaching_level():
    imp = np.array([[0.5, 0.1], [0.3, 0.1]])
    # total 1.0: 0.5 < 0.6 <= 0.8, so two links reach m=0.6
    (mask,) = support_masks([imp], 0.6)
    assert mask.tolist() == [[True, False], [True, False]]
    (mask,) = support_masks([imp], 0.8)
    assert mask.sum() == 2
    (mask,) = support_masks([imp], 0.81)
    # ties (0.1, 0.1) break by position: the first in row-major order is kept
    assert mask.tolist() == [[True, True], [True, False]]


def test_level_one_keeps_exactly_the_positive_links():
    imp = np.array([[0.0, 0.2, 0.0], [0.7, 0.0, 0.1]])
    (mask,) = support_masks([imp], 1.0)
    np.testing.assert_array_equal(mask, imp > 0)
    (mask,) = support_masks([np.zeros((2, 2))], 1.0)
    assert not mask.any()


def test_cascade_paper_example_code_unit_without_outgoing_links():
    """Paper 3.1: z2 keeps no outgoing link, so (2,3), (2,5), (2,6) are dropped too."""
    enc = np.zeros((3, 6), dtype=bool)
    for i, j in [(1, 2), (1, 4), (1, 5), (1, 6), (3, 5), (2, 3), (2, 5), (2, 6)]:
        enc[i - 1, j - 1] = True
    dec = np.zeros((6, 3), dtype=bool)
    for i, j in [(2, 1), (2, 3), (3, 1), (3, 3), (4, 1), (5, 3), (6, 1)]:
        dec[i - 1, j - 1] = True
    W = [np.ones((3, 6)), np.ones((6, 3))]
    b = [np.zeros(3), np.zeros(6)]
    masks, _, active = cascade([enc, dec], W, b, ["logistic", "identity"])
    kept = {(i + 1, j + 1) for i, j in zip(*np.nonzero(masks[0]))}
    assert kept == {(1, 2), (1, 4), (1, 5), (1, 6), (3, 5)}
    assert active[1].tolist() == [True, False, True]
    np.testing.assert_array_equal(masks[1], dec)
    assert enc.sum() == 8  # the caller's masks are not modified


def test_cascade_folds_constant_units_into_next_bias():
    # hidden unit 0 has no incoming link but one outgoing: it outputs sigmoid(b) = 0.5
    masks = [np.array([[False, False], [True, True]]), np.array([[True, True]])]
    W = [np.ones((2, 2)), np.array([[2.0, 3.0]])]
    b = [np.array([0.0, 0.0]), np.array([1.0])]
    new_masks, new_b, active = cascade(masks, W, b, ["logistic", "identity"])
    assert active[1].tolist() == [False, True]
    assert not new_masks[1][0, 0]
    np.testing.assert_allclose(new_b[1], [1.0 + 2.0 * 0.5])


def test_sparsity_counts_links_over_all_layers():
    masks = [np.ones((2, 4), dtype=bool), np.zeros((4, 2), dtype=bool)]
    eta, per_layer = sparsity(masks)
    assert eta == 0.5
    np.testing.assert_array_equal(per_layer, [0.0, 1.0])


def test_solve_reaches_target_within_half_percent():
    rng = np.random.default_rng(0)
    shapes = [(16, 32), (8, 16), (16, 8), (32, 16)]
    imps = [rng.exponential(size=s) for s in shapes]
    W = [rng.normal(size=s) for s in shapes]
    b = [np.zeros(s[0]) for s in shapes]
    pruner = Pruner(imps, W, b, ["logistic"] * 3 + ["identity"])
    for target in [0.3, 0.5, 0.8, 0.9]:
        assert abs(pruner.solve(target).sparsity - target) <= 0.005


# the (8, 4) autoencoder these tests share, with optional parameter overrides
_model = partial(
    fast_model,
    hidden_layer_sizes=(8, 4),
    activation="logistic",
    max_iter=10,
    n_background=50,
    n_explain=50,
)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(200, 12))
    X[:, 6:] = X[:, :6] ** 2
    return X, _model().fit(X)


def test_fitted_attribute_shapes(fitted):
    X, ae = fitted
    sizes = [12, 8, 4, 8, 12]
    assert ae.n_components_ == 4
    assert len(ae.link_importances_) == len(ae.weights_) == len(ae.link_masks_) == 4
    assert len(ae.active_units_) == 5
    for layer, (imp, W, m) in enumerate(zip(ae.link_importances_, ae.weights_, ae.link_masks_)):
        shape = (sizes[layer + 1], sizes[layer])
        assert imp.shape == W.shape == m.shape == shape
        assert sp.issparse(W) and W.format == "csr"
        assert np.all(imp >= 0)
    for k, ui in enumerate(ae.unit_importances_):
        np.testing.assert_allclose(ui, ae.link_importances_[k].mean(axis=0))
    fi = ae.feature_importances_
    assert fi.shape == (ae.n_features_in_,) and np.all(fi >= 0)
    np.testing.assert_allclose(fi.sum(), 1.0)


def test_sparsity_is_share_of_zero_weights(fitted):
    _, ae = fitted
    nnz = sum(W.nnz for W in ae.weights_)
    total = sum(np.prod(W.shape) for W in ae.weights_)
    assert ae.sparsity_ == pytest.approx(1 - nnz / total)
    for W, m in zip(ae.weights_, ae.link_masks_):
        np.testing.assert_array_equal(W.toarray() != 0, m)


def test_cascade_invariant_on_fitted_model(fitted):
    _, ae = fitted
    m = ae.link_masks_
    for k in range(1, len(m)):
        has_in, has_out = m[k - 1].any(axis=1), m[k].any(axis=0)
        np.testing.assert_array_equal(ae.active_units_[k], has_in & has_out)
        # removed units keep no link at all
        assert not m[k - 1][~ae.active_units_[k]].any()
        assert not m[k][:, ~ae.active_units_[k]].any()


@pytest.mark.parametrize("kernel", ["auto", "dense", "csr"])
def test_transform_equals_masked_dense_computation(fitted, kernel, monkeypatch):
    X, ae = fitted
    if kernel != "auto":  # force every compacted block through one kernel
        monkeypatch.setattr(_inference, "CSR_MAX_DENSITY", 1.0 if kernel == "csr" else -1.0)
        ae = copy.deepcopy(ae)  # a fresh object: no cached inference plan

    def sig(x):
        return 1 / (1 + np.exp(-x))

    A = X
    for k in range(2):
        W = ae.weights_[k].toarray()  # the pruned (and fine-tuned) weights, zeros included
        A = sig(A @ W.T + ae.intercepts_[k]) * ae.active_units_[k + 1]
    # computed in float32 (documented): agrees with float64 arithmetic to ~1e-6
    np.testing.assert_allclose(ae.transform(X), A, rtol=1e-5, atol=1e-6)
    Z = A
    for k in range(2, 4):
        W = ae.weights_[k].toarray()
        Z = Z @ W.T + ae.intercepts_[k]
        if k < 3:
            Z = sig(Z) * ae.active_units_[k + 1]
    np.testing.assert_allclose(ae.inverse_transform(A), Z, rtol=1e-5, atol=1e-6)
    assert ae.score(X) == pytest.approx(-np.mean((Z - X) ** 2), rel=1e-5)
    assert ae.transform(X).dtype == np.float64


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9])
def test_target_sparsity_reached(fitted, target):
    X, ae = fitted
    est = _model(target_sparsity=target).fit(X)
    # within half a percent, or the closest sparsity any level reaches (eta moves in steps)
    _, reachable = ae.sparsity_curve(np.linspace(0.001, 1, 2000))
    closest = np.min(np.abs(reachable - target))
    assert abs(est.sparsity_ - target) <= max(0.005, closest + 1e-12)
    # the same trained network and importances, only the level differs
    np.testing.assert_array_equal(est.link_importances_[0], ae.link_importances_[0])
    assert 0 < est.importance_level_ <= 1


def test_higher_level_keeps_more_links(fitted):
    X, _ = fitted
    etas = [
        fast_model(
            (8, 4), max_iter=5, n_background=30, n_explain=30, importance_level=m, device="auto"
        )
        .fit(X)
        .sparsity_
        for m in (0.5, 0.8, 0.95)
    ]
    assert etas[0] > etas[1] > etas[2]


def test_fine_tuning_keeps_pruned_weights_zero_and_fold_bias(fitted):
    X, ae = fitted
    tuned = _model(fine_tune_iter=3, fold_bias=True).fit(X)
    for W, m in zip(tuned.weights_, tuned.link_masks_):
        dense = W.toarray()
        assert not dense[~m].any()
    # the fine-tuning's losses follow the dense training's (3 epochs, or 3 L-BFGS iterations)
    assert len(tuned.loss_curve_) > len(tuned.dense_loss_curve_)
    assert np.isfinite(tuned.score(X))


def test_cached_inference_plans_follow_refits_and_copies(fitted):
    X, ae = fitted
    est = _model()
    first = est.fit(X).transform(X)
    np.testing.assert_array_equal(est.transform(X), first)  # cached plan, same result
    est.set_params(importance_level=0.5).fit(X)
    fresh = _model(importance_level=0.5).fit(X)
    np.testing.assert_array_equal(est.transform(X), fresh.transform(X))
    assert not np.array_equal(est.transform(X), first)
    before = dict(vars(est))
    est.transform(X)
    assert vars(est).keys() == before.keys()  # transform leaves __dict__ alone


@pytest.mark.parametrize("densities", [(0.05, 1.0), (1.0, 0.05), (0.05, 0.05), (1.0, 1.0)])
def test_compact_forward_mixes_sparse_and_dense_blocks(densities):
    # a sparse block followed by a dense one (and the other orders) gives the masked
    # dense computation, with unused inputs gathered and removed outputs filled
    rng = np.random.default_rng(0)
    sizes = [30, 20, 6]
    weights = [
        rng.normal(size=(n_out, n_in)) * (rng.uniform(size=(n_out, n_in)) < d)
        for n_in, n_out, d in zip(sizes, sizes[1:], densities)
    ]
    biases = [rng.normal(size=n) for n in sizes[1:]]
    acts = ["logistic", "tanh"]
    masks = [rng.uniform(size=n) < 0.8 for n in sizes]
    masks[1][:] = True
    for k, W in enumerate(weights):  # links only between surviving units
        W *= masks[k + 1][:, None] & masks[k][None, :]
    plan = _inference.compact_plan(weights, biases, acts, masks, np.full(sizes[-1], 0.5))
    kinds = [isinstance(block, sp.csr_array) for block, _, _ in plan[1]]
    assert kinds == [d < 0.2 for d in densities]  # CSR (the numba kernel) or dense (torch)
    X = rng.normal(size=(50, sizes[0]))
    expected = _scoring.layer_outputs(X, weights, biases, acts)[-1]
    expected[:, ~masks[-1]] = 0.5
    got = _inference.forward_compact(X, plan, batch_rows=16)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_structure_units_removes_whole_units():
    rng = np.random.default_rng(0)
    X = 1 / (1 + np.exp(-rng.normal(size=(120, 3)) @ rng.normal(size=(3, 12))))
    params = dict(max_iter=20, n_background=20, n_explain=20, random_state=0)
    ae = SHAPSparseAutoencoder((8, 4), pruning="units", importance_level=0.7, **params).fit(X)
    for layer, (mask, W) in enumerate(zip(ae.link_masks_, ae.weights_)):
        rows, cols = ae.active_units_[layer + 1], ae.active_units_[layer]
        # every link between surviving units is kept: the compact blocks are dense
        assert np.all(mask[np.ix_(rows, cols)])
        assert not mask[~rows].any() and not mask[:, ~cols].any()
        assert W.nnz == rows.sum() * cols.sum()
    assert 0 < ae.sparsity_ < 1 and ae.active_units_[-1].all()
    assert ae.transform(X).shape == (len(X), 4)
    links = ae.reprune(0.7, pruning="layer")
    assert links.pruning == "layer" and links.sparsity_ != ae.sparsity_
    target = ae.reprune(target_sparsity=0.6)
    assert abs(target.sparsity_ - 0.6) < 0.15
    with pytest.raises(ValueError, match="keep_counts"):
        ae.reprune(keep_counts=ae.keep_counts_)


def test_unit_pruned_models_serve_their_compacted_shapes():
    """After ``pruning="units"`` the fitted weights keep the full shapes (n(l), n(l-1)),
    while the inference plan computes with the surviving units only: dense blocks of
    (surviving inputs) x (surviving outputs), padded for a table's network (whose first
    and last blocks may span every input and unit instead, where that measured faster
    than gathering and scattering them); a slimmed copy
    serves the same plan and the same bits, and both equal the masked dense network."""
    rng = np.random.default_rng(3)
    X = 1 / (1 + np.exp(-rng.normal(size=(200, 4)) @ rng.normal(size=(4, 30))))
    params = dict(max_iter=10, n_background=20, n_explain=20, random_state=0)
    ae = SHAPSparseAutoencoder((16, 6), pruning="units", target_sparsity=0.6, **params).fit(X)
    sizes = ae.layer_sizes_
    assert [W.shape for W in ae.weights_] == [(b, a) for a, b in zip(sizes, sizes[1:])]
    active = [int(a.sum()) for a in ae.active_units_]
    assert active[1] < sizes[1]  # units were removed
    for part, layers in (("encode", range(0, 2)), ("decode", range(2, 4))):
        for pad in (False, "auto"):
            plan = _inference.encode_decode_plan(ae, part, np.float32, -1.0, 0, pad)
            unit = _inference.pad_units(np.float32) if plan.padded else 1
            for k, (block, _, _) in zip(layers, plan[1]):
                assert not isinstance(block, sp.csr_array)  # whole units: dense blocks
                # a hidden layer's surviving units; the first block's inputs and the
                # last block's outputs gathered, or all of them (a padded plan's choice)
                n_in, n_out = active[k], active[k + 1]
                if k == layers[0] and plan[0] is None:
                    n_in = sizes[k]
                if k == layers[-1] and plan[2] is None:
                    n_out = sizes[k + 1]
                if k > layers[0]:
                    n_in = -(-n_in // unit) * unit
                assert tuple(block.shape) == (n_in, -(-n_out // unit) * unit)
    slim = ae.slim()
    Z, back = ae.transform(X), ae.inverse_transform(ae.transform(X))
    np.testing.assert_array_equal(slim.transform(X), Z)
    np.testing.assert_array_equal(slim.inverse_transform(Z), back)
    from skshapsae.network._activations import numpy_activation

    A = X
    for k in range(4):  # the full-shaped network, removed units masked
        A = numpy_activation(ae.activations_[k])(A @ ae.weights_[k].toarray().T + ae.intercepts_[k])
        A = A * ae.active_units_[k + 1] if k < 3 else A
        if k == 1:
            np.testing.assert_allclose(Z, A, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back, A, rtol=1e-5, atol=1e-5)  # float32 against float64


@pytest.mark.parametrize(
    "pruning, activation", [("layer", "logistic"), ("units", "logistic"), ("units", "silu")]
)
def test_a_tables_plan_gathers_or_spans_by_measured_cost(pruning, activation, monkeypatch):
    """A table's padded plan either gathers the used inputs and scatters the surviving
    units, or runs its first and last blocks over every input and unit (zero weights for
    the others; a removed code unit's fill, 0, written over it only where ``act(0)`` is
    not 0), whichever ran faster when measured once per model and half; the choice holds
    for every batch size, and both variants give the same results (float32 rounding;
    bitwise where measured)."""
    rng = np.random.default_rng(5)
    X = rng.uniform(size=(300, 14))
    X[:, 7:] = X[:, :7] ** 2 + 0.05 * rng.normal(size=(300, 7))
    # sparse enough that some inputs go unused whatever the scores' sampling
    ae = _model(hidden_layer_sizes=(6,), target_sparsity=0.9, pruning=pruning)
    ae = ae.set_params(activation=activation).fit(X)
    assert not ae.active_units_[0].all()  # some inputs unused
    if pruning == "units":
        assert not ae.active_units_[1].all()  # and some code units removed
    got = {}
    for choice in (True, False):
        monkeypatch.setattr(_inference, "GATHER", choice)
        model = copy.deepcopy(ae)  # a fresh object: no cached plans
        plan = _inference.encode_decode_plan(model, "encode", np.float32, -1.0, 0, "auto")
        assert plan.padded and (plan[0] is not None) == choice
        rows = ae.active_units_[0].sum() if choice else X.shape[1]
        assert plan[1][0][0].shape[0] == rows
        assert (plan[2] is not None) == (choice and not ae.active_units_[1].all())
        removed = not ae.active_units_[1].all()
        assert (plan.overwrite is not None) == (not choice and removed and activation == "logistic")
        Z = model.transform(X)
        got[choice] = Z, model.inverse_transform(Z)
    for a, b in zip(got[True], got[False]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not got[False][0][:, ~ae.active_units_[1]].any()  # removed code units: 0
    monkeypatch.setattr(_inference, "GATHER", None)  # measured, once for every batch size
    model = copy.deepcopy(ae)
    full = model.transform(X)
    for start, size in [(0, 1), (10, 33), (50, 250)]:
        np.testing.assert_array_equal(model.transform(X[start : start + size]), full[start:][:size])
    cache = _inference._PLAN_CACHE[model]
    assert list(cache["gather"]) == [("encode", np.dtype(np.float32).num)]
    firsts = {plan[0] is None for key, plan in cache["plans"].items() if key[0] == "encode"}
    assert len(firsts) == 1 and len(cache["plans"]) >= 2


def test_kernel_follows_the_batch_size(fitted):
    X, ae = fitted
    assert _inference.csr_threshold(1) == 0.0  # one row: the dense kernel always won
    assert _inference.csr_threshold(100) == 0.15 and _inference.csr_threshold(2000) == 0.3
    assert _inference.csr_threshold(4096) == 0.4
    one = _inference.encode_decode_plan(ae, "encode", np.float32, _inference.csr_threshold(1))
    assert all(not isinstance(b, sp.csr_array) or b.nnz == 0 for b, _, _ in one[1])
    X32 = X.astype(np.float32)
    rows = np.vstack([ae.transform(X32[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(rows, ae.transform(X32)[:5], rtol=1e-5, atol=1e-6)


def test_small_blocks_stay_dense(fitted):
    _, ae = fitted
    min_size = _inference.CSR_MIN_BLOCK
    plan = _inference.encode_decode_plan(ae, "encode", np.float32, 1.0, min_size)
    for block, _, _ in plan[1]:
        if isinstance(block, sp.csr_array):  # CSR only where the block is large enough
            assert block.shape[0] * block.shape[1] >= min_size
        else:
            assert block.shape[0] * block.shape[1] < min_size
    # both sides of the limit, sparse alike: a 100 x 100 block is CSR, a 30 x 20 one dense
    rng = np.random.default_rng(0)
    sizes = [100, 100, 30]
    weights = [
        rng.normal(size=(o, i)) * (rng.uniform(size=(o, i)) < 0.05)
        for i, o in zip(sizes, sizes[1:])
    ]
    masks = [np.ones(n, bool) for n in sizes]
    plan = _inference.compact_plan(
        weights,
        [np.zeros(n) for n in sizes[1:]],
        ["logistic"] * 2,
        masks,
        np.zeros(30),
        csr_max_density=1.0,
        csr_min_size=min_size,
    )
    assert [isinstance(block, sp.csr_array) for block, _, _ in plan[1]] == [True, False]


def test_reprune_rescore_continues_from_the_pruned_network():
    X = np.random.default_rng(0).random((120, 10))
    first = fast_model(6, max_iter=20, fine_tune_iter=1).fit(X).reprune(target_sparsity=0.5, X=X)
    before = [np.array(W) for W in first.dense_weights_]
    second = first.reprune(target_sparsity=0.8, X=X, rescore=True)
    # the copy's dense network is the first model's pruned one; the first is unchanged
    for dense, pruned in zip(second.dense_weights_, first.weights_):
        np.testing.assert_array_equal(dense, pruned.toarray())
    for W, old in zip(first.dense_weights_, before):
        np.testing.assert_array_equal(W, old)
    # removed links score 0, so the kept links are a subset of the first model's
    for mask, kept in zip(second.link_masks_, first.link_masks_):
        assert not np.any(mask & ~kept)
    for imp, kept in zip(second.link_importances_, first.link_masks_):
        assert np.all(imp[~kept] == 0)
    assert second.sparsity_ >= 0.8 - 1e-9 > first.sparsity_
    with pytest.raises(ValueError, match="rescore=True"):
        first.reprune(target_sparsity=0.8, rescore=True)


def test_reprune_rescore_refuses_a_lower_target_and_zeroes_removed_links():
    X = np.random.default_rng(1).random((80, 6))
    model = fast_model(4, max_iter=10, shapley_estimator="kernel").fit(X)
    first = model.reprune(target_sparsity=0.6, X=X)
    with pytest.raises(ValueError, match="prunes this model further"):
        first.reprune(target_sparsity=0.3, X=X, rescore=True)
    # KernelSHAP's regression noise would score removed links: they are 0 all the same
    second = first.reprune(target_sparsity=0.7, X=X, rescore=True)
    for imp, kept in zip(second.link_importances_, first.link_masks_):
        assert np.all(imp[~kept] == 0)


@pytest.mark.parametrize("pruning", ["units", "layer", "global"])
def test_rescore_keeps_a_subset_of_the_links_whatever_the_pruning(pruning):
    """``reprune(rescore=True)`` never restores a removed link; with ``pruning="units"``
    it brought back the removed links between kept units."""
    X = np.random.default_rng(0).uniform(size=(60, 8))
    links = fast_model((6, 3), max_iter=5, n_background=20, n_explain=20).fit(X)
    links = links.reprune(target_sparsity=0.5, X=X)
    again = links.reprune(pruning=pruning, importance_level=0.99, X=X, rescore=True)
    for new, old, W in zip(again.link_masks_, links.link_masks_, again.weights_):
        assert not np.any(new & ~old)
        assert not np.any(W.toarray()[~old])
    assert again.sparsity_ >= links.sparsity_


@pytest.mark.parametrize("target_sparsity, fine_tune_iter", [(None, 0), (0.6, 0), (0.6, 2)])
def test_auto_keeps_the_ranking_that_reconstructs_the_background_best(
    logistic_X, target_sparsity, fine_tune_iter
):
    """``importance_target="auto"`` prunes as the layer game would, or as the pre-activation
    game would at the layer game's sparsity (the same dense network: training does not
    depend on the game), whichever pruned, folded and (when the fit fine-tunes) fine-tuned
    network reconstructs the background rows with the lower error."""
    params = dict(fine_tune_iter=fine_tune_iter, target_sparsity=target_sparsity, random_state=0)
    auto = fast_model(importance_target="auto", **params).fit(logistic_X)
    games = {"activation": fast_model(importance_target="activation", **params).fit(logistic_X)}
    params["target_sparsity"] = games["activation"].sparsity_
    games["preactivation"] = fast_model(importance_target="preactivation", **params)
    games["preactivation"].fit(logistic_X)
    assert abs(games["preactivation"].sparsity_ - params["target_sparsity"]) < 0.05
    errors = {game: -model.score(auto.background_) for game, model in games.items()}
    chosen = games[auto.pruning_game_]
    assert errors[auto.pruning_game_] == min(errors.values())
    assert {model.pruning_game_ for model in games.values()} == set(games)
    np.testing.assert_array_equal(auto.transform(logistic_X), chosen.transform(logistic_X))
    for ours, theirs in zip(auto.link_masks_, chosen.link_masks_):
        np.testing.assert_array_equal(ours, theirs)
    # the layer game's scores stay the link importances (eq. 3, 4); the second ranking
    # is kept beside them, so that reprune chooses again at another level
    for ours, theirs in zip(auto.link_importances_, games["activation"].link_importances_):
        np.testing.assert_array_equal(ours, theirs)
    again = auto.reprune(0.5)
    direct = fast_model(importance_target="auto", fine_tune_iter=0, random_state=0)
    direct = direct.set_params(importance_level=0.5).fit(logistic_X)
    assert again.pruning_game_ == direct.pruning_game_
    np.testing.assert_array_equal(again.transform(logistic_X), direct.transform(logistic_X))
    # given scores are ranked as given
    assert auto.reprune(scores=auto.link_importances_).pruning_game_ == "given"


def test_a_ranking_that_keeps_the_same_links_is_finished_once():
    """Two rankings that keep the same links give the same network: "auto" fine-tunes it
    once (a streamed fit reads its data once less), and the first ranking wins the tie."""
    weights, imp = [np.ones((3, 4))], np.arange(1.0, 13.0).reshape(3, 4)

    def prune(importances, sparsity=None):
        pruner = Pruner([importances], weights, [np.zeros(3)], ["identity"])
        return pruner.solve(0.5 if sparsity is None else sparsity)

    finished = []

    def finish(pruned):
        finished.append(pruned)
        return float(len(finished)), pruned.masks

    name, _, error, _ = prune_by_evidence({"a": imp, "b": 2 * imp}, prune, finish)
    assert (name, error, len(finished)) == ("a", 1.0, 1)
    reversed_ranking = np.ascontiguousarray(imp[::-1, ::-1])
    name, _, error, _ = prune_by_evidence({"a": imp, "b": reversed_ranking}, prune, finish)
    assert (name, error, len(finished)) == ("a", 2.0, 3)  # both finished, the first kept
    # the same links after the cascade, but other biases (mean folding reads the masks
    # before it): another network, so both are finished
    weights = [np.array([[1.0, -0.5], [0.3, 0.8]]), np.array([[0.7, -1.2]])]
    means = [np.array([1.0, 2.0]), np.array([0.5, 3.0])]
    rankings = {
        "b": [np.array([[5.0, 4.0], [3.0, 0.2]]), np.array([[3.0, 0.1]])],
        "a": [np.array([[5.0, 4.0], [0.1, 0.2]]), np.array([[3.0, 2.0]])],
    }
    counts = {"b": [3, 1], "a": [2, 2]}

    def by_counts(importances, sparsity=None):
        name = next(k for k, v in rankings.items() if v is importances)
        pruner = Pruner(
            importances, weights, [np.zeros(2), np.zeros(1)], ["relu", "identity"], means
        )
        return pruner.prune_counts(counts[name])

    pruned = [by_counts(rankings[k]) for k in ("b", "a")]
    for a, b in zip(pruned[0].masks, pruned[1].masks):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(pruned[0].biases[1], pruned[1].biases[1])
    finished.clear()
    prune_by_evidence(rankings, by_counts, finish)
    assert len(finished) == 2


def test_a_target_set_after_the_fit_takes_effect_at_the_next_fit(logistic_X):
    """``reprune`` plays the fitted game ("auto": both rankings) whatever ``set_params``
    changed since, as ``explain`` does; a ``partial_fit`` under the new target scores by
    it and drops "auto"'s second ranking (which belonged to the previous dense network)."""
    auto = fast_model(importance_target="auto", fine_tune_iter=0, random_state=0)
    auto = auto.fit(logistic_X)
    before = [auto.reprune(level) for level in (0.5, 0.7, 0.9)]
    auto.set_params(importance_target="activation")
    for level, earlier in zip((0.5, 0.7, 0.9), before):
        again = auto.reprune(level)
        assert again.pruning_game_ == earlier.pruning_game_
        for a, b in zip(again.link_masks_, earlier.link_masks_):
            np.testing.assert_array_equal(a, b)
    auto.partial_fit(logistic_X)
    assert auto.pruning_game_ == "activation"
    assert not hasattr(auto, "preactivation_importances_")
    assert auto.set_params(importance_target="auto").reprune(0.9).pruning_game_ == "activation"


def test_one_row_is_not_warned_about_its_column_means():
    """One row: its column means rebuild it exactly (error 0), so any rounding of the
    pruned network's reconstruction would have been "worse than the means"."""
    from sklearn.exceptions import ConvergenceWarning

    X = np.random.default_rng(0).normal(size=(1, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 iterations, as asked
        model = fast_model((2,), max_iter=3, random_state=0).fit(X)
    assert model.sparsity_ > 0


def test_a_pruning_worse_than_the_column_means_is_warned_about():
    """A deep network pruned at a level that removes too much reconstructs worse than
    predicting the column means: the fit says so and how to fix it; a gentler reprune
    does not."""
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_digits().data[:600])
    X = X[:, X.std(axis=0) > 0]
    model = fast_model((32, 16), max_iter=50, n_background=50, n_explain=50, fine_tune_iter=0)
    with pytest.warns(UserWarning, match="no better than their column means"):
        model.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert model.reprune(1.0).score(X) > -np.mean((X - X.mean(axis=0)) ** 2)


def test_reprune_without_a_level_or_target_keeps_the_fitted_target(logistic_X):
    """``reprune(X=X)`` or ``reprune(pruning="units")`` of a model fitted at a target
    sparsity dropped the target and pruned at the fitted level's default instead."""
    model = fast_model(target_sparsity=0.5, fine_tune_iter=0, random_state=0).fit(logistic_X)
    for again in (model.reprune(), model.reprune(X=logistic_X), model.reprune(pruning="global")):
        assert again.target_sparsity == 0.5
        assert abs(again.sparsity_ - model.sparsity_) < 0.05
    level = model.reprune(importance_level=0.99)  # a level clears the target it would lose to
    assert level.target_sparsity is None and level.sparsity_ < model.sparsity_


def test_a_pruning_that_cuts_every_path_says_so(logistic_X):
    """Every path from the inputs removed: the codes and the reconstruction are the same
    for every row; mean folding can make that as good as the column means, so the
    error comparison alone stayed silent."""
    model = fast_model((4, 2), fine_tune_iter=0, random_state=0).fit(logistic_X)
    with pytest.warns(UserWarning, match="every path from the inputs was removed"):
        cut = model.reprune(keep_counts=[0, 0, 0, 0])
    assert not cut.active_units_[0].any()
    codes = cut.transform(logistic_X)
    assert np.all(codes == codes[0])
