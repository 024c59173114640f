"""Pruned inference against a bare dense forward pass, and the kernels' calibration.

``main``: ``transform`` of a 784-256-64 network pruned by links and by units against a
bare float32 torch pass and an ONNX export, 1 to 20,000 rows; ``table``: a 25-column
table's pruned models (issue 38); ``kernels``: dense ``addmm`` against the CSR kernel by
density and batch size (``CSR_MAX_DENSITY_BY_ROWS``).
Run:  python benchmarks/bench_inference.py [--quick] [--dataset fashion_mnist]
      python benchmarks/bench_inference.py --only table      (or --only kernels)
Writes results/inference*.json, inference_table.json, kernels.json.
"""

import copy
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from skshapsae import SHAPSparseAutoencoder, export
from skshapsae.baselines import score_links

from _common import autoencoder, best_of, images, isa, parser, print_table, recon_mse, write_json

ETAS = [0.5, 0.8, 0.9, 0.95, 0.98]
BATCHES = [1, 100, 2000, 20000]
#: What each kind of pruning measured here is, as the ``pruning`` parameter says it.
PRUNING = {"links": "layer", "units": "units"}


def bare_dense(model):
    """The trained dense encoder as a bare float32 torch forward pass."""
    import torch

    L = len(model.dense_weights_) // 2
    Ws = [torch.from_numpy(W.T.astype(np.float32).copy()) for W in model.dense_weights_[:L]]
    bs = [torch.from_numpy(b.astype(np.float32)) for b in model.dense_intercepts_[:L]]
    functions = {"logistic": torch.sigmoid, "silu": torch.nn.functional.silu}
    acts = [functions[name] for name in model.activations_[:L]]

    def forward(X):
        with torch.no_grad():
            A = torch.from_numpy(np.asarray(X, dtype=np.float32))
            for W, b, act in zip(Ws, bs, acts):
                A = act(torch.addmm(b, A, W))
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


def _speeds(fns, b32, repeats):
    """The bare dense pass against ``transform`` on float32 and float64 rows, interleaved
    and each alone; dense against pruned ONNX where there are sessions."""
    bare, transform, dense_onnx, session = fns
    b64 = b32.astype(np.float64)
    fns = [lambda: bare(b32), lambda: transform(b32), lambda: bare(b64), lambda: transform(b64)]
    if session is not None:
        fns += [lambda: dense_onnx(b32), lambda: session(b32)]
    repeats = repeats if len(b32) > 100 else 20 * repeats
    times = best_of(fns, repeats)
    # each alone, in its own block of calls: no other runtime's threads still spinning
    # from the call before (torch's OpenMP pool spins for a while after each parallel
    # kernel; so does numba's)
    alone = [best_of([fn], repeats)[0] for fn in fns[:2]]
    row = {"bare ms": times[0] * 1e3, "f32 x": times[0] / times[1], "f64 x": times[2] / times[3]}
    row["f32 alone x"] = alone[0] / alone[1]
    if session is not None:
        row.update({"onnx ms": times[5] * 1e3, "onnx x": times[4] / times[5]})
    return row


def main(args):
    quick, dataset = args.quick, args.dataset
    X = images(dataset)[0][:10000]
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
                    row = {"structure": structure, "eta": round(model.sparsity_, 3)}
                    row.update(units=units, rows=n)
                    fns = (bare, model.transform, dense_onnx, session)
                    rows.append({**row, **_speeds(fns, X_inf[:n], repeats)})
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
                    row = {"scores": name, "structure": structure, "eta": round(model.sparsity_, 3)}
                    quality.append(
                        {**row, "latency ms": latency * 1e3, "test MSE": recon_mse(model, X_test)}
                    )
    (t_bare_2000,) = best_of([lambda: bare(batch)], repeats)
    print(
        f"{dataset} 784-256-64 encoder; ratios: bare dense float32 torch time / time, and dense "
        "ONNX / pruned ONNX in onnxruntime (> 1 is faster); 'transform' includes validation"
    )
    print_table(rows)
    ratio = lambda r: r["bare ms"] / r["f32 x"] / (t_pca * 1e3)  # noqa: E731
    one_row = [f"{r['structure']} eta {r['eta']}: {ratio(r):.2f}x" for r in rows if r["rows"] == 1]
    print(
        f"one row: PCA.transform {t_pca * 1e6:.0f} us, dense transform {t_dense_one * 1e6:.0f}"
        f" us; pruned transform / PCA: {', '.join(one_row)}"
    )
    print(f"quality against latency (2,000 rows; bare dense pass {t_bare_2000 * 1e3:.2f} ms):")
    print_table(quality)
    print(isa())
    results = dict(dataset=dataset, rows=rows, quality=quality, pca_one_row_s=t_pca)
    results.update(dense_transform_one_row_s=t_dense_one, bare_dense_2000_s=t_bare_2000)
    suffix = "" if dataset == "mnist" else f"_{dataset}"
    write_json("inference" + suffix, results, args)


