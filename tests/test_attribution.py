"""``feature_importances_`` (the reconstruction game), its groups, and the weighted loss."""

from functools import partial

import numpy as np
import pytest

from skshapsae import load, save

from _models import fast_model


def _table(seed=0, n=300):
    """Six columns driven by two factors, then one wide uniform column that shares nothing."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 2)) @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(n, 6))
    X = np.hstack([shared, rng.uniform(-6, 6, size=(n, 1))])
    return (X - X.min(0)) / (X.max(0) - X.min(0))


_model = partial(
    fast_model,
    hidden_layer_sizes=2,
    max_iter=200,
    n_background=30,
    n_explain=30,
)


def _fit(X, **params):
    return _model(**params).fit(X)


def test_a_column_that_shares_nothing_ranks_last_with_the_plain_loss():
    X = _table()
    ae = _fit(X)
    np.testing.assert_array_equal(ae.column_weights_, np.ones(7))  # the plain loss
    fi = ae.feature_importances_
    assert np.argmin(fi) == 6
    np.testing.assert_allclose(fi.sum(), 1.0)
    # eq. 4 follows variance: the wide noise column is among the most important
    assert np.argsort(-ae.unit_importances_[0])[:3].tolist().count(6) == 1
    # the structure-weighted loss, one parameter away, ranks it last too
    unique = _fit(X, column_weights="unique")
    assert np.argmin(unique.feature_importances_) == 6
    assert np.argmin(unique.column_weights_ * X.var(axis=0)) == 6


def test_the_weighted_loss_is_what_training_reports():
    X = _table(1)
    ae = _fit(X, importance_level=1.0, fine_tune_iter=0, column_weights="unique")
    recon = ae.inverse_transform(ae.transform(X))
    weighted = np.mean(ae.column_weights_ * (recon - X) ** 2)
    np.testing.assert_allclose(weighted, ae.dense_loss_curve_[-1], rtol=0.05)
    # the weights keep the loss's scale: the weighted total variance is the plain one
    np.testing.assert_allclose((ae.column_weights_ * X.var(0)).sum(), X.var(0).sum())


def test_auto_resolves_by_output_and_width():
    X = _table()
    assert np.all(_fit(X, out_activation="logistic").column_weights_ == 1.0)
    with pytest.raises(ValueError, match="column_weights='uniform'"):
        _fit(X, out_activation="logistic", column_weights="unique")
    wide = np.random.default_rng(0).uniform(size=(40, 301))
    ae = _fit(wide, max_iter=2, n_background=5, n_explain=5)
    assert np.all(ae.column_weights_ == 1.0)


def test_streams_increments_and_files_keep_the_weights(tmp_path):
    X = _table(2)
    chunks = [X[:150], X[150:]]
    streamed = _fit(chunks, column_weights="unique")
    assert not np.allclose(streamed.column_weights_, 1.0)
    inc = _model(device="auto", column_weights="unique")
    inc.partial_fit(X[:150])
    first = inc.column_weights_.copy()
    inc.partial_fit(X[150:])
    np.testing.assert_array_equal(inc.column_weights_, first)  # fixed by the first chunk
    ae = _fit(X, column_weights="unique")
    save(ae, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.column_weights_, ae.column_weights_)
    np.testing.assert_array_equal(back.feature_importances_, ae.feature_importances_)
    np.testing.assert_array_equal(back.reconstruction_importances_, ae.reconstruction_importances_)
    # a loaded model continues training on the same weighted loss
    back.partial_fit(X[:50])
    np.testing.assert_array_equal(back.column_weights_, ae.column_weights_)


def test_feature_importances_come_from_the_network_not_the_link_scores():
    """Given link scores prune the network; the attribution is the dense network's."""
    X = _table(3)
    ae = _fit(X)
    scores = [np.ones_like(w) for w in ae.dense_weights_]
    scores[0][0] = [10.0, 0, 0, 0, 0, 0, 0]
    pruned = ae.reprune(scores=scores, keep_counts=[w.size for w in ae.dense_weights_])
    np.testing.assert_array_equal(pruned.feature_importances_, ae.feature_importances_)
    assert pruned.unit_importances_[0][0] > pruned.unit_importances_[0][1]  # eq. 4 moves
    # feature_importances_ are the off-diagonal column sums, normalised
    relative = ae.reconstruction_importances_.copy()
    np.fill_diagonal(relative, 0.0)
    np.testing.assert_allclose(ae.feature_importances_, relative.sum(0) / relative.sum())


