"""The parameters removed in 0.2 and what replaced them.

:data:`RENAMED` (old name -> new spelling) gives a clear error when an old spelling is
passed to the constructor (``TypeError``, as Python's own for an unknown keyword) or to
``set_params`` (``ValueError``, as scikit-learn's). :func:`upgrade_params` maps the
parameters stored in a model file written before 0.2 to the new ones where the mapping
is exact.
"""

import functools

from ..scoring._shapley_params import KernelEstimator, PermutationEstimator, from_old_settings

#: Removed parameter -> its new spelling (CHANGELOG, 0.2).
RENAMED = {
    "n_components": "hidden_layer_sizes=k (an int is one layer of k units; or the last "
    "width of hidden_layer_sizes)",
    "allocation": "pruning='layer' | 'global' | 'units'",
    "structure": "pruning='units' (structure='links' is pruning='layer' or 'global')",
    "n_permutations": "shapley_estimator=PermutationEstimator(n_permutations=...) (or "
    "AutoEstimator(n_permutations=...) with 'auto')",
    "kernel_nsamples": "shapley_estimator=KernelEstimator(n_samples=...)",
    "background_pool": "n_background=<pool size> with shapley_estimator=<estimator>("
    "background_rows=<rows per explained row>), e.g. AutoEstimator(background_rows=100)",
    "dropout": "skshapsae.baselines.fit_trained_baseline('dropout', estimator, X, dropout=...)",
    "code_top_k": "skshapsae.baselines.fit_trained_baseline('ksparse', estimator, X, k=...)",
}


def renamed_message(names, cls_name):
    lines = [f"  {name} -> {RENAMED[name]}" for name in names]
    return (
        f"{cls_name} no longer takes {', '.join(map(repr, names))} (removed in 0.2; "
        "see the CHANGELOG):\n" + "\n".join(lines)
    )


def check_renamed(init):
    """Wrap ``__init__`` so that an old spelling raises a ``TypeError`` naming the new
    one. The signature seen by scikit-learn (``get_params``, ``clone``) is ``init``'s."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        old = [name for name in kwargs if name in RENAMED]
        if old:
            raise TypeError(renamed_message(old, type(self).__name__))
        init(self, *args, **kwargs)

    return __init__


def upgrade_params(params):
    """Stored parameters of a file written before 0.2, in the new spelling.

    Exact: ``n_components``, ``allocation`` / ``structure``, ``n_permutations``,
    ``kernel_nsamples`` and ``background_pool``. ``dropout`` and ``code_top_k`` (only
    the trained baselines set them) are dropped: the fitted state does not depend on
    them (the training settings the model ran are in ``_training_config_``), a refit
    from the loaded parameters trains a plain autoencoder; returned as ``dropped``.

    Every old value is checked as its new spelling is (``ValueError`` otherwise): a
    ``structure`` other than "links" / "units", an ``allocation`` other than "layer" /
    "global", an ``n_permutations`` or ``kernel_nsamples`` that the estimator objects
    refuse, even where the chosen estimator would not use it.
    """
    params = dict(params)
    _check_old_values(params)
    dropped = {}
    for name, default in (("dropout", 0.0), ("code_top_k", None)):
        if name in params:
            value = params.pop(name)
            if value != default:
                dropped[name] = value
    if "n_components" in params:
        k = params.pop("n_components")
        if params.get("hidden_layer_sizes") is None and k is not None:
            params["hidden_layer_sizes"] = k
    if "structure" in params or "allocation" in params:
        structure = params.pop("structure", "links")
        allocation = params.pop("allocation", "layer")
        params["pruning"] = "units" if structure == "units" else allocation
    old_scoring = ("n_permutations", "kernel_nsamples", "background_pool")
    if any(name in params for name in old_scoring) and isinstance(
        params.get("shapley_estimator", "auto"), str
    ):
        pool = params.pop("background_pool", None)
        n_background = params.get("n_background", 100)
        rows = None
        if isinstance(pool, int) and isinstance(n_background, int) and pool > n_background:
            params["n_background"], rows = pool, n_background
        params["shapley_estimator"] = from_old_settings(
            params.get("shapley_estimator", "auto"),
            n_permutations=params.pop("n_permutations", 1),
            kernel_nsamples=params.pop("kernel_nsamples", "auto"),
            background_rows=rows,
        )
    return params, dropped


def _check_old_values(params):
    """Raise ``ValueError`` for an old parameter whose value its new spelling refuses."""
    from sklearn.utils._param_validation import InvalidParameterError

    choices = {"structure": ("links", "units"), "allocation": ("layer", "global")}
    for name, allowed in choices.items():
        if name in params and params[name] not in allowed:
            raise ValueError(f"{name}={params[name]!r} is not one of {allowed}.")
    checks = (
        ("n_permutations", PermutationEstimator, "n_permutations"),
        ("kernel_nsamples", KernelEstimator, "n_samples"),
    )
    for old, cls, new in checks:
        if old not in params:
            continue
        try:
            cls(**{new: params[old]})._validate_params()
        except (InvalidParameterError, ValueError, TypeError) as exc:
            raise ValueError(f"{old}={params[old]!r} is invalid: {exc}") from None
    pool = params.get("background_pool")
    if pool is not None and (not isinstance(pool, int) or isinstance(pool, bool) or pool < 1):
        raise ValueError(f"background_pool={pool!r} is not a positive int or None.")
