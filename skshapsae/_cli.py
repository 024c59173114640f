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
    parser.add_argument("--output", default="skshapsae-output", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _load(path, target):
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
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a readable CSV with a header row ({exc}).") from None
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
            f"column(s) {text[:10]} of {path} are not numeric; encode them (for example "
            "one-hot) or drop them before running."
        )
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing or pd.isna(y).any():
        where = missing[:10] or [target]
        raise UsageError(
            f"column(s) {where} of {path} have missing values; impute or drop those rows "
            "first (for example with sklearn.impute.SimpleImputer)."
        )
    return frame.to_numpy(dtype=np.float64), y, [str(c) for c in frame.columns]


def _load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"X", "y"} - set(data.files)
            if missing:
                raise UsageError(f"{path} must hold arrays 'X' and 'y'; missing {sorted(missing)}.")
            X, y = np.asarray(data["X"]), np.asarray(data["y"])
    except ValueError as exc:  # object arrays need pickle, which is never allowed
        raise UsageError(f"{path} cannot be read without pickle ({exc}).") from None
    except OSError as exc:
        raise UsageError(f"{path} is not a readable .npz file ({exc}).") from None
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
    if counts.size < 2 or counts.min() < 2:
        raise UsageError(
            "every class of the target needs at least 2 rows (one for training, one for the "
            f"held-out test), and there must be 2 classes; the smallest class has "
            f"{counts.min()} row(s) among {counts.size} class(es)."
        )
    if hidden[0] > X.shape[1]:
        raise UsageError(
            f"--hidden {','.join(map(str, hidden))} starts wider than the data's "
            f"{X.shape[1]} features; use --hidden auto or widths <= {X.shape[1]}."
        )


def _check_output(path):
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(
                f"--output {str(path)!r} cannot be a folder: {str(parent)!r} is a file."
            )


def main(argv=None):
    """Console entry point: run the main job; returns the exit status (2 for usage errors)."""
    try:
        run(argv)
    except UsageError as exc:
        print(f"skshapsae: error: {exc}", file=sys.stderr)
        return 2
    return 0


def run(argv=None):
    """Run the main job; returns the list of result rows (raises UsageError on bad input)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    from . import SHAPSparseAutoencoder

    args = build_parser().parse_args(argv)
    _check_output(args.output)
    if args.data is None:
        X, y = load_digits(return_X_y=True)
        names, source = None, "scikit-learn digits (bundled)"
    else:
        X, y, names = _load(args.data, args.target)
        source = args.data
    hidden = auto_hidden(X.shape[1]) if args.hidden == "auto" else args.hidden
    _check_data(X, y, hidden)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), np.clip(scaler.transform(X_test), 0, 1)
    if names is not None:  # the model, its tables and figures use the CSV's column names
        import pandas as pd

        X_train = pd.DataFrame(X_train, columns=names)
        X_test = pd.DataFrame(X_test, columns=names)
    print(f"data: {source}, {X.shape[0]} rows x {X.shape[1]} features; hidden={hidden}")

    ae = SHAPSparseAutoencoder(
        hidden,
        out_activation="logistic",
        max_iter=args.max_iter,
        n_explain=args.n_explain or min(200, len(X_train)),
        n_background=args.n_background or min(100, len(X_train)),
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    start = time.perf_counter()
    ae.fit(X_train)
    fit_seconds = time.perf_counter() - start
    rows = []
    header = f"{'level':>6} {'eta':>6} {'test MSE':>9} {'accuracy':>8} {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for level in args.levels:
        start = time.perf_counter()
        model = ae.reprune(importance_level=level, X=X_train)
        clf = LogisticRegression(max_iter=1000).fit(model.transform(X_train), y_train)
        acc = clf.score(model.transform(X_test), y_test)
        row = {
            "importance_level": level,
            "sparsity": model.sparsity_,
            "test_mse": -model.score(X_test),
            "accuracy": acc,
            "seconds": time.perf_counter() - start,
        }
        rows.append(row)
        print(
            f"{level:>6.2f} {row['sparsity']:>6.3f} {row['test_mse']:>9.5f} "
            f"{acc:>8.3f} {row['seconds']:>8.2f}"
        )
    print(f"dense training + scoring: {fit_seconds:.1f}s (done once, reused for every level)")
    top = np.argsort(-ae.feature_importances_)[:5]
    print("most important features: " + ", ".join(ae.get_unit_names(0)[j] for j in top))
    out = Path(args.output)
    written = _write_outputs(ae, rows, names, out)
    print(f"wrote {out / 'results.json'}, {out / 'model.npz'} (load with skshapsae.load)")
    figures = [p for p in written if p.suffix == ".png"]
    if figures:
        print("figures: " + ", ".join(str(f) for f in figures))
    return rows


def _write_outputs(ae, rows, names, out):
    """Results, model and figures, written to a temporary folder and moved into ``out``."""
    from . import save

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".skshapsae-", dir=out.parent))
    try:
        (staging / "results.json").write_text(json.dumps(rows, indent=2))
        save(ae, staging / "model.npz")
        _write_figures(ae, rows, names, staging)
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
