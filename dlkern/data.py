"""Datasets for the seed's models — all real or exactly defined, none downloaded:

- `xor()`: the four points of XOR (seed section 1's 2–2–1 network).
- `digits()`: the 8×8 handwritten digits that scikit-learn ships (1,797 images).
- `seattle_temperatures()`: Seattle's 2010 hourly temperatures, shipped offline by
  vega-datasets, as (input window, next hour) pairs.
- `reverse_digits()`: a sequence task that needs long-range attention: output the
  digit sequence reversed (the token at position t depends on position T − 1 − t).
- `read_idx(path)`: the IDX files of MNIST, for users who have them.
"""
import gzip
import struct

import numpy as np

from .init import generator


def xor(dtype=np.float32):
    """X (4, 2), y (4, 1): y = x₁ XOR x₂."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    return X, np.array([[0], [1], [1], [0]], dtype=dtype)


def _need(module, extra="demo"):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"dlkern.data needs {module}: pip install 'dlkern[{extra}]'") from None


def digits(dtype=np.float32, test_fraction=0.2, seed=0):
    """scikit-learn's 8×8 digits as NCHW images scaled to [0, 1]:
    (X_train (N, 1, 8, 8), y_train (N,), X_test, y_test), a stratified-free random split."""
    _need("sklearn")
    from sklearn.datasets import load_digits
    d = load_digits()
    X = (d.images / 16.0).astype(dtype)[:, None]
    y = d.target.astype(np.int64)
    order = generator(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def seattle_temperatures(window=24, dtype=np.float32, test_fraction=0.2):
    """Next-hour prediction on Seattle's 2010 hourly temperatures (°F, vega-datasets).
    Inputs are `window` consecutive hours (N, window, 1), standardised with the training
    part's mean and std; targets the following hour (N, 1), likewise standardised.  The
    split is in time: the last `test_fraction` of the year is the test set.
    Returns (X_train, y_train, X_test, y_test, (mean, std))."""
    _need("vega_datasets")
    from vega_datasets import local_data
    temps = local_data.seattle_temps()["temp"].to_numpy(dtype=np.float64)
    cut = int(len(temps) * (1 - test_fraction))
    mean, std = temps[:cut].mean(), temps[:cut].std()
    z = (temps - mean) / std
    idx = np.arange(len(z) - window)
    X = np.stack([z[i:i + window] for i in idx])[..., None].astype(dtype)
    y = z[idx + window][:, None].astype(dtype)
    train = idx + window < cut
    return X[train], y[train], X[~train], y[~train], (mean, std)


def reverse_digits(n, length=12, vocab=10, seed=0):
    """n sequences of `length` random digits (int64) and their reversals."""
    x = generator(seed).integers(0, vocab, size=(n, length))
    return x, x[:, ::-1].copy()


def read_idx(path):
    """An IDX file (MNIST's format; .gz accepted) as a NumPy array of its shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number)")
    types = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    if code not in types:
        raise ValueError(f"read_idx: {path} has unknown element type 0x{code:02x}")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=types[code], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"read_idx: {path} holds {data.size} values, its header says "
                         f"{shape}")
    return data.reshape(shape).astype(data.dtype.newbyteorder("="))
