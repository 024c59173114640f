"""Missing values of text columns in every spelling: ``None`` and ``pandas.NA`` become NaN.

``SimpleImputer(missing_values=np.nan)`` fills NaN only: on an object column a ``None``
is kept as a value (the one-hot encoder then sees an unseen category and writes zeros)
and ``pandas.NA`` makes it fail ("boolean value of NA is ambiguous"). The CLI puts
:class:`MissingAsNaN` before the imputer of its text columns, so that a cell left empty
is filled however the table spells it.
"""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted


def _is_missing(value):
    """``None``, ``pandas.NA``, ``pandas.NaT`` or a float NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    return type(value).__name__ in ("NAType", "NaTType") and type(value).__module__.startswith(
        "pandas"
    )


class MissingAsNaN(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replace ``None``, ``pandas.NA`` and ``NaT`` by ``np.nan`` (as an object column).

    A stateless step with no parameters: it learns only the number and names of its
    input columns. Its output has the input's columns, as ``object`` values.

    Examples
    --------
    >>> import numpy as np
    >>> from skshapsae.io._missing import MissingAsNaN
    >>> MissingAsNaN().fit_transform(np.array([["a"], [None]], dtype=object)).ravel().tolist()
    ['a', nan]
    """

    def fit(self, X, y=None):
        columns = getattr(X, "columns", None)
        shape = np.shape(X)
        if len(shape) != 2:
            raise ValueError(f"MissingAsNaN takes a 2-d table; got shape {shape}.")
        self.n_features_in_ = shape[1]
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        values = np.array(X, dtype=object, copy=True)  # a DataFrame's cells, in order
        if values.ndim != 2 or values.shape[1] != self.n_features_in_:
            raise ValueError(
                f"MissingAsNaN was fitted on {self.n_features_in_} column(s); got shape "
                f"{values.shape}."
            )
        mask = np.array([_is_missing(v) for v in values.ravel()], dtype=bool)
        values[mask.reshape(values.shape)] = np.nan
        return values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
