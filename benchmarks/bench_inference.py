"""Pruned inference against a bare dense forward pass (MNIST or Fashion-MNIST, 784-256-64).

What a user would otherwise run: the same trained network as a bare float32 torch
forward pass (``addmm`` + sigmoid twice, from a numpy array to a numpy array, no
validation; float64 input is cast to float32 first, as a float32 model needs) -- the
fastest dense baseline -- and, deployed, the dense network exported to ONNX and run by
onnxruntime. Against them, in one process, best of several interleaved repeats, at
batch sizes 1, 100, 2,000 and 20,000 rows:

* ``transform`` of the network pruned by links (``pruning="layer"``, CSR or dense
  compacted blocks) and by whole units (``pruning="units"``, a smaller dense
  network), at the same sparsity eta (share of removed multiply-adds), for float32 and
  float64 input (validation included);
* their ONNX exports in onnxruntime, against the dense ONNX export;
* ``PCA(64).transform`` for one row;
* the bare pass and float32 ``transform`` again, each alone in its own block of calls
  ("f32 alone x"): interleaved, each call starts while the previous one's thread pool
  (torch's OpenMP pool, or numba's) still spins on the cores for a few milliseconds.

Quality against latency (the figure): test reconstruction MSE (2,000 held-out rows,
after the default 3 epochs of fine-tuning) against the measured latency of
``transform`` on 2,000 float32 rows, for the layer game and the network game, by links
and by units, and for magnitude and Wanda scores at the unit level.

Ratios > 1 mean faster than the bare dense pass (or the dense ONNX export).

``--table``: a narrow table instead (25 columns, 12 code units, the default 25-12-25
network, issue 38): ``transform`` of the link-pruned model (eta 0.9; and 0.95, and one
pruned by units at 0.6) against the same model at level 1.0 (every positive link kept),
float32 rows, at the same batch sizes.

Every figure is printed with the CPU's instruction-set flags and torch's capability.
Run:  python benchmarks/bench_inference.py [--quick] [--dataset mnist|fashion_mnist]
      python benchmarks/bench_inference.py --table
"""

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from skshapsae import export
from skshapsae.baselines import score_links
from skshapsae.datasets import load_fashion_mnist, load_mnist

from _common import (
    RESULTS,
    data_home,
    isa,
    machine,
    print_table,
    autoencoder,
    write_json,
)

ETAS = [0.5, 0.8, 0.9, 0.95, 0.98]
BATCHES = [1, 100, 2000, 20000]
#: What each kind of pruning measured here is, as the ``pruning`` parameter says it.
PRUNING = {"links": "layer", "units": "units"}


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
            A = torch.from_numpy(np.asarray(X, dtype=np.float32))
            for W, b in zip(Ws, bs):
                A = torch.sigmoid(torch.addmm(b, A, W))
            return A.numpy()

    return forward


