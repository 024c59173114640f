"""Dense versus pruned inference of a 784-256-64 encoder (MNIST), and the stored size.

Both sides go through ``transform`` (input validation, batching): "dense" is the trained
dense network with every link kept; "raw dense ms" is two bare numpy GEMMs for reference.
The pruned ``transform`` drops removed units and unused inputs, then multiplies each
layer's compacted block as a dense array or as CSR, whichever its density favours
(``skshapsae._inference.CSR_MAX_DENSITY``). Also timed: the same pruned weights as
full-size scipy CSR and as torch sparse CSR, to show the choice.

Run:  python benchmarks/bench_inference.py [--quick]
"""

import argparse
import pickle

import numpy as np
import scipy.sparse as sp

from skshapsae._activations import numpy_activation
from skshapsae.baselines import prune_with_scores
from skshapsae.datasets import load_mnist

from _common import Timer, data_home, machine, print_table, protocol_autoencoder, write_json

ETAS = [0.5, 0.8, 0.9, 0.95, 0.98]


def best_of(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        with Timer() as t:
            fn()
        times.append(t.seconds)
    return min(times)


def dense_encoder(model, X):
    L = len(model.dense_weights_) // 2
    A = X
    for W, b, act in zip(model.dense_weights_[:L], model.dense_intercepts_[:L], model.activations_):
        A = numpy_activation(act)(A @ W.T + b)
    return A


def full_csr_encoder(model, X):
    L = len(model.weights_) // 2
    A = X
    for W, b, act in zip(model.weights_[:L], model.intercepts_[:L], model.activations_):
        A = numpy_activation(act)((W @ A.T).T + b)
    return A


def torch_csr_encoder(weights, model, X):
    import torch

    L = len(model.weights_) // 2
    A = torch.from_numpy(X)
    for W, b, act in zip(weights, model.intercepts_[:L], model.activations_):
        A = (W @ A.T).T + torch.from_numpy(b)
        A = torch.sigmoid(A) if act == "logistic" else A
    return A


def main(quick=False):
    import warnings

    import torch

    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    X, _ = load_mnist(data_home=data_home(), return_X_y=True)
    X_fit, X_inf = X[:2000] if quick else X[:8000], X[-2000:]
    base = protocol_autoencoder(quick, hidden_layer_sizes=(256, 64)).fit(X_fit)
    # the dense network behind the same API (validation, batching): every link kept
    everything = [np.ones_like(w) for w in base.dense_weights_]
    dense_model = prune_with_scores(base, everything, [w.size for w in everything])
    dense_t = best_of(lambda: dense_model.transform(X_inf))
    raw_dense_t = best_of(lambda: dense_encoder(base, X_inf))
    dense_pickle = len(pickle.dumps((base.dense_weights_, base.dense_intercepts_)))
    dense_bytes = sum(
        W.nbytes + b.nbytes for W, b in zip(base.dense_weights_, base.dense_intercepts_)
    )
    rows = []
    for eta in ETAS:
        model = base.reprune(target_sparsity=eta)
        L = len(model.weights_) // 2
        t_plan = best_of(lambda m=model: m.transform(X_inf))
        t_csr = best_of(lambda m=model: full_csr_encoder(m, X_inf))
        tw = [
            torch.from_numpy(sp.csr_array(W).toarray()).to_sparse_csr() for W in model.weights_[:L]
        ]
        t_torch = best_of(lambda m=model, w=tw: torch_csr_encoder(w, m, X_inf))
        np.testing.assert_allclose(
            full_csr_encoder(model, X_inf) * model.active_units_[L],
            model.transform(X_inf),
            atol=1e-10,
        )
        sparse_bytes = sum(
            W.data.nbytes + W.indices.nbytes + W.indptr.nbytes + b.nbytes
            for W, b in zip(model.weights_, model.intercepts_)
        )
        rows.append(
            {
                "eta": model.sparsity_,
                "encoder eta": 1
                - sum(W.nnz for W in model.weights_[:L])
                / sum(np.prod(W.shape) for W in model.weights_[:L]),
                "inputs used": int(model.active_units_[0].sum()),
                "dense ms": dense_t * 1e3,
                "raw dense ms": raw_dense_t * 1e3,
                "pruned ms": t_plan * 1e3,
                "speed-up": dense_t / t_plan,
                "full CSR ms": t_csr * 1e3,
                "torch CSR ms": t_torch * 1e3,
                "size ratio": sparse_bytes / dense_bytes,
                "slim pickle / dense": len(pickle.dumps(model.slim())) / dense_pickle,
            }
        )
    print(f"transform of {len(X_inf)} MNIST rows, 784-256-64 encoder, best of 5")
    print_table(rows, list(rows[0]))
    write_json(
        "inference" + ("_quick" if quick else ""),
        {"machine": machine(), "rows": rows, "dense_bytes": dense_bytes},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
