"""The layers of dlkern.nn: forward(x) -> y, backward(dy) -> dx (parameter gradients
stored), parameters() and gradients() with the same keys, train() and eval()."""
import numpy as np

from .. import ops
from ..init import generator, initialise


class Module:
    """Base class: a layer with named parameters (NumPy arrays) and their gradients."""

    training = True

    def __init__(self):
        self._params = {}
        self._grads = {}

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def parameters(self):
        """dict name -> array; the optimizers update these arrays in place."""
        return dict(self._params)

    def gradients(self):
        """dict name -> gradient of the last backward pass (zeros before any)."""
        return dict(self._grads)

    def _param(self, name, value):
        self._params[name] = value
        self._grads[name] = np.zeros_like(value)

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for g in self.gradients().values():
            g[...] = 0

    def save(self, path):
        """Write the parameters (and buffers such as running statistics) to .npz."""
        np.savez(path, **self.state_dict())

    def load(self, path):
        with np.load(path) as data:
            self.load_state_dict({k: data[k] for k in data.files})
        return self

    def state_dict(self):
        return {k: v.copy() for k, v in self.parameters().items()}

    def load_state_dict(self, state):
        own = self.parameters()
        missing = sorted(set(own) - set(state))
        if missing:
            raise ValueError(f"load_state_dict: missing {missing}")
        for k, v in own.items():
            if state[k].shape != v.shape:
                raise ValueError(f"load_state_dict: {k} has shape {state[k].shape}, the "
                                 f"model's has {v.shape}")
            v[...] = state[k]

    def __repr__(self):
        return f"{type(self).__name__}()"


class Composite(Module):
    """A module made of named sub-modules listed in self.parts = [(name, module), ...]:
    parameters, gradients, state and train/eval mode are theirs, keys prefixed."""

    parts = ()

    def parameters(self):
        return {f"{n}.{k}": v for n, m in self.parts for k, v in m.parameters().items()}

    def gradients(self):
        return {f"{n}.{k}": v for n, m in self.parts for k, v in m.gradients().items()}

    def state_dict(self):
        return {f"{n}.{k}": v for n, m in self.parts for k, v in m.state_dict().items()}

    def load_state_dict(self, state):
        for n, m in self.parts:
            m.load_state_dict({k[len(n) + 1:]: v for k, v in state.items()
                               if k.startswith(n + ".")})

    def train(self, mode=True):
        super().train(mode)
        for _, m in self.parts:
            m.train(mode)
        return self


def _needs_forward(layer, what):
    if what is None:
        raise RuntimeError(f"{type(layer).__name__}.backward: call forward first")


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} must be a dlkern.nn.Module, got "
                                f"{type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def parameters(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                for k, v in layer.parameters().items()}

    def gradients(self):
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                for k, v in layer.gradients().items()}

    def state_dict(self):
        out = {}
        for i, layer in enumerate(self.layers):
            out.update({f"{i}.{k}": v for k, v in layer.state_dict().items()})
        return out

    def load_state_dict(self, state):
        for i, layer in enumerate(self.layers):
            prefix = f"{i}."
            layer.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                   if k.startswith(prefix)})

    def train(self, mode=True):
        super().train(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


class Linear(Module):
    """y = x Wᵀ + b (seed section 1), W (out_features, in_features), Xavier-initialised.
    With weight_layout="in_out" the weight is kept as (in_features, out_features) and
    y = x W + b, the layout of most NumPy models (their weights load as they are)."""

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, seed=None,
                 init="xavier", weight_layout="out_in"):
        super().__init__()
        from .._checks import weight_layout as check_layout
        in_out = check_layout("Linear", weight_layout)
        self.in_features, self.out_features = in_features, out_features
        self.weight_layout = weight_layout
        w = initialise((out_features, in_features), init, seed, dtype)
        self._param("weight", np.ascontiguousarray(w.T) if in_out else w)
        if bias:
            self._param("bias", np.zeros(out_features, dtype))
        self._x = None

    def forward(self, x):
        self._x = x
        return ops.linear(x, self._params["weight"], self._params.get("bias"),
                          weight_layout=self.weight_layout)

    def backward(self, dy):
        _needs_forward(self, self._x)
        dx, dw, db = ops.linear_backward(dy, self._x, self._params["weight"],
                                         weight_layout=self.weight_layout)
        self._grads["weight"][...] = dw
        if "bias" in self._params:
            self._grads["bias"][...] = db
        return dx

    def __repr__(self):
        layout = ", weight_layout='in_out'" if self.weight_layout == "in_out" else ""
        return (f"Linear({self.in_features}, {self.out_features}, "
                f"bias={'bias' in self._params}{layout})")


