"""Argument checks shared by every backend.

Each check raises ``TypeError`` or ``ValueError`` with a message that starts with the
public function's name and says which argument, what was expected and what came, e.g.
``conv2d: w has 2 input channels, x has 3``.  All checks run before anything is
computed or written, so a call that raises has changed nothing.

The native bindings check the hot cases in Cython and, when something is off, call
these functions to raise, so both backends reject the same inputs with the same words.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of {x.dtype}"
    return type(x).__name__


def float_array(fn: str, name: str, x, ndim: int | None = None, shape_doc: str = ""):
    """Return `x` if it is a float32/float64 ndarray of `ndim` dimensions, else raise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy.ndarray, got {_describe(x)}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{fn}: {name} must be float32 or float64, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        doc = f" {shape_doc}" if shape_doc else ""
        raise ValueError(f"{fn}: {name} must be {ndim}-D{doc}, got shape {x.shape}")
    return x


def same_dtype(fn: str, name: str, x, ref_name: str, ref) -> None:
    if x.dtype != ref.dtype:
        raise TypeError(f"{fn}: {name} is {x.dtype}, {ref_name} is {ref.dtype}; "
                        "pass both in one dtype")


def real(fn: str, name: str, value, *, low=None, high=None, low_open=False,
         high_open=False) -> float:
    """A finite real scalar within [low, high] (bounds optional, open or closed)."""
    # (a float or an int skips the ABC check, 0.3 µs of a small call's budget)
    if type(value) is not float and type(value) is not int and (
            isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{fn}: {name} must be a real number, got {_describe(value)}")
    v = float(value)
    bad = not math.isfinite(v)
    if low is not None:
        bad = bad or (v <= low if low_open else v < low)
    if high is not None:
        bad = bad or (v >= high if high_open else v > high)
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        where = f" in {lo}{hi}" if lo and hi else (f" >= {low}" if lo else "")
        raise ValueError(f"{fn}: {name} must be a finite number{where}, got {value!r}")
    return v


def flag(fn: str, name: str, value) -> bool:
    """A bool (Python's or NumPy's)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be a bool, got {_describe(value)}")
    return bool(value)


def integer(fn: str, name: str, value, *, low=None, high=None) -> int:
    if type(value) is not int and (isinstance(value, (bool, np.bool_))
                                   or not isinstance(value, numbers.Integral)):
        raise TypeError(f"{fn}: {name} must be an integer, got {_describe(value)}")
    v = int(value)
    if low is not None and v < low:
        raise ValueError(f"{fn}: {name} must be an integer >= {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{fn}: {name} must be an integer <= {high}, got {v}")
    return v


def optimizer_arrays(fn: str, p, g, **state):
    """Check the (param, grad, state...) arguments of an optimizer step.

    Each of them is one array or a list/tuple of arrays, all the same length; the
    arrays at one index share shape and dtype; p and the state are updated in place,
    so they must be writeable and C-contiguous (a hidden copy would be updated
    instead).  Returns the lists ``[p_list, g_list, *state_lists]``.
    """
    named = [("p", p), ("g", g)] + list(state.items())
    single = isinstance(p, np.ndarray)
    lists = []
    for name, value in named:
        if single:
            if not isinstance(value, np.ndarray):
                raise TypeError(f"{fn}: {name} must be a numpy.ndarray like p, "
                                f"got {_describe(value)}")
            lists.append([value])
        else:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{fn}: {name} must be an array or a list of arrays, "
                                f"got {_describe(value)}")
            lists.append(list(value))
    count = len(lists[0])
    for (name, _), items in zip(named[1:], lists[1:]):
        if len(items) != count:
            raise ValueError(f"{fn}: {name} has {len(items)} arrays, p has {count}")
    dtype = None
    for i in range(count):
        for (name, _), items in zip(named, lists):
            label = name if single else f"{name}[{i}]"
            x = items[i]
            float_array(fn, label, x)
            if dtype is None:
                dtype = x.dtype
            elif x.dtype != dtype:
                first = "p" if single else "p[0]"
                raise TypeError(f"{fn}: {label} is {x.dtype}, {first} is {dtype}; "
                                "pass every array in one dtype")
            p_i = lists[0][i]
            if x.shape != p_i.shape:
                p_label = "p" if single else f"p[{i}]"
                raise ValueError(f"{fn}: {label} has shape {x.shape}, "
                                 f"{p_label} has shape {p_i.shape}")
            if name != "g":
                updatable(fn, label, x)
    return lists


def updatable(fn: str, label: str, x) -> None:
    """x is updated in place: it must be writeable and C-contiguous (a hidden copy
    would be updated instead)."""
    if not x.flags.writeable:
        raise ValueError(f"{fn}: {label} is read-only; it is updated in place")
    if not x.flags.c_contiguous:
        raise ValueError(f"{fn}: {label} is not C-contiguous; it is updated in place, so "
                         "pass a contiguous array (numpy.ascontiguousarray) and keep that one")


def inplace_arrays(fn: str, x, name: str = "grads"):
    """One array or a list of arrays of one float dtype, all updated in place (so
    writeable and C-contiguous).  Returns ``[list_of_arrays]``."""
    single = isinstance(x, np.ndarray)
    if not single and not isinstance(x, (list, tuple)):
        raise TypeError(f"{fn}: {name} must be an array or a list of arrays, "
                        f"got {_describe(x)}")
    items = [x] if single else list(x)
    dtype = None
    for i, a in enumerate(items):
        label = name if single else f"{name}[{i}]"
        float_array(fn, label, a)
        if dtype is None:
            dtype = a.dtype
        elif a.dtype != dtype:
            raise TypeError(f"{fn}: {label} is {a.dtype}, {name}[0] is {dtype}; "
                            "pass every array in one dtype")
        updatable(fn, label, a)
    return [items]


_UNUSED = object()     # "this step has no such argument" (None is a bad value)


def optimizer_hparams(fn: str, *, lr, weight_decay, eps=_UNUSED, beta=_UNUSED, betas=(),
                      step=_UNUSED):
    """Check an optimizer step's scalars; betas is a list of (name, value)."""
    real(fn, "lr", lr, low=0.0)
    real(fn, "weight_decay", weight_decay, low=0.0)
    if eps is not _UNUSED:
        real(fn, "eps", eps, low=0.0)
    for name, value in ([("beta", beta)] if beta is not _UNUSED else []) + list(betas):
        real(fn, name, value, low=0.0, high=1.0, high_open=True)
    if step is not _UNUSED:
        integer(fn, "step", step, low=1, high=MAX_ELEMENTS)


# ---- helpers for the layer functions ------------------------------------------------

def pair(fn: str, name: str, value, low: int):
    """An int or an (h, w) pair of ints, each >= low; returns (h, w)."""
    if type(value) is int and low <= value <= MAX_ELEMENTS:   # the common case, at once
        return (value, value)
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{fn}: {name} must be an int or an (h, w) pair, got {value!r}")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{fn}: {name} must be an int or an (h, w) pair of ints, "
                            f"got {value!r}")
        if v < low:
            raise ValueError(f"{fn}: {name} must be >= {low}, got {value!r}")
        if v > MAX_ELEMENTS:
            raise ValueError(f"{fn}: {name} must be <= {MAX_ELEMENTS}, got {value!r}")
        out.append(int(v))
    return tuple(out)


