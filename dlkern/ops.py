"""The public functional API: one function per contract name, dispatched at call time
to the active backend (dlkern.set_backend / use_backend)."""
import functools

from . import _backend, reference


def _dispatching(name):
    """The public function `name`: the reference under use_backend("numpy") (or
    set_backend), else the native kernel, looked up once, on the first native call
    (importing dlkern.native builds nothing, but loads every extension)."""
    ref = getattr(reference, name)
    kernel = None
    get_backend = _backend.get_backend

    @functools.wraps(ref)
    def call(*args, **kwargs):
        nonlocal kernel
        if get_backend() == "numpy":
            return ref(*args, **kwargs)
        if kernel is None:
            from . import native
            # the binding itself (not native's wrapper around it): one Python frame less
            kernel = native._KERNELS.get(name) or getattr(native, name)
        return kernel(*args, **kwargs)
    return call


for _name in reference.__all__:
    globals()[_name] = _dispatching(_name)

__all__ = list(reference.__all__)
