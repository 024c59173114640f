"""Bad input, faults and untrusted files: clear errors, nothing lost (issue: reliability)."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_info

import skshapsae.conductor._stages as stages_module
from skshapsae import (
    KernelEstimator,
    PermutationEstimator,
    TrainingDivergenceError,
    load,
    save,
)

from _models import fast_model


def fast(hidden_layer_sizes=None, **kwargs):
    """The fast model, at the library's default width unless told."""
    return fast_model(hidden_layer_sizes, **kwargs)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(size=(60, 6))


@pytest.fixture(scope="module")
def fitted(X):
    return fast((4, 2)).fit(X)


# ----------------------------------------------------------------- bad values
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_rejected_everywhere(X, fitted, bad):
    Xb = X.copy()
    Xb[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        fast().fit(Xb)
    with pytest.raises(ValueError, match="NaN|infinity"):
        fitted.transform(Xb)
    Z = fitted.transform(X)
    Z[0, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        fitted.inverse_transform(Z)


def test_pandas_na_rejected(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X).astype("Float64")
    frame.iloc[0, 0] = pd.NA
    with pytest.raises(ValueError, match="NaN"):
        fast().fit(frame)


def test_values_overflowing_float32(X):
    Xb = X.copy()
    Xb[0, 1] = 1e300
    with pytest.raises(ValueError, match=r"float32 range.*column\(s\) \[1\]"):
        fast().fit(Xb)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(5), "Expected 2D array"),
        (np.zeros((3, 4, 2)), "dim 3"),
        (np.zeros((0, 4)), "0 sample"),
        (np.zeros((4, 0)), "0 feature"),
        (np.ones((4, 3)) + 1j, "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|Unable to convert|strings"),
    ],
)
def test_malformed_input(bad, match):
    with pytest.raises(ValueError, match=match):
        fast().fit(bad)


def test_sparse_input_refused_with_advice(X):
    with pytest.raises(TypeError, match="dense data is required"):
        fast().fit(sp.csr_matrix(X))
    assert fast().__sklearn_tags__().input_tags.sparse is False


def test_one_row_one_column_and_constant_data():
    Z = fast().fit_transform(np.array([[0.1, 0.2, 0.3]]))
    assert np.all(np.isfinite(Z))
    one_col = np.linspace(0, 1, 20)[:, None]
    assert fast().fit(one_col).transform(one_col).shape == (20, 1)
    with pytest.warns(UserWarning, match=r"Constant feature\(s\) \[0, 1, 2\]"):
        ae = fast().fit(np.ones((20, 3)))
    assert ae.sparsity_ == 1.0  # nothing carries importance
    assert np.all(np.isfinite(ae.transform(np.ones((2, 3)))))


def test_some_constant_columns_are_quiet_and_get_zero_importance():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": np.linspace(0, 1, 20), "flat": 2.0, "b": np.arange(20.0) / 20})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no warning: a constant column is handled
        ae = fast(max_iter=200).fit(frame)
    assert ae.feature_importances_[1] == 0


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool, np.float16, np.float32, np.float64])
def test_dtypes_give_float64_output(X, dtype):
    """float32 stays float32 (computed in float32 end to end); everything else is float64."""
    data = (X * 10).astype(dtype)
    ae = fast().fit(data)
    Z = ae.transform(data)
    expected = np.float32 if dtype is np.float32 else np.float64
    assert Z.dtype == expected and np.all(np.isfinite(Z))
    assert ae.inverse_transform(Z).dtype == expected
    # float32 agrees with float64 to float32 precision
    Z64 = ae.transform(data.astype(np.float64))
    np.testing.assert_allclose(Z, Z64, rtol=1e-4, atol=1e-4 * np.abs(Z64).max())


