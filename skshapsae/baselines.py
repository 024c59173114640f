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

Trained-model baselines (:func:`fit_trained_baseline`): the k-sparse autoencoder
(Makhzani & Frey, 2014: only the ``k`` largest code activations pass during training)
and the dropout autoencoder (Srivastava et al., 2014); their links are then pruned by
magnitude at the same keep counts. MINT (Ganesh et al., 2021) is not included: it
trims whole neurons by conditional mutual information estimated between adjacent
layers with its own binning and a retraining schedule, and a faithful version does
not fit here; a link-level stand-in would not be MINT.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._scoring import layer_outputs

SCORES = ("magnitude", "wanda", "lap", "random")
TRAINED = ("ksparse", "dropout")


def score_links(method, estimator, X=None, random_state=None):
    """Scores of every link of the fitted estimator's dense network by ``method``.

    Parameters
    ----------
    method : {"magnitude", "wanda", "lap", "random"}
        The score.
    estimator : SHAPSparseAutoencoder
        A fitted estimator; its dense network is scored.
    X : array-like of shape (n_samples, n_features)
        Rows whose layer inputs define the Wanda score (required for ``"wanda"``).
    random_state : int, RandomState instance or None
        Seed of the ``"random"`` score.

    Returns
    -------
    scores : list of ndarray
        One ``(n(l+1), n(l))`` array per layer.
    """
    check_is_fitted(estimator)
    W = estimator.dense_weights_
    if method == "magnitude":
        return [np.abs(w) for w in W]
    if method == "wanda":
        if X is None:
            raise ValueError("The 'wanda' score needs X, the rows whose activations it uses.")
        inputs = layer_outputs(
            np.asarray(X, dtype=np.float64), W, estimator.dense_intercepts_, estimator.activations_
        )
        return [np.abs(w) * np.abs(a - a.mean(axis=0)).mean(axis=0) for w, a in zip(W, inputs)]
    if method == "lap":
        scores = []
        for layer, w in enumerate(W):
            prev = np.linalg.norm(W[layer - 1], axis=1) if layer > 0 else np.ones(w.shape[1])
            nxt = np.linalg.norm(W[layer + 1], axis=0) if layer + 1 < len(W) else np.ones(len(w))
            scores.append(np.abs(w) * prev[None, :] * nxt[:, None])
        return scores
    if method == "random":
        rng = check_random_state(random_state)
        return [rng.uniform(size=w.shape) for w in W]
    raise ValueError(f"Unknown baseline score {method!r}; choose one of {SCORES}.")


def prune_with_scores(estimator, scores, keep_counts, X=None):
    """A copy of ``estimator`` pruned by ``scores``, keeping ``keep_counts[l]`` links per layer.

    The dense network, the cascade, mean folding and fine-tuning are those of
    ``estimator`` (fine-tuning only when ``X`` is given); only the ranking differs.
    Equivalent to ``estimator.reprune(scores=scores, keep_counts=keep_counts, X=X)``.

    Returns
    -------
    estimator : SHAPSparseAutoencoder
        A new fitted estimator whose ``link_importances_`` are ``scores``.
    """
    check_is_fitted(estimator)
    return estimator.reprune(scores=scores, keep_counts=keep_counts, X=X)


def fit_trained_baseline(kind, estimator, X, *, k=None, dropout=0.5):
    """Train a k-sparse or dropout autoencoder with ``estimator``'s settings; score by magnitude.

    Parameters
    ----------
    kind : {"ksparse", "dropout"}
        The trained-model baseline.
    estimator : SHAPSparseAutoencoder
        Template: architecture, training settings and seed (it is not modified).
    X : array-like of shape (n_samples, n_features)
        Training data.
    k : int, default=None
        Active code units for ``"ksparse"`` (default: a quarter of the code, at least 1).
    dropout : float, default=0.5
        Dropout rate on the hidden layers for ``"dropout"``.

    Returns
    -------
    estimator : SHAPSparseAutoencoder
        Fitted; ``link_importances_`` are ``|W|``; prune it at given keep counts with
        :func:`prune_with_scores`.
    """
    if kind not in TRAINED:
        raise ValueError(f"Unknown trained baseline {kind!r}; choose one of {TRAINED}.")
    model = clone(estimator).set_params(
        importance_target="preactivation", memory=None, fine_tune_iter=0
    )
    if kind == "ksparse":
        sizes = model.hidden_layer_sizes or (max(1, np.shape(X)[1] // 2),)
        sizes = (sizes,) if np.isscalar(sizes) else sizes
        k = k if k is not None else max(1, int(sizes[-1]) // 4)
        model.set_params(code_top_k=int(k))
    else:
        model.set_params(dropout=float(dropout))
    model.fit(X)
    return prune_with_scores(model, score_links("magnitude", model), model.keep_counts_, X)
