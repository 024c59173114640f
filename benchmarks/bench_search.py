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

from _common import Timer, machine, print_table, write_json

LEVELS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0]


def pipeline(memory=None):
    return make_pipeline(
        SHAPSparseAutoencoder(
            (32, 8),
            out_activation="logistic",
            max_iter=50,
            device="cpu",
            random_state=0,
            memory=memory,
        ),
        LogisticRegression(max_iter=2000),
    )


def grid_search(cache, refit):
    return GridSearchCV(
        pipeline(memory=cache),
        {"shapsparseautoencoder__importance_level": LEVELS},
        cv=3,
        refit=refit,
    )


def main():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    with Timer() as single:
        scores = cross_val_score(pipeline(), X, y, cv=3)
    with Timer() as final:  # the model a user keeps after a single-level CV
        pipeline().fit(X, y)
    runs = {}
    for refit in (False, True):
        with tempfile.TemporaryDirectory() as cache, Timer() as grid:
            search = grid_search(cache, refit).fit(X, y)
        runs[refit] = (grid.seconds, search)
    rows = [
        {"run": "3-fold CV, one level", "seconds": single.seconds, "accuracy": np.mean(scores)},
        {"run": "  + final fit on all data", "seconds": single.seconds + final.seconds},
    ]
    for refit, (seconds, search) in runs.items():
        label = "GridSearchCV, 10 levels x 3 folds, memory" + (", refit" if refit else "")
        rows.append({"run": label, "seconds": seconds, "accuracy": search.best_score_})
    print_table(rows, ["run", "seconds", "accuracy"])
    like_for_like = runs[False][0] / single.seconds
    with_refit = runs[True][0] / (single.seconds + final.seconds)
    against_cv = runs[True][0] / single.seconds
    print(
        f"search / single CV = {like_for_like:.2f}x (both without a final fit; target <= 1.5x)\n"
        f"search with refit / (single CV + final fit) = {with_refit:.2f}x\n"
        f"search with refit / single CV = {against_cv:.2f}x\n"
        f"best level {runs[True][1].best_params_['shapsparseautoencoder__importance_level']}"
    )
    write_json(
        "search",
        {
            "machine": machine(),
            "rows": rows,
            "ratio": like_for_like,
            "ratio_with_refit": with_refit,
            "ratio_refit_vs_cv": against_cv,
            "best_params": runs[True][1].best_params_,
        },
    )


if __name__ == "__main__":
    main()
