"""Which backend runs the public functions, and how many threads the native one uses.

Both are process-wide settings read at every call, so a model can switch between
them at any time (``use_backend`` / ``threads`` restore the previous value on exit).
"""
from __future__ import annotations

import contextlib
import os

BACKENDS = ("native", "numpy")

_backend = None
_num_threads = None
_workspace = None

DEFAULT_WORKSPACE_MB = 32


def _env_backend() -> str:
    name = os.environ.get("DLKERN_BACKEND", "native").strip().lower() or "native"
    if name not in BACKENDS:
        raise ValueError(f"DLKERN_BACKEND must be one of {BACKENDS}, got {name!r}")
    return name


def set_backend(name: str) -> None:
    """Choose the backend of the public functions: "native" (C/OpenMP) or "numpy"
    (the pure-NumPy reference)."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"set_backend: name must be one of {BACKENDS}, got {name!r}")
    _backend = name


def get_backend() -> str:
    """The active backend: set_backend's choice, else $DLKERN_BACKEND, else "native"."""
    global _backend
    if _backend is None:
        _backend = _env_backend()
    return _backend


@contextlib.contextmanager
def use_backend(name: str):
    """Run a block under another backend: ``with use_backend("numpy"): ...``."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _env_threads() -> int:
    for var in ("DLKERN_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value:
            # OMP_NUM_THREADS may be a list ("4,2"); its first entry is the outer level.
            first = value.split(",")[0]
            try:
                n = int(first)
            except ValueError:
                raise ValueError(f"{var} must be a positive integer, got {value!r}") from None
            if n < 1:
                raise ValueError(f"{var} must be a positive integer, got {value!r}")
            return n
    return _cores()


def set_num_threads(n: int) -> None:
    """Threads for native kernels, matrix products included: dlkern splits each
    product over its own OpenMP threads and keeps its BLAS at one thread, so that
    only one thread pool ever runs (docs/BENCHMARKS.md has the measurement)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    _num_threads = n


def get_num_threads() -> int:
    """set_num_threads's value, else $DLKERN_NUM_THREADS, else $OMP_NUM_THREADS, else
    the cores this process may run on."""
    global _num_threads
    if _num_threads is None:
        _num_threads = _env_threads()
    return _num_threads


@contextlib.contextmanager
def threads(n: int):
    """Run a block with n threads: ``with threads(1): ...``."""
    previous = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(previous)


def set_workspace_limit(megabytes: float) -> None:
    """Scratch memory a native kernel may use in all (convolution's column buffers);
    default 32 MB, or $DLKERN_WORKSPACE_MB.  Larger can be faster; memory use beyond
    the arrays themselves stays within it whatever the batch size.  The kernels keep
    up to four freed scratch buffers for the next calls instead of returning them to
    the system, since fresh pages cost more than small kernels take."""
    global _workspace
    if isinstance(megabytes, bool) or not isinstance(megabytes, (int, float)) \
            or not megabytes > 0:
        raise ValueError(f"set_workspace_limit: megabytes must be a number > 0, "
                         f"got {megabytes!r}")
    _workspace = int(megabytes * 2 ** 20)


def get_workspace_limit() -> int:
    """The workspace limit in bytes."""
    global _workspace
    if _workspace is None:
        value = os.environ.get("DLKERN_WORKSPACE_MB", "").strip()
        try:
            mb = float(value) if value else DEFAULT_WORKSPACE_MB
        except ValueError:
            raise ValueError(f"DLKERN_WORKSPACE_MB must be a number, got {value!r}") from None
        set_workspace_limit(mb)
    return _workspace
