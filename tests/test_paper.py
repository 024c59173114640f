"""The paper's synthetic experiment (section 3.1) and the scikit-learn workflow of the README."""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skshapsae.datasets import make_synthetic

from _models import fast_model


def test_synthetic_constant_feature_has_zero_importance():
    X = make_synthetic(2000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # x1 is constant, on purpose
        ae = fast_model((3,), max_iter=10, n_background=100, n_explain=100).fit(X)
    ui = ae.feature_importances_
    assert ui[0] == 0.0  # the dummy player: exactly zero, as the paper says
    assert np.all(ui[1:] > 0)
    assert not ae.link_masks_[0][:, 0].any()  # so x1's links are pruned
    assert not ae.active_units_[0][0]


def test_pipeline_grid_search_over_importance_level():
    X, y = load_digits(return_X_y=True)
    X, y = X[:900] / 16, y[:900]
    pipe = make_pipeline(
        fast_model((32, 8), max_iter=15, n_background=40, n_explain=40),
        LogisticRegression(max_iter=200),
    )
    search = GridSearchCV(pipe, {"shapsparseautoencoder__importance_level": [0.6, 0.95]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["shapsparseautoencoder__importance_level"] in (0.6, 0.95)
    assert search.best_score_ > 0.6
    ae = search.best_estimator_[0]
    assert 0 < ae.sparsity_ < 1
