"""SHAPSparseAutoencoder: validates input and delegates to the stages' conductor."""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .conductor import _config as config
from .conductor import _dask
from .conductor import _fitted as fitted
from .inference._inference import as_output, code_rows, inference_rows, validate_rows
from .inference._inference import run as run_plan
from .network._network import exclusive


class SHAPSparseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse autoencoder pruned by the Shapley importance of its links (SHAP-SAE).

    A dense autoencoder ``n_features -> h1 -> ... -> hL -> ... -> h1 -> n_features``
    is trained in PyTorch. Every link ``j -> i`` of every layer is then scored
    by the mean absolute Shapley value of input ``j`` of the layer function
    ``act(W a + b)`` (Rhee & Park, 2023, eq. 3); each layer keeps the fewest
    links carrying a share ``importance_level`` of its total importance
    (eq. 8), dead units are removed, and the pruned network is served with
    scipy.sparse weights. ``transform`` returns the code (``hL`` columns).

    Parameters
    ----------
    hidden_layer_sizes : int, array-like of int or None, default=None
        Widths of the encoder's layers, non-increasing and at most
        ``n_features``; the last one is the code size ``n_components_``. The
        decoder mirrors the encoder. An int ``k`` is one layer of ``k`` units, the
        network ``n_features -> k -> n_features`` (what ``PCA(n_components=k)`` is for
        PCA); ``None`` means one layer of ``max(1, n_features // 2)`` units.
    activation : {"silu", "relu", "leaky_relu", "elu", "gelu", "logistic", "tanh", \
            "identity"}, default="silu"
        Activation of the hidden layers. SiLU gave the lowest held-out reconstruction
        error on digits, breast cancer and Fashion-MNIST (docs, "Training");
        "logistic" (the sigmoid, named as in ``MLPRegressor``) is the paper's choice.
        Data of unit scale suits every activation
        (``StandardScaler`` or ``MinMaxScaler`` first).
    out_activation : {"identity", "logistic", "tanh", "relu", ...}, default="identity"
        Activation of the reconstruction layer (same choices as ``activation``).
        "logistic" needs data in [0, 1] and "tanh" in [-1, 1] (a warning says when X
        lies outside the range the output can reach).
    importance_level : float in (0, 1], default=0.8
        Share ``m`` of each layer's total link importance to keep (eq. 8). In a deep
        network the layers' errors compound: a pruning whose network reconstructs the
        background rows worse than their column means warns (raise the level).
    target_sparsity : float in [0, 1) or None, default=None
        When set, overrides ``importance_level``: the level is solved so that
        the sparsity ``eta`` (eq. 9) is within half a percent of the target,
        or as close as achievable. The level used is ``importance_level_``.
    pruning : {"layer", "global", "units"}, default="layer"
        What is pruned and how the kept share is counted. "layer" is the paper's eq. 8:
        single links (unstructured pruning; CSR weights), each layer keeping the fewest
        links carrying ``importance_level`` of its own importance. "global": single
        links ranked across all layers together, keeping the fewest carrying
        ``importance_level`` of the network's total, so the scores set each layer's
        sparsity (suited to ``importance_target="reconstruction"``, whose scores share
        one unit across layers). "units": whole units, by their unit importance (eq. 4):
        every layer but the output keeps the fewest units carrying ``importance_level``
        of its unit importance, with all links between kept units, so the result
        compacts to a smaller *dense* network that every runtime (and every export)
        runs faster; ``sparsity_`` and ``target_sparsity`` then count removed
        multiply-adds. Which wins where: docs, "Benchmarks" (inference).
        ``target_sparsity`` works with all three.
    importance_target : {"auto", "activation", "preactivation", "reconstruction"}, \
            default="auto"
        The game whose Shapley values score the links. "activation": the paper's layer
        game, each layer's activated output ``act(W a + b)``; "preactivation": the
        same game on ``W a + b`` (closed form, no sampling); "reconstruction": the
        network game, whose value is the whole autoencoder's reconstruction error on
        the explained rows with the absent links mean-imputed, estimated by Owen
        sampling with gradients (``n_permutations`` x 64 antithetic pairs of coalitions,
        ``n_permutations`` from ``AutoEstimator``, default 1; about 20x cheaper than
        the layer game on MNIST). "auto": the ranking chosen by evidence; the links are
        scored by the layer game and by the pre-activation game, and every pruning (fit
        and :meth:`reprune`) keeps the one whose pruned, mean-folded and fine-tuned
        (``fine_tune_iter``) network reconstructs ``background_`` with the lower error,
        both at the layer game's sparsity, each with its own eq. 8 allocation
        (``pruning_game_`` says which; the layer game on ties). It costs the
        closed-form pre-activation scores and a second fine-tuning. The default: on
        the paper's sigmoid network it had a lower test MSE than the layer game at
        every eta from 0.8 on Fashion-MNIST and MNIST (3 seeds; equal at MNIST's
        0.98), on the default
        network and on 80 table fits it kept the layer game's masks or tied with
        them nearly always (the experiments page; the previous default was the
        paper's "activation").
    shapley_estimator : {"auto", "permutation", "exact", "linear", "kernel", \
            "shap-permutation"} or estimator object, default="auto"
        How Shapley values are computed: a name (the estimator at its default budget)
        or an object carrying its budget, :class:`~skshapsae.AutoEstimator`,
        :class:`~skshapsae.PermutationEstimator` (``n_permutations``),
        :class:`~skshapsae.KernelEstimator` (``n_samples``),
        :class:`~skshapsae.ExactEstimator`, :class:`~skshapsae.LinearEstimator` or
        :class:`~skshapsae.ShapPermutationEstimator`; a search tunes the budget of an
        object as ``shapley_estimator__n_permutations`` (a name stays a name, and has no
        budget to set). "auto" uses the closed form for linear
        games, exact enumeration for layers with at most 7 inputs and "permutation"
        (antithetic permutation sampling in torch, one pair per explained and
        background row) otherwise. "kernel" is the paper's ``shap.KernelExplainer``
        (slow); "shap-permutation" is ``shap.PermutationExplainer`` (model-agnostic
        sampling). Every object takes ``background_rows``: each explained row plays
        against its own random subset of that many background rows (a different subset
        per row), so the cost stays that of ``background_rows`` rows while the averaged
        importances approach those of the whole background (784 -> 256 Fashion-MNIST
        layer, 60 explained rows: 1.4 % from ``n_background=1000`` with
        ``background_rows=100``, against 3.1 % for 100 fixed rows; docs, "Benchmarks").
    n_background : int, default=100
        Training rows whose layer inputs form each game's background (``background_``;
        their means are the folded means). A table with fewer rows uses all of them (as
        does ``n_explain``).
    n_explain : int, default=200
        Training rows at which the Shapley values are averaged.
    fold_bias : bool, default=True
        Fold each pruned link's mean background contribution ``W_ij mean(a_j)``
        into the bias of unit ``i`` instead of dropping it (mean imputation of the
        pruned input, consistent with the Shapley game). ``False`` is the paper's
        eq. 10 as written. On Fashion-MNIST and MNIST folding cuts the test
        reconstruction error 1.6-4.3x at every sparsity (see the experiments page).
    fine_tune_iter : int, default=3
        Epochs of masked fine-tuning after pruning; pruned weights stay exactly
        zero. With mean folding, 3 epochs gave the lowest reconstruction error of
        the SHAP-SAE variants measured (experiments page); 0 turns it off.
    max_iter : int, default=200
        Upper bound on the training epochs (Adam) or iterations (L-BFGS) of the dense
        autoencoder; training stops earlier on convergence (``tol``,
        ``n_iter_no_change``), and a ``ConvergenceWarning`` says when the budget ended
        first. ``n_iter_`` is the number of epochs or iterations run.
    solver : {"auto", "adam", "lbfgs"}, default="auto"
        Optimizer of the dense training, as in ``MLPRegressor``. "lbfgs": full-batch
        L-BFGS with a strong-Wolfe line search (``torch.optim.LBFGS``), checked against
        the stopping rule every 10 iterations (a check without relative progress ``tol``
        stops it); what scikit-learn recommends for small data. "adam": mini-batches.
        "auto": "lbfgs" for data in memory of at most 5,000 rows, "adam" otherwise
        (Dask arrays, chunks, ``partial_fit``). On tables L-BFGS converged in
        0.01-0.05 s where Adam took 0.1-1 s or hit ``max_iter`` (docs, "Training").
        Fine-tuning uses the same solver (``fine_tune_iter`` iterations of L-BFGS).
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``clip(n_samples // 20, 16, 256)`` (about 20 steps per
        epoch for tables, batches of 256 for images).
    learning_rate_init : float, default=1e-3
        Initial step size of Adam (as in ``MLPRegressor``).
    learning_rate : {"adaptive", "constant"}, default="adaptive"
        Step-size schedule. "adaptive": whenever the monitored loss has not improved for
        ``n_iter_no_change`` epochs, the step size is divided by 5 (at most 3 times, then
        training stops); "constant": training stops at the first such plateau.
    tol : float, default=1e-3
        Relative improvement of the monitored loss that counts as progress (an epoch
        improves when its loss is below ``(1 - tol)`` times the best so far). Relative
        rather than ``MLPRegressor``'s absolute tolerance, so that it does not depend on
        the scale of the data.
    n_iter_no_change : int, default=5
        Epochs without progress before the schedule acts.
    early_stopping : bool, default=False
        Monitor the loss on a held-out ``validation_fraction`` of the training rows
        instead of the training loss, and keep the weights of the best epoch.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training rows held out when ``early_stopping`` is on.
    column_weights : {"uniform", "unique", "auto"}, default="uniform"
        Weights of the columns in the reconstruction loss. "uniform": the plain MSE, so
        that with the PCA start the codes are never worse than PCA's on the training
        loss. "unique": each column's squared error is divided by its unique variance,
        estimated by a factor analysis with ``n_components_`` factors (maximum
        likelihood under per-column noise, as in ``FactorAnalysis``): the code is spent
        on the structure the columns share, and the codes follow FactorAnalysis' rather
        than PCA's. "auto" (the previous default): "unique" for data of at most 300
        columns with ``out_activation="identity"``, "uniform" otherwise. The weights are
        ``column_weights_``; ``score`` stays the plain MSE. The attribution that
        ``feature_importances_`` reads (the reconstruction game) ranks a noise column
        low without "unique"; measured on real tables: docs, "Attribution".
    init : {"auto", "varimax", "pca", "random"}, default="auto"
        Starting weights. "random" is PyTorch's default initialisation. "pca" starts
        from the linear (PCA) autoencoder at the same code size, fitted layer by layer
        through the activations: the returned network is never worse on the training
        loss than PCA. "varimax" is the same start with each layer's principal
        directions rotated by varimax (the same subspace, so the same codes up to a
        rotation, but each unit loads on few inputs, which survives pruning better).
        "auto": "varimax" for data of at most 300 columns, "random" for wider data.
        Measured (docs, "Training"): on tables the rotated start gave codes at least as
        good as PCA's, dense and pruned, and no spread over seeds, where the random
        start lost up to 11 points; on MNIST (784 pixels, (256, 64), eta 0.9) both PCA
        starts prune badly (test MSE 0.102 "pca", 0.116 "varimax" against 0.028 from a
        random start), although "varimax" gives the best codes for a classifier there.
    device : str, default="auto"
        Torch device for training and scoring: "cpu", "cuda", "cuda:N" or
        "auto" (CUDA when available). The fitted state is always numpy/scipy.
    memory : str, joblib.Memory or None, default=None
        Caches the dense training and the link scoring, which do not depend on
        ``importance_level`` / ``target_sparsity``: a search over the level then
        trains and scores once per training set. A path or a ``joblib.Memory``.
    n_jobs : int or None, default=None
        Parallel jobs of the link scoring (chunks of 25 explained rows per layer),
        through joblib: ``None`` means 1 unless in a ``joblib.parallel_backend``
        context (e.g. Dask). Each job gets ``cpu_count // n_jobs`` torch threads, so
        jobs do not oversubscribe the CPU. Results do not depend on ``n_jobs``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, row sampling and Shapley sampling. An int (or a
        ``RandomState``) never touches numpy's or torch's global random state. ``None``
        draws the seeds from numpy's global generator, as scikit-learn's estimators do,
        so it advances that generator; torch's global state is never touched.
    verbose : int, default=0
        When positive: progress bars while training and scoring (tqdm, on stderr; each
        goes away when its stage ends), and a line per stage on the ``"skshapsae"``
        logger at INFO level, which Python shows once logging is configured (for
        example ``logging.basicConfig(level=logging.INFO)``).

    Attributes
    ----------
    link_importances_ : list of ndarray
        ``[l]`` has shape ``(n(l+1), n(l))``: mean absolute Shapley value of each link
        (the layer game's with ``importance_target="auto"``).
    preactivation_importances_ : list of ndarray
        With ``importance_target="auto"`` only: the pre-activation game's link
        importances, the second ranking each pruning may choose.
    link_importance_stderr_ : list of ndarray
        Standard error of ``link_importances_`` over the explained rows; NaN where one
        row was explained (``n_explain=1``, a one-row table, a first ``partial_fit`` of
        one row), where it is undefined. Model files store and load it as it is.
    shapley_estimators_ : list of str
        The Shapley estimator that scored each layer (``"auto"`` resolved per layer, as
        ``PCA`` records ``_fit_svd_solver``); ``"given"`` for scores passed to
        :meth:`reprune`.
    unit_importances_ : list of ndarray
        ``[k]`` has shape ``(n(k),)``: mean link importance of unit ``k``'s outgoing links (eq. 4).
    feature_importances_ : ndarray of shape (n_features,)
        Each column's share (they sum to 1 where that total is positive; columns that do
        nothing for each other's reconstruction, such as independent one-hot columns
        alone, total 0 or less and keep their raw values) of what the inputs do for the
        reconstruction of the *other* columns: the reconstruction game's Shapley values (the dense
        network's squared error per reconstructed column, absent columns from a
        background row; SAGE), summed over the columns other than the column itself
        (docs, "User guide"). A column that shares nothing with the others scores about
        0 however large its spread; unlike eq. 4 (``unit_importances_[0]``), which
        follows variance. Per group of columns (the dummies of a one-hot encoded
        column): :meth:`group_importances`. Data of more than 300 columns (images):
        the relevance passed down by the link importances (see
        ``reconstruction_importances_``).
    reconstruction_importances_ : ndarray of shape (n_features, n_features)
        ``[o, j]``: the share of column ``o``'s error without information (twice its
        variance over the explained rows) that column ``j`` removes, the mean Shapley
        value of the reconstruction game. Tables only (at most 300 columns): wider data
        (images) get ``feature_importances_`` from the link importances instead (the
        relevance passed down by them; docs, "User guide").
    column_weights_ : ndarray of shape (n_features,)
        Weight of each column's squared error in the training loss (all ones with
        ``column_weights="uniform"``).
    link_masks_ : list of ndarray of bool
        Kept links of each layer, after the dead-unit cascade.
    active_units_ : list of ndarray of bool
        Surviving units of layers ``0 .. 2L``.
    weights_ : list of scipy.sparse.csr_array
        Pruned weights, ``[l]`` of shape ``(n(l+1), n(l))``. Removed units (the
        cascade's, or ``pruning="units"``) keep their empty rows and columns, so that
        columns stay indexed as ``feature_names_in_`` and ``active_units_`` (a CSR
        array stores nothing for them but its row pointer); ``transform`` and the
        exports run the compacted blocks of the surviving units only.
    intercepts_ : list of ndarray
        Biases of the pruned network.
    dense_weights_, dense_intercepts_ : list of ndarray
        The trained dense network.
    sparsity_ : float
        Share of pruned links over all layers (eq. 9).
    layer_sparsity_ : ndarray of shape (2L,)
        Share of pruned links per layer.
    importance_level_ : float
        The level ``m`` used, on the ranking ``pruning_game_`` names: where "auto"
        chose the pre-activation ranking, the level at which it reached the layer
        game's sparsity (so ``reprune(importance_level_)``, which starts from the
        layer game, need not give this model back: ``reprune(target_sparsity=
        sparsity_)`` does); NaN where no level chose the links (``reprune`` with
        ``keep_counts``, :func:`~skshapsae.baselines.prune_with_scores`, the trained
        baselines). Model files store and load it as it is.
    keep_counts_ : list of int
        Links kept per layer by the support sets (eq. 8), before the cascade.
    pruning_game_ : str
        The game whose scores ranked the kept links: the fitted
        ``importance_target``, or with "auto" the one chosen ("activation" or
        "preactivation"); "given" for scores passed to :meth:`reprune`. ``reprune``
        plays the fitted game; an ``importance_target`` set since takes effect at the
        next fit.
    n_components_ : int
        Code size.
    loss_curve_ : list of float
        Training loss (MSE) per epoch (per 10 iterations with L-BFGS): the dense
        training's, then the fine-tuning's.
    n_iter_ : int
        Training epochs (Adam) or iterations (L-BFGS) run by the dense autoencoder (at
        most ``max_iter``); ``partial_fit`` adds one per call.
    n_samples_seen_ : int
        Rows trained on: all of ``fit``'s data (every chunk), summed over ``partial_fit``
        calls.
    dense_loss_curve_ : list of float
        Training loss (MSE) per epoch of the dense autoencoder, before pruning.
    validation_scores_ : list of float or None
        With ``early_stopping``: the score (negative MSE) on the held-out rows after
        each epoch; ``None`` otherwise.
    best_validation_score_ : float or None
        The best of ``validation_scores_`` (its epoch's weights are kept); ``None``
        without ``early_stopping``.
    layer_sizes_ : list of int
        Widths ``n(0), ..., n(2L)`` of the network's layers.
    activations_ : list of str
        Activation after each of the ``2L`` weight layers.
    layer_input_means_ : list of ndarray
        Mean of each layer's input over the background rows (used by ``fold_bias``).
    background_ : ndarray of shape (n_background, n_features)
        The training rows used as the Shapley background (kept for :meth:`explain`;
        note that a saved model therefore contains these rows).
    fit_times_ : dict
        Seconds spent in "training" and "scoring" (level-independent stages).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when X has string column names.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.

    References
    ----------
    J. Rhee and H. Park, "Lightweighted Sparse Autoencoder based on Explainable
    Contribution", ICML 2023 Workshop on Neural Compression.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skshapsae import SHAPSparseAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = SHAPSparseAutoencoder(hidden_layer_sizes=(16,), max_iter=5,
    ...                            n_explain=20, n_background=20, random_state=0)
    >>> Z = ae.fit_transform(X / 16)
    >>> Z.shape
    (1797, 16)
    >>> 0 < ae.sparsity_ < 1
    True
    """

    _parameter_constraints: dict = config.PARAMETER_CONSTRAINTS

    @config.check_renamed
    def __init__(
        self,
        hidden_layer_sizes=None,
        *,
        activation="silu",
        out_activation="identity",
        importance_level=0.8,
        target_sparsity=None,
        pruning="layer",
        importance_target="auto",
        shapley_estimator="auto",
        n_background=100,
        n_explain=200,
        fold_bias=True,
        fine_tune_iter=3,
        max_iter=200,
        solver="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        learning_rate="adaptive",
        tol=1e-3,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        column_weights="uniform",
        init="auto",
        device="auto",
        memory=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        # scikit-learn's rule: every argument stored as given, under its own name
        arguments = dict(locals())  # a copy, taken before any other local exists
        del arguments["self"]
        vars(self).update(arguments)

    def set_params(self, **params):
        """Set the parameters (scikit-learn's ``set_params``: what is passed is kept, a
        name stays a name); a parameter removed in 0.2 raises a ``ValueError`` that names
        its new spelling, and a budget (``shapley_estimator__<name>``) set on an estimator
        given by name one that says to pass the estimator object."""
        config.check_set_params(params, self.get_params(deep=False), type(self).__name__)
        return super().set_params(**params)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the dense autoencoder, score every link and prune.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), Dask array or iterable of arrays
            Training data: in memory, or a Dask array or a re-iterable of 2-d chunks
            (one chunk in memory at a time; docs, "Data beyond memory").
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass of training over the chunk ``X``, then scoring and pruning.

        For data that arrive in chunks (or do not fit in memory), as
        ``MLPRegressor.partial_fit`` or ``IncrementalPCA.partial_fit``: the dense network
        continues training on ``X`` from where it stands: from the previous
        ``partial_fit`` (Adam's state kept), from ``fit`` or from a loaded model (fresh
        Adam moments, at the step size the fit ended with). A uniform sample of all
        rows seen so far (reservoir sampling; after ``fit`` or ``load`` it starts from
        ``background_``) is the Shapley background and the explained rows; a call that
        changes the dense network scores the links and prunes anew, fine-tuning on
        ``X``, so the estimator is usable after each call. A call that leaves the dense
        network as it was (the epoch did not lower the chunk's loss) keeps the scores
        and the masks; and the pruned network the call would replace (its masks and
        weights) stays where it reconstructs the rows seen (that sample, and ``X``)
        better than the new one, while the dense network and its scores are the newest
        (``reprune`` and the next call start from them): after ``fit`` or a first call,
        ``transform`` is at least as good on that sample of the rows seen. Scoring is
        the cost of a call: with large networks, prefer few large chunks or
        ``importance_target="reconstruction"``. A chunk with another number of
        columns, or architecture parameters changed since the model was fitted, raise a
        ``ValueError`` and leave the model as it was; ``fit`` starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        """The one fit path: ``fit`` on an array or a stream, and ``partial_fit``.

        Conducted by ``conductor._fitted.fit_state`` (validate -> set up -> train ->
        score -> prune), whose state is assigned at once: a failure anywhere leaves the
        estimator as it was. Concurrent calls on one object run one after the other.
        """
        with exclusive(self):
            state, resume = fitted.fit_state(
                X,
                self.get_params(),
                fitted.row_validator(self),
                incremental=incremental,
                current=self._fitted_state(),
                resume=vars(self).get("_partial_fit_state"),
                training=self._training(X),
            )
            # the new state replaces the old one whole (an optional attribute the new
            # fit does not set, such as "auto"'s second ranking, goes too)
            for name in fitted.names():
                vars(self).pop(name, None)
            self.__dict__.update(fitted.freeze(state))
            if incremental:
                self._partial_fit_state = resume
            else:
                vars(self).pop("_partial_fit_state", None)  # a full fit starts a new stream
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit to ``X`` (an array), then return its codes; see :meth:`fit`.

        An iterable of chunks is refused before any training (its codes would not fit
        in one array either): call ``fit(chunks)``, then ``transform`` chunk by chunk.
        """
        fitted.check_one_array(X, "fit_transform")
        return super().fit_transform(X, y, **fit_params)

    def _training(self, X):
        """Settings of the dense training that are no parameters of this class
        (``TrainingConfig`` field -> value): none; the trained baselines set theirs from
        their own parameters (``baselines.KSparseAutoencoder``'s ``k``,
        ``DropoutAutoencoder``'s ``dropout``)."""
        return {}

    def _seed(self):
        return config.draw_seed(self.random_state)

    def _played_scoring(self):
        """The game the links were scored by, whatever set_params changed since (files
        without the record: the parameters)."""
        return config.played_scoring(
            vars(self).get("_scoring_config_"), self.get_params(), self._seed()
        )

    def _fitted_state(self, exclude=()):
        """The fitted attributes (the schema's, in ``_fitted``), never the parameters."""
        return fitted.fitted_attributes(vars(self), exclude)

    def reprune(
        self,
        importance_level=None,
        *,
        target_sparsity=None,
        pruning=None,
        scores=None,
        keep_counts=None,
        X=None,
        rescore=False,
    ):
        """A copy of this fitted estimator pruned again, without retraining.

        The dense network and the link importances do not depend on the level,
        so they are reused; only the masking (and, with ``fine_tune_iter > 0``,
        the fine-tuning, which needs ``X``) is redone. ``scores`` prunes by any other
        ranking of the links (the baselines do so), ``keep_counts`` fixes the number of
        links kept per layer.

        Parameters
        ----------
        importance_level : float in (0, 1] or None
            New level (it clears a fitted ``target_sparsity``); ``None`` keeps
            ``self.importance_level``.
        target_sparsity : float in [0, 1) or None
            New target sparsity; takes precedence over ``importance_level``. With both
            None the fitted target, if any, is kept (``reprune(X=X)`` fine-tunes at the
            fitted sparsity).
        pruning : {"layer", "global", "units"} or None
            Links per layer, links across layers or whole units (see the parameter);
            ``None`` keeps ``self.pruning``. With ``scores`` and "units", a unit's score
            is the mean score of its outgoing links (for magnitude: the mean ``|W|``,
            the usual structured criterion).
        scores : list of array-like or None
            Link scores replacing ``link_importances_`` (one non-negative array of shape
            ``(n(l+1), n(l))`` per layer); the copy's ``unit_importances_`` follow from
            them and ``shapley_estimators_`` is ``"given"``. ``feature_importances_``
            stay the fitted ones: they are a game on the dense network, which the scores
            do not change.
        keep_counts : list of int or None
            Links to keep per layer (the top ones by score), before the cascade; takes
            precedence over ``importance_level`` and ``target_sparsity``.
        X : array-like of shape (n_samples, n_features) or None
            Training data for the fine-tuning. Without it, the copy is not
            fine-tuned and its ``fine_tune_iter`` is 0 (masks, sparsity and unit
            survival do not depend on fine-tuning).
        rescore : bool, default=False
            Continue from this model instead of its dense network: its pruned network
            (folded and fine-tuned) becomes the copy's ``dense_weights_``, whose links
            are scored again by the fitted game (every one of ``n_explain`` rows of
            ``X``, which is required, against the whole ``background_``, as
            ``explain(layer=...)`` plays it), then pruned to the new level or target
            (the kept links are a subset of this model's, with any ``pruning``: a
            removed link scores 0 and is never restored, not even between two kept
            units) and fine-tuned on ``X``. Calls at rising ``target_sparsity`` prune gradually, as
            gradual magnitude pruning does (Zhu & Gupta, 2017); on the paper's network
            at eta 0.9 this cut the test MSE by 22-38 % and kept 0.5-0.6 points more
            accuracy than pruning the dense network at once (docs, "Experiments").

        Returns
        -------
        estimator : SHAPSparseAutoencoder
            A new fitted estimator; ``self`` is unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from skshapsae import SHAPSparseAutoencoder
        >>> X = np.random.default_rng(0).random((200, 12))
        >>> ae = SHAPSparseAutoencoder(6, max_iter=20, random_state=0).fit(X)
        >>> model = ae.reprune(target_sparsity=0.5, X=X)  # from the dense network
        >>> for eta in (0.7, 0.8):  # gradual pruning: rescored after every step
        ...     model = model.reprune(target_sparsity=eta, X=X, rescore=True)
        >>> bool(model.sparsity_ > 0.75)
        True
        """
        self._check_full("reprune")
        changed = fitted.reprune_params(importance_level, target_sparsity, pruning, X)
        new = clone(self).set_params(**changed)
        new._validate_params()
        setup = config.fit_setup(new.get_params(), scoring=self._played_scoring())
        state = fitted.repruned_state(
            self._fitted_state(), setup, fitted.row_validator(self), X, scores, keep_counts, rescore
        )
        new.__dict__.update(fitted.freeze(state))
        return new

    def explain(self, X, *, layer=None, output=None, max_evals="auto", display_data=None):
        """Per-row attributions as a ``shap.Explanation`` (shap's plots work on it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), Dask array or Dask DataFrame
            Rows to explain (as the model sees them: after any scaler before it). A Dask
            collection gives a lazy Dask array of the values alone (shapes below), block
            by block on the workers: each block holds ``explain(block).values`` (docs,
            "Inference on a Dask cluster").
        layer : int or None, default=None
            ``None``: attributions of the input features to the pruned model
            (``shap.PermutationExplainer``, background ``background_``). An int ``l``:
            the link attributions ``phi_ij`` of layer ``l`` of the dense network at these
            rows, the per-row terms of ``link_importances_[l]`` (same game and estimator
            as ``fit``); values have shape ``(n_samples, n(l), n(l+1))``, inputs of the
            layer by its outputs. With ``importance_target="reconstruction"`` fitted,
            the network game's per-row values (base value: the row's ``-MSE`` with every
            link imputed). Those come from a first-order estimator
            (docs, "Games and Shapley estimators") and add up to the row's value only
            approximately (within 24 % on the networks tested there); on tiny
            networks, where few links feed a unit, they can miss it by more, even in
            sign. The layer games' values add up exactly.
        output : "error", "units", int or None, default=None
            What is explained with ``layer=None``:

            * ``"error"`` (what ``None`` means there): each row's reconstruction error,
              ``mean_j column_weights_[j] * (x_j - x^_j)^2``: which columns make the row
              hard to reconstruct (large positive values: an unusual value the model
              cannot follow). Values ``(n_samples, n_features)``, which every shap plot
              takes as it comes (``shap.plots.bar``, ``beeswarm``, ``heatmap``, and
              ``waterfall`` on one row, ``e[0]``);
            * an int ``k``: code unit ``k`` (``transform``'s column ``k``), values
              ``(n_samples, n_features)``;
            * ``"units"``: every code unit, values ``(n_samples, n_features,
              n_components)`` (slice ``e[:, :, k]`` for a plot).

            For the code units, a column with no kept link in the pruned encoder is a
            dummy player: its values are exactly 0. With a ``layer``: an output unit of
            that layer, or ``None`` / ``"units"`` for all of them.
        max_evals : int or "auto", default="auto"
            Model evaluations per row for ``layer=None`` (shap's default: ``2 * n + 1``
            for the ``n`` columns that can matter).
        display_data : array-like of shape (n_samples, n_features) or None, default=None
            The same rows as the user knows them, shown by the plots as the feature
            values (``Explanation.data`` and ``display_data``): for a model behind a
            scaler in a pipeline, the raw rows. The attributions do not change: a scaler
            maps each column one to one, and Shapley values follow the columns.

        Returns
        -------
        explanation : shap.Explanation

        Examples
        --------
        >>> import numpy as np, shap
        >>> from skshapsae import SHAPSparseAutoencoder
        >>> X = np.random.default_rng(0).uniform(size=(60, 5))
        >>> ae = SHAPSparseAutoencoder(2, random_state=0).fit(X)
        >>> e = ae.explain(X[:10])   # the reconstruction error of each row
        >>> e.values.shape
        (10, 5)
        >>> recon = ae.inverse_transform(ae.transform(X[:10]))
        >>> err = np.mean(ae.column_weights_ * (recon - X[:10]) ** 2, axis=1)
        >>> bool(np.allclose(e.values.sum(axis=1) + e.base_values, err))
        True
        >>> e0 = ae.explain(X[:10], output=0)   # code unit 0
        >>> bool(np.allclose(e0.values.sum(axis=1) + e0.base_values, ae.transform(X[:10])[:, 0]))
        True
        """
        self._check_full("explain")
        # a Dask collection: a lazy Dask array of the values (docs, "Inference on a Dask cluster")
        if _dask.is_dask_collection(X):
            return _dask.lazy_explain(self, X, layer, output, max_evals)
        model = dict(encode=self._encode, decode=self._decode, unit_names=self.get_unit_names)
        model.update(seed=self._seed, game=self._played_scoring)
        state, validate = self._fitted_state(), fitted.row_validator(self)
        explained = fitted.explanation(
            state, X, validate, model, layer, output, max_evals, display_data
        )
        if layer is None and output == "units":  # shap's plots name the outputs so
            explained.output_names = list(self.get_feature_names_out())
        return explained

    def select_features(self, n_features, *, X=None, weights="uniform", units="auto"):
        """Indices of ``n_features`` input columns that reconstruct the others best.

        Greedy forward selection for the least-squares reconstruction of every column
        from the chosen ones: each step takes the column whose addition removes the most
        residual variance, each column's residual weighted by ``weights``. A ranking by
        ``feature_importances_`` alone would pick columns that carry the same information
        (on breast cancer, mean radius, perimeter and area); a chosen column's repeats
        explain nothing new and are passed over.

        With ``weights="uniform"`` (the default) this is the classical forward selection
        for linear reconstruction, in which the Shapley importances play no part: on the
        Concrete Autoencoder protocol and on 20 real tables it was best (or within 2 %)
        more often than pivoted QR, variance, PCA loadings, the Laplacian score and the
        importance-weighted variant (docs, "Attribution").
        ``weights="importance"`` weighs each column's residual by
        ``feature_importances_``: the columns that carry
        the structure the model found, never a column chosen only to reconstruct itself
        (a noise column), at the cost of a higher reconstruction error of all columns.

        Parameters
        ----------
        n_features : int
            Number of columns to select, at most ``n_features_in_``.
        X : array-like of shape (n_samples, n_features_in_) or None, default=None
            Rows on which the least squares are solved (for example the training data);
            None uses ``background_`` (``n_background`` training rows), which is enough
            for tables but not for images (hundreds of columns: pass ``X``).
        weights : {"uniform", "importance"}, default="uniform"
            Weight of each column's residual variance.
        units : {"auto", "standard", "given"}, default="auto"
            Units in which the columns are reconstructed. "standard": each column
            divided by its standard deviation over the rows, so that the choice does not
            depend on a per-column scaler in front (``StandardScaler``,
            ``MinMaxScaler`` or none choose the same columns) and every column counts
            alike. "given": the columns as they are, for data whose columns share one
            unit (the pixels of an image: a nearly constant border pixel should not
            count as much as a stroke; on the Concrete Autoencoder protocol "standard"
            nearly doubled the MNIST error, docs "Attribution"). "auto": "standard" for
            tables (at most 300 columns, as ``init="auto"``), "given" for wider data.

        Returns
        -------
        indices : ndarray of int of shape (n_features,)
            Column indices, in the order chosen.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import MinMaxScaler
        >>> from skshapsae import SHAPSparseAutoencoder
        >>> X = MinMaxScaler().fit_transform(load_breast_cancer().data)
        >>> ae = SHAPSparseAutoencoder(4, random_state=0).fit(X)
        >>> ae.select_features(5, X=X).shape
        (5,)
        """
        self._check_full("select_features")
        state, validate = self._fitted_state(), fitted.row_validator(self)
        return fitted.selected_features(
            state, n_features, X, validate, weights=weights, units=units
        )

    def group_importances(self, groups):
        """``feature_importances_`` per group of input columns (one per source column).

        Behind a one-hot encoder the dummies of one column rebuild each other (the two
        levels of a binary column are complementary), and a dummy imputed alone from
        another row makes an input no encoder produces. Here the reconstruction game is
        played again with the columns of a group as one player (they join a coalition
        together), on the ``background_`` rows, and each group is scored as
        ``feature_importances_`` scores a column: by how much it lowers the
        reconstruction error of the columns *outside* it. The shares sum to 1 where
        their total is positive (groups that do nothing for each other, such as
        independent categorical columns alone, total 0 or less and keep their raw
        values); the per-column values stay in ``feature_importances_``. Needs the dense
        network (not a ``slim()`` copy).

        Parameters
        ----------
        groups : sequence of length n_features_in_, or fitted transformer
            A label per input column, or the fitted transformer in front of the model
            (a ``ColumnTransformer``, ``OneHotEncoder`` or ``Pipeline`` of them), whose
            source column of each output column is the label.

        Returns
        -------
        importances : dict
            Group label -> share, in the order of the groups' first appearance.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.preprocessing import OneHotEncoder
        >>> from skshapsae import SHAPSparseAutoencoder
        >>> rng = np.random.default_rng(0)
        >>> level = rng.integers(3, size=(300, 1))
        >>> encoder = OneHotEncoder(sparse_output=False).fit(level)
        >>> X = np.hstack([encoder.transform(level), level + rng.normal(0, 0.3, (300, 2))])
        >>> ae = SHAPSparseAutoencoder(2, max_iter=50, random_state=0).fit(X)
        >>> list(ae.group_importances(["level"] * 3 + ["a", "b"]))
        ['level', 'a', 'b']
        """
        self._check_full("group_importances")
        return fitted.grouped_importances(self._fitted_state(), groups)

    def get_unit_names(self, layer=0):
        """Names of the units of layer ``layer`` (as used by ``explain`` and the plots).

        Parameters
        ----------
        layer : int, default=0
            0: the input features (``feature_names_in_`` when X had column names, else
            ``x0, x1, ...``, scikit-learn's default names); the code layer: the output
            columns of :meth:`transform` (``get_feature_names_out()``); any other
            ``k >= 1``: the units ``hk_0, hk_1, ...`` of layer ``k``, up to the
            reconstruction layer ``len(layer_sizes_) - 1``. 0-based throughout, as
            scikit-learn names columns; negative indices raise a ``ValueError`` (a name
            such as ``h-1_0`` means nothing), other types a ``TypeError``.

        Returns
        -------
        names : list of str
        """
        check_is_fitted(self)
        layer = fitted.unit_layer(layer, len(self.layer_sizes_) - 1)
        if layer == 0:
            return [str(name) for name in _check_feature_names_in(self, None)]
        if layer == len(self.layer_sizes_) // 2:
            return [str(name) for name in self.get_feature_names_out()]
        return [f"h{layer}_{j}" for j in range(self.layer_sizes_[layer])]

    def slim(self):
        """A copy that keeps only what inference and the unit importances need.

        The dense network, the link importances and masks, and the background rows
        are dropped, so the stored model shrinks in proportion to the kept links.
        ``transform``, ``inverse_transform``, ``score``, ``feature_importances_``
        and ``unit_importances_`` work as before; ``reprune``, ``explain`` and the
        plotting displays need the full estimator.

        Returns
        -------
        estimator : SHAPSparseAutoencoder
        """
        check_is_fitted(self)
        new = clone(self)
        state = self._fitted_state(exclude=fitted.names(slim=False))
        vars(new).update(state)
        return new

    def _check_full(self, what):
        check_is_fitted(self)
        fitted.check_full(vars(self), what)

    def sparsity_curve(self, levels=None):
        """Sparsity ``eta`` of this fitted network at each importance level.

        Parameters
        ----------
        levels : array-like of float in (0, 1] or None
            Levels; default ``np.linspace(0.05, 1, 20)``.

        Returns
        -------
        levels : ndarray
        sparsity : ndarray
            ``eta`` after the cascade at each level.
        """
        self._check_full("sparsity_curve")
        return fitted.sparsity_levels(self._fitted_state(), levels, self.pruning)

    # ------------------------------------------------------------------ inference
    def _encode(self, X):
        return run_plan(self, "encode", X)

    def _decode(self, Z):
        return run_plan(self, "decode", Z)

    def transform(self, X):
        """Encode ``X`` with the pruned sparse encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), Dask array or Dask DataFrame
            Data to encode. A Dask collection gives a lazy Dask array (a Dask DataFrame
            under ``set_output(transform="pandas")``), computed block by block on the
            workers (docs, "Inference on a Dask cluster").

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components_)
            Codes; removed code units output 0. float32 for float32 ``X``, float64
            otherwise; computed in float32 either way (the network was trained in
            float32; results agree with float64 arithmetic to about 1e-6 relative).
        """
        if not self.__sklearn_is_fitted__():  # check_is_fitted's test, without its tags
            check_is_fitted(self)
        plain = inference_rows(X, self)  # a plain float array: checked at numpy speed
        if plain is not None:
            return run_plan(self, "encode", *plain)
        return self._encode(validate_rows(self, X, reset=False, keep_float32=True))

    def inverse_transform(self, X):
        """Decode codes with the pruned sparse decoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_), Dask array or Dask DataFrame
            Codes, as returned by :meth:`transform` (a Dask collection gives a lazy
            result, as in :meth:`transform`).

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features)
            Reconstruction; float32 for float32 codes, float64 otherwise. A DataFrame
            with the input columns' names under ``set_output(transform="pandas")`` (or
            "polars"), as ``transform``'s output is.
        """
        check_is_fitted(self)
        if _dask.is_dask_collection(X):  # lazy, block by block on the workers
            return _dask.lazy_inference(self, X, "inverse_transform")
        Z = code_rows(X, self.n_components_)
        # under set_output(transform="pandas" | "polars") the reconstruction comes in the
        # same container as transform's output, with the input columns' names
        return as_output(self._decode(Z), X, self.get_unit_names(0), self)

    def score(self, X, y=None):
        """Negative mean squared reconstruction error of the pruned network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), Dask array or Dask DataFrame
            Data. For a Dask collection each block's squared errors are summed on the
            workers and one pair of numbers comes back.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``-mean((inverse_transform(transform(X)) - X) ** 2)``.
        """
        check_is_fitted(self)
        if _dask.is_dask_collection(X):  # reduced on the workers
            return _dask.lazy_score(self, X)
        X = validate_rows(self, X, reset=False)
        return -float(np.mean((self._decode(self._encode(X)) - X) ** 2))

    def __setstate__(self, state):
        super().__setstate__(state)
        fitted.freeze(self.__dict__)

    def __sklearn_is_fitted__(self):
        return "weights_" in vars(self)

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# A Dask collection in transform / fit_transform gives a lazy result: dispatched outside
# scikit-learn's set_output wrapper, which would compute it into pandas (see _dask)
SHAPSparseAutoencoder.transform = _dask.lazy_on_dask(SHAPSparseAutoencoder.transform)
SHAPSparseAutoencoder.fit_transform = _dask.lazy_on_dask(SHAPSparseAutoencoder.fit_transform)