# Sizes whose products would overflow 64-bit (or merely exhaust any memory) are
# refused before anything is allocated.
MAX_ELEMENTS = 2 ** 48


def element_count(fn: str, what: str, shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    if n > MAX_ELEMENTS:
        raise ValueError(f"{fn}: {what} would have {n} elements (shape {tuple(shape)}), "
                         f"more than dlkern supports ({MAX_ELEMENTS})")
    return n


def conv_output_size(fn: str, size, kernel, stride, padding, axis, after=None):
    """Seed section 3: floor((H + 2P − K) / S) + 1, checked to be >= 1 (with `after`,
    the padding at the end when it differs from `padding` at the start)."""
    after = padding if after is None else after
    span = size + padding + after
    if kernel > span:
        pad = f"2*{padding}" if after == padding else f"{padding} + {after}"
        raise ValueError(f"{fn}: kernel {axis} {kernel} is larger than the padded input "
                         f"{axis} {size} + {pad} = {span}")
    return (span - kernel) // stride + 1


def shape_is(fn: str, name: str, x, shape, doc: str = ""):
    if x.shape != tuple(shape):
        extra = f" {doc}" if doc else ""
        raise ValueError(f"{fn}: {name} must have shape {tuple(shape)}{extra}, got {x.shape}")


def conv2d_args(fn, x, w, stride, padding, dilation=1, groups=1):
    """conv2d's geometry: ((S_h, S_w), (P_top, P_left), (D_h, D_w), groups, (H_out, W_out)).
    padding is an int, an (h, w) pair, "valid" (none) or "same" (stride 1: the output has
    the input's size; an even total is split as PyTorch splits it, the extra row and
    column at the bottom and right)."""
    float_array(fn, "x", x, 4, "(B, C_in, H, W)")
    float_array(fn, "w", w, 4, "(C_out, C_in/groups, K_h, K_w)")
    same_dtype(fn, "w", w, "x", x)
    if min(w.shape) < 1:
        raise ValueError(f"{fn}: w must have no zero-sized dimension, got shape {w.shape}")
    g = groups if type(groups) is int and groups == 1 else integer(fn, "groups", groups, low=1)
    if x.shape[1] % g or w.shape[0] % g:
        raise ValueError(f"{fn}: groups = {g} must divide the input channels "
                         f"({x.shape[1]}) and the output channels ({w.shape[0]})")
    if w.shape[1] * g != x.shape[1]:
        raise ValueError(f"{fn}: w has {w.shape[1]} input channels per group, x has "
                         f"{x.shape[1]} channels in {g} group(s) (w must be "
                         f"(C_out, C_in/groups, K_h, K_w))")
    sh, sw = pair(fn, "stride", stride, 1)
    dh, dw = pair(fn, "dilation", dilation, 1)
    kh, kw = w.shape[2], w.shape[3]
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1          # the dilated kernel's extent
    if isinstance(padding, str):
        if padding == "valid":
            ph = pw = 0
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(f"{fn}: padding='same' needs stride 1, got stride {stride!r}")
            ph, pw = (eh - 1) // 2, (ew - 1) // 2
            pads = (ph, eh - 1 - ph, pw, ew - 1 - pw)
        else:
            raise ValueError(f"{fn}: padding must be an int, an (h, w) pair, 'valid' or "
                             f"'same', got {padding!r}")
    else:
        ph, pw = pair(fn, "padding", padding, 0)
        pads = (ph, ph, pw, pw)
    ho = conv_output_size(fn, x.shape[2], eh, sh, pads[0], "height", pads[1])
    wo = conv_output_size(fn, x.shape[3], ew, sw, pads[2], "width", pads[3])
    element_count(fn, "the output", (x.shape[0], w.shape[0], ho, wo))
    element_count(fn, "the column matrix", (x.shape[1] * kh * kw, x.shape[0] * ho * wo))
    return (sh, sw), (ph, pw), (dh, dw), g, (ho, wo)


def bias(fn, b, n, ref, ref_name="x"):
    if b is None:
        return None
    float_array(fn, "b", b, 1, f"({n},)")
    same_dtype(fn, "b", b, ref_name, ref)
    if b.shape[0] != n:
        raise ValueError(f"{fn}: b must have shape ({n},), got {b.shape}")
    return b


def im2col_args(fn, x_shape, kernel_size, stride, padding):
    """Kernel, stride, padding and output size of im2col/col2im over x_shape."""
    kh, kw = pair(fn, "kernel_size", kernel_size, 1)
    sh, sw = pair(fn, "stride", stride, 1)
    ph, pw = pair(fn, "padding", padding, 0)
    ho = conv_output_size(fn, x_shape[2], kh, sh, ph, "height")
    wo = conv_output_size(fn, x_shape[3], kw, sw, pw, "width")
    element_count(fn, "the column matrix", (x_shape[1] * kh * kw, x_shape[0] * ho * wo))
    return (kh, kw), (sh, sw), (ph, pw), (ho, wo)


def pool2d_args(fn, x_shape, kernel_size, stride, padding):
    """Kernel, stride (default: the kernel), padding (at most half the kernel, as in
    PyTorch) and output size of a 2-D pooling window."""
    kh, kw = pair(fn, "kernel_size", kernel_size, 1)
    sh, sw = pair(fn, "stride", (kh, kw) if stride is None else stride, 1)
    ph, pw = pair(fn, "padding", padding, 0)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"{fn}: padding must be at most half the kernel size, got "
                         f"padding {(ph, pw)} for kernel {(kh, kw)}")
    ho = conv_output_size(fn, x_shape[2], kh, sh, ph, "height")
    wo = conv_output_size(fn, x_shape[3], kw, sw, pw, "width")
    element_count(fn, "the output", (x_shape[0], x_shape[1], ho, wo))
    return (kh, kw), (sh, sw), (ph, pw), (ho, wo)