def _exact_shapley(value, d):
    """Exact Shapley values of a game given by ``value(frozenset)`` (all coalitions)."""
    from itertools import combinations
    from math import factorial

    phi = np.zeros(d)
    for j in range(d):
        others = [k for k in range(d) if k != j]
        for size in range(d):
            weight = factorial(size) * factorial(d - size - 1) / factorial(d)
            for S in combinations(others, size):
                phi[j] += weight * (value(frozenset(S) | {j}) - value(frozenset(S)))
    return phi


def test_wide_data_keep_the_relevance_of_the_link_importances():
    """Images (more than 300 columns) cannot afford the reconstruction game: their
    feature_importances_ are the relevance passed down by the link importances."""
    from skshapsae.scoring._attribution import input_relevance

    wide = np.random.default_rng(0).uniform(size=(40, 301))
    ae = _fit(wide, max_iter=2, n_background=5, n_explain=5)
    assert not hasattr(ae, "reconstruction_importances_")
    relevance = input_relevance(ae.link_importances_, ae.column_weights_)
    np.testing.assert_allclose(ae.feature_importances_, relevance / relevance.sum())


def test_the_reconstruction_game_is_exact_on_a_linear_network():
    """An order and its reverse give the exact Shapley values of a quadratic game (the
    squared error of a linear network) and of a linear one (its output)."""
    from skshapsae.scoring._attribution import reconstruction_game

    rng = np.random.default_rng(0)
    d = 4
    P, c = rng.normal(size=(d, d)), rng.normal(size=d)
    background, explained = rng.normal(size=(1, d)), rng.normal(size=(5, d))
    loss, output = reconstruction_game(
        lambda Z: Z @ P.T + c, background, explained, seed=3, output=True, dtype=np.float64
    )
    exact_loss, exact_output = np.zeros((d, d)), np.zeros((d, d))
    r = background[0]
    for x in explained:
        for o in range(d):

            def error(S, o=o, x=x):
                z = np.where(np.isin(np.arange(d), list(S)), x, r)
                return -((x[o] - (P[o] @ z + c[o])) ** 2)

            exact_loss[o] += _exact_shapley(error, d) / len(explained)
            exact_output[o] += np.abs(P[o] * (x - r)) / len(explained)
    np.testing.assert_allclose(loss, exact_loss, atol=1e-10)
    np.testing.assert_allclose(output, exact_output, atol=1e-10)


