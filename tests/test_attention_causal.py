"""causal_variant: the causal diagonal aligned top-left (the default, PyTorch's is_causal)
or bottom-right (PyTorch's causal_lower_right, what a key/value-cache decode step needs),
on both backends against torch, forward and backward."""
import numpy as np
import pytest

from dlkern import native, reference
from conftest import DTYPES, needs_torch, torch

SHAPES = [(1, 37, 16), (1, 1, 8), (4, 200, 64), (64, 64, 32), (70, 130, 64), (3, 300, 128)]


@needs_torch
@pytest.mark.parametrize("m", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["upper_left", "lower_right"])
@pytest.mark.parametrize("Tq,Tk,d", SHAPES)
def test_causal_variants_match_torch(m, dtype, variant, Tq, Tk, d):
    from torch.nn.attention.bias import causal_lower_right, causal_upper_left
    rng = np.random.default_rng(Tq * Tk + d)
    q = rng.standard_normal((2, 2, Tq, d)).astype(dtype)
    k, v = rng.standard_normal((2, 2, 2, Tk, d)).astype(dtype)
    do = rng.standard_normal((2, 2, Tq, d)).astype(dtype)
    out, lse = m.scaled_dot_product_attention(q, k, v, True, causal_variant=variant)
    grads = m.scaled_dot_product_attention_backward(do, q, k, v, out, lse, True,
                                                    causal_variant=variant)
    bias = (causal_upper_left if variant == "upper_left" else causal_lower_right)(Tq, Tk)
    t = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    to = torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=bias)
    to.backward(torch.tensor(do))
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, to.detach().numpy(), atol=tol)
    for name, g, tt in zip(["dq", "dk", "dv"], grads, t):
        np.testing.assert_allclose(g, tt.grad.numpy(), atol=tol * 10, err_msg=name)


@pytest.mark.parametrize("m", [reference, native], ids=["numpy", "native"])
def test_lower_right_decode_step_sees_the_whole_cache_and_default_is_upper_left(m):
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((1, 4)), rng.standard_normal((9, 4)), rng.standard_normal((9, 4))
    full, _ = m.scaled_dot_product_attention(q, k, v)
    lower, _ = m.scaled_dot_product_attention(q, k, v, True, causal_variant="lower_right")
    upper, _ = m.scaled_dot_product_attention(q, k, v, True)
    np.testing.assert_allclose(lower, full, atol=1e-12)          # T_q = 1: every key
    np.testing.assert_allclose(upper, v[:1], atol=1e-12)          # top-left: key 0 only
    # more queries than keys: the first T_q − T_k queries see nothing (out 0, lse −inf)
    out, lse = m.scaled_dot_product_attention(k, q, q, True, causal_variant="lower_right")
    assert np.all(out[:8] == 0) and np.all(np.isneginf(lse[:8])) and np.isfinite(lse[8])
    with pytest.raises(ValueError, match="causal_variant must be 'upper_left' or"):
        m.scaled_dot_product_attention(q, k, v, True, causal_variant="bottom_right")