class Conv2d(Module):
    """2-D convolution (seed section 3), He-initialised (it is usually followed by ReLU);
    weight (C_out, C_in/groups, K_h, K_w); padding an int, a pair, "valid" or "same";
    dilation and groups as torch.nn.Conv2d (groups = C_in: a depthwise convolution)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True, dtype=np.float32, seed=None, init="he", dilation=1, groups=1):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups = {groups} must divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self.dilation, self.groups = dilation, groups
        self._param("weight", initialise((out_channels, in_channels // groups, kh, kw), init,
                                         seed, dtype))
        if bias:
            self._param("bias", np.zeros(out_channels, dtype))
        self._x = None

    def forward(self, x):
        self._x = x
        return ops.conv2d(x, self._params["weight"], self._params.get("bias"), self.stride,
                          self.padding, self.dilation, self.groups)

    def backward(self, dy):
        _needs_forward(self, self._x)
        dx, dw, db = ops.conv2d_backward(dy, self._x, self._params["weight"], self.stride,
                                         self.padding, self.dilation, self.groups)
        self._grads["weight"][...] = dw
        if "bias" in self._params:
            self._grads["bias"][...] = db
        return dx

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in (("dilation", self.dilation),
                                                     ("groups", self.groups)) if v != 1)
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size="
                f"{self.kernel_size}, stride={self.stride}, padding={self.padding!r}{extra})")


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self._cache = None

    def forward(self, x):
        y, idx = ops.max_pool2d(x, self.kernel_size, self.stride, self.padding)
        self._cache = (idx, x.shape)
        return y

    def backward(self, dy):
        _needs_forward(self, self._cache)
        idx, shape = self._cache
        return ops.max_pool2d_backward(dy, idx, shape)

    def __repr__(self):
        return (f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class AvgPool2d(Module):
    """Average pooling (avg_pool2d), padding counted in the divisor unless
    count_include_pad=False, as torch.nn.AvgPool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad
        self._shape = None

    def _window(self, x_shape):
        return self.kernel_size, self.stride, self.padding

    def forward(self, x):
        k, s, p = self._window(x.shape)
        y = ops.avg_pool2d(x, k, s, p, self.count_include_pad)
        self._shape = x.shape
        return y

    def backward(self, dy):
        _needs_forward(self, self._shape)
        k, s, p = self._window(self._shape)
        return ops.avg_pool2d_backward(dy, self._shape, k, s, p, self.count_include_pad)

    def __repr__(self):
        return (f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding})")


class GlobalAvgPool2d(AvgPool2d):
    """The mean of each (H, W) plane: (B, C, H, W) -> (B, C, 1, 1), an average pooling
    whose window is the whole plane."""

    def __init__(self):
        super().__init__(kernel_size=None)

    def _window(self, x_shape):
        if len(x_shape) != 4:
            raise ValueError(f"GlobalAvgPool2d: x must be 4-D (B, C, H, W), got shape "
                             f"{tuple(x_shape)}")
        return tuple(x_shape[2:]), 1, 0

    def __repr__(self):
        return "GlobalAvgPool2d()"


