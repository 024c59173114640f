"""The method's stages composed: source -> train -> score, then prune -> tune.

Every stage reads the fit's :class:`~skshapsae.conductor._config.FitSetup` and numpy arrays, and
returns numpy (a dict of fitted attributes, names from the schema in ``_fitted``); the
estimator validates, calls them and assigns the result at once. Nothing here reads or
writes an estimator: a model's fitted attributes come in as a dict, and the validation
of the rows is a function the estimator passes, which returns the rows and the input
attributes it found (``columns``) instead of setting them.

* :func:`data_source`: the training data as a source, one of :class:`ArraySource` (an
  array in memory), :class:`StreamSource` (a Dask array or re-iterable chunks) and
  :class:`IncrementSource` (a ``partial_fit`` chunk, continuing a :class:`ResumeState`);
  each has ``sample()``, ``n_samples``, ``train(setup)`` and ``score(trained, setup)``;
* :func:`score_stage`: the links scored (with an array, cached by ``memory`` together
  with the training, across a search over the level);
* :func:`prune_stage`: masks at a level, a target sparsity or given counts, the
  dead-unit cascade, mean folding, then masked fine-tuning.

First below, :func:`warn` (every warning of the library goes through it) and the fit's
warnings; then data that does not fit in memory: :func:`chunk_source` (a Dask array or an
iterable of chunks, read one chunk at a time) and :class:`Reservoir` (the uniform sample
of rows the scoring stage reads).
"""

import copy
import logging
import os
import sys
import sysconfig
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from sklearn.utils.validation import check_memory

from ..network._activations import OUTPUT_RANGE
from ..network._network import (
    AUTO_INIT_MAX_FEATURES,
    StreamState,
    TrainingConfig,
    fine_tune,
    fine_tuning_rate,
    train_autoencoder,
    unique_variance_weights,
)
from ..pruning._pruning import Pruner, prune_by_evidence, reconstruction_error, to_csr
from ..scoring._attribution import (
    RECONSTRUCTION_MAX_EVALUATIONS,
    RECONSTRUCTION_MAX_MULTIPLY_ADDS,
    cross_attribution,
    input_relevance,
    reconstruction_game,
)
from ..scoring._scoring import DenseNetwork, _progress, layer_outputs, score_network
from ._config import draw_seed, recorded_scoring, sample_rows

# -- Warnings that point at the user's line, not at the library's: :func:`warn`, which
# every warning of the library goes through, and those of the fit (data the network
# will handle poorly, training that did not converge).

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__.partition(".")[0]],)  # the whole package
)

#: Python's own library (multiprocessing, concurrent.futures, threading, runpy): the
#: frames a joblib worker or ``python -m`` runs the call from.
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep

_REGISTRY = {}


def _internal_prefixes():
    """skshapsae, and the libraries that call it on the user's behalf (searches, caching,
    parallel workers)."""
    import joblib
    import sklearn

    return (
        *_INTERNAL,
        *(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (sklearn, joblib)),
        _STDLIB,
    )


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first caller outside skshapsae, scikit-learn and joblib.

    In a joblib worker the user's line is in another process: the warning then names
    the worker (``<joblib worker>``) instead of a line of ``multiprocessing``.
    """
    prefixes = _internal_prefixes()
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen ")  # runpy, importlib
        or os.path.abspath(frame.f_code.co_filename).startswith(prefixes)
    ):
        frame, level = frame.f_back, level + 1
    if frame is not None:
        warnings.warn(message, category, stacklevel=level + 1)
        return
    import multiprocessing

    where = "<joblib worker>" if multiprocessing.parent_process() is not None else "<skshapsae>"
    warnings.warn_explicit(message, category, where, 0, module="skshapsae", registry=_REGISTRY)


def warn_not_converged(max_iter, solver, tol):
    """sklearn's ``ConvergenceWarning`` when the training budget ended first."""
    from sklearn.exceptions import ConvergenceWarning

    warn(
        f"Training stopped at max_iter={max_iter} "
        f"{'L-BFGS iterations' if solver == 'lbfgs' else 'epochs'} "
        f"(solver={solver!r}) before the loss converged (tol={tol:g}); the "
        "model is usable but may improve with a larger max_iter.",
        ConvergenceWarning,
    )


