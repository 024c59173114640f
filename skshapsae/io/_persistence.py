"""A safe file format for fitted estimators: a zip of ``.npy`` arrays and a JSON header.

Trust model
-----------
A model file is **untrusted input**. Loading it executes no code (no pickle; arrays are
parsed from their ``.npy`` headers, never with ``allow_pickle``), allocates no more than
the file's size allows (:data:`MAX_EXPANSION` times the file size, checked before any
array is read), and restores nothing that is not in the schema below: each attribute
has a known name, kind, dtype and shape, consistent with the layer sizes; parameters go
through the estimator's own ``_parameter_constraints``; ``memory`` (a path a later refit
would write to) is never restored. The SHA-256 digest in the header detects accidental
damage (truncation, bit flips, a half-written copy); it is **not** a signature: anyone
who edits a file can recompute it. A file that passes every check therefore loads as a
well-formed model, but its weights are whatever the file says: load models from
sources you trust, as with any model.

``save`` writes to a temporary file in the destination folder and renames it over the
destination, so an interrupted or failed save never destroys the previous file.

Below the estimator's reader and writer: the preprocessing a model file may hold
(:class:`MissingAsNaN` and the ``ColumnTransformer``, see there), then the atomic
writes that ``save`` and ``export`` share and the refusal of a bad file.
"""

import hashlib
import json
import math
import os
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._version import __version__
from ..conductor._fitted import BY_NAME, FIELDS, check_value, freeze, names

FORMAT = "skshapsae-model"
FORMAT_VERSION = 1
_HEADER_KEY = "__header__"
_ALLOWED_KINDS = set("biuf")  # bool, int, unsigned, float: never object arrays

#: A model file may expand to at most this many times its size when loaded (arrays of
#: random weights compress about 1.1x, boolean masks about 8x, image rows up to ~10x).
MAX_EXPANSION = 64

#: ... and to at least this many bytes, so small files are not refused for compressing well.
MIN_BUDGET_BYTES = 16 * 2**20

#: The largest JSON header accepted, in bytes.
MAX_HEADER_BYTES = 8 * 2**20

#: Parameters never restored from a file: they point outside it.
_NOT_RESTORED = ("memory",)


# ----------------------------------------------------------------------------- save
def _json_param(name, value):
    from ..scoring._shapley import ShapleyEstimator

    if name in _NOT_RESTORED:
        return None
    if isinstance(value, ShapleyEstimator):  # a class of our own, by name
        return {"estimator": value.name, "params": _plain(value.get_params())}
    value = _plain(value)
    try:
        json.dumps(value)
        return value
    except TypeError:
        from ..conductor._stages import warn

        warn(
            f"Parameter {name}={value!r} cannot be stored in a model file (it is not JSON); "
            f"the loaded model has {name}=None. Pass an int or None to keep it.",
            UserWarning,
        )
        return None