def image_shape(fn, name, x_shape):
    if not (isinstance(x_shape, (tuple, list)) and len(x_shape) == 4
            and all(isinstance(s, (int, np.integer)) and s >= 1 for s in x_shape)):
        raise ValueError(f"{fn}: {name} must be a (B, C, H, W) tuple of positive ints, "
                         f"got {x_shape!r}")
    return tuple(int(s) for s in x_shape)


def max_pool2d_backward_args(fn, dy, indices, x_shape, check_range=True):
    """dy (B, C, H_out, W_out), int64 indices of dy's shape pointing into the (H, W)
    planes of x_shape.  check_range=False leaves the indices' values to the caller
    (the native kernel checks them as it goes, then calls pool_index_range)."""
    float_array(fn, "dy", dy, 4, "(B, C, H_out, W_out)")
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64:
        raise TypeError(f"{fn}: indices must be an int64 array, got {_describe(indices)}")
    if indices.shape != dy.shape:
        raise ValueError(f"{fn}: indices has shape {indices.shape}, dy has shape {dy.shape}")
    B, C, H, W = image_shape(fn, "x_shape", x_shape)
    if dy.shape[:2] != (B, C):
        raise ValueError(f"{fn}: dy has shape {dy.shape}, x_shape is {tuple(x_shape)}")
    element_count(fn, "dx", (B, C, H, W))
    if check_range:
        pool_index_range(fn, indices, H, W)
    return B, C, H, W


