"""The dense autoencoder in PyTorch: initialise, train, fine-tune, hand numpy back.

Nothing torch-related outlives these functions: they take numpy arrays and
return numpy arrays, so a fitted estimator pickles and loads without a GPU.

Training follows the conventions of :class:`sklearn.neural_network.MLPRegressor`:
``max_iter`` is an upper bound on the epochs, training stops when the monitored loss
has not improved by a relative ``tol`` for ``n_iter_no_change`` epochs (the training
loss, or with ``early_stopping`` the loss on a held-out ``validation_fraction`` whose
best epoch is kept), and the ``"adaptive"`` schedule divides the step size by 5 on
such a plateau before stopping. ``init="pca"`` starts from the linear (PCA)
autoencoder, fitted layer by layer by least squares through the activations (see
:func:`pca_init`).

Below the training, the threads it and the other stages run on (``network._threads``
before 0.2): how many threads torch may use, the cores actually free to this process.
torch sizes its pool from the machine's cores. On a shared machine that oversubscribes
the CPU: measured on 2 cores with three other 2-thread torch processes, a cached search
over the level took 12.8x as long as alone where a fair share is 4x, because OpenMP
threads that wait for each other spin while the other processes hold the cores.
:func:`torch_threads` caps torch's pool for one stage of the work at

* the cores this process may run on (``os.sched_getaffinity``),
* ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (joblib sets them in its workers) and the
  size the user gave torch (``torch.set_num_threads``),
* the cores not busy with other runnable tasks right now (``/proc/loadavg``'s count of
  running tasks, less this process's own running threads and one passing task), and
* 1 for small work (``work`` under ``SMALL_WORK`` multiply-adds), where splitting a
  kernel costs more than it saves,

and restores the previous size afterwards.

The per-object lock that serializes fits (:func:`exclusive`) and the one thread pool the
numba kernels share out work on (:func:`kernel_pool`) close the module.
"""

import os
import re
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from ._activations import numpy_activation, torch_activation


class TrainingDivergenceError(ValueError):
    """Raised when training diverges: the loss becomes non-finite or explodes."""


#: Rows used to fit the PCA initialisation and its layer-wise least squares.
INIT_MAX_ROWS = 4096

#: A training loss this many times both the variance of the data (the loss of predicting
#: the column means) and the loss at the start means the run diverged.
DIVERGENCE_FACTOR = 100.0

#: ``solver="auto"`` trains with full-batch L-BFGS on data in memory of at most this many
#: rows, with Adam otherwise (chosen with ``benchmarks/bench_tables.py``, since merged into
#: ``bench_vs_pca.py --only tables``; docs, "Training").
LBFGS_MAX_ROWS = 5000

#: ``init="auto"`` starts from the varimax-rotated PCA solution on tables of at most this
#: many columns, from a random start on wider data (images). Measured: the rotated start
#: gave the best dense and pruned codes on every table tried (up to 64 columns), but on
#: MNIST (784 pixels) its pruned network reconstructs badly (eta 0.9: test MSE 0.116
#: against 0.028 from a random start; docs, "Training").
AUTO_INIT_MAX_FEATURES = 300

#: ``column_weights="unique"``: a column's unique variance counts as at least this share
#: of its variance (so a column that the factors explain fully weighs at most 20 times
#: what a pure noise column of the same spread weighs).
UNIQUE_VARIANCE_FLOOR = 0.05

#: L-BFGS iterations between two checks of the stopping rule (one "epoch" of L-BFGS).
LBFGS_CHUNK = 10

#: The "adaptive" schedule divides the step size by 5 at most this many times.
MAX_LR_REDUCTIONS = 3


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one training run (see the estimator's parameters of the same names).

    ``batch_size`` is already resolved to an int here; ``seed`` seeds a private torch
    generator. ``dropout`` and ``code_top_k`` exist for the dropout and k-sparse
    autoencoder baselines (:mod:`skshapsae.baselines`); the estimator leaves them off.
    """

    max_iter: int = 200
    solver: str = "adam"
    batch_size: int = 64
    learning_rate_init: float = 1e-3
    learning_rate: str = "adaptive"
    tol: float = 1e-3
    n_iter_no_change: int = 5
    early_stopping: bool = False
    validation_fraction: float = 0.1
    init: str = "random"
    seed: int = 0
    device: str = "cpu"
    dropout: float = 0.0
    code_top_k: int | None = None


@dataclass
class TrainResult:
    """Parameters of a trained network, as float64 numpy arrays, and its history."""

    weights: list
    biases: list
    loss_curve: list = field(default_factory=list)
    validation_scores: list | None = None
    n_iter: int = 0
    best_epoch: int = 0
    seconds: float = 0.0
    final_learning_rate: float = 0.0
    converged: bool = True
    state: "StreamState | None" = None
    column_weights: "np.ndarray | None" = None


def resolve_device(device):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a torch device.

    Raises a ValueError naming the problem for any other string, and when CUDA (or
    device ``N``) is asked for but absent.
    """
    import re

    import torch

    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto' (CUDA when available), 'cpu', "
            "'cuda' or 'cuda:N' (lower case)."
        )
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine (torch.cuda.is_available() is False). Use device='cpu' or "
            "device='auto'."
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but this machine has "
            f"{torch.cuda.device_count()} CUDA device(s); use 'cuda' or 'cuda:0'."
        )
    return dev


