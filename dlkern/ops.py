"""The public functional API: one function per contract name, dispatched at call time
to the active backend (dlkern.set_backend / use_backend)."""
import functools

from . import _backend, reference

_native = None


def _native_module():
    global _native
    if _native is None:
        from . import native
        _native = native
    return _native


def _dispatching(name):
    ref = getattr(reference, name)

    @functools.wraps(ref)
    def call(*args, **kwargs):
        if _backend.get_backend() == "numpy":
            return ref(*args, **kwargs)
        return getattr(_native_module(), name)(*args, **kwargs)
    return call


for _name in reference.__all__:
    globals()[_name] = _dispatching(_name)

__all__ = list(reference.__all__)
