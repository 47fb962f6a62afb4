"""adam_10m and adam_many (WORKLOADS.md): dlkern native vs the NumPy reference vs
torch.optim.Adam (fused and foreach), at 1 and 2 threads."""
import pytest

from dlkern.benchmark import adam_bytes, adam_contenders
from conftest import HAVE_TORCH

CONTENDERS = ["dlkern", "reference"] + (["torch fused", "torch foreach"] if HAVE_TORCH else [])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("workload", ["adam_10m", "adam_many"])
def test_adam(benchmark, workload, contender, threads):
    fn = adam_contenders(workload, threads, with_torch=contender.startswith("torch"))[contender]
    benchmark.group = f"{workload} threads={threads}"
    benchmark.extra_info["GB/s at median"] = None
    benchmark.pedantic(fn, rounds=5 if contender == "reference" else 15, warmup_rounds=1)
    benchmark.extra_info["GB/s at median"] = adam_bytes(workload) / benchmark.stats["median"] / 1e9
