"""A search over the importance level reuses the dense training and the scoring.

Digits: 3-fold CV of one pipeline against ``GridSearchCV`` over 10 levels with
``memory=``, with and without refit. Target: at most 1.5x the single CV.
Run:  python benchmarks/bench_search.py [--quick]     Writes results/search.json.
"""

import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skshapsae import SHAPSparseAutoencoder

from _common import parser, print_table, timed, write_json

LEVELS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0]


def pipeline(memory=None, quick=False):
    ae = SHAPSparseAutoencoder(
        (32, 8), out_activation="logistic", max_iter=5 if quick else 50, random_state=0
    )
    return make_pipeline(
        ae.set_params(device="cpu", memory=memory), LogisticRegression(max_iter=2000)
    )


def grid_search(cache, refit, quick=False):
    grid = {"shapsparseautoencoder__importance_level": LEVELS}
    return GridSearchCV(pipeline(cache, quick), grid, cv=3, refit=refit)


def digits(quick=False):
    X, y = load_digits(return_X_y=True)
    return (X / 16.0)[: 600 if quick else None], y[: 600 if quick else None]


def search_seconds(X, y, refit=False, quick=False):
    with tempfile.TemporaryDirectory() as cache:
        return timed(lambda: grid_search(cache, refit, quick).fit(X, y))


def main():
    args = parser(__doc__).parse_args()
    X, y = digits(args.quick)
    single, scores = timed(lambda: cross_val_score(pipeline(quick=args.quick), X, y, cv=3))
    # the model a user keeps after a single-level CV
    final = timed(lambda: pipeline(quick=args.quick).fit(X, y))[0]
    runs = {refit: search_seconds(X, y, refit, args.quick) for refit in (False, True)}
    rows = [
        {"run": "3-fold CV, one level", "seconds": single, "accuracy": np.mean(scores)},
        {"run": "  + final fit on all data", "seconds": single + final},
    ]
    for refit, (seconds, search) in runs.items():
        label = "GridSearchCV, 10 levels x 3 folds, memory" + (", refit" if refit else "")
        rows.append({"run": label, "seconds": seconds, "accuracy": search.best_score_})
    print_table(rows, ["run", "seconds", "accuracy"])
    like_for_like = runs[False][0] / single
    with_refit = runs[True][0] / (single + final)
    against_cv = runs[True][0] / single
    print(
        f"search / single CV = {like_for_like:.2f}x (both without a final fit; target <= 1.5x)\n"
        f"search with refit / (single CV + final fit) = {with_refit:.2f}x\n"
        f"search with refit / single CV = {against_cv:.2f}x\n"
        f"best level {runs[True][1].best_params_['shapsparseautoencoder__importance_level']}"
    )
    write_json(
        "search",
        {
            "rows": rows,
            "ratio": like_for_like,
            "ratio_with_refit": with_refit,
            "ratio_refit_vs_cv": against_cv,
            "best_params": runs[True][1].best_params_,
        },
        args,
    )


if __name__ == "__main__":
    main()
