"""Calibration of the inference kernels: dense against CSR by density and batch size.

For a compacted block of ``n_out x n_in`` (the shapes of a pruned 784-256-64 encoder's
blocks) at each density, the time of torch's dense ``addmm`` against the library's CSR
kernel (``skshapsae._kernels.csr_product`` on transposed activations, as
``skshapsae._inference`` runs them; torch's own CSR product, MKL, for reference), at
batch sizes 1, 16, 100, 500, 2,000 and 4,096 rows (``transform`` runs batches of at
most 4,096), float32, one after the other in one
process. For each batch size it prints the highest density at which CSR is at least as
fast: the calibration table ``skshapsae._inference.CSR_MAX_DENSITY_BY_ROWS``; and, for the
small blocks of a table's network, CSR's speed-up against the work per batch
(``CSR_MIN_WORK``).

Run:  python benchmarks/bench_kernels.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from skshapsae._kernels import csr_product
from skshapsae._threads import available_threads

from _common import machine, write_json

SHAPES = [(256, 400), (64, 256)]
#: the blocks of a table's network: measured too, for the work threshold
#: (``CSR_MIN_WORK``), and left out of the density table
SMALL_SHAPES = [(15, 30), (8, 64), (32, 64)]
DENSITIES = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]
ROWS = [1, 16, 100, 500, 2000, 4096]  # transform runs batches of at most 4,096 rows


def best(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(quick=False):
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    rng = np.random.default_rng(0)
    results, table = [], {}
    for n_out, n_in in SHAPES + SMALL_SHAPES:
        for rows in ROWS[:3] if quick else ROWS:
            A = torch.from_numpy(rng.uniform(size=(rows, n_in)).astype(np.float32))
            At = A.T.contiguous()
            for density in DENSITIES:
                W = rng.normal(size=(n_out, n_in)) * (rng.uniform(size=(n_out, n_in)) < density)
                dense = torch.from_numpy(W.T.astype(np.float32).copy())
                torch_csr = torch.from_numpy(W.astype(np.float32)).to_sparse_csr()
                csr = sp.csr_array(W.astype(np.float32))
                csr.indices, csr.indptr = csr.indices.astype(np.int64), csr.indptr.astype(np.int64)
                bias = torch.zeros(n_out)
                threads = available_threads(rows * n_out * n_in)
                repeats = 5 if rows >= 2000 else 200
                with torch.no_grad():
                    t_dense = best(lambda b=bias, a=A, w=dense: torch.addmm(b, a, w), repeats)
                    b_np, At_np = bias.numpy(), At.numpy()
                    t_csr = best(
                        lambda b=b_np, a=At_np, w=csr, t=threads: csr_product(
                            a, w, b, transposed=True, threads=t
                        ),
                        repeats,
                    )
                    t_torch = best(
                        lambda b=bias, a=At, w=torch_csr: (w @ a).add_(b[:, None]), repeats
                    )
                results.append(
                    {
                        "shape": f"{n_out}x{n_in}",
                        "work": rows * n_out * n_in,
                        "rows": rows,
                        "density": density,
                        "dense_us": t_dense * 1e6,
                        "csr_us": t_csr * 1e6,
                        "csr_speedup": t_dense / t_csr,
                        "torch_csr_us": t_torch * 1e6,
                    }
                )
                print(
                    f"{n_out}x{n_in} rows {rows:6d} density {density:.2f}: dense "
                    f"{t_dense * 1e6:9.1f} us  CSR {t_csr * 1e6:9.1f} us  ({t_dense / t_csr:.2f}x; "
                    f"torch CSR {t_dense / t_torch:.2f}x)",
                    flush=True,
                )
    large = [r for r in results if tuple(map(int, r["shape"].split("x"))) in SHAPES]
    for rows in ROWS[:3] if quick else ROWS:
        wins = [r["density"] for r in large if r["rows"] == rows and r["csr_speedup"] >= 1.0]
        # the highest density below which CSR wins on every (large) shape
        ok = [
            d
            for d in DENSITIES
            if all(
                r["csr_speedup"] >= 1.0 for r in large if r["rows"] == rows and r["density"] <= d
            )
        ]
        table[rows] = max(ok) if ok else 0.0
        print(f"rows {rows}: CSR at least as fast up to density {table[rows]} (wins at {wins})")
    small = [r for r in results if r not in large and r["density"] <= 0.2]
    for r in sorted(small, key=lambda r: r["work"]):  # the work threshold, CSR_MIN_WORK
        print(f"small block {r['shape']}, work {r['work']:>9d}: CSR {r['csr_speedup']:.2f}x")
    write_json(
        "kernels" + ("_quick" if quick else ""),
        {"machine": machine(), "results": results, "table": table},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
