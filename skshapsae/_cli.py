"""Command-line main job: fit, sweep the importance level, print a table.

``skshapsae`` (or ``python -m skshapsae``) with no arguments runs on
scikit-learn's bundled digits data; ``--data file.csv --target label`` (or an
``.npz`` with arrays ``X`` and ``y``) runs on the user's data.

Every problem with the arguments or the data is one ``error:`` line naming the problem
and the fix, with exit status 2, found before any training; nothing is written until the
run has succeeded (outputs go to a temporary folder first).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

EXAMPLE = """example:
  skshapsae --data wine.csv --target class --levels 0.7,0.9 --output wine-out

The CSV needs a header row, numeric feature columns and a target column (--target).
Defaults adapt to the data: --hidden auto uses min(32, width/2) then min(8, width/4)
units, so any table of 2 or more columns works."""


class UsageError(Exception):
    """A problem with the command line or the data, reported as one ``error:`` line."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**32 - 1000:
        raise argparse.ArgumentTypeError(f"{value} must be in [0, 2**32 - 1000)")
    return value


def _levels(text):
    try:
        levels = [float(m) for m in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 0.5,0.8,1.0"
        ) from None
    bad = [m for m in levels if not 0 < m <= 1]
    if bad:
        raise argparse.ArgumentTypeError(f"importance levels must be in (0, 1]; got {bad}")
    return levels


def _hidden(text):
    if text == "auto":
        return "auto"
    try:
        widths = tuple(int(h) for h in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not 'auto' or comma-separated integers, e.g. 32,8"
        ) from None
    if any(w < 1 for w in widths) or any(b > a for a, b in zip(widths, widths[1:])):
        raise argparse.ArgumentTypeError(
            f"{text!r}: widths must be positive and non-increasing, e.g. 32,8"
        )
    return widths


