"""Feature selection from the attribution: select_features, SelectKBest and SelectFromModel."""

from functools import partial

import numpy as np
import pytest
from sklearn.feature_selection import SelectFromModel, SelectKBest

from skshapsae import SHAPSparseAutoencoder, shap_importances
from skshapsae.scoring._attribution import select_features


def test_select_features_skips_redundant_columns():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 2)).T
    rows = np.column_stack([a, a + 1e-3 * rng.normal(size=200), b])
    # the two copies of ``a`` rank first and second by importance alone
    chosen = select_features(np.array([1.0, 0.9, 0.5]), rows, 2)
    assert chosen[0] in (0, 1) and chosen[1] == 2  # one copy of ``a`` (either), then b
    # more columns than the data span: the rest by importance, no error
    assert select_features(np.array([1.0, 0.9, 0.5]), rows[:, [0, 0, 2]], 3).tolist()[2] in (0, 1)


@pytest.fixture(scope="module")
def table():
    """5 columns driven by 2 factors, then 15 noise columns; scaled to [0, 1]."""
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(400, 2))
    structured = factors @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(400, 5))
    X = np.hstack([structured, rng.normal(size=(400, 15)) * structured.std()])
    return (X - X.min(axis=0)) / np.ptp(X, axis=0)


def test_select_features_method(table):
    ae = SHAPSparseAutoencoder(hidden_layer_sizes=2, random_state=0).fit(table)
    chosen = ae.select_features(3)
    assert chosen.shape == (3,) and len(set(chosen.tolist())) == 3
    with pytest.raises(ValueError, match="integer in \\[1, 20\\]"):
        ae.select_features(0)


def test_sklearn_selectors(table):
    score = partial(shap_importances, hidden_layer_sizes=2, random_state=0)
    kbest = SelectKBest(score, k=5).fit(table)
    assert kbest.transform(table).shape == (400, 5)
    model = SelectFromModel(
        SHAPSparseAutoencoder(hidden_layer_sizes=2, random_state=0), max_features=5
    )
    model.fit(table)
    assert model.transform(table).shape[1] <= 5
    # the structured columns (the factors drive columns 0-4) rank high: chance is 0.25
    assert np.mean(np.isin(np.flatnonzero(kbest.get_support()), np.arange(5))) >= 0.6


def test_uniform_selection_is_forward_selection_for_reconstruction(table):
    """Each greedy step takes the column that, added, reconstructs all columns best."""
    from itertools import combinations

    ae = SHAPSparseAutoencoder(hidden_layer_sizes=2, random_state=0).fit(table)
    X = table[:, :8]
    ae8 = SHAPSparseAutoencoder(hidden_layer_sizes=2, random_state=0).fit(X)
    chosen = ae8.select_features(2, X=X)

    Z = X / X.std(0)  # in standard units, the default

    def residual(cols):
        A = Z[:, cols] - Z[:, cols].mean(0)
        Y = Z - Z.mean(0)
        return np.sum((Y - A @ np.linalg.lstsq(A, Y, rcond=None)[0]) ** 2)

    best_first = min(range(8), key=lambda j: residual([j]))
    assert chosen[0] == best_first
    best_second = min(
        (j for j in range(8) if j != best_first), key=lambda j: residual([best_first, j])
    )
    assert chosen[1] == best_second
    assert residual(list(chosen)) <= 1.05 * min(
        residual(list(c)) for c in combinations(range(8), 2)
    )
    # weighted by the importances, the noise columns (5-19) are passed over
    picked = ae.select_features(5, X=table, weights="importance")
    assert np.mean(picked < 5) >= 0.6
    with pytest.raises(ValueError, match="'uniform' or 'importance'"):
        ae.select_features(2, weights="shap")
    with pytest.raises(ValueError, match="per-column weights are not supported"):
        ae.select_features(2, weights=np.ones(20))
    # units="given": the columns as they are
    given = ae8.select_features(1, X=X, units="given")

    def raw(cols):
        A = X[:, cols] - X[:, cols].mean(0)
        return np.sum(((X - X.mean(0)) - A @ np.linalg.lstsq(A, X - X.mean(0), rcond=None)[0]) ** 2)

    assert given[0] == min(range(8), key=lambda j: raw([j]))


def test_selection_does_not_depend_on_the_scaler_in_front(table):
    """The columns are reconstructed in standard units: MinMaxScaler, StandardScaler or
    no scaler in front choose the same columns."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    rng = np.random.default_rng(3)
    raw = table * rng.uniform(0.01, 100, size=table.shape[1]) + rng.normal(size=table.shape[1])
    chosen = []
    for scaler in (MinMaxScaler(), StandardScaler(), None):
        X = raw if scaler is None else scaler.fit_transform(raw)
        ae = SHAPSparseAutoencoder(hidden_layer_sizes=2, max_iter=20, random_state=0).fit(X)
        chosen.append(ae.select_features(6, X=X).tolist())
    assert chosen[0] == chosen[1] == chosen[2]
