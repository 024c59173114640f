"""skshapsae: lightweight, explainable autoencoders (SHAP-SAE) for scikit-learn."""

from ._estimator import SHAPSparseAutoencoder
from ._network import TrainingDivergenceError

__version__ = "0.1.0"

__all__ = ["SHAPSparseAutoencoder", "TrainingDivergenceError", "__version__"]
