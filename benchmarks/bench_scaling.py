"""Scaling with the number of rows: a streamed fit of a synthetic table, 10^4 -> 10^6 rows.

The table (100 columns, 10 latent factors plus noise) is generated chunk by chunk and
never held whole: ``fit`` receives a re-iterable of 10,000-row chunks, so memory holds one
chunk, the reservoir of Shapley rows and the network. Each size runs in its own process
(peak resident memory, ``VmHWM``) with a fixed budget of epochs, so time should grow
linearly in the rows. Against it, what a user would otherwise run on data that does not
fit: ``IncrementalPCA.partial_fit`` over the same chunks.

Stages: training (``fit_times_["training"]``), scoring (``fit_times_["scoring"]``), and
the rest (reading the stream for the reservoir, pruning, fine-tuning).

Run:  python benchmarks/bench_scaling.py [--quick]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import machine, peak_rss_mb, print_table, write_json

CHUNK = 10_000
N_COLS = 100


class SyntheticTable:
    """``n_rows`` x 100 rows in chunks of 10,000, generated on each pass (re-iterable)."""

    def __init__(self, n_rows):
        self.n_rows = n_rows
        rng = np.random.default_rng(0)
        self.loadings = rng.normal(size=(10, N_COLS)) / np.sqrt(10)

    def __iter__(self):
        for k, begin in enumerate(range(0, self.n_rows, CHUNK)):
            rng = np.random.default_rng(k + 1)
            rows = min(CHUNK, self.n_rows - begin)
            latent = rng.normal(size=(rows, 10))
            yield latent @ self.loadings + 0.1 * rng.normal(size=(rows, N_COLS))


def one(method, n_rows):
    """Run one size in this process; print a JSON line."""
    data = SyntheticTable(n_rows)
    start = time.perf_counter()
    if method == "skshapsae":
        from skshapsae import SHAPSparseAutoencoder

        ae = SHAPSparseAutoencoder(
            (50, 10), max_iter=3, n_iter_no_change=10, fine_tune_iter=1, random_state=0
        ).fit(data)
        stages = dict(ae.fit_times_)
        mse = -ae.score(next(iter(data)))
    else:
        from sklearn.decomposition import IncrementalPCA

        pca = IncrementalPCA(n_components=10)
        for chunk in data:
            pca.partial_fit(chunk)
        stages = {}
        first = next(iter(data))
        mse = float(np.mean((pca.inverse_transform(pca.transform(first)) - first) ** 2))
    total = time.perf_counter() - start
    stages["other"] = total - sum(stages.values())
    print(
        json.dumps(
            {
                "method": method,
                "rows": n_rows,
                "seconds": total,
                "peak_mb": peak_rss_mb(),
                "mse_first_chunk": mse,
                **{f"{k} s": v for k, v in stages.items()},
            }
        )
    )


def main(quick=False):
    sizes = [10_000, 30_000] if quick else [10_000, 100_000, 1_000_000]
    rows = []
    for n in sizes:
        for method in ("skshapsae", "IncrementalPCA"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", method, str(n)],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).parent,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    base = {r["method"]: r for r in rows if r["rows"] == sizes[0]}
    for r in rows:
        r["time / rows vs smallest"] = (r["seconds"] / r["rows"]) / (
            base[r["method"]]["seconds"] / base[r["method"]]["rows"]
        )
    columns = [
        "method",
        "rows",
        "seconds",
        "training s",
        "scoring s",
        "other s",
        "time / rows vs smallest",
        "peak_mb",
        "mse_first_chunk",
    ]
    print(f"streamed fit of a {N_COLS}-column synthetic table in {CHUNK:,}-row chunks")
    print_table(rows, columns)
    write_json("scaling" + ("_quick" if quick else ""), {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "ROWS"))
    args = parser.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]))
    else:
        main(args.quick)
