"""Dask collections in inference: lazy results block by block, equal to the in-memory path;
Dask-ML's ParallelPostFit and Incremental wrappers."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from _models import digits_model as fast

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


@pytest.fixture(scope="module")
def ae(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fast().fit(data[0])


def no_compute(*args, **kwargs):
    raise AssertionError("computed eagerly")


def blockwise(method, X, size):
    return np.concatenate([method(X[i : i + size]) for i in range(0, len(X), size)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transform_and_inverse_transform_are_lazy_and_equal(ae, data, dtype):
    X = data[0].astype(dtype)
    Xd = da.from_array(X, chunks=(150, 32))  # column chunks are joined
    with dask.config.set(scheduler=no_compute):
        Z = ae.transform(Xd)
        R = ae.inverse_transform(Z)
    assert isinstance(Z, da.Array) and Z.chunks == ((150,) * 4, (8,)) and Z.dtype == dtype
    assert isinstance(R, da.Array) and R.shape == X.shape and R.dtype == dtype
    z, r = Z.compute(), R.compute()
    # each block is the in-memory transform of its rows; the whole to float32 rounding
    np.testing.assert_array_equal(z, blockwise(ae.transform, X, 150))
    np.testing.assert_allclose(z, ae.transform(X), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r, ae.inverse_transform(ae.transform(X)), rtol=1e-5, atol=1e-6)
    assert z.dtype == r.dtype == dtype


def test_the_model_is_one_key_of_the_graph(ae, data):
    Xd = da.from_array(data[0], chunks=(50, 64))
    Z = ae.transform(Xd)
    graph = dict(Z.__dask_graph__())
    models = [key for key in graph if str(key).startswith(("SHAPSparseAutoencoder-", "('SHAP"))]
    assert len(models) == 1  # shipped once, not pickled into each of the 12 tasks
    blocks = [key for key in graph if isinstance(key, tuple) and "_apply_block" in key[0]]
    assert len(blocks) == 12
    from dask.core import get_dependencies

    assert all(models[0] in get_dependencies(graph, key) for key in blocks)


def test_score_reduces_on_the_workers(ae, data):
    X = data[0]
    Xd = da.from_array(X, chunks=(100, 64))
    assert ae.score(Xd) == pytest.approx(ae.score(X), rel=1e-6)


def test_dask_dataframes(data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X = data[0]
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(64)], index=np.arange(600) * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fast().fit(frame)
    ddf = dd.from_pandas(frame, npartitions=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # named partitions: no feature-name warnings
        Z = model.transform(ddf)  # default output: a Dask array, unknown chunk sizes
        assert isinstance(Z, da.Array) and np.isnan(Z.shape[0]) and Z.shape[1] == 8
        np.testing.assert_allclose(Z.compute(), model.transform(frame), rtol=1e-6, atol=1e-6)
        model.set_output(transform="pandas")
        Zf = model.transform(ddf)
        assert isinstance(Zf, dd.DataFrame)
        assert list(Zf.columns) == list(model.get_feature_names_out())
        expected = model.transform(frame)
        pd.testing.assert_frame_equal(Zf.compute(), expected, rtol=1e-6, atol=1e-6)
        Rf = model.inverse_transform(Zf)
        assert isinstance(Rf, dd.DataFrame) and list(Rf.columns) == list(frame.columns)
        pd.testing.assert_frame_equal(
            Rf.compute(), model.inverse_transform(expected), rtol=1e-5, atol=1e-6
        )
        # float32 sums over other batches: equal to float32 rounding
        assert model.score(ddf) == pytest.approx(model.score(frame), rel=1e-6)
    # a Dask array under pandas output: a Dask DataFrame with the code names (the model
    # warns once, at the call, that the array has no feature names, as in memory)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        Za = model.transform(da.from_array(X, chunks=(200, 64)))
    assert isinstance(Za, dd.DataFrame)
    assert list(Za.compute().columns) == list(model.get_feature_names_out())


def test_empty_partitions_and_unknown_chunks(ae, data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X = data[0]
    frame = pd.DataFrame(X).rename(columns=str)
    ddf = dd.from_pandas(frame, npartitions=6)
    kept = ddf.map_partitions(lambda part: part[part.index >= 300])  # the first: empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted without names
        Z = ae.transform(kept.to_dask_array())
        score = ae.score(kept.to_dask_array())
    np.testing.assert_allclose(Z.compute(), ae.transform(X[300:]), rtol=1e-6, atol=1e-6)
    assert score == pytest.approx(ae.score(X[300:]), rel=1e-6)


def test_fit_streams_a_dask_dataframe(data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame(data[0], columns=[f"c{i}" for i in range(64)])
    from_frame = fast().fit(dd.from_pandas(frame, npartitions=4))
    from_array = fast().fit(da.from_array(data[0], chunks=(150, 64)))
    assert from_frame.n_samples_seen_ == 600
    assert list(from_frame.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(from_frame.transform(frame), from_array.transform(data[0]))
    # fit_transform of a Dask collection: streamed fit, lazy codes
    Z = fast().fit_transform(da.from_array(data[0], chunks=(150, 64)))
    assert isinstance(Z, da.Array)
    np.testing.assert_allclose(Z.compute(), from_array.transform(data[0]), rtol=1e-6, atol=1e-6)


def test_errors_at_call_time_on_metadata_and_at_compute_time_on_values(ae, data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X = data[0]
    with pytest.raises(ValueError, match="X has 10 columns, but transform expects 64"):
        ae.transform(da.from_array(X[:, :10]))
    with pytest.raises(ValueError, match="expects 8 .n_components_"):
        ae.inverse_transform(da.from_array(X))
    with pytest.raises(ValueError, match="2-d Dask array"):
        ae.transform(da.from_array(X[:, 0]))
    with pytest.raises(ValueError, match="numeric columns"):
        ae.score(dd.from_pandas(pd.DataFrame({"a": ["x"] * 4, "b": [1.0] * 4}), npartitions=1))
    with pytest.raises(TypeError, match="Dask array or a Dask DataFrame"):
        ae.transform(dd.from_pandas(pd.Series(X[:, 0]), npartitions=2))
    with pytest.raises(ValueError, match="output must be None"):
        ae.explain(da.from_array(X), output=8)
    bad = X.copy()
    bad[450, 3] = np.nan
    Z = ae.transform(da.from_array(bad, chunks=(150, 64)))  # lazy: nothing read yet
    with pytest.raises(ValueError, match="NaN"):
        Z.compute()


def test_polars_output_is_refused_for_dask_input(ae, data):
    pytest.importorskip("polars")
    X = data[0]
    model = fast().fit(X).set_output(transform="polars")
    with pytest.raises(ValueError, match="no Dask counterpart"):
        model.transform(da.from_array(X))


def test_explain_gives_a_lazy_array_of_values(ae, data):
    X = data[0][:20]
    Xd = da.from_array(X, chunks=(10, 64))
    with dask.config.set(scheduler=no_compute):
        values = ae.explain(Xd, output=1)
        layer = ae.explain(Xd, layer=1)
    assert values.shape == (20, 64) and layer.shape == (20, 8, 64)
    v = values.compute(scheduler="threads")  # blocks in two threads at once
    # each block: explain(block).values; the sampled permutations restart in each block
    np.testing.assert_array_equal(v, blockwise(lambda b: ae.explain(b, output=1).values, X, 10))
    # efficiency: the attributions add up to the code, as in memory
    base = ae.explain(X[:1], output=1).base_values
    np.testing.assert_allclose(v.sum(axis=1) + base, ae.transform(X)[:, 1], atol=1e-5)
    codes = ae.explain(Xd, output="units")
    assert codes.shape == (20, 64, 8) and codes.chunks[1:] == ((64,), (8,))
    assert ae.explain(Xd).shape == (20, 64)  # the rows' reconstruction errors
    # the layer game on 8 inputs is exact: the same values whatever the blocks
    np.testing.assert_allclose(layer.compute(), ae.explain(X, layer=1).values, atol=1e-12)


def test_on_a_local_cluster(ae, data):
    distributed = pytest.importorskip("distributed")
    X = data[0]
    Xd = da.from_array(X, chunks=(150, 64))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        z = ae.transform(Xd).compute()
        score = ae.score(Xd)
    np.testing.assert_array_equal(z, blockwise(ae.transform, X, 150))
    assert score == pytest.approx(ae.score(X), rel=1e-6)


def test_dask_ml_parallel_post_fit(data):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = data
    Xd = da.from_array(X, chunks=(150, 64))
    wrapped = wrappers.ParallelPostFit(fast()).fit(X)
    np.testing.assert_allclose(
        wrapped.transform(Xd).compute(), wrapped.estimator.transform(X), rtol=1e-6, atol=1e-6
    )
    assert wrapped.score(Xd, None) == pytest.approx(wrapped.estimator.score(X), rel=1e-6)
    # fit a search in memory, predict block by block
    grid = {"shapsparseautoencoder__importance_level": [0.6, 0.9]}
    search = GridSearchCV(make_pipeline(fast(), LogisticRegression(max_iter=300)), grid, cv=2)
    wrapped = wrappers.ParallelPostFit(search).fit(X[:300], y[:300])
    np.testing.assert_array_equal(wrapped.predict(Xd).compute(), wrapped.estimator.predict(X))


def test_dask_ml_incremental_calls_partial_fit_per_block(data):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = data
    Xd = da.from_array(X, chunks=(150, 64))
    wrapped = wrappers.Incremental(fast(), shuffle_blocks=False).fit(Xd)
    assert wrapped.estimator_.n_iter_ == 4 and wrapped.estimator_.n_samples_seen_ == 600
    by_hand = fast()
    for begin in range(0, 600, 150):
        by_hand.partial_fit(X[begin : begin + 150])
    np.testing.assert_array_equal(wrapped.transform(Xd).compute(), by_hand.transform(X))
    # in a pipeline, the estimator itself: a streamed fit and lazy codes (dask-ml's
    # transform gives the right values, but its array claims the input's 64 columns, which
    # a following step checks)
    pipe = make_pipeline(fast(), wrappers.ParallelPostFit(LogisticRegression(max_iter=300)))
    pipe.fit(Xd, y)
    assert pipe.predict(Xd).shape == (600,)
    assert (pipe.predict(Xd).compute() == pipe.predict(X)).all()