def warn_scaling(X, out_activation):
    """Warn when X lies outside what ``out_activation`` can produce, or far from unit scale."""
    lo, hi = OUTPUT_RANGE[out_activation]
    x_min, x_max = float(X.min()), float(X.max())
    if x_min < lo - 1e-9 or x_max > hi + 1e-9:
        warn(
            f"out_activation={out_activation!r} outputs values in [{lo:g}, {hi:g}] "
            f"but X has values in [{x_min:.4g}, {x_max:.4g}], which the network cannot "
            "reconstruct. Scale X into that range (for example with MinMaxScaler) or use "
            "out_activation='identity'."
        )
    elif max(abs(x_min), abs(x_max)) > 1e3:
        warn(
            f"X has values up to {max(abs(x_min), abs(x_max)):.4g}; the network trains "
            "best on data of unit scale. Scale X first (StandardScaler, or MinMaxScaler "
            "for a bounded output activation)."
        )


def warn_constant_features(X, names=None):
    """Warn when every column is constant: nothing can be learned.

    Some constant columns are normal (the border pixels of digits, a column constant in
    one fold of a search) and handled: their links get exactly zero importance and are
    pruned. Warning about them made one small search over the level on digits raise 36
    warnings, so only the case where nothing is left is reported.
    """
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if X.shape[0] > 1 and constant.size == X.shape[1]:
        labels = names[constant] if names is not None else constant
        warn(
            f"Constant feature(s) {labels[:10].tolist()} carry no information; their "
            "links get zero importance and are pruned."
        )


# -- Data that does not fit in memory: chunk sources and the reservoir of scoring rows.
# ``fit`` accepts, besides an array, a Dask array or an iterable of 2-d chunks; it then
# passes over the data one chunk at a time (:func:`chunk_source`), keeps a uniform sample
# of rows for the Shapley background and the explained rows (:class:`Reservoir`, Vitter's
# algorithm R), and trains with :func:`skshapsae.network._network.train_autoencoder`
# (the one loop, given a callable that returns the chunks). Memory holds one chunk (two
# blocks of a Dask collection: the next one is read ahead), the reservoir and the network.


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


def chunk_source(X, validate, columns=None):
    """A callable returning a fresh iterator over the validated chunks of ``X``.

    ``validate(chunk, columns) -> (chunk, columns)`` validates one chunk against
    ``columns`` (the input attributes, ``n_features_in_`` and ``feature_names_in_``, as a
    dict) and returns them; ``columns=None``: the chunk is a new model's first data,
    whose columns it returns. The first chunk is validated against ``columns``, every
    later one against what the first returned, kept as the callable's ``columns``. A
    one-shot iterator (a generator) can be read once only: it is refused, since training
    passes over the data several times.
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
            chunk, chunks.columns = validate(chunk, chunks.columns)
            state["first"] = False
            rows += len(chunk)
            yield chunk
        if rows == 0 and not state["first"]:  # a later pass found nothing: not re-iterable
            raise ValueError(_SHARED)

    chunks.columns = columns
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


logger = logging.getLogger("skshapsae")


def column_weights(kind, rows, sizes, seed):
    """The loss weights of the columns: ``"unique"`` (one over the unique variance, with
    as many factors as the code has units; see ``unique_variance_weights``) or ``"uniform"``
    (ones: the plain MSE)."""
    if kind == "uniform":
        return np.ones(sizes[0])
    return unique_variance_weights(rows, sizes[len(sizes) // 2], seed=seed)


def train_dense(data, sizes, activations, config, verbose, **kwargs):
    """Train the dense network (see :func:`train_autoencoder`), with a progress bar."""
    bar = _progress(range(config.max_iter), verbose, desc="training", leave=False)
    progress = None
    if verbose:

        def progress(epoch, loss):
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}")

    trained = train_autoencoder(data, sizes, activations, config, progress=progress, **kwargs)
    if verbose:
        bar.close()
        logger.info(
            "trained %s in %.1fs (%d %s), final loss %.4g",
            "-".join(map(str, sizes)),
            trained.seconds,
            trained.n_iter,
            "iterations" if config.solver == "lbfgs" else "epochs",
            trained.loss_curve[-1] if trained.loss_curve else float("nan"),
        )
    return trained


def train_array(X, sizes, activations, train, weighting, verbose=False):
    """Train the dense network on an array in memory, the loss weighted by ``weighting``
    (the resolved ``column_weights``). A pure function of its arguments, so
    ``joblib.Memory`` caches it across the candidates of a search over the level."""
    weights = column_weights(weighting, X, sizes, train.seed)
    return train_dense(X, sizes, activations, train, verbose, column_weights=weights)


def cached(setup, function):
    """``function`` cached by the setup's ``memory`` (its verbosity and jobs ignored)."""
    ignore = [name for name in ("verbose", "n_jobs") if name in function.__code__.co_varnames]
    return check_memory(setup.memory).cache(function, ignore=ignore)


