"""The benchmarks' harness: :func:`parser` (the command line), :func:`timed` /
:func:`best_of` / :class:`Timer`, :func:`autoencoder` (the paper's network) and
:func:`write_json` (the machine beside every result; quick runs write the git-ignored
``<name>_quick.json``, never the committed full-run files)."""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: The instruction-set flags that the kernels' speed and bits depend on.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16")


def parser(doc, *, only=None, seeds=None, datasets=None):
    """``--quick``, ``--output``; ``--only`` (choices), ``--seeds``, ``--datasets`` if given."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny run (seconds), *_quick.json")
    p.add_argument("--output", type=Path, default=RESULTS, help="results folder")
    if only is not None:
        p.add_argument("--only", nargs="+", choices=only, default=None)
    if seeds is not None:
        p.add_argument("--seeds", type=int, nargs="+", default=seeds)
    if datasets is not None:
        p.add_argument("--datasets", nargs="+", default=datasets)
    return p


def data_home():
    """Where the shared MNIST / Fashion-MNIST ``.npz`` files are (``SKSHAPSAE_DATA`` wins)."""
    return Path(os.environ.get("SKSHAPSAE_DATA", ROOT.parent / "shared" / "data"))


def images(name, n_rows=None, home=None):
    """``(X, y)`` of ``"mnist"`` or ``"fashion_mnist"`` / 255, ``n_rows`` stratified rows."""
    from sklearn.model_selection import train_test_split

    from skshapsae import datasets

    X, y = getattr(datasets, f"load_{name}")(data_home=home or data_home(), return_X_y=True)
    if n_rows is not None and len(X) > n_rows:
        X, _, y, _ = train_test_split(X, y, train_size=n_rows, stratify=y, random_state=0)
    return X, y


# ----------------------------------------------------------------------------- timing
class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def timed(fn, repeats=1, warm_up=False):
    """``(best seconds of repeats, last result)`` of ``fn()``."""
    if warm_up:
        fn()
    best, out = np.inf, None
    for _ in range(repeats):
        with Timer() as t:
            out = fn()
        best = min(best, t.seconds)
    return best, out


def best_of(fns, repeats):
    """Best time of each function, interleaved (noise hits all alike), after a warm-up."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            ts.append(timed(fn)[0])
    return [min(ts) for ts in times]


def peak_rss_mb():
    """Peak resident memory of this process so far (``VmHWM``: reset by exec), MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- machine
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
    """One line: the CPU's flags and the capability torch dispatches to, beside every figure."""
    import torch

    flags = "+".join(cpu_flags()) or "unknown"
    return f"cpu flags {flags}; torch capability {torch.backends.cpu.get_cpu_capability()}"


def machine():
    import torch

    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        lscpu = ""
    models = [line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line]
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "cpu_model": models[0] if models else None,
        "cpu_flags": cpu_flags(),
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
    }


# ----------------------------------------------------------------------------- output
def write_json(name, payload, args=None, folder=None):
    """``<folder or args.output>/<name>[_quick if args.quick].json``, the machine beside."""
    quick = bool(getattr(args, "quick", False))
    folder = Path(folder or getattr(args, "output", None) or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{'_quick' if quick else ''}.json"
    payload = {"machine": machine(), "isa": isa(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=_default))
    print(f"wrote {path}")
    return path


def _default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(type(obj))


def print_table(rows, columns=None):
    columns = columns or list(rows[0])
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).rjust(w) for c, w in zip(columns, widths)))


def _fmt(v):
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def figure(path, fig, rect=(0, 0, 1, 1)):
    """Save and close a matplotlib figure (tight layout within ``rect``)."""
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    print(f"wrote {path}")


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ----------------------------------------------------------------------------- models
def autoencoder(quick=False, seed=0, **overrides):
    """The experiments' autoencoder (784-256-64-256-784, the paper's sigmoid hidden and
    output units), tiny in quick mode, every other parameter at the library's default."""
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


def sae(X, k=None, seed=0, **params):
    """``SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed, **params)`` fitted
    on ``X`` (the tables' model: the library's defaults)."""
    from skshapsae import SHAPSparseAutoencoder

    return SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed, **params).fit(X)


def recon_mse(model, X):
    """Mean squared error of ``model``'s reconstruction of ``X`` (a reducer's
    ``inverse_transform(transform(X))``)."""
    return float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))
