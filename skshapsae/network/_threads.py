"""How many threads torch may use: the cores actually free to this process.

torch sizes its pool from the machine's cores. On a shared machine that oversubscribes
the CPU: measured on 2 cores with three other 2-thread torch processes, a cached search
over the level took 12.8x as long as alone where a fair share is 4x, because OpenMP
threads that wait for each other spin while the other processes hold the cores.
:func:`torch_threads` caps torch's pool for one stage of the work at

* the cores this process may run on (``os.sched_getaffinity``),
* ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (joblib sets them in its workers) and the
  size the user gave torch (``torch.set_num_threads``),
* the cores not busy with other runnable tasks right now (``/proc/loadavg``'s count of
  running tasks, less this process's own running threads and one passing task), and
* 1 for small work (``work`` under ``SMALL_WORK`` multiply-adds), where splitting a
  kernel costs more than it saves,

and restores the previous size afterwards.
"""

import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

#: Below this many multiply-adds per kernel, one thread is faster than a pool.
SMALL_WORK = 2_000_000


def _limit_from_environment():
    limits = []
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            limits.append(int(value))
    import torch

    limits.append(torch.get_num_threads())
    return min(limits)


def _own_running():
    """This process's threads that are running now (torch's pool may still be spinning)."""
    count = 0
    try:
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat") as f:
                    # the state follows the parenthesised command name
                    count += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):
                continue
    except OSError:
        return 1
    return max(count, 1)


def _busy_elsewhere():
    """Runnable tasks of other processes, now (Linux); 0 where the OS does not say."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running - _own_running())


#: Seconds a measurement of the free cores is reused (reading /proc costs ~50 us).
REFRESH_SECONDS = 0.2
_last = {"time": -1.0, "free": None}


def _free_cores():
    now = time.monotonic()
    if _last["free"] is None or now - _last["time"] > REFRESH_SECONDS:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        # one other runnable task is tolerated: a snapshot often catches a passing one
        _last["free"] = max(1, cores - max(0, _busy_elsewhere() - 1))
        _last["time"] = now
    return _last["free"]


def available_threads(work=None):
    """Threads torch should use now for kernels of about ``work`` multiply-adds."""
    if work is not None and work < SMALL_WORK:
        return 1
    return max(1, min(_free_cores(), _limit_from_environment()))


@contextmanager
def torch_threads(work=None, threads=None):
    """Run the block with torch's pool set to ``threads`` (default :func:`available_threads`)."""
    import torch

    previous = torch.get_num_threads()
    wanted = available_threads(work) if threads is None else max(1, int(threads))
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


_LOCKS = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


@contextmanager
def exclusive(obj):
    """Serialize work on one object (fits of one estimator): concurrent calls take turns."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(obj, threading.RLock())
    with lock:
        yield


_POOL = {"pid": None, "pool": None, "size": 0}
_POOL_LOCK = threading.Lock()


def kernel_pool(threads):
    """A thread pool of at least ``threads`` workers, new in a forked child: the one pool
    the numba kernels (``inference._kernels``, ``scoring._game_kernels``) share out work on."""
    with _POOL_LOCK:
        if _POOL["pid"] != os.getpid() or _POOL["size"] < threads:
            # a bigger one replaces it, without shutdown: another thread may be submitting
            # to the old one (its workers end when the last user lets go of it)
            _POOL.update(
                pid=os.getpid(),
                size=threads,
                pool=ThreadPoolExecutor(threads, thread_name_prefix="skshapsae-kernel"),
            )
        return _POOL["pool"]
