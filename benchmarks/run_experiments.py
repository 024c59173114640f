"""The paper's experiments (section 3), against baselines, with a stated protocol.

Protocol (full run)
-------------------
* Data: Fashion-MNIST (12,000 images drawn stratified from the 70,000) and MNIST (the
  10,000 images of ``../shared/data``), pixels / 255; per seed a stratified split into
  ``n - 2000`` training and 2,000 test images.
* Network: 784-256-64-256-784, sigmoid hidden and output units (the paper's), trained
  with the library's defaults: random start, Adam (lr 1e-3), mini-batches of 256
  (``batch_size="auto"``), stopping on convergence, at most 200 epochs; Shapley scoring
  with the default estimator, 100 background and 200 explained training rows.
* Sparsity: eta in {0, 0.5, 0.8, 0.9, 0.95, 0.98}. SHAP-SAE solves the level for each
  target (per-layer levels, eq. 8); every other ranking keeps the same number of links
  per layer, then the same cascade, and once more with its own allocation of links among
  the layers (" (own allocation)", see ``ALLOCATIONS``). eta = 0 is the dense network.
* Methods: SHAP-SAE with the library's defaults (the paper's layer game, mean folding
  into the biases, then 3 epochs of masked fine-tuning) and without fine-tuning; the
  network game (``importance_target="reconstruction"``, the same dense network);
  magnitude, centred Wanda, LAP, MINT and random scores; the k-sparse (k = 16 of 64 code
  units during training) and dropout (p = 0.2) autoencoders pruned by magnitude. Every
  ranking uses the same folding and runs as published (no fine-tuning) and with the
  same 3 epochs of masked fine-tuning as SHAP-SAE (" + fine-tune"); the own-allocation
  runs are fine-tuned.
* Downstream: logistic regression trained on the codes of the training images, accuracy
  on the test images (the random forest of earlier runs is off: ``trees=0``, to fit 3
  seeds in an hour); test reconstruction MSE.
* Scoring wall time of every ranking, and the dense training time, per seed.
* Seeds 0, 1, 2 (split, initialisation, sampling); mean and standard deviation.

``--quick`` runs the same code on tiny data (CI exercises it).
Run:  python benchmarks/run_experiments.py [--quick] [--datasets fashion_mnist mnist]
"""

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skshapsae import SHAPSparseAutoencoder
from skshapsae.baselines import fit_trained_baseline, prune_with_scores, score_links
from skshapsae.datasets import load_fashion_mnist, load_mnist, make_synthetic

from _common import data_home, machine, protocol_autoencoder, write_json

ETAS = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98]
FT = " + fine-tune"
OWN = " (own allocation) + fine-tune"
NET = "SHAP-SAE network game"
LOADERS = {"fashion_mnist": load_fashion_mnist, "mnist": load_mnist}


def config(quick):
    if quick:
        return dict(
            n_rows=600,
            n_test=200,
            hidden=(32, 8),
            max_iter=2,
            n_background=20,
            n_explain=20,
            seeds=[0],
            ft_iter=1,
            k=2,
            trees=10,
        )
    return dict(
        n_rows=12000,
        n_test=2000,
        hidden=(256, 64),
        max_iter=200,
        n_background=100,
        n_explain=200,
        seeds=[0, 1, 2],
        ft_iter=3,
        k=16,
        trees=0,
    )


def downstream(model, X_tr, y_tr, X_te, y_te, trees, seed):
    Z_tr, Z_te = model.transform(X_tr), model.transform(X_te)
    lr = LogisticRegression(max_iter=1000).fit(Z_tr, y_tr).score(Z_te, y_te)
    # 2 jobs only pay off for the full forests: the quick mode's 10 trees are faster alone
    forest = None
    if trees:
        rf = RandomForestClassifier(
            n_estimators=trees, random_state=seed, n_jobs=2 if trees > 10 else 1
        )
        forest = rf.fit(Z_tr, y_tr).score(Z_te, y_te)
    return {
        "acc_logreg": lr,
        "acc_forest": forest,
        "test_mse": -model.score(X_te),
        "sparsity": model.sparsity_,
    }


def with_params(estimator, **params):
    """A shallow copy of a fitted estimator with other parameters (the original is untouched)."""
    new = copy.copy(estimator)
    return new.set_params(**params)