def _plain(value):
    """numpy scalars and arrays (what a ``GridSearchCV`` grid built with ``np.arange``
    sets) as the Python numbers and lists they hold, inside tuples and lists too; a
    tuple stays a tuple (JSON writes it as a list, which load turns back)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _encode(estimator):
    arrays, meta = {}, {}
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("__"):
            continue
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _ALLOWED_KINDS:
                meta[name] = {"kind": "strings", "value": [str(v) for v in value]}
            else:
                arrays[name] = value
                meta[name] = {"kind": "array"}
        elif isinstance(value, list) and value and sp.issparse(value[0]):
            for i, m in enumerate(value):
                m = sp.csr_array(m)
                arrays[f"{name}/{i}/data"] = m.data
                arrays[f"{name}/{i}/indices"] = m.indices
                arrays[f"{name}/{i}/indptr"] = m.indptr
            meta[name] = {"kind": "csr_list", "shapes": [list(m.shape) for m in value]}
        elif isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            for i, a in enumerate(value):
                arrays[f"{name}/{i}"] = a
            meta[name] = {"kind": "array_list", "length": len(value)}
        elif isinstance(value, np.generic):
            meta[name] = {"kind": "json", "value": value.item()}
        else:
            meta[name] = {"kind": "json", "value": _to_json(value)}
    return arrays, meta


def _to_json(value):
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _digest(arrays, header_without_digest):
    h = hashlib.sha256(json.dumps(header_without_digest, sort_keys=True).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(estimator, path):
    """Save a fitted :class:`SHAPSparseAutoencoder` to ``path`` (``.npz``), safely.

    The file is written next to ``path`` under a temporary name and renamed over it
    when complete: a failed save (disk full, interruption) leaves any previous file
    intact. Parameters that are not JSON (a ``RandomState``) are stored as ``None``
    with a warning; ``memory`` is never stored.

    Parameters
    ----------
    estimator : SHAPSparseAutoencoder or Pipeline
        A fitted estimator, or a fitted ``Pipeline`` of ``MinMaxScaler`` /
        ``StandardScaler`` steps ending in one (so that the loaded model works on raw
        rows). Anything else raises ``TypeError`` whose message shows how to save it
        with skops (:data:`SKOPS_HINT`).
    path : str or path-like
        Destination file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skshapsae import SHAPSparseAutoencoder, save, load
    >>> X = np.random.default_rng(0).uniform(size=(40, 6))
    >>> ae = SHAPSparseAutoencoder(max_iter=2, n_background=10, n_explain=10,
    ...                            random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(ae, path)
    >>> bool(np.allclose(load(path).transform(X), ae.transform(X)))
    True
    """
    if not os.fspath(path):
        raise ValueError("save needs a file name, got an empty path.")
    try:
        model, steps = _split_pipeline(estimator)
    except TypeError as exc:
        raise TypeError(f"{exc}\n{SKOPS_HINT}") from None
    arrays, meta = _encode(model)
    params = {k: _json_param(k, v) for k, v in model.get_params(deep=False).items()}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": type(model).__name__,
        "params": params,
        "attributes": meta,
    }
    output = _output_container(model)
    if output is not None:  # set_output(transform=...) is part of what the model returns
        header["output"] = output
    if steps is not None:
        try:
            header["pipeline"] = _encode_steps(steps, arrays)
        except TypeError as exc:  # a ColumnTransformer of another shape
            raise TypeError(f"{exc}\n{SKOPS_HINT}") from None
    header["sha256"] = _digest(arrays, header)
    arrays[_HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with atomic_path(path) as temporary, open(temporary, "wb") as out:
        np.savez_compressed(out, **arrays)
        out.flush()
        os.fsync(out.fileno())


#: How to save what ``save`` refuses (any pipeline: selectors, other encoders, a final
#: classifier), in skops' format, which also runs no code on load.
SKOPS_HINT = (
    "To save any other pipeline (a make_column_selector, OneHotEncoder(drop='if_binary'), "
    "a final classifier, ...) use skops' safe format (pip install 'skshapsae[skops]'):\n"
    "    import skops.io\n"
    "    skops.io.dump(pipeline, 'model.skops')\n"
    "    types = skops.io.get_untrusted_types(file='model.skops')  # read this list\n"
    "    pipeline = skops.io.load('model.skops', trusted=types)\n"
    "passing as trusted= only the types you expect (such as "
    "'skshapsae._estimator.SHAPSparseAutoencoder'); never pickle or joblib for files "
    "from others."
)

#: Steps a saved pipeline may hold before the autoencoder: class -> (array attributes,
#: parameters). Nothing else is saved (or loaded), so a file never names other classes.
SCALERS = {
    "MinMaxScaler": (("min_", "scale_", "data_min_", "data_max_", "data_range_"),),
    "StandardScaler": (("mean_", "var_", "scale_"),),
}


def _output_container(estimator):
    """The container ``estimator.set_output(transform=...)`` chose, or None (default)."""
    config = getattr(estimator, "_sklearn_output_config", None)
    output = config.get("transform") if isinstance(config, dict) else None
    return None if output in (None, "default") else output


def _split_pipeline(estimator):
    """``(autoencoder, [(name, scaler), ..., (name, None)])`` or ``(autoencoder, None)``."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from .._estimator import SHAPSparseAutoencoder

    what = (
        "save writes a fitted SHAPSparseAutoencoder, or a fitted Pipeline of MinMaxScaler / "
        "StandardScaler steps ending in one, optionally after a first ColumnTransformer of "
        "imputation and one-hot encoding (what the CLI saves), in the format load reads "
        "safely"
    )
    steps = None
    if isinstance(estimator, Pipeline):
        *before, (last, final) = estimator.steps
        if not isinstance(final, SHAPSparseAutoencoder):
            raise TypeError(
                f"{what}; this Pipeline ends in a {type(final).__name__} (step {last!r}), "
                "not in the autoencoder."
            )
        estimator = final
        for i, (name, step) in enumerate(before):
            known = type(step).__name__ in SCALERS or (
                i == 0 and type(step).__name__ == "ColumnTransformer"
            )
            if not known or type(step).__module__.split(".")[0] != "sklearn":
                raise TypeError(f"{what}; step {name!r} is a {type(step).__name__}.")
            check_is_fitted(step)
        steps = [*before, (last, None)]
    if not isinstance(estimator, SHAPSparseAutoencoder):
        raise TypeError(
            f"{what}; got {type(estimator).__name__}. Save other estimators with joblib or skops."
        )
    check_is_fitted(estimator)
    return estimator, steps


def _encode_steps(steps, arrays):
    out = []
    for i, (name, step) in enumerate(steps):
        if step is None:
            out.append({"name": name, "class": "SHAPSparseAutoencoder"})
            continue
        if type(step).__name__ == "ColumnTransformer":
            spec = {"name": name, **encode(step, i, arrays)}
            if _output_container(step) is not None:
                spec["output"] = _output_container(step)
            out.append(spec)
            continue
        (array_names,) = SCALERS[type(step).__name__]
        attributes = {}
        for attr in (*array_names, "n_features_in_", "n_samples_seen_", "feature_names_in_"):
            value = getattr(step, attr, None)
            if attr == "feature_names_in_" and value is not None:
                attributes[attr] = {"kind": "strings", "value": [str(v) for v in value]}
            elif isinstance(value, np.ndarray):
                arrays[f"pipeline/{i}/{attr}"] = np.asarray(value, dtype=np.float64)
                attributes[attr] = {"kind": "array"}
            elif value is not None:
                attributes[attr] = {"kind": "json", "value": _to_json(value)}
        params = {k: _to_json(v) for k, v in step.get_params(deep=False).items()}
        spec = {"name": name, "class": type(step).__name__, "params": params}
        spec["attributes"] = attributes
        if _output_container(step) is not None:
            spec["output"] = _output_container(step)
        out.append(spec)
    return out


def _decode_steps(spec, arrays, used, n_features):
    """The scalers of a saved pipeline, checked: known classes, valid parameters, finite
    arrays with one value per feature."""
    if not isinstance(spec, list) or not spec or spec[-1].get("class") != "SHAPSparseAutoencoder":
        _refuse("its pipeline does not end with the autoencoder.")
    steps = []
    for i, step in enumerate(spec[:-1]):
        if i == 0 and isinstance(step, dict) and step.get("class") == "ColumnTransformer":
            if not isinstance(n_features, int) or not 0 < n_features < 2**24:
                _refuse("its n_features_in_ is not a width.")
            # the scalers after it take the autoencoder's width too (checked below)
            columns = decode(step, arrays, used, n_features, i)
            steps.append((_step_name(step.get("name"), i), columns))
            continue
        scaler = _decode_scaler(step, i, arrays, used, n_features)
        name = _step_name(step.get("name"), i)
        _set_output(scaler, step.get("output"), f"pipeline step {i}")
        steps.append((name, scaler))
    last = spec[-1].get("name")
    if not isinstance(last, str) or not last or "__" in last:
        _refuse("the pipeline's last step has an invalid name.")
    return steps, last


def _decode_scaler(step, i, arrays, used, n_features):
    """Pipeline step ``i``, a scaler of :data:`SCALERS`, rebuilt and checked."""
    from sklearn import preprocessing

    if not isinstance(step, dict) or step.get("class") not in SCALERS:
        _refuse(f"pipeline step {i} is not one of {sorted(SCALERS)}.")
    cls = getattr(preprocessing, step["class"])
    scaler = _estimator_from_params(cls, step.get("params"), f"pipeline step {i}:")
    (array_names,) = SCALERS[step["class"]]
    attributes = step.get("attributes")
    if not isinstance(attributes, dict) or set(attributes) - {
        *array_names,
        "n_features_in_",
        "n_samples_seen_",
        "feature_names_in_",
    }:
        _refuse(f"pipeline step {i} holds unknown attributes.")
    for attr, info in attributes.items():
        value = _scaler_attribute(step, i, attr, info, arrays, used, n_features)
        setattr(scaler, attr, value)
    missing = [a for a in (*array_names, "n_features_in_") if a not in attributes]
    if step["class"] == "MinMaxScaler" and missing:
        _refuse(f"pipeline step {i} lacks {missing}.")
    for attr in missing:  # StandardScaler(with_mean=False) stores mean_ = None
        setattr(scaler, attr, None)
    if getattr(scaler, "n_features_in_", None) != n_features:
        _refuse(f"pipeline step {i} does not take the autoencoder's {n_features} features.")
    return scaler


def _scaler_attribute(step, i, attr, info, arrays, used, n_features):
    """One fitted attribute of a saved scaler, checked."""
    kind = info.get("kind") if isinstance(info, dict) else None
    if kind == "array":
        value = _take(arrays, f"pipeline/{i}/{attr}", used)
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            _refuse(f"pipeline step {i}: {attr} is not finite numbers.")
        if value.shape != (n_features,):
            _refuse(f"pipeline step {i}: {attr} does not have one value per feature.")
        if attr == "n_samples_seen_":  # per feature (NaNs); sums of weights
            if np.any(value < 0):
                _refuse(f"pipeline step {i}: {attr} is not a count.")
            if np.all(value == np.round(value)):
                value = value.astype(np.int64)
        return value
    if kind == "strings" and attr == "feature_names_in_":
        value = info.get("value")
        if (
            not isinstance(value, list)
            or len(value) != n_features
            or not all(isinstance(v, str) for v in value)
        ):
            _refuse(f"pipeline step {i}: feature_names_in_ is not one name per feature.")
        return np.asarray(value, dtype=object)
    if kind == "json" and attr in ("n_features_in_", "n_samples_seen_"):
        value = info.get("value")  # StandardScaler counts in floats
        # ... and, fitted with sample_weight, holds the sum of the weights
        weighted = attr == "n_samples_seen_" and step["class"] == "StandardScaler"
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not 0 <= value < 2**53
            or (value != int(value) and not weighted)
        ):
            _refuse(f"pipeline step {i}: {attr} is not a count.")
        return value
    _refuse(f"pipeline step {i}: {attr} is not stored as expected.")


