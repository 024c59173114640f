"""Baselines for SHAP-SAE, behind one interface, compared at equal per-layer keep counts.

Scores of the links of a trained dense network (same shapes as ``link_importances_``):

``"magnitude"``
    ``|W_ij|`` (Han et al., 2015).
``"wanda"``
    Centred Wanda, ``|W_ij| E|a_j - mean a_j|`` over the explained rows: exactly the
    Shapley score of the pre-activation game, so the post-activation game must beat it
    to earn its cost.
``"lap"``
    Lookahead pruning (Park et al., 2020) for fully connected layers:
    ``|W_ij| * ||W_prev[j, :]|| * ||W_next[:, i]||`` (a missing neighbour counts 1).
``"random"``
    Uniform random scores.
``"mint"``
    MINT (Ganesh, Corso & Sekeh, ICPR 2020), :func:`mint_scores`: the units of each
    pair of adjacent layers are split into groups, and every link between a parent
    group and a child group scores the conditional mutual information between them
    given the other parent groups (MINT's nearest-neighbour bootstrap and
    minimum-spanning-tree estimator). MINT's retraining is the masked fine-tuning that
    every method gets (``X`` in :func:`prune_with_scores`).

Trained-model baselines, estimators whose training setting is a parameter (so that
``get_params`` and ``clone`` keep it): :class:`KSparseAutoencoder` (Makhzani & Frey,
2014: only the ``k`` largest code activations pass during training) and
:class:`DropoutAutoencoder` (Srivastava et al., 2014); their links are pruned by magnitude
at the keep counts of the layer game. :func:`fit_trained_baseline` makes either from a
template.
"""

import inspect
from numbers import Integral, Real

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._estimator import SHAPSparseAutoencoder
from .scoring._scoring import layer_outputs


def _rows(estimator, X, name):
    """``X`` validated against the estimator, as its ``transform`` validates rows: 2-d,
    finite, its width and (for a DataFrame) its columns in the fitted order."""
    if X is None:
        raise ValueError(f"The {name!r} score needs X, the rows whose activations it uses.")
    return validate_data(estimator, X, reset=False, dtype=np.float64)


def _inputs(estimator, X, name):
    """Each dense layer's inputs at the rows ``X`` (the scores that use activations)."""
    return layer_outputs(
        _rows(estimator, X, name),
        estimator.dense_weights_,
        estimator.dense_intercepts_,
        estimator.activations_,
    )


def magnitude_scores(estimator, X, rng):
    """``|W_ij|`` (Han et al., 2015)."""
    return [np.abs(w) for w in estimator.dense_weights_]


def wanda_scores(estimator, X, rng):
    """Centred Wanda: ``|W_ij| E|a_j - mean a_j|`` over the rows ``X``."""
    inputs = _inputs(estimator, X, "wanda")
    return [
        np.abs(w) * np.abs(a - a.mean(axis=0)).mean(axis=0)
        for w, a in zip(estimator.dense_weights_, inputs)
    ]


def lap_scores(estimator, X, rng):
    """Lookahead pruning: ``|W_ij| ||W_prev[j, :]|| ||W_next[:, i]||``."""
    W = estimator.dense_weights_
    scores = []
    for layer, w in enumerate(W):
        prev = np.linalg.norm(W[layer - 1], axis=1) if layer > 0 else np.ones(w.shape[1])
        nxt = np.linalg.norm(W[layer + 1], axis=0) if layer + 1 < len(W) else np.ones(len(w))
        scores.append(np.abs(w) * prev[None, :] * nxt[:, None])
    return scores


def random_scores(estimator, X, rng):
    """Uniform random scores."""
    return [rng.uniform(size=w.shape) for w in estimator.dense_weights_]


def _mint(estimator, X, rng):
    return mint_scores(estimator, X, random_state=rng)


#: Baseline name -> score function ``f(estimator, X, rng) -> list of (n(l+1), n(l))
#: arrays``: the one registry of link scores (a new baseline is a function and a line).
SCORES = {
    "magnitude": magnitude_scores,
    "wanda": wanda_scores,
    "lap": lap_scores,
    "random": random_scores,
    "mint": _mint,
}


