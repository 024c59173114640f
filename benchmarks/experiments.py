"""The paper's experiments (section 3) against baselines: one driver, one protocol per run.

Fashion-MNIST (12,000 images) and MNIST (10,000), 784-256-64-256-784 sigmoid network
(``_common.autoencoder``); every method prunes the same dense network. ``--methods``:
``shap-sae:<importance_target>``, a name of ``skshapsae.baselines.SCORES``,
``dropout-ae``, ``ksparse-ae``, ``dense``; ``--protocol one-shot`` (each eta once) or
``gradual`` (eta 0.5 -> 0.98, rescoring each step). Accuracy on the codes, test MSE.
Run:  python benchmarks/experiments.py [--quick] [--protocol one-shot|gradual]
          [--methods shap-sae:activation wanda ...] [--seeds 0 1 2] [--datasets mnist]
      python benchmarks/experiments.py --from-json   # the committed tables and figures
      python benchmarks/experiments.py --figures     # figures 2 and 4 (two fits)
Writes results/experiments*.json.
"""

import copy
import json
import tempfile
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skshapsae.baselines import SCORES, fit_trained_baseline, prune_with_scores, score_links

from _common import RESULTS, Timer, autoencoder, figure, images, parser, pyplot, write_json

ETAS = [0.5, 0.8, 0.9, 0.95, 0.98]
METHODS = [
    "dense",
    "shap-sae:activation",
    "shap-sae:reconstruction",
    "magnitude",
    "wanda",
    "lap",
    "random",
    "dropout-ae",
    "ksparse-ae",
]
LEAD = "shap-sae:activation"  # the per-layer counts every other ranking keeps
NAMES = {
    LEAD: "SHAP-SAE",
    "shap-sae:reconstruction": "SHAP-SAE network game",
    "shap-sae:preactivation": "SHAP-SAE preactivation",
    "dropout-ae": "dropout AE",
    "ksparse-ae": "ksparse AE",
}
TRAINED = {"dropout-ae": ("dropout", {"dropout": 0.2}), "ksparse-ae": ("ksparse", {})}
#: ``--allocation own``: each ranking's own allocation of the kept links among the layers
ALLOCATIONS = {"wanda": "per-unit", "lap": "uniform", "random": "uniform"}  # else global
#: ``--network``: the paper's sigmoid network, or the library's default units
NETWORKS = {"paper": {}, "default": {"activation": "silu", "out_activation": "identity"}}
METRICS = ("sparsity", "test_mse", "acc_logreg", "acc_forest")


def config(quick):
    return dict(n_rows=600, n_test=200, k=2) if quick else dict(n_rows=12000, n_test=2000, k=16)


def label(method, args):
    name = NAMES.get(method, method.replace("shap-sae:", "SHAP-SAE "))
    if method == "dense":
        return name
    if args.allocation == "own" and not method.startswith("shap-sae:"):
        name += " (own allocation)"
    return name + (" (no fine-tune)" if args.fine_tune == 0 else "")


def evaluate(model, X_tr, y_tr, X_te, y_te):
    Z_tr, Z_te = model.transform(X_tr), model.transform(X_te)
    acc = LogisticRegression(max_iter=1000).fit(Z_tr, y_tr).score(Z_te, y_te)
    return {"acc_logreg": acc, "test_mse": -model.score(X_te), "sparsity": model.sparsity_}


# ----------------------------------------------------------------------------- pruning
def starts(methods, X_tr, seed, args, cache):
    """method -> (fitted dense-stage model, scorer: None for a game, else a score name),
    and the scoring seconds of each."""
    network = NETWORKS[args.network]
    base = autoencoder(args.quick, seed, fine_tune_iter=0, memory=cache, **network)
    games, out, seconds = {}, {}, {}
    for m in dict.fromkeys([LEAD, *methods]):
        if m.startswith("shap-sae:"):
            games[m] = clone(base).set_params(importance_target=m.split(":", 1)[1]).fit(X_tr)
            out[m], seconds[m] = (games[m], None), games[m].fit_times_["scoring"]
        elif m in TRAINED:
            kind, options = TRAINED[m]
            options = {"k": config(args.quick)["k"]} if kind == "ksparse" else options
            out[m] = (fit_trained_baseline(kind, base, X_tr, **options), "magnitude")
        elif m in SCORES:
            out[m] = (games[LEAD], m)
        elif m != "dense":
            raise ValueError(f"unknown method {m!r}")
    seconds["training"] = games[LEAD].fit_times_["training"]
    return out, seconds


