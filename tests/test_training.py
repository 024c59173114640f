"""The training engine: stopping rule, early stopping, schedule, PCA start, scaling warnings."""

import warnings
from contextlib import suppress
from functools import partial

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skshapsae import TrainingDivergenceError
from skshapsae.baselines import DropoutAutoencoder, KSparseAutoencoder
from skshapsae.network._network import default_batch_size, fused_adam

from _models import fast_model, fit_fast


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X[:400] / 16.0


# The trained dense network (level 1.0 keeps every link that matters, no fine-tuning), on
# the plain MSE (the PCA guarantees below are about it; the weighted loss is tested in
# ``test_attribution.py``).
_dense = partial(
    fast_model,
    hidden_layer_sizes=None,
    max_iter=200,
    random_state=None,
    importance_level=1.0,
    fine_tune_iter=0,
    column_weights="uniform",
)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_training_stops_on_convergence(digits, solver):
    ae = _dense(hidden_layer_sizes=(8,), max_iter=500, solver=solver, random_state=0)
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        ae.fit(digits)
    assert ae.n_iter_ < 500
    # Adam: one loss per epoch; L-BFGS: one per (at most) 10 iterations
    assert len(ae.dense_loss_curve_) == ae.n_iter_ if solver == "adam" else ae.n_iter_ >= 1
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
    with pytest.raises(ValueError, match="validation_fraction"):  # no training row left
        _dense(hidden_layer_sizes=(2,), early_stopping=True, validation_fraction=0.99).fit(X)


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
    # a later partial_fit chunk of another scale too
    model = _dense(hidden_layer_sizes=(2,), max_iter=1).fit(X / 1e5)
    with pytest.warns(UserWarning, match="unit scale"), suppress(TrainingDivergenceError):
        model.partial_fit(X)


def test_budget_ending_before_convergence_warns_once(digits):
    from sklearn.exceptions import ConvergenceWarning

    for solver in ("adam", "lbfgs"):
        with pytest.warns(ConvergenceWarning, match="max_iter=2") as record:
            _dense(hidden_layer_sizes=(8,), max_iter=2, tol=0.0, solver=solver).fit(digits)
        assert sum(issubclass(w.category, ConvergenceWarning) for w in record) == 1


def test_validation_set_is_rounded_up_as_scikit_learns():
    """0.1 of 5 rows is one validation row (scikit-learn's MLP rounds up), not 0."""
    X = np.random.default_rng(0).uniform(size=(5, 4))
    model = _dense(early_stopping=True, validation_fraction=0.1, max_iter=2, solver="adam")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    assert model.best_validation_score_ is not None


def test_auto_solver_and_init_follow_the_data(digits):
    small = _dense(hidden_layer_sizes=4, random_state=0).fit(digits)
    assert small._training_config_["solver"] == "lbfgs"
    assert small._training_config_["init"] == "varimax"
    wide = np.random.default_rng(0).uniform(size=(40, 301))
    ae = _dense(hidden_layer_sizes=2, max_iter=2, random_state=0).fit(wide)
    assert ae._training_config_["init"] == "random"
    chunks = _dense(hidden_layer_sizes=4, max_iter=2, random_state=0).fit(
        [digits[:200], digits[200:]]
    )
    assert chunks._training_config_["solver"] == "adam"


def test_an_int_hidden_layer_size_is_the_code_size(digits):
    ae = _dense(hidden_layer_sizes=3, max_iter=5, random_state=0).fit(digits)
    assert ae.n_components_ == 3 and ae.layer_sizes_ == [64, 3, 64]
    assert ae.transform(digits).shape == (len(digits), 3)
    with pytest.raises(ValueError, match="wider than the input"):
        _dense(hidden_layer_sizes=65).fit(digits)


def test_varimax_start_spans_pcas_subspace(digits):
    """The rotated start's code is PCA's code rotated: same reconstruction as PCA."""
    k = 4
    pca = PCA(k).fit(digits)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(digits)) - digits) ** 2)
    ae = _dense(hidden_layer_sizes=k, init="varimax", activation="identity", max_iter=1).fit(digits)
    assert -ae.score(digits) <= 1.01 * pca_mse


def test_lbfgs_is_refused_with_dropout(digits):
    params = _dense(hidden_layer_sizes=2, solver="lbfgs").get_params()
    with pytest.raises(ValueError, match="dropout draws a new mask.*L-BFGS"):
        DropoutAutoencoder(**params, dropout=0.2).fit(digits)


# -------------------------------------------------------- hostile conditions (issues 22, 32)
def test_divergence_advice_follows_the_solver(logistic_X):
    for solver, advice, not_advice in (("lbfgs", "solver='adam'", "solver='lbfgs'"),):
        with pytest.raises(TrainingDivergenceError) as info:
            fit_fast(logistic_X * 1e30, solver=solver)
        assert not_advice not in str(info.value)
        assert advice in str(info.value)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.integers(1, 4), k=st.integers(1, 6))
def test_k_sparse_code_wider_than_the_code_is_refused_at_fit(logistic_X, code, k):
    est = KSparseAutoencoder(code, k=k, max_iter=1, random_state=0)
    if k > code:
        with pytest.raises(ValueError, match=f"k must be an int from 1 to {code}"):
            est.fit(logistic_X)
        assert not hasattr(est, "n_features_in_")
    else:
        est.set_params(n_background=5, n_explain=5).fit(logistic_X)
        assert est._training_config_["code_top_k"] == k


def test_training_and_the_network_game_inside_no_grad(logistic_X):
    import torch

    with torch.no_grad():
        est = fit_fast(logistic_X, solver="adam", importance_target="reconstruction")
        est.partial_fit(logistic_X)
        est.reprune(0.5, X=logistic_X)
        est.explain(logistic_X[:2], layer=0)
        fit_fast(logistic_X, solver="lbfgs")
    assert np.isfinite(est.transform(logistic_X)).all()


@pytest.mark.parametrize(
    "version, device, expected",
    [
        ("2.13.0+cpu", "cpu", True),
        ("2.4.0", "cpu", True),
        ("2.3.1", "cpu", None),
        ("2.1.0", "cuda", True),
        ("2.13.0", "mps", None),
    ],
)
def test_fused_adam_only_where_torch_has_the_kernel(monkeypatch, version, device, expected):
    """torch's fused Adam runs on CUDA, and on CPU from torch 2.4 (before, it raises)."""
    import torch

    monkeypatch.setattr(torch, "__version__", version)
    assert fused_adam(torch.device(device)) is expected