class BatchNorm2d(Module):
    """Batch normalisation per channel, over (B, H, W) of NCHW images (or over B of
    (B, C) features: BatchNorm1d).  Training: batch statistics, and running averages
    updated as r ← (1 − momentum) r + momentum · batch value (the variance unbiased, as
    PyTorch does).  Eval: the running statistics (batch_norm_inference)."""

    _ndim = (4,)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self._param("weight", np.ones(num_features, dtype))
        self._param("bias", np.zeros(num_features, dtype))
        self.running_mean = np.zeros(num_features, dtype)
        self.running_var = np.ones(num_features, dtype)
        self._cache = None

    def forward(self, x):
        if getattr(x, "ndim", None) not in self._ndim:
            want = " or ".join(f"{n}-D" for n in self._ndim)
            raise ValueError(f"{type(self).__name__}: x must be {want}, got shape "
                             f"{getattr(x, 'shape', None)}")
        g, b = self._params["weight"], self._params["bias"]
        if self.training:
            y, mean, invstd = ops.batch_norm2d(x, g, b, self.eps)
            n = x.size // x.shape[1]
            var = (1.0 / invstd.astype(np.float64) ** 2 - self.eps) * n / max(n - 1, 1)
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var
            self._cache = ("train", x, mean, invstd)
            return y
        invstd = (1.0 / np.sqrt(self.running_var.astype(np.float64) + self.eps)).astype(x.dtype)
        self._cache = ("eval", invstd, x.ndim)
        return ops.batch_norm_inference(x, g, b, self.running_mean.astype(x.dtype),
                                        self.running_var.astype(x.dtype), self.eps)

    def backward(self, dy):
        _needs_forward(self, self._cache)
        if self._cache[0] == "train":
            _, x, mean, invstd = self._cache
            dx, dg, db = ops.batch_norm2d_backward(dy, x, self._params["weight"], mean, invstd)
            self._grads["weight"][...] = dg
            self._grads["bias"][...] = db
            return dx
        # eval: y is affine in x with the running statistics fixed
        _, invstd, ndim = self._cache
        return dy * (self._params["weight"] * invstd).reshape((1, -1) + (1,) * (ndim - 2))

    def state_dict(self):
        out = super().state_dict()
        out.update(running_mean=self.running_mean.copy(), running_var=self.running_var.copy())
        return out

    def load_state_dict(self, state):
        super().load_state_dict(state)
        if "running_mean" in state:
            self.running_mean[...] = state["running_mean"]
            self.running_var[...] = state["running_var"]

    def __repr__(self):
        return f"{type(self).__name__}({self.num_features})"


class BatchNorm1d(BatchNorm2d):
    """Batch normalisation of (B, C) features, per feature over the batch, as
    torch.nn.BatchNorm1d: the (B, C) form of batch_norm2d, with the same running
    statistics."""

    _ndim = (2,)


class ReLU(Module):
    def __init__(self):
        super().__init__()
        self._x = None

    def forward(self, x):
        self._x = x
        return ops.relu(x)

    def backward(self, dy):
        _needs_forward(self, self._x)
        return ops.relu_backward(dy, self._x)


class Sigmoid(Module):
    """σ(z) (seed section 1); backward σ'(z) = σ(z)(1 − σ(z)) from the stored output."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        self._y = ops.sigmoid(x)
        return self._y

    def backward(self, dy):
        _needs_forward(self, self._y)
        return dy * self._y * (1 - self._y)


class Flatten(Module):
    """(B, ...) -> (B, D): seed section 3's Flatten, D = C·H·W."""

    def __init__(self):
        super().__init__()
        self._shape = None

    def forward(self, x):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        _needs_forward(self, self._shape)
        return dy.reshape(self._shape)


class Dropout(Module):
    """Inverted dropout (seed section 7): in training each value is kept with
    probability 1 − p and scaled by 1/(1 − p), through the dropout kernel (each call's
    mask seeded from the layer's generator, so a seeded layer repeats its masks); in
    eval mode the layer is the identity."""

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p = p
        self._rng = generator(seed)
        self._mask = None

    def forward(self, x):
        if not self.training or self.p == 0:
            self._mask = None
            return x
        y, self._mask = ops.dropout(x, self.p, int(self._rng.integers(2 ** 63)))
        return y

    def backward(self, dy):
        return dy if self._mask is None else ops.dropout_backward(dy, self._mask, self.p)

    def __repr__(self):
        return f"Dropout(p={self.p})"


