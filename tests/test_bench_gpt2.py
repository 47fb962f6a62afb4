"""bench/gpt2.py: its three GPT-2 forward passes compute the same logits, and its
measurement runs every workload it names (on the tiny configuration)."""
import math

import numpy as np
import pytest

from conftest import bench_module, needs_torch

gpt2 = bench_module("gpt2")
CFG = gpt2.CONFIGS["tiny"]


def logits(name, T=37, seed=1):
    P = gpt2.make_params(CFG, seed=seed)
    fns = gpt2.contenders(CFG, P, with_torch=name == "torch")
    ids = np.random.default_rng(seed).integers(0, CFG["vocab"], T)
    return fns[name](ids), gpt2.np_forward(ids, P, CFG["n_head"])


@pytest.mark.parametrize("T", [1, 5, 37])
def test_dlkern_forward_matches_numpy(T):
    got, want = logits("dlkern", T)
    assert got.shape == (T, CFG["vocab"]) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@needs_torch
def test_torch_twin_matches_numpy():
    got, want = logits("torch")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_causal_attention_ignores_later_tokens():
    """Logits at position t depend on tokens ≤ t only, in the dlkern forward too."""
    P = gpt2.make_params(CFG)
    ids = np.arange(20) % CFG["vocab"]
    other = ids.copy()
    other[12:] = (other[12:] + 5) % CFG["vocab"]
    a = gpt2.dl_forward(ids, P, CFG["n_head"])
    b = gpt2.dl_forward(other, P, CFG["n_head"])
    np.testing.assert_array_equal(a[:12], b[:12])
    assert not np.allclose(a[12:], b[12:])


def test_generate_appends_the_argmax_of_each_forward():
    calls = []

    def forward(ids):
        calls.append(len(ids))
        out = np.zeros((len(ids), 10), np.float32)
        out[-1, len(ids) % 10] = 1
        return out
    assert gpt2.generate(forward, [3, 4], 3) == [2, 3, 4]
    assert calls == [2, 3, 4]


def test_measure_times_every_workload():
    rows = list(gpt2.measure(CFG, [4, 9], 2, rounds=1, with_torch=False))
    assert [r[0] for r in rows] == ["forward T=4", "forward T=9", "generate 2 tokens from T=4"]
    for _, times in rows:
        assert set(times) == {"dlkern", "numpy"}
        assert all(math.isfinite(t) and t > 0 for t in times.values())
