"""Specs of the vanilla RNN (seed section 4) and the LSTM (contract additions)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand

_CASES = [  # label, B, T, D, H, nonlinearity, lengths
    ("rnn_temp-like", 4, 24, 8, 128, "tanh", None),
    ("relu, H != D", 3, 7, 5, 9, "relu", None),
    ("T = 1", 2, 1, 3, 4, "tanh", None),
    ("B = 1", 1, 6, 2, 33, "tanh", None),
    ("lengths 1..T", 4, 9, 3, 20, "tanh", [9, 1, 4, 9]),
    ("relu with lengths", 3, 5, 2, 17, "relu", [2, 5, 1]),
    ("long T = 300", 2, 300, 4, 16, "tanh", None),
]


def inputs(rng, dtype, B, T, D, H):
    """x, h0, W, U, b at the scales of a trained network (W, U ~ 1/sqrt(fan-in))."""
    x = rand(rng, dtype, B, T, D)
    h0 = rand(rng, dtype, B, H, scale=0.5)
    W = rand(rng, dtype, H, H, scale=H ** -0.5)
    U = rand(rng, dtype, H, D, scale=D ** -0.5)
    b = rand(rng, dtype, H, scale=0.1)
    return x, h0, W, U, b


def _rnn_forward_samples(rng, dtype):
    for label, B, T, D, H, f, lengths in _CASES:
        x, h0, W, U, b = inputs(rng, dtype, B, T, D, H)
        lens = None if lengths is None else np.array(lengths)
        yield label, lambda m, a=(x, h0, W, U, b, f, lens): m.rnn_forward(*a)
    x, h0, W, U, b = inputs(rng, dtype, 2, 5, 6, 8)
    yield "non-contiguous x, no bias", lambda m: m.rnn_forward(x[:, :, ::2], h0, W, U[:, ::2],
                                                               None)


def _rnn_backward_samples(rng, dtype):
    from .. import reference
    for label, B, T, D, H, f, lengths in _CASES:
        x, h0, W, U, b = inputs(rng, dtype, B, T, D, H)
        lens = None if lengths is None else np.array(lengths)
        hs = reference.rnn_forward(x, h0, W, U, b, f, lens)
        dhs = rand(rng, dtype, *hs.shape)
        yield label, lambda m, a=(dhs, x, hs, h0, W, U, f, lens): m.rnn_backward(*a)


def _rnn_fuzz(backward):
    def fuzz(st):
        def make(B, T, D, H, relu, dtype, seed):
            rng = np.random.default_rng(seed)
            x, h0, W, U, b = inputs(rng, dtype, B, T, D, H)
            lengths = rng.integers(1, T + 1, B)
            f = "relu" if relu else "tanh"
            if not backward:
                return Case(dtype, lambda m: m.rnn_forward(x, h0, W, U, b, f, lengths))
            from .. import reference
            hs = reference.rnn_forward(x, h0, W, U, b, f, lengths)
            dhs = rand(rng, dtype, *hs.shape)
            return Case(dtype, lambda m: m.rnn_backward(dhs, x, hs, h0, W, U, f, lengths))
        i = st.integers
        return st.builds(make, i(1, 4), i(1, 30), i(1, 5), i(1, 40), st.booleans(),
                         st.sampled_from([np.float32, np.float64]), i(0, 2 ** 31))
    return fuzz


def _rnn_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(7)
    for f in ("tanh", "relu"):
        for lengths in (None, np.array([4, 1, 3])):
            B, T, D, H = 3, 4, 2, 5
            x, h0 = rand(rng, float, B, T, D), rand(rng, float, B, H)
            W, U, b = rand(rng, float, H, H, scale=0.5), rand(rng, float, H, D, scale=0.5), \
                rand(rng, float, H)
            hs = R.rnn_forward(x, h0, W, U, b, f, lengths)
            dhs = rand(rng, float, B, T, H)
            yield Grad(f"{f}, lengths {lengths}",
                       lambda x, h0, W, U, b, f=f, L=lengths: R.rnn_forward(x, h0, W, U, b, f, L),
                       [x, h0, W, U, b], list(R.rnn_backward(dhs, x, hs, h0, W, U, f, lengths)),
                       dhs)


_BENCH = [(1, 1, 2, 4), (4, 10, 8, 32), (32, 168, 8, 128), (64, 50, 64, 256), (8, 100, 128, 512)]


def _rnn_forward_bench(rng, dtype):
    for B, T, D, H in _BENCH:
        yield f"B{B} T{T} D{D} H{H}", inputs(rng, dtype, B, T, D, H), {}


def _rnn_backward_bench(rng, dtype):
    from .. import reference
    for label, (x, h0, W, U, b), _ in _rnn_forward_bench(rng, dtype):
        hs = reference.rnn_forward(x, h0, W, U, b)
        yield label, (rand(rng, dtype, *hs.shape), x, hs, h0, W, U), {}


def _torch_rnn_forward(torch, x, h0, W, U, b=None, nonlinearity="tanh", lengths=None):
    H, D = U.shape
    rnn = torch.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True,
                       dtype=torch.from_numpy(x).dtype)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.from_numpy(W))
        rnn.weight_ih_l0.copy_(torch.from_numpy(U))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.copy_(torch.from_numpy(b) if b is not None else 0)
    tx, th = torch.from_numpy(x), torch.from_numpy(h0)[None]

    def call():
        with torch.no_grad():
            return rnn(tx, th)
    return call


def _rnn_backward_valid():
    from .. import reference
    xs, h0, W, U, b = (fixed_rand(2, 4, 3), fixed_rand(2, 5), fixed_rand(5, 5),
                       fixed_rand(5, 3), fixed_rand(5))
    hs = reference.rnn_forward(xs, h0, W, U, b)
    return [hs, xs, hs, h0, W, U], {"nonlinearity": "tanh"}


def _five(B=2, T=5, D=3, H=4):
    return [ones(B, T, D), ones(B, H), ones(H, H), ones(H, D), ones(H)]


SPECS = [
    Spec("rnn_forward", _rnn_forward_samples,
         valid=lambda: ([fixed_rand(2, 4, 3), fixed_rand(2, 5), fixed_rand(5, 5),
                         fixed_rand(5, 3), fixed_rand(5)],
                        {"nonlinearity": "tanh", "lengths": np.array([4, 2])}),
         errors=lambda: [
             ((ones(2, 5, 3), ones(2, 4), ones(4, 4), ones(4, 2), ones(4)), {}, ValueError, r"rnn_forward: U must have shape \(4, 3\)"),
             ((ones(2, 5, 3), ones(2, 4), ones(4, 3), ones(4, 3), ones(4)), {}, ValueError, r"rnn_forward: W must have shape \(4, 4\)"),
             ((ones(2, 5, 3), ones(3, 4), ones(4, 4), ones(4, 3), ones(4)), {}, ValueError, r"rnn_forward: h0 has batch 3, x has batch 2"),
             (tuple(_five()), {"nonlinearity": "gelu"}, ValueError, r"rnn_forward: nonlinearity must be one of"),
             (tuple(_five()), {"lengths": np.array([6, 1])}, ValueError, r"rnn_forward: lengths must lie in \[1, T\] = \[1, 5\]"),
             (tuple(_five()), {"lengths": np.array([0, 1])}, ValueError, r"rnn_forward: lengths must lie in"),
             ((np.ones((2, 5, 3), int),) + tuple(_five()[1:]), {}, TypeError, r"rnn_forward: x must be float32 or float64"),
             (tuple(_five()[:4]) + (ones(3),), {}, ValueError, r"rnn_forward: b must have shape \(4,\), got \(3,\)")],
         grad="the gradient of rnn_forward: rnn_backward's cases check it",
         fuzz=_rnn_fuzz(backward=False), bench=_rnn_forward_bench, torch=_torch_rnn_forward),
    Spec("rnn_backward", _rnn_backward_samples,
         valid=_rnn_backward_valid,
         errors=lambda: [
             ((ones(2, 5, 4), ones(2, 5, 3), ones(2, 5, 4), ones(2, 4), ones(4, 4), ones(4, 3)), {"lengths": np.array([1.0, 2.0])}, TypeError, r"rnn_backward: lengths must be an integer array"),
             ((ones(2, 5, 4), ones(2, 5, 3), ones(2, 4, 4), ones(2, 4), ones(4, 4), ones(4, 3)), {}, ValueError, r"rnn_backward: hs must have shape \(2, 5, 4\) \(B, T, H\), got \(2, 4, 4\)")],
         grad=_rnn_backward_grad, fuzz=_rnn_fuzz(backward=True), bench=_rnn_backward_bench),
]


# ---- LSTM ----------------------------------------------------------------------------

_LSTM_CASES = [  # label, B, T, D, H, lengths
    ("electricity-like", 4, 24, 8, 64, None), ("T = 1", 2, 1, 3, 4, None),
    ("B = 1, odd H", 1, 6, 2, 33, None), ("lengths 1..T", 4, 9, 3, 20, [9, 1, 4, 9]),
    ("long T = 200", 2, 200, 4, 16, None), ("input wider than state", 3, 5, 24, 8, [5, 2, 4]),
]


def lstm_inputs(rng, dtype, B, T, D, H):
    """x, h0, c0, W, U, b at the scales of a trained network."""
    x = rand(rng, dtype, B, T, D)
    h0, c0 = rand(rng, dtype, B, H, scale=0.5), rand(rng, dtype, B, H, scale=0.5)
    W = rand(rng, dtype, 4 * H, H, scale=H ** -0.5)
    U = rand(rng, dtype, 4 * H, D, scale=D ** -0.5)
    return x, h0, c0, W, U, rand(rng, dtype, 4 * H, scale=0.1)


def _lstm_forward_samples(rng, dtype):
    for label, B, T, D, H, lengths in _LSTM_CASES:
        a = lstm_inputs(rng, dtype, B, T, D, H)
        lens = None if lengths is None else np.array(lengths)
        yield label, lambda m, a=a, lens=lens: m.lstm_forward(*a, lengths=lens)
    x, h0, c0, W, U, b = lstm_inputs(rng, dtype, 2, 5, 6, 8)
    yield "non-contiguous x, no bias", lambda m: m.lstm_forward(
        x[:, :, ::2], h0, c0, W, U[:, ::2], None)
    yield "return_gates", lambda m: m.lstm_forward(x, h0, c0, W, U, b, return_gates=True)


def _lstm_backward_samples(rng, dtype):
    from .. import reference
    for label, B, T, D, H, lengths in _LSTM_CASES:
        x, h0, c0, W, U, b = lstm_inputs(rng, dtype, B, T, D, H)
        lens = None if lengths is None else np.array(lengths)
        hs, cs = reference.lstm_forward(x, h0, c0, W, U, b, lens)
        dhs, dcl = rand(rng, dtype, *hs.shape), rand(rng, dtype, B, H)
        yield label, lambda m, a=(dhs, x, hs, cs, h0, c0, W, U, b, lens, dcl): \
            m.lstm_backward(*a)
    x, h0, c0, W, U, b = lstm_inputs(rng, dtype, 3, 6, 4, 20)
    hs, cs, gates = reference.lstm_forward(x, h0, c0, W, U, b, np.array([6, 2, 4]),
                                           return_gates=True)
    yield "saved gates (Fortran order), lengths", lambda m: m.lstm_backward(
        hs, x, hs, cs, h0, c0, W, U, b, np.array([6, 2, 4]), gates=np.asfortranarray(gates))


def _lstm_fuzz(backward):
    def fuzz(st):
        def make(B, T, D, H, bias, dc, dtype, seed):
            rng = np.random.default_rng(seed)
            x, h0, c0, W, U, b = lstm_inputs(rng, dtype, B, T, D, H)
            b = b if bias else None
            lengths = rng.integers(1, T + 1, B)
            if not backward:
                return Case(dtype, lambda m: m.lstm_forward(x, h0, c0, W, U, b, lengths))
            from .. import reference
            hs, cs = reference.lstm_forward(x, h0, c0, W, U, b, lengths)
            dhs = rand(rng, dtype, *hs.shape)
            dcl = rand(rng, dtype, B, H) if dc else None
            return Case(dtype, lambda m: m.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b,
                                                         lengths, dcl))
        i = st.integers
        return st.builds(make, i(1, 4), i(1, 20), i(1, 5), i(1, 40), st.booleans(),
                         st.booleans(), st.sampled_from([np.float32, np.float64]),
                         i(0, 2 ** 31))
    return fuzz


def _lstm_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(8)
    for lengths in (None, np.array([4, 1, 3])):
        B, T, D, H = 3, 4, 2, 5
        x, h0, c0, W, U, b = lstm_inputs(rng, float, B, T, D, H)
        hs, cs = R.lstm_forward(x, h0, c0, W, U, b, lengths)
        dhs, dcs = rand(rng, float, B, T, H), rand(rng, float, B, T, H)
        # a loss on hs and on the final cell state (dc_last); the cell states of the
        # other steps get no direct gradient
        dcs[:, :-1] = 0
        yield Grad(f"lengths {lengths}",
                   lambda x, h0, c0, W, U, b, L=lengths: R.lstm_forward(x, h0, c0, W, U, b, L),
                   [x, h0, c0, W, U, b],
                   list(R.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lengths,
                                        dcs[:, -1].copy())),
                   (dhs, dcs))


_LSTM_BENCH = [(1, 1, 2, 4), (4, 10, 8, 32), (32, 168, 8, 128), (64, 50, 64, 256),
               (128, 16, 256, 512)]


def _lstm_forward_bench(rng, dtype):
    for B, T, D, H in _LSTM_BENCH:
        yield f"B{B} T{T} D{D} H{H}", lstm_inputs(rng, dtype, B, T, D, H), {}


def _lstm_backward_bench(rng, dtype):
    from .. import reference
    for label, (x, h0, c0, W, U, b), _ in _lstm_forward_bench(rng, dtype):
        hs, cs = reference.lstm_forward(x, h0, c0, W, U, b)
        yield label, (rand(rng, dtype, *hs.shape), x, hs, cs, h0, c0, W, U, b), {}


def _torch_lstm_forward(torch, x, h0, c0, W, U, b=None, lengths=None):
    H, D = W.shape[1], U.shape[1]
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.from_numpy(x).dtype)
    with torch.no_grad():
        lstm.weight_hh_l0.copy_(torch.from_numpy(W))
        lstm.weight_ih_l0.copy_(torch.from_numpy(U))
        lstm.bias_hh_l0.zero_()
        lstm.bias_ih_l0.copy_(torch.from_numpy(b) if b is not None else 0)
    tx, th, tc = torch.from_numpy(x), torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]

    def call():
        with torch.no_grad():
            return lstm(tx, (th, tc))
    return call


def _lstm_backward_valid():
    from .. import reference
    a = lstm_inputs(np.random.default_rng(0), np.float32, 2, 4, 3, 5)
    hs, cs = reference.lstm_forward(*a)
    return [hs, a[0], hs, cs, *a[1:]], {}


def _six(B=2, T=5, D=3, H=4):
    return [ones(B, T, D), ones(B, H), ones(B, H), ones(4 * H, H), ones(4 * H, D), ones(4 * H)]


SPECS += [
    Spec("lstm_forward", _lstm_forward_samples,
         valid=lambda: (list(lstm_inputs(np.random.default_rng(0), np.float32, 2, 4, 3, 5)),
                        {"lengths": np.array([4, 2])}),
         errors=lambda: [
             (tuple(_six()[:3]) + (ones(4, 4), ones(16, 3), ones(16)), {}, ValueError, r"lstm_forward: W must have shape \(16, 4\) \(4H, H\)"),
             (tuple(_six()[:4]) + (ones(16, 2), ones(16)), {}, ValueError, r"lstm_forward: U must have shape \(16, 3\)"),
             ((ones(2, 5, 3), ones(2, 4), ones(2, 3)) + tuple(_six()[3:]), {}, ValueError, r"lstm_forward: c0 must have shape \(2, 4\)"),
             (tuple(_six()[:5]) + (ones(4),), {}, ValueError, r"lstm_forward: b must have shape \(16,\), got \(4,\)"),
             (tuple(_six()), {"lengths": np.array([6, 1])}, ValueError, r"lstm_forward: lengths must lie in \[1, T\] = \[1, 5\]")],
         grad="the gradient of lstm_forward: lstm_backward's cases check it",
         fuzz=_lstm_fuzz(backward=False), bench=_lstm_forward_bench, torch=_torch_lstm_forward),
    Spec("lstm_backward", _lstm_backward_samples,
         valid=_lstm_backward_valid,
         errors=lambda: [
             ((ones(2, 5, 4), ones(2, 5, 3), ones(2, 5, 4), ones(2, 4, 4)) + tuple(_six()[1:]), {}, ValueError, r"lstm_backward: cs must have shape \(2, 5, 4\) \(B, T, H\), got \(2, 4, 4\)"),
             ((ones(2, 5, 4), ones(2, 5, 3), ones(2, 5, 4), ones(2, 5, 4)) + tuple(_six()[1:]), {"dc_last": ones(2, 5)}, ValueError, r"lstm_backward: dc_last must have shape \(2, 4\)")],
         grad=_lstm_backward_grad, fuzz=_lstm_fuzz(backward=True), bench=_lstm_backward_bench),
]
