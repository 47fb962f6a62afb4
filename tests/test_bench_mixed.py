"""bench/mixed_pools.py runs and times every kernel it names in both orders."""
import math

from conftest import bench_module

mixed = bench_module("mixed_pools")


def test_mixed_pools_measures_every_kernel():
    rows, threads = mixed.measure(rounds=1)
    assert threads >= 1
    assert [r[0] for r in rows] == list(mixed.kernels(__import__("numpy").random.default_rng(0)))
    for row in rows:
        assert all(math.isfinite(v) and v > 0 for v in row[1:]), row
