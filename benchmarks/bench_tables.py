"""SHAP-SAE's defaults against PCA on 11 tables, and its feature attribution.

5-fold CV x 3 seeds of ``MinMaxScaler -> reducer -> LogisticRegression``: ``PCA(k)``,
dense codes, the default level, a tuned level (inner ``GridSearchCV``); then the
selection error of each ranking's top-k columns and the latent-factor precision@5.
Run:  python benchmarks/bench_tables.py [--quick] [--only wine ...] [--timing-only]
Writes results/bench_tables.json (bench_tables_timing.json).
"""

import tempfile
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_classification,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_low_rank_matrix,
)
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_predict
from sklearn.neighbors import kneighbors_graph
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skshapsae import SHAPSparseAutoencoder

from _common import Timer, parser, write_json

LEVELS = [0.6, 0.8, 0.9, 0.95, 1.0]


def latent_factor_table(n=400, seed=0):
    """5 columns driven by 2 latent factors, then 15 independent noise columns."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 2))
    structured = factors @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5))
    noise = rng.normal(size=(n, 15)) * structured.std()
    return np.hstack([structured, noise]), (factors[:, 0] > 0).astype(int)


def tables():
    """name -> (X, y, k): bundled and synthetic tables whose structure is known."""
    out = {}
    X, y = load_iris(return_X_y=True)
    out["iris"] = (X, y, 2)
    X, y = load_wine(return_X_y=True)
    out["wine"] = (X, y, 3)
    X, y = load_breast_cancer(return_X_y=True)
    out["breast_cancer"] = (X, y, 4)
    X, y = load_digits(return_X_y=True)
    out["digits"] = (X, y, 8)
    X, y = load_diabetes(return_X_y=True)
    out["diabetes (y > median)"] = (X, (y > np.median(y)).astype(int), 3)
    X, y = make_classification(600, 20, n_informative=4, n_redundant=4, random_state=0)
    out["make_classification"] = (X, y, 4)
    X, y = make_blobs(600, n_features=20, centers=4, cluster_std=4.0, random_state=0)
    out["make_blobs"] = (X, y, 3)
    X, y = make_gaussian_quantiles(n_samples=600, n_features=8, n_classes=3, random_state=0)
    out["gaussian_quantiles"] = (X, y, 4)
    X, y = make_hastie_10_2(800, random_state=0)
    out["hastie_10_2"] = (X, y, 5)
    X = make_low_rank_matrix(500, 30, effective_rank=5, random_state=0)
    w = np.random.default_rng(0).normal(size=30)
    out["low_rank_matrix"] = (X, (X @ w > np.median(X @ w)).astype(int), 5)
    X, y = latent_factor_table()
    out["latent_factors"] = (X, y, 2)
    return out


def laplacian_score(X, n_neighbors=5):
    """He, Cai & Niyogi (2005): lower means the column respects the data's local structure."""
    W = kneighbors_graph(X, n_neighbors, mode="distance", include_self=False)
    W = W.maximum(W.T).tocoo()
    t = np.mean(W.data**2) if W.nnz else 1.0
    W.data = np.exp(-(W.data**2) / t)
    W = W.tocsr()
    d = np.asarray(W.sum(axis=1)).ravel()
    scores = []
    for f in X.T:
        f_t = f - (f @ d) / d.sum()
        denominator = f_t @ (d * f_t)
        numerator = denominator - f_t @ (W @ f_t)
        scores.append(numerator / denominator if denominator > 0 else np.inf)
    return np.asarray(scores)


def selection_error(X, columns):
    """5-fold CV MSE of a linear regression from ``columns`` to all columns."""
    predicted = cross_val_predict(
        LinearRegression(), X[:, columns], X, cv=KFold(5, shuffle=True, random_state=0)
    )
    return float(np.mean((predicted - X) ** 2))


