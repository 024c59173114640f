"""skshapsae: lightweight, explainable autoencoders (SHAP-SAE) for scikit-learn."""

from ._estimator import SHAPSparseAutoencoder, shap_importances
from ._version import __version__
from .io._export import export
from .io._persistence import load, save
from .network._network import TrainingDivergenceError
from .scoring._attribution import source_columns
from .scoring._shapley_params import (
    AutoEstimator,
    ExactEstimator,
    KernelEstimator,
    LinearEstimator,
    PermutationEstimator,
    ShapPermutationEstimator,
)

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
