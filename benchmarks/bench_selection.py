"""Column selection: ``select_features`` against pivoted QR and the cheap answers.

``cae``: the Concrete Autoencoder protocol (Abid et al. 2019: 50 pixels chosen on 4,000
MNIST / Fashion-MNIST rows, test MSE of least squares to all pixels on the next 6,000);
``tables``: 5-fold MSE of a linear regression from the chosen columns to all columns.
Run:  python benchmarks/bench_selection.py [--quick] [--only cae tables]
Writes results/selection_cae.json, selection_tables.json.
"""

import warnings

import numpy as np
from bench_vs_pca import laplacian_score, loadings, selection_error
from scipy.linalg import qr
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import MinMaxScaler

from skshapsae import SHAPSparseAutoencoder

import _real_tables
from _common import images, parser, print_table, recon_mse, sae, timed, write_json


def pivoted_qr(X, n):
    _, _, piv = qr(X - X.mean(0), mode="economic", pivoting=True)
    return piv[:n]


def rankings(X, n, ae, seed=0):
    pca = PCA(max(1, min(n, *X.shape))).fit(X)
    return {
        "select_features(X=train)": ae.select_features(n, X=X),
        "select_features(X=train, units='standard')": ae.select_features(n, X=X, units="standard"),
        "select_features(X=train, units='given')": ae.select_features(n, X=X, units="given"),
        "select_features (background)": ae.select_features(n),
        "select_features(weights='importance')": ae.select_features(n, X=X, weights="importance"),
        "pivoted QR": pivoted_qr(X, n),
        "variance": np.argsort(-X.var(0))[:n],
        "PCA loadings": np.argsort(-loadings(pca))[:n],
        "Laplacian score": np.argsort(laplacian_score(X))[:n],
    }


def cae(quick):
    out = {}
    for name, key in [("MNIST", "mnist"), ("Fashion-MNIST", "fashion_mnist")]:
        X = images(key)[0][:10000]
        train, test = X[:4000], X[4000:10000]
        if quick:
            train, test = train[:1000], test[:1000]
        ae = SHAPSparseAutoencoder(50, max_iter=20 if quick else 200, random_state=0)
        row = {"fit_seconds": timed(lambda ae=ae, train=train: ae.fit(train))[0]}
        for method, cols in rankings(train, 50, ae).items():
            ols = LinearRegression().fit(train[:, cols], train)
            row[method] = float(np.mean((ols.predict(test[:, cols]) - test) ** 2))
        row["PCA(50) bound"] = recon_mse(PCA(50).fit(train), test)
        out[name] = row
        print(name, {k: round(v, 4) for k, v in row.items()}, flush=True)
    return out


def tables(quick):
    out = {}
    for name, (X, _) in _real_tables.available().items():
        X = MinMaxScaler().fit_transform(X)
        d = X.shape[1]
        if d < 4:
            continue
        n = max(2, round(d / 4))
        k = max(1, round(d / 4))
        ae = sae(X, k)
        row = {m: selection_error(X, cols) for m, cols in rankings(X, n, ae).items()}
        rng = np.random.default_rng(0)
        random = [selection_error(X, rng.choice(d, n, replace=False)) for _ in range(20)]
        row["random"] = float(np.mean(random))
        out[name] = row
        print(f"{name:14s}", {m: round(v, 4) for m, v in row.items()}, flush=True)
    rows = list(out.values())
    wins = {m: float(np.mean([r[m] <= 1.02 * min(r.values()) for r in rows])) for m in rows[0]}
    return {"tables": out, "wins_within_2pct": wins}


def main():
    args = parser(__doc__, only=["cae", "tables"]).parse_args()
    warnings.filterwarnings("ignore")
    results = {}
    for section in args.only or ["cae", "tables"]:
        results[section] = globals()[section](args.quick)
    if "tables" in results:
        wins = results["tables"]["wins_within_2pct"].items()
        print_table([{"method": m, "wins": w} for m, w in wins])
    tag = "" if not args.only else "_" + "_".join(args.only)
    write_json(f"selection{tag}", results, args)


if __name__ == "__main__":
    main()
