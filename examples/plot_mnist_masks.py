"""
Figure 4: which pixels survive as the importance level falls
============================================================

An autoencoder is trained on MNIST digits (read from ``$SKSHAPSAE_DATA`` or
``../shared/data``; scikit-learn's 8x8 digits when MNIST is not available), scored once,
and re-pruned at several importance levels without retraining. Grey pixels feed no kept
link: as ``m`` falls, the edges of the image go first, as in the paper's Figure 4. The
second figure shows, for some code units, the pixels they see through kept paths.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skshapsae import SHAPSparseAutoencoder
from skshapsae.datasets import load_mnist
from skshapsae.plotting import FeatureMaskDisplay, ImageMaskDisplay

quick = bool(os.environ.get("SKSHAPSAE_QUICK"))
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
try:
    X, _ = load_mnist(
        data_home=os.environ.get("SKSHAPSAE_DATA", here.parent / ".." / "shared" / "data"),
        return_X_y=True,
    )
    X, shape, hidden = X[: 2000 if quick else 8000], (28, 28), (256, 64)
except FileNotFoundError:
    X, _ = load_digits(return_X_y=True)
    X, shape, hidden = X / 16.0, (8, 8), (32, 16)

ae = SHAPSparseAutoencoder(
    hidden,
    out_activation="logistic",
    max_iter=3 if quick else 20,
    learning_rate_init=1e-3,
    batch_size=128,
    n_explain=50 if quick else 200,
    fold_bias=True,
    random_state=0,
).fit(X)

FeatureMaskDisplay.from_estimator(
    ae, levels=(0.5, 0.8, 0.9, 0.95, 0.99), image_shape=shape, image=X[0]
)
ImageMaskDisplay.from_estimator(ae.reprune(0.8), image_shape=shape, units=8)
plt.show()
