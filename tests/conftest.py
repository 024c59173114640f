import numpy as np
import pytest

from _models import fit_fast, logistic_data


@pytest.fixture
def small_data():
    """A small, seeded, non-degenerate data set in [0, 1]."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(120, 3))
    X = 1 / (1 + np.exp(-latent @ rng.normal(size=(3, 8))))
    return X + 0.01 * rng.normal(size=X.shape)


@pytest.fixture(scope="module")
def logistic_X():
    """The data of the hostile-conditions tests: see ``_models.logistic_data``."""
    return logistic_data()


@pytest.fixture(scope="module")
def logistic_model(logistic_X):
    """The fast model on the default device, fitted on ``logistic_X`` (once per module)."""
    return fit_fast(logistic_X)
