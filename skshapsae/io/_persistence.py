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
"""

import hashlib
import json
import math
import os
import stat
import zipfile
from dataclasses import fields

import numpy as np
import scipy.sparse as sp

from .._version import __version__
from ..conductor._fitted import BY_NAME, FIELDS, check_value, freeze, names
from ._files import Refused as _Refused
from ._files import atomic_path
from ._files import refuse as _refuse
from ._files import set_output as _set_output
from ._files import take as _take

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
        return {"estimator": value.name, "params": value.get_params()}
    try:
        json.dumps(value)
        return value
    except TypeError:
        from ..conductor._checks import warn

        warn(
            f"Parameter {name}={value!r} cannot be stored in a model file (it is not JSON); "
            f"the loaded model has {name}=None. Pass an int or None to keep it.",
            UserWarning,
        )
        return None


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
            from ._persistence_columns import encode

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
            from ._persistence_columns import decode

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
        from ..conductor._checks import warn

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
    from ..conductor._checks import warn

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


_FULL = names(slim=False)


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
        if indptr.size and (
            indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0)
        ):
            _refuse(f"{name}[{i}] has an invalid row pointer.")
        if indices.size and (indices.min() < 0 or indices.max() >= shape[1]):
            _refuse(f"{name}[{i}] has column indices outside its shape {shape}.")
        out.append(sp.csr_array((data, indices, indptr), shape=tuple(shape)))
    return out


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
