"""Whole-model scoring time of the 784-256-64 network (issue 30's target: at most 10 s).

The setting of the target: 3,000 MNIST rows, one training epoch, the default scoring
(layer game, 200 explained and 100 background rows), on the library's default network
(SiLU hidden units, identity output) and on the paper's (sigmoid hidden and output
units). Each is scored with the permutation estimator's fused CPU kernel (the default,
``skshapsae.scoring._game_kernels``) and with its torch path, alternately in one process, with
the same trained network (same seed); printed: the scoring seconds (``fit_times_``)
and the ratio.

Run:  python benchmarks/bench_scoring_speed.py [--repeats 2]
"""

import argparse
import time
from unittest import mock

import numpy as np

import skshapsae.scoring._shapley as shapley
from skshapsae import SHAPSparseAutoencoder

from _common import data_home, machine, print_table, write_json

NETWORKS = {
    "default (silu / identity)": dict(activation="silu", out_activation="identity"),
    "paper (logistic / logistic)": dict(activation="logistic", out_activation="logistic"),
}


def scoring_seconds(X, params, fused):
    model = SHAPSparseAutoencoder((256, 64), max_iter=1, random_state=0, **params)
    if fused:
        model.fit(X)
    else:
        with mock.patch.object(shapley, "fused_available", lambda *args: False):
            model.fit(X)
    return model.fit_times_["scoring"], model.link_importances_


def main(repeats=2):
    with np.load(data_home() / "mnist_10k.npz") as data:
        X = data["X"][:3000].astype(np.float64) / 255.0
    # warm-up: torch's first calls and the kernels' compilation (or cache load)
    for params in NETWORKS.values():
        SHAPSparseAutoencoder((16,), max_iter=1, n_explain=5, n_background=5, **params).fit(X[:200])
    rows = []
    for name, params in NETWORKS.items():
        times = {True: [], False: []}
        for _ in range(repeats):
            for fused in (True, False):
                start = time.perf_counter()
                seconds, importances = scoring_seconds(X, params, fused)
                times[fused].append(seconds)
                print(
                    f"{name} fused={fused}: {seconds:.2f}s ({time.perf_counter() - start:.1f}s fit)"
                )
        rows.append(
            {
                "network": name,
                "fused s (best)": min(times[True]),
                "torch s (best)": min(times[False]),
                "torch / fused": min(times[False]) / min(times[True]),
                "all fused s": times[True],
                "all torch s": times[False],
            }
        )
    print_table(rows, ["network", "fused s (best)", "torch s (best)", "torch / fused"])
    write_json("scoring_speed", {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    main(parser.parse_args().repeats)
