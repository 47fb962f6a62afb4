"""dlkern — fast CPU deep-learning kernels for NumPy models.

    import dlkern
    y = dlkern.conv2d(x, w, b, stride=1, padding=1)      # native C/OpenMP kernel
    with dlkern.use_backend("numpy"):                     # the readable reference
        y_ref = dlkern.conv2d(x, w, b, stride=1, padding=1)

Public functions are in dlkern.ops (re-exported here); dlkern.reference and
dlkern.native hold each backend's version with the same signatures.

The package in layers (each imports only those above it):
  kernel API     ops (re-exported here), with _backend (backend, threads, workspace)
  backends       reference (pure NumPy, the specification), native (C/OpenMP, _native)
  models         nn, losses, optim, init, models
  tools          analysis, pca, train, data, distributed, cli, benchmark, specs
Every public submodule is reachable as an attribute (dlkern.nn.Conv2d, dlkern.pca.PCA),
imported on first use, so that ``import dlkern`` loads only the kernel API.
"""
import importlib
__version__ = "0.1.0"

from ._backend import (set_backend, get_backend, use_backend,  # noqa: F401
                       set_num_threads, get_num_threads, threads,
                       set_workspace_limit, get_workspace_limit)
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops_all
from ._info import info  # noqa: F401

__all__ = list(_ops_all) + [
    "set_backend", "get_backend", "use_backend", "set_num_threads", "get_num_threads",
    "threads", "set_workspace_limit", "get_workspace_limit", "info", "__version__",
]

SUBMODULES = ("ops", "reference", "native", "nn", "losses", "optim", "init", "models",
              "analysis", "pca", "train", "data", "distributed", "cli", "benchmark",
              "specs", "compat")


def __getattr__(name):
    """Imports a public submodule on first access (PEP 562)."""
    if name in SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'dlkern' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(SUBMODULES))
