"""``feature_importances_`` against the cheap rankings, on planted structure and real tables.

Sections (``--only``; docs/attribution.rst cites each): ``tables`` (every target on 41
tables: codes, appended noise column, subsample stability, selection, fit time),
``level_variants``, ``variants`` (the default level against parameter variants on every
table and scaler; ``fine_tune_all``: the 10-iteration variant alone), ``planted``
(precision@5 per cell), ``noise``, ``noise_defaults``, ``selection_noise`` (where an
appended noise column ranks), ``faithfulness`` (deletion / insertion areas), ``exact``
(against exact encoder Shapley values), ``stability``, ``codes`` (5-fold codes against
PCA and FactorAnalysis) and ``time`` (fit time against ``column_weights="uniform"``).

Run:  python benchmarks/bench_attribution.py [--quick] [--only tables ...]
Writes results/attribution[_<sections>][_quick].json (figures: plot_results.py).
"""

import itertools
import warnings
from math import factorial

import numpy as np
import torch
from bench_vs_pca import laplacian_score, loadings, selection_error
from scipy.linalg import qr
from scipy.special import expit
from scipy.stats import rankdata, spearmanr
from sklearn.base import clone
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skshapsae import SHAPSparseAutoencoder

import _real_tables
from _common import parser, sae, timed, write_json

SECTIONS = ["tables", "level_variants", "variants", "planted", "noise", "noise_defaults"]
SECTIONS += ["selection_noise", "faithfulness", "exact", "stability", "codes", "time"]
#: parameter variants of ``section_variants``, each against the default level
VARIANTS = {"10 iterations": dict(fine_tune_iter=10), "auto": dict(importance_target="auto")}
#: ``--only fine_tune_all`` (the docs' command): the 10-iteration variant alone
ALIASES = {"fine_tune_all": {"10 iterations": VARIANTS["10 iterations"]}}
ALL_TABLES = _real_tables.DEVELOPMENT + _real_tables.HELD_OUT + _real_tables.R_TABLES
SCALERS = {"standard": StandardScaler(), "minmax": MinMaxScaler()}
#: the activations by name: (torch, numpy)
ACTS = {
    "silu": (torch.nn.functional.silu, lambda x: x * expit(x)),
    "identity": (lambda t: t, lambda x: x),
    "logistic": (torch.sigmoid, expit),
    "tanh": (torch.tanh, np.tanh),
    "relu": (torch.relu, lambda x: np.maximum(x, 0)),
}


def quarter(X):
    """The code size of these benchmarks: a quarter of the columns."""
    return max(1, round(X.shape[1] / 4))


def share(flags):
    return float(np.mean(flags))


def methods(out):
    """The methods of a ``{table: {method: ...}}`` result."""
    return list(next(iter(out.values())))


def over_tables(row, names=None):
    """``{table: row(name, X, y)}`` over the tables of ``names`` that load (default: all),
    printed as they come; a table whose row is None is left out."""
    out = {}
    for name, (X, y) in _real_tables.available(names).items():
        if (r := row(name, X, y)) is not None:
            out[name] = r
            shown = {m: round(v, 3) for m, v in r.items() if isinstance(v, float)}
            print(f"{name:14s}", shown, flush=True)
    return out


# ----------------------------------------------------------------------------- data
def planted(seed, n_factors=2, nonlinear=False, noise=0.3, n_noise=15, nuisance=0, spread=False):
    """5 structured columns first, then correlated nuisance pairs, then noise columns,
    min-max scaled (``spread``: then the columns after the first 5 multiplied by 3)."""
    rng = np.random.default_rng(seed)
    n = 400
    F = rng.normal(size=(n, n_factors))
    S = F @ rng.normal(size=(n_factors, 5))
    if nonlinear:
        S = np.column_stack(
            [np.tanh(S[:, 0]), S[:, 1] * S[:, 2], np.sin(S[:, 2]), S[:, 3], np.abs(S[:, 4])]
        )
    S = (S - S.mean(0)) / S.std(0)
    S = S + noise * rng.normal(size=S.shape)
    cols = [S]
    if nuisance:  # pairs of columns that share a factor of their own, not the main ones
        for _ in range(nuisance):
            g = rng.normal(size=(n, 1))
            cols.append(g + 0.3 * rng.normal(size=(n, 2)))
    cols.append(rng.normal(size=(n, n_noise)))
    X = MinMaxScaler().fit_transform(np.hstack(cols))
    if spread:  # after scaling, as a user who scaled some columns differently
        X[:, 5:] *= 3.0
    return X


