"""Input attribution (pure numpy): what ``feature_importances_`` is.

Eq. 4 of the paper (``unit_importances_[0]``) averages a column's link importances over
the first layer's units, every unit alike; measured on real tables it ranks a column
that the network merely copies through a unit of its own (a pure noise column) first.
A loss that spent the code on shared structure instead (``column_weights="unique"``)
fixed the ranking but cost the codes their PCA level. The attribution here needs
neither: it asks of the network trained on the plain loss how much each column helps
to rebuild the *other* columns.

* :func:`reconstruction_game`: the Shapley values of the input columns in the whole
  autoencoder's reconstruction of every column, for the loss payoff (SAGE: how much
  column ``j`` lowers the squared error of column ``o``) and for the output payoff
  (shap's mean absolute value), estimated by antithetic permutation sampling;
* :func:`cross_attribution`: sums the loss game, in shares of each column's variance,
  over the columns outside a column's own group (the column itself, or the dummies of
  its source column behind a one-hot encoder).

A noise column can only lower its own error, which is left out; a column of shared
structure lowers the error of every column it correlates with. The scale of the
inputs plays no part beyond what the network learned (shares of variance are
unit-free).

* Last below, :func:`select_features`: the columns that explain the important ones,
  chosen greedily from this attribution.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

#: Network evaluations (rows through the dense network) the reconstruction game may
#: spend: ``n_rows x n_orders x (n_players + 1)``. A table of 56 columns with 300
#: explained rows and 8 orders needs 136,800; wider data explain fewer rows.
RECONSTRUCTION_MAX_EVALUATIONS = 200_000

#: ... and multiply-adds: 2e10 is about half a second of float32 on two cores. A
#: 784-256-64 network (434,000 per evaluation) plays 46,000 evaluations, a table's
#: network the 200,000 above.
RECONSTRUCTION_MAX_MULTIPLY_ADDS = 2e10

#: Values (rows x columns) pushed through the network at once by the reconstruction game.
RECONSTRUCTION_BATCH_VALUES = 1 << 17


def reconstruction_game(
    forward,
    background,
    explained,
    *,
    n_orders=4,
    seed=0,
    output=False,
    dtype=np.float32,
    groups=None,
    max_evaluations=RECONSTRUCTION_MAX_EVALUATIONS,
):
    """Shapley values of the input columns in the reconstruction of every column.

    Players are the input columns; a coalition ``S`` at row ``x`` feeds the network
    ``x`` in the columns of ``S`` and a background row ``r`` elsewhere (the
    interventional game of ``shap``'s explainers, played on the whole autoencoder rather
    than on one layer). Two payoffs per reconstructed column ``o`` share the same walks:

    * the loss game (SAGE, Covert et al. 2020): ``v_o(S) = -(x_o - f_o(x_S, r))^2``;
      its Shapley values averaged over rows (signed) say how much column ``j`` lowers
      the squared error of column ``o``, and sum to the error the network removes;
    * the output game (with ``output=True``): ``v_o(S) = f_o(x_S, r)``; the mean absolute
      value of its Shapley values is shap's global importance of ``j`` for output ``o``.

    Estimated by permutation sampling: each explained row plays ``n_orders`` orders
    (antithetic pairs: an order and its reverse), each pair against a background row
    drawn at random, each order walked in ``n_features + 1`` network evaluations. An
    order and its reverse give the exact Shapley values of a game without interactions
    of more than two players, so both games are exact (for the drawn background row) on
    a linear network.

    Parameters
    ----------
    forward : callable
        Rows ``(n, d)`` -> reconstructions ``(n, d)`` (numpy in and out).
    background : ndarray of shape (n_background, d)
    explained : ndarray of shape (n_explain, d)
        Rows at which the values are averaged; when ``n_explain x n_orders x (d + 1)``
        exceeds ``max_evaluations`` only the first rows that fit are used (at least one).
    n_orders : int, default=4
        Sampled orders per explained row (rounded up to an even number).
    seed : int
    output : bool, default=False
        Also return the output game.
    dtype : numpy float type, default=np.float32
        Precision of the network evaluations (the sums are float64).
    groups : ndarray of int of shape (d,) or None
        The player of each column (``0 .. n_players - 1``): the columns of a group join
        together (the dummies of one source column; a dummy alone, taken from another
        row than its siblings, would give the network a row no encoder makes). None:
        every column is a player.
    max_evaluations : int, default=RECONSTRUCTION_MAX_EVALUATIONS
        Network evaluations the game may spend.

    Returns
    -------
    loss : ndarray of shape (d, n_players)
        ``[o, j]``: mean reduction of column ``o``'s squared error owed to player ``j``.
    output : ndarray of shape (d, n_players)
        Only with ``output=True``: ``[o, j]``, the mean absolute Shapley value of ``j``
        in output ``o``.
    """
    rng = np.random.default_rng(seed)
    background = np.asarray(background, dtype=dtype)
    explained = np.asarray(explained, dtype=dtype)
    d = explained.shape[1]
    groups = np.arange(d) if groups is None else np.asarray(groups, dtype=np.intp)
    m = int(groups.max()) + 1  # players
    pairs = max(1, (int(n_orders) + 1) // 2)
    walk = 2 * pairs * (m + 1)
    n_rows = max(1, min(len(explained), int(max_evaluations) // walk))
    explained = explained[:n_rows]
    orders = np.argsort(rng.random((n_rows, pairs, m)), axis=2)
    orders = np.concatenate([orders, orders[..., ::-1]], axis=1)  # (n, P, m)
    rows = rng.integers(len(background), size=(n_rows, pairs))
    rows = np.concatenate([rows, rows], axis=1)
    position = np.argsort(orders, axis=2)  # position[i, p, j]: the step at which j joins
    steps = np.arange(m + 1)
    loss = np.zeros((d, m))
    absolute = np.zeros((d, m))
    chunk = max(1, RECONSTRUCTION_BATCH_VALUES // (walk * d))
    for start in range(0, n_rows, chunk):
        part = slice(start, start + chunk)
        pos, x, r = position[part], explained[part], background[rows[part]]
        joins = pos[:, :, groups]  # the step at which each column joins, (n, P, d)
        present = joins[:, :, None, :] < steps[None, None, :, None]  # (n, P, m + 1, d)
        Z = np.where(present, x[:, None, None, :], r[:, :, None, :])
        out = np.asarray(forward(Z.reshape(-1, d)), dtype=dtype).reshape(Z.shape)
        index = pos[..., None]  # the player who joined at each step
        if output:
            gains = np.take_along_axis(np.diff(out, axis=2), index, axis=2)
            absolute += np.abs(gains.mean(axis=1, dtype=np.float64)).sum(axis=0).T
        out -= x[:, None, None, :]
        out **= 2  # the squared errors along each walk
        drops = np.take_along_axis(out[:, :, :-1] - out[:, :, 1:], index, axis=2)
        loss += drops.sum(axis=(0, 1), dtype=np.float64).T
    loss /= n_rows * 2 * pairs
    return (loss, absolute / n_rows) if output else loss


def input_relevance(link_importances, output_weights=None):
    """Relevance of each input column for the (weighted) reconstruction, passed down by
    the link importances: ``feature_importances_`` of data too wide for the
    reconstruction game (more than 300 columns: images).

    Each reconstructed column starts with its total link importance in the last layer
    (times ``sqrt(w_o)``, its loss weight's square root); every layer, from the last to
    the first, passes a unit's relevance to its inputs in proportion to their link
    importances (layer-wise relevance propagation with the Shapley importances as the
    shares).

    Parameters
    ----------
    link_importances : list of ndarray
        ``[l]`` of shape ``(n(l+1), n(l))``, non-negative (``link_importances_``).
    output_weights : ndarray of shape (n(2L),) or None
        Loss weights of the reconstructed columns (``column_weights_``); None is 1.

    Returns
    -------
    relevance : ndarray of shape (n(0),)
    """
    relevance = np.asarray(link_importances[-1], dtype=np.float64).sum(axis=1)
    if output_weights is not None:
        relevance = relevance * np.sqrt(np.asarray(output_weights, dtype=np.float64))
    for imp in reversed(link_importances):
        imp = np.asarray(imp, dtype=np.float64)
        totals = imp.sum(axis=1, keepdims=True)
        shares = np.divide(imp, totals, out=np.zeros_like(imp), where=totals > 0)
        relevance = relevance @ shares
    return relevance


def cross_attribution(relative, groups=None):
    """Each input column's (or group's) contribution to the reconstruction of the
    *other* columns.

    ``relative[o, j]``: the share of column ``o``'s error that player ``j`` removes (the
    loss game of :func:`reconstruction_game` divided by the error of column ``o``
    without information), summed over the columns ``o`` outside player ``j``. A column
    that the code merely copies (a noise column with a unit of its own) scores only on
    its own output, which is left out; so do the dummies of one source column, which
    rebuild each other, when they are one player.

    Parameters
    ----------
    relative : ndarray of shape (d, n_players)
    groups : ndarray of int of shape (d,) or None
        The player of each column (as given to :func:`reconstruction_game`); None: every
        column is a player.

    Returns
    -------
    attribution : ndarray of shape (n_players,)
    """
    relative = np.asarray(relative, dtype=np.float64)
    d, m = relative.shape
    groups = np.arange(d) if groups is None else np.asarray(groups, dtype=np.intp)
    outside = groups[:, None] != np.arange(m)[None, :]  # output o is not in player j
    return np.where(outside, relative, 0.0).sum(axis=0)


def source_columns(transformer):
    """The input column each output column of a fitted transformer comes from.

    Understands ``Pipeline``, ``ColumnTransformer`` (every branch, ``"passthrough"``
    and the remainder), ``OneHotEncoder`` (every dummy of a column, dropped and
    infrequent categories included), selectors (``VarianceThreshold``,
    ``SelectKBest``, ...) and transformers that keep their columns one to one
    (scalers, imputers, ``FunctionTransformer(feature_names_out="one-to-one")``).

    Parameters
    ----------
    transformer : fitted scikit-learn transformer

    Returns
    -------
    sources : ndarray of object of shape (n_output_columns,)
        The name of the input column (``feature_names_in_``, or ``x0, x1, ...``).

    Raises
    ------
    ValueError
        For a transformer that mixes its columns (``PCA``, ``PolynomialFeatures``):
        its outputs have no single source.
    """
    check_is_fitted(transformer)
    indices = _source_indices(transformer)
    names = getattr(transformer, "feature_names_in_", None)
    if names is None:
        names = np.array([f"x{j}" for j in range(transformer.n_features_in_)], dtype=object)
    return np.asarray(names, dtype=object)[indices]


def _source_indices(transformer):
    """Index of the input column behind each output column of ``transformer``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_selection import SelectorMixin
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    if isinstance(transformer, Pipeline):
        indices = None
        for _, step in transformer.steps:
            if step is None or step == "passthrough":
                continue
            inner = _source_indices(step)
            indices = inner if indices is None else indices[inner]
        return np.arange(transformer.n_features_in_) if indices is None else indices
    if isinstance(transformer, ColumnTransformer):
        return _column_transformer_indices(transformer)
    if isinstance(transformer, OneHotEncoder):
        counts = getattr(transformer, "_n_features_outs", None)
        if counts is None:  # pragma: no cover - older scikit-learn
            drop = transformer.drop_idx_
            counts = [
                len(c) - (drop is not None and drop[i] is not None)
                for i, c in enumerate(transformer.categories_)
            ]
        return np.repeat(np.arange(len(counts)), counts)
    if isinstance(transformer, SelectorMixin):
        return transformer.get_support(indices=True)
    n_in = transformer.n_features_in_
    try:
        n_out = len(transformer.get_feature_names_out())
    except (AttributeError, ValueError, TypeError):
        n_out = None
    if n_out != n_in:
        raise ValueError(
            f"{type(transformer).__name__} does not keep its columns one to one, so its "
            "outputs have no single source column; group the importances by hand with "
            "group_importances(groups)."
        )
    return np.arange(n_in)


