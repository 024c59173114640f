"""Parallel scoring and searches: joblib processes and a Dask LocalCluster equal the serial run."""

from functools import partial

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from _models import fast_model

fast = partial(fast_model, hidden_layer_sizes=(16, 4), n_background=20, n_explain=60)


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_n_jobs_gives_the_serial_result(data):
    X, _ = data
    serial = fast().fit(X)
    parallel = fast(n_jobs=2).fit(X)
    for a, b in zip(serial.link_importances_, parallel.link_importances_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(serial.transform(X), parallel.transform(X))


def test_dask_local_cluster_equals_serial(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    grid = {"shapsparseautoencoder__importance_level": [0.6, 0.9]}

    def search():
        pipe = make_pipeline(fast(), LogisticRegression(max_iter=300))
        return GridSearchCV(pipe, grid, cv=2, n_jobs=-1).fit(X, y)

    serial = GridSearchCV(make_pipeline(fast(), LogisticRegression(max_iter=300)), grid, cv=2).fit(
        X, y
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with parallel_backend("dask"):
            on_dask = search()
            scored = fast(n_jobs=-1).fit(X)
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    for a, b in zip(scored.link_importances_, fast().fit(X).link_importances_):
        np.testing.assert_array_equal(a, b)
