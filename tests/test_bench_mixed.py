"""bench/mixed_pools.py runs and times every kernel it names in both orders."""
import math

import numpy as np

from conftest import bench_module

mixed = bench_module("mixed_pools")


def test_mixed_pools_measures_every_kernel():
    threads_before = mixed.numpy_blas().num_threads
    rows, threads = mixed.measure(rounds=1)
    assert mixed.numpy_blas().num_threads == threads_before   # NumPy's setting restored
    assert threads >= 1
    assert [r[0] for r in rows] == list(mixed.kernels(np.random.default_rng(0)))
    for row in rows:
        assert all(math.isfinite(v) and v > 0 for v in row[1:]), row
