"""dlkern — fast CPU deep-learning kernels for NumPy models.

    import dlkern
    y = dlkern.conv2d(x, w, b, stride=1, padding=1)      # native C/OpenMP kernel
    with dlkern.use_backend("numpy"):                     # the readable reference
        y_ref = dlkern.conv2d(x, w, b, stride=1, padding=1)

Public functions are in dlkern.ops (re-exported here); dlkern.reference and
dlkern.native hold each backend's version with the same signatures.
"""
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
