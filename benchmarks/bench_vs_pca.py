"""The dense autoencoder and SHAP-SAE against PCA at the same code size.

Sections (``--only``; default ``codes fit_times latent``, written to ``--name``):
``codes``: 5-fold CV of ``MinMaxScaler -> reducer -> StandardScaler -> LogisticRegression``
for ``PCA(k)``, the dense network, the default level and a tuned level on ``--datasets``;
``fit_times``: default fits; ``latent``: precision@5 on a latent-factor table;
``tables``: 11 tables, 5 folds x 3 seeds of ``MinMaxScaler -> reducer ->
LogisticRegression``, then each ranking's selection error (bench_tables.json);
``timing``: the default pipeline's CV time against PCA's (bench_tables_timing.json).
Run:  python benchmarks/bench_vs_pca.py [--quick] [--only ...] [--datasets digits cancer
      fashion mnist] [--init random] [--name vs_pca] [--tables wine ...]
"""

import tempfile
import warnings

import numpy as np
from sklearn import datasets as sk
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.neighbors import kneighbors_graph
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skshapsae import SHAPSparseAutoencoder

from _common import Timer, images, parser, print_table, recon_mse, sae, timed, write_json

LEVELS = [0.5, 0.7, 0.8, 0.9, 0.95, 1.0]
TABLE_LEVELS = [0.6, 0.8, 0.9, 0.95, 1.0]
IMAGES = {"fashion": ("Fashion-MNIST", "fashion_mnist", [(32, (128, 32)), (64, (256, 64))])}
IMAGES["mnist"] = ("MNIST", "mnist", [(32, (128, 32))])


# ----------------------------------------------------------------------------- codes
def code_data(only, quick):
    rng = np.random.default_rng(0)
    if "digits" in only:
        yield "digits", *sk.load_digits(return_X_y=True), [(8, (32, 8)), (16, (32, 16))], False
    if "cancer" in only:
        yield "breast cancer", *sk.load_breast_cancer(return_X_y=True), [(4, (16, 4))], False
    for key, (name, loader, codes) in IMAGES.items():
        if key in only:
            X, y = images(loader)
            n = min(1000 if quick else 10000, len(X))
            pick = np.sort(rng.choice(len(X), size=n, replace=False))
            yield f"{name} {len(pick)} rows", X[pick], y[pick], codes, True


def pipeline(reducer):
    return make_pipeline(
        MinMaxScaler(), reducer, StandardScaler(), LogisticRegression(max_iter=2000)
    )


def evaluate(name, make, X, y, folds, image):
    """Accuracy, test MSE, fit time and sparsity of the pipeline ``make()`` over the folds."""
    acc, mse, fit, eta, level = [], [], [], [], []
    for train, test in folds:
        model = make()
        if isinstance(model, GridSearchCV):
            inner = ShuffleSplit(1, test_size=0.2, random_state=0) if image else 3
            model.set_params(cv=inner)
        fit.append(timed(lambda m=model, tr=train: m.fit(X[tr], y[tr]))[0])
        acc.append(model.score(X[test], y[test]))
        if isinstance(model, GridSearchCV):
            level.append(model.best_params_["shapsparseautoencoder__importance_level"])
            model = model.best_estimator_
        mse.append(recon_mse(model[1], model[0].transform(X[test])))
        eta.append(getattr(model[1], "sparsity_", 0.0))
    return {
        "method": name,
        "accuracy": f"{np.mean(acc):.4f} +/- {np.std(acc):.4f}",
        "acc_mean": float(np.mean(acc)),
        "acc_sd": float(np.std(acc)),
        "test MSE": float(np.mean(mse)),
        "fit s": float(np.mean(fit)),
        "sparsity": float(np.mean(eta)),
        "levels": level or None,
    }