def attribution(X, k_sel, k, seed):
    """Selection error of each score's top ``k_sel`` columns (X scaled to [0, 1])."""
    rng = np.random.default_rng(seed)
    ae = SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed).fit(X)
    net = SHAPSparseAutoencoder(
        hidden_layer_sizes=k, importance_target="reconstruction", random_state=seed
    ).fit(X)
    pca = PCA(k).fit(X)
    rankings = {
        "SHAP-SAE feature_importances_": np.argsort(-ae.feature_importances_),
        "network game": np.argsort(-net.feature_importances_),
        "SHAP-SAE select_features": ae.select_features(k_sel),
        "variance": np.argsort(-X.var(axis=0)),
        "PCA loadings": np.argsort(
            -(pca.components_**2 * pca.explained_variance_[:, None]).sum(axis=0)
        ),
        "Laplacian score": np.argsort(laplacian_score(X)),
    }
    errors = {name: selection_error(X, order[:k_sel]) for name, order in rankings.items()}
    errors["random"] = float(
        np.mean(
            [selection_error(X, rng.choice(X.shape[1], k_sel, replace=False)) for _ in range(20)]
        )
    )
    return errors


def evaluate(name, X, y, k, seeds, folds):
    pca_cv, rows = None, {}
    methods = ["PCA", "dense", "default level", "tuned m"]
    acc = {m: [] for m in methods}
    mse = {m: [] for m in methods}
    seconds = {m: 0.0 for m in methods}
    n_iter, warned = [], 0
    for seed in seeds:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        seed_acc = {m: [] for m in methods}
        for train, test in cv.split(X, y):
            scaler = MinMaxScaler().fit(X[train])
            X_tr, X_te = scaler.transform(X[train]), np.clip(scaler.transform(X[test]), -1, 2)
            for method in methods:
                with Timer() as t:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        reducer = fit_reducer(method, k, seed, X_tr, y[train])
                    if method == "default level":
                        n_iter.append(reducer.n_iter_)
                        warned += any("max_iter" in str(w.message) for w in caught)
                    Z_tr, Z_te = reducer.transform(X_tr), reducer.transform(X_te)
                    clf = LogisticRegression(max_iter=1000).fit(Z_tr, y[train])
                seconds[method] += t.seconds
                seed_acc[method].append(clf.score(Z_te, y[test]))
                mse[method].append(float(np.mean((reducer.inverse_transform(Z_te) - X_te) ** 2)))
        for method in methods:
            acc[method].append(seed_acc[method])
    pca_cv = seconds["PCA"]
    for method in methods:
        a = np.asarray(acc[method])
        rows[method] = {
            "acc_mean": float(a.mean()),
            "acc_sd": float(a.std()),
            "seed_sd": float(a.mean(axis=1).std()),
            "mse": float(np.mean(mse[method])),
            "time_ratio": seconds[method] / pca_cv,
        }
    rows["default level"]["n_iter_median"] = float(np.median(n_iter))
    rows["default level"]["convergence_warnings"] = int(warned)
    rows["PCA"]["fold_sd"] = float(np.asarray(acc["PCA"]).std(axis=1).mean())
    return rows


def fit_reducer(method, k, seed, X, y):
    if method == "PCA":
        return PCA(k, random_state=seed).fit(X)
    if method == "dense":
        return SHAPSparseAutoencoder(
            hidden_layer_sizes=k, importance_level=1.0, random_state=seed
        ).fit(X)
    if method == "default level":
        return SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed).fit(X)
    with tempfile.TemporaryDirectory() as cache:
        pipe = make_pipeline(
            SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed, memory=cache),
            LogisticRegression(max_iter=1000),
        )
        grid = {"shapsparseautoencoder__importance_level": LEVELS}
        search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
        best = search.best_estimator_[0]
        best.set_params(memory=None)
        return best


def precision_at_5(seeds):
    hits = []
    for seed in seeds:
        X, _ = latent_factor_table(seed=seed)
        X = MinMaxScaler().fit_transform(X)
        ae = SHAPSparseAutoencoder(hidden_layer_sizes=2, random_state=seed).fit(X)
        hits.append(np.isin(np.argsort(-ae.feature_importances_)[:5], np.arange(5)).mean())
    return float(np.mean(hits)), [float(h) for h in hits]


