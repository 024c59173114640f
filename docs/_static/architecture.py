"""Draw docs/_static/architecture.png: the stages of skshapsae and the data between them.

Run: python docs/_static/architecture.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

W, H = 2.2, 1.1  # box size
STAGES = [
    # (x, y, title, module, what it does)
    (0.3, 4.0, "schema", "_fitted.py", "FIELDS: each fitted attribute\nonce (kind, group, shape)"),
    (
        2.8,
        4.0,
        "train",
        "_network.py",
        "a loop per solver (Adam, L-BFGS),\nvarimax start, fine_tune",
    ),
    (5.3, 4.0, "score", "_scoring.py", "GAME_FAMILIES: layer and\nnetwork games, explain"),
    (
        7.8,
        4.0,
        "estimate",
        "_shapley.py",
        "ESTIMATORS: linear, exact,\npermutation (numba kernel:\n_game_kernels.py), kernel, ...",
    ),
    (0.3, 1.6, "conduct", "_estimator.py", "_fit: setup, source, train,\nscore, prune, assign"),
    (2.8, 1.6, "compose", "_stages.py", "sources: array, stream,\nincrement; prune_stage"),
    (5.3, 1.6, "prune", "_pruning.py", "support sets (eq. 8), cascade,\nfolding, target sparsity"),
    (7.8, 1.6, "infer", "_inference.py", "compact plan, dense or CSR\n(_kernels.py, numba) blocks"),
]
ARROWS = [
    ((2.5, 2.3), (2.8, 2.3), "FitSetup"),
    ((2.8, 1.9), (2.5, 1.9), "state"),
    ((3.9, 2.75), (3.9, 3.95), "X, TrainingConfig"),
    ((5.0, 4.5), (5.3, 4.5), "network"),
    ((7.5, 4.5), (7.8, 4.5), "games"),
    ((7.8, 4.2), (7.5, 4.2), "phi"),
    ((5.5, 3.95), (4.8, 2.75), "importances"),
    ((5.0, 2.2), (5.3, 2.2), "level"),
    ((5.3, 1.8), (5.0, 1.8), "masks"),
    ((1.4, 3.95), (1.4, 2.75), "names(group=)"),
    ((7.5, 2.0), (7.8, 2.0), "weights_"),
]


def main(path=None):
    path = path or Path(__file__).with_suffix(".png")
    fig, ax = plt.subplots(figsize=(11.5, 5.8))
    for x, y, title, module, what in STAGES:
        ax.add_patch(
            FancyBboxPatch(
                (x, y), W, H, boxstyle="round,pad=0.05", fc="#eef3fb", ec="#3465a4", lw=1.5
            )
        )
        ax.text(x + W / 2, y + 0.85, f"{title}  ({module})", ha="center", fontsize=9, weight="bold")
        ax.text(x + W / 2, y + 0.38, what, ha="center", va="center", fontsize=8)
    for start, end, label in ARROWS:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.3))
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        vertical = start[0] == end[0]
        diagonal = not vertical and start[1] != end[1]
        backward = not vertical and not diagonal and end[0] < start[0]  # below its arrow
        ax.text(
            mx + (0.08 if vertical or diagonal else 0),
            my + (0 if vertical or diagonal else (-0.08 if backward else 0.08)),
            label,
            fontsize=8,
            ha="left" if vertical or diagonal else "center",
            va="center" if vertical or diagonal else ("top" if backward else "bottom"),
            color="#204a87",
        )
    ax.text(
        0.5,
        0.75,
        "X (numpy) enters at fit; _config.py reads the parameters once into FitSetup (every "
        "stage reads it); the fitted state is numpy / scipy only,\ndeclared in _fitted.py. "
        "Outside the stages, through "
        "public names and registries: baselines.py (SCORES -> reprune(scores=, "
        "keep_counts=); TRAINED -> training settings),\nplotting.py (_Display), _export.py "
        "(FORMATS -> writer), _persistence.py (save / load against the schema; _renamed.py "
        "maps old files), _cli.py, datasets.py.",
        fontsize=8.5,
        va="center",
    )
    ax.set_xlim(0.1, 10.2)
    ax.set_ylim(0.4, 5.4)
    ax.axis("off")
    ax.set_title("skshapsae: stages and the data between them", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
