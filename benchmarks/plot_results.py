"""Every benchmark figure from its results file: results/{importance,inference*,vs_pca,
scaling}.json -> bench_*.png, attribution.json -> attribution_{noise,planted}.png; and
the Training page's tables, results/vs_pca*.json -> docs/vs_pca_table*.rst.

Run:  python benchmarks/plot_results.py [--quick] [--output FOLDER]
"""

import json

import numpy as np

from _common import RESULTS, ROOT, figure, parser, pyplot

plt = pyplot()


def importance_figure(data):
    rows = data["estimators"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for row in rows:
        xy = (row["s/sample"], row["LI rel L2"])
        ax.scatter(*xy, s=40)
        ax.annotate(row["estimator"], xy, fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seconds per explained sample (log)")
    ax.set_ylabel("link-importance error vs reference (log)")
    ax.set_title("Shapley estimators: cost and error (784 -> 256 layer)")
    return fig


def inference_figure(data):
    """Test MSE against measured latency (2,000 rows) of each score and pruning."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    quality = data["quality"]
    for name in dict.fromkeys(q["scores"] for q in quality):
        for structure, style in (("links", "-"), ("units", "--")):
            sel = [q for q in quality if q["scores"] == name and q["structure"] == structure]
            if sel:
                latency, mse = [q["latency ms"] for q in sel], [q["test MSE"] for q in sel]
                ax.plot(latency, mse, style, marker="o", label=f"{name}, {structure}")
    ax.axvline(data["bare_dense_2000_s"] * 1e3, color="grey", lw=0.8, label="bare dense pass")
    ax.set_xlabel("latency of transform, 2,000 float32 rows (ms; 2-core CPU)")
    ax.set_ylabel("test reconstruction MSE")
    ax.set_yscale("log")
    label = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}[data["dataset"]]
    ax.set_title(f"{label}, 784-256-64 encoder: quality against measured latency", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def vs_pca_figure(data):
    table = data["table"]

    def label(r):
        return f"{r['data'].replace(' 10000 rows', ' 10k')}\nk={r['k']}"

    groups = list(dict.fromkeys(label(r) for r in table))
    methods = ["PCA", "dense AE (m=1.0)", "SHAP-SAE (m=0.8)", "SHAP-SAE tuned m"]
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.5 * len(groups)), 7.5))
    width = 0.2
    for i, method in enumerate(methods):
        rows = {label(r): r for r in table if r["method"] == method}
        x = np.arange(len(groups)) + (i - 1.5) * width
        acc = [rows[g]["acc_mean"] if g in rows else np.nan for g in groups]
        sd = [rows[g]["acc_sd"] if g in rows else 0 for g in groups]
        mse = [rows[g]["test MSE"] if g in rows else np.nan for g in groups]
        axes[0].bar(x, acc, width, yerr=sd, label=method)
        axes[1].bar(x, mse, width, label=method)
    for ax in axes:
        ax.set_xticks(range(len(groups)), groups, fontsize=8)
    low = min(r["acc_mean"] for r in table)
    axes[0].set_ylim(max(0, low - 0.05), 1)
    axes[0].set_ylabel("5-fold accuracy (logistic regression)")
    axes[1].set_ylabel("held-out reconstruction MSE")
    axes[1].set_yscale("log")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=9)
    fig.suptitle("Codes at equal size: PCA, the dense autoencoder and SHAP-SAE")
    return fig


def scaling_figure(data):
    rows = data["rows"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, marker in (("skshapsae", "o"), ("IncrementalPCA", "s")):
        sel = sorted((r for r in rows if r["method"] == method), key=lambda r: r["rows"])
        n = [r["rows"] for r in sel]
        left.plot(n, [r["seconds"] for r in sel], marker=marker, label=f"{method}, total")
        right.plot(n, [r["peak_mb"] for r in sel], marker=marker, label=method)
        if method == "skshapsae":
            for stage, ls in (("training s", "--"), ("scoring s", ":")):
                left.plot(n, [r[stage] for r in sel], ls=ls, marker=".", label=stage[:-2])
    n = sorted({r["rows"] for r in rows})
    first = min(r["seconds"] for r in rows if r["method"] == "skshapsae" and r["rows"] == n[0])
    left.plot(n, [first * k / n[0] for k in n], color="grey", lw=0.8, label="linear in rows")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("rows (100 columns, streamed in chunks of 10,000)")
        ax.legend(fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("seconds")
    left.set_title("Fit time")
    right.set_ylim(0, 2048)
    right.axhline(2048, color="grey", lw=0.8)
    right.set_ylabel("peak resident memory (MiB)")
    right.set_title("Peak memory (target: under 2 GB)")
    return fig


def attribution_figures(results, folder, tag):
    """Two figures from a results file: the appended noise column's rank per table, and
    precision@5 per planted cell."""
    shown = ["SHAP-SAE", "previous (eq. 4, plain loss)", "PCA loadings", "FA communality"]
    shown += ["permutation", "grad x input"]
    markers = dict(zip(shown, "o^sDvx"))
    if "noise" in results:
        tables = results["noise"]["tables"]
        names = list(tables)
        fig, ax = plt.subplots(figsize=(10.5, 4.2))
        for i, m in enumerate(shown):
            x = np.arange(len(names)) + (i - 2.5) * 0.1
            ax.scatter(
                x, [tables[t][m] for t in names], marker=markers[m], label=m, s=28, alpha=0.85
            )
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("rank of the noise column\n(0 = most important, 1 = least)")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title("A uniform noise column appended to real tables: where does it rank?")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        figure(folder / f"attribution_noise{tag}.png", fig)
    if "planted" in results:
        rows = results["planted"]
        fig, ax = plt.subplots(figsize=(10.5, 5.5))
        y = np.arange(len(rows))
        for i, m in enumerate(shown):
            ax.scatter([r[m] for r in rows], y + (i - 2.5) * 0.1, marker=markers[m], label=m, s=24)
        ax.set_yticks(y, [_cell_label(r["cell"]) for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("precision@5 (the 5 planted columns among the top 5), mean of seeds")
        ax.set_title("Planted structure: factors, mixing, noise share, noise columns")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        figure(folder / f"attribution_planted{tag}.png", fig)


def _cell_label(c):
    parts = [f"{c['n_factors']}f", "nonlin" if c.get("nonlinear") else "lin"]
    parts += [f"noise {c.get('noise', 0.3)}", f"+{c.get('n_noise', 15)}"]
    return " ".join(parts + [p for p in ("nuisance", "spread") if c.get(p)])


#: results/<name>.json -> bench_<name>.png
FIGURES = {
    "importance": importance_figure,
    "inference": inference_figure,
    "inference_fashion_mnist": inference_figure,
    "vs_pca": vs_pca_figure,
    "scaling": scaling_figure,
}
#: docs/<name>.rst: the codes tables of these results files, one after the other
RST_TABLES = {
    "vs_pca_table": ("vs_pca", "vs_pca_images"),
    "vs_pca_table_random": ("vs_pca_tables_random", "vs_pca_images_random"),
}


def write_rst(rows, path):
    """The codes table of ``bench_vs_pca.py`` as an RST simple table."""
    rule = "=" * 25 + "  ===  " + "=" * 16 + "  " + "=" * 17 + "  ========  ======  ====="
    lines = [rule, f"{'data':<25}  k    {'method':<16}  {'accuracy':<17}  test MSE  fit s   eta"]
    lines.append(rule)
    for r in rows:
        acc = f"{r['acc_mean']:.4f} ± {r['acc_sd']:.4f}"
        lines.append(
            f"{r['data']:<25}  {r['k']:<3}  {r['method']:<16}  {acc:<17}  "
            f"{r['test MSE']:<8.5f}  {r['fit s']:<6.2f}  {r['sparsity']:.2f}"
        )
    path.write_text("\n".join(lines + [rule]) + "\n")
    print(f"wrote {path}")


def main():
    args = parser(__doc__).parse_args()
    tag = "_quick" if args.quick else ""

    def _load(name):
        path = args.output / f"{name}{tag}.json"
        return json.loads(path.read_text()) if path.exists() else None

    for name, draw in FIGURES.items():
        data = _load(name)
        if data is None or (name == "vs_pca" and not data["table"]):
            continue
        if name == "vs_pca" and _load("vs_pca_images") is not None:  # the image rows
            data = {**data, "table": data["table"] + _load("vs_pca_images")["table"]}
        rect = (0, 0.05, 1, 1) if name == "vs_pca" else (0, 0, 1, 1)  # vs_pca: legend below
        figure(args.output / f"bench_{name}{tag}.png", draw(data), rect)
    if _load("attribution") is not None:
        attribution_figures(_load("attribution"), args.output, tag)
    docs = ROOT / "docs" if args.output == RESULTS and not tag else args.output
    for name, sources in RST_TABLES.items():
        parts = [_load(source) for source in sources]
        if all(part and part["table"] for part in parts):
            write_rst([row for part in parts for row in part["table"]], docs / f"{name}{tag}.rst")


if __name__ == "__main__":
    main()
