"""bench/attention_sweep.py: its grid and a small run of it to the summary."""
from conftest import bench_module, needs_torch, torch

sweep = bench_module("attention_sweep")


def test_points_leave_out_the_large_ones():
    pts = list(sweep.points([16, 64], [16, 4096], [1, 8], max_macs=2 ** 20))
    assert (16, 16, 8, True) in pts and (64, 16, 1, False) in pts
    assert all(BH * T * T * d <= 2 ** 20 for d, T, BH, _ in pts)
    assert not any(T == 4096 for _, T, _, _ in pts)


@needs_torch
def test_a_small_grid_runs_to_its_summary(capsys):
    sweep.main(["--d", "16", "--T", "16", "--heads", "2", "--rounds", "1"])
    out = capsys.readouterr().out
    assert out.count("| 16 | 16 | 2 |") == 2 and "forward + backward: worst" in out
