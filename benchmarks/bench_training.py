"""Training throughput: the library's training against a hand-written torch loop.

784-256-64-256-784 on 10,000 Fashion-MNIST images, Adam, batches of 128, 10 epochs;
the library's time is ``fit_times_["training"]``. Target: at most 1.2x the loop.
Run:  python benchmarks/bench_training.py [--quick]     Writes results/training.json
      (results/training_avx2.json under ATEN_CPU_CAPABILITY=avx2, and so on).
"""

import os

import numpy as np
import torch

from skshapsae import SHAPSparseAutoencoder

from _common import Timer, images, isa, parser, print_table, write_json

SIZES = [784, 256, 64, 256, 784]


def plain_loop(X, epochs, seed):
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    data = torch.tensor(X, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(data))
        for begin in range(0, len(data), 128):
            batch = data[order[begin : begin + 128]]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(batch), batch)
            loss.backward()
            opt.step()
    return float(loss.detach())


def library(X, epochs, seed):
    # the plain loop's work: fixed epochs from a random start, no stopping rule
    paper = dict(activation="logistic", out_activation="logistic", device="cpu")
    adam = dict(solver="adam", init="random", batch_size=128, learning_rate_init=1e-3)
    no_stop = dict(max_iter=epochs, n_iter_no_change=epochs + 1, early_stopping=False)
    no_scoring = dict(n_explain=1, n_background=1, fine_tune_iter=0)
    model = SHAPSparseAutoencoder(SIZES[1:3], random_state=seed, **paper, **adam, **no_stop)
    model.set_params(**no_scoring)
    return model.fit(X).fit_times_["training"]


def main(args):
    X = images("fashion_mnist")[0][: 2000 if args.quick else 10000]
    epochs = 2 if args.quick else 10
    times = {"plain torch loop": [], "skshapsae training": []}
    for rep in range(2):
        with Timer() as t:
            plain_loop(X, epochs, rep)
        times["plain torch loop"].append(t.seconds)
        times["skshapsae training"].append(library(X, epochs, rep))
    rows = [{"loop": k, "best seconds": min(v), "runs": v} for k, v in times.items()]
    print_table(rows, ["loop", "best seconds"])
    ratio = min(times["skshapsae training"]) / min(times["plain torch loop"])
    print(f"library / plain = {ratio:.2f}x (target <= 1.2x); {isa()}")
    payload = {"rows": rows, "ratio": ratio, "epochs": epochs, "rows_of_data": len(X)}
    # run with a narrower ATEN_CPU_CAPABILITY: results/training_<capability>.json
    narrowed = os.environ.get("ATEN_CPU_CAPABILITY")
    suffix = f"_{torch.backends.cpu.get_cpu_capability().lower()}" if narrowed else ""
    write_json("training" + suffix, payload, args)


if __name__ == "__main__":
    np.random.seed(0)  # noqa: NPY002 - benchmarks only
    main(parser(__doc__).parse_args())
