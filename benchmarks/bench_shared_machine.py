"""A cached search over the level on a shared machine: fair share, or much worse?

``bench_search.py``'s search alone, then beside three 2-thread torch processes, with the
library's thread sizing and without (torch's default pool). Target: at most 5x alone.
Run:  python benchmarks/bench_shared_machine.py [--quick]   Writes results/shared_machine.json.
"""

import subprocess
import sys
import time

import numpy as np
from bench_search import digits, search_seconds

import skshapsae.network._network as threads_module

from _common import parser, print_table, write_json

LOAD = """
import time, torch
torch.set_num_threads(2)
a = torch.randn(512, 512)
end = time.time() + {seconds}
while time.time() < end:
    a = torch.tanh(a @ a.T / 512)
"""


def with_load(fn, n_processes=3, seconds=900):
    procs = [
        subprocess.Popen([sys.executable, "-c", LOAD.format(seconds=seconds)])
        for _ in range(n_processes)
    ]
    try:
        time.sleep(2)  # let them start
        return fn()
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    args = parser(__doc__).parse_args()
    X, y = digits(args.quick)

    def timed_search(X, y):
        return search_seconds(X, y, quick=args.quick)[0]

    timed_search(X, y)  # warm-up (imports, first-call costs)
    alone = timed_search(X, y)
    loaded = with_load(lambda: timed_search(X, y))
    sizing = threads_module.available_threads
    import torch

    threads_module.available_threads = lambda work=None: torch.get_num_threads()
    try:
        alone_default = timed_search(X, y)
        loaded_default = with_load(lambda: timed_search(X, y))
    finally:
        threads_module.available_threads = sizing
    rows = [
        {"threads": "library's sizing", "alone s": alone, "3 other 2-thread torch s": loaded},
        {"threads": "torch default (before)", "alone s": alone_default},
    ]
    rows[1]["3 other 2-thread torch s"] = loaded_default
    for r in rows:
        r["slowdown"] = r["3 other 2-thread torch s"] / r["alone s"]
    print("cached GridSearchCV, 10 levels x 3 folds, digits; 3 other torch processes on 2 cores")
    print_table(rows, ["threads", "alone s", "3 other 2-thread torch s", "slowdown"])
    print("fair share: 4x; target: <= 5x")
    write_json("shared_machine", {"rows": rows}, args)
    return np.array([r["slowdown"] for r in rows])


if __name__ == "__main__":
    main()
