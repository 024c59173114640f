"""Activation functions, in numpy (inference, pruning) and torch (training, scoring).

Both tables share the same names so that a fitted estimator, which holds only
numpy and scipy objects, computes exactly the function the torch network was
trained with. Every Shapley estimator evaluates the layer function through one of
these two tables, so each activation listed here is supported by all of them.
"""

import numpy as np
from scipy.special import erf, expit

ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "silu", "gelu", "logistic", "tanh")

#: Negative slope of ``"leaky_relu"`` (torch's default).
LEAKY_SLOPE = 0.01

#: The range of each activation's output, used to warn about badly scaled targets.
OUTPUT_RANGE = {
    "identity": (-np.inf, np.inf),
    "relu": (0.0, np.inf),
    "leaky_relu": (-np.inf, np.inf),
    "elu": (-1.0, np.inf),
    "silu": (-0.2785, np.inf),
    "gelu": (-0.1700, np.inf),
    "logistic": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
}


def _identity(x):
    return x


def _relu(x):
    return np.maximum(x, 0)


def _leaky_relu(x):
    return np.where(x >= 0, x, LEAKY_SLOPE * x)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _silu(x):
    return x * expit(x)


def _gelu(x):
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


NUMPY_ACTIVATIONS = {
    "identity": _identity,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "silu": _silu,
    "gelu": _gelu,
    "logistic": expit,
    "tanh": np.tanh,
}


def numpy_activation(name):
    """Return the numpy implementation of activation ``name``."""
    return NUMPY_ACTIVATIONS[name]


def torch_activation(name):
    """Return the torch implementation of activation ``name``."""
    import torch
    import torch.nn.functional as F

    return {
        "identity": _identity,
        "relu": torch.relu,
        "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_SLOPE),
        "elu": F.elu,
        "silu": F.silu,
        "gelu": F.gelu,
        "logistic": torch.sigmoid,
        "tanh": torch.tanh,
    }[name]


class TorchActivation:
    """A torch activation by name, callable as :func:`torch_activation`'s function, with
    ``inplace``: the same kernel applied in place (inference's reused buffers; where torch
    has no in-place form, the result is copied back)."""

    def __init__(self, name):
        import torch.nn.functional as F

        self.name = name
        self.function = torch_activation(name)
        inplace = {
            "identity": lambda x: x,
            "relu": lambda x: x.relu_(),
            "leaky_relu": lambda x: F.leaky_relu_(x, LEAKY_SLOPE),
            "elu": lambda x: F.elu_(x),
            "silu": lambda x: F.silu(x, inplace=True),
            "logistic": lambda x: x.sigmoid_(),
            "tanh": lambda x: x.tanh_(),
        }
        self.inplace = inplace.get(name, lambda x: x.copy_(self.function(x)))

    def __call__(self, x):
        return self.function(x)


def layer_activations(activation, out_activation, n_layers):
    """Names of the activations after each of the ``n_layers`` weight layers."""
    return [activation] * (n_layers - 1) + [out_activation]
