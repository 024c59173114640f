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

The CSV needs a header row and a target column (--target). Missing values are filled
(median of a numeric column, most frequent value of a text column) and text columns
are one-hot encoded, as steps of the saved model (--no-preprocess refuses such tables
instead). The model is the library's SHAPSparseAutoencoder with its defaults (one
hidden layer of width/2 units); --hidden, --max-iter, --n-explain and --n-background
override them."""


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
    if text == "auto":  # the library's default
        return None
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


def _tolerance(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value} must be in [0, 1]")
    return value


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
        default=None,
        help="encoder widths, comma-separated (default, or 'auto': the library's default, "
        "one layer of max(1, features // 2) units)",
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
        default=None,
        help="upper bound on training epochs (default: the library's, 200; training "
        "stops on convergence)",
    )
    parser.add_argument(
        "--n-explain",
        type=_positive_int,
        default=None,
        help="explained rows per layer (default: the library's, 200, or all training "
        "rows if fewer)",
    )
    parser.add_argument(
        "--n-background",
        type=_positive_int,
        default=None,
        help="background rows (default: the library's, 100, or all training rows if fewer)",
    )
    parser.add_argument(
        "--column-tolerance",
        type=_tolerance,
        default=COLUMN_TOLERANCE,
        help="a level is kept only if no column's held-out relative reconstruction error "
        "exceeds the dense model's by more than this (capped at 1, the error of predicting "
        f"the column's mean); default {COLUMN_TOLERANCE}",
    )
    parser.add_argument(
        "--no-preprocess",
        action="store_true",
        help="refuse CSVs with missing values or text columns instead of filling missing "
        "values and one-hot encoding text columns in the saved model",
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
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="random seed (0 .. 2**32 - 1001; each split adds its number)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _load(path, target, drop=(), preprocess=True):
    """``(X, y, names, columns)``: ``X`` float64 for an .npz (``names`` and ``columns``
    None); for a CSV the feature columns as a DataFrame (``preprocess``: missing values
    and text columns allowed, see :func:`_preprocessor`) and ``columns`` the table's
    description (numeric and text columns, missing values, columns left out)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"data file {str(path)!r} does not exist.")
    if not path.is_file():
        raise UsageError(f"--data {str(path)!r} is not a file; pass a .csv or .npz file.")
    if path.suffix == ".npz":
        if drop:
            raise UsageError(
                f"--drop names columns of a CSV; {path} is an .npz of arrays X and y "
                "(leave columns out of X before saving it)."
            )
        return (*_load_npz(path), None, None)
    frame = _read_csv(path)
    columns = {"numeric": [], "text": {}, "missing": {}, "left_out": [], "rows_left_out": 0}
    frame, y = _split_target(frame, path, target, drop, preprocess, columns)
    _refuse_without_preprocessing(frame, y, path, target, preprocess)
    frame = _drop_empty_columns(frame, path, columns)
    text = [c for c in frame.columns if not pd_is_numeric(frame[c])]
    numeric = [c for c in frame.columns if c not in text]
    _categories(frame, text, path, columns)
    values = frame[numeric].to_numpy(dtype=np.float64)
    infinite = [c for c, bad in zip(numeric, np.isinf(values).any(axis=0)) if bad]
    if infinite:
        raise UsageError(
            f"column(s) {_listed(infinite)} of {path} hold infinite values; replace or drop them."
        )
    columns["numeric"] = numeric
    columns["missing"] = {c: int(frame[c].isna().sum()) for c in frame.columns}
    columns["missing"] = {c: n for c, n in columns["missing"].items() if n}
    for name, column in zip(numeric, values.T):
        if _looks_like_an_id(column):
            print(
                f"skshapsae: warning: column {name!r} looks like a row ID (distinct integers "
                f"that grow with the row order); if it is one, leave it out with --drop {name}",
                file=sys.stderr,
            )
    if not preprocess:
        return values, y, numeric, None
    return frame, y, list(frame.columns), columns


