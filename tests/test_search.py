"""Reuse across a search: memory caching, reprune and the sparsity curve."""

from functools import partial

import numpy as np
import pytest

import skshapsae.conductor._stages as stages_module

from _models import fast_model

fast = partial(fast_model, hidden_layer_sizes=(6, 3), max_iter=5, n_background=30, n_explain=30)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(size=(80, 10))


def test_memory_trains_and_scores_once_per_training_set(X, tmp_path, monkeypatch):
    # no fine-tuning: it trains too, and this test detects any training
    first = fast(memory=str(tmp_path), importance_level=0.5, fine_tune_iter=0).fit(X)

    def fail(*args, **kwargs):
        raise AssertionError("the cached stage ran again")

    monkeypatch.setattr(stages_module, "train_autoencoder", fail)
    monkeypatch.setattr(stages_module, "score_network", fail)
    second = fast(memory=str(tmp_path), importance_level=0.9, fine_tune_iter=0).fit(X)
    for a, b in zip(first.link_importances_, second.link_importances_):
        np.testing.assert_array_equal(a, b)
    assert second.sparsity_ < first.sparsity_
    # other data is another key: the stage runs (and here fails on purpose)
    with pytest.raises(AssertionError, match="ran again"):
        fast(memory=str(tmp_path), fine_tune_iter=0).fit(X[:60])


def test_reprune_equals_refit_at_that_level(X):
    ae = fast(importance_level=0.8).fit(X)
    again = ae.reprune(0.5, X=X)
    direct = fast(importance_level=0.5).fit(X)
    assert again.importance_level_ == 0.5 and ae.importance_level_ == 0.8
    np.testing.assert_array_equal(again.transform(X), direct.transform(X))
    target = ae.reprune(target_sparsity=0.7)
    assert abs(target.sparsity_ - 0.7) <= 0.005
    with pytest.raises(ValueError, match="importance_level"):
        ae.reprune(1.5)


def test_reprune_without_data_is_not_fine_tuned(X):
    ae = fast(fine_tune_iter=2).fit(X)
    plain = ae.reprune(0.5)
    assert plain.fine_tune_iter == 0
    np.testing.assert_array_equal(
        plain.transform(X), fast(fine_tune_iter=0, importance_level=0.5).fit(X).transform(X)
    )
    tuned = ae.reprune(0.5, X=X)
    np.testing.assert_array_equal(
        tuned.transform(X), fast(fine_tune_iter=2, importance_level=0.5).fit(X).transform(X)
    )


def test_sparsity_curve_is_non_increasing(X):
    ae = fast().fit(X)
    levels, eta = ae.sparsity_curve()
    assert levels.shape == eta.shape == (20,)
    assert np.all(np.diff(eta) <= 1e-12)
    assert eta[-1] == pytest.approx(ae.reprune(1.0).sparsity_)


def test_slim_keeps_inference_and_shrinks(X):
    import pickle

    ae = fast(importance_level=0.5).fit(X)
    slim = ae.slim()
    np.testing.assert_array_equal(slim.transform(X), ae.transform(X))
    np.testing.assert_array_equal(
        slim.inverse_transform(ae.transform(X)), ae.inverse_transform(ae.transform(X))
    )
    np.testing.assert_array_equal(slim.feature_importances_, ae.feature_importances_)
    assert len(pickle.dumps(slim)) < len(pickle.dumps(ae)) / 2
    with pytest.raises(ValueError, match="slim"):
        slim.reprune(0.9)


def test_verbose_logs_each_stage_and_shows_progress(X, caplog, capsys):
    import logging

    with caplog.at_level(logging.INFO, logger="skshapsae"):
        ae = fast(verbose=1).fit(X)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "trained 10-6-3-6-10 in" in messages and "scored 4 layers in" in messages
    assert "training" in capsys.readouterr().err  # the tqdm bar
    assert set(ae.fit_times_) == {"training", "scoring"}


def test_copies_report_their_own_parameters(X):
    ae = fast(importance_level=0.8).fit(X)
    again = ae.reprune(0.5)
    assert again.get_params()["importance_level"] == 0.5
    assert again.get_params()["fine_tune_iter"] == 0  # no X: not fine-tuned, and says so
    assert ae.get_params()["importance_level"] == 0.8


def test_reprune_by_given_scores_and_keep_counts(X):
    ae = fast(fine_tune_iter=0).fit(X)
    scores = [np.abs(w) for w in ae.dense_weights_]
    counts = [max(1, w.size // 4) for w in ae.dense_weights_]
    pruned = ae.reprune(scores=scores, keep_counts=counts)
    assert pruned.shapley_estimators_ == ["given"] * len(scores)
    np.testing.assert_array_equal(pruned.unit_importances_[0], scores[0].mean(axis=0))
    # the feature importances are the dense network's (the reconstruction game), kept
    np.testing.assert_array_equal(pruned.feature_importances_, ae.feature_importances_)
    np.testing.assert_allclose(pruned.feature_importances_.sum(), 1.0)
    assert [int(m.sum()) for m in pruned.link_masks_] <= counts  # the cascade only removes
    # the kept links of the first layer are its largest weights
    kept = np.abs(ae.dense_weights_[0])[pruned.link_masks_[0]]
    assert kept.min() >= np.sort(np.abs(ae.dense_weights_[0]).ravel())[-counts[0]]
    assert ae.shapley_estimators_ != pruned.shapley_estimators_  # self is unchanged
    with pytest.raises(ValueError, match="shape"):
        ae.reprune(scores=[s.T for s in scores])
    with pytest.raises(ValueError, match="keep_counts"):
        ae.reprune(keep_counts=[10**9] * len(scores))


def test_estimator_used_per_layer_is_recorded(X):
    ae = fast(hidden_layer_sizes=(8, 4)).fit(X)
    # at most 7 inputs -> exact enumeration, 8 -> sampling; the identity output is linear
    assert ae.shapley_estimators_ == ["permutation", "permutation", "exact", "linear"]
    pre = fast(hidden_layer_sizes=(8, 4), importance_target="preactivation").fit(X)
    assert pre.shapley_estimators_ == ["linear"] * 4
    # 0-based, as scikit-learn names columns; the code layer's are transform's columns
    assert ae.get_unit_names(0)[:2] == ["x0", "x1"]
    assert ae.get_unit_names(1)[:2] == ["h1_0", "h1_1"]
    assert ae.get_unit_names(2) == list(ae.get_feature_names_out())
    assert ae.get_unit_names(3)[:1] == ["h3_0"]


def test_loaded_model_can_be_repruned_and_fine_tuned(X, tmp_path):
    import skshapsae

    ae = fast(fine_tune_iter=2).fit(X)
    skshapsae.save(ae, tmp_path / "model.npz")
    loaded = skshapsae.load(tmp_path / "model.npz")
    again, direct = loaded.reprune(0.9, X=X), ae.reprune(0.9, X=X)
    np.testing.assert_allclose(again.transform(X), direct.transform(X))


def test_bad_scores_say_what_is_wrong(X):
    ae = fast().fit(X)
    good = [np.abs(W) for W in ae.dense_weights_]
    with pytest.raises(ValueError, match=r"got shape \(1, 1\)"):
        ae.reprune(scores=[np.ones((1, 1))] + good[1:])
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        ae.reprune(scores=[np.where(good[0] == good[0].max(), np.nan, good[0])] + good[1:])
    with pytest.raises(ValueError, match="negative values .*np.abs"):
        ae.reprune(scores=[-good[0]] + good[1:])
