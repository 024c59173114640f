"""Data sets of the paper: the synthetic 6-feature data and MNIST / Fashion-MNIST loaders.

The image loaders read, from a local folder, either an ``.npz`` holding ``X`` and ``y``
or the standard IDX files (``train-images-idx3-ubyte[.gz]`` and friends), and can
download the official IDX files when asked to and online.
"""

import gzip
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_synthetic", "load_mnist", "load_fashion_mnist", "get_data_home"]

_SOURCES = {
    "mnist": {
        "npz": ["mnist.npz", "mnist_10k.npz", "mnist_70k.npz"],
        "urls": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
    },
    "fashion_mnist": {
        "npz": ["fashion_mnist.npz", "fashion_mnist_70k.npz"],
        "urls": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    },
}
_IDX_FILES = [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
]


def make_synthetic(n_samples=15000, *, constant=1.0, random_state=None):
    """The paper's synthetic data (section 3.1): six features, two of them sums.

    - ``x1`` constant (``constant``);
    - ``x2 ~ U(0, 1)``;
    - ``x3``: half from ``U(0, 1/4)``, half from ``U(3/4, 1)``;
    - ``x4``: half from ``N(1/4, 0.1)``, half from ``N(3/4, 0.1)`` (0.1 is the variance);
    - ``x5 = x1 + x2`` and ``x6 = x3 + x4``.

    Parameters
    ----------
    n_samples : int, default=15000
        Number of rows (the paper uses 15,000).
    constant : float, default=1.0
        Value of ``x1`` (the paper does not give it).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 6)
        The data, columns ``x1 .. x6``.

    Examples
    --------
    >>> from skshapsae.datasets import make_synthetic
    >>> X = make_synthetic(100, random_state=0)
    >>> X.shape
    (100, 6)
    >>> bool((X[:, 4] == X[:, 0] + X[:, 1]).all())
    True
    """
    rng = check_random_state(random_state)
    n_low = n_samples // 2
    low = np.arange(n_samples) < n_low
    x1 = np.full(n_samples, float(constant))
    x2 = rng.uniform(0.0, 1.0, n_samples)
    x3 = np.where(low, rng.uniform(0.0, 0.25, n_samples), rng.uniform(0.75, 1.0, n_samples))
    x4 = np.where(low, 0.25, 0.75) + rng.normal(0.0, np.sqrt(0.1), n_samples)
    x3, x4 = x3[rng.permutation(n_samples)], x4[rng.permutation(n_samples)]
    return np.column_stack([x1, x2, x3, x4, x1 + x2, x3 + x4])


def get_data_home(data_home=None):
    """The folder the loaders read: ``data_home``, else ``$SKSHAPSAE_DATA``, else
    ``~/skshapsae_data``."""
    if data_home is None:
        data_home = os.environ.get("SKSHAPSAE_DATA", Path.home() / "skshapsae_data")
    return Path(data_home).expanduser()


def read_idx(path):
    """Read one IDX file (optionally gzip-compressed) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number).")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated: its header declares {ndim} dimensions.")
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        what = "truncated" if data.size < int(np.prod(shape)) else "longer than its header says"
        raise ValueError(
            f"{path} is {what}: its header declares shape {shape} ({np.prod(shape)} "
            f"values), the file holds {data.size}."
        )
    return data.reshape(shape)


def _find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        if (folder / name).exists():
            return folder / name
    return None


def _download(name, folder):
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for stem in [s for pair in _IDX_FILES for s in pair]:
        if _find_idx(folder, stem):
            continue
        for base in _SOURCES[name]["urls"]:
            try:
                with urllib.request.urlopen(base + stem + ".gz", timeout=60) as r:
                    with open(folder / (stem + ".gz"), "wb") as f:
                        shutil.copyfileobj(r, f)
                break
            except OSError as exc:
                errors.append(f"{base}{stem}.gz: {exc}")
        else:
            raise OSError(f"Could not download {stem}.gz for {name}: " + "; ".join(errors))


def _read_npz(path, name):
    """``X`` and ``y`` of an ``.npz`` (never pickled objects); a clear error otherwise."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"X", "y"} - set(data.files)
            if missing:
                raise ValueError(f"it lacks the array(s) {sorted(missing)}")
            return data["X"], data["y"]
    except Exception as exc:  # a damaged zip, pickled objects, I/O errors
        raise ValueError(
            f"{path} is not a readable {name} .npz (arrays X of images and y of labels): {exc}."
        ) from None


