"""The compiled bindings (one extension per kernel family).

Loading the first of them loads dlkern's OpenMP runtime (libgomp), which reads its wait
policy from the environment once, then.  Its default spins 300,000 rounds of a pause
instruction before a waiting thread sleeps (3.3 ms where a pause takes 11 ns, as on the
Intel Xeon below), and while the caller spins at a barrier a worker that was asleep, or
whose core NumPy's BLAS threads hold, may not get a core.  Measured on an Intel Xeon
(family 6 model 167, 2 vCPUs, KVM), a 2-thread linear 256×784→512 (0.85 ms back to back),
medians in ms over 2–5 processes per setting (docs/METHOD.md, "Two pools in one process"):

    GOMP_SPINCOUNT                      10,000     50,000    100,000   300,000 (default)
    back to back                     0.85–2.2*  0.88–0.94  0.85–0.88  0.84–0.88
    after 50 ms idle                   2.5–2.7    4.2–4.5    5.9–6.1    13
    right after a NumPy product        1.0–2.3    4.5–4.8    6.6–6.7    11–14
    in bench/sweep.py's interleave        -      0.76–5.2*       -        5.4–15.9
    (* 10,000: 4 of 5 processes ran at 2.1 ms, slower than one thread's 1.5 ms; the
       cores idle between calls, and the host then seems to run both vCPUs on one core.
       50,000 in the sweep: 0.76, 0.86 and 5.2 ms in three full runs)

The recurrences' per-step barriers kept their speed at 50,000 (LSTM B32 T168 H128
forward+backward 19.9–20.4 ms against 19.2–19.8 at the default), as did a chain of
small calls (bench/train_transformer.py's native step 5.9–6.1 ms against 5.8–6.4).

So unless the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY, dlkern sets GOMP_SPINCOUNT
for the moment its runtime loads and then restores the environment, so child processes
see the user's environment.  A library that links libgomp.so.1 and loads later (PyTorch
does) gets this same runtime, loaded once per process, and so this setting; one loaded
earlier makes dlkern use that runtime with its own setting.  `dlkern info` says which
(OPENMP_WAIT below); setting GOMP_SPINCOUNT yourself overrides it.
"""
import os

SPIN_COUNT = "50000"


def _mapped_gomp():
    """The libgomp files mapped into this process (Linux), or None where unknown."""
    try:
        with open("/proc/self/maps") as f:
            return {line.split()[-1] for line in f if "libgomp" in line}
    except OSError:
        return None


def _load_runtime():
    user = [k for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY") if k in os.environ]
    before = _mapped_gomp()
    if not user:
        os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:                                   # the extensions that link the runtime
        from . import common, gemm  # noqa: F401
    finally:
        if not user:
            del os.environ["GOMP_SPINCOUNT"]
    if not common.openmp_enabled():
        return "no OpenMP in this build"
    if user:
        return ", ".join(f"{k}={os.environ[k]} (the environment's)" for k in user)
    after = _mapped_gomp()
    if before is None or after is None:
        return f"GOMP_SPINCOUNT={SPIN_COUNT} (set by dlkern at load; not verifiable here)"
    if after - before:
        return f"GOMP_SPINCOUNT={SPIN_COUNT} (set by dlkern for its OpenMP runtime at load)"
    return ("libgomp's own (it was loaded before dlkern, by another package: "
            "set GOMP_SPINCOUNT yourself before that import)")


OPENMP_WAIT = _load_runtime()
