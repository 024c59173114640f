"""``shap_importances``: the model's feature importances as a ``SelectKBest`` score
function. It fits an estimator, so it sits above :mod:`skshapsae._estimator`
(:mod:`skshapsae.pruning._selection`, which the estimator uses, does not import it)."""

from ._estimator import SHAPSparseAutoencoder


def shap_importances(X, y=None, **params):
    """Unsupervised feature scores for ``SelectKBest``: a fitted model's input importance.

    Fits ``SHAPSparseAutoencoder(**params)`` on ``X`` (``y`` is ignored) and returns its
    ``feature_importances_``: each column's share of what the inputs do for the
    reconstruction of the other columns (see the estimator's attribute). Bind parameters
    with ``functools.partial``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data, scaled (``MinMaxScaler`` or ``StandardScaler``).
    y : Ignored
        Not used; ``SelectKBest(...).fit(X)`` passes ``None``.
    **params
        Parameters of :class:`SHAPSparseAutoencoder` (for example ``hidden_layer_sizes``;
        ``n_components`` was removed in 0.2).

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
    >>> score = partial(shap_importances, hidden_layer_sizes=3, random_state=0)
    >>> SelectKBest(score, k=4).fit(X).transform(X).shape
    (178, 4)
    """
    return SHAPSparseAutoencoder(**params).fit(X).feature_importances_
