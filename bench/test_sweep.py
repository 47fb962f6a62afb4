"""Every public function over its spec's benchmark shapes (dlkern/specs), one
contender per test, for pytest-benchmark:

    pytest bench/test_sweep.py --benchmark-only --benchmark-group-by=group

For ratios measured interleaved in one run: python bench/sweep.py."""
import numpy as np
import pytest

from dlkern.benchmark import sweep_contenders, sweep_threads
from dlkern.specs import SPECS
from conftest import HAVE_TORCH

POINTS = [(name, label) for name, spec in sorted(SPECS.items())
          for label, _, _ in spec.bench(np.random.default_rng(0), np.float32)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("contender", ["dlkern", "reference", "numpy", "torch"])
@pytest.mark.parametrize("name,label", POINTS, ids=[f"{n}-{l}" for n, l in POINTS])
def test_sweep(benchmark, name, label, contender, threads):
    spec = SPECS[name]
    if contender == "numpy" and spec.numpy is None:
        pytest.skip(f"{name}: no idiomatic NumPy expression beside the reference")
    if contender == "torch" and (spec.torch is None or not HAVE_TORCH):
        pytest.skip(f"{name}: no PyTorch peer" if HAVE_TORCH else "PyTorch not installed")
    args, kwargs = next((a, k) for l, a, k in spec.bench(np.random.default_rng(0), np.float32)
                        if l == label)
    fn = sweep_contenders(spec, args, kwargs, with_torch=contender == "torch")[contender]
    benchmark.group = f"{name} {label} threads={threads}"
    with sweep_threads(threads):
        benchmark.pedantic(fn, rounds=3 if contender == "reference" else 10, warmup_rounds=1)
