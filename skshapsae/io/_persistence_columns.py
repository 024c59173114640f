"""Model files: a ``ColumnTransformer`` of imputation and one-hot encoding (what the CLI
puts before the scaler so that a saved model takes a raw table with missing values and
text columns).

Only one shape is written or read, and no class is named by the file:

* branches of ``SimpleImputer(strategy="median" | "mean")`` on numeric columns, stored as
  one finite float per column;
* branches of ``Pipeline(SimpleImputer(strategy="most_frequent"),
  OneHotEncoder(handle_unknown="ignore", sparse_output=False))`` on text columns, stored
  as the filled value and the categories of each column: JSON strings (at most
  :data:`MAX_CATEGORY_CHARS` characters), finite numbers or booleans, one kind per column;
  optionally with skshapsae's parameterless :class:`MissingAsNaN` (defined below)
  first (``None`` and ``pandas.NA`` filled as missing; what the CLI saves), stored as a
  flag;
* ``remainder="drop"``; columns selected by name, each branch's in the table's order.

Loading rebuilds the transformer by fitting it on two synthetic rows made of the stored
values (so every private attribute is scikit-learn's own), with the encoder given the
stored categories; it then checks that the fitted statistics and categories are exactly
the stored ones and that the output width is the autoencoder's; the file format then
checks that its output columns are, by name and in order, those the next step was
fitted on (an edited category or column is refused at load, not at ``transform``).
The synthetic table has two rows of one cell per input column, and the number of
columns and categories is bounded by the autoencoder's width, so a file cannot make
the load allocate more than its header already holds.
"""

import math

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._files import refuse as _refuse
from ._files import set_output as _set_output
from ._files import take as _take

#: The longest category string accepted in a file.
MAX_CATEGORY_CHARS = 1000

#: Strategies of numeric imputation a file may hold.
NUMERIC_STRATEGIES = ("median", "mean")

ACCEPTED = (
    "a ColumnTransformer fitted on a DataFrame, remainder='drop', whose branches are "
    "SimpleImputer(strategy='median' or 'mean') or Pipeline(SimpleImputer("
    "strategy='most_frequent'), OneHotEncoder(handle_unknown='ignore', "
    "sparse_output=False)) (optionally after skshapsae's MissingAsNaN) on columns named "
    "by strings"
)


def _is_default_imputer(imputer, strategies):
    from sklearn.impute import SimpleImputer

    return (
        type(imputer) is SimpleImputer
        and imputer.strategy in strategies
        and not imputer.add_indicator
        and not imputer.keep_empty_features
        and isinstance(imputer.missing_values, float)
        and math.isnan(imputer.missing_values)
    )


def _is_default_encoder(encoder):
    from sklearn.preprocessing import OneHotEncoder

    return (
        type(encoder) is OneHotEncoder
        and encoder.handle_unknown == "ignore"
        and encoder.drop is None
        and encoder.min_frequency is None
        and encoder.max_categories is None
        and encoder.sparse_output is False
        and encoder.dtype in (np.float64, float)
    )


def _value(v):
    """A category or fill value as JSON: str, bool, int or finite float; else None."""
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, str):
        return v if len(v) <= MAX_CATEGORY_CHARS else None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2**53 else None
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return None


def _kind(v):
    return "str" if isinstance(v, str) else "bool" if isinstance(v, bool) else "number"


def encode(step, index, arrays):
    """The JSON spec of a fitted ``ColumnTransformer`` (its float arrays go into
    ``arrays``); ``TypeError`` naming what is accepted for any other shape."""
    from sklearn.pipeline import Pipeline

    names = getattr(step, "feature_names_in_", None)
    if (
        step.remainder != "drop"
        or step.transformer_weights is not None
        or getattr(step, "sparse_output_", False)
        or names is None
    ):
        raise TypeError(f"save writes {ACCEPTED}; step {index} is not one.")
    branches = []
    for name, est, columns in step.transformers_:
        if isinstance(est, str) and est == "drop":
            continue
        if not (isinstance(columns, list) and columns and all(isinstance(c, str) for c in columns)):
            raise TypeError(f"save writes {ACCEPTED}; branch {name!r} selects {columns!r}.")
        if not _in_order(columns, list(names)):
            raise TypeError(
                f"save writes {ACCEPTED}, each branch selecting its columns in the table's "
                f"order; branch {name!r} selects {columns!r}."
            )
        if _is_default_imputer(est, NUMERIC_STRATEGIES):
            stats = np.asarray(est.statistics_, dtype=np.float64)
            if stats.shape != (len(columns),) or not np.all(np.isfinite(stats)):
                raise TypeError(
                    f"branch {name!r} has no finite fill value for every column (a column "
                    "without any value); leave such columns out."
                )
            arrays[f"pipeline/{index}/{name}/statistics"] = stats
            branches.append(
                {"name": name, "kind": "impute", "strategy": est.strategy, "columns": columns}
            )
            continue
        missing = isinstance(est, Pipeline) and type(est.steps[0][1]) is MissingAsNaN
        if (
            isinstance(est, Pipeline)
            and len(est.steps) == 2 + missing
            and _is_default_imputer(est.steps[-2][1], ("most_frequent",))
            and _is_default_encoder(est.steps[-1][1])
        ):
            imputer, encoder = est.steps[-2][1], est.steps[-1][1]
            fills = [_value(v) for v in imputer.statistics_]
            categories = [[_value(v) for v in c] for c in encoder.categories_]
            flat = fills + [v for c in categories for v in c]
            if any(v is None for v in flat):
                raise TypeError(
                    f"branch {name!r}: categories must be strings of at most "
                    f"{MAX_CATEGORY_CHARS} characters, finite numbers or booleans."
                )
            param = encoder.categories
            branches.append(
                {
                    "name": name,
                    "kind": "impute_onehot",
                    "columns": columns,
                    "steps": [n for n, _ in est.steps],
                    "fill": fills,
                    "categories": categories,
                    "categories_param": "auto" if isinstance(param, str) else "given",
                    **({"none_as_missing": True} if missing else {}),
                }
            )
            continue
        raise TypeError(f"save writes {ACCEPTED}; branch {name!r} is a {type(est).__name__}.")
    return {
        "class": "ColumnTransformer",
        "feature_names_in": [str(n) for n in names],
        "verbose_feature_names_out": bool(step.verbose_feature_names_out),
        "branches": branches,
    }