# -- shap_importances: the model's feature importances as a SelectKBest score function.
# It fits an estimator, so it sits below the class, never imported by the stages.


def shap_importances(X, y=None, **params):
    """Unsupervised feature scores for ``SelectKBest``: a fitted model's input importance.

    Fits ``SHAPSparseAutoencoder(**params)`` on ``X`` (``y`` is ignored) and returns its
    ``feature_importances_``: each column's share of what the inputs do for the
    reconstruction of the other columns (see the estimator's attribute). Bind parameters
    with ``functools.partial``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data, scaled (``MinMaxScaler`` or ``StandardScaler``).
    y : Ignored
        Not used; ``SelectKBest(...).fit(X)`` passes ``None``.
    **params
        Parameters of :class:`SHAPSparseAutoencoder` (for example ``hidden_layer_sizes``;
        ``n_components`` was removed in 0.2).

    Returns
    -------
    scores : ndarray of shape (n_features,)

    Examples
    --------
    >>> from functools import partial
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.feature_selection import SelectKBest
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skshapsae import shap_importances
    >>> X = MinMaxScaler().fit_transform(load_wine().data)
    >>> score = partial(shap_importances, hidden_layer_sizes=3, random_state=0)
    >>> SelectKBest(score, k=4).fit(X).transform(X).shape
    (178, 4)
    """
    return SHAPSparseAutoencoder(**params).fit(X).feature_importances_
