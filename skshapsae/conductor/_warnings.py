"""Warnings that point at the user's line, not at the library's."""

import os
import sys
import sysconfig
import warnings

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__package__.partition(".")[0]],)  # the whole package
)

#: Python's own library (multiprocessing, concurrent.futures, threading, runpy): the
#: frames a joblib worker or ``python -m`` runs the call from.
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep

_REGISTRY = {}


def _internal_prefixes():
    """skshapsae, and the libraries that call it on the user's behalf (searches, caching,
    parallel workers)."""
    import joblib
    import sklearn

    return (
        *_INTERNAL,
        *(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (sklearn, joblib)),
        _STDLIB,
    )


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first caller outside skshapsae, scikit-learn and joblib.

    In a joblib worker the user's line is in another process: the warning then names
    the worker (``<joblib worker>``) instead of a line of ``multiprocessing``.
    """
    prefixes = _internal_prefixes()
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen ")  # runpy, importlib
        or os.path.abspath(frame.f_code.co_filename).startswith(prefixes)
    ):
        frame, level = frame.f_back, level + 1
    if frame is not None:
        warnings.warn(message, category, stacklevel=level + 1)
        return
    import multiprocessing

    where = "<joblib worker>" if multiprocessing.parent_process() is not None else "<skshapsae>"
    warnings.warn_explicit(message, category, where, 0, module="skshapsae", registry=_REGISTRY)


def warn_not_converged(max_iter, solver, tol):
    """sklearn's ``ConvergenceWarning`` when the training budget ended first."""
    from sklearn.exceptions import ConvergenceWarning

    warn(
        f"Training stopped at max_iter={max_iter} "
        f"{'L-BFGS iterations' if solver == 'lbfgs' else 'epochs'} "
        f"(solver={solver!r}) before the loss converged (tol={tol:g}); the "
        "model is usable but may improve with a larger max_iter.",
        ConvergenceWarning,
    )
