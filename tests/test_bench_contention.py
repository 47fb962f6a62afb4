"""bench/contention.py times a function's points at one thread and at the default
under a busy process, and stops that process."""
import numpy as np

import dlkern
from conftest import bench_module

contention = bench_module("contention")


def test_contention_times_every_point_and_stops_the_busy_process(capsys, monkeypatch):
    started = []
    real = contention.busy_processes

    def spy(count):
        started.extend(real(count))
        return started
    monkeypatch.setattr(contention, "busy_processes", spy)
    with dlkern.threads(2):
        contention.main(["relu", "--rounds", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| relu |")]
    points = contention.SPECS["relu"].bench(np.random.default_rng(0), np.float32)
    assert len(rows) == len(list(points))
    for row in rows:
        one, default, ratio = (float(v) for v in row.strip("|").split("|")[2:5])
        assert one > 0 and default > 0                # printed to 0.1 µs, the ratio to 0.01
        assert (default - 0.05) / (one + 0.05) - 0.005 <= ratio
        assert ratio <= (default + 0.05) / max(one - 0.05, 1e-9) + 0.005
    assert "worst ratio:" in out
    assert started and all(p.poll() is not None for p in started)   # killed
