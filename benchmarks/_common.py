"""Helpers shared by the benchmarks: data paths, timing, JSON output."""

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def data_home():
    """Where the shared MNIST / Fashion-MNIST ``.npz`` files are (``SKSHAPSAE_DATA`` wins)."""
    return Path(os.environ.get("SKSHAPSAE_DATA", ROOT.parent / "shared" / "data"))


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB.

    Read from ``VmHWM`` (reset by exec, unlike ``ru_maxrss``, which a spawned
    child inherits from its parent's peak).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: The instruction-set flags of /proc/cpuinfo that the kernels' speed and bits depend on.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16")


def cpu_flags():
    """The :data:`ISA_FLAGS` this CPU has (Linux; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            line = next(line for line in f if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    have = set(line.split(":", 1)[1].split())
    return [flag for flag in ISA_FLAGS if flag in have]


def isa():
    """One line: the CPU's instruction-set flags and the capability torch dispatches to
    (``ATEN_CPU_CAPABILITY`` can narrow it), to print beside every figure."""
    import torch

    flags = "+".join(cpu_flags()) or "unknown"
    return f"cpu flags {flags}; torch capability {torch.backends.cpu.get_cpu_capability()}"


def machine():
    import torch

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "cpu_flags": cpu_flags(),
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
    }


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def write_json(name, payload, folder=None):
    folder = Path(folder) if folder is not None else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=_default))
    print(f"wrote {path}")


def _default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj))


def print_table(rows, columns):
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).rjust(w) for c, w in zip(columns, widths)))


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def protocol_autoencoder(quick=False, seed=0, **overrides):
    """The experiments' autoencoder (784-256-64-256-784 protocol), tiny in quick mode.

    The paper's network (sigmoid hidden and output units) trained with the library's
    defaults, which on 784-pixel images with more than 5,000 rows resolve to the random
    start and Adam 1e-3 (``init="auto"``, ``solver="auto"``), ``batch_size="auto"``, stop
    on convergence, at most ``max_iter`` epochs.
    """
    from skshapsae import SHAPSparseAutoencoder

    params = dict(
        hidden_layer_sizes=(32, 8) if quick else (256, 64),
        activation="logistic",
        out_activation="logistic",
        max_iter=2 if quick else 200,
        n_background=20 if quick else 100,
        n_explain=20 if quick else 200,
        fold_bias=True,
        device="cpu",
        random_state=seed,
    )
    params.update(overrides)
    return SHAPSparseAutoencoder(**params)