def data_source(X, validate, setup, random_state, *, incremental=False, resume=None, columns=None):
    """The fit's data as a source. ``validate(X, columns) -> (X, columns)`` validates an
    array or a chunk against ``columns``, the input attributes the data must match
    (None: a new model's first data, whose attributes it returns; see
    :func:`chunk_source`); the source keeps them as ``columns``. ``random_state``: the
    parameter, which a stream's reservoir seed is drawn from; ``resume``: where
    ``partial_fit`` continues (None: a new stream, seeded from ``random_state``)."""
    if incremental:
        return IncrementSource(*validate(X, columns), resume, random_state)
    if is_stream(X):
        chunks = chunk_source(X, validate, columns)
        return StreamSource(chunks, setup.reservoir_rows, draw_seed(random_state))
    return ArraySource(*validate(X, columns))


class ArraySource:
    """Training data held in memory: trained on as a whole (cached with ``memory``)."""

    fresh = True  # a new model: the data are checked for constant or unscaled columns

    def __init__(self, X, columns):
        self.X = X
        self.columns = columns  # the input attributes found by the validation
        self.n_samples = len(X)
        self.tuning_data = X  # what the pruned network is fine-tuned on

    def sample(self):
        """The rows the data checks look at (all of them)."""
        return self.X

    def for_data(self, setup, params):
        return setup.for_data(params, self.n_samples, self.X.shape[1])

    def memory_rows(self, setup):
        """Rows of the Shapley background and of the training, for the memory check."""
        return min(self.n_samples, setup.n_background), self.n_samples

    def train(self, setup):
        train = cached(setup, train_array)
        return train(
            self.X, setup.sizes, setup.activations, setup.train, setup.weighting, setup.verbose
        )

    def score(self, trained, setup):
        background, explained = setup.scoring_rows  # drawn by ``for_data``
        return score_stage(trained, self.X[background], self.X[explained], setup, cache=True)


class StreamSource:
    """A Dask array or a re-iterable of chunks (see :func:`chunk_source`, above): a first
    pass samples the scoring rows (reservoir sampling) and counts the rows; training
    then passes over the chunks once per epoch."""

    fresh = True

    def __init__(self, chunks, reservoir_rows, seed):
        self.chunks = self.tuning_data = chunks
        self.reservoir = Reservoir(reservoir_rows, np.random.default_rng(seed))
        for chunk in chunks():  # first pass: count the rows, sample the scoring rows
            self.reservoir.update(chunk)
        if self.reservoir.seen == 0:
            raise ValueError("X holds no rows: every chunk is empty.")
        self.n_samples = self.reservoir.seen
        self.rows = self.reservoir.sample()
        self.columns = chunks.columns

    def sample(self):
        return self.rows

    def for_data(self, setup, params):
        return setup.for_data(params, self.n_samples, self.rows.shape[1], in_memory=False)

    def memory_rows(self, setup):
        return min(len(self.rows), setup.n_background), len(self.rows)

    def train(self, setup):
        weights = column_weights(setup.weighting, self.rows, setup.sizes, setup.train.seed)
        return train_dense(
            self.chunks,
            setup.sizes,
            setup.activations,
            setup.train,
            setup.verbose,
            column_weights=weights,
        )

    def score(self, trained, setup):
        return score_stage(
            trained, self.rows[: setup.n_background], self.rows[: setup.n_explain], setup
        )