def onnx_session(model, folder, name):
    """An onnxruntime session of ``model``'s exported encoder (None without onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    path = export(model, Path(folder) / f"{name}.onnx", format="onnx")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # onnxruntime's threads spin after each run by default, taking the cores from
    # whatever is timed next; without spinning the interleaved timings stay fair
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda X: session.run(None, {"input": X})[0]


def test_mse(model, X_test):
    return float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))


LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}


def main(quick=False, dataset="mnist"):
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    X, _ = LOADERS[dataset](data_home=data_home(), return_X_y=True)
    X = X[:10000]
    X_fit = X[:2000] if quick else X[:8000]
    X_test = X[-2000:]
    X_inf = np.tile(X_test, (10, 1)).astype(np.float32)  # 20,000 rows
    params = {} if quick else dict(hidden_layer_sizes=(256, 64))
    base = autoencoder(quick, **params).fit(X_fit)
    network = autoencoder(quick, importance_target="reconstruction", **params).fit(X_fit)
    dense_model = base.reprune(1.0, scores=[np.ones_like(w) for w in base.dense_weights_])
    bare = bare_dense(base)
    np.testing.assert_allclose(bare(X_inf[:50]), dense_model.transform(X_inf[:50]), atol=1e-5)
    etas = ETAS[1:4] if quick else ETAS
    repeats = 3 if quick else 11
    rows, quality = [], []
    with tempfile.TemporaryDirectory() as folder:
        dense_onnx = onnx_session(dense_model, folder, "dense")
        pca = PCA(64, random_state=0).fit(X_fit)
        t_pca, t_dense_one = best_of(
            [lambda: pca.transform(X_inf[:1]), lambda: dense_model.transform(X_inf[:1])], 500
        )
        for eta in etas:
            for structure in ("links", "units"):
                model = base.reprune(target_sparsity=eta, pruning=PRUNING[structure], X=X_fit)
                session = onnx_session(model, folder, f"{structure}{eta}")
                units = "-".join(str(int(a.sum())) for a in model.active_units_[:3])
                for n in BATCHES:
                    b32 = X_inf[:n]
                    b64 = b32.astype(np.float64)
                    fns = [
                        lambda b=b32: bare(b),
                        lambda b=b32, m=model: m.transform(b),
                        lambda b=b64: bare(b),
                        lambda b=b64, m=model: m.transform(b),
                    ]
                    if session is not None:
                        fns += [lambda b=b32: dense_onnx(b), lambda b=b32, s=session: s(b)]
                    times = best_of(fns, repeats if n > 100 else 20 * repeats)
                    # each alone, in its own block of calls: no other runtime's threads
                    # still spinning from the call before (torch's OpenMP pool spins for a
                    # while after each parallel kernel; so does numba's)
                    alone = [
                        best_of([fn], repeats if n > 100 else 20 * repeats)[0] for fn in fns[:2]
                    ]
                    row = {
                        "structure": structure,
                        "eta": round(model.sparsity_, 3),
                        "units": units,
                        "rows": n,
                        "bare ms": times[0] * 1e3,
                        "f32 x": times[0] / times[1],
                        "f64 x": times[2] / times[3],
                        "f32 alone x": alone[0] / alone[1],
                    }
                    if session is not None:
                        row["onnx ms"] = times[5] * 1e3
                        row["onnx x"] = times[4] / times[5]
                    rows.append(row)
        # quality against latency (2,000 float32 rows)
        candidates = {
            "layer game": (base, None),
            "network game": (network, None),
            "magnitude": (base, score_links("magnitude", base)),
            "Wanda": (base, score_links("wanda", base, X_fit[:500])),
        }
        batch = X_inf[:2000]
        for name, (source, scores) in candidates.items():
            for structure in ("links", "units"):
                if scores is not None and structure == "links":
                    continue  # the link-level baselines are on the experiments page
                for eta in etas:
                    model = source.reprune(
                        target_sparsity=eta, pruning=PRUNING[structure], scores=scores, X=X_fit
                    )
                    (latency,) = best_of([lambda m=model: m.transform(batch)], repeats)
                    quality.append(
                        {
                            "scores": name,
                            "structure": structure,
                            "eta": round(model.sparsity_, 3),
                            "latency ms": latency * 1e3,
                            "test MSE": test_mse(model, X_test),
                        }
                    )
    (t_bare_2000,) = best_of([lambda: bare(batch)], repeats)
    print(
        f"{dataset} 784-256-64 encoder; ratios: bare dense float32 torch time / time, and dense "
        "ONNX / pruned ONNX in onnxruntime (> 1 is faster); 'transform' includes validation"
        f" [{isa()}]"
    )
    print_table(rows, list(rows[0]))
    print(
        f"one row: PCA.transform {t_pca * 1e6:.0f} us, dense transform {t_dense_one * 1e6:.0f}"
        " us; pruned transform / PCA: "
        + ", ".join(
            f"{r['structure']} eta {r['eta']}: {r['bare ms'] / r['f32 x'] / (t_pca * 1e3):.2f}x"
            for r in rows
            if r["rows"] == 1
        )
        + f" [{isa()}]"
    )
    print(
        f"quality against latency (2,000 rows; bare dense pass {t_bare_2000 * 1e3:.2f} ms)"
        f" [{isa()}]:"
    )
    print_table(quality, list(quality[0]))
    results = {
        "dataset": dataset,
        "machine": machine(),
        "rows": rows,
        "quality": quality,
        "pca_one_row_s": t_pca,
        "dense_transform_one_row_s": t_dense_one,
        "bare_dense_2000_s": t_bare_2000,
    }
    suffix = ("" if dataset == "mnist" else f"_{dataset}") + ("_quick" if quick else "")
    write_json("inference" + suffix, results)
    plot(results, RESULTS / f"bench_inference{suffix}.png")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    styles = {"links": "-", "units": "--"}
    for name in dict.fromkeys(q["scores"] for q in results["quality"]):
        for structure in ("links", "units"):
            sel = [
                q for q in results["quality"] if q["scores"] == name and q["structure"] == structure
            ]
            if sel:
                ax.plot(
                    [q["latency ms"] for q in sel],
                    [q["test MSE"] for q in sel],
                    styles[structure],
                    marker="o",
                    label=f"{name}, {structure}",
                )
    ax.axvline(results["bare_dense_2000_s"] * 1e3, color="grey", lw=0.8, label="bare dense pass")
    ax.set_xlabel("latency of transform, 2,000 float32 rows (ms; 2-core CPU)")
    ax.set_ylabel("test reconstruction MSE")
    ax.set_yscale("log")
    label = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}[results["dataset"]]
    ax.set_title(f"{label}, 784-256-64 encoder: quality against measured latency", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


#: The narrow table's pruned models: (pruning, eta); the first is issue 38's.
TABLE_MODELS = [("layer", 0.9), ("layer", 0.95), ("units", 0.6)]


def table(repeats=15):
    """The narrow table of issue 38: link-pruned 25-12-25 models (eta 0.9, 0.95) and a
    unit-pruned one against the same model at level 1.0, ``transform`` of float32 rows,
    interleaved best-of."""
    from skshapsae import SHAPSparseAutoencoder

    rng = np.random.default_rng(0)
    factors = rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 25))
    X = (factors + 0.3 * rng.normal(size=factors.shape)).astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    ae = SHAPSparseAutoencoder(
        target_sparsity=0.9, max_iter=50, n_background=50, n_explain=50, random_state=0
    ).fit(X[:2000])
    level_one = ae.reprune(1.0)
    rows = []
    for pruning, eta in TABLE_MODELS:
        model = ae.reprune(target_sparsity=eta, pruning=pruning)
        sizes = "-".join(str(int(a.sum())) for a in model.active_units_)
        for n in BATCHES:
            batch = np.tile(X, (-(-n // len(X)), 1))[:n]
            r = repeats if n > 100 else 40 * repeats
            t_pruned, t_one = best_of(
                [lambda b=batch, m=model: m.transform(b), lambda b=batch: level_one.transform(b)],
                r,
            )
            rows.append(
                {
                    "pruning": pruning,
                    "eta": round(model.sparsity_, 3),
                    "units": sizes,
                    "rows": n,
                    "level 1.0 us": t_one * 1e6,
                    "pruned us": t_pruned * 1e6,
                    "pruned x": t_one / t_pruned,
                    "isa": isa(),
                }
            )
    print(
        f"narrow table, 25-12-25 (level 1.0: eta {level_one.sparsity_:.3f}); 'pruned x' = "
        "level-1.0 time / pruned time (> 1: the pruned model is faster)"
    )
    print_table(rows, list(rows[0]))
    write_json("inference_table", {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="mnist")
    parser.add_argument("--table", action="store_true", help="the narrow table (issue 38)")
    args = parser.parse_args()
    if args.table:
        table()
    else:
        main(args.quick, args.dataset)