def _step_name(name, i):
    if not isinstance(name, str) or not name or "__" in name:
        _refuse(f"pipeline step {i} has an invalid name.")
    return name


# ----------------------------------------------------------------------------- load
def _open_regular(path):
    """``(file, size)`` of ``path`` opened for reading, refusing anything but a regular file.

    The file is opened first (without blocking, so a FIFO cannot hang the caller) and
    checked on the open descriptor, so it cannot be swapped between check and read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        _refuse(f"it cannot be opened ({exc.strerror or exc}).")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        _refuse("it is not a regular file (a folder, device, FIFO or socket); pass a .npz file.")
    return os.fdopen(fd, "rb"), info.st_size


def _read_members(path):
    """Every ``.npy`` member of the zip at ``path``, bounded by the file's size."""
    handle, size = _open_regular(path)
    budget = max(MIN_BUDGET_BYTES, MAX_EXPANSION * size)
    with handle, zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
        declared = sum(info.file_size for info in infos)
        if declared > budget:
            _refuse(
                f"its members declare {declared} bytes once decompressed, more than "
                f"{MAX_EXPANSION}x the file's {size} bytes."
            )
        arrays = {}
        for info in infos:
            if not info.filename.endswith(".npy") or info.filename.count(".npy") != 1:
                _refuse(f"member {info.filename!r} is not a .npy array.")
            key = info.filename[: -len(".npy")]
            with archive.open(info) as stream:
                arrays[key] = _read_npy(stream, info.file_size, key)
    return arrays


