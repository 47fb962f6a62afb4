"""Model analysis from shapes alone (seed section 3): output shapes, parameter counts,
multiply-accumulate counts and receptive fields.  Integers are exact (Python ints).

`summary(model, input_shape)` comes with the layer API (dlkern.nn)."""
import numpy as np

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


def conv2d_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0,
                        dilation=1):
    """Seed section 3: (B, C_out, H_out, W_out) with H_out = ⌊(H + 2P_h − D_h(K_h − 1) −
    1)/S_h⌋ + 1 and W_out likewise (D the dilation, 1 by default); padding may also be
    "valid" (0) or "same" (stride 1: H_out = H); input_shape is (B, C_in, H, W) or
    (C_in, H, W) (then B = 1)."""
    fn = "conv2d_output_shape"
    B, C, H, W = _image_shape(fn, input_shape)
    _positive(fn, "out_channels", out_channels)
    kh, kw = _checks.pair(fn, "kernel_size", kernel_size, 1)
    # the one geometry check conv2d itself makes, on zero-stride stand-ins
    x = np.broadcast_to(np.float32(0), (B, C, H, W))
    w = np.broadcast_to(np.float32(0), (out_channels, C, kh, kw))
    ho, wo = _checks.conv2d_args(fn, x, w, stride, padding, dilation)[-1]
    out = (B, out_channels, ho, wo)
    return out if len(input_shape) == 4 else out[1:]


