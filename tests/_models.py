"""The small, fast model the tests build: the settings they share, in one place.

Test modules import it as ``from _models import fast_model`` (``tests`` is on pytest's
``pythonpath``): a plain function, so that module-scoped fixtures and parametrize lists can
call it too.
"""

import numpy as np

from skshapsae import SHAPSparseAutoencoder

#: a few epochs on a small background and explained set, on the CPU, seeded
FAST = dict(max_iter=3, n_background=10, n_explain=10, device="cpu", random_state=0)


def fast_model(hidden_layer_sizes=(4, 2), **overrides):
    """A small ``SHAPSparseAutoencoder`` with the fast settings; *overrides* replace any."""
    return SHAPSparseAutoencoder(hidden_layer_sizes, **{**FAST, **overrides})


def digits_model(**overrides):
    """The model the chunked and Dask tests fit on 600 digits, on the default device."""
    settings = dict(hidden_layer_sizes=(8,), max_iter=5, n_background=40, n_explain=40)
    return fast_model(**{**settings, "device": "auto", **overrides})


def logistic_data():
    """60 rows of 6 features in (0, 1): two latent factors through a logistic (seeded)."""
    rng = np.random.default_rng(0)
    return 1 / (1 + np.exp(-rng.normal(size=(60, 2)) @ rng.normal(size=(2, 6))))


def fit_fast(X, **params):
    """The fast model on the default device, fitted on *X*; *params* replace any setting."""
    return fast_model(device="auto", **params).fit(X)