def score_links(method, estimator, X=None, random_state=None):
    """Scores of every link of the fitted estimator's dense network by ``method``.

    Parameters
    ----------
    method : {"magnitude", "wanda", "lap", "random", "mint"}
        The score (a key of :data:`SCORES`).
    estimator : SHAPSparseAutoencoder
        A fitted estimator; its dense network is scored.
    X : array-like of shape (n_samples, n_features)
        Rows whose layer inputs define the Wanda and MINT scores (required for both).
    random_state : int, RandomState instance or None
        Seed of the ``"random"`` and ``"mint"`` scores.

    Returns
    -------
    scores : list of ndarray
        One ``(n(l+1), n(l))`` array per layer.
    """
    check_is_fitted(estimator)
    if method not in SCORES:
        raise ValueError(f"Unknown baseline score {method!r}; choose one of {tuple(SCORES)}.")
    _dense(estimator, "score_links")
    return SCORES[method](estimator, X, check_random_state(random_state))


def _dense(estimator, what):
    """Refuse a ``slim()`` copy: the scores read the dense network it dropped."""
    if not hasattr(estimator, "dense_weights_"):
        raise ValueError(
            f"{what} needs the dense network, which slim() dropped; use the estimator "
            "before slimming."
        )


def _ci_dependence(child, parent, rest, rng):
    """MINT's estimate of the dependence of ``child`` on ``parent`` given ``rest``.

    The rows are shuffled and split in three. In the first third, ``parent`` is replaced
    by its value at the nearest neighbour (in ``rest``) among the second third: a sample
    in which ``parent`` is independent of ``child`` given ``rest`` (nearest-neighbour
    bootstrap). The Friedman-Rafsky statistic compares it with the untouched last third:
    ``r`` edges of the minimum spanning tree of both samples join the two, and
    ``1 - r / (n / 3)`` is near 0 when the samples look alike (conditional independence)
    and grows with the dependence.
    """
    n = len(child)
    order = rng.permutation(n)
    child, parent, rest = child[order], parent[order], rest[order]
    third = n // 3
    a, b = slice(0, third), slice(third, 2 * third)
    if rest.shape[1] == 0:  # no other parent: any row of the second third is independent
        neighbour = np.arange(third)
    else:
        neighbour = NearestNeighbors(n_neighbors=1).fit(rest[b]).kneighbors(rest[a])[1][:, 0]
    bootstrap = np.hstack([child[a], parent[b][neighbour], rest[a]])
    joint = np.hstack([child, parent, rest])[2 * third :]
    points = np.vstack([joint, bootstrap])
    tree = minimum_spanning_tree(cdist(points, points)).tocoo()
    in_joint = np.arange(len(points)) < len(joint)
    crossing = np.count_nonzero(in_joint[tree.row] != in_joint[tree.col])
    return 1.0 - min(crossing, len(joint)) / (n / 3)


