"""The native backend: C/OpenMP kernels behind Cython, with the reference's signatures.

Every public name is here.  A function that has no native kernel yet runs the
NumPy reference and warns once, naming itself, so models work while the gap shows.
"""
import functools
import importlib
import warnings

from . import reference as _reference


def _binding(name):
    """The native kernel of public function `name`: the function of the same name in
    the binding of its family (dlkern/_native/<family>.pyx, the family being the
    reference module that defines it), or None when the family has none yet."""
    family = getattr(_reference, name).__module__.rsplit(".", 1)[-1]
    try:
        module = importlib.import_module(f"._native.{family}", __package__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}._native.{family}":
            raise
        return None
    return getattr(module, name, None)


try:
    from ._native import common as _common  # noqa: F401  (fails without a build)
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "dlkern's native extensions are not built. Install the package with "
        "`pip install .` (or `pip install -e .` in a checkout), which compiles them; "
        "or use the NumPy backend: dlkern.set_backend('numpy'). "
        f"(cause: {exc})") from exc

_KERNELS = {name: k for name in _reference.__all__ if (k := _binding(name)) is not None}

_warned = set()


def _fallback(name):
    ref = getattr(_reference, name)

    @functools.wraps(ref)
    def call(*args, **kwargs):
        if name not in _warned:
            _warned.add(name)
            warnings.warn(f"dlkern: {name} has no native kernel yet; running the NumPy "
                          "reference", RuntimeWarning, stacklevel=2)
        return ref(*args, **kwargs)
    call.is_fallback = True
    return call


def _native(name):
    kernel = _KERNELS[name]

    @functools.wraps(getattr(_reference, name))
    def call(*args, **kwargs):
        return kernel(*args, **kwargs)
    call.__doc__ = (call.__doc__ or "") + "\n\nNative kernel (C + OpenMP)."
    call.is_fallback = False
    return call


for _name in _reference.__all__:
    globals()[_name] = _native(_name) if _name in _KERNELS else _fallback(_name)

__all__ = list(_reference.__all__)


def implemented():
    """Names that have a native kernel (the rest fall back to the reference)."""
    return [n for n in __all__ if n in _KERNELS]