def pool_index_range(fn, indices, H, W):
    if indices.size and (indices.min() < 0 or indices.max() >= H * W):
        raise ValueError(f"{fn}: indices must lie in [0, H·W) = [0, {H * W}), got values "
                         f"in [{indices.min()}, {indices.max()}]")


def channel_vector(fn, name, v, C, x):
    float_array(fn, name, v, 1, f"({C},)")
    same_dtype(fn, name, v, "x", x)
    if v.shape[0] != C:
        raise ValueError(f"{fn}: {name} must have shape ({C},), got {v.shape}")


def norm_input(fn, name, x):
    """x of a batch-norm: (B, C) or (B, C, H, W)."""
    float_array(fn, name, x)
    if x.ndim not in (2, 4):
        raise ValueError(f"{fn}: {name} must be 2-D (B, C) or 4-D (B, C, H, W), "
                         f"got shape {x.shape}")


def batch_norm2d_args(fn, x, gamma, beta, eps):
    norm_input(fn, "x", x)
    C = x.shape[1]
    channel_vector(fn, "gamma", gamma, C, x)
    channel_vector(fn, "beta", beta, C, x)
    real(fn, "eps", eps, low=0.0, low_open=True)
    if x.size == 0 or x.size // C == 0:
        raise ValueError(f"{fn}: x has no values per channel, shape {x.shape}")


def batch_norm2d_backward_args(fn, dy, x, gamma, mean, invstd):
    norm_input(fn, "x", x)
    float_array(fn, "dy", dy)
    same_dtype(fn, "dy", dy, "x", x)
    if dy.shape != x.shape:
        raise ValueError(f"{fn}: dy has shape {dy.shape}, x has shape {x.shape}")
    for name, v in (("gamma", gamma), ("mean", mean), ("invstd", invstd)):
        channel_vector(fn, name, v, x.shape[1], x)


def batch_norm_inference_args(fn, x, gamma, beta, running_mean, running_var, eps):
    norm_input(fn, "x", x)
    for name, v in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        channel_vector(fn, name, v, x.shape[1], x)
    real(fn, "eps", eps, low=0.0, low_open=True)


def layer_norm_args(fn, x, gamma, beta, eps):
    float_array(fn, "x", x)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{fn}: x must have a non-empty last axis to normalise over, "
                         f"got shape {x.shape}")
    D = x.shape[-1]
    channel_vector(fn, "gamma", gamma, D, x)
    channel_vector(fn, "beta", beta, D, x)
    real(fn, "eps", eps, low=0.0, low_open=True)


