"""Specs of scaled dot-product attention (seed section 12)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, tensors

_CASES = [  # label, leading dims, T_q, T_k, d_k, d_v, causal, mask kind
    ("attn_512-like", (2, 2), 200, 200, 64, 64, False, None),
    ("causal, T not a multiple of the blocks", (2,), 300, 300, 16, 16, True, None),
    ("T_q != T_k", (3,), 70, 130, 8, 12, False, None),
    ("causal T_q != T_k", (2,), 130, 70, 8, 8, True, None),
    ("T_q = 1", (2,), 1, 3, 4, 4, False, None),   # T_k = 1 would make dq, dk exactly 0
    ("odd T, d_v != d_k", (1, 3), 37, 41, 5, 7, False, None),
    ("shared mask", (2, 2), 50, 60, 8, 8, False, "shared"),
    ("per-head mask and causal", (2, 2), 40, 40, 8, 8, True, "per-head"),
    ("a query that sees nothing", (2,), 20, 30, 4, 4, False, "empty row"),
    ("one head, no leading dims (the two-pass backward at 2 threads)", (), 150, 200, 16,
     16, True, None),
]


def _inputs(rng, dtype, lead, tq, tk, dk, dv, mask_kind):
    q, k, v = rand(rng, dtype, *lead, tq, dk), rand(rng, dtype, *lead, tk, dk), \
        rand(rng, dtype, *lead, tk, dv)
    mask = None
    if mask_kind == "shared":
        mask = rng.random((tq, tk)) > 0.3
    elif mask_kind == "per-head":
        mask = rng.random(lead + (tq, tk)) > 0.3
        mask[..., 0] = True
    elif mask_kind == "empty row":
        mask = np.ones((tq, tk), bool)
        mask[3] = False
    elif mask_kind == "random":
        mask = rng.random((tq, tk)) > 0.2
    return q, k, v, mask


def _forward_samples(rng, dtype):
    for label, lead, tq, tk, dk, dv, causal, mk in _CASES:
        q, k, v, mask = _inputs(rng, dtype, lead, tq, tk, dk, dv, mk)
        yield label, lambda m, a=(q, k, v, causal, None, mask): \
            m.scaled_dot_product_attention(*a)
    q, k, v, _ = _inputs(rng, dtype, (2,), 20, 20, 8, 8, None)
    yield "non-contiguous q, scale 0.3", lambda m: m.scaled_dot_product_attention(
        np.swapaxes(np.swapaxes(q, 0, 1).copy(), 0, 1), k, v, False, 0.3)
    for label, tq, tk in _LOWER_RIGHT:
        q, k, v, mask = _inputs(rng, dtype, (2,), tq, tk, 16, 8, None)
        yield label, lambda m, a=(q, k, v, True): m.scaled_dot_product_attention(
            *a, causal_variant="lower_right")


# causal_variant="lower_right": decode steps against a cache, and more queries than keys
_LOWER_RIGHT = [("lower-right, decode T_q 1", 1, 150), ("lower-right, T_q 5 of 90", 5, 90),
                ("lower-right, T_q > T_k", 40, 24)]


def _backward_samples(rng, dtype):
    from .. import reference
    for label, lead, tq, tk, dk, dv, causal, mk in _CASES:
        q, k, v, mask = _inputs(rng, dtype, lead, tq, tk, dk, dv, mk)
        out, lse = reference.scaled_dot_product_attention(q, k, v, causal, mask=mask)
        dout = rand(rng, dtype, *out.shape)
        yield label, lambda m, a=(dout, q, k, v, out, lse, causal, None, mask): \
            m.scaled_dot_product_attention_backward(*a)
    for label, tq, tk in _LOWER_RIGHT:
        q, k, v, _ = _inputs(rng, dtype, (2,), tq, tk, 16, 8, None)
        out, lse = reference.scaled_dot_product_attention(q, k, v, True,
                                                          causal_variant="lower_right")
        dout = rand(rng, dtype, *out.shape)
        yield label, lambda m, a=(dout, q, k, v, out, lse, True): \
            m.scaled_dot_product_attention_backward(*a, causal_variant="lower_right")


def _fuzz(backward):
    def fuzz(st):
        def make(lead, tq, tk, dk, dv, causal, masked, dtype, seed):
            rng = np.random.default_rng(seed)
            q, k, v, mask = _inputs(rng, dtype, tuple(lead), tq, tk, dk, dv,
                                    "random" if masked else None)
            if not backward:
                return Case(dtype, lambda m: m.scaled_dot_product_attention(q, k, v, causal,
                                                                            mask=mask))
            from .. import reference
            out, lse = reference.scaled_dot_product_attention(q, k, v, causal, mask=mask)
            dout = rand(rng, dtype, *out.shape)
            return Case(dtype, lambda m: m.scaled_dot_product_attention_backward(
                dout, q, k, v, out, lse, causal, mask=mask))
        i = st.integers
        return st.builds(make, st.lists(i(1, 3), max_size=2), i(1, 150), i(1, 150), i(1, 9),
                         i(1, 9), st.booleans(), st.booleans(),
                         st.sampled_from([np.float32, np.float64]), i(0, 2 ** 31))
    return fuzz


def _backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(8)
    for lead, tq, tk, dk, dv, causal, with_mask in [
            ((2,), 5, 5, 4, 3, False, False), ((2, 2), 6, 6, 4, 4, True, False),
            ((1,), 3, 7, 2, 5, False, True), ((2,), 7, 4, 3, 3, True, False),
            ((), 1, 1, 2, 2, False, False)]:
        q, k, v = rand(rng, float, *lead, tq, dk), rand(rng, float, *lead, tk, dk), \
            rand(rng, float, *lead, tk, dv)
        mask = rng.random((tq, tk)) > 0.3 if with_mask else None
        if mask is not None:
            mask[:, 0] = True
        out, lse = R.scaled_dot_product_attention(q, k, v, causal, mask=mask)
        dout = rand(rng, float, *out.shape)
        yield Grad(f"{lead} T_q {tq} T_k {tk} causal {causal} mask {with_mask}",
                   lambda q, k, v, c=causal, m=mask: R.scaled_dot_product_attention(
                       q, k, v, c, mask=m)[0], [q, k, v],
                   list(R.scaled_dot_product_attention_backward(dout, q, k, v, out, lse,
                                                                causal, mask=mask)), dout)


_BENCH = [((1, 1), 4, 8, False), ((8, 4), 64, 32, False), ((4, 12), 128, 64, True),
          ((8, 8), 512, 64, False), ((8, 8), 512, 64, True), ((2, 8), 2048, 64, True)]


def _forward_bench(rng, dtype):
    for lead, T, d, causal in _BENCH:
        q, k, v = (rand(rng, dtype, *lead, T, d) for _ in range(3))
        yield f"{lead} T{T} d{d}{' causal' if causal else ''}", (q, k, v), dict(causal=causal)


def _backward_bench(rng, dtype):
    from .. import reference
    for label, (q, k, v), kw in _forward_bench(rng, dtype):
        out, lse = reference.scaled_dot_product_attention(q, k, v, **kw)
        yield label, (out, q, k, v, out, lse), kw


def _numpy_attention(q, k, v, causal=False, scale=None, mask=None):
    """The softmax(QKᵀ/√d)V a user writes (no causal or mask handling needed here:
    the sweep's masked points pass causal only)."""
    s = (q @ np.swapaxes(k, -1, -2)) * (scale or q.shape[-1] ** -0.5)
    if causal:
        tq, tk = s.shape[-2:]
        s = np.where(np.tril(np.ones((tq, tk), bool), tk - tq), s, -np.inf)
    mx = s.max(axis=-1, keepdims=True)
    e = np.exp(s - mx)
    total = e.sum(axis=-1, keepdims=True)
    return (e / total) @ v, (mx + np.log(total))[..., 0]


def _torch_attention(torch, q, k, v, causal=False, scale=None, mask=None):
    t = tensors(torch, q, k, v)
    return lambda: torch.nn.functional.scaled_dot_product_attention(*t, is_causal=causal,
                                                                    scale=scale)


SPECS = [
    Spec("scaled_dot_product_attention", _forward_samples,
         valid=lambda: ([fixed_rand(2, 5, 4), fixed_rand(2, 6, 4), fixed_rand(2, 6, 3)],
                        {"causal": False}),
         errors=lambda: [
             ((ones(2, 5, 4), ones(2, 5, 3), ones(2, 5, 4)), {}, ValueError, r"scaled_dot_product_attention: k has d_k = 3, q has d_k = 4"),
             ((ones(2, 5, 4), ones(3, 5, 4), ones(3, 5, 4)), {}, ValueError, r"scaled_dot_product_attention: q, k and v must share their leading dimensions"),
             ((ones(2, 5, 4), ones(2, 6, 4), ones(2, 6, 4)), {"mask": np.ones((5, 5), bool)}, ValueError, r"scaled_dot_product_attention: mask of shape \(5, 5\) does not broadcast"),
             ((ones(2, 5, 4), ones(2, 6, 4), ones(2, 6, 4)), {"mask": np.ones((5, 6))}, TypeError, r"scaled_dot_product_attention: mask must be a boolean array"),
             ((np.ones((2, 5, 4), np.int16), ones(2, 5, 4), ones(2, 5, 4)), {}, TypeError, r"scaled_dot_product_attention: q must be float32 or float64")],
         grad=("the gradient of scaled_dot_product_attention: "
               "scaled_dot_product_attention_backward's cases check it"),
         fuzz=_fuzz(backward=False), bench=_forward_bench, numpy=_numpy_attention,
         torch=_torch_attention),
    Spec("scaled_dot_product_attention_backward", _backward_samples,
         valid=lambda: _backward_valid(),
         errors=lambda: [
             ((ones(2, 5, 4), ones(2, 5, 4), ones(2, 5, 4), ones(2, 5, 4), ones(2, 5, 4), ones(2, 4)), {}, ValueError, r"scaled_dot_product_attention_backward: lse must have shape \(2, 5\), got \(2, 4\)")],
         grad=_backward_grad, fuzz=_fuzz(backward=True), bench=_backward_bench),
]


def _backward_valid():
    from .. import reference
    q, k, v = fixed_rand(2, 5, 4), fixed_rand(2, 6, 4), fixed_rand(2, 6, 3)
    out, lse = reference.scaled_dot_product_attention(q, k, v)
    return [out, q, k, v, out, lse], {"causal": False}
