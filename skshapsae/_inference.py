"""Forward passes of a fitted network in numpy / scipy.sparse, in bounded batches."""

import numpy as np
import scipy.sparse as sp

from ._activations import numpy_activation

#: Rows per batch in inference; bounds the memory of ``transform``.
DEFAULT_BATCH_ROWS = 4096


def linear(A, W, b):
    """``A @ W.T + b`` for a dense or scipy.sparse ``W`` of shape (n_out, n_in)."""
    if sp.issparse(W):
        # sparse @ dense is the fast direction for CSR.
        return np.asarray((W @ A.T).T) + b
    return A @ W.T + b


def layer_outputs(A, weights, biases, activations, unit_masks=None):
    """Outputs of every layer for the rows ``A`` (a list of ``len(weights) + 1`` arrays).

    ``unit_masks[k]`` (bool), when given, zeroes removed units of layer ``k``.
    """
    outs = [A]
    for k, (W, b, act) in enumerate(zip(weights, biases, activations), start=1):
        A = numpy_activation(act)(linear(A, W, b))
        if unit_masks is not None and not unit_masks[k].all():
            A = A * unit_masks[k]
        outs.append(A)
    return outs


def forward(X, weights, biases, activations, unit_masks=None, batch_rows=DEFAULT_BATCH_ROWS):
    """Output of the last layer for ``X``, computed ``batch_rows`` rows at a time."""
    n_out = weights[-1].shape[0]
    result = np.empty((X.shape[0], n_out), dtype=np.float64)
    for begin in range(0, X.shape[0], batch_rows):
        chunk = X[begin : begin + batch_rows]
        result[begin : begin + batch_rows] = layer_outputs(
            chunk, weights, biases, activations, unit_masks
        )[-1]
    return result
