"""The small, fast model the tests build: the settings they share, in one place.

Test modules import it as ``from _models import fast_model`` (``tests`` is on pytest's
``pythonpath``): a plain function, so that module-scoped fixtures and parametrize lists can
call it too.
"""

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
