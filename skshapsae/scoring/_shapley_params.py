"""The Shapley estimators ``shapley_estimator`` takes, each carrying its own budget.

``SHAPSparseAutoencoder(shapley_estimator=...)`` takes a name (``"auto"``,
``"permutation"``, ...; the estimator at its default budget) or one of these objects.
They are scikit-learn estimators in the parameter sense only (``get_params`` /
``set_params`` / ``clone``), so that a search tunes their budget as a nested parameter::

    GridSearchCV(SHAPSparseAutoencoder(shapley_estimator=PermutationEstimator()),
                 {"shapley_estimator__n_permutations": [1, 3]})

Every one takes ``background_rows``: ``None`` plays every explained row against the
whole background (``n_background`` rows, the paper's setting); an int ``k`` below it
plays each explained row against its own random ``k`` of them, so that the cost stays
that of ``k`` rows while the averaged importances approach those of the whole
background (what ``background_pool`` did: ``n_background=1000`` with
``background_rows=100`` is the former ``n_background=100, background_pool=1000``).

Each class names one entry of the estimators' registry (``_shapley.ESTIMATORS``);
``"auto"`` (:class:`AutoEstimator`) picks per layer. The scoring stage reads
:meth:`ShapleyEstimatorParams.scoring_options`.
"""

from numbers import Integral

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

_ROWS = [Interval(Integral, 1, None, closed="left"), None]
_COUNT = [Interval(Integral, 1, None, closed="left")]


class ShapleyEstimatorParams(BaseEstimator):
    """Base class: a Shapley estimator's name and budget (see the module's docstring)."""

    #: The estimator's name in ``_shapley.ESTIMATORS`` (or ``"auto"``).
    name = "base"

    _parameter_constraints: dict = {"background_rows": _ROWS}

    def scoring_options(self):
        """The validated settings the scoring stage takes (``ScoringConfig``'s fields)."""
        self._validate_params()
        params = self.get_params()
        return {
            "estimator": self.name,
            "n_permutations": int(params.get("n_permutations", 1)),
            "kernel_nsamples": params.get("n_samples", "auto"),
            "background_rows": params["background_rows"],
        }


class AutoEstimator(ShapleyEstimatorParams):
    """``"auto"``: the closed form for a linear layer, exact enumeration for a layer of
    at most 7 inputs, antithetic permutation sampling otherwise.

    Parameters
    ----------
    n_permutations : int, default=1
        Antithetic permutation pairs per (explained row, background row) on the layers
        that are sampled; with ``importance_target="reconstruction"``, the network
        game's Owen sampling draws ``n_permutations`` x 64 antithetic pairs.
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them).
    """

    name = "auto"
    _parameter_constraints: dict = {"n_permutations": _COUNT, "background_rows": _ROWS}

    def __init__(self, n_permutations=1, background_rows=None):
        self.n_permutations = n_permutations
        self.background_rows = background_rows


class PermutationEstimator(ShapleyEstimatorParams):
    """``"permutation"``: antithetic permutation sampling on every layer (a fused numba
    kernel on the CPU, torch on CUDA).

    Parameters
    ----------
    n_permutations : int, default=1
        Antithetic permutation pairs per (explained row, background row).
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them).
    """

    name = "permutation"
    _parameter_constraints: dict = {"n_permutations": _COUNT, "background_rows": _ROWS}

    def __init__(self, n_permutations=1, background_rows=None):
        self.n_permutations = n_permutations
        self.background_rows = background_rows


class KernelEstimator(ShapleyEstimatorParams):
    """``"kernel"``: ``shap.KernelExplainer`` on each layer, as in the paper (slow).

    Parameters
    ----------
    n_samples : int or "auto", default="auto"
        Coalitions per explained row (shap's ``nsamples``).
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them).
    """

    name = "kernel"
    _parameter_constraints: dict = {
        "n_samples": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "background_rows": _ROWS,
    }

    def __init__(self, n_samples="auto", background_rows=None):
        self.n_samples = n_samples
        self.background_rows = background_rows


class ExactEstimator(ShapleyEstimatorParams):
    """``"exact"``: enumeration of all coalitions (small fan-in only).

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them).
    """

    name = "exact"

    def __init__(self, background_rows=None):
        self.background_rows = background_rows


class LinearEstimator(ShapleyEstimatorParams):
    """``"linear"``: the closed form of a linear game, ``W_ij (a_j - mean_B a_j)``.

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them).
    """

    name = "linear"

    def __init__(self, background_rows=None):
        self.background_rows = background_rows


class ShapPermutationEstimator(ShapleyEstimatorParams):
    """``"shap-permutation"``: ``shap.PermutationExplainer`` (model-agnostic sampling).

    Parameters
    ----------
    background_rows : int or None, default=None
        Background rows each explained row plays against (None: all of them).
    """

    name = "shap-permutation"

    def __init__(self, background_rows=None):
        self.background_rows = background_rows


#: Name -> class: one per entry of ``_shapley.ESTIMATORS``, and ``"auto"``.
ESTIMATOR_PARAMS = {
    cls.name: cls
    for cls in (
        AutoEstimator,
        LinearEstimator,
        ExactEstimator,
        PermutationEstimator,
        KernelEstimator,
        ShapPermutationEstimator,
    )
}


def as_estimator_params(value):
    """``shapley_estimator`` as an object: a name is its class at the default budget."""
    if isinstance(value, ShapleyEstimatorParams):
        return value
    return ESTIMATOR_PARAMS[value]()


def from_old_settings(name, n_permutations=1, kernel_nsamples="auto", background_rows=None):
    """The ``shapley_estimator`` value equal to the removed parameters' settings: the name
    when every budget is at its default, else the object."""
    options = {}
    if name in ("auto", "permutation") and n_permutations != 1:
        options["n_permutations"] = n_permutations
    if name == "kernel" and kernel_nsamples != "auto":
        options["n_samples"] = kernel_nsamples
    if background_rows is not None:
        options["background_rows"] = background_rows
    return ESTIMATOR_PARAMS[name](**options) if options else name
