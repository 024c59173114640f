"""
Per-row explanations in shap's plots
====================================

``explain(X)`` explains each row's reconstruction error by the input columns
(``shap.PermutationExplainer`` on the pruned model, background ``background_``): which
columns make this row hard to reconstruct. Its values have shape ``(rows, features)``,
which shap's plots take as they come: ``bar``, ``beeswarm``, ``heatmap``, and
``waterfall`` for one row. The values of one row add up exactly to that row's error
minus the mean error over the background. The model sits behind a scaler, as in a
pipeline; ``display_data`` shows the raw values on the plots (the attributions do not
change). ``explain(X, output=k)`` explains code unit ``k`` instead: the encoder is pruned,
so a code unit reads only the columns its kept links reach, and every other column gets
exactly 0.
"""

import matplotlib.pyplot as plt
import numpy as np
import shap
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skshapsae import SHAPSparseAutoencoder

raw = load_wine(as_frame=True).data
pipe = make_pipeline(
    MinMaxScaler().set_output(transform="pandas"),
    SHAPSparseAutoencoder(hidden_layer_sizes=3, random_state=0),
).fit(raw)
scaler, ae = pipe[0], pipe[-1]
rows = raw.iloc[:60]
e = ae.explain(scaler.transform(rows), display_data=rows)  # the rows' reconstruction errors
print(e.values.shape)
recon = ae.inverse_transform(ae.transform(scaler.transform(rows)))
error = np.mean(ae.column_weights_ * (recon - scaler.transform(rows).to_numpy()) ** 2, axis=1)
print("values add up to the error:", bool(np.allclose(e.values.sum(axis=1) + e.base_values, error)))

# %%
# Which columns drive the reconstruction error over 60 rows: the mean absolute SHAP
# value per column (bar)
plt.figure()
shap.plots.bar(e, show=False)
plt.gcf().set_size_inches(7, 4)
plt.gcf().subplots_adjust(left=0.47)
plt.show()

# %%
# ... and how each column's (raw) value moves it (beeswarm)
plt.figure()
shap.plots.beeswarm(e, show=False)
plt.gcf().set_size_inches(7, 4)
plt.gcf().subplots_adjust(left=0.47)
plt.show()

# %%
# One row: how its raw values move its error away from the background's mean
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

# %%
# Code unit 0 instead: the pruned encoder reads only some columns; the others are
# dummy players and get exactly 0
e0 = ae.explain(scaler.transform(rows), output=0, display_data=rows)
read = ae.active_units_[0]
print(
    f"code unit 0 reads {int(read.sum())} of {read.size} columns;",
    "the others:",
    np.unique(e0.values[:, ~read]),
)
plt.figure()
shap.plots.bar(e0, show=False)
plt.gcf().set_size_inches(7, 4)
plt.gcf().subplots_adjust(left=0.47)
plt.show()
