"""
Tabular feature attribution: SelectFromModel with the unit importances
=======================================================================

``feature_importances_`` (the unit importances of the input layer, eq. 4) ranks the
features of a tabular data set by how much they drive the autoencoder's first layer,
without using the labels. Here it selects ``k`` of the 30 features of scikit-learn's
breast-cancer data, compared with mutual information with the label (supervised) and
random choices, by the cross-validated accuracy of a logistic regression on the
selected features.
"""

import os
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.feature_selection import SelectFromModel, SelectKBest, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skshapsae import SHAPSparseAutoencoder

quick = bool(os.environ.get("SKSHAPSAE_QUICK"))
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
ks = [2, 4, 8, 16]


def accuracy(selector):
    pipe = make_pipeline(
        MinMaxScaler(), selector, StandardScaler(), LogisticRegression(max_iter=2000)
    )
    return cross_val_score(pipe, X, y, cv=5).mean()


results = {"SHAP-SAE feature_importances_": [], "mutual information (uses y)": [], "random": []}
for k in ks:
    ae = SHAPSparseAutoencoder((8, 4), max_iter=10 if quick else 50, random_state=0)
    results["SHAP-SAE feature_importances_"].append(
        accuracy(SelectFromModel(ae, max_features=k, threshold=-np.inf))
    )
    mi = partial(mutual_info_classif, random_state=0)
    results["mutual information (uses y)"].append(accuracy(SelectKBest(mi, k=k)))
    scores = np.random.default_rng(k).uniform(size=X.shape[1])
    results["random"].append(accuracy(SelectKBest(lambda X, y, s=scores: s, k=k)))

ae = SHAPSparseAutoencoder((8, 4), max_iter=10 if quick else 50, random_state=0)
ae.fit(MinMaxScaler().set_output(transform="pandas").fit_transform(X))
top = np.argsort(-ae.feature_importances_)[:5]
print("top features:", list(ae.feature_names_in_[top]))
for name, accs in results.items():
    print(f"{name:32s}", " ".join(f"k={k}: {a:.3f}" for k, a in zip(ks, accs)))

fig, ax = plt.subplots(figsize=(5.5, 3.5))
for name, accs in results.items():
    ax.plot(ks, accs, marker="o", label=name)
ax.set_xscale("log", base=2)
ax.set_xlabel("number of selected features")
ax.set_ylabel("5-fold CV accuracy")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Reading the result
# ------------------
# ``feature_importances_`` never sees the labels: it ranks the columns that carry the
# table's shared structure, and on breast cancer many of those are near copies of each
# other (radius, perimeter, area), which share their Shapley credit. So the top few by
# importance are not the most predictive few, and random subsets can do as well at
# small ``k``; mutual information, which uses ``y``, is the right tool for a supervised
# selection. See "What ``feature_importances_`` measures" in the user guide and the
# example of the same name.
