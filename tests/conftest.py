import numpy as np
import pytest


@pytest.fixture
def small_data():
    """A small, seeded, non-degenerate data set in [0, 1]."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(120, 3))
    X = 1 / (1 + np.exp(-latent @ rng.normal(size=(3, 8))))
    return X + 0.01 * rng.normal(size=X.shape)