def pd_is_numeric(column):
    """pandas' numeric test (pandas is imported only for CSVs)."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column)


def _read_csv(path):
    """The CSV as a DataFrame with string column names (pandas needed)."""
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
    # pandas renames a repeated header ("label", "label.1"): a copy of the target would
    # become a feature without a word
    header = [str(c) for c in pd.read_csv(path, header=None, nrows=1).iloc[0]]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise UsageError(
            f"{path} names column(s) {_listed(repeated)} more than once; give every column "
            "a name of its own (or leave the copies out of the file)."
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _split_target(frame, path, target, drop, preprocess, columns):
    """The feature columns (``drop`` left out) and the target; rows without a label are
    left out when preprocessing (a label cannot be imputed)."""
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
    unlabelled = frame[target].isna().to_numpy()
    if unlabelled.any() and preprocess and not unlabelled.all():
        columns["rows_left_out"] = int(unlabelled.sum())
        frame = frame[~unlabelled].reset_index(drop=True)
    y = frame.pop(target).to_numpy()
    if frame.shape[1] == 0:
        raise UsageError(f"{path} holds only the target column {target!r}; no features to fit.")
    return frame, y


def _refuse_without_preprocessing(frame, y, path, target, preprocess):
    """Text columns and missing values need the preprocessing steps; a target needs values."""
    import pandas as pd

    text = [c for c in frame.columns if not pd_is_numeric(frame[c])]
    if text and not preprocess:
        raise UsageError(
            f"column(s) {_listed(text)} of {path} are not numeric; run without "
            "--no-preprocess to one-hot encode them, or leave them out with --drop "
            f"{' '.join(text[:3])}{' ...' if len(text) > 3 else ''}."
        )
    missing = [c for c in frame.columns if frame[c].isna().any()]
    if (missing or pd.isna(y).any()) and not preprocess:
        where = missing or [target]
        raise UsageError(
            f"column(s) {_listed(where)} of {path} have missing values; run without "
            "--no-preprocess to fill them (median, most frequent value), or leave the "
            "columns out with --drop."
        )
    if pd.isna(y).any():
        raise UsageError(f"the target column {target!r} of {path} has no values.")


def _drop_empty_columns(frame, path, columns):
    """Columns with no value at all are left out (with a warning)."""
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        columns["left_out"] = empty
        frame = frame.drop(columns=empty)
        print(
            f"skshapsae: warning: column(s) {_listed(empty)} of {path} have no values at "
            "all; they are left out",
            file=sys.stderr,
        )
    if frame.shape[1] == 0:
        raise UsageError(f"{path} has no feature column with values.")
    return frame


def _categories(frame, text, path, columns):
    """Each text column's categories (sorted) into ``columns``; too many are refused."""
    many = {}
    for c in text:
        try:
            categories = sorted(set(frame[c].dropna()))
        except TypeError:  # values of several types: not from read_csv
            raise UsageError(f"column {c!r} of {path} mixes kinds of values.") from None
        if len(categories) > min(MAX_CATEGORIES, max(10, len(frame) // 2)):
            many[c] = len(categories)
        columns["text"][c] = categories
    dummies = [f"{c}_{v}" for c, values in columns["text"].items() for v in values]
    clashing = sorted({d for d in dummies if dummies.count(d) > 1})
    if clashing:
        raise UsageError(
            f"text columns of {path} give one-hot columns of the same name: "
            f"{_listed(clashing)} (a column and a value joined by '_', as 'a' + 'b_c' and "
            "'a_b' + 'c'); rename one of the columns."
        )
    if many:
        shown = ", ".join(f"{c!r} ({n})" for c, n in list(many.items())[:10])
        raise UsageError(
            f"text column(s) of {path} have too many distinct values to one-hot encode "
            f"(free text or IDs): {shown}; leave them out with --drop "
            f"{' '.join(list(many)[:3])}{' ...' if len(many) > 3 else ''}."
        )


#: A text column with more distinct values than this (or than half the rows) is refused:
#: free text or an ID, not a category.
MAX_CATEGORIES = 100


def _preprocessor(columns, keep_empty=False):
    """Fills missing values (median of a numeric column, most frequent value of a text
    column) and one-hot encodes the text columns, with the categories of all rows (so
    every split has the same columns; a value unseen at fit time encodes as zeros). A
    text cell that is NaN, ``None`` or ``pandas.NA`` is missing (:class:`MissingAsNaN`
    before the imputer), at fit time and in the saved model's ``transform``; any other
    cell of a text column is read as text (a new file whose column holds only numbers
    is read by pandas as numbers, which would match no category). ``keep_empty``: a
    column with no value in the rows the step is fitted on is kept (filled with 0), so
    that every split has the same columns (a split's training rows can miss all of a
    column's values; the saved model is fitted on all rows, where no column is empty)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from .io._persistence import MissingAsNaN

    branches = []
    if columns["numeric"]:
        impute = SimpleImputer(strategy="median", keep_empty_features=keep_empty)
        branches.append(("numbers", impute, columns["numeric"]))
    if columns["text"]:
        encoder = OneHotEncoder(
            categories=[np.array(c, dtype=object) for c in columns["text"].values()],
            handle_unknown="ignore",
            sparse_output=False,
        )
        impute = SimpleImputer(strategy="most_frequent", keep_empty_features=keep_empty)
        steps = [("missingasnan", MissingAsNaN()), ("simpleimputer", impute)]
        branches.append(
            ("text", Pipeline([*steps, ("onehotencoder", encoder)]), list(columns["text"]))
        )
    out = list(columns["numeric"]) + [
        f"{c}_{v}" for c, values in columns["text"].items() for v in values
    ]
    short = len(set(out)) == len(out)  # "colour_red" unless that clashes with a column
    step = ColumnTransformer(branches, remainder="drop", verbose_feature_names_out=not short)
    return step.set_output(transform="pandas")


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
    import zipfile

    if not zipfile.is_zipfile(path):  # np.load would read it as a pickle, and say so
        raise UsageError(
            f"{path} is not an .npz archive (numpy's zip of arrays X and y); for a table "
            "of text, name it .csv."
        )
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


def _check_data(shape, y, hidden):
    """``shape``: rows and the model's input width (after one-hot encoding)."""
    if shape[0] < 4:
        raise UsageError(f"the data has {shape[0]} rows; at least 4 are needed.")
    if shape[1] < 2:
        raise UsageError(f"the data has {shape[1]} feature column(s); at least 2 are needed.")
    _, counts = np.unique(y, return_counts=True)
    # fractional values are a measurement, unless there are a handful of them (codes
    # such as 0.5 / 1.5 are classes)
    fractional = y.dtype.kind == "f" and not np.all(y == np.round(y))
    continuous = fractional and counts.size > 10
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
    if hidden is not None and hidden[0] > shape[1]:
        raise UsageError(
            f"--hidden {','.join(map(str, hidden))} starts wider than the data's "
            f"{shape[1]} features; leave --hidden out (the library's default) or use "
            f"widths <= {shape[1]}."
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
    columns = None
    if args.data is None:
        if args.drop:
            raise UsageError("--drop needs --data (the bundled digits have no named columns).")
        X, y = load_digits(return_X_y=True)
        names, source = None, "scikit-learn digits (bundled)"
    else:
        X, y, names, columns = _load(args.data, args.target, args.drop, not args.no_preprocess)
        source = str(Path(args.data).resolve())
    features = names
    if columns is not None:  # the model's inputs: numbers, then one column per category
        features = list(_preprocessor(columns).fit(X).get_feature_names_out())
    _check_data((len(y), len(features) if features else X.shape[1]), y, args.hidden)
    seeds = f"{args.seed}..{args.seed + args.repeats - 1}"
    print(
        f"data: {source}, {len(y)} rows x {X.shape[1]} feature columns"
        + (f" ({len(features)} after one-hot encoding)" if columns and columns["text"] else "")
        + f"; {args.repeats} stratified 75/25 split(s), seeds {seeds}"
    )
    notes = _preprocessing_notes(columns)
    for note in notes:
        print(f"preprocessing: {note}")
    splits, fit_seconds, columns_per_split = [], [], []
    for repeat in range(args.repeats):
        rows, errors, seconds = _one_split(args, X, y, names, columns, args.seed + repeat)
        splits.append(rows)
        columns_per_split.append(errors)
        fit_seconds.append(seconds)
    summary, dense = _summarise(args.levels, splits, columns_per_split, features)
    best, rule = _choose(summary, dense, args.repeats, args.column_tolerance)
    baseline = np.array([rows[0]["majority_accuracy"] for rows in splits])
    print(
        f"accuracy: {CLASSIFIER} on the codes, fitted on each split's training rows and "
        f"scored on its test rows;\n  the majority class alone scores {baseline.mean():.3f} "
        f"+/- {baseline.std():.3f}"
    )
    signal = _beats_majority(summary, float(baseline.mean()))
    _print_table(summary, best, args.repeats)
    if not signal["codes_beat_majority"]:
        print(f"warning: {signal['note']}")
    print(f"chosen: level {best['importance_level']:g}, {rule}")
    _print_columns(best, dense)
    print(
        f"dense training + scoring: {np.mean(fit_seconds):.1f}s per split (done once per "
        "split, reused for every level)"
    )
    model = _final_model(args, X, names, columns, best["importance_level"])
    ae = model[-1]
    hidden = ae.layer_sizes_[1 : len(ae.layer_sizes_) // 2 + 1]
    print(f"model: {' -> '.join(map(str, ae.layer_sizes_))} units (hidden {hidden})")
    saved = _saved_sparsity(best, ae, len(y))
    print(f"saved model: {saved['note']}")
    per_input = dict(zip(ae.get_unit_names(0), map(float, ae.feature_importances_)))
    # one importance per column of the table: the dummies of a text column together
    grouped = ae.group_importances(model[:-1]) if columns and columns["text"] else per_input
    importances = dict(sorted(grouped.items(), key=lambda item: -item[1]))
    top = list(importances.items())[:5]
    print("most important columns: " + ", ".join(f"{n} ({v:.3f})" for n, v in top))
    out = Path(args.output)
    results = {
        "data": {
            "file": source,
            "target": args.target if args.data else "digit",
            "rows": int(len(y)),
            "feature_columns": int(X.shape[1]),
            "model_inputs": int(ae.n_features_in_),
        },
        "preprocessing": _preprocessing_report(columns, notes),
        "model": {
            "layer_sizes": [int(n) for n in ae.layer_sizes_],
            "hidden_layer_sizes": [int(n) for n in hidden],
            "parameters_set_by_the_cli": _overrides(args),
        },
        "accuracy_means": f"{CLASSIFIER} on the codes, fitted on each split's training rows, "
        "scored on its test rows",
        "majority_baseline_accuracy": float(baseline.mean()),
        "majority_baseline_accuracy_sd": float(baseline.std()),
        "codes_beat_majority": signal["codes_beat_majority"],
        "codes_vs_majority": signal["note"],
        "chosen_importance_level": best["importance_level"],
        "saved_model": saved,
        "choice": {
            "rule": rule,
            "column_tolerance": args.column_tolerance,
            "faithful_levels": [r["importance_level"] for r in summary if r["faithful"]],
        },
        "reconstruction": {
            "measure": RELATIVE_ERROR,
            "chosen": best["column_relative_error"],
            "dense": dense,
        },
        "feature_importances": importances,
        "feature_importances_per_model_input": per_input,
        "repeats": args.repeats,
        "seeds": [args.seed + r for r in range(args.repeats)],
        "levels": summary,
        "splits": splits,
    }
    written = _write_outputs(model, results, features, out)
    steps = " + ".join(type(step).__name__ for step in model)
    print(
        f"wrote {out / 'results.json'} and {out / 'model.npz'}: {steps} at the chosen "
        "level, fitted on all rows; skshapsae.load(path).transform(raw_rows) takes the "
        "original columns"
        + (" (a DataFrame, text and missing values as in the file)" if columns else "")
    )
    figures = [p for p in written if p.suffix == ".png"]
    if figures:
        print("figures: " + ", ".join(str(f) for f in figures))
    return summary


#: What "accuracy" means in the report.
CLASSIFIER = "LogisticRegression(max_iter=1000)"

#: What the per-column reconstruction numbers mean.
RELATIVE_ERROR = (
    "relative error per column on the held-out rows: mean squared reconstruction error / "
    "the column's variance (at least a tenth of the mean column variance, so that nearly "
    "constant columns do not decide), on the model's inputs (filled, one-hot, scaled to "
    "[0, 1]); "
    "1 is the error of predicting the column's mean; mean over the splits; null for a "
    "column constant in every test split"
)

#: Default of --column-tolerance.
COLUMN_TOLERANCE = 0.25


def _preprocessing_notes(columns):
    if columns is None:
        return []
    notes = []
    if columns["missing"]:
        notes.append(
            f"filled {sum(columns['missing'].values())} missing value(s) in "
            f"{_listed(list(columns['missing']))} (median of a numeric column, most "
            "frequent value of a text column); the saved model fills them the same way"
        )
    if columns["text"]:
        notes.append(
            f"one-hot encoded text column(s) {_listed(list(columns['text']))} "
            f"({sum(map(len, columns['text'].values()))} categories; an unseen value "
            "encodes as zeros)"
        )
    if columns["left_out"]:
        notes.append(f"left out column(s) without values {_listed(columns['left_out'])}")
    if columns["rows_left_out"]:
        notes.append(f"left out {columns['rows_left_out']} row(s) without a target value")
    return notes


def _preprocessing_report(columns, notes):
    if columns is None:
        return None
    return {
        "numeric_columns": columns["numeric"],
        "one_hot": {c: [_json(v) for v in values] for c, values in columns["text"].items()},
        "missing_values": columns["missing"],
        "left_out_columns": columns["left_out"],
        "rows_left_out": columns["rows_left_out"],
        "notes": notes,
    }


def _json(value):
    return value.item() if isinstance(value, np.generic) else value


def _overrides(args):
    """The autoencoder's parameters the command line sets; everything else is the
    library's default."""
    given = {
        "hidden_layer_sizes": args.hidden,
        "max_iter": args.max_iter,
        "n_explain": args.n_explain,
        "n_background": args.n_background,
    }
    return {k: list(v) if isinstance(v, tuple) else v for k, v in given.items() if v is not None}


def _progress_bars(args):
    """Whether to draw progress bars: not with --quiet, and only on a terminal (a log
    file or a pipe would collect every redraw of every bar)."""
    if args.quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def _autoencoder(args, seed):
    from . import SHAPSparseAutoencoder

    return SHAPSparseAutoencoder(
        **_overrides(args), random_state=seed, verbose=1 if _progress_bars(args) else 0
    )


def _scaled(scaler, X, names):
    Z = scaler.transform(X)
    if names is None or hasattr(Z, "columns"):
        return Z
    import pandas as pd

    return pd.DataFrame(Z, columns=names)  # the model, tables and figures use the names


#: A column is judged against at least this share of the mean column variance: a nearly
#: constant column (a border pixel of digits that is non-zero in a few rows) has a
#: relative error of thousands for a deviation of 1e-4, which says nothing about the
#: model (with the column's own variance, every pruned level of the bundled digits run
#: was refused, the dense model included, for such pixels).
VARIANCE_FLOOR = 0.1


def _relative_errors(model, X_test):
    """Each column's held-out reconstruction error over its variance (at least
    :data:`VARIANCE_FLOOR` times the mean column variance; NaN if constant)."""
    Z = np.asarray(X_test, dtype=np.float64)
    recon = np.asarray(model.inverse_transform(model.transform(X_test)), dtype=np.float64)
    variance = Z.var(axis=0)
    error = ((recon - Z) ** 2).mean(axis=0)
    scale = np.maximum(variance, VARIANCE_FLOOR * variance.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 1e-12, error / scale, np.nan)


def _one_split(args, X, y, names, columns, seed):
    """Fit on 75 % of the rows, then each level's sparsity, test MSE, accuracy and
    per-column relative errors (the dense model's first)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=seed
    )
    if columns is not None:  # filled and encoded with the training rows' statistics
        prep = _preprocessor(columns, keep_empty=True).fit(X_train)
        X_train, X_test = prep.transform(X_train), prep.transform(X_test)
        names = list(X_train.columns)
    scaler = MinMaxScaler(clip=True).fit(X_train)
    X_train, X_test = _scaled(scaler, X_train, names), _scaled(scaler, X_test, names)
    labels, counts = np.unique(y_train, return_counts=True)
    majority = float(np.mean(y_test == labels[np.argmax(counts)]))
    start = time.perf_counter()
    ae = _autoencoder(args, seed).fit(X_train)
    seconds = time.perf_counter() - start
    errors = {"dense": _relative_errors(ae.reprune(importance_level=1.0), X_test)}
    rows = []
    for level in args.levels:
        start = time.perf_counter()
        model = ae.reprune(importance_level=level, X=X_train)
        clf = LogisticRegression(max_iter=1000).fit(model.transform(X_train), y_train)
        errors[level] = _relative_errors(model, X_test)
        rows.append(
            {
                "seed": seed,
                "importance_level": level,
                "sparsity": model.sparsity_,
                "test_mse": -model.score(X_test),
                "accuracy": clf.score(model.transform(X_test), y_test),
                "majority_accuracy": majority,
                "max_column_relative_error": _max(errors[level]),
                "seconds": time.perf_counter() - start,
            }
        )
    return rows, errors, seconds


def _max(values):
    values = np.asarray(values, dtype=float)
    return None if np.all(np.isnan(values)) else float(np.nanmax(values))


def _by_column(values, features):
    names = features or [f"x{j}" for j in range(len(values))]
    return {n: (None if np.isnan(v) else round(float(v), 6)) for n, v in zip(names, values)}


def _mean_over_splits(arrays):
    stacked = np.vstack(arrays)
    out = np.full(stacked.shape[1], np.nan)
    seen = ~np.all(np.isnan(stacked), axis=0)
    out[seen] = np.nanmean(stacked[:, seen], axis=0)
    return out


def _summarise(levels, splits, errors, features):
    """Mean and sd of each level over the splits, its per-column relative errors, and
    the dense model's per-column relative errors."""
    summary = []
    for i, level in enumerate(levels):
        row = {"importance_level": level}
        for key in ("sparsity", "test_mse", "accuracy", "seconds"):
            values = np.array([rows[i][key] for rows in splits])
            row[key], row[f"{key}_sd"] = float(values.mean()), float(values.std())
        row["_errors"] = _mean_over_splits([e[level] for e in errors])
        row["column_relative_error"] = _by_column(row["_errors"], features)
        row["max_column_relative_error"] = _max(row["_errors"])
        summary.append(row)
    dense = _mean_over_splits([e["dense"] for e in errors])
    for row in summary:
        row["_dense"] = dense
    return summary, _by_column(dense, features)


def _faithful(row, tolerance):
    """No column's relative error above ``max(dense, min(1, dense + tolerance))``: within
    ``tolerance`` of the dense model, and never worse than the column's mean unless the
    dense model already is."""
    errors, dense = row.pop("_errors"), row.pop("_dense")
    bound = np.maximum(dense, np.minimum(1.0, dense + tolerance))
    known = ~np.isnan(errors) & ~np.isnan(dense)
    return bool(np.all(errors[known] <= bound[known] + 1e-9))


def _choose(summary, dense, repeats, tolerance):
    """``(row, rule)``: the sparsest faithful level (see :func:`_faithful`) whose mean
    accuracy is within one standard error of the best one (a difference smaller than
    the split-to-split noise does not buy back links); without one, the densest level."""
    for row in summary:
        row["faithful"] = _faithful(row, tolerance)
    top = max(summary, key=lambda r: r["accuracy"])
    floor = top["accuracy"] - top["accuracy_sd"] / np.sqrt(repeats)
    close = [r for r in summary if r["accuracy"] >= floor]
    for row in summary:
        row["within_one_se"] = bool(row["accuracy"] >= floor)
    faithful = [r for r in close if r["faithful"]]
    if faithful:
        return max(faithful, key=lambda r: r["sparsity"]), (
            "the sparsest level within one standard error of the best mean accuracy (the "
            "one-standard-error rule) whose every column is reconstructed on held-out rows "
            f"within {tolerance:g} of the dense model's relative error (and no worse than "
            "the column's mean where the dense model is better than that)"
        )
    return min(summary, key=lambda r: r["sparsity"]), (
        "the densest level swept: no level within one standard error of the best mean "
        f"accuracy reconstructs every column within {tolerance:g} of the dense model "
        "(see 'reconstruction' in results.json; sweep denser levels or raise "
        "--column-tolerance)"
    )


def _print_table(summary, best, repeats):
    header = (
        f"{'level':>6} {'eta':>6} {'test MSE':>18} {'accuracy':>16} {'worst col':>9} "
        f"{'seconds':>8}   (mean +/- sd over {repeats} split(s))"
    )
    print(header)
    print("-" * len(header))
    for r in summary:
        mark = "  <- chosen" if r is best else ""
        worst = r["max_column_relative_error"]
        worst = f"{worst:>9.2f}" if worst is not None else f"{'-':>9}"
        flag = " " if r["faithful"] else "!"
        print(
            f"{r['importance_level']:>6.2f} {r['sparsity']:>6.3f} "
            f"{r['test_mse']:>9.5f} +/- {r['test_mse_sd']:.5f} "
            f"{r['accuracy']:>7.3f} +/- {r['accuracy_sd']:.3f} {worst}{flag}"
            f"{r['seconds']:>8.2f}{mark}"
        )
    print(
        "worst col: the largest held-out relative reconstruction error of a column (1 = "
        "predicting its mean); '!': a column beyond the tolerance"
    )


def _beats_majority(summary, majority):
    """``{"codes_beat_majority": bool, "note": str}``: whether some level's mean accuracy
    is above the majority class's by more than its standard deviation over the splits
    (with one split: simply above it)."""
    margin = [r["accuracy"] - r["accuracy_sd"] - majority for r in summary]
    if max(margin) > 1e-12:
        best = max(summary, key=lambda r: r["accuracy"])
        return {
            "codes_beat_majority": True,
            "note": f"the codes beat the majority class ({majority:.3f}): the best level, "
            f"{best['importance_level']:g}, scores {best['accuracy']:.3f} +/- "
            f"{best['accuracy_sd']:.3f}",
        }
    return {
        "codes_beat_majority": False,
        "note": f"no level's accuracy is above the majority class alone ({majority:.3f}) "
        "by more than its standard deviation over the splits: the codes carry no signal "
        "about the target that the classifier finds, so the chosen level is chosen by "
        "reconstruction and sparsity only, not for the target",
    }


def _saved_sparsity(best, ae, rows):
    """The saved model's own sparsity beside the chosen level's mean over the splits."""
    return {
        "importance_level": best["importance_level"],
        "sparsity": float(ae.sparsity_),
        "splits_mean_sparsity": best["sparsity"],
        "note": f"level {best['importance_level']:g} refitted on all {rows} rows has "
        f"sparsity eta {ae.sparsity_:.3f} (the table's eta {best['sparsity']:.3f} is the "
        "mean over the splits' models, each fitted on 75% of the rows)",
    }


def _print_columns(best, dense, limit=5):
    """The columns the chosen level reconstructs worst, next to the dense model."""
    chosen = best["column_relative_error"]
    known = [n for n, v in chosen.items() if v is not None]
    worst = sorted(known, key=lambda n: -chosen[n])[:limit]
    if worst:
        print(
            "worst-reconstructed columns (relative error, chosen level / dense): "
            + ", ".join(f"{n} {chosen[n]:.2f}/{dense[n]:.2f}" for n in worst)
        )


def _final_model(args, X, names, columns, level):
    """Preprocessing, scaler and autoencoder fitted on all rows, pruned at ``level``: one
    object for raw rows."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    steps = []
    scaler = MinMaxScaler(clip=True)
    if columns is not None:
        prep = _preprocessor(columns)
        steps.append(("columntransformer", prep))
        scaler.set_output(transform="pandas")
        encoded = prep.fit_transform(X)
    elif names is not None:
        import pandas as pd

        scaler.set_output(transform="pandas")
        encoded = pd.DataFrame(X, columns=names)
    else:
        encoded = X
    scaled = scaler.fit_transform(encoded)
    ae = _autoencoder(args, args.seed).fit(scaled)
    model = ae.reprune(importance_level=level, X=scaled)
    model.set_params(verbose=0)  # the saved model is quiet, whatever the run showed
    return Pipeline([*steps, ("minmaxscaler", scaler), ("shapsparseautoencoder", model)])


def _write_outputs(model, results, names, out):
    """Results, model and figures, written to a temporary folder and moved into ``out``."""
    from . import save

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".skshapsae-", dir=out.parent))
    try:
        (staging / "results.json").write_text(json.dumps(results, indent=2))
        save(model, staging / "model.npz")
        _write_figures(model[-1], results, names, staging)
        out.mkdir(exist_ok=True)
        written = []
        for item in sorted(staging.iterdir()):
            written.append(out / item.name)
            item.replace(written[-1])
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_figures(ae, results, names, out):
    """Feature importances (one per column of the table), the sparsity / accuracy curves
    and the input masks per level."""
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
    rows = results["levels"]
    importances = results["feature_importances"]
    fig, ax = plt.subplots(
        figsize=(5, 4) if image else (min(20, max(6, 0.25 * len(importances))), 4)
    )
    if image:
        UnitImportanceDisplay.from_estimator(ae, image_shape=image, ax=ax)
    else:
        UnitImportanceDisplay(list(importances.values()), list(importances)).plot(ax=ax)
    paths.append(out / "feature_importances.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=100)
    disp = SparsityCurveDisplay(
        np.array([r["importance_level"] for r in rows]),
        np.array([r["sparsity"] for r in rows]),
        np.array([r["accuracy"] for r in rows]),
        score_name="test accuracy (logistic regression)",
        score_errors=np.array([r["accuracy_sd"] for r in rows]),
        baseline=results["majority_baseline_accuracy"],
        baseline_name="majority class alone",
    ).plot()
    if not results["codes_beat_majority"]:
        disp.ax_[0, 1].set_title("no level beats the majority class", fontsize="medium")
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
