"""dlkern.distributed: 2 ranks under mpiexec train to the same parameters as one
process on the whole batches; a dying or failing rank stops the job; a restart from
the checkpoint ends where an uninterrupted run ends."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("mpi_train.py")


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="mpi4py and mpiexec not installed "
                               "(pip install 'dlkern[mpi]')")
pytest.importorskip("sklearn", reason="the digits data needs scikit-learn")


def run(out, *args, ranks=None, timeout=120):
    """Run tests/mpi_train.py (under mpiexec -n ranks when given), one OpenMP thread
    per rank.  Returns the CompletedProcess."""
    cmd = [sys.executable, str(SCRIPT), str(out), *args]
    if ranks is not None:
        cmd = [MPIEXEC, "-n", str(ranks)] + cmd + ["--distributed"]
    env = dict(os.environ, OMP_NUM_THREADS="1", DLKERN_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def params(path):
    with np.load(path) as d:
        return {k: d[k] for k in d.files if k.startswith("p.")}


def assert_same(a, b, rtol):
    assert a.keys() == b.keys()
    for k in a:
        err = np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(b[k])), 1e-300)
        assert err <= rtol, f"{k}: relative error {err:.2e}"


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "single.npz"
    r = run(out)
    assert r.returncode == 0, r.stderr
    return out


@needs_mpi
@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_two_ranks_match_one_process(single, tmp_path, backend):
    out = tmp_path / "two.npz"
    r = run(out, "--backend", backend, ranks=2)
    assert r.returncode == 0, r.stderr
    ref = params(single)
    assert_same(params(out), ref, 1e-10)
    assert_same(params(f"{out}.rank1.npz"), params(out), 0.0)   # ranks hold the same model
    with np.load(out) as d, np.load(single) as s:
        np.testing.assert_allclose(d["loss"], s["loss"], rtol=1e-10)
        np.testing.assert_allclose(d["val_loss"], s["val_loss"], rtol=1e-10)


@needs_mpi
def test_one_rank_is_the_single_process(single, tmp_path):
    out = tmp_path / "one.npz"
    r = run(out, ranks=1)
    assert r.returncode == 0, r.stderr
    assert_same(params(out), params(single), 0.0)


@needs_mpi
def test_a_dead_rank_stops_the_job_and_the_checkpoint_resumes(single, tmp_path):
    ck, out = tmp_path / "ck.npz", tmp_path / "resumed.npz"
    # 6 steps per epoch: rank 1 dies during the second epoch, after one checkpoint
    r = run(out, "--checkpoint", str(ck), "--die-at", "9", ranks=2, timeout=60)
    assert r.returncode != 0
    assert not out.exists()
    with np.load(ck) as d:
        assert '"epoch": 1' in str(d["meta"])
    r = run(out, "--checkpoint", str(ck), "--resume", ranks=2)
    assert r.returncode == 0, r.stderr
    assert_same(params(out), params(single), 1e-10)
    with np.load(out) as d, np.load(single) as s:
        np.testing.assert_allclose(d["loss"], s["loss"], rtol=1e-10)


@needs_mpi
def test_an_exception_on_one_rank_aborts_every_rank(tmp_path):
    r = run(tmp_path / "x.npz", "--raise-at", "3", ranks=2, timeout=60)
    assert r.returncode != 0
    assert "rank 1 of 2 failed: RuntimeError: injected failure" in r.stderr


def test_resume_in_one_process_gives_the_uninterrupted_result(single, tmp_path):
    ck, out = tmp_path / "ck.npz", tmp_path / "resumed.npz"
    r = run(out, "--checkpoint", str(ck), "--raise-at", "14")   # during the third epoch
    assert r.returncode != 0 and "injected failure" in r.stderr
    r = run(out, "--checkpoint", str(ck), "--resume")
    assert r.returncode == 0, r.stderr
    assert_same(params(out), params(single), 0.0)


@needs_mpi
def test_train_command_under_mpiexec(tmp_path):
    dlkern_cmd = Path(sys.executable).parent / "dlkern"
    if not dlkern_cmd.exists():
        pytest.skip("the dlkern console script is not installed next to this Python")
    r = subprocess.run([MPIEXEC, "-n", "2", str(dlkern_cmd), "train", "xor", "--epochs", "3",
                        "--lr", "0.05", "--batch-size", "4", "--no-progress",
                        "--distributed"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OMP_NUM_THREADS="1"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("epoch   3") == 1       # printed by rank 0 only