CELLS = (
    [
        dict(n_factors=f, nonlinear=nl, noise=s, n_noise=m)
        for f, nl, s, m in itertools.product([1, 2, 4], [False, True], [0.3, 1.0], [5, 50])
    ]
    + [dict(n_factors=2, nuisance=3, n_noise=15), dict(n_factors=2, spread=True, n_noise=15)]
    + [dict(n_factors=2, nonlinear=True, nuisance=3, n_noise=15, spread=True)]
)


# ----------------------------------------------------------------------------- rankings
def network(ae, layers, numpy=False):
    """The dense network's ``layers`` (a slice) from its public fitted attributes: a
    function of float64 torch rows (autograd), or of numpy rows (the library's forward)."""
    params = list(zip(ae.dense_weights_, ae.dense_intercepts_, ae.activations_))[layers]
    if not numpy:
        as_torch = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
        params = [(as_torch(W), as_torch(b), act) for W, b, act in params]

    def f(x):
        for W, b, act in params:
            x = ACTS[act][numpy](x @ W.T + b)
        return x

    return f


def encoder(ae):
    return network(ae, slice(len(ae.dense_weights_) // 2))


def grad_x_input(ae, X):
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    z = encoder(ae)(x)
    total = np.zeros(X.shape[1])
    for c in range(z.shape[1]):
        (g,) = torch.autograd.grad(z[:, c].sum(), x, retain_graph=True)
        total += np.abs(g.numpy() * (X - X.mean(0))).mean(0)
    return total


def permutation_importance(ae, X, seed):
    rng = np.random.default_rng(seed)
    base = -ae.score(X)
    out = []
    for j in range(X.shape[1]):
        Xp = X.copy()
        Xp[:, j] = rng.permutation(Xp[:, j])
        out.append(-ae.score(Xp) - base)
    return np.asarray(out)


def scores(X, k, seed):
    """column -> score (higher = more important) of every ranking method."""
    ae, old = sae(X, k, seed), sae(X, k, seed, column_weights="uniform")
    out = {
        "SHAP-SAE": ae.feature_importances_,
        "previous (eq. 4, plain loss)": old.unit_importances_[0],
        "PCA loadings": loadings(PCA(k).fit(X)),
        "FA communality": communality(FactorAnalysis(k, random_state=seed).fit(X), X),
        "variance": X.var(0),
        "permutation": permutation_importance(ae, X, seed),
        "grad x input": grad_x_input(ae, X),
        "Laplacian score": -laplacian_score(X),
        "random": np.random.default_rng(seed + 99).permutation(X.shape[1]).astype(float),
    }
    return out, ae


def communality(fa, X):
    """FactorAnalysis communalities in shares of each column's variance."""
    return (fa.components_**2).sum(0) / np.maximum(X.var(0), 1e-300)


def agree(rankings):
    """Mean Spearman correlation over all pairs of ``rankings``."""
    return float(
        np.mean([spearmanr(a, b).statistic for a, b in itertools.combinations(rankings, 2)])
    )


def ranks_of(score):
    """0 = most important ... 1 = least (average ranks for ties)."""
    r = rankdata(-np.nan_to_num(score, nan=-np.inf), method="average")
    return (r - 1) / max(len(r) - 1, 1)


def subsample_agreement(X, rankings, n=5):
    """:func:`agree` of each ranking of ``rankings(Xs, seed)`` over ``n`` subsamples of
    80 % of the rows (the same subsamples for all)."""
    subs = {}
    for seed in range(n):
        rows = np.random.default_rng(seed).choice(len(X), int(0.8 * len(X)), replace=False)
        for m, v in rankings(X[rows], seed).items():
            subs.setdefault(m, []).append(v)
    return {m: agree(v) for m, v in subs.items()}


# ----------------------------------------------------------------------------- sections
def section_planted(quick):
    seeds = range(5 if quick else 20)
    rows = []
    for cell in CELLS[4:8] + CELLS[-3:] if quick else CELLS:
        prec = {}
        for seed in seeds:
            X = planted(seed, **cell)
            sc, _ = scores(X, cell["n_factors"], seed)
            for name, s in sc.items():
                prec.setdefault(name, []).append(np.mean(np.argsort(-s)[:5] < 5))
        row = {"cell": cell, **{n: float(np.mean(v)) for n, v in prec.items()}}
        row["min SHAP-SAE"] = float(np.min(prec["SHAP-SAE"]))
        rows.append(row)
        print(cell, {n: round(v, 2) for n, v in row.items() if n != "cell"}, flush=True)
    return rows


def noisy_table(X, seed=1):
    rng = np.random.default_rng(seed)
    Xn = MinMaxScaler().fit_transform(np.hstack([X, rng.uniform(size=(len(X), 1))]))
    return Xn, quarter(X)


def noise_ranks(rankings, summary):
    """Where each ranking of ``rankings(Xn, k)`` (higher = first) puts a uniform column
    appended to each min-max scaled table (0 = first, 1 = last), and ``summary`` of them."""

    def row(name, X, y):
        return {m: float(ranks_of(v)[-1]) for m, v in rankings(*noisy_table(X)).items()}

    out = over_tables(row)
    return {"tables": out, "summary": summary(out)}


def _noise_summary(out):
    """Share of tables with the noise column in the bottom half / 10 %, and times first."""
    return {
        m: {
            "bottom_half": share([r[m] >= 0.5 for r in out.values()]),
            "bottom_10pct": share([r[m] >= 0.9 for r in out.values()]),
            "first": int(sum(r[m] == 0 for r in out.values())),
        }
        for m in methods(out)
    }


def section_noise(quick):
    return noise_ranks(lambda Xn, k: scores(Xn, k, 0)[0], _noise_summary)


def section_noise_defaults(quick):
    """With every parameter at its default (one layer of ``d // 2`` units, not ``d / 4``),
    against PCA loadings at the same ``k`` and the previous default."""

    def rankings(Xn, k):
        ae, old = sae(Xn), sae(Xn, column_weights="uniform")
        return {
            "SHAP-SAE": ae.feature_importances_,
            "previous (eq. 4, plain loss)": old.unit_importances_[0],
            "PCA loadings": loadings(PCA(ae.n_components_).fit(Xn)),
        }

    return noise_ranks(rankings, _noise_summary)


def section_selection_noise(quick):
    """Each selection's order (0 = chosen first): forward selection must take the noise
    column to reconstruct it; the importance-weighted one need not."""

    def rankings(Xn, k):
        d = Xn.shape[1]
        ae = sae(Xn, k)
        orders = {
            "select_features": ae.select_features(d, X=Xn),
            "select_features(weights='importance')": ae.select_features(
                d, X=Xn, weights="importance"
            ),
            "pivoted QR": qr(Xn - Xn.mean(0), pivoting=True)[2],
        }
        return {m: -np.argsort(order) for m, order in orders.items()}  # minus the position

    def summary(out):
        rows = out.values()
        return {m: {"first_quarter": share([r[m] < 0.25 for r in rows])} for m in methods(out)}

    return noise_ranks(rankings, summary)


def curves(ae, X, order, background):
    """Deletion and insertion areas of one ranking on the model ``ae``."""
    Z, R = ae.transform(X), ae.inverse_transform(ae.transform(X))
    zs, rs, zi, ri = [], [], [], []
    for kk in range(len(order) + 1):
        top = order[:kk]
        Xd = X.copy()
        Xd[:, top] = background[top]
        Xi = np.tile(background, (len(X), 1))
        Xi[:, top] = X[:, top]
        for Xm, zl, rl in ((Xd, zs, rs), (Xi, zi, ri)):
            Zm = ae.transform(Xm)
            zl.append(np.mean((Zm - Z) ** 2))
            rl.append(np.mean((ae.inverse_transform(Zm) - R) ** 2))
    norm = lambda c: np.mean(c) / max(max(c), 1e-300)  # noqa: E731
    return {
        "deletion_code": norm(zs),
        "deletion_recon": norm(rs),
        "insertion_code": norm(zi),
        "insertion_recon": norm(ri),
    }


def section_faithfulness(quick):
    def row(name, X, y):
        X = MinMaxScaler().fit_transform(X)
        sc, ae = scores(X, quarter(X), 0)
        rows = X[np.random.default_rng(0).choice(len(X), min(len(X), 300), replace=False)]
        return {m: curves(ae, rows, np.argsort(-s), X.mean(0)) for m, s in sc.items()}

    out = over_tables(row)
    summary = {}
    for crit in ("deletion_code", "deletion_recon", "insertion_code", "insertion_recon"):
        better = max if crit.startswith("deletion") else min
        wins = {m: 0 for m in methods(out)}
        for t in out.values():
            top = better(t[m][crit] for m in wins)
            for m in wins:  # best, or within 1 % of the best
                wins[m] += abs(t[m][crit] - top) <= 0.01 * abs(top) + 1e-12
        summary[crit] = {m: n / len(out) for m, n in wins.items()}
    return {"tables": out, "summary": summary}


def exact_encoder_importance(ae, X, background):
    """Exact Shapley values of each code unit (all 2^d coalitions), mean |phi| weighted by
    the relevance the decoder gives each code unit."""
    d = X.shape[1]
    f = encoder(ae)
    x = torch.tensor(X, dtype=torch.float64)
    bg = torch.tensor(background, dtype=torch.float64)
    values = {}
    with torch.no_grad():
        for mask in itertools.product([0, 1], repeat=d):
            m = torch.tensor(mask, dtype=torch.float64)
            mixed = x[:, None, :] * m + bg[None, :, :] * (1 - m)
            values[mask] = f(mixed.reshape(-1, d)).reshape(len(X), len(background), -1).mean(1)
    phi = torch.zeros(len(X), d, values[(0,) * d].shape[1], dtype=torch.float64)
    for mask, v in values.items():
        s = sum(mask)
        for j in range(d):
            if mask[j]:
                w = factorial(s - 1) * factorial(d - s) / factorial(d)
                without = mask[:j] + (0,) + mask[j + 1 :]
                phi[:, j] += w * (v - values[without])
    per_unit = phi.abs().mean(0).numpy()  # (d, k)
    L = len(ae.link_importances_) // 2
    decoder = ae.link_importances_[L:]
    relevance = decoder[-1].sum(1) * np.sqrt(ae.column_weights_)
    for imp in reversed(decoder):
        tot = imp.sum(1, keepdims=True)
        relevance = relevance @ np.divide(imp, tot, out=np.zeros_like(imp), where=tot > 0)
    return per_unit @ relevance, per_unit.sum(1)


def section_exact(quick):
    def row(name, X, y):
        if X.shape[1] > 10 or X.shape[1] < 4:
            return None
        X = MinMaxScaler().fit_transform(X)
        d, k = X.shape[1], quarter(X)
        ae = sae(X, (max(k, d // 2), k))
        rng = np.random.default_rng(0)
        pts = X[rng.choice(len(X), min(60, len(X)), replace=False)]
        bg = X[rng.choice(len(X), min(40, len(X)), replace=False)]
        weighted, plain = exact_encoder_importance(ae, pts, bg)
        return {
            "weighted": float(spearmanr(weighted, ae.feature_importances_).statistic),
            "unweighted": float(spearmanr(plain, ae.feature_importances_).statistic),
        }

    return over_tables(row)


def section_stability(quick):
    """Spearman between fits: SHAP-SAE over 5 seeds, and every seedless-or-seeded ranking
    over 5 subsamples of 80 % of the rows (the same subsamples for all)."""

    def rankings(X, k):
        ae = sae(X, k)
        return {
            "SHAP-SAE": ae.feature_importances_,
            "PCA loadings": loadings(PCA(k).fit(X)),
            "FA communality": communality(FactorAnalysis(k, random_state=0).fit(X), X),
        }

    def row(name, X, y):
        X = MinMaxScaler().fit_transform(X)
        k = quarter(X)
        seeds = [sae(X, k, s).feature_importances_ for s in range(5)]
        subs = subsample_agreement(X, lambda Xs, seed: rankings(Xs, k))
        return {"seeds": agree(seeds), **{f"subsamples {m}": v for m, v in subs.items()}}

    return over_tables(row, list(_real_tables.available())[: 6 if quick else None])


def section_codes(quick):
    def row(name, X, y):
        X, y = _label(X, y)
        if len(X) < 40 or np.bincount(y).min() < 5:
            return None
        k = quarter(X)

        def models(Xtr):
            return {
                "PCA": PCA(k).fit(Xtr),
                "FactorAnalysis": FactorAnalysis(k, random_state=0).fit(Xtr),
                "SHAP-SAE dense": sae(Xtr, k, importance_level=1.0),
                "previous dense": sae(Xtr, k, importance_level=1.0, column_weights="uniform"),
            }

        return cv_codes(X, y, MinMaxScaler(), models, clip=True)

    out = over_tables(row)
    rows = out.values()
    return {
        "tables": out,
        "within_1pt_of_best_share": share(
            [r["SHAP-SAE dense"] >= max(r["PCA"], r["FactorAnalysis"]) - 0.01 for r in rows]
        ),
        "never_below_pca_share": share([r["SHAP-SAE dense"] >= r["PCA"] - 0.005 for r in rows]),
    }


def cv_codes(X, y, scaler, models, clip=False, standardise=()):
    """5-fold accuracy of a logistic regression on the codes of each model of
    ``models(Xtr)`` (name -> fitted transformer), behind ``scaler`` fitted on the fold
    (``clip``: test rows clipped to [-1, 2]); ``standardise``: names also scored with a
    ``StandardScaler`` between codes and classifier (``"<name>, standardised codes"``)."""
    acc = {}
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        sc = clone(scaler).fit(X[tr])
        Xtr, Xte = sc.transform(X[tr]), sc.transform(X[te])
        Xte = np.clip(Xte, -1, 2) if clip else Xte
        for m, model in models(Xtr).items():
            Ztr, Zte = model.transform(Xtr), model.transform(Xte)
            clf = LogisticRegression(max_iter=2000)
            acc.setdefault(m, []).append(clf.fit(Ztr, y[tr]).score(Zte, y[te]))
            if m in standardise:
                std = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                score = std.fit(Ztr, y[tr]).score(Zte, y[te])
                acc.setdefault(f"{m}, standardised codes", []).append(score)
    return {m: float(np.mean(v)) for m, v in acc.items()}


def _label(X, y):
    """The table's label, or whether its last column is above its median (from the rest)."""
    if y is None:
        y = (X[:, -1] > np.median(X[:, -1])).astype(int)
        X = X[:, :-1]
    return X, y


def _output_game(ae, X, seed=0):
    """The reconstruction game's output payoff (mean |phi|, in standard units), summed over
    the other columns: the alternative to the default's loss payoff (same walks)."""
    from skshapsae.scoring._attribution import cross_attribution, reconstruction_game

    forward = network(ae, slice(None), numpy=True)
    rows = np.random.default_rng(seed).choice(len(X), min(200, len(X)), replace=False)
    _, output = reconstruction_game(forward, ae.background_, X[rows], seed=seed, output=True)
    sd = X[rows].std(0)
    return cross_attribution(output / np.where(sd > 0, sd, np.inf)[:, None])


def _rankings(ae, unique, X, k):
    """The attribution rankings of ``section_tables`` (higher = more important); without
    ``unique`` (a ``column_weights="unique"`` fit), not its ranking."""
    out = {
        "SHAP-SAE (loss game)": ae.feature_importances_,
        "output game": _output_game(ae, X),
        "unique loss + loss game": None if unique is None else unique.feature_importances_,
        "eq. 4": ae.unit_importances_[0],
        "PCA loadings": loadings(PCA(k).fit(X)),
        "FA communality": communality(FactorAnalysis(k, random_state=0).fit(X), X),
    }
    return {m: v for m, v in out.items() if v is not None}


def _codes(X, y, k, scaler):
    """5-fold accuracy of a logistic regression on PCA's, FA's and SHAP-SAE's codes."""

    def models(Xtr):
        ae = sae(Xtr, k)
        # the previous default's loss: the dense network only (no scoring needed)
        unique = dict(column_weights="unique", importance_level=1.0, fine_tune_iter=0)
        unique = clone(ae).set_params(**unique, n_explain=20, n_background=20).fit(Xtr)
        return {
            "PCA": PCA(k).fit(Xtr),
            "FA": FactorAnalysis(k, random_state=0).fit(Xtr),
            "dense": ae.reprune(importance_level=1.0, X=Xtr),
            "default level": ae,
            "unique dense": unique,
        }

    return cv_codes(X, y, scaler, models)


def _selection(X, k_sel, scaler):
    """Columns chosen behind ``scaler``, judged by the 5-fold MSE (standard units) of a
    linear regression from them to all columns, against the other selectors."""
    Xs = clone(scaler).fit_transform(X) if scaler is not None else X
    # the model (its importances, for "importance top-k") is fitted on min-max scaled
    # rows: L-BFGS on raw columns of variance 1e6 diverges; select_features gets the rows
    # behind each scaler
    ae = sae(MinMaxScaler().fit_transform(X), quarter(X))
    _, _, piv = qr(Xs - Xs.mean(0), mode="economic", pivoting=True)
    chosen = {
        "select_features": ae.select_features(k_sel, X=Xs),
        "pivoted QR": piv[:k_sel],
        "variance": np.argsort(-Xs.var(0))[:k_sel],
        "PCA loadings": np.argsort(-loadings(PCA(k_sel).fit(Xs)))[:k_sel],
        "importance top-k": np.argsort(-ae.feature_importances_)[:k_sel],
    }
    Z = (X - X.mean(0)) / X.std(0)
    return {m: float(selection_error(Z, cols)) for m, cols in chosen.items()}


def _table_row(name, X0, y0, quick):
    """One table of ``section_tables`` (None below 100 rows: too few for 5 folds and 80 %
    subsamples to mean much)."""
    if len(X0) < 100:
        return None
    row = {"held_out": name in _real_tables.R_TABLES, "shape": list(X0.shape)}
    X, y = _label(X0, y0)
    if np.bincount(y).min() >= 5:
        for label, scaler in SCALERS.items():
            row[f"codes {label}"] = _codes(X, y, quarter(X), scaler)
    kn = quarter(X0)
    Xn, _ = noisy_table(X0)
    ae = SHAPSparseAutoencoder(hidden_layer_sizes=kn, random_state=0)
    row["fit seconds"] = timed(lambda: ae.fit(Xn))[0]
    pca = PCA(kn)
    row["PCA seconds"] = timed(lambda: pca.fit(Xn))[0]
    ranked = _rankings(ae, sae(Xn, kn, column_weights="unique"), Xn, kn)
    row["noise rank"] = {m: float(ranks_of(v)[-1]) for m, v in ranked.items()}

    def refitted(Xs, seed):  # the unique loss is not refitted here (time)
        return _rankings(sae(Xs, kn, seed), None, Xs, kn)

    Xm = MinMaxScaler().fit_transform(X0)
    row["stability"] = subsample_agreement(Xm, refitted, 4 if quick else 5)
    k_sel = max(2, round(X0.shape[1] / 4))
    scalers = {**SCALERS, "none": None}
    row["selection"] = {label: _selection(X0, k_sel, s) for label, s in scalers.items()}
    return row


def section_tables(quick):
    """Every target of the attribution round on every table (development tables, then
    the held-out R tables): codes under both scalers, the appended noise column, the
    stability over 80 % subsamples, selection under three scalers, fit time."""
    names = ALL_TABLES[:3] + _real_tables.R_TABLES[:3] if quick else ALL_TABLES
    out = over_tables(lambda name, X, y: _table_row(name, X, y, quick), names)
    return {"tables": out, "summary": _tables_summary(out)}


def _tables_summary(out):
    """The round's targets, counted over the tables (each scaler's codes count apart)."""
    rows = list(out.values())
    codes = [r[c] for r in rows for c in ("codes standard", "codes minmax") if c in r]
    summary = {
        "tables": len(out),
        "held_out": int(sum(r["held_out"] for r in rows)),
        "dense >= PCA - 0.5pt": share([c["dense"] >= c["PCA"] - 0.005 for c in codes]),
        "dense >= max(PCA, FA) - 1pt": share(
            [c["dense"] >= max(c["PCA"], c["FA"]) - 0.01 for c in codes]
        ),
        "default level >= dense - 1pt": share(
            [c["default level"] >= c["dense"] - 0.01 for c in codes]
        ),
        "unique dense >= PCA - 0.5pt": share(
            [c["unique dense"] >= c["PCA"] - 0.005 for c in codes]
        ),
    }
    for m in rows[0]["noise rank"]:
        ranks = [r["noise rank"][m] for r in rows]
        summary[f"noise bottom half [{m}]"] = share([v >= 0.5 for v in ranks])
        summary[f"noise bottom 10% [{m}]"] = share([v >= 0.9 for v in ranks])
        if m in rows[0]["stability"]:
            summary[f"stability [{m}]"] = share([r["stability"][m] for r in rows])
        pca = [r["stability"]["PCA loadings"] - 0.05 for r in rows]
        summary[f"stability >= PCA - 0.05 [{m}]"] = share(
            [r["stability"].get(m, np.nan) >= p for r, p in zip(rows, pca)]
        )
    for scaler in ("standard", "minmax", "none"):
        for m in rows[0]["selection"][scaler]:
            best = [min(r["selection"][scaler].values()) for r in rows]
            summary[f"selection best within 2% [{scaler}, {m}]"] = share(
                [r["selection"][scaler][m] <= 1.02 * b for r, b in zip(rows, best)]
            )
    summary["fit seconds (max)"] = float(max(r["fit seconds"] for r in rows))
    return summary


#: (table, scaler) cases where the default level lost most against the dense codes
LEVEL_CASES = [("wine", "standard"), ("diabetes", "standard"), ("anes96", "standard")]
LEVEL_CASES += [("MASS/Melanoma", "minmax"), ("MASS/Boston", "minmax"), ("ISLR/Auto", "standard")]
LEVEL_VARIANTS = {
    "fine_tune_iter=10": {"fine_tune_iter": 10},
    "fine_tune_iter=30": {"fine_tune_iter": 30},
    "fine_tune_iter=100": {"fine_tune_iter": 100},
    "preactivation game": {"importance_target": "preactivation"},
    "network game": {"importance_target": "reconstruction"},
    "pruning='global'": {"pruning": "global"},
    "fold_bias=False": {"fold_bias": False},
}


def variant_codes(cases, variants, pca=False, standardise=(), default="default level"):
    """:func:`cv_codes` on each (table, scaler) of ``cases``: the dense network (level
    1.0), the default level (key ``default``), a fit with each of ``variants``'
    parameters (and PCA)."""

    def models(Xtr, k):
        ae = sae(Xtr, k)
        fits = {"PCA": PCA(k).fit(Xtr)} if pca else {}
        fits.update({"dense": ae.reprune(importance_level=1.0, X=Xtr), default: ae})
        for label, params in variants.items():
            fits[label] = clone(ae).set_params(**params).fit(Xtr)
        return fits

    out = {}
    for name, scaler in cases:
        X, y = _label(*_real_tables.load(name))
        k = quarter(X)
        acc = cv_codes(
            X, y, SCALERS[scaler], lambda Xtr, k=k: models(Xtr, k), standardise=standardise
        )
        out[f"{name} ({scaler})"] = acc
        print(name, scaler, {m: round(v, 3) for m, v in acc.items()}, flush=True)
    return out


def section_level_variants(quick):
    """The default level's codes against the dense codes under other pruning settings
    (5-fold accuracy as in ``section_tables``), and the dense codes against PCA's with a
    ``StandardScaler`` between codes and classifier."""
    cases = LEVEL_CASES[: 2 if quick else None]
    standardise = ("PCA", "dense")
    return variant_codes(cases, LEVEL_VARIANTS, True, standardise, default="default")


def section_variants(quick, variants=VARIANTS):
    """The default level's codes against each of ``variants`` on every table and scaler of
    ``section_tables`` (the same folds): per variant the share of cases within a point of
    the dense codes, the mean gap to them (points) and the cases better / equal / worse
    than the default level."""

    def kept(X, y):  # as section_tables' codes
        return len(X) >= 100 and np.bincount(_label(X, y)[1]).min() >= 5

    tables = _real_tables.available(ALL_TABLES[: 3 if quick else None])
    cases = [(name, s) for name, (X, y) in tables.items() if kept(X, y) for s in SCALERS]
    out = variant_codes(cases, variants)
    rows, summary = list(out.values()), {}
    for m in ["default level", *variants]:
        summary[f"within 1pt of dense [{m}]"] = share([r[m] >= r["dense"] - 0.01 for r in rows])
        summary[f"mean gap to dense, points [{m}]"] = 100 * share([r[m] - r["dense"] for r in rows])
    for m in variants:
        gain = [r[m] - r["default level"] for r in rows]
        summary[f"better / equal / worse than the default level [{m}]"] = [
            int(sum(g > 1e-9 for g in gain)),
            int(sum(abs(g) <= 1e-9 for g in gain)),
            int(sum(g < -1e-9 for g in gain)),
        ]
    return {"cases": out, "summary": summary}


def section_time(quick):
    out = {}
    for name in ["wine", "breast_cancer", "digits", "fair", "star98", "anes96"]:
        X, _ = _real_tables.load(name)
        X = MinMaxScaler().fit_transform(X)
        k, t = quarter(X), {}
        for label, cw in [("previous", "uniform"), ("default", "auto")]:
            ae = SHAPSparseAutoencoder(hidden_layer_sizes=k, column_weights=cw, random_state=0)
            t[label] = timed(lambda ae=ae, X=X: ae.fit(X), repeats=3)[0]
        out[name] = {**t, "ratio": t["default"] / t["previous"]}
        print(f"{name:14s} default / previous fit time: {out[name]['ratio']:.2f}", flush=True)
    return out


def main():
    args = parser(__doc__, only=SECTIONS + list(ALIASES)).parse_args()
    warnings.filterwarnings("ignore")
    results = {}
    for section in args.only or SECTIONS:
        print(f"== {section}", flush=True)
        if section in ALIASES:
            run = lambda s=section: section_variants(args.quick, ALIASES[s])  # noqa: E731
        else:
            run = lambda s=section: globals()[f"section_{s}"](args.quick)  # noqa: E731
        seconds, results[section] = timed(run)
        result = results[section]
        print(f"   ({seconds:.0f} s)", flush=True)
        for m, v in (result.get("summary", {}) if isinstance(result, dict) else {}).items():
            print(f"   {m}: {v}")
    tag = "" if not args.only else "_" + "_".join(args.only)
    write_json(f"attribution{tag}", results, args)


if __name__ == "__main__":
    main()
