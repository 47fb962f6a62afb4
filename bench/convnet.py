"""One training step of the CS231n three-layer conv net (ThreeLayerConvNet.loss of the
assignment: conv 7x7 with 32 filters, pad 3 - ReLU - 2x2 max-pool - affine 100 - ReLU -
affine 10 - softmax loss, then every gradient), written on the assignments' API
(dlkern.compat.cs231n), on dlkern's native backend against its NumPy backend, interleaved:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/convnet.py [--dtype float64]

N 50 images of 3x32x32 (CIFAR-10's shape) by default.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from dlkern.benchmark import backend_contenders, step_main  # noqa: E402
from dlkern.compat import cs231n as C  # noqa: E402


def params(rng, C_in=3, HW=32, F=32, K=7, hidden=100, classes=10, dtype=np.float32):
    s = 1e-3
    return {
        "W1": (s * rng.standard_normal((F, C_in, K, K))).astype(dtype),
        "b1": np.zeros(F, dtype),
        "W2": (s * rng.standard_normal((F * (HW // 2) ** 2, hidden))).astype(dtype),
        "b2": np.zeros(hidden, dtype),
        "W3": (s * rng.standard_normal((hidden, classes))).astype(dtype),
        "b3": np.zeros(classes, dtype),
    }


def loss(p, X, y):
    """ThreeLayerConvNet.loss: (loss, grads)."""
    K = p["W1"].shape[2]
    conv_param = {"stride": 1, "pad": (K - 1) // 2}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    a1, c1 = C.conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
    a2, c2 = C.affine_relu_forward(a1, p["W2"], p["b2"])
    scores, c3 = C.affine_forward(a2, p["W3"], p["b3"])
    out, dscores = C.softmax_loss(scores, y)
    g = {}
    da2, g["W3"], g["b3"] = C.affine_backward(dscores, c3)
    da1, g["W2"], g["b2"] = C.affine_relu_backward(da2, c2)
    _, g["W1"], g["b1"] = C.conv_relu_pool_backward(da1, c1)
    return out, g


def contenders(N=50, dtype=np.float32, threads=2):
    rng = np.random.default_rng(0)
    p = params(rng, dtype=dtype)
    X = rng.standard_normal((N, 3, 32, 32)).astype(dtype)
    y = rng.integers(0, 10, N)
    return backend_contenders(lambda: loss(p, X, y), threads)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--N", type=int, default=50)
    step_main(ap, lambda a: f"three-layer conv net step (N {a.N}, 3x32x32, {a.dtype})",
              lambda a: contenders(a.N, np.dtype(a.dtype).type, a.threads))


if __name__ == "__main__":
    main()