def codes(args):
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for data_name, X, y, sizes, image in code_data(args.datasets, args.quick):
            X = np.asarray(X, dtype=np.float64)
            folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
            for k, hidden in sizes:
                # one cache for every SHAP-SAE variant: the dense training and scoring run
                # once per outer fold (in the first variant's fit time) and per inner set
                sae = SHAPSparseAutoencoder(hidden, random_state=0, device="cpu", memory=cache)
                if args.init is not None:
                    sae.set_params(init=args.init)
                if args.quick:
                    sae.set_params(max_iter=5, n_explain=20, n_background=20)
                grid = {"shapsparseautoencoder__importance_level": LEVELS}
                methods = {
                    "PCA": lambda k=k: pipeline(PCA(k, random_state=0)),
                    "dense AE (m=1.0)": lambda s=sae: pipeline(
                        clone(s).set_params(importance_level=1.0, fine_tune_iter=0)
                    ),
                    "SHAP-SAE (m=0.8)": lambda s=sae: pipeline(clone(s)),
                    "SHAP-SAE tuned m": lambda s=sae, g=grid: GridSearchCV(pipeline(clone(s)), g),
                }
                for name, make in methods.items():
                    record = evaluate(name, make, X, y, folds, image)
                    record.update(data=data_name, k=k, hidden=str(hidden))
                    print_table([record], ["data", "k", "method", "accuracy", "test MSE", "fit s"])
                    rows.append(record)
    return rows


def fit_times(args):
    out = {}
    for name, X, hidden in [
        ("breast cancer", sk.load_breast_cancer(return_X_y=True)[0], None),
        ("digits", sk.load_digits(return_X_y=True)[0], (32, 8)),
    ]:
        ae = SHAPSparseAutoencoder(hidden, random_state=0, device="cpu")
        X = MinMaxScaler().fit_transform(X)
        seconds = timed(lambda ae=ae, X=X: ae.fit(X))[0]
        out[name] = {"fit s": seconds, **stages(ae)}
    if not args.quick:
        X = images("fashion_mnist")[0]
        X = X[np.sort(np.random.default_rng(1).choice(len(X), 10000, replace=False))]
        ae = SHAPSparseAutoencoder((256, 64), random_state=0, device="cpu").fit(X)
        out["Fashion-MNIST 10000 rows (256, 64)"] = stages(ae)
    for name, record in out.items():
        print(name, {k: round(v, 2) for k, v in record.items()})
    return out


def stages(ae):
    times = ae.fit_times_
    return {"training s": times["training"], "scoring s": times["scoring"], "epochs": ae.n_iter_}


def latent(args):
    """5 columns driven by a 2-dimensional latent factor, then 25 noise columns, 2,000 rows:
    precision@5 of ``feature_importances_`` and of PCA's summed absolute loadings."""
    rows = []
    for seed in range(2 if args.quick else 5):
        rng = np.random.default_rng(seed)
        Z = rng.standard_normal((2000, 2))
        informative = Z @ rng.standard_normal((2, 5)) + 0.1 * rng.standard_normal((2000, 5))
        informative /= informative.std(axis=0)
        X = np.hstack([informative, rng.standard_normal((2000, 25))])
        X = MinMaxScaler().fit_transform(X)
        ae = SHAPSparseAutoencoder((2,), random_state=seed, device="cpu").fit(X)
        loading = np.abs(PCA(2).fit(X).components_).sum(axis=0)
        hits = lambda score: np.isin(np.argsort(-score)[:5], range(5)).mean()  # noqa: E731
        row = {"seed": seed, "SHAP-SAE precision@5": hits(ae.feature_importances_)}
        rows.append({**row, "PCA precision@5": hits(loading)})
    print_table(rows)
    return rows


