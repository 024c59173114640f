"""A search over the importance level reuses the dense training and the scoring.

Compares, in one run on scikit-learn's digits: a 3-fold cross-validation of one
pipeline (SHAP-SAE + logistic regression) against GridSearchCV over 10 importance
levels with 3 folds and ``memory=`` (the level-independent stages are cached).
Target: the search costs at most 1.5x the single cross-validation.

Run:  python benchmarks/bench_search.py
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
            out_activation="sigmoid",
            max_iter=50,
            device="cpu",
            random_state=0,
            memory=memory,
        ),
        LogisticRegression(max_iter=2000),
    )


def main():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    with Timer() as single:
        scores = cross_val_score(pipeline(), X, y, cv=3)
    with tempfile.TemporaryDirectory() as cache:
        search = GridSearchCV(
            pipeline(memory=cache), {"shapsparseautoencoder__importance_level": LEVELS}, cv=3
        )
        with Timer() as grid:
            search.fit(X, y)
    rows = [
        {
            "run": "3-fold CV, one level",
            "fits": 3,
            "seconds": single.seconds,
            "best accuracy": float(np.mean(scores)),
        },
        {
            "run": "GridSearchCV, 10 levels x 3 folds, memory",
            "fits": 30,
            "seconds": grid.seconds,
            "best accuracy": search.best_score_,
        },
    ]
    print_table(rows, ["run", "fits", "seconds", "best accuracy"])
    ratio = grid.seconds / single.seconds
    print(
        f"search / single CV = {ratio:.2f}x (target <= 1.5x); best level "
        f"{search.best_params_['shapsparseautoencoder__importance_level']}"
    )
    write_json(
        "search",
        {"machine": machine(), "rows": rows, "ratio": ratio, "best_params": search.best_params_},
    )


if __name__ == "__main__":
    main()