class RNN(Module):
    """Single-layer RNN (seed section 4): h_t = f(W h_{t−1} + U x_t + b).
    forward(x, h0=None, lengths=None) -> hs (B, T, H); backward(dhs) -> dx.
    For sequence-to-vector use hs[:, -1] (with `lengths`, every sequence's last state)."""

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", dtype=np.float32,
                 seed=None):
        super().__init__()
        rng = generator(seed)
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, \
            nonlinearity
        self._param("W", initialise((hidden_size, hidden_size), "xavier", rng, dtype))
        self._param("U", initialise((hidden_size, input_size), "xavier", rng, dtype))
        self._param("b", np.zeros(hidden_size, dtype))
        self._cache = None

    def forward(self, x, h0=None, lengths=None):
        if h0 is None:
            h0 = np.zeros((x.shape[0], self.hidden_size), x.dtype)
        p = self._params
        hs = ops.rnn_forward(x, h0, p["W"], p["U"], p["b"], self.nonlinearity, lengths)
        self._cache = (x, hs, h0, lengths)
        return hs

    def backward(self, dhs):
        _needs_forward(self, self._cache)
        x, hs, h0, lengths = self._cache
        p = self._params
        dx, dh0, dW, dU, db = ops.rnn_backward(dhs, x, hs, h0, p["W"], p["U"],
                                               self.nonlinearity, lengths)
        self._grads["W"][...] = dW
        self._grads["U"][...] = dU
        self._grads["b"][...] = db
        self.dh0 = dh0
        return dx

    def __repr__(self):
        return f"RNN({self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r})"


class LSTM(Module):
    """Single-layer LSTM, gates stacked (i, f, g, o) as torch.nn.LSTM (lstm_forward):
    W (4H, H), U (4H, D), b (4H,) with the forget gate's bias at 1 (a common start).
    forward(x, h0=None, c0=None, lengths=None) -> hs (B, T, H); backward(dhs,
    dc_last=None) -> dx, with dh0 and dc0 kept as attributes.  The cell states of the
    last forward are in .cs.  In training mode the forward keeps its gate values for the
    backward pass (lstm_forward's return_gates: a (B, T, 4H) array, and no recomputation
    in lstm_backward)."""

    def __init__(self, input_size, hidden_size, dtype=np.float32, seed=None):
        super().__init__()
        rng = generator(seed)
        H = hidden_size
        self.input_size, self.hidden_size = input_size, hidden_size
        self._param("W", np.concatenate([initialise((H, H), "xavier", rng, dtype)
                                         for _ in range(4)]))
        self._param("U", np.concatenate([initialise((H, input_size), "xavier", rng, dtype)
                                         for _ in range(4)]))
        b = np.zeros(4 * H, dtype)
        b[H:2 * H] = 1
        self._param("b", b)
        self._cache = None
        self.cs = None

    def forward(self, x, h0=None, c0=None, lengths=None):
        zeros = np.zeros((x.shape[0], self.hidden_size), x.dtype)
        h0 = zeros if h0 is None else h0
        c0 = zeros if c0 is None else c0
        p = self._params
        out = ops.lstm_forward(x, h0, c0, p["W"], p["U"], p["b"], lengths,
                               return_gates=self.training)
        hs, self.cs = out[0], out[1]
        self._cache = (x, hs, self.cs, h0, c0, lengths, out[2] if self.training else None)
        return hs

    def backward(self, dhs, dc_last=None):
        _needs_forward(self, self._cache)
        x, hs, cs, h0, c0, lengths, gates = self._cache
        p = self._params
        dx, self.dh0, self.dc0, dW, dU, db = ops.lstm_backward(
            dhs, x, hs, cs, h0, c0, p["W"], p["U"], p["b"], lengths, dc_last, gates)
        self._grads["W"][...] = dW
        self._grads["U"][...] = dU
        self._grads["b"][...] = db
        return dx

    def __repr__(self):
        return f"LSTM({self.input_size}, {self.hidden_size})"