# ----------------------------------------------------------------------------- tables
def latent_factor_table(n=400, seed=0):
    """5 columns driven by 2 latent factors, then 15 independent noise columns."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 2))
    structured = factors @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5))
    noise = rng.normal(size=(n, 15)) * structured.std()
    return np.hstack([structured, noise]), (factors[:, 0] > 0).astype(int)


def tables(names=None):
    """name -> (X, y, k): bundled and synthetic tables whose structure is known (those of
    ``names`` if given)."""
    X, y = sk.load_diabetes(return_X_y=True)
    low_rank = sk.make_low_rank_matrix(500, 30, effective_rank=5, random_state=0)
    w = low_rank @ np.random.default_rng(0).normal(size=30)
    out = {
        "iris": (*sk.load_iris(return_X_y=True), 2),
        "wine": (*sk.load_wine(return_X_y=True), 3),
        "breast_cancer": (*sk.load_breast_cancer(return_X_y=True), 4),
        "digits": (*sk.load_digits(return_X_y=True), 8),
        "diabetes (y > median)": (X, (y > np.median(y)).astype(int), 3),
        "make_classification": (
            *sk.make_classification(600, 20, n_informative=4, n_redundant=4, random_state=0),
            4,
        ),
        "make_blobs": (
            *sk.make_blobs(600, n_features=20, centers=4, cluster_std=4.0, random_state=0),
            3,
        ),
        "gaussian_quantiles": (
            *sk.make_gaussian_quantiles(n_samples=600, n_features=8, n_classes=3, random_state=0),
            4,
        ),
        "hastie_10_2": (*sk.make_hastie_10_2(800, random_state=0), 5),
        "low_rank_matrix": (low_rank, (w > np.median(w)).astype(int), 5),
        "latent_factors": (*latent_factor_table(), 2),
    }
    return {name: table for name, table in out.items() if not names or name in names}


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


def loadings(pca):
    """PCA loadings weighted by the components' variance."""
    return (pca.components_**2 * pca.explained_variance_[:, None]).sum(0)


def selection_error(X, columns):
    """5-fold CV MSE of a linear regression from ``columns`` to all columns."""
    predicted = cross_val_predict(
        LinearRegression(), X[:, columns], X, cv=KFold(5, shuffle=True, random_state=0)
    )
    return float(np.mean((predicted - X) ** 2))


def attribution(X, k, seed=0):
    """Selection error of each score's top ``k`` columns (X scaled to [0, 1])."""
    rng = np.random.default_rng(seed)
    ae = sae(X, k, seed)
    net = clone(ae).set_params(importance_target="reconstruction").fit(X)
    pca = PCA(k).fit(X)
    rankings = {
        "SHAP-SAE feature_importances_": np.argsort(-ae.feature_importances_),
        "network game": np.argsort(-net.feature_importances_),
        "SHAP-SAE select_features": ae.select_features(k),
        "variance": np.argsort(-X.var(axis=0)),
        "PCA loadings": np.argsort(-loadings(pca)),
        "Laplacian score": np.argsort(laplacian_score(X)),
    }
    errors = {name: selection_error(X, order[:k]) for name, order in rankings.items()}
    random = [selection_error(X, rng.choice(X.shape[1], k, replace=False)) for _ in range(20)]
    return {**errors, "random": float(np.mean(random))}


def fit_reducer(method, k, seed, X, y):
    if method == "PCA":
        return PCA(k, random_state=seed).fit(X)
    if method != "tuned m":
        return sae(X, k, seed, **({"importance_level": 1.0} if method == "dense" else {}))
    with tempfile.TemporaryDirectory() as cache:
        pipe = make_pipeline(
            SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=seed, memory=cache),
            LogisticRegression(max_iter=1000),
        )
        grid = {"shapsparseautoencoder__importance_level": TABLE_LEVELS}
        best = GridSearchCV(pipe, grid, cv=3).fit(X, y).best_estimator_[0]
        return best.set_params(memory=None)


