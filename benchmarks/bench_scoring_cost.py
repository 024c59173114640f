"""Scoring cost against training cost at the defaults (Fashion-MNIST, 10,000 rows, (256, 64)).

One fit with the library's defaults (the layer game), then the same dense network scored
by the network game (``importance_target="reconstruction"``, a second fit with the same
seed: the same training). Printed: training seconds, scoring seconds of each game and
their ratio to training. For the network game also the link-importance error against a
1,000-row background (its background only sets the imputed means) and against a second
run with another seed (its sampling error); the layer game's errors are in
``bench_importance.py``.

Run:  python benchmarks/bench_scoring_cost.py [--quick]
"""

import argparse

import numpy as np

from skshapsae import SHAPSparseAutoencoder
from skshapsae.scoring._scoring import DenseNetwork, ScoringConfig, score_network

from _common import data_home, machine, print_table, write_json


def rel_l2(a, b):
    a = np.concatenate([x.ravel() for x in a])
    b = np.concatenate([x.ravel() for x in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main(quick=False):
    rng = np.random.default_rng(0)
    with np.load(data_home() / "fashion_mnist_70k.npz") as data:
        X_all = data["X"]
    rows = rng.choice(len(X_all), 2000 if quick else 10000, replace=False)
    X = X_all[rows].astype(np.float64) / 255.0
    params = dict(hidden_layer_sizes=(64, 16) if quick else (256, 64), random_state=0)
    if quick:
        params["max_iter"] = 3
    # warm-up (torch's first calls), so that neither timed fit pays for it
    SHAPSparseAutoencoder((8,), max_iter=1, n_explain=5, n_background=5).fit(X[:200])
    layer = SHAPSparseAutoencoder(**params).fit(X)
    network = SHAPSparseAutoencoder(**params, importance_target="reconstruction").fit(X)
    same = all(np.array_equal(a, b) for a, b in zip(layer.dense_weights_, network.dense_weights_))
    training = layer.fit_times_["training"]
    out = [
        {
            "game": "layer (default)",
            "training s": training,
            "scoring s": layer.fit_times_["scoring"],
        },
        {
            "game": "network",
            "training s": network.fit_times_["training"],
            "scoring s": network.fit_times_["scoring"],
        },
    ]
    for r in out:
        r["scoring / training"] = r["scoring s"] / r["training s"]
    # the network game's errors: background size and sampling
    dense = DenseNetwork(network.dense_weights_, network.dense_intercepts_, network.activations_)
    explained = X[rng.choice(len(X), 200, replace=False)]
    config = ScoringConfig(target="reconstruction", seed=1)
    big = X[rng.choice(len(X), 1000, replace=False)]
    ref = score_network(dense, big, explained, config).importances
    small = score_network(dense, big[:100], explained, config).importances
    other_seed = score_network(
        dense, big, explained, ScoringConfig(target="reconstruction", seed=2)
    ).importances
    errors = {
        "network game, 100 vs 1000 background rows": rel_l2(small, ref),
        "network game, seed 1 vs seed 2": rel_l2(other_seed, ref),
    }
    print(
        f"Fashion-MNIST {len(X)} rows, {params['hidden_layer_sizes']}; same dense network: {same}"
    )
    print_table(out, ["game", "training s", "scoring s", "scoring / training"])
    for k, v in errors.items():
        print(f"LI rel L2, {k}: {v:.4f}")
    write_json(
        "scoring_cost" + ("_quick" if quick else ""),
        {"machine": machine(), "rows": out, "errors": errors, "same_dense_network": same},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