def _in_order(columns, names):
    """Whether ``columns`` appear in ``names`` in the same order."""
    position = {n: i for i, n in enumerate(names)}
    where = [position[c] for c in columns if c in position]
    return len(where) == len(columns) and where == sorted(where)


def _name(value, what):
    if not isinstance(value, str) or not value or "__" in value or len(value) > 200:
        _refuse(f"{what} has an invalid name.")
    return value


def decode(spec, arrays, used, n_features, index):
    """The fitted ``ColumnTransformer`` a spec describes, checked (see the module)."""
    from sklearn.compose import ColumnTransformer

    where = f"pipeline step {index}"
    names, branches, verbose = _columns_spec(spec, n_features, where)
    known = set(names)
    selected, synthetic, transformers = set(), {}, []
    budget = [n_features, n_features]  # output columns left, of: a file cannot declare more
    for b, branch in enumerate(branches):
        if not isinstance(branch, dict):
            _refuse(f"{where}: branch {b} is not a table.")
        name = _name(branch.get("name"), f"{where}: branch {b}")
        columns = branch.get("columns")
        if (
            not isinstance(columns, list)
            or not columns
            or not all(isinstance(c, str) and c in known for c in columns)
            or selected & set(columns)
            or len(set(columns)) != len(columns)
        ):
            _refuse(f"{where}: branch {name!r} does not select distinct input columns.")
        if not _in_order(columns, names):  # save writes none other: an edited file
            _refuse(
                f"{where}: branch {name!r} selects {columns[:5]!r} out of the order of the "
                "input columns (were they swapped?)."
            )
        selected |= set(columns)
        kind = branch.get("kind")
        if kind == "impute":
            step = _impute_branch(branch, name, columns, arrays, used, index, synthetic, budget)
        elif kind == "impute_onehot":
            step = _onehot_branch(branch, name, columns, where, synthetic, budget)
        else:
            _refuse(f"{where}: branch {name!r} is of an unknown kind {kind!r}.")
        transformers.append((name, step, columns))
    if budget[0] != 0:
        _refuse(f"{where}: its output is not the autoencoder's {n_features} features wide.")
    if len({name for name, _, _ in transformers}) != len(transformers):
        _refuse(f"{where}: two branches share a name.")
    step = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=verbose)
    _rebuild(step, spec, names, synthetic, branches, n_features, where)
    return step


def _columns_spec(spec, n_features, where):
    """The input column names, the branches and the naming flag, checked."""
    names = spec.get("feature_names_in")
    branches = spec.get("branches")
    verbose = spec.get("verbose_feature_names_out")
    if (
        not isinstance(names, list)
        or not 0 < len(names) <= n_features + len(branches or [])
        or not all(isinstance(n, str) and len(n) <= MAX_CATEGORY_CHARS for n in names)
        or len(set(names)) != len(names)
    ):
        _refuse(f"{where}: its input columns are not a list of distinct names.")
    if not isinstance(branches, list) or not branches or not isinstance(verbose, bool):
        _refuse(f"{where}: its branches are not a list.")
    return names, branches, verbose


def _spend(budget, width, where):
    """Take ``width`` output columns from the budget; refuse past the autoencoder's width
    (before anything of that size is built)."""
    budget[0] -= width
    if budget[0] < 0:
        _refuse(f"{where}: its output is not the autoencoder's {budget[1]} features wide.")


