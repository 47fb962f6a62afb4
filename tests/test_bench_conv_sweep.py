"""bench/conv_sweep.py: its grid and a small run of it to the summary."""
from conftest import bench_module, needs_torch, torch

sweep = bench_module("conv_sweep")


def test_points_cover_the_grid_and_leave_out_the_large_ones():
    pts = list(sweep.points([1, 3, 5, 7], ["1", "C/4", "C"], max_macs=2 ** 31))
    assert {k for _, _, _, _, k, _, _, _ in pts} == {1, 3, 5, 7}
    assert {(s, d) for *_, s, d, _ in pts} == {(1, 1), (2, 1), (1, 2)}
    assert any(g == C > 1 for _, C, _, _, _, _, _, g in pts)             # depthwise
    assert any(1 < g < C for _, C, _, _, _, _, _, g in pts)              # grouped
    assert any(C == 3 and O == 64 for _, C, O, *_ in pts)                # stems
    small = list(sweep.points([3], ["1"], max_macs=2 ** 24))
    assert small and all(
        sweep.macs(B, C, O, (P + 2 * (d * (k - 1) // 2) - d * (k - 1) - 1) // s + 1, k, g)
        <= 2 ** 24 for B, C, O, P, k, s, d, g in small)
    assert len(small) < len(list(sweep.points([3], ["1"], max_macs=2 ** 31)))


@needs_torch
def test_a_small_grid_runs_to_its_summary(capsys):
    sweep.main(["--kernels", "3", "--groups", "C", "--max-macs", "3e6", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "| depthwise |" in out
    assert "forward + backward vs torch: worst" in out and "forward vs NumPy: worst" in out
