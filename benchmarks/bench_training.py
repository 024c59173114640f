"""Training throughput: the library's training loop against a plain hand-written torch loop.

Same architecture (784-256-64-256-784, sigmoid), data (10,000 Fashion-MNIST images),
optimiser (Adam, lr 1e-3), mini-batches (128) and epochs (10), one run each, alternating.
Target: the library takes at most 1.2x the plain loop's time.

Run:  python benchmarks/bench_training.py
"""

import numpy as np
import torch

from skshapsae.datasets import load_fashion_mnist
from skshapsae.network._network import TrainingConfig, train_autoencoder

from _common import Timer, data_home, machine, print_table, write_json

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


def main():
    X, _ = load_fashion_mnist(data_home=data_home(), return_X_y=True)
    X = X[:10000]
    epochs = 10
    times = {"plain torch loop": [], "skshapsae train_autoencoder": []}
    for rep in range(2):
        with Timer() as t:
            plain_loop(X, epochs, rep)
        times["plain torch loop"].append(t.seconds)
        with Timer() as t:
            train_autoencoder(
                X,
                SIZES,
                ["logistic"] * 4,
                # the plain loop's work: fixed epochs from a random start, no stopping rule
                TrainingConfig(
                    max_iter=epochs,
                    batch_size=128,
                    learning_rate_init=1e-3,
                    n_iter_no_change=epochs + 1,
                    init="random",
                    seed=rep,
                ),
            )
        times["skshapsae train_autoencoder"].append(t.seconds)
    rows = [{"loop": k, "best seconds": min(v), "runs": v} for k, v in times.items()]
    print_table(rows, ["loop", "best seconds"])
    ratio = min(times["skshapsae train_autoencoder"]) / min(times["plain torch loop"])
    print(f"library / plain = {ratio:.2f}x (target <= 1.2x)")
    write_json(
        "training",
        {
            "machine": machine(),
            "rows": rows,
            "ratio": ratio,
            "epochs": epochs,
            "rows_of_data": len(X),
        },
    )


if __name__ == "__main__":
    np.random.seed(0)  # noqa: NPY002 - benchmarks only
    main()
