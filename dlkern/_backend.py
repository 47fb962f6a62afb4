"""Which backend runs the public functions, and how many threads the native one uses.

``set_backend`` / ``set_num_threads`` set the process default, read at every call;
``use_backend`` / ``threads`` override it for the calling thread only (and the asyncio
tasks it starts), through context variables, and restore it on exit: a block run under
the NumPy backend in one thread leaves every other thread on its own setting.
"""
from __future__ import annotations

import contextlib
import contextvars
import os

BACKENDS = ("native", "numpy")

_backend = None
_num_threads = None
_workspace = None
# per-thread overrides of the two defaults (None: use the default)
_backend_here = contextvars.ContextVar("dlkern_backend", default=None)
_threads_here = contextvars.ContextVar("dlkern_threads", default=None)

DEFAULT_WORKSPACE_MB = 32


def _env_backend() -> str:
    name = os.environ.get("DLKERN_BACKEND", "native").strip().lower() or "native"
    if name not in BACKENDS:
        raise ValueError(f"DLKERN_BACKEND must be one of {BACKENDS}, got {name!r}")
    return name


def _check_backend(fn: str, name: str) -> None:
    if name not in BACKENDS:
        raise ValueError(f"{fn}: name must be one of {BACKENDS}, got {name!r}")


def set_backend(name: str) -> None:
    """Choose the process-wide backend of the public functions: "native" (C/OpenMP) or
    "numpy" (the pure-NumPy reference).  A ``use_backend`` block in progress in some
    thread keeps its own choice there."""
    global _backend
    _check_backend("set_backend", name)
    _backend = name


def get_backend() -> str:
    """The calling thread's backend: its innermost ``use_backend`` block's, else
    set_backend's choice, else $DLKERN_BACKEND, else "native"."""
    global _backend
    here = _backend_here.get()
    if here is not None:
        return here
    if _backend is None:
        _backend = _env_backend()
    return _backend


@contextlib.contextmanager
def use_backend(name: str):
    """Run a block under another backend, in the calling thread only:
    ``with use_backend("numpy"): ...``."""
    _check_backend("use_backend", name)
    token = _backend_here.set(name)
    try:
        yield
    finally:
        _backend_here.reset(token)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# Ranks an MPI launcher started on this host, from the variables it sets before the
# process starts (MPICH's Hydra, Open MPI), so that the default is right before MPI is
# initialised; dlkern.distributed confirms it with MPI's shared-memory communicator.
_LOCAL_RANK_VARS = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")
_ranks_here = None      # set by note_ranks_on_host (dlkern.distributed)


def ranks_on_host() -> int:
    """Processes of this MPI job on this host (1 outside MPI)."""
    if _ranks_here is not None:
        return _ranks_here
    for var in _LOCAL_RANK_VARS:
        try:
            n = int(os.environ.get(var, ""))
        except ValueError:
            continue
        if n >= 1:
            return n
    return 1


def note_ranks_on_host(n: int) -> None:
    """Record how many ranks share this host (MPI's shared-memory communicator said so):
    the default thread count becomes the cores divided among them."""
    global _ranks_here, _num_threads, _num_threads_from_env
    _ranks_here = max(1, int(n))
    if _num_threads_from_env is False:       # a default, not a choice: recompute it
        _num_threads = None


def _default_source() -> str:
    """Where the calling thread's count comes from, in words (dlkern info)."""
    if _threads_here.get() is not None:
        return "a threads() block"
    if _num_threads_from_env is None:
        return "set_num_threads"
    if _num_threads_from_env:
        return "$DLKERN_NUM_THREADS / $OMP_NUM_THREADS"
    ranks = ranks_on_host()
    if ranks > 1:
        return f"{_cores()} cores shared by {ranks} MPI ranks on this host"
    return f"the {_cores()} cores this process may run on"


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
            _mark_env(True)
            return n
    _mark_env(False)
    # under mpiexec, every rank taking every core ran a 2-rank CNN 29x slower (2 cores)
    return max(1, _cores() // ranks_on_host())


_num_threads_from_env = False   # None: set_num_threads; True: the environment; False: cores


def _mark_env(from_env: bool) -> None:
    global _num_threads_from_env
    _num_threads_from_env = from_env


def _check_threads(fn: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{fn}: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{fn}: n must be >= 1, got {n}")


def set_num_threads(n: int) -> None:
    """The process-wide thread count of native kernels, matrix products included:
    dlkern splits each product over its own OpenMP threads and keeps its BLAS at one
    thread, so that only one thread pool ever runs: OpenBLAS's pool and libgomp's, each spinning
    while the other worked, made a 256×784×512 product 8× slower on 2 cores."""
    global _num_threads, _num_threads_from_env
    _check_threads("set_num_threads", n)
    _num_threads = n
    _num_threads_from_env = None


def get_num_threads() -> int:
    """The calling thread's count: its innermost ``threads`` block's, else
    set_num_threads's value, else $DLKERN_NUM_THREADS, else $OMP_NUM_THREADS, else the
    cores this process may run on, divided among the MPI ranks on this host."""
    global _num_threads
    here = _threads_here.get()
    if here is not None:
        return here
    if _num_threads is None:
        _num_threads = _env_threads()
    return _num_threads


@contextlib.contextmanager
def threads(n: int):
    """Run a block with n threads, in the calling thread only: ``with threads(1): ...``."""
    _check_threads("threads", n)
    token = _threads_here.set(n)
    try:
        yield
    finally:
        _threads_here.reset(token)


def set_workspace_limit(megabytes: float) -> None:
    """Scratch memory a native kernel may use in all (convolution's column buffers);
    default 32 MB, or $DLKERN_WORKSPACE_MB.  Larger can be faster; memory use beyond
    the arrays themselves stays within it whatever the batch size.  Freed scratch
    buffers, and the memory of freed results of 256 KB or more, wait (up to 256 MB in
    all) for the next calls instead of going back to the system, since fresh pages
    cost more than small kernels take (csrc/dlk.h)."""
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
