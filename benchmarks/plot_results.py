"""The Benchmarks page's figures from results/{importance,inference,vs_pca,scaling}.json.

Run:  python benchmarks/plot_results.py     Writes results/bench_*.png.
"""

import json

import numpy as np

from _common import figure, parser, pyplot

plt = pyplot()


def importance_figure(data):
    rows = data["estimators"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for row in rows:
        ax.scatter(row["s/sample"], row["LI rel L2"], s=40)
        ax.annotate(
            row["estimator"],
            (row["s/sample"], row["LI rel L2"]),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seconds per explained sample (log)")
    ax.set_ylabel("link-importance error vs reference (log)")
    ax.set_title("Shapley estimators: cost and error (784 -> 256 layer)")
    return fig


def inference_figure(data):
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    for n in sorted({r["rows"] for r in rows}):
        sel = [r for r in rows if r["rows"] == n]
        ax.plot(
            [r["eta"] for r in sel],
            [r["transform x"] for r in sel],
            marker="o",
            label=f"batch of {n:,} row{'s' if n > 1 else ''}",
        )
    ax.axhline(1, color="grey", lw=0.8, label="bare dense torch forward (= 1)")
    ax.set_xlabel("sparsity eta")
    ax.set_ylabel("speed-up over bare dense torch (x)")
    ax.set_title("Pruned transform (float32), 784-256-64 MNIST encoder")
    ax.legend(fontsize=8)
    return fig


def vs_pca_figure(data):
    table = data["table"]

    def label(r):
        return f"{r['data'].replace(' 10000 rows', ' 10k')}\nk={r['k']}"

    groups = []
    for r in table:
        key = label(r)
        if key not in groups:
            groups.append(key)
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


def main():
    args = parser(__doc__).parse_args()
    tag = "_quick" if args.quick else ""

    def _load(name):
        path = args.output / f"{name}{tag}.json"
        return json.loads(path.read_text()) if path.exists() else None

    for name, draw in [
        ("importance", importance_figure),
        ("inference", inference_figure),
        ("vs_pca", vs_pca_figure),
        ("scaling", scaling_figure),
    ]:
        data = _load(name)
        if data is None:
            continue
        if name == "vs_pca" and _load("vs_pca_images") is not None:  # the image rows
            data = {**data, "table": data["table"] + _load("vs_pca_images")["table"]}
        rect = (0, 0.05, 1, 1) if name == "vs_pca" else (0, 0, 1, 1)  # vs_pca: legend below
        figure(args.output / f"bench_{name}{tag}.png", draw(data), rect)


if __name__ == "__main__":
    main()