def scored(model, scorer, X_explain, seed, seconds=None, method=None):
    with Timer() as t:
        scores = score_links(scorer, model, X_explain, random_state=seed)
    if seconds is not None:
        seconds[method] = t.seconds
    # a removed link (weight 0 in a rebased network) stays removed
    return [s * (np.asarray(w) != 0) for s, w in zip(scores, model.dense_weights_)]


def pruned(start, scorer, scores, eta, counts, X_tr, args, rescore=False):
    """``start`` pruned to ``eta``: a game at its own levels, a ranking at ``counts`` (or
    its own allocation); fine-tuned for ``args.fine_tune`` epochs."""
    tuned = copy.copy(start).set_params(fine_tune_iter=args.fine_tune)
    X = X_tr if args.fine_tune or rescore else None
    if scorer is None:
        return tuned.reprune(target_sparsity=eta, X=X, rescore=rescore)
    if args.allocation == "counts":
        return prune_with_scores(tuned, scores, counts, X)
    kind = ALLOCATIONS.get(scorer, "global")
    if kind == "global":
        return tuned.reprune(scores=scores, target_sparsity=eta, pruning="global", X=X)
    if kind == "per-unit":  # the same top share of every unit's incoming links
        scores = [(np.argsort(np.argsort(s, axis=1), axis=1) + 1.0) / s.shape[1] for s in scores]
    sizes = [w.size for w in start.dense_weights_]
    return prune_with_scores(tuned, scores, [max(1, round((1 - eta) * n)) for n in sizes], X)


def rebased(model, X_tr):
    """``model``'s pruned network as a dense stage (``reprune(rescore=True)`` with one
    explained row and no fine-tuning: only its network is used, by a baseline's scores)."""
    cheap = copy.copy(model).set_params(n_explain=1, fine_tune_iter=0)
    counts = [int(np.count_nonzero(m)) for m in model.link_masks_]
    new = cheap.reprune(keep_counts=counts, X=X_tr, rescore=True)
    return new.set_params(n_explain=model.n_explain)


def one_shot(models, X_tr, X_ex, seed, args, seconds):
    """{method: {eta: model}}: each method prunes its dense network once to each eta."""
    scores = {m: scored(s, f, X_ex, seed, seconds, m) for m, (s, f) in models.items() if f}
    out = {m: {} for m in models}
    for eta in ETAS:
        counts = models[LEAD][0].reprune(target_sparsity=eta).keep_counts_
        for m, (start, scorer) in models.items():
            out[m][eta] = pruned(start, scorer, scores.get(m), eta, counts, X_tr, args)
    return out


def gradual(models, X_tr, X_ex, seed, args, log):
    """{method: {eta: model}}: each method walks eta = 0.5 ... 0.98, rescoring its current
    network at every step; the rankings keep the rescored SHAP-SAE's per-layer counts."""
    out = one_shot(models, X_tr, X_ex, seed, args, {})
    out = {m: {ETAS[0]: by_eta[ETAS[0]]} for m, by_eta in out.items()}
    for step, eta in enumerate(ETAS[1:], start=1):
        t0 = time.perf_counter()
        lead = pruned(out[LEAD][ETAS[step - 1]], None, None, eta, None, X_tr, args, True)
        for m, (_, scorer) in models.items():
            current = out[m][ETAS[step - 1]]
            if scorer is None:
                model = (
                    lead if m == LEAD else pruned(current, None, None, eta, None, X_tr, args, True)
                )
            else:
                start = rebased(current, X_tr)
                scores = scored(start, scorer, X_ex, seed + 101 * step)
                model = pruned(start, scorer, scores, eta, lead.keep_counts_, X_tr, args)
            out[m][eta] = model
        log(f"  gradual step eta={eta}: {time.perf_counter() - t0:.0f}s")
    return out