def layer_norm_backward_args(fn, dy, x, gamma, mean, invstd):
    float_array(fn, "x", x)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{fn}: x must have a non-empty last axis, got shape {x.shape}")
    float_array(fn, "dy", dy)
    same_dtype(fn, "dy", dy, "x", x)
    if dy.shape != x.shape:
        raise ValueError(f"{fn}: dy has shape {dy.shape}, x has shape {x.shape}")
    channel_vector(fn, "gamma", gamma, x.shape[-1], x)
    for name, v in (("mean", mean), ("invstd", invstd)):
        float_array(fn, name, v)
        same_dtype(fn, name, v, "x", x)
        if v.shape != x.shape[:-1]:
            raise ValueError(f"{fn}: {name} must have shape {x.shape[:-1]} (x's without "
                             f"its last axis), got {v.shape}")


WEIGHT_LAYOUTS = ("out_in", "in_out")


def weight_layout(fn, layout):
    """The layout of linear's w: "out_in" (D_out, D_in), as PyTorch keeps it, or "in_out"
    (D_in, D_out), as most NumPy models do (y = x w + b)."""
    if not isinstance(layout, str) or layout not in WEIGHT_LAYOUTS:
        raise ValueError(f"{fn}: weight_layout must be 'out_in' or 'in_out', "
                         f"got {layout!r}")
    return layout == "in_out"


def _linear_weight(fn, x, w, in_out):
    """Checks w against x; returns D_out."""
    float_array(fn, "w", w, 2, "(D_in, D_out)" if in_out else "(D_out, D_in)")
    same_dtype(fn, "w", w, "x", x)
    d_in, d_out = (w.shape[0], w.shape[1]) if in_out else (w.shape[1], w.shape[0])
    if d_in != x.shape[1]:
        raise ValueError(f"{fn}: w has {d_in} input features, x has {x.shape[1]}"
                         + (" (weight_layout='in_out': w is (D_in, D_out))" if in_out else ""))
    return d_out


def linear_args(fn, x, w, b, layout="out_in"):
    in_out = weight_layout(fn, layout)
    float_array(fn, "x", x, 2, "(B, D_in)")
    bias(fn, b, _linear_weight(fn, x, w, in_out), x)
    return in_out


def linear_backward_args(fn, dy, x, w, layout="out_in"):
    in_out = weight_layout(fn, layout)
    float_array(fn, "x", x, 2, "(B, D_in)")
    d_out = _linear_weight(fn, x, w, in_out)
    float_array(fn, "dy", dy, 2, "(B, D_out)")
    same_dtype(fn, "dy", dy, "x", x)
    shape_is(fn, "dy", dy, (x.shape[0], d_out), "(B, D_out)")
    return in_out


def gelu_approximate(fn, approximate):
    """GELU's form: "none" (exact, through erf) or "tanh"; returns True for tanh."""
    if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
        raise ValueError(f"{fn}: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate == "tanh"


def id_array(fn, ids, V, check_range=True):
    """An integer array of ids in [0, V) (the range left to the caller without
    check_range: the native kernels check it in C and call id_range for the message)."""
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu":
        raise TypeError(f"{fn}: ids must be an integer array, got {_describe(ids)}")
    if check_range:
        id_range(fn, ids, V)


def id_range(fn, ids, V):
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"{fn}: ids must lie in [0, {V}) (the table's rows), got values "
                         f"in [{ids.min()}, {ids.max()}]")


def embedding_args(fn, ids, table, check_range=True):
    float_array(fn, "table", table, 2, "(V, D)")
    id_array(fn, ids, table.shape[0], check_range)


def embedding_backward_args(fn, dout, ids, num_embeddings, check_range=True):
    V = integer(fn, "num_embeddings", num_embeddings, low=1)
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu":
        raise TypeError(f"{fn}: ids must be an integer array, got {_describe(ids)}")
    float_array(fn, "dout", dout)
    if dout.shape[:-1] != ids.shape or dout.ndim != ids.ndim + 1:
        raise ValueError(f"{fn}: dout must have shape ids.shape + (D,) = "
                         f"{ids.shape + ('D',)}, got {dout.shape}")
    element_count(fn, "dtable", (V, dout.shape[-1]))
    id_array(fn, ids, V, check_range)
    return V


