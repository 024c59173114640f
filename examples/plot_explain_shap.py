"""
Per-row explanations in shap's plots
====================================

``explain(X)`` attributes each code unit to the input features, row by row
(``shap.PermutationExplainer`` on the pruned encoder, background ``background_``). Its
values have shape ``(rows, features, code units)``; ``explain(X, output=k)`` keeps code
unit ``k``, an Explanation of shape ``(rows, features)`` that shap's plots take as it
comes: ``bar``, ``beeswarm``, ``heatmap``, and ``waterfall`` for one row. The values of
one row add up exactly to that row's code minus the mean code over the background.
The encoder is pruned, so a code unit reads only the columns its kept links reach:
here 4 of the 13, and every other column gets exactly 0.
"""

import matplotlib.pyplot as plt
import numpy as np
import shap
from sklearn.datasets import load_wine
from sklearn.preprocessing import MinMaxScaler

from skshapsae import SHAPSparseAutoencoder

X = MinMaxScaler().set_output(transform="pandas").fit_transform(load_wine(as_frame=True).data)
ae = SHAPSparseAutoencoder(n_components=3, random_state=0).fit(X)
e = ae.explain(X.iloc[:60], output=0)  # code unit 0, the first output column
print(e.values.shape, "columns:", ae.get_feature_names_out()[0])
added = e.values.sum(axis=1) + e.base_values
print("values add up to the code:", bool(np.allclose(added, ae.transform(X.iloc[:60])[:, 0])))

# %%
# Which features drive code unit 0 over 60 rows: the mean absolute SHAP value per
# feature (bar)
plt.figure()
shap.plots.bar(e, show=False)
plt.gcf().set_size_inches(7, 4)
plt.gcf().subplots_adjust(left=0.47)
plt.show()

# %%
# ... and how each feature's value moves it (beeswarm)
plt.figure()
shap.plots.beeswarm(e, show=False)
plt.gcf().set_size_inches(7, 4)
plt.gcf().subplots_adjust(left=0.47)
plt.show()

# %%
# One row: how its features move code unit 0 away from the background's mean
plt.figure()
shap.plots.waterfall(e[0], show=False)
plt.gcf().set_size_inches(8, 4.5)
plt.gcf().subplots_adjust(left=0.5)
plt.show()

# %%
# All 60 rows at once
plt.figure()
shap.plots.heatmap(e, show=False)
plt.gcf().set_size_inches(8, 4.5)
plt.gcf().subplots_adjust(left=0.45)
plt.show()
