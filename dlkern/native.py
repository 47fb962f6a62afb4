"""The native backend: C/OpenMP kernels behind Cython, with the reference's signatures.

Every public name is here.  A function that has no native kernel yet runs the
NumPy reference and warns once, naming itself, so models work while the gap shows.
"""
import functools
import warnings

from . import reference as _reference

try:
    from ._native import (attention as _attention, conv as _conv, dense as _dense,
                          losses as _losses, norm as _norm, optim as _optim, pool as _pool,
                          rnn as _rnn)
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "dlkern's native extensions are not built. Install the package with "
        "`pip install .` (or `pip install -e .` in a checkout), which compiles them; "
        "or use the NumPy backend: dlkern.set_backend('numpy'). "
        f"(cause: {exc})") from exc

_KERNELS = {
    "sgd_step": _optim.sgd_step,
    "momentum_step": _optim.momentum_step,
    "adagrad_step": _optim.adagrad_step,
    "rmsprop_step": _optim.rmsprop_step,
    "adam_step": _optim.adam_step,
    "clip_grad_norm": _optim.clip_grad_norm,
    "max_pool2d": _pool.max_pool2d,
    "max_pool2d_backward": _pool.max_pool2d_backward,
    "batch_norm2d": _norm.batch_norm2d,
    "batch_norm2d_backward": _norm.batch_norm2d_backward,
    "relu": _dense.relu,
    "relu_backward": _dense.relu_backward,
    "sigmoid": _dense.sigmoid,
    "softmax": _dense.softmax,
    "linear": _dense.linear,
    "linear_backward": _dense.linear_backward,
    "conv2d": _conv.conv2d,
    "conv2d_backward": _conv.conv2d_backward,
    "im2col": _conv.im2col,
    "col2im": _conv.col2im,
    "rnn_forward": _rnn.rnn_forward,
    "rnn_backward": _rnn.rnn_backward,
    "scaled_dot_product_attention": _attention.scaled_dot_product_attention,
    "scaled_dot_product_attention_backward": _attention.scaled_dot_product_attention_backward,
    "bce": _losses.bce,
    "bce_with_logits": _losses.bce_with_logits,
    "cross_entropy": _losses.cross_entropy,
    "mse": _losses.mse,
    "sequence_mse": _losses.sequence_mse,
}

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
