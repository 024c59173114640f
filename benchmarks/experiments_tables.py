"""RST tables of ``experiments.json`` for the experiments page (mean +/- sd over seeds).

Run:  python benchmarks/experiments_tables.py [path/to/experiments.json] [--tables-only]
(``--tables-only > benchmarks/results/experiments_tables.rst`` writes the page's tables)
"""

import json
import sys
from pathlib import Path

import numpy as np

ETAS = (0.8, 0.9, 0.95, 0.98)
SHORT = {"fashion_mnist": "F", "mnist": "M"}


def table(summary, methods, key, digits, dataset):
    cols = [(dataset, e) for e in ETAS]
    index = {(r["dataset"], r["method"], r["eta_target"]): r for r in summary}
    width = max(len(m) for m in methods)
    cells = [[f"{SHORT[d]} {e:g}" for d, e in cols]]
    for m in methods:
        row = []
        for d, e in cols:
            r = index.get((d, m, e))
            sd = "" if r is None else f"{r[key + '_std']:.{digits}f}".lstrip("0")
            row.append("-" if r is None else f"{r[key]:.{digits}f} ± {sd}")
        cells.append(row)
    w = max(len(c) for row in cells for c in row)
    rule = "=" * width + "  " + "  ".join("=" * w for _ in cols)
    lines = [rule, "method".ljust(width) + "  " + "  ".join(c.ljust(w) for c in cells[0]), rule]
    for m, row in zip(methods, cells[1:]):
        lines.append(m.ljust(width) + "  " + "  ".join(c.ljust(w) for c in row))
    lines.append(rule)
    return "\n".join(lines)


def best_counts(summary, candidates, key, lower):
    """For each (dataset, eta): the best method among ``candidates``."""
    out = []
    for d in sorted({r["dataset"] for r in summary}):
        for e in ETAS:
            sel = [
                r
                for r in summary
                if r["dataset"] == d and r["eta_target"] == e and r["method"] in candidates
            ]
            if sel:
                best = (min if lower else max)(sel, key=lambda r: r[key])
                out.append((d, e, best["method"], best[key]))
    return out


def main(path=None, tables_only=False):
    path = Path(path or Path(__file__).parent / "results" / "experiments.json")
    data = json.loads(path.read_text())
    summary = data["summary"]
    methods = sorted({r["method"] for r in summary} - {"dense"})
    same_counts = [m for m in methods if "own allocation" not in m]
    tuned = [m for m in same_counts if m == "SHAP-SAE" or m.endswith("+ fine-tune")]
    own = ["SHAP-SAE"] + [m for m in methods if "own allocation" in m]
    for title, sel in (("fine-tuned, same counts", tuned), ("own allocation", own)):
        for key, digits, label in (("acc_logreg", 4, "accuracy"), ("test_mse", 4, "test MSE")):
            for dataset in sorted({r["dataset"] for r in summary}):
                print(f"\n**{label}, {title}, {dataset}**\n")
                print(table(summary, sel, key, digits, dataset))
    if tables_only:
        return
    dense = {r["dataset"]: r for r in summary if r["method"] == "dense"}
    print("\ndense:", {d: (r["acc_logreg"], r["test_mse"]) for d, r in dense.items()})
    for r in summary:
        if r["method"] == "SHAP-SAE" and r["eta_target"] in (0.5, 0.9):
            loss = 1 - r["acc_logreg"] / dense[r["dataset"]]["acc_logreg"]
            print(
                f"{r['dataset']} eta {r['eta_target']}: acc {r['acc_logreg']:.4f} loss {loss:.2%}"
            )
    everyone = tuned + [m for m in own if m != "SHAP-SAE"]
    print("\nlowest MSE (fine-tuned, any allocation):")
    for d, e, m, v in best_counts(summary, everyone, "test_mse", lower=True):
        print(f"  {d} {e}: {m} {v:.4f}")
    print("highest accuracy (fine-tuned, any allocation):")
    for d, e, m, v in best_counts(summary, everyone, "acc_logreg", lower=False):
        print(f"  {d} {e}: {m} {v:.4f}")
    times = data.get("scoring_seconds", [])
    if times:
        keys = [k for k in times[0] if k not in ("dataset", "seed")]
        print("\nscoring wall time, mean over runs (s):")
        for k in keys:
            print(f"  {k}: {np.mean([t[k] for t in times]):.2f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tables-only"]
    main(args[0] if args else None, tables_only="--tables-only" in sys.argv)
