"""Activation functions, in numpy (inference, pruning) and torch (training, scoring).

Both tables share the same names so that a fitted estimator, which holds only
numpy and scipy objects, computes exactly the function the torch network was
trained with.
"""

import numpy as np
from scipy.special import expit

ACTIVATIONS = ("identity", "relu", "sigmoid", "tanh")


def _identity(x):
    return x


def _relu(x):
    return np.maximum(x, 0)


NUMPY_ACTIVATIONS = {
    "identity": _identity,
    "relu": _relu,
    "sigmoid": expit,
    "tanh": np.tanh,
}


def numpy_activation(name):
    """Return the numpy implementation of activation ``name``."""
    return NUMPY_ACTIVATIONS[name]


def torch_activation(name):
    """Return the torch implementation of activation ``name``."""
    import torch

    return {
        "identity": _identity,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }[name]


def layer_activations(activation, out_activation, n_layers):
    """Names of the activations after each of the ``n_layers`` weight layers."""
    return [activation] * (n_layers - 1) + [out_activation]