def dropout_threshold(p):
    """⌈p·2³²⌉: a 32-bit draw at or above it keeps its element."""
    return min(math.ceil(p * 2.0 ** 32), 2 ** 32)


def _drop_probability(fn, p):
    return real(fn, "p", p, low=0.0, high=1.0)


def dropout_args(fn, x, p, seed):
    float_array(fn, "x", x)
    return _drop_probability(fn, p), integer(fn, "seed", seed, low=0, high=2 ** 64 - 1)


def dropout_backward_args(fn, dy, mask, p):
    float_array(fn, "dy", dy)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(f"{fn}: mask must be a bool array (dropout's), got {_describe(mask)}")
    if mask.shape != dy.shape:
        raise ValueError(f"{fn}: mask has shape {mask.shape}, dy has shape {dy.shape}")
    return _drop_probability(fn, p)


def same_shape_pair(fn, a_name, a, b_name, b):
    float_array(fn, a_name, a)
    float_array(fn, b_name, b)
    same_dtype(fn, a_name, a, b_name, b)
    if a.shape != b.shape:
        raise ValueError(f"{fn}: {a_name} has shape {a.shape}, {b_name} has shape {b.shape}")


def softmax_args(fn, x, axis):
    float_array(fn, "x", x)
    if x.ndim == 0:
        raise ValueError(f"{fn}: x must have at least 1 dimension, got a 0-d array")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) \
            or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{fn}: axis must be an int in [{-x.ndim}, {x.ndim}), got {axis!r}")
    if x.shape[axis] == 0:
        raise ValueError(f"{fn}: axis {axis} of x has length 0; a softmax over no values "
                         f"is undefined")
    return int(axis) % x.ndim


def conv2d_backward_args(fn, dy, x, w, stride, padding, dilation=1, groups=1):
    geometry = conv2d_args(fn, x, w, stride, padding, dilation, groups)
    ho, wo = geometry[-1]
    float_array(fn, "dy", dy, 4, "(B, C_out, H_out, W_out)")
    same_dtype(fn, "dy", dy, "x", x)
    shape_is(fn, "dy", dy, (x.shape[0], w.shape[0], ho, wo), "(B, C_out, H_out, W_out)")
    return geometry


def col2im_args(fn, cols, x_shape, kernel_size, stride, padding):
    float_array(fn, "cols", cols, 2, "(C·K_h·K_w, B·H_out·W_out)")
    B, C, H, W = image_shape(fn, "x_shape", x_shape)
    k, s, p, (ho, wo) = im2col_args(fn, (B, C, H, W), kernel_size, stride, padding)
    shape_is(fn, "cols", cols, (C * k[0] * k[1], B * ho * wo), "(C·K_h·K_w, B·H_out·W_out)")
    return (B, C, H, W), k, s, p, (ho, wo)


RNN_NONLINEARITIES = ("tanh", "relu")


def _recurrence_args(fn, x, h0, W, U, b, lstm, c0=None):
    """The checks rnn_args and lstm_args share: x (B, T, D), h0 (B, H) and, for the LSTM,
    c0 (B, H); W and U with H rows, or 4H (the gates i, f, g, o stacked); b."""
    G, stacked = ("4H", ": the gates i, f, g, o stacked") if lstm else ("H", "")
    float_array(fn, "x", x, 3, "(B, T, D)")
    B, T, D = x.shape
    float_array(fn, "h0", h0, 2, "(B, H)")
    H = h0.shape[1]
    rows = 4 * H if lstm else H
    named = [("h0", h0), ("W", W), ("U", U)]
    if lstm:
        float_array(fn, "c0", c0, 2, "(B, H)")
        named.insert(1, ("c0", c0))
    float_array(fn, "W", W, 2, f"({G}, H)")
    float_array(fn, "U", U, 2, f"({G}, D)")
    for name, v in named:
        same_dtype(fn, name, v, "x", x)
    if h0.shape[0] != B:
        raise ValueError(f"{fn}: h0 has batch {h0.shape[0]}, x has batch {B}")
    if lstm:
        shape_is(fn, "c0", c0, (B, H), "(B, H), as h0")
    shape_is(fn, "W", W, (rows, H), f"({G}, H){stacked}")
    shape_is(fn, "U", U, (rows, D), f"({G}, D){stacked}")
    if b is not None:
        bias(fn, b, rows, x)


