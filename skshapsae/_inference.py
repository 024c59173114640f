"""Forward passes of a fitted network in numpy (dense) and torch (sparse blocks), batched."""

import numpy as np
import scipy.sparse as sp

from ._activations import numpy_activation

#: Rows per batch in inference; bounds the memory of ``transform``.
DEFAULT_BATCH_ROWS = 4096


def layer_outputs(A, weights, biases, activations):
    """Outputs of every layer for the rows ``A`` (a list of ``len(weights) + 1`` arrays)."""
    outs = [A]
    for W, b, act in zip(weights, biases, activations):
        A = numpy_activation(act)(A @ W.T + b)
        outs.append(A)
    return outs


#: Below this density a layer's compacted block is multiplied as a sparse CSR matrix
#: (torch's multi-threaded kernel), above it as a dense array (crossover measured by
#: benchmarks/bench_inference.py on this machine: torch CSR matched dense BLAS at ~20 %).
CSR_MAX_DENSITY = 0.2


class _TorchCSR:
    """A CSR block multiplied with torch's sparse kernel (faster than scipy's here)."""

    def __init__(self, block):
        import torch

        self.shape = block.shape
        self.matrix = torch.sparse_csr_tensor(
            torch.from_numpy(block.indptr.astype(np.int64)),
            torch.from_numpy(block.indices.astype(np.int64)),
            torch.from_numpy(block.data.astype(np.float64)),
            size=block.shape,
        )

    def product(self, A):
        """``A @ block.T`` as numpy."""
        import torch

        return (self.matrix @ torch.from_numpy(np.ascontiguousarray(A.T))).T.numpy()


def _activate_inplace(name, z):
    """Apply activation ``name`` to the float64 array ``z`` in place (torch's vectorised,
    multi-threaded kernels: about 6x faster than scipy's ``expit`` here)."""
    if name == "identity":
        return z
    import torch

    getattr(torch, {"relu": "relu_", "sigmoid": "sigmoid_", "tanh": "tanh_"}[name])(
        torch.from_numpy(z)
    )
    return z


def compact_plan(weights, biases, activations, unit_masks, fill):
    """Per layer: surviving inputs/outputs and the compacted block, dense or CSR.

    ``unit_masks[k]`` says which units of layer ``k`` carry signal (for the first layer:
    the inputs that are used; for the last: the outputs that have kept incoming links).
    ``fill`` holds the values of the last layer's other units (0 for removed code units,
    the constant ``act(b)`` for reconstruction units without links). The index vectors
    of the first layer's inputs and the last layer's outputs are ``None`` where every
    unit survives (no gather or scatter needed).
    """
    steps = []
    for k, (W, b, act) in enumerate(zip(weights, biases, activations)):
        rows, cols = np.flatnonzero(unit_masks[k + 1]), np.flatnonzero(unit_masks[k])
        block = sp.csr_array(W)[rows][:, cols]
        if block.size and block.nnz / block.size <= CSR_MAX_DENSITY:
            block = _TorchCSR(block)
        else:
            block = block.toarray()
        steps.append((block, b[rows], act))

    def index(mask):
        return None if mask.all() else np.flatnonzero(mask)

    return index(unit_masks[0]), steps, index(unit_masks[-1]), fill


def forward_compact(X, plan, batch_rows=DEFAULT_BATCH_ROWS):
    """Run a :func:`compact_plan` on ``X``, ``batch_rows`` rows at a time."""
    first, steps, last, fill = plan
    out = np.empty((X.shape[0], len(fill)), dtype=np.float64)
    for begin in range(0, X.shape[0], batch_rows):
        A = X[begin : begin + batch_rows]
        if first is not None:
            A = A[:, first]
        for block, b, act in steps:
            z = block.product(A) if isinstance(block, _TorchCSR) else A @ block.T
            z += b
            A = _activate_inplace(act, z)
        chunk = out[begin : begin + batch_rows]
        if last is None:
            chunk[:] = A
        else:
            chunk[:] = fill
            chunk[:, last] = A
    return out
