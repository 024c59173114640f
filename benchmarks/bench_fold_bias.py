"""``fold_bias`` on or off: sparsity, test MSE and code accuracy per importance level.

Digits, 75/25 split, (32, 8) sigmoid autoencoder, three seeds; both variants share the
dense training and scoring (``reprune``).
Run:  python benchmarks/bench_fold_bias.py [--quick]     Writes results/fold_bias.json.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skshapsae import SHAPSparseAutoencoder

from _common import parser, print_table, write_json

LEVELS = [0.5, 0.7, 0.8, 0.9, 0.95]


def main():
    args = parser(__doc__).parse_args()
    X, y = load_digits(return_X_y=True)
    X = X[: 600 if args.quick else None] / 16.0
    y = y[: 600 if args.quick else None]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    records = []
    for seed in range(3):
        base = SHAPSparseAutoencoder((32, 8), out_activation="logistic", random_state=seed)
        base.set_params(max_iter=5 if args.quick else 200, device="cpu").fit(X_tr)
        for fold in (False, True):
            for level in LEVELS:
                model = base.set_params(fold_bias=fold).reprune(level)
                clf = LogisticRegression(max_iter=2000).fit(model.transform(X_tr), y_tr)
                row = dict(seed=seed, fold_bias=fold, level=level, sparsity=model.sparsity_)
                row.update(test_mse=-model.score(X_te))
                records.append({**row, "accuracy": clf.score(model.transform(X_te), y_te)})
    rows = []
    for level in LEVELS:
        row = {"level": level}
        for fold in (False, True):
            sel = [r for r in records if r["level"] == level and r["fold_bias"] == fold]
            tag = "fold" if fold else "plain"
            row["eta"] = float(np.mean([r["sparsity"] for r in sel]))
            row[f"MSE {tag}"] = float(np.mean([r["test_mse"] for r in sel]))
            row[f"acc {tag}"] = float(np.mean([r["accuracy"] for r in sel]))
        rows.append(row)
    print_table(rows, ["level", "eta", "MSE plain", "MSE fold", "acc plain", "acc fold"])
    write_json("fold_bias", {"records": records, "summary": rows}, args)


if __name__ == "__main__":
    main()