def rnn_args(fn, x, h0, W, U, b, nonlinearity, lengths):
    _recurrence_args(fn, x, h0, W, U, b, lstm=False)
    if not isinstance(nonlinearity, str) or nonlinearity not in RNN_NONLINEARITIES:
        raise ValueError(f"{fn}: nonlinearity must be one of {RNN_NONLINEARITIES}, "
                         f"got {nonlinearity!r}")
    return sequence_lengths(fn, x, lengths)


def sequence_lengths(fn, x, lengths):
    """lengths (B,) in [1, T] for x (B, T, ...) as int64, T everywhere when None."""
    B, T = x.shape[:2]
    if T < 1:
        raise ValueError(f"{fn}: x must have at least one time step, got shape {x.shape}")
    if lengths is None:
        return np.full(B, T, dtype=np.int64)
    if not isinstance(lengths, np.ndarray) or lengths.dtype.kind not in "iu":
        raise TypeError(f"{fn}: lengths must be an integer array of shape ({B},), got "
                        f"{_describe(lengths)}")
    shape_is(fn, "lengths", lengths, (B,), "(B,)")
    if lengths.size and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"{fn}: lengths must lie in [1, T] = [1, {T}], got values in "
                         f"[{lengths.min()}, {lengths.max()}]")
    return lengths.astype(np.int64)


def rnn_backward_args(fn, dhs, x, hs, h0, W, U, nonlinearity, lengths):
    lengths = rnn_args(fn, x, h0, W, U, None, nonlinearity, lengths)
    B, T, _ = x.shape
    H = h0.shape[1]
    for name, v in (("dhs", dhs), ("hs", hs)):
        float_array(fn, name, v, 3, "(B, T, H)")
        same_dtype(fn, name, v, "x", x)
        shape_is(fn, name, v, (B, T, H), "(B, T, H)")
    return lengths


def lstm_args(fn, x, h0, c0, W, U, b, lengths):
    """lstm_forward's arguments; returns the lengths as int64 (T when None)."""
    _recurrence_args(fn, x, h0, W, U, b, lstm=True, c0=c0)
    return sequence_lengths(fn, x, lengths)


def lstm_backward_args(fn, dhs, x, hs, cs, h0, c0, W, U, b, lengths, dc_last, gates=None):
    lengths = lstm_args(fn, x, h0, c0, W, U, b, lengths)
    B, T, _ = x.shape
    H = h0.shape[1]
    for name, v in (("dhs", dhs), ("hs", hs), ("cs", cs)):
        float_array(fn, name, v, 3, "(B, T, H)")
        same_dtype(fn, name, v, "x", x)
        shape_is(fn, name, v, (B, T, H), "(B, T, H)")
    if dc_last is not None:
        float_array(fn, "dc_last", dc_last, 2, "(B, H)")
        same_dtype(fn, "dc_last", dc_last, "x", x)
        shape_is(fn, "dc_last", dc_last, (B, H), "(B, H)")
    if gates is not None:
        float_array(fn, "gates", gates, 3, "(B, T, 4H)")
        same_dtype(fn, "gates", gates, "x", x)
        shape_is(fn, "gates", gates, (B, T, 4 * H),
                 "(B, T, 4H): lstm_forward's gates (return_gates=True)")
    return lengths


CAUSAL_VARIANTS = ("upper_left", "lower_right")


