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

shap writes the values on its bars with two decimals; a row's reconstruction error is
about 0.01, so its attributions would all read ``+0``. ``in_readable_units`` multiplies
them by a power of ten (here 1000) and the axis says so.
"""

import matplotlib.pyplot as plt
import numpy as np
import shap
from matplotlib.ticker import MaxNLocator
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skshapsae import SHAPSparseAutoencoder
from skshapsae.plotting import in_readable_units

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
shown, factor = in_readable_units(e)  # shap labels bars with two decimals
print(f"plotted in units of 1/{factor:g} of the error")


def tidy(xlabel, left):
    """A few x ticks, the axis label named with its unit, room for both."""
    fig, ax = plt.gcf(), plt.gca()
    fig.set_size_inches(7.5, 4.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.set_xlabel(xlabel)
    fig.subplots_adjust(left=left, right=0.95, bottom=0.15)


# %%
# Which columns drive the reconstruction error over 60 rows: the mean absolute SHAP
# value per column (bar)
plt.figure()
shap.plots.bar(shown, show=False)
tidy(f"mean |SHAP value| (reconstruction error x {factor:g})", left=0.45)
plt.show()

# %%
# ... and how each column's (raw) value moves it (beeswarm)
plt.figure()
shap.plots.beeswarm(shown, show=False)
tidy(f"SHAP value (reconstruction error x {factor:g})", left=0.45)
plt.show()

# %%
# One row: how its raw values move its error away from the background's mean
plt.figure()
shap.plots.waterfall(shown[0], show=False)
plt.gcf().set_size_inches(8, 4.5)
plt.gcf().subplots_adjust(left=0.5, right=0.88, top=0.85)
plt.gcf().suptitle(f"row 0: reconstruction error x {factor:g}", x=0.02, ha="left")
plt.show()

# %%
# All 60 rows at once
plt.figure()
shap.plots.heatmap(shown, show=False)
plt.gcf().set_size_inches(8.5, 4.5)
plt.gcf().subplots_adjust(left=0.4, right=0.8)
plt.gcf().axes[-1].set_ylabel(f"SHAP value (error x {factor:g})")  # the colour bar
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
shown0, factor0 = in_readable_units(e0)
plt.figure()
shap.plots.bar(shown0, show=False)
tidy("mean |SHAP value| (code unit 0" + (f" x {factor0:g})" if factor0 != 1 else ")"), left=0.45)
plt.show()
