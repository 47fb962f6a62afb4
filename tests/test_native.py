"""Every native kernel against its reference on the shared samples (dlkern.samples),
both dtypes, with the tolerances of DESIGN.md; plus the bitwise-determinism of each
kernel across thread counts."""
import numpy as np
import pytest

import dlkern
from dlkern import native, reference
from dlkern.samples import SAMPLES, TOLERANCE, compare

CASES = [(name, dtype) for name in native.implemented() for dtype in (np.float64, np.float32)]


def test_every_native_kernel_has_samples():
    assert [n for n in native.implemented() if n not in SAMPLES] == []


@pytest.mark.parametrize("name,dtype", CASES, ids=[f"{n}-{np.dtype(d).name}" for n, d in CASES])
def test_native_matches_reference(name, dtype):
    rng = np.random.default_rng(7)
    for label, run in SAMPLES[name](rng, dtype):
        abs_err, rel_err = compare(run(native), run(reference))
        assert rel_err <= TOLERANCE[np.dtype(dtype)], f"{name} [{label}]: rel err {rel_err}"


@pytest.mark.parametrize("name", native.implemented())
def test_same_bits_at_1_and_2_threads(name):
    rng = np.random.default_rng(8)
    for label, run in SAMPLES[name](rng, np.float32):
        with dlkern.threads(1):
            a = run(native)
        with dlkern.threads(2):
            b = run(native)
        assert compare(a, b)[0] == 0, f"{name} [{label}] differs between 1 and 2 threads"


@pytest.mark.parametrize("name", native.implemented())
def test_inputs_are_not_modified(name):
    rng = np.random.default_rng(9)
    for label, run in SAMPLES[name](rng, np.float64):
        cell = run.__defaults__ or ()
        arrays = [a for a in cell if isinstance(a, np.ndarray)]
        before = [a.copy() for a in arrays]
        run(native)
        for a, b in zip(arrays, before):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} [{label}] changed an input")


@pytest.fixture
def tiny_workspace():
    before = dlkern.get_workspace_limit()
    dlkern.set_workspace_limit(0.001)     # 1 KB: every block is one output row
    yield
    dlkern.set_workspace_limit(before / 2 ** 20)


@pytest.mark.parametrize("name", ["conv2d", "conv2d_backward"])
def test_conv_in_one_row_blocks_matches_reference(name, tiny_workspace):
    rng = np.random.default_rng(10)
    for label, run in SAMPLES[name](rng, np.float64):
        for nt in (1, 2):
            with dlkern.threads(nt):
                _, rel = compare(run(native), run(reference))
            assert rel <= 1e-10, f"{name} [{label}] with 1-row blocks, {nt} threads: {rel}"


def test_workspace_limit_validation():
    with pytest.raises(ValueError, match="set_workspace_limit: megabytes must be a number > 0"):
        dlkern.set_workspace_limit(0)