class MultiHeadAttention(Module):
    """Self-attention with h heads (seed section 5): q = x W_Qᵀ, k = x W_Kᵀ, v = x W_Vᵀ,
    split into h heads of d_k = d_model / h, fused scaled dot-product attention per
    head, heads concatenated, then the output projection W_O (with bias).
    forward(x) with x (B, T, d_model) -> (B, T, d_model)."""

    def __init__(self, d_model, num_heads, causal=False, dtype=np.float32, seed=None):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"MultiHeadAttention: d_model {d_model} is not divisible by "
                             f"num_heads {num_heads}")
        rng = generator(seed)
        self.d_model, self.num_heads, self.causal = d_model, num_heads, causal
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            self._param(name, initialise((d_model, d_model), "xavier", rng, dtype))
        self._param("b_O", np.zeros(d_model, dtype))
        self._cache = None

    def _split(self, a, B, T):
        return np.ascontiguousarray(a.reshape(B, T, self.num_heads, -1).transpose(0, 2, 1, 3))

    def forward(self, x):
        B, T, D = x.shape
        p = self._params
        x2 = x.reshape(B * T, D)
        # one product for q, k and v: a (B·T) × D × 3D GEMM instead of three of D columns
        # (bench/train_transformer.py's native step: 19.7-21.6 ms with three, 16.4-19.6
        # with one, AMD EPYC Zen 1); the stacked weight costs 3D² copied values, 1/(B·T)
        # of the product
        w_qkv = np.concatenate([p["W_Q"], p["W_K"], p["W_V"]])
        qkv = ops.linear(x2, w_qkv)
        q, k, v = (self._split(qkv[:, i * D:(i + 1) * D], B, T) for i in range(3))
        out, lse = ops.scaled_dot_product_attention(q, k, v, self.causal)
        ctx = out.transpose(0, 2, 1, 3).reshape(B * T, D)
        y = ops.linear(ctx, p["W_O"], p["b_O"])
        self._cache = (x2, w_qkv, q, k, v, out, lse, ctx, B, T)
        return y.reshape(B, T, D)

    def backward(self, dy):
        _needs_forward(self, self._cache)
        x2, w_qkv, q, k, v, out, lse, ctx, B, T = self._cache
        p, g = self._params, self._grads
        D, h = self.d_model, self.num_heads
        dctx, g["W_O"][...], g["b_O"][...] = ops.linear_backward(dy.reshape(B * T, D), ctx,
                                                                 p["W_O"])
        dout = self._split(dctx, B, T)
        grads = ops.scaled_dot_product_attention_backward(dout, q, k, v, out, lse, self.causal)
        dqkv = np.empty((B, T, 3, h, D // h), dtype=dy.dtype)
        for i, d in enumerate(grads):
            dqkv[:, :, i] = d.transpose(0, 2, 1, 3)
        # one product gives dx (the three contributions summed) and the stacked dW
        dx, dw, _ = ops.linear_backward(dqkv.reshape(B * T, 3 * D), x2, w_qkv)
        g["W_Q"][...], g["W_K"][...], g["W_V"][...] = dw[:D], dw[D:2 * D], dw[2 * D:]
        return dx.reshape(B, T, D)

    def __repr__(self):
        return (f"MultiHeadAttention(d_model={self.d_model}, num_heads={self.num_heads}, "
                f"causal={self.causal})")


class Embedding(Module):
    """Token embedding: y[b, t] = W[tokens[b, t]] (embedding); backward adds dy into the
    rows used, repeated tokens accumulating (embedding_backward)."""

    def __init__(self, num_embeddings, embedding_dim, dtype=np.float32, seed=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self._param("weight", generator(seed).normal(0, 1, (num_embeddings, embedding_dim))
                    .astype(dtype))
        self._tokens = None

    def forward(self, tokens):
        tokens = np.asarray(tokens)
        y = ops.embedding(tokens, self._params["weight"])
        self._tokens = tokens
        return y

    def backward(self, dy):
        _needs_forward(self, self._tokens)
        self._grads["weight"][...] = ops.embedding_backward(dy, self._tokens,
                                                            self.num_embeddings)
        return None                                     # no gradient for integer tokens

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class PositionalEmbedding(Module):
    """A learned position vector added to each position: y[:, t] = x[:, t] + P[t]."""

    def __init__(self, max_len, dim, dtype=np.float32, seed=None):
        super().__init__()
        self._param("weight", (generator(seed).normal(0, 0.1, (max_len, dim))).astype(dtype))
        self._T = None

    def forward(self, x):
        T = x.shape[1]
        if T > self._params["weight"].shape[0]:
            raise ValueError(f"PositionalEmbedding: sequence length {T} exceeds max_len "
                             f"{self._params['weight'].shape[0]}")
        self._T = T
        return x + self._params["weight"][:T]

    def backward(self, dy):
        _needs_forward(self, self._T)
        g = self._grads["weight"]
        g[...] = 0
        g[:self._T] = dy.sum(axis=0)
        return dy


class LayerNorm(Module):
    """Per token over the last axis: y = γ (x − μ) / √(σ² + ε) + β (biased σ²), through
    layer_norm and layer_norm_backward."""

    def __init__(self, dim, eps=1e-5, dtype=np.float32):
        super().__init__()
        self.dim, self.eps = dim, eps
        self._param("weight", np.ones(dim, dtype))
        self._param("bias", np.zeros(dim, dtype))
        self._cache = None

    def forward(self, x):
        y, mean, invstd = ops.layer_norm(x, self._params["weight"], self._params["bias"],
                                         self.eps)
        self._cache = (x, mean, invstd)
        return y

    def backward(self, dy):
        _needs_forward(self, self._cache)
        x, mean, invstd = self._cache
        dx, dg, db = ops.layer_norm_backward(dy, x, self._params["weight"], mean, invstd)
        self._grads["weight"][...] = dg
        self._grads["bias"][...] = db
        return dx


class TokenLinear(Linear):
    """Linear applied to every position of a (B, T, D) input."""

    def forward(self, x):
        self._lead = x.shape[:-1]
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(*self._lead, -1)

    def backward(self, dy):
        return super().backward(dy.reshape(-1, dy.shape[-1])).reshape(*self._lead, -1)


class TransformerBlock(Composite):
    """Pre-norm encoder block: x + MHA(LN(x)), then + FFN(LN(x)) with
    FFN = Linear(d, 4d) → ReLU → Linear(4d, d) per token (seed section 5's multi-head
    recap, plus the residuals and normalisation that let it train)."""

    def __init__(self, d_model, num_heads, causal=False, dtype=np.float32, seed=None):
        super().__init__()
        rng = generator(seed)
        self.ln1, self.ln2 = LayerNorm(d_model, dtype=dtype), LayerNorm(d_model, dtype=dtype)
        self.attn = MultiHeadAttention(d_model, num_heads, causal, dtype, rng)
        self.ff1 = TokenLinear(d_model, 4 * d_model, dtype=dtype, seed=rng, init="he")
        self.act = ReLU()
        self.ff2 = TokenLinear(4 * d_model, d_model, dtype=dtype, seed=rng)
        self.parts = [("ln1", self.ln1), ("attn", self.attn), ("ln2", self.ln2),
                      ("ff1", self.ff1), ("ff2", self.ff2)]

    def forward(self, x):
        x = x + self.attn.forward(self.ln1.forward(x))
        return x + self.ff2.forward(self.act.forward(self.ff1.forward(self.ln2.forward(x))))

    def backward(self, dy):
        d = self.ff2.backward(dy)
        dx = dy + self.ln2.backward(self.ff1.backward(self.act.backward(d)))
        return dx + self.ln1.backward(self.attn.backward(dx))