def test_memmap_fortran_non_contiguous_and_no_mutation(X, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    ref = fast().fit(X).transform(X)
    np.testing.assert_array_equal(fast().fit(mm).transform(mm), ref)
    np.testing.assert_array_equal(fast().fit(np.asfortranarray(X)).transform(X), ref)
    wide = np.repeat(X, 2, axis=1)[:, ::2]  # non-contiguous view equal to X
    np.testing.assert_array_equal(fast().fit(wide).transform(wide), ref)
    original = X.copy()
    f32 = X.astype(np.float32)
    f32_copy = f32.copy()
    fast(fine_tune_iter=1).fit(X)
    fast().fit(f32)
    np.testing.assert_array_equal(X, original)
    np.testing.assert_array_equal(f32, f32_copy)


# ----------------------------------------------------------------- shape mismatches
def test_wrong_widths_and_unfitted(X, fitted):
    with pytest.raises(ValueError, match="6 features"):
        fitted.transform(X[:, :5])
    with pytest.raises(ValueError, match="2 columns"):
        fitted.inverse_transform(np.zeros((3, 3)))
    for method in ("transform", "inverse_transform", "score"):
        with pytest.raises(NotFittedError):
            getattr(fast(), method)(X)


def test_reordered_dataframe_columns(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=list("abcdef"))
    ae = fast().fit(frame)
    with pytest.raises(ValueError, match="order"):
        ae.transform(frame[list("bacdef")])


# ----------------------------------------------------------------- hyperparameters
@pytest.mark.parametrize(
    "params, match",
    [
        ({"importance_level": 0.0}, "importance_level"),
        ({"importance_level": 1.5}, "importance_level"),
        ({"target_sparsity": 1.0}, "target_sparsity"),
        ({"target_sparsity": -0.1}, "target_sparsity"),
        ({"hidden_layer_sizes": ()}, "empty"),
        ({"hidden_layer_sizes": (4, 0)}, r"hidden_layer_sizes\[1\] = 0"),
        ({"hidden_layer_sizes": (2, 4)}, r"hidden_layer_sizes\[1\] = 4 is larger"),
        ({"hidden_layer_sizes": (7,)}, r"hidden_layer_sizes\[0\] = 7 is wider"),
        ({"shapley_estimator": "magic"}, "shapley_estimator"),
    ],
)
def test_invalid_hyperparameters_raise_in_fit_only(X, params, match):
    est = fast(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        est.fit(X)


def test_background_larger_than_data_uses_every_row_silently(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ae = fast(n_background=500, n_explain=500).fit(X)
    assert len(ae.background_) == len(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_requested_without_cuda(X):
    with pytest.raises(ValueError, match="CUDA is not available"):
        fast(device="cuda").fit(X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_gives_cpu_state(X):  # pragma: no cover - needs a GPU
    ae = fast(device="cuda").fit(X)
    assert isinstance(ae.dense_weights_[0], np.ndarray)
    np.testing.assert_allclose(ae.transform(X), fast(device="cpu").fit(X).transform(X), atol=1e-3)


def test_divergence_names_the_epoch(X):
    with pytest.raises(TrainingDivergenceError, match=r"epoch \d+.*learning_rate_init"):
        fast(activation="relu", learning_rate_init=1e30, max_iter=5).fit(X * 1e30)


def test_finite_divergence_is_detected(X):
    """A step size that makes the loss explode (but stay finite) is an error, not a model."""
    with pytest.raises(TrainingDivergenceError, match="Lower learning_rate_init"):
        fast(learning_rate_init=1e6, max_iter=20, init="random", solver="adam").fit(X)


def test_memory_estimate_fails_early(X):
    with pytest.raises(ValueError, match="GiB of memory"):
        fast(shapley_estimator="exact", hidden_layer_sizes=(4,)).fit(
            np.random.default_rng(0).uniform(size=(10, 200))
        )


# ----------------------------------------------------------------- interruption
@pytest.mark.parametrize("stage", ["train_autoencoder", "score_network", "to_csr"])
def test_interrupt_leaves_previous_state_or_unfitted(X, stage, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    fresh = fast()
    refit = fast().fit(X)
    before = {k: v for k, v in vars(refit).items() if k.endswith("_")}
    monkeypatch.setattr(stages_module, stage, boom)
    for est in (fresh, refit):
        with pytest.raises(KeyboardInterrupt):
            est.set_params(importance_level=0.5).fit(X)
    with pytest.raises(NotFittedError):
        fresh.transform(X)
    after = {k: v for k, v in vars(refit).items() if k.endswith("_")}
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


# ----------------------------------------------------------------- determinism
def test_same_seed_same_everything_and_global_state_untouched(X):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_state = torch.random.get_rng_state().clone()
    threads = torch.get_num_threads()
    # numpy's BLAS is held to the free cores during a fit only
    blas = {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()}
    a = fast((4, 2), n_background=20, n_explain=20).fit(X)
    b = fast((4, 2), n_background=20, n_explain=20).fit(X)
    k = fast((4, 2), shapley_estimator=KernelEstimator(n_samples=50)).fit(X)
    assert k.sparsity_ >= 0
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert torch.get_num_threads() == threads
    after = {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()}
    assert {path: after[path] for path in blas} == blas
    for x, y in zip(a.link_importances_, b.link_importances_):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.link_masks_, b.link_masks_):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


# ----------------------------------------------------------------- persistence
def test_pickle_and_joblib_round_trip(fitted, X, tmp_path):
    ref = fitted.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(X), ref)
    joblib.dump(fitted, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").transform(X), ref)


def test_safe_format_round_trip_and_refusals(fitted, X, tmp_path):
    path = tmp_path / "model.npz"
    save(fitted, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    Z = fitted.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), fitted.inverse_transform(Z))
    assert loaded.sparsity_ == fitted.sparsity_
    for a, b in zip(loaded.link_masks_, fitted.link_masks_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        loaded.reprune(0.5).transform(X), fitted.reprune(0.5).transform(X)
    )

    # tampered: one weight changed, same structure
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["dense_weights_/0"] = arrays["dense_weights_/0"] + 1.0
    np.savez(tmp_path / "tampered.npz", **arrays)
    with pytest.raises(ValueError, match="checksum"):
        load(tmp_path / "tampered.npz")
    # foreign files
    np.savez(tmp_path / "foreign.npz", X=X)
    with pytest.raises(ValueError, match="no skshapsae header"):
        load(tmp_path / "foreign.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load(tmp_path / "junk.npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="Cannot load"):
        load(pickled)


# ----------------------------------------------------------------- round two
def test_fitted_inference_arrays_are_read_only(fitted, X, tmp_path):
    """An in-place edit cannot leave the cached inference plan stale: it is refused."""
    fitted.transform(X)  # builds the plan
    for copy in (fitted, pickle.loads(pickle.dumps(fitted)), fitted.reprune(0.5)):
        with pytest.raises(ValueError, match="read-only"):
            copy.intercepts_[0][0] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            copy.weights_[0].data[0] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            copy.active_units_[1][0] = False
    save(fitted, tmp_path / "m.npz")
    with pytest.raises(ValueError, match="read-only"):
        load(tmp_path / "m.npz").intercepts_[0][0] = 1.0


@pytest.mark.parametrize("estimator", ["shap-permutation", "kernel"])
def test_shap_estimators_and_explain_keep_global_numpy_state(X, estimator):
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    if estimator == "kernel":
        estimator = KernelEstimator(n_samples=20)
    ae = fast((4, 2), shapley_estimator=estimator).fit(X)
    ae.explain(X[:2])
    ae.explain(X[:2], layer=1)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_memory_check_counts_permutations_before_any_work(X, monkeypatch):
    monkeypatch.setattr(stages_module, "train_autoencoder", pytest.fail)
    with pytest.raises(ValueError, match=r"GiB .*n_permutations=1000000000"):
        fast((4, 2), shapley_estimator=PermutationEstimator(n_permutations=10**9)).fit(X)


def test_memory_check_on_a_very_wide_input_allocates_nothing(monkeypatch):
    monkeypatch.setattr(stages_module, "train_autoencoder", pytest.fail)
    wide = np.random.default_rng(0).uniform(size=(3, 60_000))
    with pytest.raises(ValueError, match=r"needs about \d+\.\d GiB of memory to train"):
        fast((30_000,)).fit(wide)


@pytest.mark.parametrize("device", ["mps", "nonsense", "CPU", "", "meta", "xpu", "cuda:x"])
def test_unsupported_devices_are_a_clear_error(X, device):
    with pytest.raises(ValueError, match="'auto'.*'cpu'.*'cuda'"):
        fast(device=device).fit(X)


def test_n_jobs_zero_is_refused_by_validation(X, monkeypatch):
    monkeypatch.setattr(stages_module, "train_autoencoder", pytest.fail)
    with pytest.raises(ValueError, match="n_jobs"):
        fast(n_jobs=0).fit(X)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_evals": -5}, "max_evals"),
        ({"max_evals": 3}, "max_evals"),
        ({"layer": 1.5}, "layer must be"),
        ({"layer": True}, "layer must be"),
        ({"layer": -1}, "layer must be"),
    ],
)
def test_explain_arguments_are_validated(fitted, X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fitted.explain(X[:2], **kwargs)


@pytest.mark.parametrize("levels", [[-1, 0.5], [0.5, 2.0], [np.nan], [0.0], [[0.5]]])
def test_sparsity_curve_levels_are_validated(fitted, levels):
    with pytest.raises(ValueError, match=r"levels .*\(0, 1\]"):
        fitted.sparsity_curve(levels)


# -------------------------------------------------------- hostile conditions (issues 22, 32)
def test_negative_strides_and_grad_tensors(logistic_X):
    ae = fast_model(max_iter=2, device="auto")
    ae.partial_fit(logistic_X[::-1])
    ae.partial_fit(logistic_X[:, ::-1][:, ::-1][::-1])
    fast_model(max_iter=2, device="auto", random_state=None).fit(
        [logistic_X[::-1][:30], logistic_X[30:][:, ::-1][:, ::-1]]
    )
    assert ae.transform(logistic_X[::-1]).shape == (len(logistic_X), 2)
    # one reversed row: numpy calls it contiguous, its stride is still negative
    for X in (logistic_X, logistic_X.astype(np.float32)):
        row = X[:1][::-1]
        np.testing.assert_array_equal(ae.transform(row), ae.transform(X[:1]))
        codes = ae.transform(X[:1])
        np.testing.assert_array_equal(
            ae.inverse_transform(codes[::-1]), ae.inverse_transform(codes)
        )
    fast_model(max_iter=2, random_state=None).fit([logistic_X[:1][::-1], logistic_X[1:]])
    import torch

    tensor = torch.tensor(logistic_X, requires_grad=True)
    np.testing.assert_allclose(ae.transform(tensor), ae.transform(logistic_X))


def test_fast_inference_path_keeps_the_checks(logistic_model, logistic_X):
    import sklearn

    wide = np.full((2, logistic_X.shape[1]), 1e39)
    with pytest.raises(ValueError, match="float32 range"):
        logistic_model.transform(wide)
    bad = logistic_X[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        logistic_model.transform(bad)
    with pytest.raises(ValueError, match="NaN"):
        logistic_model.transform(bad.astype(np.float32))
    with sklearn.config_context(assume_finite=True):  # float32: the check is skipped
        assert logistic_model.transform(bad.astype(np.float32)).shape == (3, 2)
    np.testing.assert_allclose(
        logistic_model.transform(logistic_X),
        logistic_model.transform(logistic_X.astype(np.float32)),
        rtol=1e-6,
        atol=1e-7,
    )


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(scale=st.floats(1e30, 3.4e38), dtype=st.sampled_from([np.float32, np.float64]))
def test_overflowing_inference_is_an_error_not_inf(logistic_model, logistic_X, scale, dtype):
    rows = (logistic_X[:3] * scale).astype(dtype)
    try:
        out = logistic_model.transform(rows)
    except ValueError as exc:
        assert "overflow" in str(exc) or "float32" in str(exc)
    else:
        assert np.isfinite(out).all()
    codes = np.full((2, logistic_model.n_components_), scale, dtype=dtype)
    codes[1] = 1e308 if dtype == np.float64 else scale
    try:
        out = logistic_model.inverse_transform(codes)
    except ValueError as exc:
        assert "overflow" in str(exc)
    else:
        assert np.isfinite(out).all()