def conv2d_params(in_channels, out_channels, kernel_size, bias=True, groups=1):
    """Seed section 3: C_out · (C_in / groups) · K_h · K_w + C_out (the last term only
    with a bias)."""
    fn = "conv2d_params"
    _positive(fn, "in_channels", in_channels)
    _positive(fn, "out_channels", out_channels)
    kh, kw = _checks.pair(fn, "kernel_size", kernel_size, 1)
    g = _groups(fn, groups, in_channels, out_channels)
    return out_channels * (in_channels // g) * kh * kw + (out_channels if bias else 0)


def _groups(fn, groups, in_channels, out_channels):
    g = _checks.integer(fn, "groups", groups, low=1)
    if in_channels % g or out_channels % g:
        raise ValueError(f"{fn}: groups = {g} must divide the input channels "
                         f"({in_channels}) and the output channels ({out_channels})")
    return g


def conv2d_macs(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                groups=1):
    """Seed section 3: B · C_out · H_out · W_out · (C_in / groups) · K_h · K_w."""
    fn = "conv2d_macs"
    B, C, _, _ = _image_shape(fn, input_shape)
    shape = conv2d_output_shape(tuple(input_shape), out_channels, kernel_size, stride, padding,
                                dilation)
    ho, wo = shape[-2:]
    kh, kw = _checks.pair(fn, "kernel_size", kernel_size, 1)
    g = _groups(fn, groups, C, out_channels)
    return B * out_channels * ho * wo * (C // g) * kh * kw


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


class Row:
    """One layer of a summary."""

    def __init__(self, name, output_shape, params, macs, receptive_field, effective_stride):
        self.name, self.output_shape, self.params, self.macs = name, output_shape, params, macs
        self.receptive_field, self.effective_stride = receptive_field, effective_stride

    def to_dict(self):
        return dict(name=self.name, output_shape=self.output_shape, params=self.params,
                    macs=self.macs, receptive_field=self.receptive_field,
                    effective_stride=self.effective_stride)


class Summary:
    """summary(model, input_shape): .rows, .total_params, .total_macs, to_dict(); str()
    is an aligned table."""

    def __init__(self, rows, input_shape):
        self.rows, self.input_shape = rows, tuple(input_shape)
        self.total_params = sum(r.params for r in rows)
        self.total_macs = sum(r.macs for r in rows)

    def to_dict(self):
        return dict(input_shape=self.input_shape, rows=[r.to_dict() for r in self.rows],
                    total_params=self.total_params, total_macs=self.total_macs)

    def __str__(self):
        head = ("layer", "output shape", "params", "MACs", "receptive field", "stride")
        body = [(r.name, str(r.output_shape), f"{r.params:,}", f"{r.macs:,}",
                 "-" if r.receptive_field is None else str(r.receptive_field),
                 "-" if r.effective_stride is None else str(r.effective_stride))
                for r in self.rows]
        widths = [max(len(x[i]) for x in [head] + body) for i in range(6)]
        fmt = "  ".join("{:<%d}" % w if i < 2 else "{:>%d}" % w for i, w in enumerate(widths))
        lines = [f"input shape {self.input_shape}", fmt.format(*head),
                 "  ".join("-" * w for w in widths)]
        lines += [fmt.format(*b) for b in body]
        lines.append(f"total params {self.total_params:,}    total MACs {self.total_macs:,}")
        return "\n".join(lines)


def _count(arrays):
    return sum(int(a.size) for a in arrays.values())


def summary(model, input_shape):
    """A row per layer of a dlkern.nn model: output shape, parameters, MACs (seed section
    3's formula for convolutions, B·D_in·D_out for linear layers, 0 for layers without
    products), receptive field and effective stride (after each spatial layer; both
    axes as (h, w) pairs).  Shapes alone: no data passes through the model.
    RNN rows count the MACs of one time step, B·H·(H + D); attention rows those of one
    token position for the whole batch, B·(4·d² + 2·T·d) (four projections, scores and
    context), transformer blocks that plus their feed-forward's 8·d² per token.
    Embedding, positional embedding and layer norm rows count parameters and 0 MACs."""
    from . import nn
    fn = "summary"
    if not (isinstance(input_shape, (tuple, list)) and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in input_shape)):
        raise ValueError(f"{fn}: input_shape must be a tuple of positive ints, got "
                         f"{input_shape!r}")
    layers = model.layers if isinstance(model, nn.Sequential) else [model]
    rows, shape = [], tuple(input_shape)
    field, stride = (1, 1), (1, 1)
    spatial = False

    def walk(layers, prefix):
        nonlocal shape, field, stride, spatial
        for i, layer in enumerate(layers):
            name = f"{prefix}{i}: {type(layer).__name__}"
            if isinstance(layer, nn.Sequential):
                walk(layer.layers, f"{prefix}{i}.")
                continue
            params, macs = _count(layer.parameters()), 0
            try:
                new, macs, k, s = _layer_shape(fn, name, layer, shape)
            except ValueError as exc:
                msg = str(exc)
                if not msg.startswith(f"{fn}: "):
                    msg = f"{fn}: {name}: {msg}"
                raise ValueError(msg) from None
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                spatial = True
            if isinstance(layer, (nn.RNN, nn.LSTM)):
                name += " (MACs per step)"
            if isinstance(layer, (nn.MultiHeadAttention, nn.TransformerBlock)):
                name += " (MACs per token)"
            if k is not None:
                k = _checks.pair(fn, "kernel", k, 1)
                field = tuple(f + (kk - 1) * st for f, kk, st in zip(field, k, stride))
                stride = tuple(st * ss for st, ss in zip(stride, s))
            shape = tuple(new)
            rows.append(Row(name, shape, params, macs, field if spatial else None,
                            stride if spatial else None))

    walk(layers, "")
    return Summary(rows, input_shape)


def _layer_shape(fn, name, layer, shape):
    """(output shape, MACs, kernel or None, stride) of one layer on an input shape."""
    from . import nn
    macs, k, s = 0, None, (1, 1)
    if isinstance(layer, nn.Conv2d):
        if len(shape) != 4:
            raise ValueError(f"{fn}: {name} needs (B, C, H, W) input, gets {shape}")
        if shape[1] != layer.in_channels:
            raise ValueError(f"{fn}: {name} expects {layer.in_channels} channels, "
                             f"gets {shape[1]}")
        macs = conv2d_macs(shape, layer.out_channels, layer.kernel_size, layer.stride,
                           layer.padding, layer.dilation, layer.groups)
        new = conv2d_output_shape(shape, layer.out_channels, layer.kernel_size,
                                  layer.stride, layer.padding, layer.dilation)
        d = _checks.pair(fn, "dilation", layer.dilation, 1)
        k = tuple(dd * (kk - 1) + 1 for dd, kk in zip(d, layer.kernel_size))  # its extent
        s = _checks.pair(fn, "stride", layer.stride, 1)
    elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        if len(shape) != 4:
            raise ValueError(f"{fn}: {name} needs (B, C, H, W) input, gets {shape}")
        window = ((layer.kernel_size, layer.stride, layer.padding)
                  if isinstance(layer, nn.MaxPool2d) else layer._window(shape))
        k, s, p, (ho, wo) = _checks.pool2d_args(fn, shape, *window)
        new = shape[:2] + (ho, wo)
    elif isinstance(layer, nn.Linear):
        if shape[-1] != layer.in_features:
            raise ValueError(f"{fn}: {name} expects {layer.in_features} features, "
                             f"gets shape {shape}")
        new = shape[:-1] + (layer.out_features,)
        rows_in = 1
        for d in shape[:-1]:
            rows_in *= d
        macs = rows_in * layer.in_features * layer.out_features
        k = None
    elif isinstance(layer, nn.Flatten):
        flat = 1
        for d in shape[1:]:
            flat *= d
        new, k = (shape[0], flat), None
    elif isinstance(layer, (nn.RNN, nn.LSTM)):
        if len(shape) != 3 or shape[2] != layer.input_size:
            raise ValueError(f"{fn}: {name} expects (B, T, {layer.input_size}), "
                             f"gets {shape}")
        B, T, D = shape
        H = layer.hidden_size
        gates = 4 if isinstance(layer, nn.LSTM) else 1
        new, macs, k = (B, T, H), gates * B * H * (H + D), None
    elif isinstance(layer, nn.MultiHeadAttention):
        if len(shape) != 3 or shape[2] != layer.d_model:
            raise ValueError(f"{fn}: {name} expects (B, T, {layer.d_model}), "
                             f"gets {shape}")
        B, T, d = shape
        new, macs, k = shape, B * (4 * d * d + 2 * T * d), None
    elif isinstance(layer, nn.TransformerBlock):
        if len(shape) != 3 or shape[2] != layer.attn.d_model:
            raise ValueError(f"{fn}: {name} expects (B, T, {layer.attn.d_model}), "
                             f"gets {shape}")
        B, T, d = shape
        # per token: attention's 4d² + 2Td, the feed-forward's d·4d + 4d·d
        new, macs, k = shape, B * (4 * d * d + 2 * T * d + 8 * d * d), None
    elif isinstance(layer, nn.Embedding):
        new, k = tuple(shape) + (layer.embedding_dim,), None
    elif isinstance(layer, (nn.ReLU, nn.Sigmoid, nn.Dropout, nn.BatchNorm2d, nn.LayerNorm,
                            nn.PositionalEmbedding)):
        new, k = shape, None
    else:
        raise TypeError(f"{fn}: no shape rule for layer {type(layer).__name__}")
    return new, macs, k, s