class IncrementSource:
    """One chunk of ``partial_fit``, continuing ``resume`` (None: a new stream)."""

    def __init__(self, X, columns, resume, random_state):
        self.X = self.tuning_data = X
        self.columns = columns
        self.resume = resume
        self.random_state = random_state  # seeds a new stream's reservoir
        self.fresh = resume is None
        self.n_samples = len(X)

    def sample(self):
        return self.X

    def for_data(self, setup, params):
        return setup.for_data(params, self.n_samples, self.X.shape[1], incremental=True)

    def memory_rows(self, setup):
        filled = 0 if self.resume is None else self.resume.reservoir.filled
        rows = min(filled + self.n_samples, setup.reservoir_rows)
        return min(rows, setup.n_background), self.n_samples

    def train(self, setup):
        """One pass over the chunk; ``self.resume`` becomes the stream's new state."""
        resume = self.resume or ResumeState.new(setup.reservoir_rows, draw_seed(self.random_state))
        trained, self.resume = train_increment(self.X, setup, resume)
        self.n_samples = self.resume.reservoir.seen  # every row of the stream so far
        return trained

    def score(self, trained, setup):
        rows = self.resume.reservoir.sample()
        return score_stage(trained, rows[: setup.n_background], rows[: setup.n_explain], setup)


def score_stage(trained, background, explained, setup, *, cache=False):
    """Score the links of the trained network (cached with ``memory`` when ``cache``)."""
    score = cached(setup, scored_state) if cache else scored_state
    return score(
        trained,
        background,
        explained,
        setup.activations,
        setup.scoring,
        n_jobs=setup.n_jobs,
        verbose=setup.verbose,
    )


def scored_state(trained, background, explained, activations, scoring, n_jobs=None, verbose=False):
    """Fitted attributes of a trained dense network once its links are scored.

    Two private entries travel with them to the estimator: ``_converged_`` (for the
    ``ConvergenceWarning``) and ``_final_learning_rate_`` (where fine-tuning starts).
    """
    network = DenseNetwork(trained.weights, trained.biases, activations)
    weights = trained.column_weights
    weights = np.ones(len(background[0])) if weights is None else weights
    scores = score_network(network, background, explained, scoring, n_jobs=n_jobs, verbose=verbose)
    return {
        "dense_weights_": trained.weights,
        "dense_intercepts_": trained.biases,
        "dense_loss_curve_": trained.loss_curve,
        "n_iter_": trained.n_iter,
        "_final_learning_rate_": trained.final_learning_rate,
        "_converged_": trained.converged,
        "validation_scores_": trained.validation_scores,
        "best_validation_score_": (
            max(trained.validation_scores) if trained.validation_scores else None
        ),
        "column_weights_": np.asarray(weights, dtype=np.float64),
        **importance_state(scores.importances, scores.stderrs, scores.estimators),
        **preactivation_state(network, background, explained, scoring, n_jobs),
        **attribution_state(
            network, background, explained, scoring.seed, scores.importances, weights
        ),
        "layer_input_means_": scores.layer_input_means,
        "background_": background,
        "fit_times_": {"training": trained.seconds, "scoring": scores.seconds},
    }


