"""skshapsae: lightweight, explainable autoencoders (SHAP-SAE) for scikit-learn."""

from ._attribution import source_columns
from ._estimator import SHAPSparseAutoencoder
from ._export import export
from ._network import TrainingDivergenceError
from ._persistence import load, save
from ._score_func import shap_importances
from ._shapley_params import (
    AutoEstimator,
    ExactEstimator,
    KernelEstimator,
    LinearEstimator,
    PermutationEstimator,
    ShapPermutationEstimator,
)
from ._version import __version__

__all__ = [
    "AutoEstimator",
    "ExactEstimator",
    "KernelEstimator",
    "LinearEstimator",
    "PermutationEstimator",
    "SHAPSparseAutoencoder",
    "ShapPermutationEstimator",
    "TrainingDivergenceError",
    "export",
    "load",
    "save",
    "shap_importances",
    "source_columns",
    "__version__",
]