def training_memory_bytes(layer_sizes, n_samples, batch_size):
    """Peak memory of :func:`train_autoencoder`, in bytes (an estimate, on the safe side).

    Float64 numpy parameters during the initialisation (random draw, least-squares fit,
    result), float32 torch parameters with their gradients, Adam's two moments and two
    snapshots, the float32 training data, and the activations of one batch.
    """
    n_params = sum(a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    data = 4.0 * n_samples * layer_sizes[0]
    activations = 3 * 4.0 * batch_size * sum(layer_sizes)
    return 3 * 8.0 * n_params + 6 * 4.0 * n_params + data + activations


def resolve_init(init, n_features):
    """``init="auto"`` resolved by the width of the data (see :data:`AUTO_INIT_MAX_FEATURES`)."""
    if init != "auto":
        return init
    return "varimax" if n_features <= AUTO_INIT_MAX_FEATURES else "random"


def default_batch_size(n_samples):
    """``batch_size="auto"``: about 20 steps per epoch, between 16 and 256 rows.

    Chosen with ``benchmarks/bench_vs_pca.py`` (docs, "Training"): small tables get
    enough steps per epoch to converge in a few dozen epochs, large data sets get
    batches big enough to use the BLAS well.
    """
    return int(np.clip(n_samples // 20, 16, 256))


def _torch_generator(seed, device):
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def random_init(layer_sizes, seed):
    """PyTorch's default ``nn.Linear`` initialisation, drawn from a private generator."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        weights.append(rng.uniform(-bound, bound, size=(n_out, n_in)))
        biases.append(rng.uniform(-bound, bound, size=n_out))
    return weights, biases


#: Pre-activation of a hidden unit at initialisation: ``scale * z + shift`` for a
#: standardised linear signal ``z``. ReLU-like units start in their (near) linear
#: region, saturating ones around their steepest point.
_INIT_SHIFT = {"relu": 3.0, "leaky_relu": 3.0, "elu": 3.0, "silu": 3.0, "gelu": 3.0}

#: Inverse of the output activation, for the least-squares fit of the last layer.
_INVERSE = {
    "logistic": (lambda y: np.log(y) - np.log1p(-y), 0.0, 1.0),
    "tanh": (np.arctanh, -1.0, 1.0),
}


def _ridge(H, T, rel=1e-6):
    """Least squares ``[H, 1] @ [W.T; b] = T`` with a tiny ridge; returns ``W, b``."""
    H1 = np.hstack([H, np.ones((len(H), 1))])
    gram = H1.T @ H1
    gram[np.diag_indices_from(gram)] += rel * max(np.trace(gram) / len(gram), 1e-12)
    beta = np.linalg.solve(gram, H1.T @ T)
    return beta[:-1].T, beta[-1]


def varimax(loadings, max_iter=100, tol=1e-6):
    """Orthogonal rotation ``R`` maximising the varimax criterion of ``loadings @ R``.

    Kaiser's varimax (the SVD form, as ``sklearn.decomposition.FactorAnalysis``'s
    rotation): the same subspace, spanned by directions that each load on few inputs.
    """
    p, k = loadings.shape
    R = np.eye(k)
    total = 0.0
    for _ in range(max_iter):
        rotated = loadings @ R
        u, s, vh = np.linalg.svd(loadings.T @ (rotated**3 - rotated * (rotated**2).sum(axis=0) / p))
        R = u @ vh
        previous, total = total, s.sum()
        if previous and total < previous * (1 + tol):
            break
    return R


def pca_init(X, layer_sizes, activations, seed, rotate=False):
    """Initialise the autoencoder as the linear (PCA) autoencoder, through its activations.

    Every hidden layer is fitted (least squares on at most :data:`INIT_MAX_ROWS` rows,
    through the previous layer's activations) so that its pre-activations are
    standardised principal component scores, shifted into the linear region of
    ReLU-like units: an encoder layer of width ``h`` carries the first ``h`` scores
    (so the code layer carries the first ``k``: the code starts as PCA's), a decoder
    layer the ``k`` code scores in its first ``k`` units, its other units starting
    random. (Mixing the scores over all units by a random rotation was measured too: it
    spreads the link importances more evenly but trained less stably and reached a
    higher held-out error, see the docs' "Training" page.) The last layer is the
    least-squares reconstruction of ``X`` from the layer before (in logit / arctanh
    space for a sigmoid / tanh output). The network so starts at (about) PCA's
    reconstruction with PCA's code, and training only improves on it:
    the training loop keeps the initialisation when training does not lower the loss.
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    if len(X) > INIT_MAX_ROWS:
        X = X[np.sort(rng.choice(len(X), INIT_MAX_ROWS, replace=False))]
    n_layers = len(layer_sizes) - 1
    code = n_layers // 2
    k = layer_sizes[code]
    centred = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ Vt.T  # principal component scores, (rows, min(rows, features))

    def signal_of(width):  # the first ``width`` scores, varimax-rotated with ``rotate``
        if not rotate or width < 2:
            return scores[:, :width]
        width = min(width, Vt.shape[0])
        return scores[:, :width] @ varimax(Vt[:width].T)

    rand_w, rand_b = random_init(layer_sizes, seed)
    weights, biases = [], []
    H = X
    for layer in range(n_layers):
        n_out = layer_sizes[layer + 1]
        act = activations[layer]
        if layer == n_layers - 1:  # reconstruction of X
            target = X
            if act in _INVERSE:
                inverse, lo, hi = _INVERSE[act]
                margin = 1e-2 * (hi - lo)
                target = inverse(np.clip(X, lo + margin, hi - margin))
            W, b = _ridge(H, target)
        else:
            # the meaningful signal of this layer: the first h_l scores in the encoder,
            # the k code scores in the decoder; the decoder's other units start random
            signal = signal_of(n_out if layer < code else k)
            std = signal.std(axis=0)
            # fewer rows than units, or constant data (scores of rounding noise): the
            # rest stay random
            usable = np.flatnonzero(std > 1e-7 * max(np.abs(X).max(), 1e-30))
            W, b = rand_w[layer].copy(), rand_b[layer].copy()
            target = signal[:, usable] / std[usable] + _INIT_SHIFT.get(act, 0.0)
            W[usable], b[usable] = _ridge(H, target)
        weights.append(W)
        biases.append(b)
        H = numpy_activation(act)(H @ W.T + b)
    return weights, biases


def unique_variances(cov, n_factors, max_iter=300, tol=1e-4):
    """Unique variances ``psi`` of a factor analysis with ``n_factors`` factors, from the
    columns' covariance matrix.

    The maximum-likelihood iteration of :class:`sklearn.decomposition.FactorAnalysis`
    (Barber, "Bayesian Reasoning and Machine Learning", 21.2.33; the same update as its
    ``svd_method="lapack"``), written on the ``d x d`` covariance instead of the rows: the
    singular values and vectors of ``X / sqrt(n psi)`` are the square roots of the
    eigenvalues and the eigenvectors of ``cov / sqrt(psi psi^T)``. The cost no longer
    grows with the rows (``FactorAnalysis`` took 0.1-0.2 s on 500-3,000 row tables, this
    takes milliseconds); the result is the same fixed point. It stops when no ``psi_j``
    moves by more than ``tol`` times the largest variance (the weights floor ``psi`` at 5 %
    of a column's variance, so finer changes do not matter), or after ``max_iter``.
    """
    var = np.diag(cov).copy()
    small = 1e-12
    psi = np.ones_like(var)
    for _ in range(max_iter):
        sqrt_psi = np.sqrt(psi) + small
        scaled = cov / np.outer(sqrt_psi, sqrt_psi)
        values, vectors = np.linalg.eigh(scaled)
        values, vectors = values[::-1][:n_factors], vectors[:, ::-1][:, :n_factors]
        loadings = np.sqrt(np.maximum(values - 1.0, 0.0))[None, :] * vectors * sqrt_psi[:, None]
        new = np.maximum(var - (loadings**2).sum(axis=1), small)
        done = np.max(np.abs(new - psi)) <= tol * max(float(var.max()), small)
        psi = new
        if done:
            break
    return psi


def unique_variance_weights(X, n_factors, seed=0):
    """Per-column weights of the reconstruction loss: one over each column's unique variance.

    A factor analysis with ``n_factors`` factors (:func:`unique_variances`, on at most
    :data:`INIT_MAX_ROWS` rows) splits each column's variance into the part the
    factors share with other columns and the column's own noise ``psi_j``. Weighting
    column ``j``'s squared error by ``1 / psi_j`` is maximum likelihood under per-column
    noise (the loss factor analysis minimises, where the plain loss is that of
    probabilistic PCA): the code is spent on what the columns share, and a column that
    shares nothing weighs as little as its own spread says. ``psi_j`` is floored at
    :data:`UNIQUE_VARIANCE_FLOOR` times the column's variance; the weights are scaled so
    that the weighted total variance equals the plain one (the loss keeps its scale).
    Constant columns get weight 1.
    """
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if len(X) > INIT_MAX_ROWS:
        X = X[np.sort(rng.choice(len(X), INIT_MAX_ROWS, replace=False))]
    var = X.var(axis=0)
    weights = np.ones(X.shape[1])
    varying = var > 1e-12 * max(float(var.max(initial=0.0)), 1e-300)
    if varying.sum() < 2 or len(X) < 3:
        return weights
    k = int(max(1, min(n_factors, varying.sum() - 1, len(X) - 1)))
    centred = X[:, varying] - X[:, varying].mean(axis=0)
    psi = unique_variances(centred.T @ centred / len(X), k)
    psi = np.maximum(psi, UNIQUE_VARIANCE_FLOOR * var[varying])
    weights[varying] = 1.0 / psi
    weights[varying] *= var[varying].sum() / (weights[varying] * var[varying]).sum()
    return weights


def _rescaled(weights, biases, scale):
    """The network's parameters for columns multiplied by ``scale`` (inputs and outputs).

    A network ``f`` on the original columns equals ``x -> f'(x * scale) / scale`` with the
    first layer's columns divided and the last layer's rows (and biases) multiplied by
    ``scale``; ``1 / scale`` maps back. Zero weights stay zero (masks hold).
    """
    weights, biases = list(weights), list(biases)
    weights[0] = np.asarray(weights[0]) / scale[None, :]
    weights[-1] = np.asarray(weights[-1]) * scale[:, None]
    biases[-1] = np.asarray(biases[-1]) * scale
    return weights, biases


def _split(n_samples, config):
    """Training and validation row indices (validation empty without early stopping)."""
    rng = np.random.default_rng(config.seed + 5)
    if not config.early_stopping:
        return np.arange(n_samples), np.arange(0)
    # rounded up, as scikit-learn's MLP (train_test_split) sizes its validation set
    n_val = int(np.ceil(config.validation_fraction * n_samples - 1e-9))
    if n_val < 1 or n_val >= n_samples:
        raise ValueError(
            f"early_stopping needs a validation set of at least one row and a training "
            f"set of at least one row; validation_fraction={config.validation_fraction} "
            f"of {n_samples} rows gives {n_val}. Use more rows or another "
            "validation_fraction, or set early_stopping=False."
        )
    order = rng.permutation(n_samples)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class _Schedule:
    """The stopping rule and the "adaptive" step-size schedule of the training loop.

    An epoch makes progress when its monitored loss is below ``(1 - tol)`` times the best
    so far; after ``n_iter_no_change`` epochs without progress the step size is divided
    by 5 (``"adaptive"`` with Adam, at most ``MAX_LR_REDUCTIONS`` times) or training
    stops. L-BFGS sets its own steps (line search): it stops at the first plateau.
    """

    def __init__(self, config, lr=None):
        self.config = config
        self.adaptive = config.learning_rate == "adaptive" and config.solver == "adam"
        self.lr = float(config.learning_rate_init if lr is None else lr)
        self.best = np.inf
        self.no_improvement = 0
        self.reductions = 0

    def step(self, loss, optimizer):
        """Record an epoch's loss; False when training should stop (step size: ``lr``)."""
        config = self.config
        self.no_improvement = self.no_improvement + 1 if loss > self.best * (1 - config.tol) else 0
        self.best = min(self.best, loss)
        if self.no_improvement >= config.n_iter_no_change:
            if not self.adaptive or self.reductions >= MAX_LR_REDUCTIONS:
                return False
            self.reductions += 1
            self.no_improvement = 0
            self.lr /= 5
            for group in optimizer.param_groups:
                group["lr"] = self.lr
        return True


@dataclass
class StreamState:
    """Where a training run stopped, so that the next one continues (``partial_fit``).

    Parameters and Adam's moments as numpy arrays (no torch object outlives a call);
    empty moments mean a fresh optimizer (after ``fit`` with L-BFGS, after ``load``).
    """

    weights: list
    biases: list
    exp_avg: list = field(default_factory=list)
    exp_avg_sq: list = field(default_factory=list)
    step: int = 0
    learning_rate: float | None = None


def train_autoencoder(
    data,
    layer_sizes,
    activations,
    config,
    *,
    n_epochs=None,
    state=None,
    masks=None,
    progress=None,
    column_weights=None,
):
    """Train the autoencoder ``layer_sizes[0] -> ... -> layer_sizes[-1]`` on (weighted) MSE.

    The one training loop of the library: the dense training of ``fit`` (in memory or
    streamed), ``partial_fit``'s pass over a chunk and the masked fine-tuning all run it.
    An array is a stream of one chunk.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features) or callable
        The training data in memory (copied; never modified), or ``chunks()`` returning
        a fresh iterator of float64 chunks (one pass over a stream, one chunk in memory
        at a time). Early stopping and L-BFGS need the data in memory.
    layer_sizes : list of int
        Widths ``n(0), ..., n(2L)``.
    activations : list of str
        Activation after each weight layer.
    config : TrainingConfig
        Solver, epochs, batch size, step size and schedule, stopping rule,
        initialisation, seed and device.
    n_epochs : int or None
        Budget in epochs (Adam) or iterations (L-BFGS); ``None`` is ``config.max_iter``.
    state : StreamState or None
        Continue from these parameters (and Adam's moments, when it holds them) instead
        of ``config.init``.
    masks : list of bool ndarrays or None
        Masked training: masked weights start and stay exactly zero (fine-tuning).
    progress : callable or None
        Called as ``progress(epoch, loss)`` after every epoch.
    column_weights : ndarray of shape (n_features,) or None
        Weights of the columns' squared errors (:func:`unique_variance_weights`); needs
        an identity output. The loop trains on the columns scaled by their square roots
        (the same loss, the PCA start then weighted too) and the parameters are mapped
        back, so the returned network (and ``state``) work on the original columns;
        ``loss_curve`` is the weighted loss.

    Returns
    -------
    TrainResult
        In memory, the weights of the best epoch with early stopping, else those of the
        last one, or the starting parameters when training did not lower the training
        loss; ``converged`` is False when the budget ended before the stopping rule
        fired; ``state`` continues the run.
    """
    # torch's pool sized to the free cores, one thread for tiny layers (see torch_threads)
    work = config.batch_size * max(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    n_epochs = config.max_iter if n_epochs is None else int(n_epochs)
    scale = None
    if column_weights is not None and not np.all(np.asarray(column_weights) == 1.0):
        if activations[-1] != "identity":
            raise ValueError(
                "Weighted columns need an identity output activation, got "
                f"{activations[-1]!r}; use column_weights='uniform' with this output."
            )
        scale = np.sqrt(np.asarray(column_weights, dtype=np.float64))
        if callable(data):
            chunks = data

            def data():
                return (np.asarray(chunk, dtype=np.float64) * scale for chunk in chunks())

        else:
            data = np.asarray(data, dtype=np.float64) * scale
        if state is not None:
            state = replace(
                state,
                **dict(zip(("weights", "biases"), _rescaled(state.weights, state.biases, scale))),
            )
    with torch_threads(work):
        result = _train(data, layer_sizes, activations, config, n_epochs, state, masks, progress)
    if scale is None:
        return replace(result, column_weights=column_weights)
    weights, biases = _rescaled(result.weights, result.biases, 1.0 / scale)
    state = replace(result.state, weights=weights, biases=biases)
    return replace(
        result, weights=weights, biases=biases, state=state, column_weights=column_weights
    )


def _start(rows, layer_sizes, activations, config):
    """Initial parameters from ``config.init``; ``rows()`` gives the rows PCA is fitted on."""
    if config.init == "random":
        return random_init(layer_sizes, config.seed)
    return pca_init(rows(), layer_sizes, activations, config.seed, config.init == "varimax")


def _with_grad(fn):
    """Run ``fn`` with gradients on, also inside a caller's ``torch.no_grad()``."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import torch

        with torch.enable_grad():
            return fn(*args, **kwargs)

    return wrapper


class _Network:
    """The network's parameters as float32 torch tensors and its forward pass.

    ``keep`` (masks) holds pruned weights at exactly zero: re-applied after every Adam
    step, and inside the forward pass with L-BFGS (whose line searches must stay masked).
    Dropout and the k-sparse code act in training passes only (the baselines').
    """

    def __init__(self, state, masks, activations, config, dev):

        self.dev, self.config = dev, config
        self.params = [
            (self.tensor(W), self.tensor(b)) for W, b in zip(state.weights, state.biases)
        ]
        self.keep = None if masks is None else [self.tensor(m) for m in masks]
        self.mask_()
        self.tensors = [t.requires_grad_(True) for pair in self.params for t in pair]
        self.acts = [torch_activation(a) for a in activations]
        self.code_layer = len(self.params) // 2 - 1
        self.masked_forward = self.keep is not None and config.solver == "lbfgs"
        self.drop_gen = _torch_generator(config.seed + 3, dev) if config.dropout > 0 else None

    def tensor(self, a):
        """A float32 copy on the device (contiguous: L-BFGS views the gradients flat)."""
        import torch

        return torch.as_tensor(
            np.ascontiguousarray(a), dtype=torch.float32, device=self.dev
        ).clone()

    def mask_(self):
        import torch

        if self.keep is not None:
            with torch.no_grad():
                for (W, _), M in zip(self.params, self.keep):
                    W.mul_(M)

    def forward(self, batch, train=True):
        import torch

        config, out = self.config, batch
        for layer, ((W, b), act) in enumerate(zip(self.params, self.acts)):
            if self.masked_forward:
                W = W * self.keep[layer]
            out = act(torch.addmm(b, out, W.T))
            # the k-sparse code is the k-sparse autoencoder's model, in training and in
            # the evaluations that judge it (the start, the last epoch, validation)
            if config.code_top_k is not None and layer == self.code_layer:
                kth = torch.topk(out, config.code_top_k, dim=1).values[:, -1:]
                out = out * (out >= kth)
            if train and config.dropout > 0 and layer < len(self.params) - 1:
                keep = torch.rand(out.shape, generator=self.drop_gen, device=self.dev)
                out = out * (keep >= config.dropout) / (1 - config.dropout)
        return out

    def loss(self, batch):
        """The training loss (MSE) of a batch, with gradients."""
        import torch

        return torch.mean((self.forward(batch) - batch) ** 2)

    def evaluate(self, rows):
        """Mean squared error of the current parameters on ``rows`` (no grad)."""
        import torch

        with torch.no_grad():
            total = 0.0
            for begin in range(0, rows.shape[0], 4096):
                batch = rows[begin : begin + 4096]
                total += float(((self.forward(batch, train=False) - batch) ** 2).sum())
            return total / max(1, rows.numel())

    def snapshot(self):
        return [t.detach().clone() for t in self.tensors]

    def restore(self, snapshot):
        import torch

        with torch.no_grad():
            for t, best in zip(self.tensors, snapshot):
                t.copy_(best)


@dataclass
class _Monitor:
    """The epochs' record: the loss curve, early stopping's validation scores and best
    epoch, and the divergence check."""

    limit: float = np.inf  # a loss above it diverged (with ``scale > 0``)
    scale: float = 0.0  # the loss of predicting the column means (0: not judged)
    best_loss: float = np.inf
    best_params: list | None = None
    best_epoch: int = 0
    loss_curve: list = field(default_factory=list)
    val_scores: list | None = None

    def check(self, epoch, loss, config):
        """Raise :class:`TrainingDivergenceError` when ``loss`` diverged."""
        if np.isfinite(loss) and not (self.scale > 0 and loss > self.limit):
            return
        raise TrainingDivergenceError(
            f"Training diverged at epoch {epoch}: the reconstruction loss is {loss:.4g}"
            + (
                f", {DIVERGENCE_FACTOR:g}+ times both the loss of predicting the column "
                f"means ({self.scale:.4g}) and the initial loss"
                if self.scale > 0
                else ""
            )
            + (
                ". Use solver='adam' with a small learning_rate_init"
                if config.solver == "lbfgs"
                else ". Lower "
                f"learning_rate_init (it is {config.learning_rate_init:g}), use solver='lbfgs'"
            )
            + ", or scale the data (for example with StandardScaler or MinMaxScaler)."
        )


class _Rows:
    """The training data as torch chunks: one chunk in memory (with early stopping's
    held-out rows), or a stream's chunks, one at a time."""

    def __init__(self, data, config, dev):
        import torch

        self.dev = dev
        self.in_memory = not callable(data)
        if not self.in_memory:
            self.stream = data
            return
        X = np.asarray(data, dtype=np.float64)
        train_rows, val_rows = _split(len(X), config)
        self.X = X[train_rows]
        self.train = torch.tensor(self.X, dtype=torch.float32, device=dev)
        self.val = torch.tensor(X[val_rows], dtype=torch.float32, device=dev)

    def first(self):
        """The rows the PCA start is fitted on: the training rows, or the first chunk."""
        return self.X if self.in_memory else next(iter(self.stream()))

    def chunks(self):
        import torch

        if self.in_memory:
            yield self.train
            return
        for chunk in self.stream():
            chunk = nonnegative_strides(np.ascontiguousarray(chunk))  # C order, as before
            yield torch.as_tensor(chunk, dtype=torch.float32, device=self.dev)

    def monitor(self, net, config):
        """The record before the first epoch (in memory: the start's loss and the
        divergence limit; a stream is judged by finiteness only)."""
        if not self.in_memory:
            return _Monitor(val_scores=[] if config.early_stopping else None)
        X = self.X
        # the loss of predicting the column means; dropout's noisy training loss is not judged
        scale = float(X.var(axis=0).mean()) if len(X) > 1 else 0.0
        scale = 0.0 if config.dropout > 0 else scale
        start_loss = net.evaluate(self.val if config.early_stopping else self.train)
        # diverged: far above both the loss of predicting the column means and the start's
        reference = net.evaluate(self.train) if config.early_stopping else start_loss
        # (and than a thousandth of the mean square: all-constant data have no spread)
        floor = 1e-3 * float(np.mean(X**2))
        return _Monitor(
            limit=DIVERGENCE_FACTOR * max(scale, reference, floor),
            scale=scale,
            best_loss=start_loss,
            best_params=net.snapshot(),
            val_scores=[] if config.early_stopping else None,
        )


def _adam_epoch(net, optimizer, rows, gen, batch_size, step):
    """One pass of mini-batch Adam over every chunk; returns ``(mean loss, step)``."""
    import torch

    total, count = 0.0, 0
    for chunk in rows.chunks():
        order = torch.randperm(chunk.shape[0], generator=gen).to(net.dev)
        # one chunk: a float32 sum on the device (no sync per batch); streams add
        # float64 sums per batch (the two loops this one replaced did so: kept bitwise)
        chunk_total = torch.zeros((), device=net.dev) if rows.in_memory else 0.0
        for begin in range(0, chunk.shape[0], batch_size):
            batch = chunk[order[begin : begin + batch_size]]
            optimizer.zero_grad(set_to_none=True)
            loss = net.loss(batch)
            loss.backward()
            optimizer.step()
            step += 1
            net.mask_()
            loss = loss.detach() if rows.in_memory else float(loss.detach())
            chunk_total += loss * batch.shape[0]
        total += float(chunk_total)
        count += chunk.shape[0]
    return total / max(count, 1), step


def _lbfgs_epoch(net, optimizer, train, n_iter):
    """``n_iter`` full-batch L-BFGS iterations (with line searches); returns the loss and
    the iterations run so far."""

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = net.loss(train)
        loss.backward()
        return loss

    for group in optimizer.param_groups:
        group["max_iter"] = n_iter
    optimizer.step(closure)
    return net.evaluate(train), optimizer.state[net.tensors[0]].get("n_iter", 0)


def _record(epoch, loss, net, rows, monitor, config, progress):
    """Book an epoch's loss; returns the loss the stopping rule watches."""
    monitor.check(epoch, loss, config)
    monitor.loss_curve.append(loss)
    current = loss
    if config.early_stopping:
        current = net.evaluate(rows.val)
        monitor.val_scores.append(-current)
    if progress is not None:
        progress(epoch - 1, loss)
    if config.early_stopping and current < monitor.best_loss:
        monitor.best_loss, monitor.best_params, monitor.best_epoch = (
            current,
            net.snapshot(),
            epoch,
        )
    return current


def _fit_adam(net, rows, monitor, state, config, n_epochs, progress):
    """Mini-batch Adam under the stopping rule and the step-size schedule."""
    import torch

    step = int(state.step)
    lr = float(config.learning_rate_init if state.learning_rate is None else state.learning_rate)
    optimizer = torch.optim.Adam(net.tensors, lr=lr, fused=fused_adam(net.dev))
    if state.exp_avg and step > 0:
        optimizer.load_state_dict(_adam_state(optimizer, state, step, net.tensor))
    gen = _torch_generator(config.seed + 1 + step, "cpu")
    schedule = _Schedule(config, lr)
    epoch, converged = 0, False
    for epoch in range(1, n_epochs + 1):
        loss, step = _adam_epoch(net, optimizer, rows, gen, config.batch_size, step)
        if not schedule.step(_record(epoch, loss, net, rows, monitor, config, progress), optimizer):
            converged = True
            break
    adam = optimizer.state_dict()["state"]
    moments = [
        [adam[i][key].cpu().numpy() for i in range(len(net.tensors))] if adam else []
        for key in ("exp_avg", "exp_avg_sq")
    ]
    return epoch, converged, step, schedule.lr, moments


def nonnegative_strides(X):
    """``X``, or a C-ordered copy where a stride is negative (``X[::-1]``): torch refuses
    such views. (``np.ascontiguousarray`` is not enough: numpy calls a one-row view with
    a negative stride contiguous and returns it as it is.)"""
    return X.copy(order="C") if any(stride < 0 for stride in X.strides) else X


#: Adam's update as one fused kernel per step where torch has one (CUDA; CPU from torch
#: 2.4), not a loop of small tensor operations per parameter: the same update up to
#: float32 rounding (one ulp on a weight of a 200 x 10 table's fit; the MNIST and
#: streamed fits checked gave the same losses bit for bit).
FUSED_ADAM = True


def fused_adam(device):
    """``fused`` for ``torch.optim.Adam`` on ``device`` (None: torch's default). torch has
    a fused CPU kernel from 2.4 on (before, ``fused=True`` on CPU raises)."""
    import torch

    if not FUSED_ADAM or device.type not in ("cpu", "cuda"):
        return None
    if device.type == "cpu":
        version = tuple(int(part) for part in re.findall(r"\d+", torch.__version__)[:2])
        if version < (2, 4):
            return None
    return True


def _fit_lbfgs(net, rows, monitor, state, config, n_epochs, progress):
    """Full-batch L-BFGS, ``LBFGS_CHUNK`` iterations an "epoch"; the budget counts
    iterations and an "epoch" without relative progress ``tol`` stops it."""
    import torch

    # torch's absolute tolerances are set near zero (its 1e-9 would stop a loss of 1e-2
    # early). One iteration per step() call was measured not to move from a PCA start
    # (torch keeps too little between calls), hence chunks.
    optimizer = torch.optim.LBFGS(
        net.tensors,
        lr=1.0,
        max_iter=LBFGS_CHUNK,
        history_size=20,
        tolerance_grad=1e-12,
        tolerance_change=1e-20,
        line_search_fn="strong_wolfe",
    )
    lr = float(config.learning_rate_init if state.learning_rate is None else state.learning_rate)
    schedule = _Schedule(replace(config, n_iter_no_change=1), lr)
    epoch, converged, step = 0, False, 0
    for epoch in range(1, n_epochs + 1):
        if step >= n_epochs:
            break
        # the budget's last chunk may be shorter (docs, "Training": such a chunk's
        # small gain can read as a plateau, so a budget that ends inside a chunk may
        # end without a ConvergenceWarning)
        loss, step = _lbfgs_epoch(net, optimizer, rows.train, min(LBFGS_CHUNK, n_epochs - step))
        if not schedule.step(_record(epoch, loss, net, rows, monitor, config, progress), optimizer):
            converged = True
            break
    return epoch, converged, step, schedule.lr, [[], []]


@_with_grad
def _train(data, layer_sizes, activations, config, n_epochs, state, masks, progress):
    """The training run behind :func:`train_autoencoder`: set up, one solver's loop, and
    the parameters to keep (see there)."""
    start = time.perf_counter()
    dev = resolve_device(config.device)
    lbfgs = config.solver == "lbfgs"
    if callable(data) and (config.early_stopping or lbfgs):
        raise ValueError(
            "early_stopping and solver='lbfgs' need the training data in memory; for a "
            "Dask array or chunks use solver='adam' (or 'auto') without early_stopping."
        )
    rows = _Rows(data, config, dev)
    if state is None:
        state = StreamState(*_start(rows.first, layer_sizes, activations, config))
    net = _Network(state, masks, activations, config, dev)
    monitor = rows.monitor(net, config)
    fit = _fit_lbfgs if lbfgs else _fit_adam
    epoch, converged, step, lr, moments = fit(net, rows, monitor, state, config, n_epochs, progress)
    if not rows.in_memory:
        monitor.best_params, monitor.best_epoch = net.snapshot(), epoch
    elif not config.early_stopping:
        # the last epoch's weights, unless training made the loss worse than the start;
        # dropout's training is judged by no loss without dropout (the start, a PCA,
        # always has the lower plain loss): its last epoch is kept
        final_loss = net.evaluate(rows.train) if monitor.loss_curve else monitor.best_loss
        if final_loss <= monitor.best_loss or (config.dropout > 0 and monitor.loss_curve):
            monitor.best_params, monitor.best_epoch = net.snapshot(), epoch
    net.restore(monitor.best_params)
    numpy = [t.detach().cpu().numpy().astype(np.float64) for t in net.tensors]
    new_state = StreamState(numpy[0::2], numpy[1::2], *moments, step, lr)
    return TrainResult(
        new_state.weights,
        new_state.biases,
        monitor.loss_curve,
        monitor.val_scores,
        n_iter=step if lbfgs else len(monitor.loss_curve),
        best_epoch=monitor.best_epoch,
        seconds=time.perf_counter() - start,
        final_learning_rate=lr,
        converged=converged or not monitor.loss_curve,
        state=new_state,
    )


def _adam_state(optimizer, state, step, tensor):
    """Adam's state dict holding the moments of ``state`` (continuing a run)."""
    import torch

    return {
        "state": {
            i: {"step": torch.tensor(float(step)), "exp_avg": tensor(m1), "exp_avg_sq": tensor(m2)}
            for i, (m1, m2) in enumerate(zip(state.exp_avg, state.exp_avg_sq))
        },
        "param_groups": optimizer.state_dict()["param_groups"],
    }


def fine_tuning_rate(final_rate, initial_rate):
    """The step size fine-tuning runs at (the fine-tuning step-size rule, here only).

    The step size the dense training ended with, but at least a tenth of the initial
    one: restarting Adam at the initial step from a converged network raised the loss on
    digits (0.0105 -> 0.0125 in the first epoch), and the schedule's last step barely
    moved it. A fit records it as ``_training_config_["learning_rate_init"]``, so a saved
    model is fine-tuned alike after load.
    """
    return max(final_rate, initial_rate / 10)


def fine_tune(
    data, layer_sizes, activations, weights, biases, masks, config, n_epochs, column_weights=None
):
    """Masked fine-tuning of a pruned network: ``n_epochs`` at ``config``'s step size.

    ``config.learning_rate_init`` is the step size :func:`fine_tuning_rate` gives. Pruned
    weights start and stay exactly zero; the step size is constant and no stopping rule
    applies (the epochs, or L-BFGS iterations, are the budget). In memory, the pruned
    network is returned unchanged when fine-tuning does not lower its training loss.
    ``data`` is an array or a callable returning chunks, as for :func:`train_autoencoder`,
    and ``column_weights`` the dense training's loss weights.
    """

    tune = replace(config, early_stopping=False, learning_rate="constant")
    # the same fine-tuning for every network: no dropout or k-sparse code, whatever the
    # dense training used (the baselines' fine-tuned variants)
    tune = replace(tune, n_iter_no_change=n_epochs + 1, seed=config.seed + 2)
    tune = replace(tune, dropout=0.0, code_top_k=None)
    if callable(data) and tune.solver == "lbfgs":
        tune = replace(tune, solver="adam")
    return train_autoencoder(
        data,
        layer_sizes,
        activations,
        tune,
        n_epochs=n_epochs,
        state=StreamState(weights, biases),
        masks=masks,
        column_weights=column_weights,
    )


# -- The threads: torch's pool sized to the free cores for each stage (module docstring),
# the per-object lock that serializes fits, and the numba kernels' thread pool.

#: Below this many multiply-adds per kernel, one thread is faster than a pool.
SMALL_WORK = 2_000_000


def _limit_from_environment():
    limits = []
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            limits.append(int(value))
    import torch

    limits.append(torch.get_num_threads())
    return min(limits)


def _own_running():
    """This process's threads that are running now (torch's pool may still be spinning)."""
    count = 0
    try:
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat") as f:
                    # the state follows the parenthesised command name
                    count += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):
                continue
    except OSError:
        return 1
    return max(count, 1)


def _busy_elsewhere():
    """Runnable tasks of other processes, now (Linux); 0 where the OS does not say."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running - _own_running())


#: Seconds a measurement of the free cores is reused (reading /proc costs ~50 us).
REFRESH_SECONDS = 0.2
_last = {"time": -1.0, "free": None}


def _free_cores():
    now = time.monotonic()
    if _last["free"] is None or now - _last["time"] > REFRESH_SECONDS:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        # one other runnable task is tolerated: a snapshot often catches a passing one
        _last["free"] = max(1, cores - max(0, _busy_elsewhere() - 1))
        _last["time"] = now
    return _last["free"]


def available_threads(work=None):
    """Threads torch should use now for kernels of about ``work`` multiply-adds."""
    if work is not None and work < SMALL_WORK:
        return 1
    return max(1, min(_free_cores(), _limit_from_environment()))


@contextmanager
def torch_threads(work=None, threads=None):
    """Run the block with torch's pool set to ``threads`` (default :func:`available_threads`)."""
    import torch

    previous = torch.get_num_threads()
    wanted = available_threads(work) if threads is None else max(1, int(threads))
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


#: threadpoolctl's view of the loaded BLAS libraries (built on first use: ~ms).
_BLAS = []


@contextmanager
def blas_threads(work=None):
    """Run the block with numpy's and scipy's BLAS held to :func:`available_threads`
    (never above what it had). OpenBLAS sizes its pool from the machine's cores: on a
    busy 2-core machine its spinning threads made a default table fit take 4.9 s instead
    of 0.7 s (2,019 x 56, one thread; issue 38)."""
    from threadpoolctl import ThreadpoolController

    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    blas = _BLAS[0].select(user_api="blas")
    now = [lib.num_threads for lib in blas.lib_controllers]
    if not now:
        yield
        return
    with blas.limit(limits=max(1, min(available_threads(work), *now))):
        yield


_LOCKS = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


@contextmanager
def exclusive(obj):
    """Serialize work on one object (fits of one estimator): concurrent calls take turns."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(obj, threading.RLock())
    with lock:
        yield


_POOL = {"pid": None, "pool": None, "size": 0}
_POOL_LOCK = threading.Lock()


def kernel_pool(threads):
    """A thread pool of at least ``threads`` workers, new in a forked child: the one pool
    the numba kernels (``inference._kernels``, ``scoring._game_kernels``) share out work on."""
    with _POOL_LOCK:
        if _POOL["pid"] != os.getpid() or _POOL["size"] < threads:
            # a bigger one replaces it, without shutdown: another thread may be submitting
            # to the old one (its workers end when the last user lets go of it)
            _POOL.update(
                pid=os.getpid(),
                size=threads,
                pool=ThreadPoolExecutor(threads, thread_name_prefix="skshapsae-kernel"),
            )
        return _POOL["pool"]