def rescored_state(state, X, scoring, n_explain, n_jobs=None):
    """A pruned model as a new dense stage (``reprune(rescore=True)``); ``state``: the
    model's fitted attributes.

    Its pruned network (folded, fine-tuned; weight 0 at every removed link) becomes the
    dense network, whose links are scored again by ``scoring`` on the model's
    ``background_`` and ``n_explain`` rows of ``X`` drawn with the scoring seed. A
    removed link then scores exactly 0, so pruning the result keeps a subset of the links.
    """
    weights = [np.asarray(w.toarray(), dtype=np.float64) for w in state["weights_"]]
    biases = [np.asarray(b, dtype=np.float64) for b in state["intercepts_"]]
    rows = sample_rows(len(X), n_explain, np.random.RandomState(scoring.seed))
    network = DenseNetwork(weights, biases, list(state["activations_"]))
    background = state["background_"]
    scores = score_network(network, background, X[rows], scoring, n_jobs=n_jobs)
    # a removed link scores 0 under an exact or sampled permutation game, not always
    # under a regression estimator (KernelSHAP's noise): 0 wherever the weight is
    importances = [np.where(W == 0, 0.0, imp) for W, imp in zip(weights, scores.importances)]
    stderrs = [np.where(W == 0, 0.0, err) for W, err in zip(weights, scores.stderrs)]
    explained = X[rows]
    preactivation = preactivation_state(network, background, explained, scoring, n_jobs)
    preactivation = {
        name: [np.where(W == 0, 0.0, imp) for W, imp in zip(weights, value)]
        for name, value in preactivation.items()
    }
    return {
        "dense_weights_": weights,
        "dense_intercepts_": biases,
        **importance_state(importances, stderrs, scores.estimators),
        **preactivation,
        **attribution_state(
            network, background, explained, scoring.seed, importances, state["column_weights_"]
        ),
        "layer_input_means_": scores.layer_input_means,
        "fit_times_": {**state["fit_times_"], "scoring": scores.seconds},
    }


def preactivation_state(network, background, explained, scoring, n_jobs=None):
    """With ``importance_target="auto"``, the links' second ranking: the pre-activation
    game's importances (closed form, exact), which the pruning may choose instead of the
    layer game's (:func:`ranking_games`); nothing for the other games."""
    if scoring.target != "auto":
        return {}
    config = replace(scoring, target="preactivation", estimator="auto")
    scores = score_network(network, background, explained, config, n_jobs=n_jobs)
    return {"preactivation_importances_": scores.importances}


def importance_state(importances, stderrs, estimators):
    """Link and unit (eq. 4) importances from per-layer link scores."""
    return {
        "link_importances_": importances,
        "link_importance_stderr_": stderrs,
        "shapley_estimators_": estimators,
        "unit_importances_": [imp.mean(axis=0) for imp in importances],
    }


