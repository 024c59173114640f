"""The network game (importance_target="reconstruction") and the global allocation."""

import itertools
from math import factorial

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skshapsae import AutoEstimator, SHAPSparseAutoencoder
from skshapsae.scoring._scoring import (
    DenseNetwork,
    NetworkGame,
    ScoringConfig,
    network_game_values,
)

from _models import fast_model

#: Stated accuracy of the Owen-gradient estimator (docs, "Scoring"): relative L2 error of
#: the signed values against exact or unbiased references, weights at PyTorch's initial
#: scale (measured: 1.4-10.6 % on 8-4-8 and 16-8-16 networks, 3-9 % on 3-2-3 ones).
STATED_ERROR = 0.12


def _tiny_network(seed, sizes, activations):
    """Weights and biases at PyTorch's initial scale, ``U(-1, 1) / sqrt(fan_in)``."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 1, size=(b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [rng.uniform(-1, 1, size=b) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    return DenseNetwork(weights, biases, activations), rng


def _masks(network, bits):
    out, offset = [], 0
    for W in network.weights:
        out.append(np.asarray(bits[offset : offset + W.size], float).reshape(W.shape))
        offset += W.size
    return out


def _permutation_reference(network, means, X, n_permutations, rng):
    """Unbiased Shapley values of the network game by antithetic permutation sampling."""
    n = sum(W.size for W in network.weights)
    phi = np.zeros(n)
    for _ in range(n_permutations):
        order = rng.permutation(n)
        for links in (order, order[::-1]):
            bits = np.zeros(n)
            previous = network_game_values(network, means, X, _masks(network, bits))
            for i in links:
                bits[i] = 1
                value = network_game_values(network, means, X, _masks(network, bits))
                phi[i] += value - previous
                previous = value
    return phi / (2 * n_permutations)


def _brute_force(network, means, X):
    """Exact Shapley values of the network game by enumerating every coalition of links."""
    n = sum(W.size for W in network.weights)
    values = {
        bits: network_game_values(network, means, X, _masks(network, bits))
        for bits in itertools.product((0, 1), repeat=n)
    }
    phi = np.zeros(n)
    for bits, value in values.items():
        size = sum(bits)
        if size == n:
            continue
        weight = factorial(size) * factorial(n - size - 1) / factorial(n)
        for i in np.flatnonzero(np.array(bits) == 0):
            with_i = bits[:i] + (1,) + bits[i + 1 :]
            phi[i] += weight * (values[with_i] - value)
    return phi, values


@pytest.mark.parametrize(
    "seed, activations",
    [(0, ["logistic", "identity"]), (1, ["silu", "logistic"]), (2, ["tanh", "identity"])],
)
def test_owen_gradient_matches_brute_force(seed, activations):
    network, rng = _tiny_network(seed, [3, 2, 3], activations)
    X, background = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    means = [a.mean(axis=0) for a in network.layer_outputs(background)[:-1]]
    exact, values = _brute_force(network, means, X)
    config = ScoringConfig(AutoEstimator(4), "reconstruction", seed=seed)
    phis, stderrs = NetworkGame().values(network, background, X, config)
    estimate = np.concatenate([p.ravel() for p in phis])
    error = np.linalg.norm(estimate - exact) / np.linalg.norm(exact)
    assert error < STATED_ERROR
    # efficiency: the values add up to v(all links) - v(none) (the sum, a difference of
    # large terms, is held to twice the stated error)
    n = len(exact)
    total = values[(1,) * n] - values[(0,) * n]
    assert exact.sum() == pytest.approx(total)
    assert estimate.sum() == pytest.approx(total, rel=2 * STATED_ERROR)
    assert all(np.all(e >= 0) for e in stderrs)


@pytest.mark.parametrize("activations", [["logistic", "identity"], ["relu", "identity"]])
def test_owen_gradient_matches_permutation_sampling(activations):
    """64 links, too many to enumerate: against 300 antithetic permutations (whose own
    relative error here is below 3 %)."""
    network, rng = _tiny_network(0, [8, 4, 8], activations)
    X, background = rng.normal(size=(30, 8)), rng.normal(size=(20, 8))
    means = [a.mean(axis=0) for a in network.layer_outputs(background)[:-1]]
    reference = _permutation_reference(network, means, X, 300, rng)
    config = ScoringConfig(AutoEstimator(4), "reconstruction", seed=0)
    phis, _ = NetworkGame().values(network, background, X, config)
    estimate = np.concatenate([p.ravel() for p in phis])
    assert np.linalg.norm(estimate - reference) / np.linalg.norm(reference) < STATED_ERROR
    assert np.corrcoef(estimate, reference)[0, 1] > 0.99


def test_identity_network_is_exact():
    """A linear network's game is multilinear in the masks of one layer at a time: for a
    single layer the gradient marginals are exact."""
    network, rng = _tiny_network(3, [3, 3], ["identity"])
    X, background = rng.normal(size=(25, 3)), rng.normal(size=(15, 3))
    means = [background.mean(axis=0)]
    exact, _ = _brute_force(network, means, X)
    config = ScoringConfig(AutoEstimator(8), "reconstruction", seed=0)
    phis, _ = NetworkGame().values(network, background, X, config)
    # quadratic loss of a linear function of the masks: the error is the sampling error
    np.testing.assert_allclose(phis[0].ravel(), exact, rtol=0.1, atol=1e-3 * np.abs(exact).max())


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X[:400] / 16


def test_fit_with_network_game(digits):
    ae = fast_model(
        (16,),
        importance_target="reconstruction",
        target_sparsity=0.7,
        max_iter=10,
        n_explain=50,
        n_background=50,
        device="auto",
    ).fit(digits)
    assert ae.shapley_estimators_ == ["owen-gradient", "owen-gradient"]
    assert abs(ae.sparsity_ - 0.7) < 0.01
    assert all(np.all(imp >= 0) for imp in ae.link_importances_)
    assert ae.feature_importances_.shape == (64,)
    # results do not depend on the number of jobs
    par = SHAPSparseAutoencoder(**{**ae.get_params(), "n_jobs": 2}).fit(digits)
    for a, b in zip(ae.link_importances_, par.link_importances_):
        np.testing.assert_array_equal(a, b)


def test_network_game_refuses_other_estimators(digits):
    ae = SHAPSparseAutoencoder(
        (8,), importance_target="reconstruction", shapley_estimator="kernel", max_iter=1
    )
    with pytest.raises(ValueError, match="shapley_estimator='auto'"):
        ae.fit(digits)


@pytest.mark.parametrize("target", ["activation", "reconstruction"])
def test_global_allocation(digits, target):
    params = dict(
        hidden_layer_sizes=(16,),
        importance_target=target,
        max_iter=10,
        n_explain=30,
        n_background=30,
        random_state=0,
    )
    layer = SHAPSparseAutoencoder(**params, target_sparsity=0.75).fit(digits)
    glob = layer.reprune(target_sparsity=0.75, pruning="global")
    assert glob.pruning == "global" and layer.pruning == "layer"
    assert abs(glob.sparsity_ - 0.75) < 0.01
    # the global allocation keeps every link scoring above the weakest kept one
    flat = np.concatenate([s.ravel() for s in glob.link_importances_])
    threshold = np.sort(flat)[::-1][sum(glob.keep_counts_) - 1]
    for imp, count in zip(glob.link_importances_, glob.keep_counts_):
        assert np.count_nonzero(imp > threshold) <= count <= np.count_nonzero(imp >= threshold)
    # the same, fitted directly
    direct = SHAPSparseAutoencoder(**params, target_sparsity=0.75, pruning="global").fit(digits)
    assert direct.keep_counts_ == glob.keep_counts_


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_network_game_on_cuda_matches_cpu(digits):  # pragma: no cover - needs a GPU
    params = dict(
        hidden_layer_sizes=(8,),
        importance_target="reconstruction",
        max_iter=3,
        n_explain=30,
        n_background=30,
        random_state=0,
    )
    cpu = SHAPSparseAutoencoder(**params, device="cpu").fit(digits)
    network = DenseNetwork(cpu.dense_weights_, cpu.dense_intercepts_, cpu.activations_)
    config = ScoringConfig(target="reconstruction", seed=0, device="cuda")
    on_gpu, _ = NetworkGame().values(network, cpu.background_, digits[:30], config)
    on_cpu, _ = NetworkGame().values(
        network, cpu.background_, digits[:30], ScoringConfig(target="reconstruction", seed=0)
    )
    for a, b in zip(on_gpu, on_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_background_rows(digits):
    """Each explained row draws its own rows of the background: seeded, n_jobs-free."""
    params = dict(
        hidden_layer_sizes=(8,),
        max_iter=3,
        n_explain=30,
        n_background=200,
        shapley_estimator=AutoEstimator(background_rows=10),
        random_state=0,
    )
    a = SHAPSparseAutoencoder(**params).fit(digits)
    assert a.background_.shape == (200, 64)
    np.testing.assert_allclose(a.layer_input_means_[0], a.background_.mean(axis=0))
    b = SHAPSparseAutoencoder(**params, n_jobs=2).fit(digits)
    for x, y in zip(a.link_importances_, b.link_importances_):
        np.testing.assert_array_equal(x, y)
    fixed = SHAPSparseAutoencoder(**{**params, "n_background": 10, "shapley_estimator": "auto"})
    fixed.fit(digits)
    assert fixed.background_.shape == (10, 64)
    assert not np.array_equal(a.link_importances_[0], fixed.link_importances_[0])
