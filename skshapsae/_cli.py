"""Command-line main job: fit, sweep the importance level, print a table.

``skshapsae`` (or ``python -m skshapsae``) with no arguments runs on
scikit-learn's bundled digits data; ``--data file.csv --target label`` (or an
``.npz`` with arrays ``X`` and ``y``) runs on the user's data.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _load(path, target):
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"error: data file {str(path)!r} does not exist.")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            missing = {"X", "y"} - set(data.files)
            if missing:
                raise SystemExit(
                    f"error: {path} must hold arrays 'X' and 'y'; missing {sorted(missing)}."
                )
            return np.asarray(data["X"], dtype=np.float64), np.asarray(data["y"]), None
    try:
        import pandas as pd
    except ImportError:
        raise SystemExit(
            "error: reading a CSV needs pandas: pip install 'skshapsae[cli]' (or pass an .npz)"
        ) from None
    frame = pd.read_csv(path)
    if target not in frame.columns:
        raise SystemExit(
            f"error: target column {target!r} is not in {path}; its columns are "
            f"{list(frame.columns)[:20]}. Pass --target NAME."
        )
    y = frame.pop(target).to_numpy()
    return frame.to_numpy(dtype=np.float64), y, list(frame.columns)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skshapsae",
        description="Fit a SHAP-SAE sparse autoencoder, sweep the importance level and "
        "report sparsity, reconstruction error and downstream accuracy.",
    )
    parser.add_argument("--data", help="CSV (with --target) or .npz with X and y; default: digits")
    parser.add_argument("--target", default="target", help="target column of the CSV")
    parser.add_argument(
        "--hidden", default="32,8", help="encoder widths, comma-separated (default 32,8)"
    )
    parser.add_argument(
        "--levels",
        default="0.5,0.7,0.8,0.9,0.95,1.0",
        help="importance levels to sweep, comma-separated",
    )
    parser.add_argument(
        "--max-iter",
        type=int,
        default=200,
        help="upper bound on training epochs (stops on convergence)",
    )
    parser.add_argument("--n-explain", type=int, default=200, help="explained rows per layer")
    parser.add_argument("--n-background", type=int, default=100, help="background rows")
    parser.add_argument("--output", default="skshapsae-output", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv=None):
    """Console entry point: run the main job; returns the exit status 0."""
    run(argv)
    return 0


def run(argv=None):
    """Run the main job; returns the list of result rows."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    from . import SHAPSparseAutoencoder, save

    args = build_parser().parse_args(argv)
    if args.data is None:
        X, y = load_digits(return_X_y=True)
        names, source = None, "scikit-learn digits (bundled)"
    else:
        X, y, names = _load(args.data, args.target)
        source = args.data
    hidden = tuple(int(h) for h in args.hidden.split(","))
    levels = [float(m) for m in args.levels.split(",")]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), np.clip(scaler.transform(X_test), 0, 1)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    print(f"data: {source}, {X.shape[0]} rows x {X.shape[1]} features; hidden={hidden}")

    ae = SHAPSparseAutoencoder(
        hidden,
        out_activation="sigmoid",
        max_iter=args.max_iter,
        n_explain=args.n_explain,
        n_background=args.n_background,
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
    for level in levels:
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
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    save(ae, out / "model.npz")
    figures = _write_figures(ae, rows, names, out)
    print(f"wrote {out / 'results.json'}, {out / 'model.npz'} (load with skshapsae.load)")
    if figures:
        print("figures: " + ", ".join(str(f) for f in figures))
    return rows


def _write_figures(ae, rows, names, out):
    """Feature importances, the sparsity / accuracy curves and, for square images, masks."""
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
    fig, ax = plt.subplots(figsize=(min(20, max(6, 0.25 * n)), 4))
    UnitImportanceDisplay.from_estimator(ae, ax=ax)
    if n > 40:
        ax.set_xticks([])
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
    side = int(round(np.sqrt(n)))
    if side * side == n and names is None:
        disp = FeatureMaskDisplay.from_estimator(
            ae, levels=[r["importance_level"] for r in rows], image_shape=(side, side)
        )
        paths.append(out / "input_masks.png")
        disp.figure_.savefig(paths[-1], dpi=100)
    plt.close("all")
    return paths


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
