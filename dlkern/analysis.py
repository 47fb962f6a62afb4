"""Model analysis from shapes alone (seed section 3): output shapes, parameter counts,
multiply-accumulate counts and receptive fields.  Integers are exact (Python ints).

`summary(model, input_shape)` comes with the layer API (dlkern.nn)."""
from . import _checks


def _image_shape(fn, input_shape):
    if not (isinstance(input_shape, (tuple, list)) and len(input_shape) in (3, 4)
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                    for s in input_shape)):
        raise ValueError(f"{fn}: input_shape must be (B, C, H, W) or (C, H, W) of positive "
                         f"ints, got {input_shape!r}")
    return tuple(input_shape) if len(input_shape) == 4 else (1,) + tuple(input_shape)


def _positive(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{fn}: {name} must be a positive int, got {value!r}")
    return value


def conv2d_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0):
    """Seed section 3: (B, C_out, H_out, W_out) with H_out = ⌊(H + 2P_h − K_h)/S_h⌋ + 1
    and W_out likewise; input_shape is (B, C_in, H, W) or (C_in, H, W) (then B = 1)."""
    fn = "conv2d_output_shape"
    B, _, H, W = _image_shape(fn, input_shape)
    _positive(fn, "out_channels", out_channels)
    kh, kw = _checks.pair(fn, "kernel_size", kernel_size, 1)
    sh, sw = _checks.pair(fn, "stride", stride, 1)
    ph, pw = _checks.pair(fn, "padding", padding, 0)
    ho = _checks.conv_output_size(fn, H, kh, sh, ph, "height")
    wo = _checks.conv_output_size(fn, W, kw, sw, pw, "width")
    out = (B, out_channels, ho, wo)
    return out if len(input_shape) == 4 else out[1:]


def conv2d_params(in_channels, out_channels, kernel_size, bias=True):
    """Seed section 3: C_out · C_in · K_h · K_w + C_out (the last term only with a bias)."""
    fn = "conv2d_params"
    _positive(fn, "in_channels", in_channels)
    _positive(fn, "out_channels", out_channels)
    kh, kw = _checks.pair(fn, "kernel_size", kernel_size, 1)
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)


def conv2d_macs(input_shape, out_channels, kernel_size, stride=1, padding=0):
    """Seed section 3: B · C_out · H_out · W_out · C_in · K_h · K_w."""
    fn = "conv2d_macs"
    B, C, _, _ = _image_shape(fn, input_shape)
    shape = conv2d_output_shape(tuple(input_shape), out_channels, kernel_size, stride, padding)
    ho, wo = shape[-2:]
    kh, kw = _checks.pair(fn, "kernel_size", kernel_size, 1)
    return B * out_channels * ho * wo * C * kh * kw


def receptive_field(layers):
    """Seed section 3: for layers [(K_1, S_1), (K_2, S_2), …] the receptive field and the
    effective stride after each layer, starting from field_0 = stride_0 = 1:
    stride_ℓ = stride_{ℓ−1} · S_ℓ,  field_ℓ = field_{ℓ−1} + (K_ℓ − 1) · stride_{ℓ−1}.
    K and S may be ints or (h, w) pairs; a pair anywhere makes every result a pair."""
    fn = "receptive_field"
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"{fn}: layers must be a list of (kernel, stride), got "
                        f"{type(layers).__name__}")
    pairs = any(isinstance(x, (tuple, list)) for layer in layers
                for x in (layer if isinstance(layer, (tuple, list)) else ()))
    field, stride, out = (1, 1), (1, 1), []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 2:
            raise ValueError(f"{fn}: layers[{i}] must be a (kernel, stride) pair, got {layer!r}")
        k = _checks.pair(fn, f"layers[{i}] kernel", layer[0], 1)
        s = _checks.pair(fn, f"layers[{i}] stride", layer[1], 1)
        field = tuple(f + (kk - 1) * st for f, kk, st in zip(field, k, stride))
        stride = tuple(st * ss for st, ss in zip(stride, s))
        out.append((field, stride) if pairs else (field[0], stride[0]))
    return out
