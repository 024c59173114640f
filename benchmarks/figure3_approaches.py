"""Issue 30: approaches to the paper's Figure 3 targets, under one fair protocol.

Every pruning method prunes the same dense network and gets the same fine-tuning budget
and schedule; data, network, split, downstream classifier and seeds are those of
``run_experiments.py`` (784-256-64-256-784, sigmoid hidden and output units, 3 seeds).

Protocols (each method of a protocol is pruned and fine-tuned the same way):

* **one-shot**: prune the dense network to eta, fold, 3 epochs of masked fine-tuning
  (the protocol of ``run_experiments.py``).
* **gradual** (Zhu & Gupta, 2017): eta = 0.5 -> 0.8 -> 0.9 -> 0.95 -> 0.98 in turn; at every
  step the method scores the *current* pruned, fine-tuned network again, prunes it to the
  next eta (the kept links are a subset of the previous ones: a removed link scores 0),
  folds and fine-tunes it for 3 epochs. The network at step eta is the one evaluated.

Starts (the dense network every method of a row prunes):

* **plain**: the paper's network trained with the library's defaults.
* **robust**: the same network trained with dropout p = 0.2 on the hidden units (the
  dropout autoencoder of the paper's baselines), so "magnitude" from this start *is* the
  dropout-autoencoder baseline.

Methods: SHAP-SAE (the layer game, eq. 8 per-layer levels for the target sparsity), the
network game (``importance_target="reconstruction"``, eq. 8 on its own importances),
centred Wanda and LAP at SHAP-SAE's per-layer counts of the same protocol and start
(plain); SHAP-SAE, Wanda and magnitude (robust). The k-sparse autoencoder and MINT are
not rerun (2-core budget): ``run_experiments.py`` has them one-shot on the same splits.

Run:  python benchmarks/figure3_approaches.py [--quick] [--seeds 0 1 2]
          [--datasets fashion_mnist mnist]
Output: benchmarks/results/figure3_approaches.json (records are written after every
(data set, seed), so a stopped run keeps what it finished).
"""

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skshapsae._estimator import fit_with_training
from skshapsae.baselines import prune_with_scores, score_links
from skshapsae.datasets import load_fashion_mnist, load_mnist

# rescoring the current pruned network needs the scoring stage itself (no public entry)
from skshapsae.scoring._scoring import DenseNetwork, ScoringConfig, score_network

from _common import data_home, machine, protocol_autoencoder, write_json

ETAS = [0.5, 0.8, 0.9, 0.95, 0.98]
LOADERS = {"fashion_mnist": load_fashion_mnist, "mnist": load_mnist}
RESULTS = Path(__file__).parent / "results"


def config(quick):
    if quick:
        return dict(n_rows=600, n_test=200, hidden=(32, 8), max_iter=2, n_explain=20, k=2, ft=1)
    return dict(
        n_rows=12000, n_test=2000, hidden=(256, 64), max_iter=200, n_explain=200, k=16, ft=3
    )


def evaluate(model, X_tr, y_tr, X_te, y_te):
    Z_tr, Z_te = model.transform(X_tr), model.transform(X_te)
    acc = LogisticRegression(max_iter=1000).fit(Z_tr, y_tr).score(Z_te, y_te)
    return {"acc_logreg": acc, "test_mse": -model.score(X_te), "sparsity": model.sparsity_}


def dense_weights(model):
    """The pruned (folded, fine-tuned) network of ``model`` as full dense arrays."""
    return [np.asarray(w.toarray() if hasattr(w, "toarray") else w) for w in model.weights_]


def rebase(model):
    """A copy of a pruned ``model`` whose *dense* network is its pruned network, so that
    ``reprune`` and the baselines' scores start from it (pruned links have weight 0)."""
    new = copy.copy(model)
    new.dense_weights_ = dense_weights(model)
    new.dense_intercepts_ = [np.array(b) for b in model.intercepts_]
    net = DenseNetwork(new.dense_weights_, new.dense_intercepts_, list(model.activations_))
    new.layer_input_means_ = [a.mean(axis=0) for a in net.layer_outputs(model.background_)[:-1]]
    return new


def shapley_scores(model, X_explain, target, seed):
    """Link importances of ``model``'s dense network by the layer or network game."""
    net = DenseNetwork(model.dense_weights_, model.dense_intercepts_, list(model.activations_))
    result = score_network(
        net, model.background_, X_explain, ScoringConfig(target=target, seed=seed)
    )
    return result.importances


def ranking_scores(method, model, X_explain, seed):
    if method == "SHAP-SAE":
        return shapley_scores(model, X_explain, "activation", seed)
    if method == "network game":
        return shapley_scores(model, X_explain, "reconstruction", seed)
    if method == "SHAP-SAE preactivation":
        return shapley_scores(model, X_explain, "preactivation", seed)
    return score_links(method.lower(), model, X_explain, random_state=seed)


