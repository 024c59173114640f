"""
Figure 2: unit and link importances on the paper's synthetic data
==================================================================

The paper's synthetic data (section 3.1) has six features: ``x1`` is constant,
``x5 = x1 + x2`` and ``x6 = x3 + x4``. A 6-3-6 autoencoder is trained and pruned at
importance level ``m = 0.8``. The three panels are those of the paper's Figure 2: the
unit importance of each input (eq. 4), the variance of its link importances over the
three hidden units, and the link-importance matrix with the kept links marked.

``x1`` is a dummy player: its importance is exactly zero, so its links are pruned.
Which of the collinear inputs (``x2`` / ``x5``, ``x3``, ``x4`` / ``x6``) carries the
weight depends on the training run; see the user guide for why the paper's ordering
of those is not a property of the method.
"""

import os
import warnings

import matplotlib.pyplot as plt

from skshapsae import SHAPSparseAutoencoder
from skshapsae.datasets import make_synthetic
from skshapsae.plotting import LinkImportanceDisplay, UnitImportanceDisplay

quick = bool(os.environ.get("SKSHAPSAE_QUICK"))
X = make_synthetic(3000 if quick else 15000, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # x1 is constant, on purpose
    ae = SHAPSparseAutoencoder((3,), importance_level=0.8, random_state=0).fit(X)

print("unit importances:", ae.feature_importances_.round(4))
print(
    "kept links of layer 1 (unit, input):",
    [(i + 1, j + 1) for i, j in zip(*ae.link_masks_[0].nonzero())],
)
print(f"sparsity eta = {ae.sparsity_:.2f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
UnitImportanceDisplay.from_estimator(ae, ax=axes[0])
LinkImportanceDisplay.from_estimator(ae, kind="variance", ax=axes[1])
LinkImportanceDisplay.from_estimator(ae, kind="heatmap", ax=axes[2])
fig.tight_layout()
plt.show()