def test_dummies_of_one_column_are_scored_together():
    """Two complementary dummies rebuild each other; grouped, the column they encode
    (which shares nothing with the rest) ranks last."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    from skshapsae import source_columns

    rng = np.random.default_rng(5)
    shared = _table(5)[:, :6]
    binary = rng.integers(2, size=(len(shared), 1)).astype(str)
    data = np.hstack([shared, binary]).astype(object)
    front = ColumnTransformer(
        [("num", "passthrough", list(range(6))), ("cat", OneHotEncoder(), [6])]
    ).fit(data)
    X = front.transform(data).astype(float)
    assert source_columns(front).tolist() == ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x6"]
    ae = _fit(X, hidden_layer_sizes=3)
    dummies = ae.feature_importances_[6:].sum()
    grouped = ae.group_importances(front)
    assert list(grouped) == ["x0", "x1", "x2", "x3", "x4", "x5", "x6"]
    np.testing.assert_allclose(sum(grouped.values()), 1.0)
    assert min(grouped, key=grouped.get) == "x6"
    assert grouped["x6"] < dummies
    with pytest.raises(ValueError, match="one label per input column"):
        ae.group_importances(["a", "b"])
    with pytest.raises(ValueError, match="slim"):
        ae.slim().group_importances(front)


def test_two_one_hot_columns_that_agree_rebuild_each_other():
    """Two binary text columns that agree on most rows (a player's league this year and
    next): each one-hot pair, as one player, rebuilds the other column, so both rank
    above independent numeric noise; dummy by dummy they would partly cancel."""
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(7)
    n = 400
    league = rng.integers(2, size=n)
    moved = rng.random(n) < 0.1
    new = np.where(moved, 1 - league, league)
    text = np.column_stack([league, new]).astype(str)
    encoder = OneHotEncoder(sparse_output=False).fit(text)
    X = np.hstack([encoder.transform(text), rng.uniform(size=(n, 4))])
    ae = _fit(X, hidden_layer_sizes=2)
    grouped = ae.group_importances(["league"] * 2 + ["new"] * 2 + ["a", "b", "c", "d"])
    assert min(grouped["league"], grouped["new"]) > max(grouped[c] for c in "abcd")


def test_groups_that_do_nothing_for_each_other_keep_their_raw_values():
    """Two independent categorical columns alone: neither group helps rebuild the other,
    the total is not positive, and the values come back as they are (not divided by a
    total of 0 or below, which would flip or blow up their signs), as documented."""
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    levels = rng.integers(3, size=(200, 2))
    encoder = OneHotEncoder(sparse_output=False).fit(levels)
    ae = _fit(encoder.transform(levels), hidden_layer_sizes=2)
    grouped = ae.group_importances(encoder)
    assert list(grouped) == ["x0", "x1"]
    values = np.array(list(grouped.values()))
    assert values.sum() < 0  # each group's dummies, imputed, make the other's error worse
    assert np.all(np.abs(values) < 1)  # raw changes of a 0-1 table's error, not shares


def test_unique_variances_match_scikit_learns_factor_analysis():
    from sklearn.decomposition import FactorAnalysis

    from skshapsae.network._network import unique_variances

    X = _table(4)
    fa = FactorAnalysis(2, svd_method="lapack", tol=1e-10, max_iter=5000).fit(X)
    centred = X - X.mean(0)
    psi = unique_variances(centred.T @ centred / len(X), 2, max_iter=5000, tol=1e-9)
    np.testing.assert_allclose(psi, fa.noise_variance_, rtol=1e-3, atol=1e-6 * X.var(0).max())


#: Slices of the batch-invariance test: every batch size under 16 rows runs as 16; odd
#: sizes end on half a 128-byte step of 16-float rows, where torch's activations round on
#: their scalar path (issue 38: one value in a few hundred differed on AVX-512).
_SLICES = [(0, 1), (3, 2), (7, 5), (11, 11), (20, 12), (40, 17), (60, 37)] + [
    (start, size) for start, size in zip(range(1, 120, 9), range(13, 50, 3))
]


def test_rows_get_the_same_code_whatever_the_batch():
    """A table's network gives a row the same float32 result in any batch (small batches
    padded with rows, units padded to whole 128-byte steps, one thread), on whatever
    instruction set torch, MKL and numba run (``.ci/run`` runs this again under narrower
    ones and under load)."""
    X = _table(5, n=120)
    for act in ("silu", "logistic", "tanh", "relu", "gelu"):
        ae = _fit(X, hidden_layer_sizes=(5, 2), activation=act)
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            full, back = ae.transform(Xd), ae.inverse_transform(ae.transform(Xd))
            assert full.dtype == dtype
            for start, size in _SLICES:
                rows = slice(start, start + size)
                np.testing.assert_array_equal(ae.transform(Xd[rows]), full[rows])
                np.testing.assert_array_equal(ae.inverse_transform(full[rows]), back[rows])
            # and across the 4,096-row batches of a long call
            long = np.tile(Xd, (40, 1))
            np.testing.assert_array_equal(
                ae.transform(long)[4090:4100], ae.transform(long[4090:4100])
            )


def test_a_tables_rows_get_the_same_code_whatever_the_threads(monkeypatch):
    """The thread count (read from the load, see ``network._network.torch_threads``) does
    not reach the bits: a table's plan runs on one thread, and its rows are whole 128-byte
    steps."""
    import torch

    from skshapsae.inference import _inference
    from skshapsae.network import _network

    X = _table(6, n=4099)
    ae = _fit(X, hidden_layer_sizes=(7, 3), activation="logistic")
    plan = _inference.encode_decode_plan(ae, "encode", np.float32, -1.0, 0, "auto")
    assert plan.padded
    for block, _, _ in plan[1]:
        assert block.shape[1] % _inference.pad_units(np.float32) == 0
    X32 = X.astype(np.float32)
    quiet = ae.transform(X32)
    previous = torch.get_num_threads()
    monkeypatch.setattr(_network, "_free_cores", lambda: 3)
    try:
        torch.set_num_threads(3)
        np.testing.assert_array_equal(ae.transform(X32), quiet)
        np.testing.assert_array_equal(ae.transform(X32[1001:1102]), quiet[1001:1102])
    finally:
        torch.set_num_threads(previous)


def test_source_columns_reads_name_slices_and_refuses_unfitted_transformers():
    """A ColumnTransformer branch given ``slice("a", "b")`` (pandas' inclusive label
    slice) raised a TypeError; an unfitted transformer an AttributeError."""
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import NotFittedError
    from sklearn.preprocessing import MinMaxScaler

    from skshapsae import source_columns

    frame = pd.DataFrame(np.random.default_rng(0).uniform(size=(20, 4)), columns=list("abcd"))
    front = ColumnTransformer(
        [("num", MinMaxScaler(), slice("b", "c")), ("first", "passthrough", slice(0, 1))]
    ).fit(frame)
    assert source_columns(front).tolist() == ["b", "c", "a"]
    with pytest.raises(NotFittedError):
        source_columns(ColumnTransformer([("num", MinMaxScaler(), ["a"])]))