def _column_transformer_indices(transformer):
    n_out = sum(s.stop - s.start for s in transformer.output_indices_.values())
    out = np.empty(n_out, dtype=np.intp)
    names = getattr(transformer, "feature_names_in_", None)
    position = {name: j for j, name in enumerate(names)} if names is not None else {}
    for name, step, columns in transformer.transformers_:
        where = transformer.output_indices_[name]
        if where.stop == where.start:
            continue
        columns = np.arange(transformer.n_features_in_)[_as_indices(columns, position)]
        inner = np.arange(len(columns)) if step == "passthrough" else _source_indices(step)
        out[where] = columns[inner]
    return out


def _as_indices(columns, position):
    """Column names, integers, a boolean mask or a slice as integer positions."""
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            # a slice of names, as pandas' .loc reads it: both ends included
            start = None if columns.start is None else position[columns.start]
            stop = None if columns.stop is None else position[columns.stop] + 1
            return slice(start, stop, columns.step)
        return columns
    columns = np.atleast_1d(np.asarray(columns))
    if columns.dtype.kind == "b":
        return np.flatnonzero(columns)
    if columns.dtype.kind in "iu":
        return columns
    return np.array([position[c] for c in columns], dtype=np.intp)


# -- Feature selection from the input attribution (pure numpy): select_features.
# A ranking by importance alone picks redundant columns: on breast cancer, mean radius,
# perimeter and area carry the same information and rank together. :func:`select_features`
# picks greedily instead: each step takes the column that explains (by least squares on
# a sample of rows, after the columns already chosen) the largest share of the
# *importance-weighted* variance of all columns. A column counts by how much of what the
# model finds important it carries; a column that repeats a chosen one explains nothing
# new and is passed over. (A first version multiplied each column's importance by its own
# unexplained variance; on the tables benchmark it matched or beat the best of variance,
# PCA loadings and the Laplacian score on 6 of 11 tables, this one on 9.)