#: The narrow table's pruned models: (pruning, eta); the first is issue 38's.
TABLE_MODELS = [("layer", 0.9), ("layer", 0.95), ("units", 0.6)]


def table(args, repeats=15):
    """The narrow table of issue 38: link-pruned 25-12-25 models (eta 0.9, 0.95) and a
    unit-pruned one against the same model at level 1.0, ``transform`` of float32 rows,
    interleaved best-of."""
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 25))
    X = (factors + 0.3 * rng.normal(size=factors.shape)).astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    ae = SHAPSparseAutoencoder(
        target_sparsity=0.9, max_iter=50, n_background=50, n_explain=50, random_state=0
    ).fit(X[:2000])
    level_one, bare = ae.reprune(1.0), bare_dense(ae)
    np.testing.assert_allclose(bare(X[:50]), level_one.transform(X[:50]), atol=1e-5)
    rows = []
    for pruning, eta in TABLE_MODELS:
        model = ae.reprune(target_sparsity=eta, pruning=pruning)
        sizes = "-".join(str(int(a.sum())) for a in model.active_units_)
        for n in BATCHES:
            batch = np.tile(X, (-(-n // len(X)), 1))[:n]
            r = repeats if n > 100 else 40 * repeats
            fns = [lambda b=batch, m=model: m.transform(b), lambda b=batch: level_one.transform(b)]
            t_pruned, t_one, t_bare = best_of([*fns, lambda b=batch: bare(b)], r)
            row = {"pruning": pruning, "eta": round(model.sparsity_, 3), "units": sizes, "rows": n}
            row.update({"level 1.0 us": t_one * 1e6, "pruned us": t_pruned * 1e6})
            row.update({"pruned x": t_one / t_pruned, "vs bare x": t_bare / t_pruned})
            rows.append({**row, "isa": isa()})
    # one row against PCA.transform (issue 38: at most 0.5x), float32 and float64
    pca, model = PCA(12, random_state=0).fit(X[:2000]), ae.reprune(target_sparsity=0.9)
    one = {"float32": X[:1], "float64": X[:1].astype(np.float64)}
    # each alone, in its own block of calls (interleaved, a call right after
    # PCA.transform ran 1.4x slower: numpy's BLAS threads still spinning)
    (t_pca,) = best_of([lambda: pca.transform(one["float64"])], 40 * repeats)
    t_rows = [best_of([lambda r=r: model.transform(r)], 40 * repeats)[0] for r in one.values()]
    one_row = {k: t / t_pca for k, t in zip(one, t_rows)}
    print(
        f"one row: PCA.transform {t_pca * 1e6:.1f} us; eta-0.9 transform / PCA: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in one_row.items())
    )
    print(
        f"narrow table, 25-12-25 (level 1.0: eta {level_one.sparsity_:.3f}); 'pruned x' = "
        "level-1.0 time / pruned time (> 1: the pruned model is faster); 'vs bare x' = a "
        "bare float32 torch pass of the dense encoder / pruned time"
    )
    print_table(rows, list(rows[0]))
    payload = {"rows": rows, "pca_one_row_s": t_pca, "one_row_vs_pca": one_row}
    write_json("inference_table", payload, args)


SHAPES = [(256, 400), (64, 256)]
#: the blocks of a table's network: measured and printed, left out of the density table
#: (``CSR_MIN_BLOCK`` keeps them dense; see ``end_to_end``)
SMALL_SHAPES = [(15, 30), (8, 64), (32, 64)]
DENSITIES = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]
ROWS = [1, 16, 100, 500, 2000, 4096]  # transform runs batches of at most 4,096 rows


def _block_times(rng, A, full, cols, n_out, density):
    """Microseconds of one random block of ``density``: dense ``addmm``, the CSR kernel
    and torch's CSR on the rows ``A``, and dense and CSR on the first layer (``cols`` of
    the rows ``full``)."""
    import scipy.sparse as sp
    import torch

    from skshapsae.inference._kernels import csr_product
    from skshapsae.network._network import available_threads

    rows, n_in = A.shape
    W = rng.normal(size=(n_out, n_in)) * (rng.uniform(size=(n_out, n_in)) < density)
    dense = torch.from_numpy(W.T.astype(np.float32).copy())
    torch_csr = torch.from_numpy(W.astype(np.float32)).to_sparse_csr()
    csr = sp.csr_array(W.astype(np.float32))
    csr.indices, csr.indptr = csr.indices.astype(np.int64), csr.indptr.astype(np.int64)
    bias = torch.zeros(n_out)
    b, At = bias.numpy(), A.T.contiguous()
    At_np, full_t, cols_t = At.numpy(), torch.from_numpy(full), torch.from_numpy(cols)
    threads = available_threads(rows * n_out * n_in)
    fns = {
        "dense": lambda: torch.addmm(bias, A, dense),
        "csr": lambda: csr_product(At_np, csr, b, transposed=True, threads=threads),
        "torch csr": lambda: (torch_csr @ At).add_(bias[:, None]),
        "dense first": lambda: torch.addmm(bias, full_t.index_select(1, cols_t), dense),
        "csr first": lambda: csr_product(full, csr, b, cols=cols, threads=threads),
    }
    with torch.no_grad():
        return {k: best_of([fn], 5 if rows >= 2000 else 200)[0] * 1e6 for k, fn in fns.items()}


def kernels(args):
    """Dense against CSR, one block at a time (the private kernel itself: a calibration
    of ``skshapsae.inference``'s constants, which no public entry reaches)."""
    import torch

    rng = np.random.default_rng(0)
    results, table, row_counts = [], {}, ROWS[:3] if args.quick else ROWS
    for n_out, n_in in SHAPES + SMALL_SHAPES:
        for rows in row_counts:
            A = torch.from_numpy(rng.uniform(size=(rows, n_in)).astype(np.float32))
            # the first layer: the rows of an input of which the block uses two thirds
            full = rng.uniform(size=(rows, n_in * 3 // 2)).astype(np.float32)
            cols = np.sort(rng.choice(full.shape[1], n_in, replace=False)).astype(np.int64)
            for density in DENSITIES:
                t = _block_times(rng, A, full, cols, n_out, density)
                results.append(
                    {
                        "shape": f"{n_out}x{n_in}",
                        "work": rows * n_out * n_in,
                        "rows": rows,
                        "density": density,
                        "dense_us": t["dense"],
                        "csr_us": t["csr"],
                        "csr_speedup": t["dense"] / t["csr"],
                        "torch_csr_us": t["torch csr"],
                        "first_speedup": t["dense first"] / t["csr first"],
                    }
                )
                print({k: round(v, 2) for k, v in results[-1].items() if k != "shape"}, flush=True)
    large = [r for r in results if tuple(map(int, r["shape"].split("x"))) in SHAPES]
    for rows in row_counts:
        # the highest density up to which CSR wins in both places on both image blocks
        here = [r for r in large if r["rows"] == rows]
        lost = [r["density"] for r in here if min(r["csr_speedup"], r["first_speedup"]) < 1.0]
        table[rows] = max([d for d in DENSITIES if d < min(lost, default=2.0)], default=0.0)
        print(f"rows {rows}: CSR at least as fast up to density {table[rows]}")
    write_json(
        "kernels", {"results": results, "table": table, "end_to_end": end_to_end(args.quick)}, args
    )


def end_to_end(quick=False):
    """``transform`` of default fits on tables, every block CSR against every block dense."""
    from sklearn.datasets import load_breast_cancer, load_digits, make_classification
    from sklearn.preprocessing import MinMaxScaler

    from skshapsae.inference import _inference

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
                model, repeats = copy.deepcopy(ae), 10 if rows > 500 else 100
                _inference.CSR_MAX_DENSITY = forced
                times += best_of([lambda m=model, b=batch: m.transform(b)], repeats)
            _inference.CSR_MAX_DENSITY = None
            row = {"table": name, "blocks": blocks, "densities": dens, "rows": rows}
            out.append({**row, "csr_speedup": times[0] / times[1]})
            print(
                f"{name}: blocks {blocks}, densities {[round(d, 2) for d in dens]}, "
                f"{rows} rows: every block CSR {out[-1]['csr_speedup']:.2f}x every block dense"
            )
    return out


if __name__ == "__main__":
    p = parser(__doc__, only=["main", "table", "kernels"])
    p.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    args = p.parse_args()
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    for section in args.only or ["main"]:
        {"main": main, "table": table, "kernels": kernels}[section](args)
