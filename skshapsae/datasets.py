"""Data sets of the paper: the synthetic 6-feature data and MNIST / Fashion-MNIST loaders."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_synthetic"]


def make_synthetic(n_samples=15000, *, constant=1.0, random_state=None):
    """The paper's synthetic data (section 3.1): six features, two of them sums.

    - ``x1`` constant (``constant``);
    - ``x2 ~ U(0, 1)``;
    - ``x3``: half from ``U(0, 1/4)``, half from ``U(3/4, 1)``;
    - ``x4``: half from ``N(1/4, 0.1)``, half from ``N(3/4, 0.1)`` (0.1 is the variance);
    - ``x5 = x1 + x2`` and ``x6 = x3 + x4``.

    Parameters
    ----------
    n_samples : int, default=15000
        Number of rows (the paper uses 15,000).
    constant : float, default=1.0
        Value of ``x1`` (the paper does not give it).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 6)
        The data, columns ``x1 .. x6``.

    Examples
    --------
    >>> from skshapsae.datasets import make_synthetic
    >>> X = make_synthetic(100, random_state=0)
    >>> X.shape
    (100, 6)
    >>> bool((X[:, 4] == X[:, 0] + X[:, 1]).all())
    True
    """
    rng = check_random_state(random_state)
    n_low = n_samples // 2
    low = np.arange(n_samples) < n_low
    x1 = np.full(n_samples, float(constant))
    x2 = rng.uniform(0.0, 1.0, n_samples)
    x3 = np.where(low, rng.uniform(0.0, 0.25, n_samples), rng.uniform(0.75, 1.0, n_samples))
    x4 = np.where(low, 0.25, 0.75) + rng.normal(0.0, np.sqrt(0.1), n_samples)
    order = rng.permutation(n_samples)
    x3, x4 = x3[order], x4[rng.permutation(n_samples)]
    return np.column_stack([x1, x2, x3, x4, x1 + x2, x3 + x4])
