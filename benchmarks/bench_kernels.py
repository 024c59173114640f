"""Calibration of the inference kernels: dense against CSR by density and batch size.

For a compacted block of ``n_out x n_in`` at each density, the time of torch's dense
``addmm`` against the library's CSR kernel (``skshapsae.inference._kernels.csr_product``), both as
``skshapsae.inference._inference`` runs them, in the two places a block sits:

* inside the network, on transposed activations (``transposed=True``), and
* as the first layer, on the rows of the input with a third of its columns unused: the
  dense path gathers the used columns (``index_select``) and multiplies, the CSR kernel
  gathers them into its tiles itself;

and torch's own CSR product (MKL) for reference; at batch sizes 1, 16, 100, 500, 2,000
and 4,096 rows (``transform`` runs batches of at most 4,096), float32, one after the
other in one process. Blocks: those of a pruned 784-256-64 encoder (256 x 400, 64 x 256)
and those of a table's network (15 x 30, 8 x 64, 32 x 64). For each batch size it prints
the highest density at which CSR is at least as fast in both places on both image
blocks: the calibration table ``skshapsae.inference._inference.CSR_MAX_DENSITY_BY_ROWS``. Then,
for blocks below ``CSR_MIN_BLOCK``, what decides there: ``transform`` of default fits on
breast cancer, digits and a 300-column ``make_classification`` table with every block
forced to CSR against every block dense.

Run:  python benchmarks/bench_kernels.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from skshapsae.inference._kernels import csr_product
from skshapsae.network._threads import available_threads

from _common import machine, write_json

SHAPES = [(256, 400), (64, 256)]
#: the blocks of a table's network: measured and printed, left out of the density table
#: (``CSR_MIN_BLOCK`` keeps them dense; see ``end_to_end``)
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
            # the first layer: the rows of an input of which the block uses two thirds
            full = rng.uniform(size=(rows, n_in * 3 // 2)).astype(np.float32)
            cols = np.sort(rng.choice(full.shape[1], n_in, replace=False)).astype(np.int64)
            full_t, cols_t = torch.from_numpy(full), torch.from_numpy(cols)
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
                    t_dense_first = best(
                        lambda b=bias, w=dense, x=full_t, c=cols_t: torch.addmm(
                            b, x.index_select(1, c), w
                        ),
                        repeats,
                    )
                    t_csr_first = best(
                        lambda b=b_np, w=csr, x=full, c=cols, t=threads: csr_product(
                            x, w, b, cols=c, threads=t
                        ),
                        repeats,
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
                        "first_speedup": t_dense_first / t_csr_first,
                    }
                )
                print(
                    f"{n_out}x{n_in} rows {rows:6d} density {density:.2f}: dense "
                    f"{t_dense * 1e6:9.1f} us  CSR {t_csr * 1e6:9.1f} us  ({t_dense / t_csr:.2f}x; "
                    f"torch CSR {t_dense / t_torch:.2f}x); first layer: CSR "
                    f"{t_dense_first / t_csr_first:.2f}x",
                    flush=True,
                )
    large = [r for r in results if tuple(map(int, r["shape"].split("x"))) in SHAPES]
    for rows in ROWS[:3] if quick else ROWS:
        here = [r for r in large if r["rows"] == rows]
        # the highest density up to which CSR wins in both places on both image blocks
        ok = [
            d
            for d in DENSITIES
            if all(
                min(r["csr_speedup"], r["first_speedup"]) >= 1.0 for r in here if r["density"] <= d
            )
        ]
        table[rows] = max(ok) if ok else 0.0
        print(f"rows {rows}: CSR at least as fast up to density {table[rows]}")
    tables = end_to_end(quick)
    write_json(
        "kernels" + ("_quick" if quick else ""),
        {"machine": machine(), "results": results, "table": table, "end_to_end": tables},
    )


def end_to_end(quick=False):
    """``transform`` of default fits on tables, every block CSR against every block dense."""
    import copy

    from sklearn.datasets import load_breast_cancer, load_digits, make_classification
    from sklearn.preprocessing import MinMaxScaler

    from skshapsae import SHAPSparseAutoencoder, _inference

    data = {
        "breast cancer": load_breast_cancer(return_X_y=True)[0],
        "digits": load_digits(return_X_y=True)[0],
        "make_classification 300": make_classification(
            20000, 300, n_informative=30, random_state=0
        )[0],
    }
    out = []
    for name, X in data.items():
        X = MinMaxScaler().fit_transform(X).astype(np.float32)
        ae = SHAPSparseAutoencoder(random_state=0).fit(X[:3000])
        a = ae.active_units_
        half = len(a) // 2
        blocks = [f"{a[k + 1].sum()}x{a[k].sum()}" for k in range(half)]
        dens = [ae.weights_[k].nnz / max(1, a[k + 1].sum() * a[k].sum()) for k in range(half)]
        rows_all = np.tile(X, (20000 // len(X) + 1, 1))[:20000]
        for rows in (100, 2000) if quick else (100, 500, 2000, 20000):
            batch = rows_all[:rows]
            times = []
            for forced in (-1.0, 1.0):  # every block dense, every block CSR
                model = copy.deepcopy(ae)
                _inference.CSR_MAX_DENSITY = forced
                times.append(
                    best(lambda m=model, b=batch: m.transform(b), 10 if rows > 500 else 100)
                )
            _inference.CSR_MAX_DENSITY = None
            row = {"table": name, "blocks": blocks, "densities": dens, "rows": rows}
            row["csr_speedup"] = times[0] / times[1]
            out.append(row)
            print(
                f"{name}: blocks {blocks}, densities {[round(d, 2) for d in dens]}, "
                f"{rows} rows: every block CSR {row['csr_speedup']:.2f}x every block dense"
            )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
