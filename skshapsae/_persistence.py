"""A safe file format for fitted estimators: numpy ``.npz`` with a JSON header.

Loading executes no code: arrays are read with ``allow_pickle=False`` and
everything else comes from a JSON header. A SHA-256 digest over all arrays and
the header guards against tampering and truncation; files of another format,
another major version or with unexpected content are refused with a message.
"""

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

FORMAT = "skshapsae-model"
FORMAT_VERSION = 1
_HEADER_KEY = "__header__"
_ALLOWED_KINDS = set("biuf")  # bool, int, unsigned, float: never object arrays


def _json_param(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return None  # e.g. a RandomState or a joblib.Memory: not restorable, not needed


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
            meta[name] = {"kind": "json", "value": _json_param(value)}
    return arrays, meta


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

    Parameters
    ----------
    estimator : SHAPSparseAutoencoder
        A fitted estimator.
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
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(estimator)
    arrays, meta = _encode(estimator)
    params = {k: _json_param(v) for k, v in estimator.get_params(deep=False).items()}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": type(estimator).__name__,
        "params": params,
        "attributes": meta,
    }
    header["sha256"] = _digest(arrays, header)
    arrays[_HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    Path(path).write_bytes(buffer.getvalue())


def _refuse(path, why):
    raise ValueError(f"Cannot load {str(path)!r} as a skshapsae model: {why}")


def load(path):
    """Load an estimator saved by :func:`save`; no code is executed.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save`.

    Returns
    -------
    estimator : SHAPSparseAutoencoder
        The fitted estimator.

    Raises
    ------
    ValueError
        If the file is not a skshapsae model, comes from an incompatible format
        version, or was modified after it was saved.
    """
    from ._estimator import SHAPSparseAutoencoder

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        _refuse(path, f"it is not a readable .npz file ({exc}).")
    if _HEADER_KEY not in arrays:
        _refuse(path, "it has no skshapsae header (was it written by skshapsae.save?).")
    try:
        header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        _refuse(path, "its header is not valid JSON.")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        _refuse(path, "its header does not name the skshapsae model format.")
    if header.get("format_version") != FORMAT_VERSION:
        _refuse(
            path,
            f"format version {header.get('format_version')!r} is not supported "
            f"(this skshapsae reads version {FORMAT_VERSION}).",
        )
    if header.get("class") != "SHAPSparseAutoencoder":
        _refuse(path, f"it holds an unknown class {header.get('class')!r}.")
    digest = header.pop("sha256", None)
    if digest != _digest(arrays, header):
        _refuse(path, "its content does not match its checksum; it was modified or truncated.")
    for key, a in arrays.items():
        if a.dtype.kind not in _ALLOWED_KINDS:
            _refuse(path, f"array {key!r} has unsupported dtype {a.dtype}.")
    known = set(SHAPSparseAutoencoder().get_params())
    params = header["params"]
    if set(params) - known:
        _refuse(path, f"unknown parameters {sorted(set(params) - known)}.")
    estimator = SHAPSparseAutoencoder(**params)
    state = {}
    for name, info in header["attributes"].items():
        kind = info["kind"]
        if kind == "array":
            state[name] = arrays[name]
        elif kind == "strings":
            state[name] = np.asarray(info["value"], dtype=object)
        elif kind == "array_list":
            state[name] = [arrays[f"{name}/{i}"] for i in range(info["length"])]
        elif kind == "csr_list":
            state[name] = [
                sp.csr_array(
                    (
                        arrays[f"{name}/{i}/data"],
                        arrays[f"{name}/{i}/indices"],
                        arrays[f"{name}/{i}/indptr"],
                    ),
                    shape=tuple(shape),
                )
                for i, shape in enumerate(info["shapes"])
            ]
        else:
            state[name] = info["value"]
    estimator.__dict__.update(state)
    return estimator