def _read_idx_pair(images_path, labels_path):
    """A pair of IDX files: 28 x 28 images and as many labels."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path} holds images of shape {images.shape[1:]}, not 28 x 28.")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{labels_path} holds {labels.size} labels for the {len(images)} images of "
            f"{images_path}."
        )
    return images.reshape(len(images), 28 * 28), labels


def _checked(X, y, name):
    """``(X, y)`` as rows of 784 pixels and integer labels, or a ValueError saying what is
    wrong (a loader that returned them would hand corrupt data on silently)."""
    X, y = np.asarray(X), np.asarray(y)
    if X.dtype.kind not in "biuf" or y.dtype.kind not in "biuf" or y.ndim != 1:
        raise ValueError(
            f"{name}: X must hold numbers and y be a 1-d array of labels; got X of dtype "
            f"{X.dtype}, y of dtype {y.dtype} and shape {y.shape}."
        )
    if len(X) != len(y) or X[:1].size not in (0, 784):
        raise ValueError(
            f"{name}: X must hold one 28 x 28 image (784 pixels) per label; got X of shape "
            f"{X.shape} and {len(y)} labels."
        )
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        raise ValueError(f"{name}: the labels must be whole numbers; y has NaN or fractions.")
    if X.dtype.kind in "iu" and X.size and (X.min() < 0 or X.max() > 255):
        raise ValueError(f"{name}: integer pixels must lie in 0..255.")
    return X.reshape(len(X), 784), y


def _load(name, data_home, download, return_X_y, as_float):
    home = get_data_home(data_home)
    folder_candidates = [home, home / name]
    X = y = None
    for folder in folder_candidates:
        for fname in _SOURCES[name]["npz"]:
            if (folder / fname).exists():
                X, y = _read_npz(folder / fname, name)
                break
        if X is not None:
            break
    if X is None:
        folder = home / name
        if download and not all(_find_idx(folder, s) for pair in _IDX_FILES for s in pair):
            _download(name, folder)
        for folder in folder_candidates:
            parts = [(_find_idx(folder, i), _find_idx(folder, lab)) for i, lab in _IDX_FILES]
            if any(i and lab for i, lab in parts):
                pairs = [_read_idx_pair(i, lab) for i, lab in parts if i and lab]
                X = np.concatenate([images for images, _ in pairs])
                y = np.concatenate([labels for _, labels in pairs])
                break
    if X is None:
        looked = ", ".join(str(f) for f in folder_candidates)
        wanted = " or ".join(_SOURCES[name]["npz"])
        raise FileNotFoundError(
            f"{name} not found. Looked in {looked} for {wanted} (arrays X and y) or the IDX "
            f"files {_IDX_FILES[0][0]}[.gz] and {_IDX_FILES[0][1]}[.gz]. Put them there, set "
            "data_home= or $SKSHAPSAE_DATA, or pass download=True when online."
        )
    X, y = _checked(X, y, name)
    if as_float:
        X = X.astype(np.float64) / 255.0 if X.dtype.kind in "iu" else X.astype(np.float64)
    y = y.astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, images_shape=(28, 28), DESCR=f"{name} ({len(X)} images)")


def load_mnist(*, data_home=None, download=False, return_X_y=False, as_float=True):
    """Load MNIST from a local folder (``.npz`` or IDX files), or download it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to look in (also its ``mnist/`` subfolder); default ``$SKSHAPSAE_DATA``
        or ``~/skshapsae_data``.
    download : bool, default=False
        Download the official IDX files into ``data_home/mnist`` when missing.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    as_float : bool, default=True
        Scale integer pixels (0-255) to float64 in [0, 1], as the paper does; float
        pixels are kept as they are.

    Returns
    -------
    data : Bunch with ``data`` (n, 784), ``target`` (n,), or ``(X, y)``.
    """
    return _load("mnist", data_home, download, return_X_y, as_float)


def load_fashion_mnist(*, data_home=None, download=False, return_X_y=False, as_float=True):
    """Load Fashion-MNIST from a local folder (``.npz`` or IDX files), or download it.

    Parameters are those of :func:`load_mnist` (subfolder ``fashion_mnist/``).

    Returns
    -------
    data : Bunch with ``data`` (n, 784), ``target`` (n,), or ``(X, y)``.
    """
    return _load("fashion_mnist", data_home, download, return_X_y, as_float)
