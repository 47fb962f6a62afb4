"""The NumPy reference against finite differences (float64) and against PyTorch."""
import numpy as np
import pytest

import warnings

from dlkern import native, reference as R
from conftest import needs_torch, torch
from dlkern.specs.conv import GRAD_CASES as _CONV_GRAD_CASES

# The PyTorch comparisons run on both backends: the reference and the native kernels.
BOTH = pytest.mark.parametrize("M", [R, native], ids=["numpy", "native"])


@pytest.fixture(autouse=True)
def _quiet_fallback():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "dlkern: .* has no native kernel yet")
        yield

rng = np.random.default_rng(42)


def randn(*shape):
    return rng.standard_normal(shape)


# ---- finite differences: tests/test_gradients.py runs every spec's cases; here the
# properties a difference quotient does not see ----------------------------------------

CONV_CASES = _CONV_GRAD_CASES   # (B, C_in, H, W, C_out, K_h, K_w, stride, padding)


@pytest.mark.parametrize("case", CONV_CASES)
def test_col2im_is_the_adjoint_of_im2col(case):
    B, C, H, W, O, kh, kw, s, p = case
    x = randn(B, C, H, W)
    cols = R.im2col(x, (kh, kw), s, p)
    c = randn(*cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * R.col2im(c, x.shape, (kh, kw), s, p))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_rnn_steps_past_a_length_hold_and_get_no_gradient():
    B, T, D, H = 3, 4, 2, 5
    lengths = np.array([4, 1, 3])
    x, h0 = randn(B, T, D), randn(B, H)
    W, U, b = randn(H, H) * 0.5, randn(H, D) * 0.5, randn(H)
    hs = R.rnn_forward(x, h0, W, U, b, "tanh", lengths)
    grads = R.rnn_backward(randn(B, T, H), x, hs, h0, W, U, "tanh", lengths)
    for i, L in enumerate(lengths):
        assert np.all(grads[0][i, L:] == 0)
        np.testing.assert_array_equal(hs[i, L:], np.broadcast_to(hs[i, L - 1], hs[i, L:].shape))


ATTN_CASES = [  # (lead, T_q, T_k, d_k, d_v, causal, with mask)
    ((2,), 5, 5, 4, 3, False, False),
    ((2, 2), 6, 6, 4, 4, True, False),
    ((1,), 3, 7, 2, 5, False, True),
    ((2,), 7, 4, 3, 3, True, False),
    ((), 1, 1, 2, 2, False, False),
]


def test_attention_query_that_sees_nothing():
    q, k, v = randn(3, 2), randn(4, 2), randn(4, 3)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    out, lse = R.scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(out[1] == 0) and lse[1] == -np.inf and np.all(np.isfinite(out))
    dq, dk, dv = R.scaled_dot_product_attention_backward(np.ones_like(out), q, k, v, out, lse,
                                                         mask=mask)
    assert np.all(dq[1] == 0) and np.all(np.isfinite(dk)) and np.all(np.isfinite(dv))


def test_sequence_mse_steps_past_a_length_get_no_gradient():
    _, grad = R.sequence_mse(randn(3, 4, 2), randn(3, 4, 2), np.array([4, 1, 2]))
    assert np.all(grad[1, 1:] == 0) and np.all(grad[2, 2:] == 0)


def test_seed_forms_of_losses_by_hand():
    # mse sums over output dimensions and averages over the batch (seed section 9)
    loss, _ = R.mse(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 1.0]]))
    assert loss == pytest.approx((1 + 4 + 1) / 2)
    # seed section 14: 1/N Σ 1/T_i Σ_t ‖·‖²
    y_hat = np.zeros((2, 3, 1))
    y = np.ones((2, 3, 1))
    loss, _ = R.sequence_mse(y_hat, y, np.array([3, 1]))
    assert loss == pytest.approx(0.5 * (3 / 3 + 1 / 1))


def test_bce_with_logits_is_stable_for_large_logits():
    z = np.array([1000.0, -1000.0, 0.0])
    y = np.array([1.0, 0.0, 1.0])
    loss, grad = R.bce_with_logits(z, y)
    assert np.isfinite(loss) and loss == pytest.approx(np.log(2) / 3)
    assert np.all(np.isfinite(grad))