def mint_scores(estimator, X, *, n_groups=20, n_rows=300, random_state=None):
    """MINT link scores (Ganesh, Corso & Sekeh, "MINT: Deep Network Compression via
    Mutual Information-based Neuron Trimming", ICPR 2020).

    For each weight layer, its input units (parents) and output units (children) are
    split into ``n_groups`` contiguous groups each, as MINT groups filters. Every link
    from parent group ``p`` to child group ``c`` scores ``I(c; p | other parents)``,
    estimated on ``n_rows`` rows of the layers' activations. MINT prunes the links of the
    groups with the lowest values, with one threshold for all layers; a tiny multiple of
    ``|W_ij|`` breaks ties within a group, so that any number of links can be kept.

    Departures from the reference code (MichiganCOG/MINT), all in the estimator: rows are
    drawn at random instead of per class (an autoencoder has no classes); the
    nearest-neighbour bootstrap pairs each row with its own neighbour (the reference
    indexes the other split's rows by the neighbour's position in its own); and the
    spanning tree's crossing edges are counted from its edge list.

    Parameters
    ----------
    estimator : SHAPSparseAutoencoder
        A fitted estimator; its dense network is scored.
    X : array-like of shape (n_samples, n_features)
        Rows whose activations the estimator uses.
    n_groups : int, default=20
        Groups of units per layer (fewer when a layer has fewer units).
    n_rows : int, default=300
        Rows used (all when fewer; at least 9).
    random_state : int, RandomState instance or None
        Seed of the row sample and the bootstrap.

    Returns
    -------
    scores : list of ndarray
        One ``(n(l+1), n(l))`` array per layer, all positive.
    """
    check_is_fitted(estimator)
    _dense(estimator, "mint_scores")
    for name, value, least in (("n_groups", n_groups, 1), ("n_rows", n_rows, 9)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < least:
            raise ValueError(f"{name} must be an int of at least {least}, got {value!r}.")
    rng = check_random_state(random_state)
    X = _rows(estimator, X, "mint")
    if len(X) < 9:
        raise ValueError(f"MINT needs at least 9 rows of X, got {len(X)}.")
    rows = rng.choice(len(X), size=min(n_rows, len(X)), replace=False)
    W = estimator.dense_weights_
    outputs = layer_outputs(X[rows], W, estimator.dense_intercepts_, estimator.activations_)
    values = []
    for layer, w in enumerate(W):
        parents, children = outputs[layer], outputs[layer + 1]
        parent_groups = np.array_split(np.arange(w.shape[1]), min(n_groups, w.shape[1]))
        child_groups = np.array_split(np.arange(w.shape[0]), min(n_groups, w.shape[0]))
        block = np.empty(w.shape)
        for c in child_groups:
            for p in parent_groups:
                rest = np.setdiff1d(np.arange(w.shape[1]), p)
                block[np.ix_(c, p)] = _ci_dependence(
                    children[:, c], parents[:, p], parents[:, rest], rng
                )
        values.append(block)
    low = min(v.min() for v in values)
    # shift to positive values (the statistic can be slightly negative); ties broken by |W|
    return [
        v - low + 1e-3 + 1e-9 * np.abs(w) / max(np.abs(w).max(), 1e-300) for v, w in zip(values, W)
    ]


def prune_with_scores(estimator, scores, keep_counts, X=None):
    """A copy of ``estimator`` pruned by ``scores``, keeping ``keep_counts[l]`` links per layer.

    The dense network, the cascade, mean folding and fine-tuning are those of
    ``estimator`` (fine-tuning only when ``X`` is given); only the ranking differs.
    Equivalent to ``estimator.reprune(scores=scores, keep_counts=keep_counts, X=X)``;
    ``keep_counts`` count links, so a model fitted with ``pruning="units"`` is pruned
    by links here (``pruning="layer"``).

    Returns
    -------
    estimator : SHAPSparseAutoencoder
        A new fitted estimator whose ``link_importances_`` are ``scores``.
    """
    check_is_fitted(estimator)
    pruning = "layer" if estimator.pruning == "units" else None
    return estimator.reprune(scores=scores, keep_counts=keep_counts, X=X, pruning=pruning)


class _TrainedBaseline(SHAPSparseAutoencoder):
    """A baseline that trains differently: :class:`SHAPSparseAutoencoder`'s parameters,
    those in :attr:`_own` (its training setting), and two other defaults:
    ``importance_target="preactivation"`` (the keep counts come from the closed-form
    layer game) and ``fine_tune_iter=0``. ``fit`` trains with the setting, then prunes by
    magnitude at the keep counts the parameters give."""

    #: The baseline's own parameters: name -> default.
    _own: dict = {}
    #: Defaults that differ from SHAPSparseAutoencoder's.
    _defaults = {"importance_target": "preactivation", "fine_tune_iter": 0}

    _parameter_constraints: dict = {**SHAPSparseAutoencoder._parameter_constraints}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._parameter_constraints = {
            **SHAPSparseAutoencoder._parameter_constraints,
            **dict.fromkeys(cls._own, "no_validation"),  # checked in fit, with the data
        }

        def __init__(self, *args, **params):
            own = {name: params.pop(name, default) for name, default in cls._own.items()}
            for name, default in cls._defaults.items():
                params.setdefault(name, default)
            SHAPSparseAutoencoder.__init__(self, *args, **params)
            for name, value in own.items():
                setattr(self, name, value)

        # the signature scikit-learn reads (get_params, clone): the parent's, with the
        # baseline's defaults and its own parameters after hidden_layer_sizes
        parent = inspect.signature(SHAPSparseAutoencoder.__init__)
        params = [
            p.replace(default=cls._defaults.get(p.name, p.default))
            for p in parent.parameters.values()
        ]
        own = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in cls._own.items()
        ]
        __init__.__signature__ = parent.replace(parameters=[*params[:2], *own, *params[2:]])
        __init__.__doc__ = SHAPSparseAutoencoder.__init__.__doc__
        cls.__init__ = __init__

    def fit(self, X, y=None):
        """Train with the baseline's setting, then prune by magnitude (``|W|``) at the keep
        counts of the layer game; see :meth:`SHAPSparseAutoencoder.fit`.

        Returns
        -------
        self : object
            Fitted; ``link_importances_`` are ``|W|``.
        """
        if self.pruning == "units":  # before anything is fitted: a refusal leaves no state
            raise ValueError(
                f"{type(self).__name__} prunes links by |W| at the layer game's keep counts; "
                "pruning='units' does not apply. Use pruning='layer' or 'global'."
            )
        super().fit(X)  # trained with the setting of ``_training``
        pruned = prune_with_scores(self, score_links("magnitude", self), self.keep_counts_, X)
        params = self.get_params(deep=False)
        self.__dict__.update({k: v for k, v in vars(pruned).items() if k not in params})
        return self

    def _fitted_at_once(self):
        raise AttributeError(
            f"{type(self).__name__} trains with fit only; partial_fit would continue "
            "without its training setting and its magnitude pruning."
        )

    # hidden, not merely refused: scikit-learn (and its checks) read hasattr(partial_fit)
    @available_if(_fitted_at_once)
    def partial_fit(self, X, y=None):
        """Not available: a trained baseline is fitted at once (:meth:`fit`)."""


