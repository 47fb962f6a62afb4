"""dlkern.benchmark.interleaved, the timing loop behind bench/ and the demo, on a fake
clock: which calls it makes, which it times, and what it returns."""
import types

import pytest

import dlkern.benchmark as bm


class FakeClock:
    """perf_counter advances only when a contender runs (its `cost`) or sleep is called."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run(monkeypatch, costs, **kw):
    clock = FakeClock()
    monkeypatch.setattr(bm, "time", types.SimpleNamespace(perf_counter=clock.perf_counter,
                                                          sleep=clock.sleep))
    calls = {name: 0 for name in costs}

    def contender(name):
        def call():
            calls[name] += 1
            clock.now += costs[name]
        return call

    result = bm.interleaved({name: contender(name) for name in costs}, **kw)
    return result, calls


def test_medians_per_call(monkeypatch):
    result, _ = run(monkeypatch, {"fast": 0.001, "slow": 0.008}, rounds=3, inner=4)
    assert result == pytest.approx({"fast": 0.001, "slow": 0.008})


def test_untimed_calls_fill_the_warm_time(monkeypatch):
    # per round: warm / cost untimed calls (at least one), then `inner` timed ones
    rounds, inner, warmup = 3, 2, 1
    _, calls = run(monkeypatch, {"short": 0.002, "long": 0.05}, rounds=rounds, inner=inner,
                   warmup=warmup, warm=0.02)
    assert calls["short"] == warmup + rounds * (10 + inner)
    assert calls["long"] == warmup + rounds * (1 + inner)


def test_no_warm_time_means_one_untimed_call(monkeypatch):
    _, calls = run(monkeypatch, {"a": 0.001}, rounds=4, inner=3, warmup=0, warm=0)
    assert calls["a"] == 4 * (1 + 3)