def timing(args):
    """The default pipeline's 5-fold CV time against PCA's, best of repeats, one process
    (for a quiet machine: the full run's time column shares the machine with the fits)."""
    results, only = {"tables": {}}, args.only
    for name, (X, y, k) in tables().items():
        if only and name not in only:
            continue
        cv = StratifiedKFold(5, shuffle=True, random_state=0)

        def run(reducer, X=X, y=y, cv=cv):
            pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=1000))
            with Timer() as t, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cross_val_predict(pipe, X, y, cv=cv)
            return t.seconds

        run(PCA(k)), run(SHAPSparseAutoencoder(n_components=k, random_state=0))  # warm-up
        pca = min(run(PCA(k)) for _ in range(3))
        sae = SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=0)
        sae = min(run(sae) for _ in range(3))
        results["tables"][name] = {"pca_s": pca, "default_s": sae, "ratio": sae / pca}
        print(f"{name:24s} PCA {pca:.3f} s  default level {sae:.3f} s  ratio {sae / pca:.1f}x")
    write_json("bench_tables_timing", results, args)


def report(name, X, y, k, seeds, folds, results):
    rows = evaluate(name, X, y, k, seeds, folds)
    results["tables"][name] = {"shape": list(X.shape), "k": k, **rows}
    for method, r in rows.items():
        print(
            f"{name:24s} {method:14s} {r['acc_mean']:.3f} ± {r['acc_sd']:.3f}    "
            f"{r['seed_sd']:.3f} {r['mse']:8.4f} {r['time_ratio']:8.1f}x",
            flush=True,
        )
    extra = rows["default level"]
    print(
        f"{'':24s} PCA fold sd {rows['PCA']['fold_sd']:.3f}; default fits: median n_iter "
        f"{extra['n_iter_median']:.0f}, {extra['convergence_warnings']} ConvergenceWarning(s)"
    )


def main():
    p = parser(__doc__)
    p.add_argument("--only", nargs="*", help="table names to run")
    p.add_argument(
        "--timing-only",
        action="store_true",
        help="only the default pipeline's CV time against PCA's (bench_tables_timing.json)",
    )
    p.add_argument(
        "--attribution-only",
        action="store_true",
        help="skip the accuracy part (writes bench_tables_attribution.json)",
    )
    args = p.parse_args()
    seeds, folds = ([0], 2) if args.quick else ([0, 1, 2], 5)
    if args.timing_only:
        return timing(args)
    results = {"tables": {}, "attribution": {}}
    out_name = "bench_tables"
    if args.attribution_only:
        out_name += "_attribution"
    header = (
        f"{'table':24s} {'method':14s} {'acc':>15s} {'seed sd':>8s} {'MSE':>8s} {'time/PCA':>9s}"
    )
    print(header)
    for name, (X, y, k) in tables().items():
        if args.only and name not in args.only:
            continue
        if not args.attribution_only:
            report(name, X, y, k, seeds, folds, results)
        Xs = MinMaxScaler().fit_transform(X)
        errors = attribution(Xs, k_sel=k, k=k, seed=0)
        results["attribution"][name] = errors
        print(
            f"{'':24s} selection error (top {k}): "
            + ", ".join(f"{m} {e:.4f}" for m, e in errors.items()),
            flush=True,
        )
        # written after every table, so that an interrupted run keeps what it measured
        write_json(out_name, results, args)
    p5, per_seed = precision_at_5(seeds)
    results["latent_precision_at_5"] = {"mean": p5, "per_seed": per_seed}
    print(f"latent-factor table, hidden_layer_sizes=2, defaults: precision@5 {p5:.2f} {per_seed}")
    if results["attribution"]:
        best_rivals = ("variance", "PCA loadings", "Laplacian score")
        for score in ("SHAP-SAE feature_importances_", "network game", "SHAP-SAE select_features"):
            wins = [
                errors[score] <= min(errors[r] for r in best_rivals) + 1e-12
                for errors in results["attribution"].values()
            ]
            print(
                f"{score}: selection error <= best of variance/PCA/Laplacian on "
                f"{sum(wins)}/{len(wins)} tables"
            )
    write_json(out_name, results, args)


if __name__ == "__main__":
    main()