EQ8 = (
    "SHAP-SAE",
    "network game",
    "SHAP-SAE preactivation",
)  # rankings with their own eq. 8 per-layer allocation


def one_shot(start, methods, scores, X_tr, ft):
    """{method: {eta: model}}: every method prunes ``start`` once to each eta."""
    tuned = copy.copy(start).set_params(fine_tune_iter=ft)
    out = {m: {} for m in methods}
    for eta in ETAS:
        lead = tuned.reprune(scores=scores["SHAP-SAE"], target_sparsity=eta, X=X_tr)
        out["SHAP-SAE"][eta] = lead
        for m in methods:
            if m == "SHAP-SAE":
                continue
            if m in EQ8:
                out[m][eta] = tuned.reprune(scores=scores[m], target_sparsity=eta, X=X_tr)
            else:
                out[m][eta] = prune_with_scores(tuned, scores[m], lead.keep_counts_, X_tr)
    return out


def gradual(start, methods, X_tr, X_explain, ft, seed, first, log):
    """{method: {eta: model}}: every method walks eta = 0.5 ... 0.98, rescoring its own
    current network at every step; the baselines keep SHAP-SAE's per-layer counts."""
    # the first step is the one-shot pruning to ETAS[0] (``first``: {method: model})
    out = {m: {ETAS[0]: first[m]} for m in methods}
    current = {m: rebase(first[m]) for m in methods}
    for step, eta in enumerate(ETAS[1:], start=1):
        t0 = time.perf_counter()
        scores = {m: ranking_scores(m, current[m], X_explain, seed + 101 * step) for m in methods}
        lead = current["SHAP-SAE"].reprune(scores=scores["SHAP-SAE"], target_sparsity=eta, X=X_tr)
        for m in methods:
            if m == "SHAP-SAE":
                model = lead
            elif m in EQ8:
                model = current[m].reprune(scores=scores[m], target_sparsity=eta, X=X_tr)
            else:
                model = prune_with_scores(current[m], scores[m], lead.keep_counts_, X_tr)
            out[m][eta] = model
            current[m] = rebase(model)
        log(f"  gradual step eta={eta}: {time.perf_counter() - t0:.0f}s")
    return out


PLAIN_METHODS = ["SHAP-SAE", "network game", "wanda", "lap"]
ROBUST_METHODS = ["SHAP-SAE", "wanda", "magnitude"]


