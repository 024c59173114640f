"""Dataset loaders on generated fixture files (the real files are never needed)."""

import gzip

import numpy as np
import pytest

from skshapsae.datasets import load_fashion_mnist, load_mnist, make_synthetic, read_idx


def _write_idx(path, array, compress):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(7, 28, 28)), rng.integers(0, 10, size=7)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_files(tmp_path, images, compress):
    X, y = images
    folder = tmp_path / "mnist"
    folder.mkdir()
    _write_idx(folder / "train-images-idx3-ubyte", X[:5], compress)
    _write_idx(folder / "train-labels-idx1-ubyte", y[:5], compress)
    _write_idx(folder / "t10k-images-idx3-ubyte", X[5:], compress)
    _write_idx(folder / "t10k-labels-idx1-ubyte", y[5:], compress)
    data = load_mnist(data_home=tmp_path)
    assert data.data.shape == (7, 784) and data.target.tolist() == y.tolist()
    np.testing.assert_allclose(data.data, X.reshape(7, -1) / 255.0)
    Xi, _ = load_mnist(data_home=tmp_path, return_X_y=True, as_float=False)
    assert Xi.dtype == np.uint8


def test_npz_and_environment_variable(tmp_path, images, monkeypatch):
    X, y = images
    np.savez(tmp_path / "fashion_mnist_70k.npz", X=X.reshape(7, -1).astype(np.uint8), y=y)
    monkeypatch.setenv("SKSHAPSAE_DATA", str(tmp_path))
    Xf, yf = load_fashion_mnist(return_X_y=True)
    assert Xf.shape == (7, 784) and Xf.max() <= 1.0


def test_missing_files_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"mnist not found.*train-images-idx3-ubyte"):
        load_mnist(data_home=tmp_path)


def test_corrupt_idx_refused(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "bad")


def _npz(tmp_path, **arrays):
    np.savez(tmp_path / "mnist.npz", **arrays)
    return tmp_path


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(X=np.zeros((10, 784)), y=np.zeros(7)), "one 28 x 28 image .* per label"),
        (dict(X=np.zeros((4, 100)), y=np.zeros(4)), "784 pixels"),
        (dict(X=np.zeros((2, 784)), y=np.array([1.0, np.nan])), "whole numbers"),
        (dict(X=np.zeros((2, 784)), y=np.array([1.0, 1.7])), "whole numbers"),
        (dict(X=np.full((2, 784), 300), y=np.zeros(2)), "0..255"),
        (dict(X=np.zeros((2, 784))), "lacks the array.*'y'"),
        (dict(X=np.array([{}], dtype=object), y=np.zeros(1)), "not a readable mnist .npz"),
    ],
)
def test_corrupt_data_is_a_clear_error_not_data(tmp_path, arrays, message):
    """Mismatched lengths, wrong image sizes, NaN or fractional labels and pickled
    objects were returned as data (or failed with numpy's own errors)."""
    with pytest.raises(ValueError, match=message):
        load_mnist(data_home=_npz(tmp_path, **arrays))


def test_damaged_files_are_named(tmp_path, images):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ValueError, match="mnist.npz is not a readable mnist .npz"):
        load_mnist(data_home=tmp_path)
    X, y = images
    folder = tmp_path / "idx"
    folder.mkdir()
    _write_idx(folder / "train-images-idx3-ubyte", X[:4].reshape(4, 14, 56), False)
    _write_idx(folder / "train-labels-idx1-ubyte", y[:4], False)
    with pytest.raises(ValueError, match="not 28 x 28"):
        load_mnist(data_home=folder)
    _write_idx(folder / "train-images-idx3-ubyte", X[:4], False)
    _write_idx(folder / "train-labels-idx1-ubyte", y[:3], False)
    with pytest.raises(ValueError, match="3 labels for the 4 images"):
        load_mnist(data_home=folder)
    (folder / "extra").write_bytes((folder / "train-labels-idx1-ubyte").read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx(folder / "extra")


def test_integer_pixels_of_any_width_are_scaled(tmp_path, images):
    X, y = images
    Xf, _ = load_mnist(
        data_home=_npz(tmp_path, X=X.reshape(7, -1).astype(np.int64), y=y), return_X_y=True
    )
    np.testing.assert_allclose(Xf, X.reshape(7, -1) / 255.0)


def test_synthetic_matches_the_paper():
    X = make_synthetic(4000, random_state=0)
    assert X.shape == (4000, 6)
    assert np.ptp(X[:, 0]) == 0
    np.testing.assert_allclose(X[:, 4], X[:, 0] + X[:, 1])
    np.testing.assert_allclose(X[:, 5], X[:, 2] + X[:, 3])
    assert ((X[:, 2] < 0.25) | (X[:, 2] > 0.75)).all()
    assert abs(np.mean(X[:, 2] < 0.25) - 0.5) < 0.01
    assert abs(np.var(X[:, 3]) - (0.1 + 0.0625)) < 0.01  # within-class 0.1 + between 1/16
