"""Scaling with the rows: a streamed fit of a generated 100-column table, 10^4 -> 10^6 rows.

Each size in its own process (peak memory), against ``IncrementalPCA.partial_fit`` on
the same chunks. ``--cluster``: a Dask ``LocalCluster`` (2 workers), clients capped at
2 GiB: streamed fit, lazy transform of 10^6-10^7 rows, Dask-ML's PCA.
Run:  python benchmarks/bench_scaling.py [--quick] [--cluster]
Writes results/scaling.json (scaling_dask.json).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import parser, peak_rss_mb, print_table, recon_mse, timed, write_json

CHUNK = 10_000
N_COLS = 100
#: the streamed fit's parameters (a 50-10 encoder; both scaling runs)
MODEL = dict(max_iter=3, n_iter_no_change=10, fine_tune_iter=1, random_state=0)


class SyntheticTable:
    """``n_rows`` x 100 rows in chunks of 10,000, generated on each pass (re-iterable)."""

    def __init__(self, n_rows):
        self.n_rows = n_rows
        rng = np.random.default_rng(0)
        self.loadings = rng.normal(size=(10, N_COLS)) / np.sqrt(10)

    def __iter__(self):
        for k, begin in enumerate(range(0, self.n_rows, CHUNK)):
            rng = np.random.default_rng(k + 1)
            rows = min(CHUNK, self.n_rows - begin)
            latent = rng.normal(size=(rows, 10))
            yield latent @ self.loadings + 0.1 * rng.normal(size=(rows, N_COLS))


def one(method, n_rows):
    """Run one size in this process; print a JSON line."""
    data = SyntheticTable(n_rows)
    start = time.perf_counter()
    if method == "skshapsae":
        from skshapsae import SHAPSparseAutoencoder

        ae = SHAPSparseAutoencoder((50, 10), **MODEL).fit(data)
        stages = dict(ae.fit_times_)
        mse = -ae.score(next(iter(data)))
    else:
        from sklearn.decomposition import IncrementalPCA

        pca = IncrementalPCA(n_components=10)
        for chunk in data:
            pca.partial_fit(chunk)
        stages, mse = {}, recon_mse(pca, next(iter(data)))
    total = time.perf_counter() - start
    stages["other"] = total - sum(stages.values())
    row = {"method": method, "rows": n_rows, "seconds": total, "peak_mb": peak_rss_mb()}
    print(json.dumps({**row, "mse_first_chunk": mse, **{f"{k} s": v for k, v in stages.items()}}))


def in_process(*argv):
    """This script run with ``argv`` in a new process: the JSON line it prints last."""
    out = subprocess.run(
        [sys.executable, __file__, *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(row, flush=True)
    return row


def main(args):
    sizes = [10_000, 30_000] if args.quick else [10_000, 100_000, 1_000_000]
    rows = [in_process("--one", m, n) for n in sizes for m in ("skshapsae", "IncrementalPCA")]
    base = {r["method"]: r for r in rows if r["rows"] == sizes[0]}
    for r in rows:
        r["time / rows vs smallest"] = (r["seconds"] / r["rows"]) / (
            base[r["method"]]["seconds"] / base[r["method"]]["rows"]
        )
    columns = ["method", "rows", "seconds", "training s", "scoring s", "other s"]
    columns += ["time / rows vs smallest", "peak_mb", "mse_first_chunk"]
    print(f"streamed fit of a {N_COLS}-column synthetic table in {CHUNK:,}-row chunks")
    print_table(rows, columns)
    write_json("scaling", {"rows": rows}, args)


# ------------------------------------------------------------------ on a Dask cluster
CLUSTER_CHUNK = 50_000
CLIENT_CAP_GIB = 2.0


def generated(n_rows, chunk=CLUSTER_CHUNK):
    """The synthetic table as a Dask array, generated on the workers (float32)."""
    import dask.array as da

    rng = da.random.default_rng(0)
    loadings = np.random.default_rng(0).normal(size=(10, N_COLS)).astype(np.float32)
    latent = rng.standard_normal((n_rows, 10), chunks=(chunk, 10), dtype=np.float32)
    noise = rng.standard_normal((n_rows, N_COLS), chunks=(chunk, N_COLS), dtype=np.float32)
    return latent @ (loadings / np.float32(np.sqrt(10))) + np.float32(0.1) * noise


def cluster_one(task, n_rows, address, folder):
    """One measurement in this client process, its data segment capped; prints JSON."""
    import pickle
    import resource

    cap = int(CLIENT_CAP_GIB * 2**30)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    from dask.distributed import Client

    client = Client(address)
    X = generated(n_rows)
    folder = Path(folder)
    row = {"task": task, "rows": n_rows}
    start = time.perf_counter()
    if task == "fit skshapsae":
        from skshapsae import SHAPSparseAutoencoder, save

        ae = SHAPSparseAutoencoder((50, 10), **MODEL).fit(X)
        row["seconds"] = time.perf_counter() - start
        row.update({f"{k} s": v for k, v in ae.fit_times_.items()})
        save(ae, folder / "model.skshapsae")
    elif task == "fit IncrementalPCA":
        from sklearn.decomposition import IncrementalPCA

        pca, blocks = IncrementalPCA(n_components=10), X.to_delayed().ravel()
        ahead = client.compute(blocks[0])
        for following in [*blocks[1:], None]:  # the next block read ahead, as fit does
            chunk = ahead.result()
            ahead = None if following is None else client.compute(following)
            pca.partial_fit(chunk)
        row["seconds"] = time.perf_counter() - start
    elif task == "fit dask-ml PCA":
        from dask_ml.decomposition import PCA

        pca = PCA(n_components=10, svd_solver="tsqr").fit(X)
        row["seconds"] = time.perf_counter() - start
        (folder / "pca.pkl").write_bytes(pickle.dumps(pca))
    elif task == "generate only":
        X.mean(axis=0).compute()
        row["seconds"] = time.perf_counter() - start
    elif task == "transform skshapsae":
        from skshapsae import load

        ae = load(folder / "model.skshapsae")
        ae.transform(generated(2 * CLUSTER_CHUNK)).mean(axis=0).compute()  # warm workers
        row["seconds"] = timed(lambda: ae.transform(X).mean(axis=0).compute())[0]
    elif task == "transform dask-ml PCA":
        pca = pickle.loads((folder / "pca.pkl").read_bytes())
        row["seconds"] = timed(lambda: pca.transform(X).mean(axis=0).compute())[0]
    client.close()
    row["rows/s"] = n_rows / row["seconds"]
    row["client peak MiB"] = peak_rss_mb()
    row["table MiB"] = n_rows * N_COLS * 4 / 2**20
    print(json.dumps(row))


def throughput(n_rows, client, folder):
    """Lazy transform of persisted rows on the cluster against in-memory transform."""
    import dask
    import dask.array as da

    from skshapsae import load

    ae = load(Path(folder) / "model.skshapsae")
    X = generated(n_rows).persist()
    dask.compute(X.sum())
    ae.transform(X[: 2 * CLUSTER_CHUNK]).sum().compute()  # warm the workers
    lazy = timed(lambda: ae.transform(X).mean(axis=0).compute(), repeats=3)[0]
    local = X.compute()
    ae.transform(local[: 2 * CLUSTER_CHUNK])  # warm
    memory, codes = timed(lambda: ae.transform(local), repeats=3)
    lazy_codes = ae.transform(X).compute()
    blocks = np.concatenate(
        [ae.transform(local[i : i + CLUSTER_CHUNK]) for i in range(0, n_rows, CLUSTER_CHUNK)]
    )
    client.cancel(X)
    assert isinstance(ae.transform(da.zeros((10, N_COLS), dtype=np.float32)), da.Array)
    return {
        "rows": n_rows,
        "lazy transform s (best of 3)": lazy,
        "in-memory transform s (best of 3)": memory,
        "lazy rows/s": n_rows / lazy,
        "in-memory rows/s": n_rows / memory,
        "lazy / in-memory throughput": memory / lazy,
        "max |lazy - in-memory|": float(np.abs(lazy_codes - codes).max()),
        "lazy equals blockwise in-memory": bool(np.array_equal(lazy_codes, blocks)),
    }


def cluster_main(args):
    quick = args.quick
    import tempfile

    from dask.distributed import Client, LocalCluster

    fit_rows = 200_000 if quick else 1_000_000
    transform_rows = [100_000, 1_000_000] if quick else [1_000_000, 10_000_000]
    rows = []
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="4GiB",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        tasks = [(t, fit_rows) for t in ("fit skshapsae", "fit IncrementalPCA", "fit dask-ml PCA")]
        for n in transform_rows:
            tasks += [
                (t, n) for t in ("generate only", "transform skshapsae", "transform dask-ml PCA")
            ]
        for task, n in tasks:
            rows.append(in_process("--cluster-one", task, n, cluster.scheduler_address, folder))
        speed = throughput(fit_rows, client, folder)
        print(speed, flush=True)
    columns = ["task", "rows", "seconds", "rows/s", "client peak MiB", "table MiB"]
    print(
        f"LocalCluster (2 workers x 1 thread), {N_COLS}-column float32 table generated on the "
        f"workers in {CLUSTER_CHUNK:,}-row blocks; clients capped at {CLIENT_CAP_GIB} GiB"
    )
    print_table(rows, columns)
    print_table([speed], list(speed))
    payload = {"client_cap_gib": CLIENT_CAP_GIB, "rows": rows, "throughput": speed}
    write_json("scaling_dask", payload, args)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--cluster", action="store_true", help="the Dask LocalCluster runs")
    p.add_argument("--one", nargs=2, metavar=("METHOD", "ROWS"))
    p.add_argument("--cluster-one", nargs=4, metavar=("TASK", "ROWS", "ADDRESS", "DIR"))
    args = p.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]))
    elif args.cluster_one:
        task, n, address, folder = args.cluster_one
        cluster_one(task, int(n), address, folder)
    elif args.cluster:
        cluster_main(args)
    else:
        main(args)
