"""Feature selection from the input attribution (pure numpy).

A ranking by importance alone picks redundant columns: on breast cancer, mean radius,
perimeter and area carry the same information and rank together. :func:`select_features`
picks greedily instead: each step takes the column with the largest importance times
the share of its variance that the columns already chosen do not explain (by least
squares on a sample of rows), so a column that repeats a chosen one scores near zero.
"""

import numpy as np


def select_features(importances, rows, n_features, *, ridge=1e-6):
    """Indices of ``n_features`` columns, chosen for importance and against redundancy.

    Parameters
    ----------
    importances : ndarray of shape (n_columns,)
        Non-negative importance of each column.
    rows : ndarray of shape (n_rows, n_columns)
        Sample of the data on which redundancy is measured (least squares).
    n_features : int
        Columns to select.

    Returns
    -------
    indices : ndarray of int, in the order chosen
    """
    importances = np.asarray(importances, dtype=np.float64)
    centred = np.asarray(rows, dtype=np.float64) - np.mean(rows, axis=0)
    variance = np.maximum((centred**2).sum(axis=0), 1e-300)
    residual = centred.copy()
    chosen = []
    for _ in range(int(n_features)):
        unexplained = np.clip((residual**2).sum(axis=0) / variance, 0.0, 1.0)
        gain = importances * unexplained
        gain[chosen] = -np.inf
        # ties (all gains zero, e.g. more columns asked than the data span): by importance
        best = int(np.argmax(gain + 1e-12 * importances / max(importances.max(), 1e-300)))
        chosen.append(best)
        basis = centred[:, chosen]
        gram = basis.T @ basis
        gram[np.diag_indices_from(gram)] += ridge * max(np.trace(gram) / len(gram), 1e-300)
        residual = centred - basis @ np.linalg.solve(gram, basis.T @ centred)
    return np.asarray(chosen, dtype=np.intp)


def shap_importances(X, y=None, **params):
    """Unsupervised feature scores for ``SelectKBest``: a fitted model's input importance.

    Fits ``SHAPSparseAutoencoder(**params)`` on ``X`` (``y`` is ignored) and returns its
    ``feature_importances_``: each column's mean absolute Shapley contribution to the
    first layer (eq. 4). Bind parameters with ``functools.partial``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data, scaled (``MinMaxScaler`` or ``StandardScaler``).
    y : Ignored
        Not used; ``SelectKBest(...).fit(X)`` passes ``None``.
    **params
        Parameters of :class:`SHAPSparseAutoencoder` (for example ``n_components``).

    Returns
    -------
    scores : ndarray of shape (n_features,)

    Examples
    --------
    >>> from functools import partial
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.feature_selection import SelectKBest
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skshapsae import shap_importances
    >>> X = MinMaxScaler().fit_transform(load_wine().data)
    >>> score = partial(shap_importances, n_components=3, random_state=0)
    >>> SelectKBest(score, k=4).fit(X).transform(X).shape
    (178, 4)
    """
    from ._estimator import SHAPSparseAutoencoder

    return SHAPSparseAutoencoder(**params).fit(X).feature_importances_
