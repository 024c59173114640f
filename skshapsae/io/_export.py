"""Export of the pruned encoder or decoder for deployment without this library.

The exported model is the compacted network ``transform`` / ``inverse_transform`` run
(unused inputs and removed units dropped), in float32, with a dynamic batch size: a
``torch.export`` program (``.pt2``, loaded with ``torch.export.load(path).module()``), an
ONNX graph (any ONNX runtime, e.g. ``onnxruntime``), or a TorchScript module
(``torch.jit.load``; TorchScript is deprecated in recent torch releases, kept for older
runtimes). The compacted blocks are stored dense: ONNX has no sparse matrix product;
the size saving of pruning comes from the dropped units and inputs.
"""

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..inference._inference import encode_decode_plan
from ._persistence import atomic_path


def _module(plan):
    import torch

    first, steps, last, fill = plan

    class CompactNetwork(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # no path from the inputs to the outputs (a fully pruned network): every
            # output is its fill value; no empty blocks (torch.export fails on them)
            self.constant = (first is not None and len(first) == 0) or any(
                min(block.shape) == 0 for block, _, _ in steps
            )
            if self.constant:
                self.register_buffer("fill", fill.float().clone())
                return
            self.acts = [act.function for _, _, act in steps]  # traced as they run
            self.weights = torch.nn.ParameterList(
                # the plan's dense blocks are stored transposed (inputs x outputs)
                torch.nn.Parameter(block.float(), requires_grad=False)
                for block, _, _ in steps
            )
            self.biases = torch.nn.ParameterList(
                torch.nn.Parameter(bias.float(), requires_grad=False) for _, bias, _ in steps
            )
            self.register_buffer("first", first if first is not None else torch.empty(0))
            # the kept outputs placed among all by one product with a 0/1 matrix plus the
            # fill values: one Gemm in ONNX, where index_copy became seven nodes (Shape,
            # Concat, Tile, three Transposes, ScatterND); exact for finite values
            place = torch.zeros(0 if last is None else len(last), len(fill))
            others = fill.float().clone()
            if last is not None:
                place[torch.arange(len(last)), last] = 1.0
                others[last] = 0.0  # kept outputs: their own values only
            self.register_buffer("place", place)
            self.register_buffer("fill", others)
            self.gather, self.scatter = first is not None, last is not None

        def forward(self, x):
            if self.constant:
                return x[:, :1] * 0.0 + self.fill
            if self.gather:
                x = x.index_select(1, self.first)
            for W, b, act in zip(self.weights, self.biases, self.acts):
                x = act(torch.addmm(b, x, W))
            if self.scatter:
                x = torch.addmm(self.fill, x, self.place)
            return x

    return CompactNetwork().eval()


def export(estimator, path, *, part="encoder", format=None):
    """Export the pruned encoder (``transform``) or decoder (``inverse_transform``).

    Parameters
    ----------
    estimator : SHAPSparseAutoencoder
        A fitted estimator (a slimmed one works too).
    path : str or path-like
        Destination file (``.pt2``, ``.onnx`` or ``.pt``).
    part : {"encoder", "decoder"}, default="encoder"
        The encoder maps ``(n, n_features_in_)`` float32 rows to codes; the decoder maps
        ``(n, n_components_)`` codes to reconstructions.
    format : {"torch.export", "onnx", "torchscript"} or None, default=None
        ``torch.export`` program, ONNX graph (input ``"input"``, output ``"output"``;
        writing needs ``pip install 'skshapsae[onnx]'``) or TorchScript module. None:
        the one ``path``'s suffix names (``.onnx``: ONNX, ``.pt``: TorchScript,
        anything else: ``torch.export``). A format that the suffix contradicts
        (``format="onnx"`` into ``model.pt2``) is refused: the file would not open
        where its name sends it.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import numpy as np, tempfile, os, torch
    >>> from skshapsae import SHAPSparseAutoencoder, export
    >>> X = np.random.default_rng(0).uniform(size=(40, 6))
    >>> ae = SHAPSparseAutoencoder(max_iter=2, n_background=10, n_explain=10,
    ...                            random_state=0).fit(X)
    >>> path = export(ae, os.path.join(tempfile.mkdtemp(), "encoder.pt2"))
    >>> encoder = torch.export.load(path).module()
    >>> codes = encoder(torch.tensor(X, dtype=torch.float32)).numpy()
    >>> bool(np.allclose(codes, ae.transform(X), atol=1e-5))
    True
    """
    import torch

    from .._estimator import SHAPSparseAutoencoder

    if not isinstance(estimator, SHAPSparseAutoencoder):
        raise TypeError(
            f"export takes a fitted SHAPSparseAutoencoder, got {type(estimator).__name__}. "
            "For a Pipeline ending in one (as the CLI saves), export pipeline[-1] and run "
            "pipeline[:-1].transform on the rows first."
        )
    check_is_fitted(estimator)
    if part not in ("encoder", "decoder"):
        raise ValueError(f"part must be 'encoder' or 'decoder', got {part!r}.")
    format = _format_for(path, format)
    _check_dense_size(estimator, "encode" if part == "encoder" else "decode")
    # every block dense (the default ``csr_density=-1``): ONNX has no sparse product
    plan = encode_decode_plan(estimator, "encode" if part == "encoder" else "decode", np.float32)
    module = _module(plan)
    width = estimator.n_features_in_ if part == "encoder" else estimator.n_components_
    example = torch.zeros((2, width), dtype=torch.float32)
    with torch.no_grad(), atomic_path(path) as temporary:
        FORMATS[format](module, example, str(temporary))
    return Path(path)


#: The format each known suffix names (any other suffix: ``torch.export``).
SUFFIX_FORMATS = {".onnx": "onnx", ".pt": "torchscript", ".pt2": "torch.export"}


def _format_for(path, format):
    """``format``, or the one ``path``'s suffix names; a contradiction is refused."""
    suffix = Path(os.fspath(path)).suffix.lower()
    named = SUFFIX_FORMATS.get(suffix)
    if format is None:
        return named or "torch.export"
    if format not in FORMATS:
        raise ValueError(f"format must be one of {tuple(FORMATS)} or None, got {format!r}.")
    if named is not None and named != format:
        raise ValueError(
            f"format={format!r} does not match the file name {os.fspath(path)!r}, whose "
            f"suffix {suffix!r} means {named!r}: pass format={named!r}, or name the file "
            f"for {format!r} ({', '.join(k for k, v in SUFFIX_FORMATS.items() if v == format)})."
        )
    return format


#: Exports store the compacted blocks dense: at most this many times the links they
#: hold (or this many elements), so that a model file cannot make an export of
#: gigabytes out of a few links.
MAX_EXPORT_EXPANSION = 64
MIN_EXPORT_ELEMENTS = 2**22


def _check_dense_size(estimator, part):
    from ..inference._inference import dense_elements

    elements, links = dense_elements(estimator, part)
    if elements > max(MIN_EXPORT_ELEMENTS, MAX_EXPORT_EXPANSION * links):
        raise ValueError(
            f"Exporting this {part}r would store {elements} weights dense (about "
            f"{elements * 4 / 2**30:.1f} GiB) for its {links} links: exports have no sparse "
            "product. Prune by pruning='units' (smaller dense blocks), or serve the model "
            "with skshapsae (transform keeps such blocks sparse)."
        )


def _batch():
    import torch

    return {"x": {0: torch.export.Dim("batch", min=1)}}


def write_torch_export(module, example, path):
    """A ``torch.export`` program (``torch.export.load(path).module()``)."""
    import torch

    program = torch.export.export(module, (example,), dynamic_shapes=_batch())
    buffer = io.BytesIO()  # as for TorchScript: Python writes the file
    torch.export.save(program, buffer)
    _write_bytes(path, buffer.getvalue())


def write_onnx(module, example, path):
    """An ONNX graph, input ``"input"``, output ``"output"`` (needs onnx, onnxscript)."""
    import torch

    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "Exporting to ONNX needs the onnx and onnxscript packages: "
            "pip install 'skshapsae[onnx]'"
        ) from exc
    with _quiet_exporter():
        program = torch.onnx.export(
            module,
            (example,),
            input_names=["input"],
            output_names=["output"],
            dynamic_shapes=_batch(),
            dynamo=True,
            verbose=False,
        )
        program.save(path)


@contextlib.contextmanager
def _quiet_exporter():
    """No stray output from torch's ONNX exporter: its log lines about optional packages
    ("torchvision is not installed", four per export) and its own deprecation warnings
    say nothing about the user's model."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def write_torchscript(module, example, path):
    """A TorchScript module (``torch.jit.load``)."""
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # torch >= 2.9 marks TorchScript (trace and save) deprecated for torch.export
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        traced = torch.jit.trace(module, example)
        # serialized in memory, then written by Python: torch's own file writer aborts
        # the interpreter (SIGABRT) when the disk is full, where Python raises OSError
        torch.jit.save(traced, buffer)
    _write_bytes(path, buffer.getvalue())


def _write_bytes(path, data):
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


#: Export format -> writer ``f(module, example, path)``: the one registry of formats (a
#: new format is a writer function and a line here).
FORMATS = {
    "torch.export": write_torch_export,
    "onnx": write_onnx,
    "torchscript": write_torchscript,
}
