"""
Fitting a table that does not fit in memory: chunks, Dask and ``partial_fit``
=============================================================================

``fit`` accepts, besides an array, a Dask array or any re-iterable of 2-d chunks: the
network then sees one chunk at a time, and a uniform sample of the rows (reservoir
sampling) serves as the Shapley background. ``partial_fit`` does the same one chunk per
call. Here a table is *generated* chunk by chunk (it could be files read in turn), so
the whole never exists in memory; the streamed fit is compared with the in-memory fit
of the same rows, and ``partial_fit`` is run for a few passes, with the network game
(``importance_target="reconstruction"``), which keeps each call cheap (at the same
``importance_level`` it prunes more than the layer game: its importance is more
concentrated).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from skshapsae import SHAPSparseAutoencoder

quick = bool(os.environ.get("SKSHAPSAE_QUICK"))
n_chunks, rows = (6, 500) if quick else (20, 1000)
loadings = np.random.default_rng(0).normal(size=(4, 30)) / 2


class GeneratedTable:
    """A 30-column table in chunks, produced anew on every pass."""

    def __iter__(self):
        for k in range(n_chunks):
            rng = np.random.default_rng(k + 1)
            latent = rng.normal(size=(rows, 4))
            yield np.tanh(latent @ loadings) + 0.05 * rng.normal(size=(rows, 30))


# the table in memory, only to compare with (and a held-out chunk to score on)
table = np.vstack(list(GeneratedTable()))
test = np.tanh(np.random.default_rng(99).normal(size=(rows, 4)) @ loadings)
results = {"streamed": [], "in memory": []}
for seed in range(3):  # the seed also draws the Shapley rows, which move the result
    params = dict(hidden_layer_sizes=(12, 4), max_iter=10 if quick else 40, random_state=seed)
    streamed = SHAPSparseAutoencoder(**params).fit(GeneratedTable())
    results["streamed"].append(-streamed.score(test))
    results["in memory"].append(-SHAPSparseAutoencoder(**params).fit(table).score(test))
print(f"rows seen: {streamed.n_samples_seen_}")
for name, mse in results.items():
    print(f"test MSE, {name:9s}: {np.mean(mse):.4f} +/- {np.std(mse):.4f} (3 seeds)")

# %%
# ``partial_fit``: one pass over a chunk per call; the estimator is usable after each.
incremental = SHAPSparseAutoencoder(
    (12, 4), importance_target="reconstruction", random_state=0, fine_tune_iter=1
)
curve = []
for _ in range(2 if quick else 4):
    for chunk in GeneratedTable():
        incremental.partial_fit(chunk)
        curve.append(-incremental.score(test))

print(
    f"partial_fit: {incremental.n_iter_} calls, sparsity {incremental.sparsity_:.2f} "
    f"(the fits above: {streamed.sparsity_:.2f}); each call trains one pass over one chunk, "
    "so it needs many calls to match fit's epochs"
)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(np.arange(1, len(curve) + 1), curve, marker=".", label="partial_fit, after each call")
ax.axhline(np.mean(results["streamed"]), color="C1", ls="--", label="fit on the chunks")
ax.axhline(np.mean(results["in memory"]), color="C2", ls=":", label="fit in memory")
ax.set_xlabel("partial_fit calls (chunks)")
ax.set_ylabel("test MSE of the pruned network")
ax.set_yscale("log")
ax.legend(fontsize=8)
ax.set_title("Streaming: the same network without holding the table")
fig.tight_layout()
plt.show()
