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


def test_synthetic_matches_the_paper():
    X = make_synthetic(4000, random_state=0)
    assert X.shape == (4000, 6)
    assert np.ptp(X[:, 0]) == 0
    np.testing.assert_allclose(X[:, 4], X[:, 0] + X[:, 1])
    np.testing.assert_allclose(X[:, 5], X[:, 2] + X[:, 3])
    assert ((X[:, 2] < 0.25) | (X[:, 2] > 0.75)).all()
    assert abs(np.mean(X[:, 2] < 0.25) - 0.5) < 0.01
    assert abs(np.var(X[:, 3]) - (0.1 + 0.0625)) < 0.01  # within-class 0.1 + between 1/16