def _bounded_int(text):
    """JSON integers of at most 18 digits (a model file needs no larger ones)."""
    if len(text.lstrip("-")) > 18:
        _refuse(f"its header holds an integer of {len(text)} digits; at most 18 are expected.")
    return int(text)


def _read_npy(stream, declared, key):
    """One array from a ``.npy`` stream whose declared size is checked before reading."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        _refuse(f"array {key!r} has an unsupported .npy version {version}.")
    if dtype.hasobject or dtype.kind not in _ALLOWED_KINDS or dtype.subdtype is not None:
        _refuse(f"array {key!r} has unsupported dtype {dtype}.")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes > declared:
        _refuse(f"array {key!r} declares shape {shape}, larger than its member.")
    data = stream.read(nbytes + 1)
    if len(data) != nbytes:
        _refuse(f"array {key!r} holds {len(data)} bytes, not the {nbytes} its shape needs.")
    array = np.frombuffer(data, dtype=dtype, count=count)
    order = "F" if fortran else "C"
    return array.reshape(shape, order=order).copy(order="C")


def load(path):
    """Load an estimator saved by :func:`save`; no code is executed.

    Every field is validated against the model schema before the estimator is built
    (see the robustness page for the trust model); allocations are bounded by the
    file's size.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save`.

    Returns
    -------
    estimator : SHAPSparseAutoencoder or Pipeline
        The fitted estimator; a ``Pipeline`` (its scalers, then the autoencoder) when a
        pipeline was saved, as the CLI does.

    Raises
    ------
    ValueError
        If the file is not a skshapsae model, is damaged, comes from an incompatible
        format version, or does not describe a well-formed model.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"load expects a path (str or os.PathLike) to a .npz file written by save, got "
            f"{type(path).__name__}. Write the bytes to a file first."
        )
    try:
        try:
            arrays = _read_members(path)
        except _Refused:
            raise
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            _refuse(f"it is not a readable .npz file ({exc}).")
        except (ValueError, NotImplementedError, RuntimeError, KeyError) as exc:
            _refuse(f"it is damaged ({type(exc).__name__}: {exc}).")
        except Exception as exc:  # zlib.error and friends: damaged compressed data
            _refuse(f"it is damaged ({type(exc).__name__}: {exc}).")
        try:
            return _build(arrays)
        except (TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
            # a field of an unexpected type that a check above did not anticipate
            _refuse(f"its header is malformed ({type(exc).__name__}: {exc}).")
    except _Refused as refused:
        raise ValueError(f"Cannot load {str(path)!r} as a skshapsae model: {refused}") from None


def _model_classes():
    """The classes a model file may hold, by name: ``SHAPSparseAutoencoder`` and the
    package's public subclasses of it (the trained baselines of ``skshapsae.baselines``,
    which the package imports)."""
    from .._estimator import SHAPSparseAutoencoder

    found, todo = {}, [SHAPSparseAutoencoder]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("skshapsae.") and not cls.__name__.startswith("_"):
            found[cls.__name__] = cls
    return found


def _build(arrays):
    if _HEADER_KEY not in arrays:
        _refuse("it has no skshapsae header (was it written by skshapsae.save?).")
    raw = arrays.pop(_HEADER_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
        _refuse("its header is not a JSON byte string of bounded size.")
    try:
        header = json.loads(raw.tobytes().decode(), parse_int=_bounded_int)
    except _Refused:
        raise
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        _refuse("its header is not valid JSON.")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        _refuse("its header does not name the skshapsae model format.")
    if header.get("format_version") != FORMAT_VERSION:
        _refuse(
            f"format version {header.get('format_version')!r} is not supported "
            f"(this skshapsae reads version {FORMAT_VERSION})."
        )
    cls = _model_classes().get(header.get("class"))
    if cls is None:
        _refuse(f"it holds an unknown class {header.get('class')!r}.")
    digest = header.pop("sha256", None)
    if digest != _digest(arrays, header):
        _refuse("its content does not match its checksum; it was modified or truncated.")
    # big-endian arrays (">f8", as written on another machine): native byte order
    arrays = {k: a.astype(a.dtype.newbyteorder("=")) for k, a in arrays.items()}
    params, meta = header.get("params"), header.get("attributes")
    if not isinstance(params, dict) or not isinstance(meta, dict):
        _refuse("its header has no parameter or attribute table.")
    estimator = _estimator_from_params(cls, params)
    used = set()
    steps = None
    if "pipeline" in header:
        n_features = (
            meta.get("n_features_in_", {}).get("value")
            if isinstance(meta.get("n_features_in_"), dict)
            else None
        )
        steps, last = _decode_steps(header["pipeline"], arrays, used, n_features)
    state = _attributes(meta, {k: v for k, v in arrays.items() if k not in used})
    _check_state(state)
    estimator.__dict__.update(freeze(state))
    _set_output(estimator, header.get("output"), "the model")
    if steps is None:
        return estimator
    _check_column_names(steps, estimator)
    from sklearn.pipeline import Pipeline

    return Pipeline([*steps, (last, estimator)])


def _check_column_names(steps, estimator):
    """Each step's output columns are the next step's input columns, by name and in
    order, wherever both are named (a pandas output into a step fitted on it): an edited
    category, a renamed or reordered column would otherwise load and make ``transform``
    fail with scikit-learn's "feature names should match"."""
    chain = [step for _, step in steps] + [estimator]
    for i, (step, after) in enumerate(zip(chain, chain[1:])):
        expected = getattr(after, "feature_names_in_", None)
        if expected is None or _output_container(step) != "pandas":
            continue
        try:
            produced = [str(n) for n in step.get_feature_names_out()]
        except Exception as exc:  # a scaler fitted without names names nothing
            _refuse(f"pipeline step {i} names no output columns ({type(exc).__name__}: {exc}).")
        expected = [str(n) for n in expected]
        if produced != expected:
            first = next(
                (k for k, (a, b) in enumerate(zip(produced, expected)) if a != b),
                min(len(produced), len(expected)),
            )
            shown = produced[first] if first < len(produced) else "nothing"
            wanted = expected[first] if first < len(expected) else "nothing"
            _refuse(
                f"pipeline step {i}'s output columns are not the columns step {i + 1} was "
                f"fitted on: column {first} is {shown!r}, step {i + 1} expects {wanted!r} "
                "(were its categories or columns edited?)."
            )


def _estimator_from_params(cls, params, where="its"):
    """An unfitted ``cls`` from stored parameters, checked by its own constraints."""
    if not isinstance(params, dict):
        _refuse(f"{where} parameters are not a table.")
    known = set(cls().get_params())
    if cls.__name__ == "SHAPSparseAutoencoder" and set(params) - known:
        params = _upgraded(params, where)
    if set(params) - known:
        _refuse(f"{where} unknown parameters {sorted(set(params) - known)}.")
    params = {k: v for k, v in params.items() if k not in _NOT_RESTORED}
    params = _available_device(params)
    if "shapley_estimator" in params:
        params["shapley_estimator"] = _shapley_estimator(params["shapley_estimator"], where)
    for name in ("hidden_layer_sizes", "feature_range"):  # JSON has lists, not tuples
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as exc:
        _refuse(f"{where} parameters are invalid: {exc}")
    return estimator


def _upgraded(params, where):
    """Parameters of a file written before 0.2 in the new spelling (``upgrade_params``)."""
    from ..conductor._config import upgrade_params

    try:
        params, dropped = upgrade_params(params)
    except (TypeError, ValueError, KeyError) as exc:
        _refuse(f"{where} parameters from before 0.2 cannot be read: {exc!r}")
    if dropped:
        from ..conductor._stages import warn

        warn(
            f"The model was saved with {dropped} (a trained baseline's training settings, "
            "which are no parameters since 0.2): the loaded model is the one fitted, but "
            "refitting it trains a plain autoencoder; use "
            "skshapsae.baselines.DropoutAutoencoder or KSparseAutoencoder (or "
            "fit_trained_baseline) to train the baseline again.",
            UserWarning,
        )
    return params


def _shapley_estimator(value, where):
    """A stored ``shapley_estimator``: a name, or ``{"estimator": name, "params": {...}}``."""
    from ..scoring._shapley import ESTIMATORS, ShapleyEstimator

    if isinstance(value, ShapleyEstimator):  # mapped from a file before 0.2
        value = {"estimator": value.name, "params": value.get_params()}
    if not isinstance(value, dict):
        return value  # a name (checked by the constraints)
    name, params = value.get("estimator"), value.get("params")
    if (
        name not in ESTIMATORS
        or not isinstance(params, dict)
        or set(value)
        != {
            "estimator",
            "params",
        }
    ):
        _refuse(f"{where} shapley_estimator {value!r} is not a known estimator.")
    cls = ESTIMATORS[name]
    if set(params) - set(cls().get_params()):
        _refuse(f"{where} shapley_estimator has unknown parameters {sorted(params)}.")
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as exc:
        _refuse(f"{where} shapley_estimator is invalid: {exc}")
    return estimator


def _available_device(params):
    """The stored device is a preference: an absent accelerator falls back to the CPU."""
    device = params.get("device")
    if not isinstance(device, str) or not device.startswith("cuda"):
        return params
    import torch

    if torch.cuda.is_available():
        return params
    from ..conductor._stages import warn

    warn(
        f"The model was saved with device={device!r}, which this machine does not have; "
        "it is loaded with device='cpu' (the fitted state does not depend on the device).",
        UserWarning,
    )
    return {**params, "device": "cpu"}


#: kind of every attribute a model may hold, and what every saved model holds (slimmed
#: or not): both from the one schema of the fitted state
_SCHEMA = {field.name: field.kind for field in FIELDS}
_REQUIRED = names(required=True)


#: (``preactivation_importances_`` only with ``importance_target="auto"``)
_FULL = tuple(name for name in names(slim=False) if name != "preactivation_importances_")


def _attributes(meta, arrays):
    missing = [name for name in _REQUIRED if name not in meta]
    if missing:
        _refuse(f"it lacks the fitted attributes {missing}.")
    # the full model's attributes (reprune, explain, partial_fit read them): all or none
    present = [name for name in _FULL if name in meta]
    if present and len(present) < len(_FULL):
        _refuse(
            f"it lacks the fitted attributes {[n for n in _FULL if n not in meta]}, which "
            "reprune, explain and partial_fit need; a model file holds all of "
            f"{list(_FULL)}, or none of them (a slimmed model)."
        )
    used, state = set(), {}
    for name, info in meta.items():
        kind = _SCHEMA.get(name)
        if kind is None:
            _refuse(f"it holds an unknown attribute {name!r}.")
        if not isinstance(info, dict) or info.get("kind") != kind:
            _refuse(f"attribute {name!r} is not stored as {kind!r}.")
        if kind == "array":
            state[name] = _take(arrays, name, used)
        elif kind == "strings":
            values = info.get("value")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                _refuse(f"attribute {name!r} is not a list of strings.")
            state[name] = np.asarray(values, dtype=object)
        elif kind == "array_list":
            length = info.get("length")
            if not isinstance(length, int) or not 0 < length <= 10_000:
                _refuse(f"attribute {name!r} has an invalid length {length!r}.")
            state[name] = [_take(arrays, f"{name}/{i}", used) for i in range(length)]
        elif kind == "csr_list":
            state[name] = _csr_list(name, info.get("shapes"), arrays, used)
        else:
            state[name] = info.get("value")
    extra = set(arrays) - used
    if extra:
        _refuse(f"it holds arrays no attribute refers to: {sorted(extra)[:5]}.")
    return state


def _csr_list(name, shapes, arrays, used):
    if not isinstance(shapes, list) or not 0 < len(shapes) <= 10_000:
        _refuse(f"attribute {name!r} has no valid list of shapes.")
    out = []
    for i, shape in enumerate(shapes):
        if (
            not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(n, int) and 0 < n < 2**31 for n in shape)
        ):
            _refuse(f"{name}[{i}] has an invalid shape {shape!r}.")
        data, indices, indptr = (
            _take(arrays, f"{name}/{i}/{part}", used) for part in ("data", "indices", "indptr")
        )
        if (
            data.ndim != 1
            or indices.shape != data.shape
            or indptr.shape != (shape[0] + 1,)
            or indices.dtype.kind not in "iu"
            or indptr.dtype.kind not in "iu"
            or data.dtype.kind != "f"
        ):
            _refuse(f"{name}[{i}] is not a valid CSR matrix of shape {shape}.")
        # signed from here on: a difference of unsigned values never goes below 0, so a
        # row pointer that runs backwards would pass as uint64 (and crash the kernel)
        indices, indptr = _signed(indices, name, i), _signed(indptr, name, i)
        if indptr.size and (
            indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0)
        ):
            _refuse(f"{name}[{i}] has an invalid row pointer.")
        if indices.size and (indices.min() < 0 or indices.max() >= shape[1]):
            _refuse(f"{name}[{i}] has column indices outside its shape {shape}.")
        out.append(sp.csr_array((data, indices, indptr), shape=tuple(shape)))
    return out


