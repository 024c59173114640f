"""The fused CPU kernel of the permutation estimator (``_game_kernels``)."""

import numpy as np
import pytest
from scipy.special import expit

import skshapsae.scoring._shapley as shapley
from skshapsae.network._network import torch_threads
from skshapsae.scoring._game_kernels import FUSED, _logistic, _silu, _tanh
from skshapsae.scoring._shapley import LayerGame, PermutationEstimator


def test_rational_activations_are_float32_accurate():
    x = np.linspace(-30, 30, 20001).astype(np.float32)
    tanh = np.array([_tanh(v) for v in x])
    logistic = np.array([_logistic(v) for v in x])
    silu = np.array([_silu(v) for v in x])
    assert np.abs(tanh - np.tanh(x.astype(np.float64))).max() < 1e-6
    assert np.abs(logistic - expit(x.astype(np.float64))).max() < 1e-6
    # silu's error grows with |x| (x times the logistic's): relative to max(|x|, 1)
    reference = x * expit(x.astype(np.float64))
    assert (np.abs(silu - reference) / np.maximum(np.abs(x), 1)).max() < 1e-6


def _wide_game(act, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(20, 30)) / np.sqrt(30)
    b = rng.normal(size=20) * 0.1
    background = rng.random((40, 30))
    background[:, :5] = 0  # inputs equal in every row: null players
    points = rng.random((6, 30))
    points[:, :5] = 0
    return LayerGame(W, b, act, background), points


@pytest.mark.parametrize("act", sorted(FUSED - {"identity"}))
def test_fused_kernel_agrees_with_the_torch_path(act, monkeypatch):
    game, points = _wide_game(act)
    estimator = PermutationEstimator(n_permutations=16)
    fused, fused_var = estimator.for_game(game, seed=0).shapley_values(game, points)
    monkeypatch.setattr(shapley, "fused_available", lambda *args: False)
    torch_phi, torch_var = estimator.for_game(game, seed=1).shapley_values(game, points)
    # two unbiased estimates of the same values: within their joint sampling error
    stderr = np.sqrt(fused_var + torch_var)
    assert np.all(np.abs(fused - torch_phi) <= 6 * stderr + 1e-6)
    # null players get exactly 0, and the rows sum to v(N) - v(empty)
    assert np.all(fused[:, :, :5] == 0)
    np.testing.assert_allclose(fused.sum(axis=2), torch_phi.sum(axis=2), atol=1e-5)


def test_fused_values_do_not_depend_on_the_threads():
    game, points = _wide_game("logistic")
    with torch_threads(threads=1):
        one, _ = PermutationEstimator().for_game(game, seed=3).shapley_values(game, points)
    with torch_threads(threads=2):
        two, _ = PermutationEstimator().for_game(game, seed=3).shapley_values(game, points)
    np.testing.assert_array_equal(one, two)


def test_no_points_and_many_points_in_batches():
    game, points = _wide_game("silu")
    estimator = PermutationEstimator(n_permutations=2).for_game(game, seed=0)
    estimator.memory_budget = 1
    phi, var = estimator.shapley_values(game, points[:0])
    assert phi.shape == var.shape == (0, 20, 30)
    # a budget of one point per batch gives every point its estimate, with its variance
    phi, var = estimator.shapley_values(game, points)
    assert phi.shape == var.shape == (6, 20, 30) and np.all(var[:, :, 5:] > 0)


def test_silu_and_relu_at_extreme_and_nan_inputs():
    """silu was x times a clamped logistic (~1.5e-8): -150 at -1e10; relu turned NaN into 0."""
    import torch

    from skshapsae.scoring._game_kernels import _leaky_relu, _relu

    x = np.array([-1e30, -1e10, -1e4, -100, -30, -18.5, -18, -17.5, 0, 5, 1e10], np.float32)
    silu = np.array([_silu(v) for v in x])
    exact = torch.nn.functional.silu(torch.from_numpy(x).double()).numpy()
    assert np.all(np.abs(silu - exact) <= 1e-6 * np.maximum(np.abs(x), 1))
    assert np.all(np.abs(silu[:5]) < 1e-9)
    for kernel, reference in ((_relu, torch.relu), (_leaky_relu, torch.nn.functional.leaky_relu)):
        assert np.isnan(kernel(np.float32(np.nan)))
        assert np.isnan(reference(torch.tensor(float("nan"))).item())
    assert np.isnan(_silu(np.float32(np.nan)))


def test_fused_silu_game_at_large_negative_inputs_gives_the_exact_values():
    """A silu layer on inputs of -1e10: every coalition's output is 0 (to float32), so
    every Shapley value is 0 (the kernel gave values in the thousands)."""
    W = np.ones((3, 4))
    background = np.zeros((5, 4))
    game = LayerGame(W, np.zeros(3), "silu", background)
    points = -1e10 * (1 + np.random.default_rng(0).random((2, 4)))
    phi, _ = PermutationEstimator().for_game(game).shapley_values(game, points)
    assert np.all(np.abs(phi) < 1e-6)
