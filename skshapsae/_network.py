"""The dense autoencoder in PyTorch: build, train, hand numpy back.

Nothing torch-related outlives these functions: they take numpy arrays and
return numpy arrays, so a fitted estimator pickles and loads without a GPU.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ._activations import torch_activation


class TrainingDivergenceError(ValueError):
    """Raised when the training loss becomes NaN or infinite."""


@dataclass
class TrainResult:
    """Parameters of a trained network, as float64 numpy arrays."""

    weights: list
    biases: list
    loss_curve: list = field(default_factory=list)
    seconds: float = 0.0


def resolve_device(device):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a torch device.

    Raises a ValueError naming the problem when CUDA is asked for but absent.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine (torch.cuda.is_available() is False). Use device='cpu' or "
            "device='auto'."
        )
    return dev


def _torch_generator(seed, device):
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def _init_parameters(layer_sizes, seed, device):
    """PyTorch's default ``nn.Linear`` initialisation, drawn from a private generator."""
    import torch

    gen = _torch_generator(seed, "cpu")
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        W = torch.empty(n_out, n_in).uniform_(-bound, bound, generator=gen)
        b = torch.empty(n_out).uniform_(-bound, bound, generator=gen)
        params.append((W.to(device), b.to(device)))
    return params


def _to_parameters(weights, biases, device):
    import torch

    return [
        (
            torch.as_tensor(np.asarray(W), dtype=torch.float32, device=device).clone(),
            torch.as_tensor(np.asarray(b), dtype=torch.float32, device=device).clone(),
        )
        for W, b in zip(weights, biases)
    ]


def train_autoencoder(
    X,
    layer_sizes,
    activations,
    *,
    max_iter,
    batch_size,
    learning_rate,
    seed,
    device="cpu",
    init=None,
    weight_masks=None,
    progress=None,
    dropout=0.0,
    code_top_k=None,
):
    """Train the autoencoder ``layer_sizes[0] -> ... -> layer_sizes[-1]`` with Adam on MSE.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data (copied; never modified).
    layer_sizes : list of int
        Widths ``n(0), ..., n(2L)``.
    activations : list of str
        Activation after each weight layer.
    max_iter, batch_size, learning_rate : int, int, float
        Epochs, mini-batch size and Adam step size.
    seed : int
        Seed of the private torch generator (initialisation and shuffling);
        the global torch random state is not touched.
    device : str
        Torch device.
    init : tuple (weights, biases) or None
        Start from these parameters instead of a random initialisation.
    weight_masks : list of bool ndarrays or None
        When given, masked weights are zero at the start and stay zero
        (masked fine-tuning).
    progress : callable or None
        Called as ``progress(epoch, loss)`` after every epoch.
    dropout : float
        Dropout rate on the hidden layers during training (the dropout
        autoencoder baseline); 0 disables it.
    code_top_k : int or None
        Keep only the ``k`` largest code activations during training (the
        k-sparse autoencoder of Makhzani & Frey); None disables it.

    Returns
    -------
    TrainResult
    """
    import torch

    start = time.perf_counter()
    dev = resolve_device(device)
    if init is None:
        params = _init_parameters(layer_sizes, seed, dev)
    else:
        params = _to_parameters(*init, dev)
    masks = None
    if weight_masks is not None:
        masks = [
            torch.as_tensor(np.asarray(m), dtype=torch.float32, device=dev) for m in weight_masks
        ]
        for (W, _), M in zip(params, masks):
            W.mul_(M)
    tensors = [t for pair in params for t in pair]
    for t in tensors:
        t.requires_grad_(True)
    acts = [torch_activation(a) for a in activations]

    code_layer = len(params) // 2 - 1
    drop_gen = _torch_generator(seed + 3, dev) if dropout > 0 else None

    def forward(batch):
        out = batch
        for layer, ((W, b), act) in enumerate(zip(params, acts)):
            out = act(torch.addmm(b, out, W.T))
            if code_top_k is not None and layer == code_layer:
                kth = torch.topk(out, code_top_k, dim=1).values[:, -1:]
                out = out * (out >= kth)
            if dropout > 0 and layer < len(params) - 1:
                keep = torch.rand(out.shape, generator=drop_gen, device=dev) >= dropout
                out = out * keep / (1 - dropout)
        return out

    data = torch.tensor(np.asarray(X), dtype=torch.float32, device=dev)
    n_samples = data.shape[0]
    batch_size = max(1, min(int(batch_size), n_samples))
    optimizer = torch.optim.Adam(tensors, lr=learning_rate)
    gen = _torch_generator(seed + 1, "cpu")
    loss_curve = []
    for epoch in range(max_iter):
        order = torch.randperm(n_samples, generator=gen).to(dev)
        total = torch.zeros((), device=dev)
        for begin in range(0, n_samples, batch_size):
            batch = data[order[begin : begin + batch_size]]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.mean((forward(batch) - batch) ** 2)
            loss.backward()
            optimizer.step()
            if masks is not None:
                with torch.no_grad():
                    for (W, _), M in zip(params, masks):
                        W.mul_(M)
            total += loss.detach() * batch.shape[0]
        epoch_loss = float(total) / n_samples
        if not np.isfinite(epoch_loss):
            raise TrainingDivergenceError(
                f"Training diverged at epoch {epoch + 1}: the reconstruction loss is "
                f"{epoch_loss}. Scale the data (for example with StandardScaler or "
                "MinMaxScaler) or lower learning_rate."
            )
        loss_curve.append(epoch_loss)
        if progress is not None:
            progress(epoch, epoch_loss)
    weights = [W.detach().cpu().numpy().astype(np.float64) for W, _ in params]
    biases = [b.detach().cpu().numpy().astype(np.float64) for _, b in params]
    return TrainResult(weights, biases, loss_curve, time.perf_counter() - start)