def run_seed(
    name, cfg, X, y, seed, log, plain_methods=PLAIN_METHODS, robust=True, dense_only=False
):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=cfg["n_test"], stratify=y, random_state=seed
    )
    X_ex = X_tr[: cfg["n_explain"]]
    common = dict(
        quick=cfg["max_iter"] == 2, seed=seed, fine_tune_iter=0, hidden_layer_sizes=cfg["hidden"]
    )
    if cfg.get("default_network"):  # the library's default units instead of the paper's
        common.update(activation="silu", out_activation="identity")
    records = []

    def record(start, protocol, method, eta, model):
        if 0 < eta < 0.8 and method != "SHAP-SAE":
            return  # eta 0.5 is a step of the gradual path; only SHAP-SAE is judged there
        row = evaluate(model, X_tr, y_tr, X_te, y_te)
        records.append(
            dict(
                dataset=name,
                seed=seed,
                start=start,
                protocol=protocol,
                method=method,
                eta_target=eta,
                **row,
            )
        )

    t0 = time.perf_counter()
    plain = protocol_autoencoder(**common, max_iter=cfg["max_iter"]).fit(X_tr)
    # the dropout autoencoder's training (p = 0.2 on the hidden units), scored by the
    # layer game: magnitude from this start is the dropout-autoencoder baseline
    starts = [("plain", plain, plain_methods)]
    if robust:
        model = protocol_autoencoder(**common, max_iter=cfg["max_iter"])
        starts.append(("robust", fit_with_training(model, X_tr, dropout=0.2), ROBUST_METHODS))
    log(f"[{name} seed {seed}] trainings + layer-game scoring {time.perf_counter() - t0:.0f}s")
    for start, model, _ in starts:
        everything = [np.ones_like(w) for w in model.dense_weights_]
        record(
            start,
            "dense",
            "dense",
            0.0,
            prune_with_scores(model, everything, [w.size for w in everything]),
        )
    if dense_only:
        return records
    counts = {}
    for start, model, methods in starts:
        t0 = time.perf_counter()
        scores = {
            m: model.link_importances_ if m == "SHAP-SAE" else ranking_scores(m, model, X_ex, seed)
            for m in methods
        }
        for protocol in ("one-shot", "gradual"):
            t1 = time.perf_counter()
            if protocol == "one-shot":
                models = one_shot(model, methods, scores, X_tr, cfg["ft"])
            else:
                first = {m: by_eta[ETAS[0]] for m, by_eta in models.items()}
                models = gradual(model, methods, X_tr, X_ex, cfg["ft"], seed, first, log)
            counts[(start, protocol)] = {eta: models["SHAP-SAE"][eta].keep_counts_ for eta in ETAS}
            for m, by_eta in models.items():
                for eta, pruned in by_eta.items():
                    record(start, protocol, m, eta, pruned)
            log(f"[{name} seed {seed}] {start} {protocol}: {time.perf_counter() - t1:.0f}s")
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--datasets", nargs="+", default=["fashion_mnist", "mnist"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--report", action="store_true", help="tables and figure only")
    parser.add_argument("--plain-methods", nargs="+", default=PLAIN_METHODS)
    parser.add_argument("--no-robust", action="store_true", help="the plain start only")
    parser.add_argument("--name", default="figure3_approaches", help="results file name")
    parser.add_argument("--dense-only", action="store_true", help="the dense networks only")
    parser.add_argument(
        "--default-network", action="store_true", help="SiLU hidden units, identity output"
    )
    args = parser.parse_args(argv)
    if args.report:
        report(Path(args.output))
        return
    cfg = config(args.quick)
    cfg["default_network"] = args.default_network
    out = Path(args.output)
    name = args.name + ("_quick" if args.quick else "")
    path = out / f"{name}.json"
    start = time.perf_counter()

    def log(msg):
        print(f"{time.perf_counter() - start:7.0f}s  {msg}", flush=True)

    data = {}
    for ds in args.datasets:
        X, y = LOADERS[ds](data_home=data_home(), return_X_y=True)
        if len(X) > cfg["n_rows"]:
            X, _, y, _ = train_test_split(
                X, y, train_size=cfg["n_rows"], stratify=y, random_state=0
            )
        data[ds] = (X, y)
    records = json.loads(path.read_text())["records"] if path.exists() else []
    done = {(r["dataset"], r["seed"]) for r in records}
    for seed in args.seeds:  # seed-major: both data sets of seed 0 come first
        for ds in args.datasets:
            if (ds, seed) in done:
                continue
            records += run_seed(
                ds,
                cfg,
                *data[ds],
                seed,
                log,
                args.plain_methods,
                not args.no_robust,
                args.dense_only,
            )
            write_json(name, {"machine": machine(), "config": cfg, "records": records}, folder=out)
    log("done")


# ---------------------------------------------------------------------------- report

#: Baselines kept from ``run_experiments.py`` (one-shot, the same fine-tuning, the same
#: dense networks and splits): not rerun here.
PREVIOUS = {"ksparse AE + fine-tune": "k-sparse AE", "mint + fine-tune": "MINT", "dense": "dense"}


def summarise(records):
    keys = sorted(
        {(r["dataset"], r["start"], r["protocol"], r["method"], r["eta_target"]) for r in records}
    )
    out = []
    for key in keys:
        sel = [
            r
            for r in records
            if (r["dataset"], r["start"], r["protocol"], r["method"], r["eta_target"]) == key
        ]
        row = dict(zip(("dataset", "start", "protocol", "method", "eta_target"), key))
        row["seeds"] = sorted(r["seed"] for r in sel)
        for k in ("acc_logreg", "test_mse", "sparsity"):
            v = np.array([r[k] for r in sel])
            row[k], row[k + "_std"] = float(v.mean()), float(v.std())
        out.append(row)
    return out


def previous_rows(path, seeds):
    """k-sparse and MINT (one-shot + fine-tune) from the full experiments, same seeds."""
    if not path.exists():
        return []
    rows = []
    for r in json.loads(path.read_text())["records"]:
        if r["method"] in PREVIOUS and r["seed"] in seeds:
            rows.append(
                dict(
                    dataset=r["dataset"],
                    seed=r["seed"],
                    start="plain" if r["method"] == "dense" else "previous run",
                    protocol="one-shot",
                    method=PREVIOUS[r["method"]],
                    eta_target=r["eta_target"],
                    acc_logreg=r["acc_logreg"],
                    test_mse=r["test_mse"],
                    sparsity=r["sparsity"],
                )
            )
    return rows


def label(r):
    names = {"network game": "SHAP-SAE network game"}
    method = names.get(r["method"], r["method"])
    if (r["start"], r["method"]) == ("robust", "magnitude"):
        method = "dropout AE (magnitude)"
    return f"{method} [{r['start']}, {r['protocol']}]"


