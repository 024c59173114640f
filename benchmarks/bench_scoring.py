"""Scoring cost: the games against training, and the fused kernel against torch.

``cost``: training and scoring seconds of the layer and network games (Fashion-MNIST,
(256, 64)), the network game's background and sampling errors; ``speed``: whole-model
scoring of 784-256-64 on 3,000 MNIST rows, fused CPU kernel against torch (target 10 s).
Run:  python benchmarks/bench_scoring.py [--quick] [--only cost speed] [--repeats 2]
Writes results/scoring_cost.json, scoring_speed.json.
"""

import tempfile
from unittest import mock

import numpy as np

from skshapsae import SHAPSparseAutoencoder

from _common import images, parser, print_table, write_json

NETWORKS = {
    "default (silu / identity)": dict(activation="silu", out_activation="identity"),
    "paper (logistic / logistic)": dict(activation="logistic", out_activation="logistic"),
}


def rel_l2(a, b):
    a, b = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def cost(args):
    X = images("fashion_mnist")[0]
    X = X[np.random.default_rng(0).choice(len(X), 2000 if args.quick else 10000, replace=False)]
    params = dict(hidden_layer_sizes=(64, 16) if args.quick else (256, 64), random_state=0)
    params.update(max_iter=3) if args.quick else None
    # warm-up (torch's first calls), so that neither timed fit pays for it
    SHAPSparseAutoencoder((8,), max_iter=1, n_explain=5, n_background=5).fit(X[:200])
    layer = SHAPSparseAutoencoder(**params).fit(X)
    with tempfile.TemporaryDirectory() as cache:  # the network game's fits share a training
        net = dict(params, importance_target="reconstruction", memory=cache)
        network = SHAPSparseAutoencoder(**net).fit(X)
        big = SHAPSparseAutoencoder(**net, n_background=1000).fit(X)
    same = all(np.array_equal(a, b) for a, b in zip(layer.dense_weights_, network.dense_weights_))
    rows = [
        {"game": name, "training s": m.fit_times_["training"], "scoring s": m.fit_times_["scoring"]}
        for name, m in (("layer (default)", layer), ("network", network))
    ]
    for r in rows:
        r["scoring / training"] = r["scoring s"] / r["training s"]
    stderr = np.sqrt(2 * sum(np.sum(e**2) for e in big.link_importance_stderr_))
    norm = np.linalg.norm(np.concatenate([i.ravel() for i in big.link_importances_]))
    errors = {
        "network game, 100 vs 1000 background rows": rel_l2(
            network.link_importances_, big.link_importances_
        ),
        "network game, two seeds (2 x stderr)": float(stderr / norm),
    }
    print(f"Fashion-MNIST {len(X)} rows, {params['hidden_layer_sizes']}; same network: {same}")
    print_table(rows)
    for k, v in errors.items():
        print(f"LI rel L2, {k}: {v:.4f}")
    write_json("scoring_cost", {"rows": rows, "errors": errors, "same_dense_network": same}, args)


def speed(args):
    # the torch path is reached by switching the fused kernel off (a private switch: the
    # comparison is of two implementations of one estimator, which no parameter selects)
    import skshapsae.scoring._shapley as shapley

    X = images("mnist")[0][: 600 if args.quick else 3000]
    sizes = (32, 8) if args.quick else (256, 64)
    for params in NETWORKS.values():  # warm-up: torch and the kernels' compilation
        SHAPSparseAutoencoder((16,), max_iter=1, n_explain=5, n_background=5, **params).fit(X[:200])
    rows = []
    for name, params in NETWORKS.items():
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for fused in (True, False):
                model = SHAPSparseAutoencoder(sizes, max_iter=1, random_state=0, **params)
                available = shapley.fused_available if fused else lambda *a: False
                with mock.patch.object(shapley, "fused_available", available):
                    model.fit(X)
                times[fused].append(model.fit_times_["scoring"])
                print(f"{name} fused={fused}: {times[fused][-1]:.2f}s")
        best_fused, best_torch = min(times[True]), min(times[False])
        row = {"network": name, "fused s (best)": best_fused, "torch s (best)": best_torch}
        row.update({"torch / fused": best_torch / best_fused, "all fused s": times[True]})
        rows.append({**row, "all torch s": times[False]})
    print_table(rows, ["network", "fused s (best)", "torch s (best)", "torch / fused"])
    write_json("scoring_speed", {"rows": rows}, args)


if __name__ == "__main__":
    p = parser(__doc__, only=["cost", "speed"])
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    for section in args.only or ["cost", "speed"]:
        {"cost": cost, "speed": speed}[section](args)
