"""The layer workloads of WORKLOADS.md (conv, pool, batch-norm, linear, RNN), forward
and forward+backward, dlkern native vs the NumPy reference vs PyTorch, 1 and 2
threads.  For ratios measured interleaved in one run: python bench/ratios.py layers."""
import pytest

from dlkern.benchmark import LAYER_WORKLOADS, layer_contenders, layer_work
from conftest import HAVE_TORCH

CONTENDERS = ["dlkern", "reference"] + (["torch"] if HAVE_TORCH else [])
CASES = [(name, mode) for name in LAYER_WORKLOADS for mode in ("fwd", "fwd+bwd")
         if not (name.startswith("bn") and mode == "fwd")]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("name,mode", CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_layer(benchmark, name, mode, contender, threads):
    fn = layer_contenders(name, mode, threads, with_torch=contender == "torch",
                          with_reference=contender == "reference")[contender]
    benchmark.group = f"{name} {mode} threads={threads}"
    benchmark.pedantic(fn, rounds=3 if contender == "reference" else 10, warmup_rounds=1)
    amount, unit = layer_work(name, mode)
    benchmark.extra_info[f"{unit}/s at median"] = amount / benchmark.stats["median"] / 1e9