def run_seed(name, X, y, seed, args, log):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=config(args.quick)["n_test"], stratify=y, random_state=seed
    )
    X_ex = X_tr[: 20 if args.quick else 200]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        models, seconds = starts(args.methods, X_tr, seed, args, cache)
    log(f"[{name} seed {seed}] trainings + game scoring {time.perf_counter() - t0:.0f}s")
    rows = []

    def record(method, eta, model):
        row = dict(dataset=name, seed=seed, start="plain", protocol=args.protocol)
        row.update(method=label(method, args), eta_target=eta)
        rows.append({**row, **evaluate(model, X_tr, y_tr, X_te, y_te)})

    if "dense" in args.methods:
        lead = models[LEAD][0]
        everything = [np.ones_like(w) for w in lead.dense_weights_]
        record("dense", 0.0, prune_with_scores(lead, everything, [w.size for w in everything]))
    if args.protocol == "one-shot":
        by_method = one_shot(models, X_tr, X_ex, seed, args, seconds)
    else:
        by_method = gradual(models, X_tr, X_ex, seed, args, log)
    for m, by_eta in by_method.items():
        for eta, model in by_eta.items():
            if m in args.methods:
                record(m, eta, model)
    log(f"[{name} seed {seed}] {args.protocol}: {time.perf_counter() - t0:.0f}s")
    return rows, {"dataset": name, "seed": seed, **seconds}


# ----------------------------------------------------------------------------- summary
def summarise(records):
    """Mean and standard deviation over seeds per (dataset, start, protocol, method, eta)."""
    keys = ("dataset", "start", "protocol", "method", "eta_target")
    groups = {}
    for r in records:
        key = (r["dataset"], r.get("start", "plain"), r.get("protocol", "one-shot"))
        groups.setdefault(key + (r["method"], r["eta_target"]), []).append(r)
    out = []
    for key, sel in sorted(groups.items()):
        row = {**dict(zip(keys, key)), "seeds": sorted(r["seed"] for r in sel)}
        for k in METRICS:
            vals = [r.get(k) for r in sel]
            none = any(v is None for v in vals)
            row[k] = None if none else float(np.mean(vals))
            row[k + "_std"] = None if none else float(np.std(vals))
        out.append(row)
    return out


