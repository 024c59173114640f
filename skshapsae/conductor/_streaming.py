"""Data that does not fit in memory: chunk sources and the reservoir of scoring rows.

``fit`` accepts, besides an array, a Dask array or an iterable of 2-d chunks; it then
passes over the data one chunk at a time (:func:`chunk_source`), keeps a uniform sample
of rows for the Shapley background and the explained rows (:class:`Reservoir`, Vitter's
algorithm R), and trains with :func:`skshapsae.network._network.train_autoencoder` (the one loop,
given a callable that returns the chunks). Memory holds one
chunk (two blocks of a Dask collection: the next one is read ahead), the reservoir and
the network.
"""

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def is_dask_array(X):
    return hasattr(X, "dask") and hasattr(X, "blocks") and hasattr(X, "numblocks")


def is_dask_frame(X):
    """A Dask DataFrame: streamed partition by partition (pandas, with its column names)."""
    if not type(X).__module__.startswith("dask.dataframe"):
        return False
    import dask.dataframe as dd

    return isinstance(X, dd.DataFrame)


def is_stream(X):
    """Whether ``X`` is a Dask collection or an iterable of 2-d chunks rather than one table."""
    if is_dask_array(X) or is_dask_frame(X):
        return True
    if hasattr(X, "shape") or hasattr(X, "__array__") or isinstance(X, (str, bytes, dict)):
        return False
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(np.ndim(chunk) == 2 for chunk in X)
    return isinstance(X, Iterable)


_SHARED = (
    "X yields its chunks once only: its __iter__ returns one shared iterator, but fitting "
    "passes over the data several times. Make __iter__ start over (return a new "
    "iterator each call), pass a list of chunks or a Dask array, or call partial_fit "
    "once per chunk."
)


def chunk_source(X, validate, reset=False):
    """A callable returning a fresh iterator over the validated chunks of ``X``.

    ``validate(chunk, reset=...)`` validates one chunk; ``reset`` is passed for the very
    first chunk of the first pass only (it sets the input's shape and names of a new
    model). A one-shot iterator (a generator) can be read once only: it is refused,
    since training passes over the data several times.
    """
    if isinstance(X, Iterator):
        raise ValueError(
            "X is a one-shot iterator (for example a generator), but fitting passes over "
            "the data several times. Pass a list of chunks, a Dask array, or an object "
            "whose __iter__ starts over (e.g. one reading the files in turn); or call "
            "partial_fit once per chunk."
        )
    if is_dask_array(X):
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-d Dask array, got {X.ndim} dimension(s).")
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})  # whole rows in every chunk
        blocks = [X.blocks[i] for i in range(X.numblocks[0])]
    elif is_dask_frame(X):
        blocks = [X.partitions[i] for i in range(X.npartitions)]

    if is_dask_array(X) or is_dask_frame(X):

        def read():
            # the next block is computed (on the workers, or in Dask's threads) while the
            # caller trains on this one: two blocks in memory at most
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(blocks[0].compute) if blocks else None
                for k in range(len(blocks)):
                    block = pending.result()
                    if k + 1 < len(blocks):
                        pending = pool.submit(blocks[k + 1].compute)
                    yield block

    else:

        def read():
            return iter(X)

    state = {"first": True}

    def chunks():
        rows = 0
        for chunk in read():
            if np.shape(chunk)[:1] == (0,):  # empty partitions happen (Dask): skip them
                continue
            chunk = validate(chunk, reset=reset and state["first"])
            state["first"] = False
            rows += len(chunk)
            yield chunk
        if rows == 0 and not state["first"]:  # a later pass found nothing: not re-iterable
            raise ValueError(_SHARED)

    return chunks


class Reservoir:
    """A uniform sample of ``size`` rows of a stream (algorithm R), seeded."""

    def __init__(self, size, rng):
        self.size = int(size)
        self.rng = rng
        self.rows = None
        self.seen = 0
        self.filled = 0

    def update(self, chunk):
        n = len(chunk)
        if self.rows is None:
            self.rows = np.empty((self.size, chunk.shape[1]), dtype=np.float64)
        fill = min(max(self.size - self.filled, 0), n)
        self.rows[self.filled : self.filled + fill] = chunk[:fill]
        self.filled += fill
        if fill < n:
            # row t (0-based count) replaces a random slot with probability size / (t + 1)
            t = self.seen + np.arange(fill, n)
            slots = self.rng.integers(0, t + 1)
            take = slots < self.size
            for row, slot in zip(np.flatnonzero(take) + fill, slots[take]):
                self.rows[slot] = chunk[row]
        self.seen += n
        return self

    def restart(self, rows, seen):
        """Continue from ``rows``, a uniform sample of the ``seen`` rows of an earlier pass.

        After ``fit`` or ``load`` only ``background_`` is left of the earlier data; later
        rows replace its rows (and fill the free slots) with the probabilities of
        algorithm R, so the sample stays close to uniform over all rows seen.
        """
        rows = np.asarray(rows, dtype=np.float64)[: self.size]
        self.rows = np.empty((self.size, rows.shape[1]), dtype=np.float64)
        self.rows[: len(rows)] = rows
        self.filled = len(rows)
        self.seen = max(int(seen), len(rows))
        return self

    def sample(self):
        """The rows kept so far (fewer than ``size`` while fewer have been seen)."""
        return self.rows[: self.filled].copy()