def test_sigmoid_and_softmax_do_not_overflow():
    x = np.array([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(R.sigmoid(x), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(R.softmax(x), [0.0, 0.0, 1.0])


def test_pool_ties_go_first_and_nan_wins():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 1, 3] = np.nan
    y, idx = R.max_pool2d(x, 2)
    assert idx.tolist() == [[[[0, 7]]]] and y[0, 0, 0, 0] == 0 and np.isnan(y[0, 0, 0, 1])
    x = np.full((1, 1, 3, 3), -np.inf)
    y, idx = R.max_pool2d(x, 3, 1, 1)
    assert idx.min() >= 0 and idx[0, 0, 0, 0] == 0      # never a padding position


# ---- PyTorch ---------------------------------------------------------------------------

def t(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(a, b.detach().numpy() if hasattr(b, "detach") else b,
                               rtol=tol, atol=tol)


TORCH_CONV = CONV_CASES + [(2, 5, 11, 9, 7, 2, 3, (2, 3), (0, 2)), (1, 2, 3, 3, 3, 3, 3, 1, 1)]


@needs_torch
@BOTH
@pytest.mark.parametrize("case", TORCH_CONV)
def test_conv2d_matches_torch(M, case):
    import torch.nn.functional as F
    B, C, H, W, O, kh, kw, s, p = case
    x, w, b = randn(B, C, H, W), randn(O, C, kh, kw), randn(O)
    y = M.conv2d(x, w, b, s, p)
    tx, tw, tb = t(x, True), t(w, True), t(b, True)
    ty = F.conv2d(tx, tw, tb, s, p)
    close(y, ty)
    dy = randn(*y.shape)
    ty.backward(t(dy))
    dx, dw, db = M.conv2d_backward(dy, x, w, s, p)
    close(dx, tx.grad), close(dw, tw.grad), close(db, tb.grad)


@needs_torch
@BOTH
@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1)),
                                   (1, 1, 0), (2, (2, 3), 0)])
def test_max_pool_matches_torch(M, k, s, p):
    import torch.nn.functional as F
    x = randn(2, 3, 7, 9)
    x[0, 0, :2, :2] = 1.0        # ties
    y, idx = M.max_pool2d(x, k, s, p)
    tx = t(x, True)
    ty, tidx = F.max_pool2d(tx, k, s, p, return_indices=True)
    close(y, ty, 0)
    np.testing.assert_array_equal(idx, tidx.numpy())
    dy = randn(*y.shape)
    ty.backward(t(dy))
    close(M.max_pool2d_backward(dy, idx, x.shape), tx.grad)


@needs_torch
@BOTH
def test_batch_norm_matches_torch(M):
    import torch.nn.functional as F
    x, gamma, beta = randn(4, 3, 5, 6) * 3 + 2, randn(3), randn(3)
    y, mean, invstd = M.batch_norm2d(x, gamma, beta, 1e-5)
    tx, tg, tb = t(x, True), t(gamma, True), t(beta, True)
    ty = F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    close(y, ty)
    dy = randn(*y.shape)
    ty.backward(t(dy))
    dx, dg, db = M.batch_norm2d_backward(dy, x, gamma, mean, invstd)
    close(dx, tx.grad), close(dg, tg.grad), close(db, tb.grad)


@needs_torch
@BOTH
def test_linear_and_activations_match_torch(M):
    import torch.nn.functional as F
    x, w, b = randn(5, 4), randn(3, 4), randn(3)
    tx, tw, tb = t(x, True), t(w, True), t(b, True)
    ty = F.linear(tx, tw, tb)
    close(M.linear(x, w, b), ty)
    dy = randn(5, 3)
    ty.backward(t(dy))
    for a, b_ in zip(M.linear_backward(dy, x, w), (tx.grad, tw.grad, tb.grad)):
        close(a, b_)
    z = randn(4, 6) * 5
    close(M.sigmoid(z), torch.sigmoid(t(z)))
    close(M.softmax(z, axis=0), torch.softmax(t(z), 0))
    close(M.relu(z), torch.relu(t(z)))