def attention_args(fn, q, k, v, causal, scale, mask, causal_variant="upper_left"):
    """Shapes, dtypes, the scale (default 1/√d_k), the mask broadcast to (..., T_q, T_k)
    (or None) and the causal offset: query i sees keys j ≤ i + offset (0 upper-left,
    T_k − T_q lower-right; None when not causal)."""
    for name, a in (("q", q), ("k", k), ("v", v)):
        float_array(fn, name, a)
        if a.ndim < 2:
            raise ValueError(f"{fn}: {name} must have at least 2 dimensions (..., T, d), "
                             f"got shape {a.shape}")
        if a.shape[-1] < 1 or a.shape[-2] < 1:
            raise ValueError(f"{fn}: {name} must have T >= 1 and d >= 1, got shape "
                             f"{a.shape}")
    same_dtype(fn, "k", k, "q", q)
    same_dtype(fn, "v", v, "q", q)
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(f"{fn}: q, k and v must share their leading dimensions, got "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"{fn}: k has d_k = {k.shape[-1]}, q has d_k = {q.shape[-1]}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"{fn}: v has T_k = {v.shape[-2]}, k has T_k = {k.shape[-2]}")
    if not isinstance(causal, (bool, np.bool_)):
        raise TypeError(f"{fn}: causal must be a bool, got {type(causal).__name__}")
    if causal_variant not in CAUSAL_VARIANTS:
        raise ValueError(f"{fn}: causal_variant must be 'upper_left' or 'lower_right', got "
                         f"{causal_variant!r}")
    offset = None if not causal else (0 if causal_variant == "upper_left"
                                      else k.shape[-2] - q.shape[-2])
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else real(fn, "scale", scale)
    if mask is not None:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
            raise TypeError(f"{fn}: mask must be a boolean array, got {_describe(mask)}")
        target = q.shape[:-2] + (q.shape[-2], k.shape[-2])
        try:
            mask = np.broadcast_to(mask, target)
        except ValueError:
            raise ValueError(f"{fn}: mask of shape {mask.shape} does not broadcast to "
                             f"{target} (..., T_q, T_k)") from None
    return scale, mask, offset


def attention_backward_args(fn, dout, q, k, v, out, lse, causal, scale, mask,
                            causal_variant="upper_left"):
    scale, mask, offset = attention_args(fn, q, k, v, causal, scale, mask, causal_variant)
    out_shape = q.shape[:-1] + (v.shape[-1],)
    for name, a, shape in (("dout", dout, out_shape), ("out", out, out_shape),
                           ("lse", lse, q.shape[:-1])):
        float_array(fn, name, a)
        same_dtype(fn, name, a, "q", q)
        shape_is(fn, name, a, shape)
    return scale, mask, offset


def loss_pair(fn, a_name, a, b_name, b):
    float_array(fn, a_name, a)
    float_array(fn, b_name, b)
    same_dtype(fn, b_name, b, a_name, a)
    if a.shape != b.shape:
        raise ValueError(f"{fn}: {b_name} has shape {b.shape}, {a_name} has shape {a.shape}")
    if a.ndim < 1 or a.shape[0] < 1:
        raise ValueError(f"{fn}: {a_name} must have a batch dimension of at least 1, "
                         f"got shape {a.shape}")
    return a.shape[0]


def cross_entropy_args(fn, logits, labels, ignore_index=None):
    """Returns (B, C, ignore): ignore is the label to skip, or None."""
    float_array(fn, "logits", logits, 2, "(B, C)")
    B, C = logits.shape
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        raise TypeError(f"{fn}: labels must be an integer array of shape ({B},), got "
                        f"{_describe(labels)}")
    shape_is(fn, "labels", labels, (B,), "(B,)")
    if B < 1 or C < 1:
        raise ValueError(f"{fn}: logits must have at least one row and one class, got "
                         f"shape {logits.shape}")
    ignore = None if ignore_index is None else integer(fn, "ignore_index", ignore_index)
    kept = labels if ignore is None else labels[labels != ignore]
    if kept.size and (kept.min() < 0 or kept.max() >= C):
        but = "" if ignore is None else f" (or ignore_index = {ignore})"
        raise ValueError(f"{fn}: labels must lie in [0, C) = [0, {C}){but}, got values in "
                         f"[{kept.min()}, {kept.max()}]")
    return B, C, ignore


def sequence_mse_args(fn, y_hat, y, lengths):
    N = loss_pair(fn, "y_hat", y_hat, "y", y)
    if y_hat.ndim != 3:
        raise ValueError(f"{fn}: y_hat must be 3-D (N, T, D), got shape {y_hat.shape}")
    T = y_hat.shape[1]
    if not isinstance(lengths, np.ndarray) or lengths.dtype.kind not in "iu":
        raise TypeError(f"{fn}: lengths must be an integer array of shape ({N},), got "
                        f"{_describe(lengths)}")
    shape_is(fn, "lengths", lengths, (N,), "(N,)")
    if lengths.min() < 1 or lengths.max() > T:
        raise ValueError(f"{fn}: lengths must lie in [1, T] = [1, {T}], got values in "
                         f"[{lengths.min()}, {lengths.max()}]")
    return N, T
