"""Link importances against brute-force Shapley values computed independently here."""

import itertools
import math

import numpy as np
import pytest

from skshapsae import (
    AutoEstimator,
    ExactEstimator,
    KernelEstimator,
    LinearEstimator,
    PermutationEstimator,
    ShapPermutationEstimator,
    SHAPSparseAutoencoder,
)
from skshapsae.scoring._shapley import LayerGame, combine_sums, partial_sums

from _models import fast_model

_erf = np.vectorize(math.erf)

# written out here, independently of skshapsae.network._activations
ACTS = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "gelu": lambda x: x * (1 + _erf(x / math.sqrt(2))) / 2,
    "logistic": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
}
NONLINEAR = [a for a in ACTS if a != "identity"]


def link_importances(game, points, estimator):
    """Mean |phi| over the points and its standard error, as the scoring stage combines them."""
    return combine_sums([partial_sums(game, points, estimator)], len(points))


def brute_force_shapley(W, b, act, a, background):
    """phi[i, j] of the game v_i(J) = mean_r act(W_i (a_J, r_notJ) + b_i), by enumeration."""
    f = ACTS[act]
    n = W.shape[1]

    def value(J):
        X = background.copy()
        X[:, list(J)] = a[list(J)]
        return f(X @ W.T + b).mean(axis=0)

    phi = np.zeros(W.shape)
    for j in range(n):
        others = [k for k in range(n) if k != j]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for J in itertools.combinations(others, size):
                phi[:, j] += weight * (value(J + (j,)) - value(J))
    return phi


def _game(act, seed=0, n_in=5, n_out=3, n_bg=6):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n_out, n_in))
    b = rng.normal(size=n_out)
    background = rng.normal(size=(n_bg, n_in))
    points = rng.normal(size=(4, n_in))
    game = LayerGame(W, b, act, background)
    reference = np.array([brute_force_shapley(W, b, act, a, background) for a in points])
    return game, points, reference


@pytest.mark.parametrize("act", list(ACTS))
def test_exact_estimator_matches_brute_force(act):
    game, points, reference = _game(act)
    phi, var = ExactEstimator().shapley_values(game, points)
    assert var is None
    np.testing.assert_allclose(phi, reference, atol=1e-5)


@pytest.mark.parametrize("act", list(ACTS))
def test_kernel_shap_matches_brute_force(act):
    # with 5 players Kernel SHAP's budget covers all 30 coalitions: exact up to solver error
    game, points, reference = _game(act)
    phi, _ = KernelEstimator(n_samples=100).for_game(game).shapley_values(game, points)
    np.testing.assert_allclose(phi, reference, atol=1e-4)


@pytest.mark.parametrize("act", list(ACTS))
def test_permutation_estimator_within_its_error_bars(act):
    game, points, reference = _game(act)
    phi, var = PermutationEstimator(64).for_game(game, seed=0).shapley_values(game, points)
    stderr = np.sqrt(var)
    # unbiased, and the reported standard error describes the error
    assert np.all(np.abs(phi - reference) <= 5 * stderr + 1e-6)
    assert np.abs(phi - reference).max() < 0.05
    # efficiency: each row sums to v(N) - v(empty) exactly, whatever the permutations
    full = game(points)
    empty = ACTS[act](game.background @ game.W.T + game.b).mean(axis=0)
    np.testing.assert_allclose(phi.sum(axis=2), full - empty, atol=1e-5)


def test_linear_estimator_is_the_closed_form():
    game, points, reference = _game("identity")
    phi, _ = LinearEstimator().shapley_values(game, points)
    np.testing.assert_allclose(phi, reference, atol=1e-10)
    with pytest.raises(ValueError, match="identity"):
        LinearEstimator().shapley_values(LayerGame(game.W, game.b, "tanh", game.background), points)


def test_auto_picks_exact_paths():
    game, _, _ = _game("logistic")
    auto = AutoEstimator(n_permutations=4, background_rows=2)
    assert isinstance(auto.for_game(game), ExactEstimator)
    linear = auto.for_game(LayerGame(game.W, game.b, "identity", game.background))
    assert linear.name == "linear" and linear.background_rows == 2
    big = LayerGame(np.ones((2, 30)), np.zeros(2), "logistic", np.zeros((3, 30)))
    picked = auto.for_game(big, seed=5)
    assert isinstance(picked, PermutationEstimator) and picked.get_params() == {
        "n_permutations": 4,
        "background_rows": 2,
    }


def test_link_importances_aggregate_mean_absolute_value():
    game, points, reference = _game("tanh")
    mean, stderr = link_importances(game, points, ExactEstimator())
    np.testing.assert_allclose(mean, np.abs(reference).mean(axis=0), atol=1e-10)
    np.testing.assert_allclose(stderr, np.abs(reference).std(axis=0, ddof=1) / 2, atol=1e-10)


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("estimator", ["exact", "kernel"])
def test_fitted_link_importances_are_shapley_values(act, estimator, small_data):
    """End to end: the fitted first-layer importances are the brute-force values."""
    X = small_data[:6, :5]  # as many rows as background and explained points: all are used
    ae = SHAPSparseAutoencoder(
        (3,),
        activation=act,
        shapley_estimator=KernelEstimator(n_samples=100) if estimator == "kernel" else estimator,
        n_background=6,
        n_explain=6,
        max_iter=2,
        device="cpu",
        random_state=0,
    ).fit(X)
    W, b = ae.dense_weights_[0], ae.dense_intercepts_[0]
    ref = np.mean([np.abs(brute_force_shapley(W, b, act, a, X)) for a in X], axis=0)
    tol = 1e-5 if estimator == "exact" else 1e-4
    np.testing.assert_allclose(ae.link_importances_[0], ref, atol=tol)


def test_preactivation_target_is_closed_form(small_data):
    ae = fast_model(
        importance_target="preactivation", max_iter=2, n_background=100, n_explain=200
    ).fit(small_data)
    # |W_ij| mean_a |a_j - mean_B a_j| has rank one per row once divided by |W|
    ratio = ae.link_importances_[0] / np.abs(ae.dense_weights_[0])
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[0], ratio.shape), rtol=1e-8)


@pytest.mark.parametrize("act", NONLINEAR)
def test_shap_permutation_option_matches_brute_force(act):
    game, points, reference = _game(act)
    # shap samples permutations (no enumeration): agreement within sampling error
    estimator = ShapPermutationEstimator().for_game(game, seed=0)
    estimator.max_evals = 4000
    phi, _ = estimator.shapley_values(game, points)
    np.testing.assert_allclose(phi, reference, atol=0.03)
    np.testing.assert_allclose(phi.sum(axis=2), reference.sum(axis=2), atol=1e-6)


@pytest.mark.parametrize("act", NONLINEAR)
def test_default_estimator_converges_on_a_wider_layer(act):
    """40 inputs (no enumeration possible): the default agrees with a 64-pair reference."""
    rng = np.random.default_rng(1)
    W = rng.normal(size=(8, 40)) / np.sqrt(40)
    game = LayerGame(W, rng.normal(size=8) * 0.1, act, rng.uniform(size=(30, 40)))
    points = rng.uniform(size=(20, 40))
    reference = PermutationEstimator(n_permutations=64).for_game(game, seed=1)
    ref, ref_err = link_importances(game, points, reference)
    est, _ = link_importances(game, points, AutoEstimator().for_game(game, seed=2))
    assert AutoEstimator().for_game(game).name == "permutation"
    assert np.linalg.norm(est - ref) / np.linalg.norm(ref) < 0.03
