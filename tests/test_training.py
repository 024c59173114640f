"""The training engine: stopping rule, early stopping, schedule, PCA start, scaling warnings."""

import warnings
from contextlib import suppress

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skshapsae import SHAPSparseAutoencoder, TrainingDivergenceError
from skshapsae._network import default_batch_size


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X[:400] / 16.0


def _dense(**params):
    """The trained dense network (level 1.0 keeps every link that matters, no fine-tuning)."""
    defaults = dict(
        importance_level=1.0, fine_tune_iter=0, n_background=10, n_explain=10, device="cpu"
    )
    return SHAPSparseAutoencoder(**{**defaults, **params})


def test_training_stops_on_convergence(digits):
    ae = _dense(hidden_layer_sizes=(8,), max_iter=500, random_state=0).fit(digits)
    assert ae.n_iter_ < 500
    assert ae.n_iter_ == len(ae.dense_loss_curve_)
    assert ae.validation_scores_ is None and ae.best_validation_score_ is None


def test_max_iter_is_an_upper_bound(digits):
    ae = _dense(hidden_layer_sizes=(8,), max_iter=2, tol=0.0, random_state=0).fit(digits)
    assert ae.n_iter_ == 2


def test_early_stopping_keeps_the_best_epoch(digits):
    ae = _dense(hidden_layer_sizes=(8,), max_iter=30, early_stopping=True, random_state=0).fit(
        digits
    )
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    assert all(s <= 0 for s in ae.validation_scores_)  # negative MSE, like score()


def test_early_stopping_needs_rows():
    X = np.random.default_rng(0).uniform(size=(5, 4))
    with pytest.raises(ValueError, match="validation_fraction"):
        _dense(hidden_layer_sizes=(2,), early_stopping=True, validation_fraction=0.01).fit(X)


@pytest.mark.parametrize("activation", ["silu", "relu", "logistic", "tanh", "elu"])
def test_pca_start_is_never_worse_than_pca(digits, activation):
    """Training reconstruction error of the dense network <= PCA's at the same code size."""
    k = 6
    pca = PCA(k).fit(digits)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(digits)) - digits) ** 2)
    params = dict(hidden_layer_sizes=(16, k), activation=activation, max_iter=3)
    ae = _dense(init="pca", random_state=0, **params).fit(digits)
    # a few percent for the nonlinear start's least-squares fit and float32 training
    assert -ae.score(digits) <= 1.05 * pca_mse


def test_pca_start_beats_a_random_start_at_equal_epochs(digits):
    params = dict(hidden_layer_sizes=(16, 6), max_iter=5, tol=0.0, random_state=0)
    pca_start = _dense(init="pca", **params).fit(digits)
    random_start = _dense(init="random", **params).fit(digits)
    assert pca_start.score(digits) > random_start.score(digits)


def test_auto_batch_size_adapts_to_rows():
    assert default_batch_size(150) == 16
    assert default_batch_size(2000) == 100
    assert default_batch_size(60000) == 256


def test_adaptive_schedule_trains_longer_than_constant(digits):
    params = dict(hidden_layer_sizes=(8,), max_iter=300, random_state=0)
    adaptive = _dense(learning_rate="adaptive", **params).fit(digits)
    constant = _dense(learning_rate="constant", **params).fit(digits)
    assert adaptive.n_iter_ >= constant.n_iter_


def test_output_range_warning_names_the_fix_and_the_users_line():
    X = np.random.default_rng(0).uniform(0, 5, size=(30, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _dense(hidden_layer_sizes=(2,), out_activation="logistic", max_iter=1).fit(X)
    ours = [w for w in caught if "out_activation='logistic'" in str(w.message)]
    assert len(ours) == 1
    assert "MinMaxScaler" in str(ours[0].message)
    assert ours[0].filename == __file__


def test_unscaled_data_warns():
    X = np.random.default_rng(0).uniform(0, 1e5, size=(30, 4))
    # the warning comes before training, which may then diverge on such data
    with pytest.warns(UserWarning, match="unit scale"), suppress(TrainingDivergenceError):
        _dense(hidden_layer_sizes=(2,), max_iter=1).fit(X)
