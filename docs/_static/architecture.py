"""Draw docs/_static/architecture.png: the stages of skshapsae and the data between them.

Run: python docs/_static/architecture.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

STAGES = [
    # (x, y, title, module, what it does)
    (0.5, 4.0, "train", "_network.py", "PCA start, Adam,\nstopping rule, fine_tune"),
    (3.5, 4.0, "score", "_scoring.py", "GameFamily -> games,\nscore_network, explain_layer"),
    (6.5, 4.0, "estimate", "_shapley.py", "ESTIMATORS registry:\nlinear, exact, permutation, ..."),
    (3.5, 1.6, "prune", "_pruning.py", "support sets (eq. 8), cascade,\nfolding, target sparsity"),
    (6.5, 1.6, "infer", "_inference.py", "compact plan (dense / CSR),\ncached, torch forward"),
    (
        0.5,
        1.6,
        "orchestrate",
        "_estimator.py",
        "validate, cache (memory=),\nfit / reprune / explain",
    ),
]
ARROWS = [
    ((2.9, 4.5), (3.5, 4.5), "DenseNetwork"),
    ((6.0, 4.5), (6.5, 4.5), "games, points"),
    ((6.5, 4.2), (6.0, 4.2), "phi"),
    ((4.75, 3.95), (4.75, 2.75), "link_importances_"),
    ((6.0, 2.2), (6.5, 2.2), "weights_ (CSR)"),
    ((3.5, 2.2), (2.9, 2.2), "masks, biases"),
    ((1.7, 2.75), (1.7, 3.95), "fine_tune(masks)"),
]


def main(path=None):
    path = path or Path(__file__).with_suffix(".png")
    fig, ax = plt.subplots(figsize=(10, 5.6))
    for x, y, title, module, what in STAGES:
        ax.add_patch(
            FancyBboxPatch(
                (x, y), 2.4, 1.1, boxstyle="round,pad=0.05", fc="#eef3fb", ec="#3465a4", lw=1.5
            )
        )
        ax.text(x + 1.2, y + 0.85, f"{title}  ({module})", ha="center", fontsize=10, weight="bold")
        ax.text(x + 1.2, y + 0.38, what, ha="center", va="center", fontsize=8.5)
    for start, end, label in ARROWS:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.3))
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        vertical = start[0] == end[0]
        ax.text(
            mx + (0.08 if vertical else 0),
            my + (0 if vertical else 0.08),
            label,
            fontsize=8,
            ha="left" if vertical else "center",
            va="center" if vertical else "bottom",
            color="#204a87",
        )
    ax.text(
        0.5,
        0.75,
        "X (numpy) enters at fit; the fitted state is numpy / scipy only. Outside the stages, "
        "through public names:\nbaselines.py (scores -> reprune(scores=, keep_counts=)), "
        "plotting.py (Displays), _cli.py, datasets.py, _persistence.py (save / load).",
        fontsize=8.5,
        va="center",
    )
    ax.set_xlim(0.2, 9.2)
    ax.set_ylim(0.4, 5.4)
    ax.axis("off")
    ax.set_title("skshapsae: stages and the data between them", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
