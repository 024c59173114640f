"""Pruned inference against a bare dense torch forward pass (MNIST, 784-256-64 encoder).

What a user would otherwise run: the same trained network as a bare float32 torch
forward pass (``addmm`` + sigmoid twice, from a float32 numpy array to a numpy array,
no validation) -- the fastest dense baseline. Against it, at each sparsity and batch
size (1, 100, 2,000, 20,000 rows), best of several interleaved repeats:

* ``transform`` of the pruned network with float32 input (validation included): removed
  units and unused inputs dropped, each remaining block multiplied dense or as CSR by
  its density (``skshapsae._inference.CSR_MAX_DENSITY``);
* the same compacted plan with every block forced dense, and forced CSR (to check the
  density threshold);
* the library's dense ``transform`` (every link kept), for reference.

Ratios > 1 mean faster than the bare dense pass. Also the stored size.
Run:  python benchmarks/bench_inference.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np

from skshapsae._inference import compact_plan, encode_decode_plan, forward_compact
from skshapsae.baselines import prune_with_scores
from skshapsae.datasets import load_mnist

from _common import data_home, machine, print_table, protocol_autoencoder, write_json

ETAS = [0.5, 0.8, 0.9, 0.95, 0.98]
BATCHES = [1, 100, 2000, 20000]


def best_of(fns, repeats):
    """Minimum time of each function, the functions interleaved so noise hits all alike."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - start)
    return [min(ts) for ts in times]


def bare_dense(model):
    """The trained dense encoder as a bare float32 torch forward pass."""
    import torch

    L = len(model.dense_weights_) // 2
    Ws = [torch.from_numpy(W.T.astype(np.float32).copy()) for W in model.dense_weights_[:L]]
    bs = [torch.from_numpy(b.astype(np.float32)) for b in model.dense_intercepts_[:L]]

    def forward(X):
        with torch.no_grad():
            A = torch.from_numpy(X)
            for W, b in zip(Ws, bs):
                A = torch.sigmoid(torch.addmm(b, A, W))
            return A.numpy()

    return forward


def layout(block):
    """'dense' or 'csr' and the density of a compacted block."""
    import torch

    if block.layout == torch.sparse_csr:
        return f"csr {block._nnz() / block.numel():.2f}"
    return f"dense {int((block != 0).sum()) / block.numel():.2f}"


def forced_plan(model, density):
    """The pruned encoder's compacted plan with every block dense (0) or CSR (1)."""
    L = len(model.weights_) // 2
    return compact_plan(
        model.weights_[:L],
        model.intercepts_[:L],
        model.activations_[:L],
        list(model.active_units_[: L + 1]),
        np.zeros(model.n_components_),
        np.float32,
        csr_max_density=density,
    )


def main(quick=False):

    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    X, _ = load_mnist(data_home=data_home(), return_X_y=True)
    X_fit = X[:2000] if quick else X[:8000]
    X_inf = np.tile(X[-2000:], (10, 1)).astype(np.float32)  # 20,000 rows
    base = protocol_autoencoder(quick, hidden_layer_sizes=(256, 64)).fit(X_fit)
    everything = [np.ones_like(w) for w in base.dense_weights_]
    dense_model = prune_with_scores(base, everything, [w.size for w in everything])
    bare = bare_dense(base)
    np.testing.assert_allclose(bare(X_inf[:50]), dense_model.transform(X_inf[:50]), atol=1e-5)
    repeats = 3 if quick else 7
    rows = []
    for eta in ETAS:
        model = base.reprune(target_sparsity=eta)
        L = len(model.weights_) // 2
        plan = encode_decode_plan(model, "encode", np.float32)
        layouts = [layout(block) for block, _, _ in plan[1]]
        all_dense, all_csr = forced_plan(model, 0.0), forced_plan(model, 1.0)
        for n in BATCHES:
            batch = X_inf[:n]
            t_bare, t_pruned, t_dense_blocks, t_csr_blocks, t_dense_transform = best_of(
                [
                    lambda b=batch: bare(b),
                    lambda b=batch, m=model: m.transform(b),
                    lambda b=batch, p=all_dense: forward_compact(b, p),
                    lambda b=batch, p=all_csr: forward_compact(b, p),
                    lambda b=batch: dense_model.transform(b),
                ],
                repeats if n > 100 else 20 * repeats,
            )
            rows.append(
                {
                    "eta": round(model.sparsity_, 3),
                    "rows": n,
                    "units": "-".join(str(int(a.sum())) for a in model.active_units_[: L + 1]),
                    "layout": "/".join(layouts),
                    "bare dense ms": t_bare * 1e3,
                    "transform x": t_bare / t_pruned,
                    "blocks dense x": t_bare / t_dense_blocks,
                    "blocks CSR x": t_bare / t_csr_blocks,
                    "dense transform x": t_bare / t_dense_transform,
                }
            )
    print(
        "20,000 MNIST rows (float32), 784-256-64 encoder; ratios: bare dense torch time / "
        "time (> 1 is faster); 'transform' includes validation"
    )
    print_table(rows, list(rows[0]))
    sizes = {
        "dense_bytes": sum(W.nbytes // 2 for W in base.dense_weights_[:2]),  # float32
    }
    write_json(
        "inference" + ("_quick" if quick else ""),
        {"machine": machine(), "rows": rows, **sizes},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
