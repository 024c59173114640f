"""
Tabular feature selection: SelectFromModel, SelectKBest and select_features
===========================================================================

Three ways to select ``k`` of the 30 features of scikit-learn's breast-cancer data
without the labels, compared with mutual information with the label (supervised) and
random choices, by the cross-validated accuracy of a logistic regression on the
selected features:

* ``SelectFromModel(SHAPSparseAutoencoder(...))``: the top ``k`` by
  ``feature_importances_`` (each column's contribution to rebuilding the others);
* ``SelectKBest(partial(shap_importances, ...))``: the same scores as a score function;
* ``ae.select_features(k)``: a greedy choice that adds, at each step, the column
  explaining the largest share of the variance of all columns (in standard units), so
  that near copies (radius, perimeter, area) are not picked together.
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
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

from skshapsae import SHAPSparseAutoencoder, shap_importances

quick = bool(os.environ.get("SKSHAPSAE_QUICK"))
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
ks = [2, 4, 8] if quick else [2, 4, 8, 16]
params = dict(hidden_layer_sizes=4, random_state=0)


def accuracy(selector):
    pipe = make_pipeline(
        MinMaxScaler(), selector, StandardScaler(), LogisticRegression(max_iter=2000)
    )
    return cross_val_score(pipe, X, y, cv=5).mean()


# select_features is a method of a fitted model: fit once on all rows (no labels used)
scaled = MinMaxScaler().set_output(transform="pandas").fit_transform(X)
ae = SHAPSparseAutoencoder(**params).fit(scaled)
results = {
    "SelectFromModel (feature_importances_)": [],
    "SelectKBest (shap_importances)": [],
    "select_features (greedy)": [],
    "mutual information (uses y)": [],
    "random": [],
}
for k in ks:
    results["SelectFromModel (feature_importances_)"].append(
        accuracy(
            SelectFromModel(SHAPSparseAutoencoder(**params), max_features=k, threshold=-np.inf)
        )
    )
    results["SelectKBest (shap_importances)"].append(
        accuracy(SelectKBest(partial(shap_importances, **params), k=k))
    )
    columns = ae.select_features(k)
    results["select_features (greedy)"].append(
        accuracy(FunctionTransformer(lambda Z, c=columns: np.asarray(Z)[:, c]))
    )
    mi = partial(mutual_info_classif, random_state=0)
    results["mutual information (uses y)"].append(accuracy(SelectKBest(mi, k=k)))
    scores = np.random.default_rng(k).uniform(size=X.shape[1])
    results["random"].append(accuracy(SelectKBest(lambda X, y, s=scores: s, k=k)))

print("top 5 by importance:", list(ae.feature_names_in_[np.argsort(-ae.feature_importances_)[:5]]))
print("select_features(5): ", list(ae.feature_names_in_[ae.select_features(5)]))
for name, accs in results.items():
    print(f"{name:40s}", " ".join(f"k={k}: {a:.3f}" for k, a in zip(ks, accs)))

fig, ax = plt.subplots(figsize=(6, 3.8))
for name, accs in results.items():
    ax.plot(ks, accs, marker="o", label=name)
ax.set_xscale("log", base=2)
ax.set_xticks(ks, [str(k) for k in ks])
ax.set_xlabel("number of selected features")
ax.set_ylabel("5-fold CV accuracy")
ax.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %%
# Reading the result
# ------------------
# None of the three SHAP-SAE selectors sees the labels: they pick the columns that
# carry the table's shared structure. The ranking alone (the first two lines, which
# agree) picks near copies of each other, which share their Shapley credit;
# ``select_features`` skips a column that repeats one already chosen, so its few
# columns reconstruct the table better (docs, "Training": 9 of 11 tables at or below
# the best of variance, PCA loadings and the Laplacian score). For a *supervised*
# selection, mutual information with ``y`` is the right tool.