def _signed(index, name, i):
    """An index array of a CSR matrix as int64 (refused where a value does not fit)."""
    if index.dtype.kind == "u" and index.size and index.max() > np.iinfo(np.int64).max:
        _refuse(f"{name}[{i}] has an index beyond int64.")
    return index.astype(np.int64, copy=False)


def _is_int_list(value, length=None):
    return (
        isinstance(value, list)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and (length is None or len(value) == length)
    )


def _check_state(state):
    """Shapes, dtypes and values consistent with each other and with the layer sizes."""
    from ..network._activations import ACTIVATIONS

    sizes = state["layer_sizes_"]
    if not _is_int_list(sizes) or len(sizes) < 3 or len(sizes) % 2 == 0:
        _refuse("layer_sizes_ is not a list of 2L + 1 integers.")
    if not all(0 < n < 2**24 for n in sizes) or sizes != sizes[::-1]:
        _refuse(f"layer_sizes_ {sizes} is not a mirrored list of positive widths.")
    n_layers, code = len(sizes) - 1, sizes[len(sizes) // 2]
    if state["n_features_in_"] != sizes[0] or state["n_components_"] != code:
        _refuse("n_features_in_ / n_components_ do not match layer_sizes_.")
    acts = state["activations_"]
    if (
        not isinstance(acts, list)
        or len(acts) != n_layers
        or not all(isinstance(a, str) and a in ACTIVATIONS for a in acts)
    ):
        _refuse(f"activations_ must name {n_layers} known activations.")
    if not _is_int_list(state["keep_counts_"], n_layers):
        _refuse("keep_counts_ is not one integer per layer.")
    for name, value in state.items():
        field = BY_NAME[name]
        if field.shape in (
            "sizes",
            "activations",
            "count_per_layer",
            "training_config",
            "scoring_config",
        ):
            continue
        problem = check_value(field, value, sizes)
        if problem is not None:
            _refuse(problem)
    _check_training_config(state["_training_config_"], code)
    if "_scoring_config_" in state:
        _check_scoring_config(state["_scoring_config_"])


def _check_scoring_config(config):
    """The game the links were scored by: the parameters' names and valid values."""
    from sklearn.utils._param_validation import validate_parameter_constraints

    from ..conductor._config import SCORING_RECORD

    if not isinstance(config, dict) or set(config) != set(SCORING_RECORD):
        _refuse(f"_scoring_config_ does not hold the scoring settings {tuple(SCORING_RECORD)}.")
    constraints = {k: SCORING_RECORD[k] for k in config}
    try:
        validate_parameter_constraints(constraints, config, "load")
    except (ValueError, TypeError) as exc:
        _refuse(f"_scoring_config_ is invalid: {exc}")


#: Resolved training settings: the estimator's parameter of the same name allows more
#: ("auto"), a stored configuration holds what ran.
_RESOLVED = {"solver": {"adam", "lbfgs"}, "init": {"pca", "varimax", "random"}}


def _check_training_config(config, code):
    """The stored training settings (fine-tuning and ``partial_fit`` run them): each of
    the right type, within the range of the estimator's parameter of the same name, and
    every number within float32's range (torch trains in float32)."""
    from sklearn.utils._param_validation import validate_parameter_constraints

    from .._estimator import SHAPSparseAutoencoder
    from ..network._network import TrainingConfig

    defaults = {f.name: f.default for f in fields(TrainingConfig)}
    # files written before the solver existed trained with Adam ("solver" optional)
    if not isinstance(config, dict) or not set(defaults) - {"solver"} <= set(config) <= set(
        defaults
    ):
        _refuse("_training_config_ does not hold the training settings.")
    constraints = SHAPSparseAutoencoder._parameter_constraints
    for key, value in config.items():
        default = defaults[key]
        kind = (int, float) if isinstance(default, float) else type(default)
        ok = isinstance(value, kind) and (isinstance(default, bool) or not isinstance(value, bool))
        if key == "code_top_k":
            ok = value is None or (_is_int_list([value]) and 1 <= value <= code)
        elif key == "dropout":
            ok = ok and 0 <= value < 1
        elif key == "seed":
            ok = ok and 0 <= value < 2**32
        elif key in _RESOLVED:
            ok = ok and value in _RESOLVED[key]
        elif ok and key in constraints:
            try:
                validate_parameter_constraints({key: constraints[key]}, {key: value}, "load")
            except (ValueError, TypeError):
                ok = False
        if isinstance(value, float) and not abs(value) <= float(np.finfo(np.float32).max):
            ok = False  # 1e300 is inf in float32
        if not ok:
            _refuse(
                f"_training_config_[{key!r}] = {value!r} is not a valid training setting "
                f"(the {key} parameter's range; numbers within float32's)."
            )


# -- The preprocessing a model file may hold.
#
# Model files: a ``ColumnTransformer`` of imputation and one-hot encoding (what the CLI
# puts before the scaler so that a saved model takes a raw table with missing values and
# text columns).
#
# Only one shape is written or read, and no class is named by the file:
#
# * branches of ``SimpleImputer(strategy="median" | "mean")`` on numeric columns, stored as
#   one finite float per column;
# * branches of ``Pipeline(SimpleImputer(strategy="most_frequent"),
#   OneHotEncoder(handle_unknown="ignore", sparse_output=False))`` on text columns, stored
#   as the filled value and the categories of each column: JSON strings (at most
#   :data:`MAX_CATEGORY_CHARS` characters), finite numbers or booleans, one kind per column;
#   optionally with skshapsae's parameterless :class:`MissingAsNaN` (defined below)
#   first (``None`` and ``pandas.NA`` filled as missing; what the CLI saves), stored as a
#   flag;
# * ``remainder="drop"``; columns selected by name, each branch's in the table's order.
#
# Loading rebuilds the transformer by fitting it on two synthetic rows made of the stored
# values (so every private attribute is scikit-learn's own), with the encoder given the
# stored categories; it then checks that the fitted statistics and categories are exactly
# the stored ones and that the output width is the autoencoder's; the file format then
# checks that its output columns are, by name and in order, those the next step was
# fitted on (an edited category or column is refused at load, not at ``transform``).
# The synthetic table has two rows of one cell per input column, and the number of
# columns and categories is bounded by the autoencoder's width, so a file cannot make
# the load allocate more than its header already holds.

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


def _text(value):
    """A cell as the text pandas would have read: integral floats of an integer column
    read as numbers come back as "2", not "2.0"."""
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


class MissingAsNaN(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replace ``None``, ``pandas.NA`` and ``NaT`` by ``np.nan`` and every other cell by
    its text (an object column of ``str`` and NaN).

    A stateless step with no parameters, in front of a text column's imputer and one-hot
    encoder: it learns only the number and names of its input columns. Its output has
    the input's columns. Reading every value as text matters for a saved model: a new
    file whose column holds only numbers ("1", "2") is read by pandas as numbers, which
    would match none of the categories read as text at fit time.

    Examples
    --------
    >>> import numpy as np
    >>> from skshapsae.io._persistence import MissingAsNaN
    >>> X = np.array([["a"], [None], [2]], dtype=object)
    >>> MissingAsNaN().fit_transform(X).ravel().tolist()
    ['a', nan, '2']
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
        flat = values.ravel()
        out = np.array([np.nan if _is_missing(v) else _text(v) for v in flat], dtype=object)
        return out.reshape(values.shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


# -- Model files on disk: atomic writes, and the refusal of a file on load (last below).
#
# Atomic file writes: a complete new file, or the old one untouched.
#
# :func:`atomic_path` gives a temporary path in the destination's folder (a short name,
# so that any legal destination name works), and renames it over the destination when
# the block succeeds (``os.replace``: atomic on one file system). On any failure, a full
# disk included, the temporary file is removed and the previous file is left as it was.
# Anything but a regular file at the destination (``/dev/null``, a device, a FIFO) is
# refused, never replaced. The new file gets the permissions a plain ``open`` would give
# it (``0o666`` less the umask), or keeps those of the file it replaces.


def _mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask():
    """The process's umask, read without changing it where Linux says it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)  # elsewhere: read by setting (briefly) and restoring
    os.umask(umask)
    return umask


def _check_replaceable(path):
    """Refuse to replace anything but a regular file (a link to one included): renaming
    over ``/dev/null``, a device, a FIFO or a socket would replace the node itself."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ValueError(f"Cannot write to {str(path)!r}: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(mode):
        raise ValueError(
            f"Cannot write to {str(path)!r}: it is not a regular file (a device, FIFO or "
            "socket), which saving would replace. Give the path of a new or regular file."
        )


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; move it over ``path`` when the block succeeds."""
    path = Path(os.fspath(path))
    if not path.name or path.is_dir():
        raise IsADirectoryError(f"Cannot write to {str(path)!r}: give a file name, not a folder.")
    _check_replaceable(path)
    folder = path.parent
    if not folder.is_dir():  # else mkstemp's error would name its temporary file
        raise FileNotFoundError(
            f"Cannot write to {str(path)!r}: the folder {str(folder)!r} does not exist."
        )
    handle, temporary = tempfile.mkstemp(prefix=".sks", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, _mode(path))
        _check_replaceable(path)  # again: it may have appeared meanwhile
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- A model file refused on load: the exception the readers raise (``load`` turns it into
# one ``ValueError``) and the small readers that refuse, shared by the estimator's reader
# and the preprocessing's (below).


class Refused(Exception):
    pass


def refuse(why):
    raise Refused(why)


def take(arrays, key, used):
    """``arrays[key]``, marked as used; a missing array refuses the file."""
    if key not in arrays:
        refuse(f"array {key!r} is missing.")
    used.add(key)
    return arrays[key]


def set_output(estimator, output, where):
    """Apply a stored ``set_output`` container, refusing unknown ones."""
    if output not in (None, "pandas", "polars"):
        refuse(f"{where} has an unknown output container {output!r}.")
    if output is not None:  # set_output(transform=...) as saved
        try:
            estimator.set_output(transform=output)
        except Exception as exc:  # the container's library is not installed here
            refuse(f"{where} outputs {output}, which cannot be used here ({exc}).")


# the readers' short names inside this module
_Refused, _refuse, _set_output, _take = Refused, refuse, set_output, take