class KSparseAutoencoder(_TrainedBaseline):
    """k-sparse autoencoder (Makhzani & Frey, 2014), pruned by magnitude.

    Only the ``k`` largest code activations pass, in training and in the evaluations that
    judge the epochs; the links of the trained network are then pruned by ``|W|`` at the
    keep counts of the layer game (a baseline for SHAP-SAE at equal per-layer counts).

    Parameters
    ----------
    hidden_layer_sizes : int, tuple of int or None, default=None
        As :class:`~skshapsae.SHAPSparseAutoencoder`'s.
    k : int or None, default=None
        Active code units, from 1 to the code size (None: a quarter of the code, at least
        1); anything else raises ``ValueError`` at fit.
    **params
        Every other parameter of :class:`~skshapsae.SHAPSparseAutoencoder`, with two
        other defaults: ``importance_target="preactivation"`` (the keep counts come
        from the closed-form layer game) and ``fine_tune_iter=0``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import clone
    >>> from skshapsae.baselines import KSparseAutoencoder
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> model = KSparseAutoencoder(4, k=2, max_iter=5, random_state=0).fit(X)
    >>> clone(model).get_params()["k"]
    2
    >>> bool(np.array_equal(model.link_importances_[0], np.abs(model.dense_weights_[0])))
    True
    """

    _own = {"k": None}

    def _training(self, X):
        sizes = self.hidden_layer_sizes or max(1, _n_columns(X) // 2)
        sizes = (sizes,) if np.isscalar(sizes) else sizes
        code, k = int(sizes[-1]), self.k
        if k is None:
            return {"code_top_k": max(1, code // 4)}
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, Integral) or not 1 <= k <= code:
            raise ValueError(
                f"KSparseAutoencoder keeps the k largest of the {code} code units: k must "
                f"be an int from 1 to {code} (or None for a quarter of the code); got {k!r}."
            )
        return {"code_top_k": int(k)}


def _n_columns(X):
    """The columns of ``X`` before it is validated: of an array or table, of the first
    chunk of a list of chunks; a ValueError where there is no 2-d shape to read."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] is not None:
        return int(shape[1])
    if isinstance(X, (list, tuple)) and len(X) and len(getattr(X[0], "shape", ())) == 2:
        return int(X[0].shape[1])  # chunks of rows
    try:
        shape = np.asarray(X).shape  # (not np.shape: array-likes may refuse __array_function__)
    except (ValueError, TypeError):  # ragged rows
        shape = ()
    if len(shape) != 2:
        raise ValueError(
            "X must be a 2-d array of rows (or a list of 2-d chunks of rows); got "
            f"{type(X).__name__} of shape {shape}."
        )
    return int(shape[1])


class DropoutAutoencoder(_TrainedBaseline):
    """Dropout autoencoder (Srivastava et al., 2014), pruned by magnitude.

    Each hidden unit is dropped with probability ``dropout`` in training; the last epoch
    is kept (the untrained start always has the lower loss without dropout). The links
    of the trained network are then pruned by ``|W|`` at the keep counts of the layer
    game (a baseline for SHAP-SAE at equal per-layer counts).

    Parameters
    ----------
    hidden_layer_sizes : int, tuple of int or None, default=None
        As :class:`~skshapsae.SHAPSparseAutoencoder`'s.
    dropout : float, default=0.5
        Dropout rate on the hidden layers, in [0, 1) (else ``ValueError`` at fit).
        ``solver="lbfgs"`` is refused with dropout; "auto" picks Adam.
    **params
        Every other parameter of :class:`~skshapsae.SHAPSparseAutoencoder`, with two
        other defaults: ``importance_target="preactivation"`` (the keep counts come
        from the closed-form layer game) and ``fine_tune_iter=0``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import clone
    >>> from skshapsae.baselines import DropoutAutoencoder
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> model = DropoutAutoencoder(4, dropout=0.2, max_iter=5, random_state=0).fit(X)
    >>> clone(model).dropout
    0.2
    """

    _own = {"dropout": 0.5}

    def _training(self, X):
        dropout = self.dropout
        if (
            isinstance(dropout, (bool, np.bool_))
            or not isinstance(dropout, Real)
            or not 0 <= dropout < 1  # NaN fails too
        ):
            raise ValueError(
                "DropoutAutoencoder drops each hidden unit with probability dropout: a "
                f"number in [0, 1); got {dropout!r}."
            )
        return {"dropout": float(dropout)}


#: Trained-baseline name -> its estimator class.
TRAINED = {"ksparse": KSparseAutoencoder, "dropout": DropoutAutoencoder}


def fit_trained_baseline(kind, estimator, X, *, k=None, dropout=0.5):
    """Train a k-sparse or dropout autoencoder with ``estimator``'s settings; score by magnitude.

    A shortcut for :class:`KSparseAutoencoder` / :class:`DropoutAutoencoder` with the
    template's parameters (and ``memory=None``).

    Parameters
    ----------
    kind : {"ksparse", "dropout"}
        The trained-model baseline.
    estimator : SHAPSparseAutoencoder
        Template: architecture, training settings and seed (it is not modified; its
        ``importance_target`` and ``fine_tune_iter`` are the baselines' defaults,
        "preactivation" and 0).
    X : array-like of shape (n_samples, n_features)
        Training data.
    k : int, default=None
        Active code units for ``"ksparse"`` (:class:`KSparseAutoencoder`'s ``k``).
    dropout : float, default=0.5
        Dropout rate for ``"dropout"`` (:class:`DropoutAutoencoder`'s ``dropout``).

    Returns
    -------
    estimator : KSparseAutoencoder or DropoutAutoencoder
        Fitted; ``link_importances_`` are ``|W|``; prune it at given keep counts with
        :func:`prune_with_scores`.
    """
    if kind not in TRAINED:
        raise ValueError(f"Unknown trained baseline {kind!r}; choose one of {tuple(TRAINED)}.")
    cls = TRAINED[kind]
    shared = SHAPSparseAutoencoder._get_param_names()
    params = {k_: v for k_, v in clone(estimator).get_params(deep=False).items() if k_ in shared}
    params.update(memory=None, **_TrainedBaseline._defaults)
    own = {"k": k} if cls is KSparseAutoencoder else {"dropout": dropout}
    return cls(**params, **own).fit(X)
