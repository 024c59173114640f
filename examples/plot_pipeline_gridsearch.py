"""
Tuning the importance level in a Pipeline with GridSearchCV
===========================================================

The autoencoder reduces scikit-learn's digits to an 8-dimensional code for a logistic
regression, and ``GridSearchCV`` picks the importance level by downstream accuracy.
With ``memory=`` the dense training and the Shapley scoring, which do not depend on the
level, run once per training fold; every other candidate only re-prunes.
"""

import os
import tempfile

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skshapsae import SHAPSparseAutoencoder

quick = bool(os.environ.get("SKSHAPSAE_QUICK"))
X, y = load_digits(return_X_y=True)
X = X / 16.0
levels = [0.5, 0.7, 0.8, 0.9, 0.95, 1.0]

with tempfile.TemporaryDirectory() as cache:
    pipe = make_pipeline(
        SHAPSparseAutoencoder(
            (32, 8),
            out_activation="logistic",
            max_iter=30 if quick else 50,
            memory=cache,
            random_state=0,
        ),
        LogisticRegression(max_iter=2000),
    )
    search = GridSearchCV(pipe, {"shapsparseautoencoder__importance_level": levels}, cv=3)
    search.fit(X, y)

print("best level:", search.best_params_, f"accuracy {search.best_score_:.3f}")
ae = search.best_estimator_[0]
print(f"its sparsity eta = {ae.sparsity_:.2f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(
    levels,
    search.cv_results_["mean_test_score"],
    yerr=search.cv_results_["std_test_score"],
    marker="o",
)
ax.set_xlabel("importance level m")
ax.set_ylabel("CV accuracy (logistic regression on codes)")
fig.tight_layout()
plt.show()
