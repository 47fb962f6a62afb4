"""lstm_forward / lstm_backward against torch.nn.LSTM (gates i, f, g, o), with and
without lengths, on both backends; nn.LSTM on them."""
import numpy as np
import pytest

import dlkern
from dlkern import native, nn, reference
from conftest import DTYPES, needs_torch, torch


def _torch_lstm(W, U, b):
    H, D = W.shape[1], U.shape[1]
    m = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.from_numpy(W).dtype)
    with torch.no_grad():
        m.weight_hh_l0.copy_(torch.from_numpy(W))
        m.weight_ih_l0.copy_(torch.from_numpy(U))
        m.bias_ih_l0.copy_(torch.from_numpy(b))
        m.bias_hh_l0.zero_()
    return m


@needs_torch
@pytest.mark.parametrize("m", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,T,D,H,lengths", [(3, 7, 5, 9, None), (1, 1, 2, 3, None),
                                             (4, 11, 3, 17, [11, 1, 5, 8]), (2, 40, 8, 64, None),
                                             (3, 6, 40, 20, [6, 2, 5])])
def test_lstm_matches_torch(m, dtype, B, T, D, H, lengths):
    rng = np.random.default_rng(B * T + H)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0, c0 = (rng.standard_normal((2, B, H)) * 0.5).astype(dtype)
    W = (rng.standard_normal((4 * H, H)) * H ** -0.5).astype(dtype)
    U = (rng.standard_normal((4 * H, D)) * D ** -0.5).astype(dtype)
    b = (rng.standard_normal(4 * H) * 0.1).astype(dtype)
    lens = None if lengths is None else np.array(lengths)
    L = np.full(B, T) if lens is None else lens
    valid = (np.arange(T)[None, :] < L[:, None])[..., None]
    dhs = (rng.standard_normal((B, T, H)) * valid).astype(dtype)
    dcl = rng.standard_normal((B, H)).astype(dtype)

    hs, cs = m.lstm_forward(x, h0, c0, W, U, b, lens)
    grads = m.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lens, dcl)

    lstm = _torch_lstm(W, U, b)
    tx = torch.tensor(x, requires_grad=True)
    th, tc = torch.tensor(h0[None], requires_grad=True), torch.tensor(c0[None], requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(L), batch_first=True,
                                                     enforce_sorted=False)
    out, (hn, cn) = lstm(packed, (th, tc))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    ((out * torch.tensor(dhs)).sum() + (cn[0] * torch.tensor(dcl)).sum()).backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(hs * valid, out.detach().numpy(), atol=tol)
    np.testing.assert_allclose(hs[:, -1], hn[0].detach().numpy(), atol=tol)
    np.testing.assert_allclose(cs[:, -1], cn[0].detach().numpy(), atol=tol)
    want = [tx.grad, th.grad[0], tc.grad[0], lstm.weight_hh_l0.grad, lstm.weight_ih_l0.grad,
            lstm.bias_ih_l0.grad]
    for name, got, w in zip(["dx", "dh0", "dc0", "dW", "dU", "db"], grads, want):
        np.testing.assert_allclose(got, w.numpy(), atol=tol * 20, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("B,T,D,H,lengths", [(3, 7, 5, 9, None), (1, 1, 2, 3, None),
                                             (4, 11, 3, 40, [11, 1, 5, 8]),
                                             (2, 30, 8, 160, [30, 17]),
                                             (3, 6, 40, 20, [6, 2, 5])])
def test_lstm_saved_gates(dtype, threads, B, T, D, H, lengths):
    """return_gates gives every step's [i | f | g | o] as the reference computes them, and
    lstm_backward(gates=...) gives what it gives when it recomputes them."""
    rng = np.random.default_rng(B + T + H)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0, c0 = (rng.standard_normal((2, B, H)) * 0.5).astype(dtype)
    W = (rng.standard_normal((4 * H, H)) * H ** -0.5).astype(dtype)
    U = (rng.standard_normal((4 * H, D)) * D ** -0.5).astype(dtype)
    b = (rng.standard_normal(4 * H) * 0.1).astype(dtype)
    dhs = rng.standard_normal((B, T, H)).astype(dtype)
    dcl = rng.standard_normal((B, H)).astype(dtype)
    lens = None if lengths is None else np.array(lengths)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    rhs, rcs, rg = reference.lstm_forward(x, h0, c0, W, U, b, lens, return_gates=True)
    with dlkern.threads(threads):
        hs, cs, gates = native.lstm_forward(x, h0, c0, W, U, b, lens, return_gates=True)
        plain = native.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lens, dcl)
        saved = native.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lens, dcl, gates)
    assert gates.shape == (B, T, 4 * H) and gates.dtype == dtype
    np.testing.assert_allclose(gates, rg, atol=tol)
    np.testing.assert_array_equal(hs, native.lstm_forward(x, h0, c0, W, U, b, lens)[0])
    ref = reference.lstm_backward(dhs, x, rhs, rcs, h0, c0, W, U, b, lens, dcl, rg)
    for name, p, s, r in zip(["dx", "dh0", "dc0", "dW", "dU", "db"], plain, saved, ref):
        np.testing.assert_allclose(s, p, atol=tol, err_msg=name)
        np.testing.assert_allclose(s, r, atol=tol * 20, err_msg=name)
    with pytest.raises(ValueError, match=r"lstm_backward: gates must have shape"):
        native.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b, lens, dcl, gates[:, :, :-1])


def test_nn_lstm_trains_on_both_backends_alike():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 3))
    out = {}
    for backend in ("numpy", "native"):
        with dlkern.use_backend(backend):
            layer = nn.LSTM(3, 5, dtype=np.float64, seed=1)
            hs = layer.forward(x)
            dx = layer.backward(np.ones_like(hs))
            out[backend] = (hs, dx, layer.gradients()["W"].copy())
    for a, e in zip(out["native"], out["numpy"]):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
    assert out["native"][0].shape == (4, 6, 5)