def _impute_branch(branch, name, columns, arrays, used, index, synthetic, budget):
    """A ``SimpleImputer`` of numeric columns."""
    from sklearn.impute import SimpleImputer

    where = f"pipeline step {index}"
    strategy = branch.get("strategy")
    if strategy not in NUMERIC_STRATEGIES:
        _refuse(f"{where}: branch {name!r} has an unknown strategy {strategy!r}.")
    stats = _take(arrays, f"pipeline/{index}/{name}/statistics", used)
    if stats.dtype.kind != "f" or stats.shape != (len(columns),) or not np.all(np.isfinite(stats)):
        _refuse(f"{where}: branch {name!r} does not hold one finite value per column.")
    _spend(budget, len(columns), where)
    for column, value in zip(columns, stats):
        synthetic[column] = np.full(2, float(value))
    return SimpleImputer(strategy=strategy)


def _onehot_branch(branch, name, columns, where, synthetic, budget):
    """A most-frequent imputer and a one-hot encoder of text columns."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    steps, fills, categories = branch.get("steps"), branch.get("fill"), branch.get("categories")
    param = branch.get("categories_param")
    missing = branch.get("none_as_missing", False)  # absent in files of 0.x before it
    if missing is not True and missing is not False:
        _refuse(f"{where}: branch {name!r} has an invalid none_as_missing flag.")
    if (
        not isinstance(steps, list)
        or len(steps) != 2 + missing
        or not all(isinstance(s, str) for s in steps)
        or param not in ("auto", "given")
        or not isinstance(fills, list)
        or not isinstance(categories, list)
        or len(fills) != len(columns)
        or len(categories) != len(columns)
    ):
        _refuse(f"{where}: branch {name!r} is not an imputer and an encoder per column.")
    steps = [_name(s, f"{where}: branch {name!r} step") for s in steps]
    if len(set(steps)) != len(steps):
        _refuse(f"{where}: branch {name!r} has two steps of one name.")
    for column, fill, values in zip(columns, fills, categories):
        _check_categories(where, column, fill, values)
        _spend(budget, len(values), where)
        synthetic[column] = np.array([fill, fill], dtype=object)
    encoder = OneHotEncoder(
        categories=[np.array(c, dtype=object) for c in categories],
        handle_unknown="ignore",
        sparse_output=False,
    )
    first = [(steps[0], MissingAsNaN())] if missing else []
    imputer = SimpleImputer(strategy="most_frequent")
    return Pipeline([*first, (steps[-2], imputer), (steps[-1], encoder)])


def _rebuild(step, spec, names, synthetic, branches, n_features, where):
    """Fit ``step`` on two synthetic rows and check that it rebuilds what was stored."""
    import pandas as pd

    frame = pd.DataFrame(
        {n: synthetic.get(n, np.zeros(2)) for n in names}, columns=pd.Index(names, dtype=object)
    )
    _set_output(step, spec.get("output"), where)  # before fitting: the encoder sees names
    try:
        step.fit(frame)
        out = step.get_feature_names_out()
    except Exception as exc:  # unsorted numeric categories, clashing output names, ...
        _refuse(f"{where} cannot be rebuilt ({type(exc).__name__}: {exc}).")
    if len(out) != n_features:
        _refuse(f"{where}: its output is not the autoencoder's {n_features} features wide.")
    fitted = [t for t in step.transformers_ if not isinstance(t[1], str)]
    for (name, est, _), (_, unfitted, _), branch in zip(fitted, step.transformers, branches):
        if branch["kind"] == "impute_onehot":
            imputer, encoder = est.steps[-2][1], est.steps[-1][1]
            if [_value(v) for v in imputer.statistics_] != branch["fill"] or [
                [_value(v) for v in c] for c in encoder.categories_
            ] != branch["categories"]:
                _refuse(f"{where}: branch {name!r} does not rebuild as stored.")
            if branch["categories_param"] == "auto":  # as it was fitted: the same state
                encoder.set_params(categories="auto")
                unfitted.steps[-1][1].set_params(categories="auto")


def _check_categories(where, column, fill, values):
    if not isinstance(values, list) or not values or len(values) > 2**20:
        _refuse(f"{where}: column {column!r} has no list of categories.")
    checked = [_value(v) for v in values]
    if any(c is None for c in checked) or _value(fill) is None:
        _refuse(
            f"{where}: column {column!r} has categories that are not strings of at most "
            f"{MAX_CATEGORY_CHARS} characters, finite numbers or booleans."
        )
    kinds = {_kind(v) for v in values}
    if len(kinds) != 1 or _kind(fill) not in kinds:
        _refuse(f"{where}: column {column!r} mixes kinds of categories.")
    if len({(type(v), v) for v in values}) != len(values):
        _refuse(f"{where}: column {column!r} repeats a category.")
    if fill not in values:
        _refuse(f"{where}: column {column!r} fills a value that is not a category.")


# -- Missing values of text columns in every spelling: ``None`` and ``pandas.NA`` become NaN.
# ``SimpleImputer(missing_values=np.nan)`` fills NaN only: on an object column a ``None``
# is kept as a value (the one-hot encoder then sees an unseen category and writes zeros)
# and ``pandas.NA`` makes it fail ("boolean value of NA is ambiguous"). The CLI puts
# :class:`MissingAsNaN` before the imputer of its text columns, so that a cell left empty
# is filled however the table spells it.


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
    >>> from skshapsae.io._persistence_columns import MissingAsNaN
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