def table_codes(X, y, k, seeds, folds):
    methods = ["PCA", "dense", "default level", "tuned m"]
    acc = {m: [] for m in methods}
    mse = {m: [] for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    n_iter, warned = [], 0
    for seed in seeds:
        for m in methods:
            acc[m].append([])
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
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
                acc[method][-1].append(clf.score(Z_te, y[test]))
                mse[method].append(recon_mse(reducer, X_te))
    rows = {}
    for method in methods:
        a = np.asarray(acc[method])
        rows[method] = {
            "acc_mean": float(a.mean()),
            "acc_sd": float(a.std()),
            "seed_sd": float(a.mean(axis=1).std()),
            "mse": float(np.mean(mse[method])),
            "time_ratio": seconds[method] / seconds["PCA"],
        }
    rows["default level"]["n_iter_median"] = float(np.median(n_iter))
    rows["default level"]["convergence_warnings"] = int(warned)
    rows["PCA"]["fold_sd"] = float(np.asarray(acc["PCA"]).std(axis=1).mean())
    return rows


def precision_at_5(seeds):
    hits = []
    for seed in seeds:
        X = MinMaxScaler().fit_transform(latent_factor_table(seed=seed)[0])
        ae = sae(X, 2, seed)
        hits.append(float(np.isin(np.argsort(-ae.feature_importances_)[:5], np.arange(5)).mean()))
    return {"mean": float(np.mean(hits)), "per_seed": hits}


def table_section(args):
    seeds, folds = ([0], 2) if args.quick else ([0, 1, 2], 5)
    results = {"tables": {}, "attribution": {}}
    for name, (X, y, k) in tables(args.tables).items():
        rows = table_codes(X, y, k, seeds, folds)
        results["tables"][name] = {"shape": list(X.shape), "k": k, **rows}
        print_table([{"table": name, "method": m, **r} for m, r in rows.items()])
        errors = attribution(MinMaxScaler().fit_transform(X), k)
        results["attribution"][name] = errors
        print(f"selection error (top {k}):", {m: round(e, 4) for m, e in errors.items()})
        write_json("bench_tables", results, args)  # after every table: a stopped run keeps it
    results["latent_precision_at_5"] = precision_at_5(seeds)
    print("latent-factor table, hidden_layer_sizes=2:", results["latent_precision_at_5"])
    write_json("bench_tables", results, args)


def timing(args):
    """The default pipeline's 5-fold CV time against PCA's, best of 3, one process."""
    results = {"tables": {}}
    for name, (X, y, k) in tables(args.tables).items():
        cv = StratifiedKFold(5, shuffle=True, random_state=0)

        def run(reducer, X=X, y=y, cv=cv):
            pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=1000))
            with Timer() as t, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cross_val_predict(pipe, X, y, cv=cv)
            return t.seconds

        run(PCA(k)), run(SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=0))  # warm-up
        pca = min(run(PCA(k)) for _ in range(3))
        sae = SHAPSparseAutoencoder(hidden_layer_sizes=k, random_state=0)
        sae = min(run(sae) for _ in range(3))
        results["tables"][name] = {"pca_s": pca, "default_s": sae, "ratio": sae / pca}
        print(f"{name:24s} PCA {pca:.3f} s  default level {sae:.3f} s  ratio {sae / pca:.1f}x")
    write_json("bench_tables_timing", results, args)


def main(argv=None):
    p = parser(__doc__, only=["codes", "fit_times", "latent", "tables", "timing"])
    p.add_argument("--datasets", nargs="+", default=["digits", "cancer", "fashion", "mnist"])
    p.add_argument("--tables", nargs="+", help="tables of --only tables / timing (names)")
    p.add_argument("--name", default="vs_pca", help="results file of codes / fit_times / latent")
    p.add_argument("--init", default=None, help="the autoencoder's init (default: its own)")
    args = p.parse_args(argv)
    only = args.only or ["codes", "fit_times", "latent"]
    payload = {"table": None, "fit_times": None, "latent": None}
    for section in only:
        if section in ("tables", "timing"):
            (table_section if section == "tables" else timing)(args)
        else:
            payload[{"codes": "table"}.get(section, section)] = globals()[section](args)
    if {"codes", "fit_times", "latent"} & set(only):
        columns = ["data", "k", "method", "accuracy", "test MSE", "fit s", "sparsity"]
        if payload["table"]:
            print_table(payload["table"], columns)
        write_json(args.name, payload, args)


if __name__ == "__main__":
    main()