def _attribution(weights, biases, activations, background, explained, seed, groups=None):
    """The reconstruction game's loss payoff in shares of each column's error without
    information (twice its variance over the explained rows), float32 evaluations."""
    weights = [np.asarray(W, dtype=np.float32) for W in weights]
    biases = [np.asarray(b, dtype=np.float32) for b in biases]

    def forward(Z):
        return layer_outputs(Z, weights, biases, activations)[-1]

    # tables: 8 orders at every row; wide data (images): 2 orders at the rows that fit
    # in the multiply-add budget (a 784-256-64 network: 29 rows, about half a second)
    wide = np.shape(explained)[1] > AUTO_INIT_MAX_FEATURES
    budget = int(RECONSTRUCTION_MAX_MULTIPLY_ADDS // sum(W.size for W in weights))
    loss = reconstruction_game(
        forward,
        background,
        explained,
        n_orders=2 if wide else 8,
        seed=seed,
        groups=groups,
        max_evaluations=min(RECONSTRUCTION_MAX_EVALUATIONS, budget),
    )
    errors = 2.0 * np.asarray(explained, dtype=np.float64).var(axis=0)
    scale = np.divide(1.0, errors, out=np.zeros_like(errors), where=errors > 1e-300)
    return loss * scale[:, None]


def grouped_attribution(state, groups, seed=0):
    """``feature_importances_`` of a fitted model's dense network (``state``: its fitted
    attributes) with the columns of a group as one player (``groups``: int codes per
    column), on its ``background_`` rows; shares summing to 1."""
    background = state["background_"]
    relative = _attribution(
        state["dense_weights_"],
        state["dense_intercepts_"],
        state["activations_"],
        background,
        background,
        seed,
        groups,
    )
    return _shares(cross_attribution(relative, groups))


def _shares(values):
    """``values`` normalised to sum to 1 (as they are when they do not sum above 0)."""
    total = values.sum()
    return values / total if total > 0 else values


def attribution_state(network, background, explained, seed, link_importances, weights=None):
    """``feature_importances_`` (and ``reconstruction_importances_``) of a dense network.

    Tables (at most ``AUTO_INIT_MAX_FEATURES`` columns): the reconstruction game
    (``_attribution.reconstruction_game``, the loss payoff) on the whole network at the
    ``explained`` and ``background`` rows (8 orders each) against the ``background``
    rows: ``reconstruction_importances_[o, j]`` is the share of column ``o``'s error
    without information (twice its variance over the explained rows) that column ``j``
    removes; ``feature_importances_[j]`` sums it over the *other* columns ``o != j``,
    normalised to sum to 1 (``_attribution.cross_attribution``).

    Wider data (images): a game of hundreds of players cannot be estimated within a
    fit's budget (784 pixels: 29 rows along 2 orders gave a speckled map, 30 % of the
    pixels below 0), so ``feature_importances_`` is the relevance passed down by the
    ``link_importances`` (``_attribution.input_relevance``, the loss ``weights`` at
    the outputs), as before, and there is no ``reconstruction_importances_``.
    """
    if np.shape(background)[1] > AUTO_INIT_MAX_FEATURES:
        return {"feature_importances_": _shares(input_relevance(link_importances, weights))}
    # every scoring row is explained (the background rows too), along 8 orders each:
    # the sampling error of the importances was measured to be a large part of their
    # spread over 80 % subsamples (docs, "Attribution")
    explained = np.vstack([explained, background]).astype(np.float64)
    relative = _attribution(
        network.weights, network.biases, network.activations, background, explained, seed
    )
    return {
        "reconstruction_importances_": relative,
        "feature_importances_": _shares(cross_attribution(relative)),
    }


def fitted_network(state, setup, n_samples):
    """The architecture and the recorded training and scoring settings of a fit."""
    sizes = setup.sizes
    # fine-tuning's step size, recorded as a plain dict (a saved model is fine-tuned alike)
    rate = fine_tuning_rate(state.pop("_final_learning_rate_"), setup.train.learning_rate_init)
    return {
        "n_components_": sizes[len(sizes) // 2],
        "layer_sizes_": sizes,
        "activations_": setup.activations,
        "n_samples_seen_": int(n_samples),
        "_scoring_config_": recorded_scoring(setup.scoring),
        "_training_config_": asdict(replace(setup.train, learning_rate_init=rate)),
    }


def same_network(trained, previous):
    """Whether a training result holds the fitted dense network, bitwise."""
    return all(
        np.array_equal(a, b)
        for new, old in (
            (trained.weights, previous["dense_weights_"]),
            (trained.biases, previous["dense_intercepts_"]),
        )
        for a, b in zip(new, old, strict=True)
    )


def continued_state(previous, trained, n_samples):
    """The fitted state ``previous`` (scores, masks, pruned network) with a
    ``partial_fit`` call's training record: epochs, loss curves, rows seen, seconds."""
    tuning = previous["loss_curve_"][len(previous["dense_loss_curve_"]) :]
    return {
        **previous,
        "dense_loss_curve_": list(trained.loss_curve),
        "loss_curve_": list(trained.loss_curve) + list(tuning),
        "n_iter_": int(trained.n_iter),
        "n_samples_seen_": int(n_samples),
        "fit_times_": {**previous["fit_times_"], "training": trained.seconds},
    }


def prune_stage(state, X, setup, counts=None, allowed=None):
    """Pruning attributes (and masked fine-tuning on ``X``) for a trained, scored network.

    ``counts`` (per-layer numbers of kept links) overrides the setup's level and target;
    ``setup.target_sparsity`` (a sparsity) overrides ``setup.importance_level``;
    ``allowed`` (per-layer boolean masks) limits the kept links to them. Without
    ``X`` or with ``fine_tune_iter=0`` the pruned network is not fine-tuned. Fine-tuning
    runs on the setup's device (the estimator's, not the one the model was trained on: a
    model trained on CUDA can be re-pruned on a CPU machine).
    """
    weights, biases = state["dense_weights_"], state["dense_intercepts_"]
    activations = state["activations_"]
    means = state["layer_input_means_"] if setup.fold_bias else None

    def prune(importances, sparsity=None):
        """Prune by ``importances``: at the counts, the target or the level; at the
        ``sparsity`` of the first ranking for the others (a fair comparison)."""
        pruner = Pruner(
            importances,
            weights,
            biases,
            activations,
            means,
            setup.allocation,
            setup.structure,
            allowed,
        )
        if counts is not None:
            return pruner.prune_counts(counts)
        if sparsity is not None or setup.target_sparsity is not None:
            return pruner.solve(setup.target_sparsity if sparsity is None else sparsity)
        return pruner.prune(setup.importance_level)

    rankings = ranking_games(state, setup.scoring.target)
    config = replace(TrainingConfig(**state["_training_config_"]), device=str(setup.device))

    def finish(pruned):
        """The pruned network, fine-tuned when asked, and its reconstruction error on the
        background rows (the rankings' comparison, and warn_worse_than_means)."""
        tuned = [np.where(m, W, 0.0) for W, m in zip(weights, pruned.masks)], pruned.biases, []
        if setup.fine_tune_iter > 0 and X is not None:
            result = fine_tune(
                X,
                state["layer_sizes_"],
                activations,
                *tuned[:2],
                pruned.masks,
                config,
                setup.fine_tune_iter,
                column_weights=state.get("column_weights_"),
            )
            tuned = result.weights, result.biases, result.loss_curve
        return reconstruction_error(*tuned[:2], activations, state["background_"]), tuned

    game, pruned, error, network = prune_by_evidence(rankings, prune, finish)
    weights, biases, tuned_curve = network
    loss_curve = list(state["dense_loss_curve_"]) + list(tuned_curve)
    return {
        "link_masks_": pruned.masks,
        "active_units_": pruned.active_units,
        "weights_": to_csr(weights, pruned.masks),
        "intercepts_": biases,
        "sparsity_": pruned.sparsity,
        "layer_sparsity_": pruned.layer_sparsity,
        "importance_level_": pruned.level,
        "keep_counts_": pruned.keep_counts,
        "pruning_game_": game,
        "loss_curve_": loss_curve,
        # private: the background rows' error, for warn_worse_than_means
        "_pruned_error_": error,
    }


def warn_worse_than_means(state):
    """Pop ``_pruned_error_`` and warn when the pruned network reconstructs the
    background rows worse than their column means would (a deep network pruned at a
    level that removes too much: each layer's error compounds in the next)."""
    error = state.pop("_pruned_error_", None)
    background = state["background_"]
    if error is None or len(background) < 2:  # one row: its means rebuild it exactly
        return
    means = float(np.mean((background - background.mean(axis=0)) ** 2))
    # every path from the inputs cut: the codes and the reconstruction are constants,
    # whatever the row (mean folding can make them the column means, an error no worse)
    cut = not np.any(state["active_units_"][0])
    if not (cut or error > means):
        return
    what = (
        "every path from the inputs was removed, so the codes and the reconstruction are "
        "the same for every row"
        if cut
        else "too much of this network was removed"
    )
    warn(
        f"The pruned network reconstructs the background rows (MSE {error:.3g}) no better "
        f"than their column means do ({means:.3g}): at sparsity {state['sparsity_']:.3f} "
        f"(importance_level={state['importance_level_']:.3g}) {what}. Raise "
        "importance_level (or lower target_sparsity), or give the fine-tuning more "
        "epochs (fine_tune_iter)."
    )


def ranking_games(state, target):
    """The link rankings a pruning chooses from, by the game that scored them (``target``
    the fitted game, which reprune plays too): ``importance_target="auto"`` scored the links
    by the layer game and by the pre-activation game, and the pruning keeps the one whose
    pruned (and, when the fit fine-tunes, fine-tuned) network reconstructs the background
    rows best
    (:func:`~skshapsae.pruning._pruning.prune_by_evidence`)."""
    if "given" in state["shapley_estimators_"]:
        return {"given": state["link_importances_"]}
    if target != "auto" or state.get("preactivation_importances_") is None:
        return {"activation" if target == "auto" else target: state["link_importances_"]}
    return {
        "activation": state["link_importances_"],
        "preactivation": state["preactivation_importances_"],
    }


@dataclass
class ResumeState:
    """Where ``partial_fit`` continues: the stream's reservoir of scoring rows, the
    training state (weights and Adam's moments), and the stream's history so far."""

    reservoir: Reservoir
    state: StreamState | None = None
    calls: int = 0
    loss_curve: list = field(default_factory=list)
    training_seconds: float = 0.0
    # from the first chunk (as the PCA start), or the fitted model's
    column_weights: np.ndarray | None = None
    # the architecture it continues (None: not yet trained)
    sizes: list | None = None
    activations: list | None = None

    @classmethod
    def new(cls, reservoir_rows, seed):
        """Before the first ``partial_fit`` call."""
        return cls(Reservoir(reservoir_rows, np.random.default_rng(seed)))

    @classmethod
    def from_model(cls, model, reservoir_rows, seed):
        """Where ``partial_fit`` continues a fitted or loaded model (its fitted attributes).

        The dense weights with fresh Adam moments, at a tenth of the step size the fit
        ended with: fresh moments make full-size first steps, so a converged network is
        refined, not shaken (measured: at the full step the loss of a converged digits
        model rose 4 %). The reservoir restarts from ``background_``.
        """
        reservoir = Reservoir(reservoir_rows, np.random.default_rng(seed))
        reservoir.restart(model["background_"], model["n_samples_seen_"])
        config = model.get("_training_config_")
        return cls(
            reservoir=reservoir,
            state=StreamState(
                [np.array(W) for W in model["dense_weights_"]],
                [np.array(b) for b in model["dense_intercepts_"]],
                learning_rate=config["learning_rate_init"] / 10 if config else None,
            ),
            calls=int(model["n_iter_"]),
            loss_curve=list(model["dense_loss_curve_"]),
            # files from before the weighted loss: the plain loss they were trained on
            column_weights=model.get("column_weights_", np.ones(model["layer_sizes_"][0])),
            training_seconds=float(model["fit_times_"]["training"]),
            sizes=list(model["layer_sizes_"]),
            activations=list(model["activations_"]),
        )


def train_increment(X, setup, resume):
    """One pass of training over the chunk ``X``, continuing ``resume`` (a copy is updated).

    Returns ``(trained, resume)``: the training result with the whole stream's loss
    curve, call count and seconds, and the updated :class:`ResumeState`.
    """
    resume = copy.deepcopy(resume)
    if resume.sizes is not None and [resume.sizes, resume.activations] != [
        setup.sizes,
        setup.activations,
    ]:
        raise ValueError(
            f"partial_fit continues the fitted network {resume.sizes} with activations "
            f"{resume.activations}, but the parameters now ask for {setup.sizes} "
            f"with {setup.activations}. Set hidden_layer_sizes / "
            "activation / out_activation back, or call fit to start afresh."
        )
    resume.sizes, resume.activations = setup.sizes, setup.activations
    if resume.column_weights is None:
        resume.column_weights = column_weights(setup.weighting, X, setup.sizes, setup.train.seed)
    resume.reservoir.update(X)
    trained = train_autoencoder(
        X,
        setup.sizes,
        setup.activations,
        setup.train,
        n_epochs=1,
        state=resume.state,
        column_weights=resume.column_weights,
    )
    resume.state = trained.state
    resume.calls += 1
    resume.loss_curve += trained.loss_curve
    resume.training_seconds += trained.seconds
    trained = replace(
        trained,
        loss_curve=list(resume.loss_curve),
        n_iter=resume.calls,
        seconds=resume.training_seconds,
    )
    return trained, resume