def select_features(importances, rows, n_features):
    """Indices of ``n_features`` columns that explain the important columns, greedily.

    Forward selection for the least-squares reconstruction of all columns from the
    chosen ones, each column's residual variance weighted by its importance: each step
    takes the column whose addition removes the most weighted residual variance. Worked
    on the residual covariance ``G`` (columns orthogonalised against those chosen),
    updated by a rank-one Schur complement per step: the gain of column ``j`` is
    ``sum_o w_o G[j, o]^2 / G[j, j]``, so the cost is one ``d x d`` covariance and
    ``O(d^2)`` per step, whatever the number of rows.

    Parameters
    ----------
    importances : ndarray of shape (n_columns,)
        Non-negative importance of each column (the weights of the explained variance).
    rows : ndarray of shape (n_rows, n_columns)
        The rows on which the least squares are solved.
    n_features : int
        Columns to select.

    Returns
    -------
    indices : ndarray of int, in the order chosen
    """
    importances = np.asarray(importances, dtype=np.float64)
    centred = np.asarray(rows, dtype=np.float64) - np.mean(rows, axis=0)
    gram = centred.T @ centred  # residual covariance of all columns
    scale = max(float(np.diag(gram).max(initial=0.0)), 1e-300)
    chosen = []
    for _ in range(int(n_features)):
        norms = np.diag(gram).copy()
        usable = norms > 1e-10 * scale
        usable[chosen] = False
        gain = np.full(len(norms), -np.inf)
        gain[usable] = (gram[usable] ** 2 @ importances) / norms[usable]
        if not usable.any():  # nothing left to explain: by importance
            gain = np.where(np.isin(np.arange(len(norms)), chosen), -np.inf, importances)
        best = int(np.argmax(gain))
        chosen.append(best)
        if usable[best]:
            g = gram[best].copy()
            gram -= np.outer(g, g) / norms[best]
    return np.asarray(chosen, dtype=np.intp)