def list_table(rows, columns):
    """An rst list-table: ``columns`` are (header, function of a row -> cell)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [[h for h, _ in columns]] + [[f(r) for _, f in columns] for r in rows]:
        lines += [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)]
    return lines


def pm(key, digits):
    return lambda r: f"{r[key]:.{digits}f} ± {r[key + '_std']:.{digits}f}"


def full_table(summary):
    """Every row: method, target and reached eta, test MSE, accuracies."""
    columns = [
        ("method", lambda r: r["method"]),
        ("target eta", lambda r: f"{r['eta_target']:g}"),
        ("eta", lambda r: f"{r['sparsity']:.3f}"),
        ("test MSE", pm("test_mse", 5)),
        ("acc. logreg", pm("acc_logreg", 4)),
        ("acc. forest", lambda r: "n/a" if r["acc_forest"] is None else pm("acc_forest", 4)(r)),
    ]
    lines = []
    for ds in sorted({r["dataset"] for r in summary}):
        sel = sorted(
            (r for r in summary if r["dataset"] == ds), key=lambda r: (r["eta_target"], r["method"])
        )
        lines += [ds, "~" * len(ds), "", *list_table(sel, columns), ""]
    return "\n".join(lines)


def approaches_table(summary):
    """Methods by start and protocol, best accuracy first at each eta."""
    columns = [
        ("method [start, protocol]", line_label),
        ("eta", lambda r: f"{r['eta_target']:g}"),
        ("accuracy", pm("acc_logreg", 4)),
        ("test MSE", pm("test_mse", 4)),
    ]
    seeds = ", ".join(map(str, sorted({s for r in summary for s in r["seeds"]})))
    lines = []
    for ds in sorted({r["dataset"] for r in summary}):
        dense = {r["start"]: r for r in summary if r["dataset"] == ds and r["method"] == "dense"}
        text = "Dense (plain): none"
        if "plain" in dense:
            text = "Dense (plain): accuracy {acc_logreg:.4f}, test MSE {test_mse:.4f}"
            text = text.format(**dense["plain"])
        if "robust" in dense:
            text += "; dense (robust): {acc_logreg:.4f}, {test_mse:.4f}".format(**dense["robust"])
        rows = [r for r in summary if r["dataset"] == ds and r["method"] != "dense"]
        rows.sort(key=lambda r: (r["eta_target"], -r["acc_logreg"]))
        lines += [ds, "~" * len(ds), "", f"{text}. Seeds: {seeds}.", ""]
        lines += [*list_table(rows, columns), ""]
    return "\n".join(lines)


def line_label(r):
    method = {"network game": "SHAP-SAE network game"}.get(r["method"], r["method"])
    if (r["start"], r["method"]) == ("robust", "magnitude"):
        method = "dropout AE (magnitude)"
    return f"{method} [{r['start']}, {r['protocol']}]"


def plot(summary, path, pick, x="sparsity", title=lambda ds: ds, labels=line_label):
    """Accuracy and test MSE against eta, one line per method that ``pick(row)`` keeps;
    the plain dense network dotted."""
    plt = pyplot()
    datasets = sorted({r["dataset"] for r in summary})
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11.5, 4.2 * len(datasets)), squeeze=False)
    for row, ds in zip(axes, datasets):
        sel = [r for r in summary if r["dataset"] == ds]
        dense = [r for r in sel if r["method"] == "dense" and r["start"] == "plain"]
        lines = {}
        for r in sorted(sel, key=lambda r: r["eta_target"]):
            if r["method"] != "dense" and pick(r):
                lines.setdefault(labels(r), []).append(r)
        for ax, key, name in (
            (row[0], "acc_logreg", "accuracy (logistic regression)"),
            (row[1], "test_mse", "test reconstruction MSE"),
        ):
            for text, rs in lines.items():
                ax.errorbar(
                    [r[x] for r in rs],
                    [r[key] for r in rs],
                    yerr=[r[key + "_std"] for r in rs],
                    marker="o",
                    ms=3,
                    lw=2.4 if "SHAP-SAE" in text else 1,
                    ls="--" if "one-shot]" in text else "-",
                    label=text,
                )
            if dense:
                ax.axhline(dense[0][key], color="k", ls=":", label="dense")
            ax.set(xlabel="sparsity eta", ylabel=name, title=f"{title(ds)}: {name}")
            ax.set_yscale("log" if key == "test_mse" else "linear")
        row[0].legend(fontsize=7)
    figure(path, fig)


# ----------------------------------------------------------------------------- committed
def grid_tables(summary):
    """experiments_tables.rst: fine-tuned methods at the same counts, then own allocations,
    one grid (method x eta >= 0.8) per metric and data set."""
    methods = sorted({r["method"] for r in summary} - {"dense"})
    counts = [m for m in methods if "own allocation" not in m and _tuned(m)]
    own = ["SHAP-SAE"] + [m for m in methods if "own allocation" in m]
    index = {(r["dataset"], r["method"], r["eta_target"]): r for r in summary}
    out = []
    for title, sel in (("fine-tuned, same counts", counts), ("own allocation", own)):
        for key, name in (("acc_logreg", "accuracy"), ("test_mse", "test MSE")):
            for ds in sorted({r["dataset"] for r in summary}):
                cells = [[f"{ds[0].upper()} {e:g}" for e in ETAS[1:]]]
                for m in sel:
                    rs = [index.get((ds, m, e)) for e in ETAS[1:]]
                    cells.append(["-" if r is None else _cell(r, key) for r in rs])
                out += ["", f"**{name}, {title}, {ds}**", "", _grid(["method", *sel], cells)]
    return "\n".join(out) + "\n"


def _tuned(m):
    return m == "SHAP-SAE" or m.endswith("+ fine-tune")


def _cell(r, key):
    sd = f"{r[key + '_std']:.4f}".lstrip("0")
    return f"{r[key]:.4f} ± {sd}"


def _grid(names, cells):
    width, w = max(map(len, names)), max(len(c) for row in cells for c in row)
    rule = "=" * width + "  " + "  ".join("=" * w for _ in cells[0])
    body = [
        n.ljust(width) + "  " + "  ".join(c.ljust(w) for c in row) for n, row in zip(names, cells)
    ]
    return "\n".join([rule, body[0], rule, *body[1:], rule])


def legacy_approaches(folder):
    """figure3_approaches.json's records with its side runs (the pre-activation game, the
    dense rows) and the k-sparse / MINT / dense rows of experiments.json (same splits)."""

    def load(name):
        path = folder / f"{name}.json"
        return json.loads(path.read_text())["records"] if path.exists() else []

    def dense_runs(records):
        return {(r["dataset"], r["seed"], r["start"]) for r in records if r["method"] == "dense"}

    records = load("figure3_approaches")
    records += [
        r for r in load("figure3_approaches_preactivation") if "preactivation" in r["method"]
    ]
    have = dense_runs(records)
    records += [
        r
        for r in load("figure3_approaches_dense")
        if (r["dataset"], r["seed"], r["start"]) not in have
    ]
    seeds, have = {r["seed"] for r in records}, dense_runs(records)
    previous = {
        "ksparse AE + fine-tune": "k-sparse AE",
        "mint + fine-tune": "MINT",
        "dense": "dense",
    }
    for r in load("experiments"):
        if r["method"] in previous and r["seed"] in seeds:
            dense = r["method"] == "dense"
            if not (dense and (r["dataset"], r["seed"], "plain") in have):
                start = "plain" if dense else "previous run"
                rec = dict(r, start=start, protocol="one-shot", method=previous[r["method"]])
                records.append({k: v for k, v in rec.items() if k != "acc_forest"})
    return [r for r in summarise(records) if r["protocol"] != "dense" or r["method"] == "dense"]


SHOWN = [
    "SHAP-SAE [plain, one-shot]",
    "SHAP-SAE [plain, gradual]",
    "SHAP-SAE [robust, gradual]",
    "SHAP-SAE network game [plain, gradual]",
    "SHAP-SAE preactivation [plain, gradual]",
    "wanda [plain, gradual]",
    "dropout AE (magnitude) [robust, gradual]",
    "lap [plain, gradual]",
    "k-sparse AE [previous run, one-shot]",
]


def from_json(out):
    """The committed tables and figures, from the committed results files."""
    summary = summarise(json.loads((RESULTS / "experiments.json").read_text())["records"])
    (out / "experiments.rst").write_text(full_table(summary))
    (out / "experiments_tables.rst").write_text(grid_tables(summary))
    panels = {
        "figure3": ("fine-tuned", lambda m: _tuned(m) and "own" not in m),
        "figure3_no_finetune": ("not fine-tuned", lambda m: not _tuned(m)),
        "figure3_own_allocation": ("own allocations", lambda m: "own" in m or m == "SHAP-SAE"),
    }
    for name, (what, pick) in panels.items():
        title = lambda ds, w=what: f"{ds}, {w}"  # noqa: E731
        plot(
            summary,
            out / f"{name}.png",
            lambda r, p=pick: p(r["method"]),
            title=title,
            labels=lambda r: r["method"],
        )
    approaches = legacy_approaches(RESULTS)
    (out / "figure3_approaches.rst").write_text(approaches_table(approaches))
    shown = lambda r: line_label(r) in SHOWN and r["eta_target"] >= 0.8  # noqa: E731
    plot(approaches, out / "figure3_approaches.png", shown, x="eta_target")


def figures(out, args):
    """Figure 2 (the synthetic data, 6-3-6) and Figure 4 (MNIST pixels kept by level)."""
    import pandas as pd

    from skshapsae import SHAPSparseAutoencoder
    from skshapsae.datasets import make_synthetic
    from skshapsae.plotting import FeatureMaskDisplay, LinkImportanceDisplay, UnitImportanceDisplay

    plt, suffix = pyplot(), "_quick" if args.quick else ""
    X = pd.DataFrame(make_synthetic(2000 if args.quick else 15000, random_state=0))
    X.columns = [f"x{j}" for j in range(1, 7)]  # the paper's names; x1 is constant
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ae = SHAPSparseAutoencoder(
            (3,),
            importance_level=0.8,
            max_iter=20 if args.quick else 200,
            device="cpu",
            random_state=0,
        ).fit(X)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    UnitImportanceDisplay.from_estimator(ae, ax=axes[0])
    LinkImportanceDisplay.from_estimator(ae, kind="variance", ax=axes[1])
    LinkImportanceDisplay.from_estimator(ae, kind="heatmap", ax=axes[2])
    figure(out / f"figure2{suffix}.png", fig)
    X, _ = images("mnist", config(args.quick)["n_rows"], args.data_home)
    ae = autoencoder(args.quick).fit(X)
    disp = FeatureMaskDisplay.from_estimator(ae, levels=(0.5, 0.8, 0.9, 0.95, 0.99), image=X[0])
    figure(out / f"figure4{suffix}.png", disp.figure_)


def main(argv=None):
    p = parser(__doc__, seeds=[0, 1, 2], datasets=["fashion_mnist", "mnist"])
    p.add_argument("--protocol", choices=["one-shot", "gradual"], default="one-shot")
    p.add_argument("--methods", nargs="+", default=METHODS)
    p.add_argument("--network", choices=list(NETWORKS), default="paper")
    p.add_argument("--fine-tune", type=int, default=3, help="epochs after pruning (0: none)")
    p.add_argument("--allocation", choices=["counts", "own"], default="counts")
    p.add_argument("--name", default=None, help="results file (default experiments_<protocol>)")
    p.add_argument("--data-home", default=None)
    p.add_argument("--from-json", action="store_true", help="committed tables and figures")
    p.add_argument("--figures", action="store_true", help="figures 2 and 4")
    args = p.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    if args.from_json or args.figures:
        return from_json(args.output) if args.from_json else figures(args.output, args)
    if args.quick:
        args.seeds, args.fine_tune = args.seeds[:1], min(args.fine_tune, 1)
    name = args.name or f"experiments_{args.protocol.replace('-', '_')}"
    path = args.output / f"{name}{'_quick' if args.quick else ''}.json"
    old = json.loads(path.read_text()) if path.exists() and not args.quick else {}
    records, seconds = old.get("records", []), old.get("scoring_seconds", [])
    done = {(r["dataset"], r["seed"]) for r in records}
    begin = time.perf_counter()

    def log(msg):
        print(f"{time.perf_counter() - begin:7.0f}s  {msg}", flush=True)

    data = {ds: images(ds, config(args.quick)["n_rows"], args.data_home) for ds in args.datasets}
    settings = {k: v for k, v in vars(args).items() if k not in ("output", "from_json", "figures")}
    for seed in args.seeds:  # seed-major: every data set of seed 0 first
        for ds in (ds for ds in args.datasets if (ds, seed) not in done):
            rows, times = run_seed(ds, *data[ds], seed, args, log)
            records, seconds = records + rows, seconds + [times]
            payload = {"config": settings, "records": records, "scoring_seconds": seconds}
            write_json(name, payload, args)
    summary = summarise(records)
    (args.output / f"{path.stem}.rst").write_text(approaches_table(summary))
    plot(summary, args.output / f"{path.stem}.png", lambda r: True)
    log("done")
    return summary


if __name__ == "__main__":
    main()