#: Each method's own allocation of the kept links among the layers (" + own allocation"):
#: the network game, magnitude and MINT rank all links together (MINT uses one threshold
#: for all layers), Wanda keeps the same share of every unit's incoming links, LAP and
#: random the same share of every layer.
ALLOCATIONS = {
    NET: "global",
    "magnitude": "global",
    "mint": "global",
    "wanda": "per-unit",
    "lap": "uniform",
    "random": "uniform",
}


def own_allocation(method, tuned, scores, sizes, eta, X_tr):
    """``tuned`` pruned to sparsity ``eta`` by ``scores`` with the method's own allocation."""
    kind = ALLOCATIONS[method]
    if kind == "global":
        return tuned.reprune(scores=scores, target_sparsity=eta, pruning="global", X=X_tr)
    if kind == "per-unit":
        # rank within each unit's incoming links: the same top share of every row
        scores = [(np.argsort(np.argsort(s, axis=1), axis=1) + 1.0) / s.shape[1] for s in scores]
    counts = [max(1, int(round((1 - eta) * size))) for size in sizes]
    return prune_with_scores(tuned, scores, counts, X_tr)


def run_dataset(name, cfg, X, y, log, methods=None, timing_records=None):
    """All methods at every eta for every seed; ``methods`` restricts the set (and "dense")."""

    def wanted(method):
        return methods is None or method in methods

    def needed(base):  # a baseline is built when it or its fine-tuned variant is wanted
        return wanted(base) or wanted(base + FT)

    records = []
    timing_records = [] if timing_records is None else timing_records
    for seed in cfg["seeds"]:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=cfg["n_test"], stratify=y, random_state=seed
        )
        base = protocol_autoencoder(
            hidden_layer_sizes=cfg["hidden"],
            max_iter=cfg["max_iter"],
            n_background=cfg["n_background"],
            n_explain=cfg["n_explain"],
            fine_tune_iter=0,
            seed=seed,
        )
        start = time.perf_counter()
        shap = base.fit(X_tr)
        log(
            f"[{name} seed {seed}] dense + scoring {time.perf_counter() - start:.0f}s "
            f"(scoring {shap.fit_times_['scoring']:.0f}s)"
        )
        timings = {
            "SHAP-SAE (layer game)": shap.fit_times_["scoring"],
            "training": shap.fit_times_["training"],
        }
        scores = {}
        for m in ("magnitude", "wanda", "lap", "random", "mint"):
            if needed(m) or wanted(m + OWN):
                t0 = time.perf_counter()
                scores[m] = score_links(m, shap, X_tr[: cfg["n_explain"]], random_state=seed)
                timings[m] = time.perf_counter() - t0
        network = None
        if needed(NET) or wanted(NET + OWN):
            # the same dense network (same seed, same training), scored by the network game
            network = with_params(base, importance_target="reconstruction").fit(X_tr)
            for a, b in zip(network.dense_weights_, shap.dense_weights_):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
            timings[NET] = network.fit_times_["scoring"]
        log(
            f"[{name} seed {seed}] scoring times: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        )
        timing_records.append({"dataset": name, "seed": seed, **timings})
        trained = {}
        if needed("ksparse AE"):
            trained["ksparse AE"] = fit_trained_baseline("ksparse", base, X_tr, k=cfg["k"])
        if needed("dropout AE"):
            trained["dropout AE"] = fit_trained_baseline("dropout", base, X_tr, dropout=0.2)
        if wanted("dense"):
            # every link kept: the trained dense network itself
            everything = [np.ones_like(w) for w in shap.dense_weights_]
            dense = prune_with_scores(shap, everything, [w.size for w in everything])
            row = downstream(dense, X_tr, y_tr, X_te, y_te, cfg["trees"], seed)
            records.append(
                {"dataset": name, "seed": seed, "eta_target": 0.0, "method": "dense", **row}
            )
        ft = cfg["ft_iter"]
        # SHAP-SAE with the library's defaults (folding + fine-tuning) and the ablation
        variants = {"SHAP-SAE": {"fine_tune_iter": ft}, "SHAP-SAE, no fine-tune": {}}
        tuned_shap = with_params(shap, fine_tune_iter=ft)
        sizes = [w.size for w in shap.dense_weights_]
        for eta in ETAS[1:]:
            t0 = time.perf_counter()
            counts = shap.reprune(target_sparsity=eta).keep_counts_
            models = {
                label: with_params(shap, **params).reprune(target_sparsity=eta, X=X_tr)
                for label, params in variants.items()
                if wanted(label)
            }
            ranked = dict(scores)
            if network is not None:
                ranked[NET] = network.link_importances_
            # every ranking twice at SHAP-SAE's per-layer counts: as published (no
            # fine-tuning) and with the same 3 epochs of masked fine-tuning as SHAP-SAE
            for m, s in ranked.items():
                if wanted(m):
                    models[m] = prune_with_scores(shap, s, counts)
                if wanted(m + FT):
                    models[m + FT] = prune_with_scores(tuned_shap, s, counts, X_tr)
                # and once with the method's own allocation of links among the layers
                if wanted(m + OWN):
                    models[m + OWN] = own_allocation(m, tuned_shap, s, sizes, eta, X_tr)
            for m, est in trained.items():
                if wanted(m):
                    models[m] = prune_with_scores(est, est.link_importances_, counts)
                if wanted(m + FT):
                    tuned = with_params(est, fine_tune_iter=ft)
                    models[m + FT] = prune_with_scores(tuned, est.link_importances_, counts, X_tr)
            for method, model in models.items():
                row = downstream(model, X_tr, y_tr, X_te, y_te, cfg["trees"], seed)
                records.append(
                    {"dataset": name, "seed": seed, "eta_target": eta, "method": method, **row}
                )
            log(f"[{name} seed {seed}] eta={eta}: {time.perf_counter() - t0:.0f}s")
    return records


def summarise(records):
    out = []
    keys = sorted({(r["dataset"], r["method"], r["eta_target"]) for r in records})
    for dataset, method, eta in keys:
        sel = [
            r
            for r in records
            if (r["dataset"], r["method"], r["eta_target"]) == (dataset, method, eta)
        ]
        row = {"dataset": dataset, "method": method, "eta_target": eta, "n_seeds": len(sel)}
        for k in ("sparsity", "test_mse", "acc_logreg", "acc_forest"):
            if any(r[k] is None for r in sel):
                row[k] = row[k + "_std"] = None
                continue
            vals = np.array([r[k] for r in sel])
            row[k] = float(vals.mean())
            row[k + "_std"] = float(vals.std())
        out.append(row)
    return out


def fine_tuned(method):
    """Whether ``method`` is fine-tuned after pruning (SHAP-SAE's default is)."""
    return method == "SHAP-SAE" or method.endswith(FT)


def own(method):
    return method.endswith(OWN)


def plot_figure3(summary, path, tuned, own_allocation=False):
    """Figure 3: accuracy and MSE versus eta, for the methods with / without fine-tuning
    at SHAP-SAE's per-layer counts, or (``own_allocation``) each with its own allocation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in summary})
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11, 4 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets):
        methods = sorted(
            m
            for m in {r["method"] for r in summary if r["dataset"] == dataset} - {"dense"}
            if (
                (own(m) or m == "SHAP-SAE")
                if own_allocation
                else (fine_tuned(m) == tuned and not own(m) and "no folding" not in m)
            )
        )
        dense = next(r for r in summary if r["dataset"] == dataset and r["method"] == "dense")
        for ax, key, label in (
            (row[0], "acc_logreg", "accuracy (logistic regression)"),
            (row[1], "test_mse", "test reconstruction MSE"),
        ):
            for method in methods:
                sel = sorted(
                    (r for r in summary if r["dataset"] == dataset and r["method"] == method),
                    key=lambda r: r["eta_target"],
                )
                ax.errorbar(
                    [r["sparsity"] for r in sel],
                    [r[key] for r in sel],
                    yerr=[r[key + "_std"] for r in sel],
                    marker="o",
                    ms=3,
                    label=method,
                    lw=2.5 if method.startswith("SHAP-SAE") else 1,
                )
            ax.axhline(dense[key], color="k", ls="--", label="dense")
            ax.set_xlabel("sparsity eta")
            ax.set_ylabel(label)
            what = "own allocations" if own_allocation else "SHAP-SAE's counts"
            ax.set_title(f"{dataset}, {'fine-tuned' if tuned else 'not fine-tuned'}, {what}")
            if key == "test_mse":
                ax.set_yscale("log")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure2(path, quick):
    import matplotlib

    matplotlib.use("Agg")
    import warnings

    import matplotlib.pyplot as plt
    import pandas as pd

    from skshapsae.plotting import LinkImportanceDisplay, UnitImportanceDisplay

    # the paper's names: x1 (constant on purpose) .. x6
    X = pd.DataFrame(
        make_synthetic(2000 if quick else 15000, random_state=0),
        columns=[f"x{j}" for j in range(1, 7)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # x1 is constant on purpose
        ae = SHAPSparseAutoencoder(
            (3,),
            importance_level=0.8,
            max_iter=20 if quick else 200,
            device="cpu",
            random_state=0,
        ).fit(X)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    UnitImportanceDisplay.from_estimator(ae, ax=axes[0])
    LinkImportanceDisplay.from_estimator(ae, kind="variance", ax=axes[1])
    LinkImportanceDisplay.from_estimator(ae, kind="heatmap", ax=axes[2])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {
        "unit_importances": ae.feature_importances_.tolist(),
        "layer1_support": np.argwhere(ae.link_masks_[0]).tolist(),
    }


def figure4(X, path, quick):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skshapsae.plotting import FeatureMaskDisplay

    ae = protocol_autoencoder(quick).fit(X)
    disp = FeatureMaskDisplay.from_estimator(ae, levels=(0.5, 0.8, 0.9, 0.95, 0.99), image=X[0])
    disp.figure_.savefig(path, dpi=110)
    plt.close(disp.figure_)


def rst_table(summary):
    lines = []
    for dataset in sorted({r["dataset"] for r in summary}):
        lines += [
            dataset,
            "~" * len(dataset),
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "",
            "   * - method",
            "     - target eta",
            "     - eta",
            "     - test MSE",
            "     - acc. logreg",
            "     - acc. forest",
        ]
        for r in sorted(
            (r for r in summary if r["dataset"] == dataset),
            key=lambda r: (r["eta_target"], r["method"]),
        ):
            lines += [
                f"   * - {r['method']}",
                f"     - {r['eta_target']:g}",
                f"     - {r['sparsity']:.3f}",
                f"     - {r['test_mse']:.5f} ± {r['test_mse_std']:.5f}",
                f"     - {r['acc_logreg']:.4f} ± {r['acc_logreg_std']:.4f}",
                (
                    f"     - {r['acc_forest']:.4f} ± {r['acc_forest_std']:.4f}"
                    if r["acc_forest"] is not None
                    else "     - n/a"
                ),
            ]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--datasets", nargs="+", default=["fashion_mnist", "mnist"])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="override the seeds")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results"))
    parser.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="run only these methods and merge them into the existing results file",
    )
    args = parser.parse_args(argv)
    cfg = config(args.quick)
    if args.seeds is not None:
        cfg["seeds"] = args.seeds
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(msg):
        print(f"{time.perf_counter() - start:7.0f}s  {msg}", flush=True)

    records, first_images, timings = [], None, []
    for name in args.datasets:
        X, y = LOADERS[name](data_home=args.data_home or data_home(), return_X_y=True)
        if len(X) > cfg["n_rows"]:
            X, _, y, _ = train_test_split(
                X, y, train_size=cfg["n_rows"], stratify=y, random_state=0
            )
        first_images = X if first_images is None else first_images
        records += run_dataset(name, cfg, X, y, log, args.methods, timings)
    suffix = "_quick" if args.quick else ""
    previous = out / f"experiments{suffix}.json"
    if args.methods is not None and previous.exists():
        kept = [
            r
            for r in json.loads(previous.read_text())["records"]
            if r["method"] not in args.methods
        ]
        records = kept + records
    summary = summarise(records)
    plot_figure3(summary, out / f"figure3{suffix}.png", tuned=True)
    plot_figure3(summary, out / f"figure3_no_finetune{suffix}.png", tuned=False)
    plot_figure3(summary, out / f"figure3_own_allocation{suffix}.png", True, own_allocation=True)
    fig2 = figure2(out / f"figure2{suffix}.png", args.quick)
    mnist_X = first_images
    if "mnist" in args.datasets:
        mnist_X = load_mnist(data_home=args.data_home or data_home(), return_X_y=True)[0]
    figure4(mnist_X[: cfg["n_rows"]], out / f"figure4{suffix}.png", args.quick)
    wall = time.perf_counter() - start
    (out / f"experiments{suffix}.rst").write_text(rst_table(summary))
    write_json(
        f"experiments{suffix}",
        {
            "machine": machine(),
            "config": {k: v for k, v in cfg.items()},
            "wall_seconds": wall,
            "records": records,
            "summary": summary,
            "scoring_seconds": timings,
            "figure2": fig2,
        },
        folder=out,
    )
    log(f"done in {wall:.0f}s")
    return summary


if __name__ == "__main__":
    main()