def auto_hidden(n_features):
    """The ``--hidden auto`` widths for a table of ``n_features`` columns."""
    first = max(1, min(32, n_features // 2))
    code = max(1, min(8, n_features // 4))
    return (first,) if code >= first else (first, code)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skshapsae",
        description="Fit a SHAP-SAE sparse autoencoder, sweep the importance level and "
        "report sparsity, reconstruction error and downstream accuracy.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", help="CSV (with --target) or .npz with X and y; default: digits")
    parser.add_argument("--target", default="target", help="target column of the CSV")
    parser.add_argument(
        "--hidden",
        type=_hidden,
        default="auto",
        help="encoder widths, comma-separated, or 'auto' (default: from the data's width)",
    )
    parser.add_argument(
        "--levels",
        type=_levels,
        default=_levels("0.5,0.7,0.8,0.9,0.95,1.0"),
        help="importance levels in (0, 1] to sweep, comma-separated",
    )
    parser.add_argument(
        "--max-iter",
        type=_positive_int,
        default=200,
        help="upper bound on training epochs (stops on convergence)",
    )
    parser.add_argument(
        "--n-explain",
        type=_positive_int,
        default=None,
        help="explained rows per layer (default: 200, or all training rows if fewer)",
    )
    parser.add_argument(
        "--n-background",
        type=_positive_int,
        default=None,
        help="background rows (default: 100, or all training rows if fewer)",
    )
    parser.add_argument(
        "--drop",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="CSV columns to leave out (IDs, leaks), e.g. --drop id date",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=5,
        help="train/test splits (seeds seed .. seed+repeats-1); the report gives mean +/- sd",
    )
    parser.add_argument("--output", default="skshapsae-output", help="output folder")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed (0 .. 2**32 - 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _load(path, target, drop=()):
    """``X`` (float64), ``y`` and the feature names (None for an .npz) of the user's file."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"data file {str(path)!r} does not exist.")
    if not path.is_file():
        raise UsageError(f"--data {str(path)!r} is not a file; pass a .csv or .npz file.")
    if path.suffix == ".npz":
        return (*_load_npz(path), None)
    try:
        import pandas as pd
    except ImportError:
        raise UsageError(
            "reading a CSV needs pandas: pip install 'skshapsae[cli]' (or pass an .npz)"
        ) from None
    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # parser, encoding, gzip / zip / bz2 and I/O errors alike
        raise UsageError(
            f"{path} is not a readable CSV with a header row ({type(exc).__name__}: {exc})."
        ) from None
    if len(frame) == 0:
        raise UsageError(f"{path} has a header but no data rows.")
    unknown = [c for c in drop if c not in frame.columns]
    if unknown:
        raise UsageError(
            f"--drop {unknown} not in {path}; its columns are {list(frame.columns)[:20]}."
        )
    if target in drop:
        raise UsageError(f"--drop names the target column {target!r}; drop feature columns only.")
    frame = frame.drop(columns=list(drop))
    if target not in frame.columns:
        raise UsageError(
            f"target column {target!r} is not in {path}; its columns are "
            f"{list(frame.columns)[:20]}. Pass --target NAME."
        )
    y = frame.pop(target).to_numpy()
    if frame.shape[1] == 0:
        raise UsageError(f"{path} holds only the target column {target!r}; no features to fit.")
    text = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise UsageError(
            f"column(s) {_listed(text)} of {path} are not numeric; encode them (for example "
            f"one-hot) before running, or leave them out with --drop {' '.join(text[:3])}"
            f"{' ...' if len(text) > 3 else ''}."
        )
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing or pd.isna(y).any():
        where = missing or [target]
        raise UsageError(
            f"column(s) {_listed(where)} of {path} have missing values; impute or drop those "
            "rows first (for example with sklearn.impute.SimpleImputer), or leave the columns "
            "out with --drop."
        )
    X = frame.to_numpy(dtype=np.float64)
    infinite = [str(c) for c, ok in zip(frame.columns, np.isfinite(X).all(axis=0)) if not ok]
    if infinite:
        raise UsageError(
            f"column(s) {_listed(infinite)} of {path} hold infinite values; replace or drop them."
        )
    names = [str(c) for c in frame.columns]
    for name, column in zip(names, X.T):
        if _looks_like_an_id(column):
            print(
                f"skshapsae: warning: column {name!r} looks like a row ID (distinct integers "
                f"that grow with the row order); if it is one, leave it out with --drop {name}",
                file=sys.stderr,
            )
    return X, y, names


def _listed(names, limit=10):
    """``names`` for a message: all of them, or the first ``limit`` and how many more."""
    shown = ", ".join(repr(n) for n in names[:limit])
    more = len(names) - limit
    return f"[{shown}]" + (f" and {more} more" if more > 0 else "")


def _looks_like_an_id(column):
    """Distinct integers, monotone in row order: a row number, not a measurement."""
    if len(column) < 10 or not np.all(column == np.round(column)):
        return False
    steps = np.diff(column)
    return bool(np.all(steps > 0) or np.all(steps < 0))


def _load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"X", "y"} - set(data.files)
            if missing:
                raise UsageError(f"{path} must hold arrays 'X' and 'y'; missing {sorted(missing)}.")
            X, y = np.asarray(data["X"]), np.asarray(data["y"])
    except UsageError:
        raise
    except ValueError as exc:  # object arrays need pickle, which is never allowed
        raise UsageError(f"{path} cannot be read without pickle ({exc}).") from None
    except Exception as exc:  # truncated or damaged zip members, I/O errors
        raise UsageError(
            f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})."
        ) from None
    if y.ndim != 1:
        raise UsageError(f"{path}: y must be a 1-d array of labels; got shape {y.shape}.")
    if X.ndim != 2 or X.dtype.kind not in "biuf" or len(X) != len(y):
        raise UsageError(
            f"{path}: X must be a numeric 2-d array with one row per entry of y; got X of "
            f"shape {X.shape} and dtype {X.dtype}, y of length {len(y)}."
        )
    if not np.all(np.isfinite(X)):
        raise UsageError(f"{path}: X has NaN or infinite values; impute or drop them first.")
    return X.astype(np.float64), y


def _check_data(X, y, hidden):
    if X.shape[0] < 4:
        raise UsageError(f"the data has {X.shape[0]} rows; at least 4 are needed.")
    if X.shape[1] < 2:
        raise UsageError(f"the data has {X.shape[1]} feature column(s); at least 2 are needed.")
    _, counts = np.unique(y, return_counts=True)
    continuous = y.dtype.kind == "f" and not np.all(y == np.round(y))
    if y.dtype.kind in "iuf" and (continuous or counts.size > max(20, len(y) // 10)):
        raise UsageError(
            f"the target looks continuous ({counts.size} distinct values in {len(y)} rows): "
            "the CLI judges the codes with a classifier and does not support regression "
            "targets. Bin the target (for example y > median) into classes, or use the "
            "library with a regressor in a Pipeline."
        )
    if counts.size < 2 or counts.min() < 2:
        raise UsageError(
            "every class of the target needs at least 2 rows (one for training, one for the "
            f"held-out test), and there must be 2 classes; the smallest class has "
            f"{counts.min()} row(s) among {counts.size} class(es)."
        )
    # the stratified 25 % test split needs a row of every class on both sides
    n_test = int(np.ceil(TEST_SIZE * len(y)))
    if min(n_test, len(y) - n_test) < counts.size:
        raise UsageError(
            f"the {TEST_SIZE:.0%} test split of {len(y)} rows holds {n_test} rows and the "
            f"training split {len(y) - n_test}, but a stratified split needs at least one "
            f"row of each of the {counts.size} classes on both sides; use more rows (at "
            f"least {int(np.ceil(counts.size / TEST_SIZE))}) or fewer classes."
        )
    if hidden[0] > X.shape[1]:
        raise UsageError(
            f"--hidden {','.join(map(str, hidden))} starts wider than the data's "
            f"{X.shape[1]} features; use --hidden auto or widths <= {X.shape[1]}."
        )


#: Share of the rows held out in each split.
TEST_SIZE = 0.25


def _check_output(path):
    """Fail before any training when the output folder cannot be written; creates
    nothing (the folders appear when the run has succeeded)."""
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(
                f"--output {str(path)!r} cannot be a folder: {str(parent)!r} is a file."
            )
    existing = next(p for p in (path.parent, *path.parent.parents) if p.exists() or p == p.parent)
    try:
        probe = tempfile.mkdtemp(prefix=".skshapsae-", dir=existing)
        if path.exists():
            (path / ".skshapsae-probe").touch()
            (path / ".skshapsae-probe").unlink()
        os.rmdir(probe)
    except OSError as exc:
        raise UsageError(
            f"--output {str(path)!r} cannot be written ({exc.strerror or exc}); choose a "
            "folder you can write to."
        ) from None


def main(argv=None):
    """Console entry point: run the main job; returns the exit status (2 for usage errors).

    Warnings are printed as ``skshapsae: warning: ...`` lines, each message once (not as
    Python's warnings, which would point at the wrapper script).
    """
    import warnings

    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if text not in seen:
            seen.add(text)
            print(f"skshapsae: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        try:
            run(argv)
        except UsageError as exc:
            print(f"skshapsae: error: {exc}", file=sys.stderr)
            return 2
    return 0


def run(argv=None):
    """Run the main job; returns the summary rows, one per level (UsageError on bad input)."""
    from sklearn.datasets import load_digits

    args = build_parser().parse_args(argv)
    _check_output(args.output)
    if args.data is None:
        if args.drop:
            raise UsageError("--drop needs --data (the bundled digits have no named columns).")
        X, y = load_digits(return_X_y=True)
        names, source = None, "scikit-learn digits (bundled)"
    else:
        X, y, names = _load(args.data, args.target, args.drop)
        source = args.data
    hidden = auto_hidden(X.shape[1]) if args.hidden == "auto" else args.hidden
    _check_data(X, y, hidden)
    seeds = f"{args.seed}..{args.seed + args.repeats - 1}"
    print(
        f"data: {source}, {X.shape[0]} rows x {X.shape[1]} features; hidden={hidden}; "
        f"{args.repeats} stratified 75/25 split(s), seeds {seeds}"
    )
    splits, fit_seconds = [], []
    for repeat in range(args.repeats):
        rows, seconds = _one_split(args, X, y, names, hidden, args.seed + repeat)
        splits.append(rows)
        fit_seconds.append(seconds)
    summary = _summarise(args.levels, splits)
    best = _choose(summary, args.repeats)
    _print_table(summary, best, args.repeats)
    print(
        f"chosen: level {best['importance_level']:g}, the sparsest within one standard "
        "error of the best mean accuracy (the one-standard-error rule)"
    )
    print(
        f"dense training + scoring: {np.mean(fit_seconds):.1f}s per split (done once per "
        "split, reused for every level)"
    )
    model = _final_model(args, X, names, hidden, best["importance_level"])
    ae = model[-1]
    top = np.argsort(-ae.feature_importances_)[:5]
    print("most important features: " + ", ".join(ae.get_unit_names(0)[j] for j in top))
    out = Path(args.output)
    results = {
        "chosen_importance_level": best["importance_level"],
        "repeats": args.repeats,
        "seeds": [args.seed + r for r in range(args.repeats)],
        "levels": summary,
        "splits": splits,
    }
    written = _write_outputs(model, results, names, out)
    print(
        f"wrote {out / 'results.json'} and {out / 'model.npz'}: MinMaxScaler + "
        f"SHAPSparseAutoencoder at the chosen level, fitted on all rows; "
        "skshapsae.load(path).transform(raw_rows) takes the original columns"
    )
    figures = [p for p in written if p.suffix == ".png"]
    if figures:
        print("figures: " + ", ".join(str(f) for f in figures))
    return summary


def _autoencoder(args, hidden, n_rows, seed):
    from . import SHAPSparseAutoencoder

    return SHAPSparseAutoencoder(
        hidden,
        out_activation="logistic",
        max_iter=args.max_iter,
        n_explain=args.n_explain or min(200, n_rows),
        n_background=args.n_background or min(100, n_rows),
        random_state=seed,
        verbose=0 if args.quiet else 1,
    )


def _scaled(scaler, X, names):
    Z = scaler.transform(X)
    if names is None or hasattr(Z, "columns"):
        return Z
    import pandas as pd

    return pd.DataFrame(Z, columns=names)  # the model, tables and figures use the names


def _one_split(args, X, y, names, hidden, seed):
    """Fit on 75 % of the rows, then each level's sparsity, test MSE and accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=seed
    )
    scaler = MinMaxScaler(clip=True).fit(X_train)
    X_train, X_test = _scaled(scaler, X_train, names), _scaled(scaler, X_test, names)
    start = time.perf_counter()
    ae = _autoencoder(args, hidden, len(X_train), seed).fit(X_train)
    seconds = time.perf_counter() - start
    rows = []
    for level in args.levels:
        start = time.perf_counter()
        model = ae.reprune(importance_level=level, X=X_train)
        clf = LogisticRegression(max_iter=1000).fit(model.transform(X_train), y_train)
        rows.append(
            {
                "seed": seed,
                "importance_level": level,
                "sparsity": model.sparsity_,
                "test_mse": -model.score(X_test),
                "accuracy": clf.score(model.transform(X_test), y_test),
                "seconds": time.perf_counter() - start,
            }
        )
    return rows, seconds


def _summarise(levels, splits):
    summary = []
    for i, level in enumerate(levels):
        row = {"importance_level": level}
        for key in ("sparsity", "test_mse", "accuracy", "seconds"):
            values = np.array([rows[i][key] for rows in splits])
            row[key], row[f"{key}_sd"] = float(values.mean()), float(values.std())
        summary.append(row)
    return summary


def _choose(summary, repeats):
    """The sparsest level whose mean accuracy is within one standard error of the best
    one: a difference smaller than the split-to-split noise does not buy back links."""
    top = max(summary, key=lambda r: r["accuracy"])
    floor = top["accuracy"] - top["accuracy_sd"] / np.sqrt(repeats)
    return max((r for r in summary if r["accuracy"] >= floor), key=lambda r: r["sparsity"])


def _print_table(summary, best, repeats):
    header = (
        f"{'level':>6} {'eta':>6} {'test MSE':>18} {'accuracy':>16} {'seconds':>8}"
        f"   (mean +/- sd over {repeats} split(s))"
    )
    print(header)
    print("-" * len(header))
    for r in summary:
        mark = "  <- chosen" if r is best else ""
        print(
            f"{r['importance_level']:>6.2f} {r['sparsity']:>6.3f} "
            f"{r['test_mse']:>9.5f} +/- {r['test_mse_sd']:.5f} "
            f"{r['accuracy']:>7.3f} +/- {r['accuracy_sd']:.3f} {r['seconds']:>8.2f}{mark}"
        )


def _final_model(args, X, names, hidden, level):
    """Scaler and autoencoder fitted on all rows, pruned at ``level``: one object for raw rows."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    scaler = MinMaxScaler(clip=True)
    if names is not None:
        import pandas as pd

        scaler.set_output(transform="pandas")
        X = pd.DataFrame(X, columns=names)
    scaled = scaler.fit_transform(X)
    ae = _autoencoder(args, hidden, len(X), args.seed).fit(scaled)
    model = ae.reprune(importance_level=level, X=scaled)
    return Pipeline([("minmaxscaler", scaler), ("shapsparseautoencoder", model)])


def _write_outputs(model, results, names, out):
    """Results, model and figures, written to a temporary folder and moved into ``out``."""
    from . import save

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".skshapsae-", dir=out.parent))
    try:
        (staging / "results.json").write_text(json.dumps(results, indent=2))
        save(model, staging / "model.npz")
        _write_figures(model[-1], results["levels"], names, staging)
        out.mkdir(exist_ok=True)
        written = []
        for item in sorted(staging.iterdir()):
            written.append(out / item.name)
            item.replace(written[-1])
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_figures(ae, rows, names, out):
    """Feature importances, the sparsity / accuracy curves and the input masks per level."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figures (pip install 'skshapsae[plot]')")
        return []
    from .plotting import FeatureMaskDisplay, SparsityCurveDisplay, UnitImportanceDisplay

    paths = []
    n = ae.n_features_in_
    side = int(round(np.sqrt(n)))
    # pixels: a square number of columns, unnamed or many (a 16-column CSV is a table)
    image = "auto" if side * side == n and (names is None or n >= 64) else None
    fig, ax = plt.subplots(figsize=(5, 4) if image else (min(20, max(6, 0.25 * n)), 4))
    UnitImportanceDisplay.from_estimator(ae, image_shape=image, ax=ax)
    paths.append(out / "feature_importances.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=100)
    disp = SparsityCurveDisplay(
        np.array([r["importance_level"] for r in rows]),
        np.array([r["sparsity"] for r in rows]),
        np.array([r["accuracy"] for r in rows]),
        score_name="test accuracy (logistic regression)",
        score_errors=np.array([r["accuracy_sd"] for r in rows]),
    ).plot()
    paths.append(out / "sparsity_accuracy.png")
    disp.figure_.tight_layout()
    disp.figure_.savefig(paths[-1], dpi=100)
    disp = FeatureMaskDisplay.from_estimator(
        ae, levels=[r["importance_level"] for r in rows], image_shape=image
    )
    paths.append(out / "input_masks.png")
    disp.figure_.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close("all")
    return paths


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
