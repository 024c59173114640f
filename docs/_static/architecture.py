"""Draw docs/_static/architecture.png: the folders of skshapsae, one floor per stage.

The floors are stacked in the order of the imports: a floor imports only the floors
below it (``tests/test_architecture.py`` checks it), and a fit's data climbs the
stages from the bottom up.

Run: python docs/_static/architecture.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

FLOORS = [
    # (folder, its modules, what it does, fill), bottom first
    (
        "network/",
        "_network.py  _activations.py",
        "train: the torch autoencoder (a loop per solver, PCA / varimax start, fine_tune),\n"
        "the threads torch and numba may use; the activation tables (numpy, torch)",
        "#eef3fb",
    ),
    (
        "scoring/",
        "_scoring.py  _shapley.py  _game_kernels.py  _attribution.py",
        "score: GAME_FAMILIES (layer, network games), ESTIMATORS (one public class each:\n"
        "auto, linear, exact, permutation + numba kernel, kernel, ...); select_features",
        "#eef3fb",
    ),
    (
        "pruning/",
        "_pruning.py",
        "prune (pure numpy): support sets (eq. 8), dead-unit cascade, folding,\n"
        "target sparsity, the sparsity curve, CSR weights",
        "#eef3fb",
    ),
    (
        "inference/",
        "_inference.py  _kernels.py",
        "infer: the compact plan, dense or CSR blocks (numba kernel), its cache,\n"
        "the forward pass of transform / inverse_transform",
        "#eef3fb",
    ),
    (
        "conductor/",
        "_config.py  _stages.py  _fitted.py  _dask.py",
        "parameters (constraints) -> FitSetup, the RAM check; the stages composed (sources,\n"
        "warnings); FIELDS, the fit (fit_state) and what a fitted model replays; Dask",
        "#f3f0e6",
    ),
    (
        "_estimator.py",
        "SHAPSparseAutoencoder, shap_importances",
        "validates and delegates: fit / partial_fit call conductor/_fitted.fit_state and\n"
        "assign its state at once; reprune, explain, ... played by conductor/_fitted",
        "#fbeeee",
    ),
    (
        "io/",
        "_persistence.py  _export.py",
        "files that build and read fitted estimators: save / load against the schema,\n"
        "the preprocessing columns, atomic writes; export (FORMATS -> writer)",
        "#f3f0e6",
    ),
    (
        "skshapsae/",
        "__init__.py  _cli.py  baselines.py  datasets.py  plotting.py  _version.py",
        "the public names (__all__), the CLI, baselines (SCORES, TRAINED classes), datasets,\n"
        "plotting (Displays); _version.py is a leaf that model files and the build read",
        "#eaf4e4",
    ),
]
DATA = ["weights, history", "importances", "masks, weights_", "codes, outputs"]

X0, WIDTH, FLOOR_H, GAP = 0.3, 8.4, 0.9, 0.22


def main(path=None):
    path = path or Path(__file__).with_suffix(".png")
    fig, ax = plt.subplots(figsize=(11.5, 8.6))
    for i, (folder, modules, what, fill) in enumerate(FLOORS):
        y = 0.3 + i * (FLOOR_H + GAP)
        ax.add_patch(
            FancyBboxPatch(
                (X0, y), WIDTH, FLOOR_H, boxstyle="round,pad=0.04", fc=fill, ec="#3465a4", lw=1.4
            )
        )
        ax.text(X0 + 0.12, y + FLOOR_H - 0.2, folder, fontsize=10.5, weight="bold", va="center")
        ax.text(
            X0 + 1.75, y + FLOOR_H - 0.2, modules, fontsize=8.5, va="center", family="monospace"
        )
        ax.text(X0 + 0.12, y + 0.3, what, fontsize=8.3, va="center")
    # the data a fit passes up the stages (network -> scoring -> pruning -> inference)
    for i, label in enumerate(DATA):
        y0 = 0.3 + i * (FLOOR_H + GAP) + FLOOR_H
        ax.add_patch(
            FancyArrowPatch(
                (WIDTH + 0.55, y0 - 0.3),
                (WIDTH + 0.55, y0 + GAP + 0.3),
                arrowstyle="-|>",
                mutation_scale=14,
                lw=1.4,
                color="#204a87",
            )
        )
        ax.text(WIDTH + 0.7, y0 + GAP / 2, label, fontsize=8.3, va="center", color="#204a87")
    top = 0.3 + len(FLOORS) * (FLOOR_H + GAP)
    ax.text(
        WIDTH + 0.45,
        0.3 + 4 * (FLOOR_H + GAP) + 0.62,
        "a fit's data\nclimbs the\nstages",
        fontsize=8.5,
        color="#204a87",
        va="center",
    )
    ax.text(
        X0,
        top + 0.12,
        "Each floor imports only the floors below it (tests/test_architecture.py); "
        "numpy in and out at every boundary.",
        fontsize=9,
    )
    ax.set_xlim(0.1, WIDTH + 2.2)
    ax.set_ylim(0.1, top + 0.6)
    ax.axis("off")
    ax.set_title("skshapsae: the folders, one floor per stage", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
