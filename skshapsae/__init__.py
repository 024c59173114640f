"""skshapsae: lightweight, explainable autoencoders (SHAP-SAE) for scikit-learn."""

import sys as _sys

from . import baselines as _baselines  # noqa: F401 - its estimators load from model files
from ._estimator import SHAPSparseAutoencoder, shap_importances
from ._version import __version__
from .io._export import export
from .io._persistence import load, save
from .network._network import TrainingDivergenceError
from .scoring._attribution import source_columns
from .scoring._shapley import (
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

#: the private modules' paths before the stage folders (and those merged since) -> where
#: their names are now. A
#: pickle names the module of each class and function in it (a ``shapley_estimator``
#: object, ``shap_importances`` in a ``SelectKBest``, ``MissingAsNaN``): importing an old
#: path gives the module its names live in, so pickles made before the move still load.
#: Model files written by ``save`` name no module and need none of this.
_MOVED = {
    "_activations": "network._activations",
    "_network": "network._network",
    "_threads": "network._network",
    "_attribution": "scoring._attribution",
    "_game_kernels": "scoring._game_kernels",
    "_scoring": "scoring._scoring",
    "_selection": "scoring._attribution",
    "_shapley": "scoring._shapley",
    "_shapley_params": "scoring._shapley",
    "_pruning": "pruning._pruning",
    "_inference": "inference._inference",
    "_kernels": "inference._kernels",
    "_checks": "conductor._stages",
    "_config": "conductor._config",
    "_dask": "conductor._dask",
    "_fitted": "conductor._fitted",
    "_memory": "conductor._config",
    "_renamed": "conductor._config",
    "_stages": "conductor._stages",
    "_streaming": "conductor._stages",
    "_warnings": "conductor._stages",
    "_export": "io._export",
    "_files": "io._persistence",
    "_missing": "io._persistence",
    "_persistence": "io._persistence",
    "_persistence_columns": "io._persistence",
    "_refusal": "io._persistence",
    "_score_func": "_estimator",
    # modules of the stage folders merged since (0.2 development)
    "conductor._checks": "conductor._stages",
    "io._files": "io._persistence",
    "io._persistence_columns": "io._persistence",
    "network._threads": "network._network",
    "scoring._shapley_params": "scoring._shapley",
}


class _MovedLoader:
    """Imports ``skshapsae._<old>`` as the module its names moved to (the same object:
    its ``__spec__``, which the import system sets on it, is put back)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        package, _, old = fullname.partition(".")
        if package != __name__ or old not in _MOVED:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, _MovedLoader)

    @staticmethod
    def create_module(spec):
        import importlib

        module = importlib.import_module(f"{__name__}.{_MOVED[spec.name.partition('.')[2]]}")
        spec.loader_state = module.__spec__
        return module

    @staticmethod
    def exec_module(module):
        module.__spec__ = module.__spec__.loader_state


if _MovedLoader not in _sys.meta_path:
    _sys.meta_path.append(_MovedLoader)
