"""The backend switch, the thread count, the fallback warning and dlkern.info()."""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest

import dlkern
from dlkern import native, ops, reference

from conftest import run_python


def test_default_backend_is_native():
    assert dlkern.get_backend() in ("native", "numpy")
    env = {k: v for k, v in os.environ.items() if k != "DLKERN_BACKEND"}
    assert run_python("import dlkern; print(dlkern.get_backend())", env).strip() == "native"


def test_env_selects_backend_and_threads():
    env = dict(os.environ, DLKERN_BACKEND="numpy", DLKERN_NUM_THREADS="1",
               OMP_NUM_THREADS="2")
    out = run_python("import dlkern; print(dlkern.get_backend(), dlkern.get_num_threads())", env)
    assert out.split() == ["numpy", "1"]
    env = {k: v for k, v in env.items() if k != "DLKERN_NUM_THREADS"}
    assert run_python("import dlkern; print(dlkern.get_num_threads())", env).strip() == "2"


def test_bad_env_backend_is_a_clear_error():
    env = dict(os.environ, DLKERN_BACKEND="cuda")
    out = subprocess.run([sys.executable, "-c", "import dlkern; dlkern.get_backend()"],
                         env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert out.returncode != 0 and "DLKERN_BACKEND must be one of" in out.stderr


def test_use_backend_switches_and_restores(monkeypatch):
    calls = []
    monkeypatch.setattr(reference, "sgd_step", lambda *a, **k: calls.append("ref"))
    # ops captured the reference at import; patch its table through a fresh dispatcher
    fn = ops._dispatching("sgd_step")
    p, g = np.zeros(3), np.ones(3)
    with dlkern.use_backend("numpy"):
        assert dlkern.get_backend() == "numpy"
        fn(p, g, lr=1.0)
    assert dlkern.get_backend() == "native"
    fn(p, g, lr=1.0)
    assert calls == ["ref"]
    np.testing.assert_array_equal(p, -np.ones(3))   # the native call ran


def test_set_backend_rejects_unknown():
    with pytest.raises(ValueError, match=r"set_backend: name must be one of"):
        dlkern.set_backend("gpu")


def test_threads_context_and_validation():
    before = dlkern.get_num_threads()
    with dlkern.threads(1):
        assert dlkern.get_num_threads() == 1
    assert dlkern.get_num_threads() == before
    with pytest.raises(ValueError, match="set_num_threads: n must be >= 1, got 0"):
        dlkern.set_num_threads(0)
    with pytest.raises(TypeError, match="set_num_threads: n must be an int"):
        dlkern.set_num_threads(1.5)


def test_blas_stays_at_one_thread_as_threadpoolctl_sees_it():
    # dlkern threads its products itself (dlk_gemm_par); its BLAS pool never runs
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from dlkern._native import gemm
    path = gemm.library_path()
    for n in (1, 2):
        with dlkern.threads(n):
            dlkern.linear(np.ones((64, 64), np.float32), np.ones((64, 64), np.float32))
            infos = [i for i in threadpoolctl.threadpool_info()
                     if os.path.realpath(i["filepath"]) == os.path.realpath(path)]
            assert infos, "threadpoolctl does not see dlkern's BLAS"
            assert infos[0]["num_threads"] == 1


def test_every_contract_name_is_reachable_on_both_backends():
    for name in reference.__all__:
        assert callable(getattr(reference, name))
        assert callable(getattr(native, name))
        assert callable(getattr(dlkern, name))
        assert getattr(dlkern, name).__doc__ == getattr(reference, name).__doc__


def test_fallback_warns_once_naming_the_function():
    f = native._fallback("sgd_step")
    p = np.zeros(2)
    native._warned.discard("sgd_step")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        f(p, np.ones(2), lr=1.0)
        f(p, np.ones(2), lr=1.0)
    msgs = [str(w.message) for w in rec]
    assert msgs == ["dlkern: sgd_step has no native kernel yet; running the NumPy reference"]
    np.testing.assert_array_equal(p, [-2.0, -2.0])


def test_info_reports_build():
    d = dlkern._info.info_dict()
    assert d["native"] == "built"
    assert d["openmp"] in (True, False)
    assert "OpenBLAS" in d["blas"]
    assert d["blas_threads"] == 1


def test_openmp_spin_is_set_for_dlkern_runtime_only_and_the_user_setting_wins():
    """dlkern sets GOMP_SPINCOUNT while its OpenMP runtime loads (dlkern/_native), then
    gives the environment back; a user's GOMP_SPINCOUNT or OMP_WAIT_POLICY is kept."""
    from dlkern._native import SPIN_COUNT
    if not dlkern._info.info_dict()["openmp"]:
        pytest.skip("a build without OpenMP")
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    code = ("import os, subprocess, sys, dlkern._native as n; print(n.OPENMP_WAIT); "
            "print('GOMP_SPINCOUNT' in os.environ); sys.stdout.flush(); "
            "subprocess.run([sys.executable, '-c', "
            "'import os; print(os.environ.get(\"GOMP_SPINCOUNT\"))'])")
    wait, in_env, child = run_python(code, env).strip().splitlines()
    assert wait.startswith(f"GOMP_SPINCOUNT={SPIN_COUNT} (set by dlkern"), wait
    assert (in_env, child) == ("False", "None")
    out = run_python(code, dict(env, GOMP_SPINCOUNT="7")).strip().splitlines()
    assert out == ["GOMP_SPINCOUNT=7 (the environment's)", "True", "7"]
    out = run_python(code, dict(env, OMP_WAIT_POLICY="passive")).strip().splitlines()
    assert out[0] == "OMP_WAIT_POLICY=passive (the environment's)" and out[1:] == ["False", "None"]


def test_gemm_wrapper_matches_numpy():
    from dlkern._native import gemm
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        a = rng.standard_normal((33, 17)).astype(dtype)
        b = rng.standard_normal((17, 9)).astype(dtype)
        np.testing.assert_allclose(gemm.matmul(a, b), a @ b, rtol=tol, atol=tol)
        a, b = a[:, :1], rng.standard_normal((1, 9)).astype(dtype)    # K = 1: the outer loop
        np.testing.assert_allclose(gemm.matmul(a, b), a @ b, rtol=tol, atol=tol)
    a = rng.standard_normal((5, 8, 7)).astype(np.float32)
    b = rng.standard_normal((5, 7, 6)).astype(np.float32)
    np.testing.assert_allclose(gemm.matmul_many(a, b, 2), a @ b, rtol=1e-5, atol=1e-5)


def test_use_backend_and_threads_apply_to_the_calling_thread_only():
    """A block in one thread leaves the others on the process default."""
    import threading
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with dlkern.use_backend("numpy"), dlkern.threads(1):
            seen["worker"] = (dlkern.get_backend(), dlkern.get_num_threads())
            inside.set()
            release.wait(10)

    default = (dlkern.get_backend(), dlkern.get_num_threads())
    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    seen["main"] = (dlkern.get_backend(), dlkern.get_num_threads())
    release.set()
    t.join()
    assert seen["worker"] == ("numpy", 1)
    assert seen["main"] == default
    # the process default still reaches threads without a block of their own
    dlkern.set_num_threads(1)
    try:
        out = []
        t = threading.Thread(target=lambda: out.append(dlkern.get_num_threads()))
        t.start()
        t.join()
        assert out == [1]
    finally:
        dlkern.set_num_threads(default[1])


def test_public_submodules_are_attributes_loaded_on_use():
    code = ("import sys, dlkern; lazy = [m for m in dlkern.SUBMODULES "
            "if 'dlkern.' + m not in sys.modules]; "
            "print(' '.join(lazy)); print(dlkern.nn.Conv2d.__name__, dlkern.pca.PCA.__name__)")
    out = run_python(code).split("\n")
    assert "pca" in out[0].split() and "cli" in out[0].split()   # not loaded by the import
    assert out[1] == "Conv2d PCA"
    assert set(dlkern.SUBMODULES) <= set(dir(dlkern))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dlkern.nope


def test_ops_stub_matches_the_reference_signatures():
    """dlkern/ops.pyi (for editors and type checkers) is what tools/gen_stubs.py makes
    from the reference now: rerun it after changing a public signature."""
    import importlib.util
    import pathlib
    root = pathlib.Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("gen_stubs", root / "tools" / "gen_stubs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stub = pathlib.Path(dlkern.__file__).with_name("ops.pyi")
    assert stub.read_text() == gen.stub_text()


def test_default_threads_divide_the_cores_among_the_mpi_ranks_on_the_host():
    """Under mpiexec every rank taking every core oversubscribed them (a 2-rank CNN on 2
    cores ran 29x slower than with one thread each): the default is the cores divided
    among the ranks the launcher started on this host, and dlkern info says why."""
    code = ("import os, dlkern; from dlkern import _backend as b; "
            "print(dlkern.get_num_threads(), len(os.sched_getaffinity(0)), b._default_source())")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DLKERN_NUM_THREADS", "OMP_NUM_THREADS", "MPI_LOCALNRANKS",
                        "OMPI_COMM_WORLD_LOCAL_SIZE")}
    for ranks in (1, 2, 64):
        run_env = dict(env, MPI_LOCALNRANKS=str(ranks))
        out = run_python(code, run_env).split(maxsplit=2)
        threads, cores, why = int(out[0]), int(out[1]), out[2]
        assert threads == max(1, cores // ranks)
        assert ("MPI ranks" in why) == (ranks > 1)
    out = run_python(code, dict(env, MPI_LOCALNRANKS="2", DLKERN_NUM_THREADS="3")).split()
    assert out[0] == "3", "an explicit count wins over the MPI default"


def test_note_ranks_on_host_recomputes_only_a_default():
    from dlkern import _backend
    saved = (_backend._num_threads, _backend._num_threads_from_env, _backend._ranks_here)
    try:
        dlkern.set_num_threads(2)
        _backend.note_ranks_on_host(2)
        assert dlkern.get_num_threads() == 2        # the caller's choice stays
        _backend._num_threads, _backend._num_threads_from_env = None, False
        _backend.note_ranks_on_host(2)
        if "DLKERN_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ:
            assert dlkern.get_num_threads() == max(1, _backend._cores() // 2)
    finally:
        _backend._num_threads, _backend._num_threads_from_env, _backend._ranks_here = saved


def test_products_give_the_same_bits_however_the_team_state_splits_them():
    """A run of calls may split a small product (the warm team's grain, csrc/gemm.c) and
    crowded cores make short calls run on one thread for a while (cores_shared); the
    product's K is never cut, so the bits are those of one thread either way."""
    import time
    from dlkern._native import common
    rng = np.random.default_rng(0)
    for B, Din, Dout in ((768, 64, 64), (256, 784, 512)):
        x = rng.standard_normal((B, Din), dtype=np.float32)
        w = rng.standard_normal((Dout, Din), dtype=np.float32)
        b = rng.standard_normal(Dout, dtype=np.float32)
        dy = rng.standard_normal((B, Dout), dtype=np.float32)
        with dlkern.threads(1):
            want = [native.linear(x, w, b), *native.linear_backward(dy, x, w)]
        with dlkern.threads(2):
            runs = [[native.linear(x, w, b), *native.linear_backward(dy, x, w)]
                    for _ in range(4)]
            common._note_crowded()
            assert common.cores_shared()
            runs.append([native.linear(x, w, b), *native.linear_backward(dy, x, w)])
        for got in runs:
            for g, e in zip(got, want):
                assert np.array_equal(g, e)
    deadline = time.monotonic() + 4.0    # a hold lasts 0.2 s, up to 3.2 s when repeated
    while common.cores_shared() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not common.cores_shared()