@needs_torch
@BOTH
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("B,T,D,H", [(3, 5, 2, 4), (1, 1, 3, 3), (2, 40, 4, 6)])
def test_rnn_matches_torch(M, nonlinearity, B, T, D, H):
    x, h0 = randn(B, T, D), randn(B, H)
    W, U, b = randn(H, H) * 0.4, randn(H, D) * 0.4, randn(H) * 0.1
    rnn = torch.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(t(W)), rnn.weight_ih_l0.copy_(t(U))
        rnn.bias_ih_l0.copy_(t(b)), rnn.bias_hh_l0.zero_()
    tx, th0 = t(x, True), t(h0[None], True)
    ths, _ = rnn(tx, th0)
    hs = M.rnn_forward(x, h0, W, U, b, nonlinearity)
    close(hs, ths)
    dhs = randn(B, T, H)
    ths.backward(t(dhs))
    dx, dh0, dW, dU, db = M.rnn_backward(dhs, x, hs, h0, W, U, nonlinearity)
    close(dx, tx.grad), close(dh0, th0.grad[0]), close(dW, rnn.weight_hh_l0.grad)
    close(dU, rnn.weight_ih_l0.grad), close(db, rnn.bias_ih_l0.grad)


@needs_torch
@BOTH
def test_rnn_lengths_match_torch_packed(M):
    B, T, D, H = 3, 6, 2, 4
    x, h0 = randn(B, T, D), randn(B, H)
    W, U, b = randn(H, H) * 0.4, randn(H, D) * 0.4, randn(H) * 0.1
    lengths = np.array([6, 1, 4])
    hs = M.rnn_forward(x, h0, W, U, b, "tanh", lengths)
    rnn = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(t(W)), rnn.weight_ih_l0.copy_(t(U))
        rnn.bias_ih_l0.copy_(t(b)), rnn.bias_hh_l0.zero_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(t(x), torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    out, hn = rnn(packed, t(h0[None]))
    close(hs[:, -1], hn[0])
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    for i, L in enumerate(lengths):
        close(hs[i, :L], padded[i, :L])


@needs_torch
@BOTH
@pytest.mark.parametrize("case", ATTN_CASES + [((2, 3), 9, 9, 8, 8, True, True)])
def test_attention_matches_torch(M, case):
    import torch.nn.functional as F
    lead, tq, tk, dk, dv, causal, with_mask = case
    q, k, v = randn(*lead, tq, dk), randn(*lead, tk, dk), randn(*lead, tk, dv)
    mask = None
    if with_mask:
        mask = rng.random((tq, tk)) > 0.3
        mask[:, 0] = True
    out, lse = M.scaled_dot_product_attention(q, k, v, causal, mask=mask)
    tq_, tk_, tv_ = t(q, True), t(k, True), t(v, True)
    tmask = None if mask is None else torch.tensor(mask)
    if causal and mask is not None:
        tmask = tmask & torch.ones(tq, tk, dtype=torch.bool).tril()
    tout = F.scaled_dot_product_attention(tq_, tk_, tv_, attn_mask=tmask,
                                          is_causal=causal and mask is None)
    close(out, tout)
    dout = randn(*out.shape)
    tout.backward(t(dout))
    for a, b in zip(M.scaled_dot_product_attention_backward(dout, q, k, v, out, lse, causal,
                                                            mask=mask),
                    (tq_.grad, tk_.grad, tv_.grad)):
        close(a, b)
    s = (q @ np.swapaxes(k, -1, -2)) / np.sqrt(dk)
    vis = np.ones((tq, tk), bool) if not causal else np.tril(np.ones((tq, tk), bool))
    if mask is not None:
        vis &= mask
    close(lse, torch.logsumexp(t(np.where(vis, s, -np.inf)), -1))


@needs_torch
@BOTH
def test_losses_match_torch(M):
    import torch.nn.functional as F
    logits, labels = randn(6, 5), rng.integers(0, 5, 6)
    tl = t(logits, True)
    tloss = F.cross_entropy(tl, torch.tensor(labels))
    tloss.backward()
    loss, grad = M.cross_entropy(logits, labels)
    close(loss, tloss), close(grad, tl.grad)
    p, y = rng.uniform(0.05, 0.95, 7), rng.integers(0, 2, 7).astype(float)
    tp = t(p, True)
    tloss = F.binary_cross_entropy(tp, t(y))
    tloss.backward()
    loss, grad = M.bce(p, y)
    close(loss, tloss), close(grad, tp.grad)
    z = randn(7) * 4
    tz = t(z, True)
    tloss = F.binary_cross_entropy_with_logits(tz, t(y))
    tloss.backward()
    loss, grad = M.bce_with_logits(z, y)
    close(loss, tloss), close(grad, tz.grad)
    a, b = randn(4, 3), randn(4, 3)
    loss, _ = M.mse(a, b)
    close(loss, F.mse_loss(t(a), t(b), reduction="sum") / 4)