def report(folder):
    data = json.loads((folder / "figure3_approaches.json").read_text())
    records = data["records"]
    # the runs with --name: the pre-activation game (its SHAP-SAE rows repeat the main
    # run's) and --dense-only (the robust start's dense network)
    extra = folder / "figure3_approaches_preactivation.json"
    if extra.exists():
        rows = json.loads(extra.read_text())["records"]
        records = records + [r for r in rows if r["method"] == "SHAP-SAE preactivation"]
    dense_file = folder / "figure3_approaches_dense.json"
    if dense_file.exists():
        have = {(r["dataset"], r["seed"], r["start"]) for r in records if r["method"] == "dense"}
        rows = json.loads(dense_file.read_text())["records"]
        records = records + [r for r in rows if (r["dataset"], r["seed"], r["start"]) not in have]
    seeds = sorted({r["seed"] for r in records})
    # the dense plain network is the one of run_experiments.py (same seeds and training):
    # its rows come from there where this run has none
    have_dense = {
        (r["dataset"], r["seed"])
        for r in records
        if r["method"] == "dense" and r["start"] == "plain"
    }
    records = records + [
        r
        for r in previous_rows(folder / "experiments.json", seeds)
        if r["method"] != "dense" or (r["dataset"], r["seed"]) not in have_dense
    ]
    summary = [r for r in summarise(records) if r["protocol"] != "dense" or r["method"] == "dense"]
    lines = []
    for ds in sorted({r["dataset"] for r in summary}):
        dense = {r["start"]: r for r in summary if r["dataset"] == ds and r["method"] == "dense"}
        lines += [
            ds,
            "~" * len(ds),
            "",
            f"Dense (plain): accuracy {dense['plain']['acc_logreg']:.4f}, test MSE "
            f"{dense['plain']['test_mse']:.4f}"
            + (
                f"; dense (robust): {dense['robust']['acc_logreg']:.4f}, "
                f"{dense['robust']['test_mse']:.4f}"
                if "robust" in dense
                else ""
            )
            + f". Seeds: {', '.join(map(str, seeds))}.",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "",
            "   * - method [start, protocol]",
            "     - eta",
            "     - accuracy",
            "     - test MSE",
        ]
        for r in sorted(
            (r for r in summary if r["dataset"] == ds and r["method"] != "dense"),
            key=lambda r: (r["eta_target"], -r["acc_logreg"]),
        ):
            lines += [
                f"   * - {label(r)}",
                f"     - {r['eta_target']:g}",
                f"     - {r['acc_logreg']:.4f} ± {r['acc_logreg_std']:.4f}",
                f"     - {r['test_mse']:.4f} ± {r['test_mse_std']:.4f}",
            ]
        lines.append("")
    (folder / "figure3_approaches.rst").write_text("\n".join(lines))
    plot(summary, folder / "figure3_approaches.png")
    return summary


SHOWN = [
    ("SHAP-SAE", "plain", "one-shot"),
    ("SHAP-SAE", "plain", "gradual"),
    ("SHAP-SAE", "robust", "gradual"),
    ("network game", "plain", "gradual"),
    ("SHAP-SAE preactivation", "plain", "gradual"),
    ("wanda", "plain", "gradual"),
    ("magnitude", "robust", "gradual"),
    ("lap", "plain", "gradual"),
    ("k-sparse AE", "previous run", "one-shot"),
]


def plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in summary})
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 4.2 * len(datasets)), squeeze=False)
    for row, ds in zip(axes, datasets):
        dense = next(
            r
            for r in summary
            if r["dataset"] == ds and r["method"] == "dense" and r["start"] == "plain"
        )
        for ax, key, name in (
            (row[0], "acc_logreg", "accuracy (logistic regression)"),
            (row[1], "test_mse", "test MSE"),
        ):
            for method, start, protocol in SHOWN:
                sel = sorted(
                    (
                        r
                        for r in summary
                        if (r["dataset"], r["method"], r["start"], r["protocol"])
                        == (ds, method, start, protocol)
                        and r["eta_target"] >= 0.8
                    ),
                    key=lambda r: r["eta_target"],
                )
                if not sel:
                    continue
                lead = method.startswith("SHAP-SAE") or method == "network game"
                ax.errorbar(
                    [r["eta_target"] for r in sel],
                    [r[key] for r in sel],
                    yerr=[r[key + "_std"] for r in sel],
                    marker="o",
                    ms=3,
                    lw=2.4 if lead else 1,
                    ls="-" if protocol == "gradual" else "--",
                    label=label(sel[0]),
                )
            ax.axhline(dense[key], color="k", ls=":", label="dense (plain)")
            ax.set_xlabel("target sparsity eta")
            ax.set_ylabel(name)
            ax.set_title(f"{ds}: {name}")
            if key == "test_mse":
                ax.set_yscale("log")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
