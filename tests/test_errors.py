"""Bad input gets a TypeError/ValueError that starts with the function's name and says
what was expected and what came — on both backends — and changes no input."""
import warnings

import numpy as np
import pytest

import dlkern
from conftest import backend  # noqa: F401  (fixture)

f32 = np.float32
z = np.zeros


def x4(*s):
    return np.ones(s, f32)


ERRORS = [
    # (function, args, kwargs, exception, message pattern)
    ("linear", (x4(2, 3), x4(4, 2)), {}, ValueError, r"linear: w has 2 input features, x has 3"),
    ("linear", (x4(2, 3, 1), x4(4, 3)), {}, ValueError, r"linear: x must be 2-D \(B, D_in\), got shape \(2, 3, 1\)"),
    ("linear", (x4(2, 3), x4(4, 3), x4(3)), {}, ValueError, r"linear: b must have shape \(4,\), got \(3,\)"),
    ("linear", (x4(2, 3), np.ones((4, 3))), {}, TypeError, r"linear: w is float64, x is float32"),
    ("relu", (np.ones(3, np.int64),), {}, TypeError, r"relu: x must be float32 or float64, got int64"),
    ("softmax", (x4(3),), {"axis": 2}, ValueError, r"softmax: axis must be an int in"),
    ("conv2d", (x4(3, 8, 8), x4(4, 3, 3, 3)), {}, ValueError, r"conv2d: x must be 4-D \(B, C_in, H, W\), got shape \(3, 8, 8\)"),
    ("conv2d", (x4(1, 3, 8, 8), x4(4, 2, 3, 3)), {}, ValueError, r"conv2d: w has 2 input channels, x has 3"),
    ("conv2d", (x4(1, 3, 8, 8), x4(4, 3, 3, 3)), {"stride": 0}, ValueError, r"conv2d: stride must be >= 1, got 0"),
    ("conv2d", (x4(1, 3, 8, 8), x4(4, 3, 3, 3)), {"padding": -1}, ValueError, r"conv2d: padding must be >= 0, got -1"),
    ("conv2d", (x4(1, 3, 4, 4), x4(4, 3, 7, 7)), {"padding": 1}, ValueError, r"conv2d: kernel height 7 is larger than the padded input height 4 \+ 2\*1 = 6"),
    ("conv2d", (np.ones((1, 3, 8, 8), np.int32), x4(4, 3, 3, 3)), {}, TypeError, r"conv2d: x must be float32 or float64, got int32"),
    ("conv2d", (x4(1, 3, 8, 8), x4(4, 3, 3, 3), x4(5)), {}, ValueError, r"conv2d: b must have shape \(4,\), got \(5,\)"),
    ("conv2d", (x4(1, 3, 8, 8), x4(4, 3, 3, 3)), {"stride": (1, 2, 3)}, ValueError, r"conv2d: stride must be an int or an \(h, w\) pair"),
    ("conv2d", (x4(1, 3, 8, 8), x4(4, 3, 3, 3)), {"stride": 1.5}, TypeError, r"conv2d: stride must be an int or an \(h, w\) pair of ints"),
    ("conv2d_backward", (x4(1, 4, 5, 5), x4(1, 3, 8, 8), x4(4, 3, 3, 3)), {}, ValueError, r"conv2d_backward: dy must have shape \(1, 4, 6, 6\)"),
    ("im2col", (x4(1, 3, 8, 8), 9), {}, ValueError, r"im2col: kernel height 9 is larger than the padded input height 8"),
    ("col2im", (x4(27, 35), (1, 3, 8, 8), 3), {}, ValueError, r"col2im: cols must have shape \(27, 36\) \(C·K_h·K_w, B·H_out·W_out\), got \(27, 35\)"),
    ("max_pool2d", (x4(1, 1, 4, 4), 2), {"padding": 2}, ValueError, r"max_pool2d: padding must be at most half the kernel size"),
    ("max_pool2d", (x4(1, 1, 4, 4), 0), {}, ValueError, r"max_pool2d: kernel_size must be >= 1, got 0"),
    ("max_pool2d_backward", (x4(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.int32), (1, 1, 4, 4)), {}, TypeError, r"max_pool2d_backward: indices must be an int64 array"),
    ("max_pool2d_backward", (x4(1, 1, 2, 2), np.full((1, 1, 2, 2), 16), (1, 1, 4, 4)), {}, ValueError, r"max_pool2d_backward: indices must lie in \[0, H·W\)"),
    ("max_pool2d_backward", (x4(1, 1, 2, 2), np.full((1, 1, 2, 2), -1), (1, 1, 4, 4)), {}, ValueError, r"max_pool2d_backward: indices must lie in \[0, H·W\)"),
    ("batch_norm2d", (x4(2, 3, 4, 4), x4(2), x4(3)), {}, ValueError, r"batch_norm2d: gamma must have shape \(3,\), got \(2,\)"),
    ("batch_norm2d", (x4(2, 3, 4, 4), x4(3), x4(3)), {"eps": 0}, ValueError, r"batch_norm2d: eps must be a finite number"),
    ("rnn_forward", (x4(2, 5, 3), x4(2, 4), x4(4, 4), x4(4, 2), x4(4)), {}, ValueError, r"rnn_forward: U must have shape \(4, 3\)"),
    ("rnn_forward", (x4(2, 5, 3), x4(2, 4), x4(4, 3), x4(4, 3), x4(4)), {}, ValueError, r"rnn_forward: W must have shape \(4, 4\)"),
    ("rnn_forward", (x4(2, 5, 3), x4(3, 4), x4(4, 4), x4(4, 3), x4(4)), {}, ValueError, r"rnn_forward: h0 has batch 3, x has batch 2"),
    ("rnn_forward", (x4(2, 5, 3), x4(2, 4), x4(4, 4), x4(4, 3), x4(4)), {"nonlinearity": "gelu"}, ValueError, r"rnn_forward: nonlinearity must be one of"),
    ("rnn_forward", (x4(2, 5, 3), x4(2, 4), x4(4, 4), x4(4, 3), x4(4)), {"lengths": np.array([6, 1])}, ValueError, r"rnn_forward: lengths must lie in \[1, T\] = \[1, 5\]"),
    ("rnn_forward", (x4(2, 5, 3), x4(2, 4), x4(4, 4), x4(4, 3), x4(4)), {"lengths": np.array([0, 1])}, ValueError, r"rnn_forward: lengths must lie in"),
    ("rnn_forward", (np.ones((2, 5, 3), int), x4(2, 4), x4(4, 4), x4(4, 3), x4(4)), {}, TypeError, r"rnn_forward: x must be float32 or float64"),
    ("rnn_forward", (x4(2, 5, 3), x4(2, 4), x4(4, 4), x4(4, 3), x4(3)), {}, ValueError, r"rnn_forward: b must have shape \(4,\), got \(3,\)"),
    ("rnn_backward", (x4(2, 5, 4), x4(2, 5, 3), x4(2, 5, 4), x4(2, 4), x4(4, 4), x4(4, 3)), {"lengths": np.array([1.0, 2.0])}, TypeError, r"rnn_backward: lengths must be an integer array"),
    ("scaled_dot_product_attention", (x4(2, 5, 4), x4(2, 5, 3), x4(2, 5, 4)), {}, ValueError, r"scaled_dot_product_attention: k has d_k = 3, q has d_k = 4"),
    ("scaled_dot_product_attention", (x4(2, 5, 4), x4(3, 5, 4), x4(3, 5, 4)), {}, ValueError, r"scaled_dot_product_attention: q, k and v must share their leading dimensions"),
    ("scaled_dot_product_attention", (x4(2, 5, 4), x4(2, 6, 4), x4(2, 6, 4)), {"mask": np.ones((5, 5), bool)}, ValueError, r"scaled_dot_product_attention: mask of shape \(5, 5\) does not broadcast"),
    ("scaled_dot_product_attention", (x4(2, 5, 4), x4(2, 6, 4), x4(2, 6, 4)), {"mask": np.ones((5, 6))}, TypeError, r"scaled_dot_product_attention: mask must be a boolean array"),
    ("scaled_dot_product_attention", (np.ones((2, 5, 4), np.int16), x4(2, 5, 4), x4(2, 5, 4)), {}, TypeError, r"scaled_dot_product_attention: q must be float32 or float64"),
    ("cross_entropy", (x4(3, 4), np.array([0, 1, 4])), {}, ValueError, r"cross_entropy: labels must lie in \[0, C\) = \[0, 4\)"),
    ("cross_entropy", (x4(3, 4), np.array([0.0, 1.0, 2.0])), {}, TypeError, r"cross_entropy: labels must be an integer array"),
    ("mse", (x4(3, 4), x4(3, 5)), {}, ValueError, r"mse: y has shape \(3, 5\), y_hat has shape \(3, 4\)"),
    ("bce", (x4(3), np.ones(3)), {}, TypeError, r"bce: y is float64, y_hat is float32"),
    ("sequence_mse", (x4(2, 3, 1), x4(2, 3, 1), np.array([1, 4])), {}, ValueError, r"sequence_mse: lengths must lie in \[1, T\] = \[1, 3\]"),
    ("linear_backward", (x4(2, 5), x4(2, 3), x4(4, 3)), {}, ValueError, r"linear_backward: dy must have shape \(2, 4\) \(B, D_out\), got \(2, 5\)"),
    ("relu_backward", (x4(2, 5), x4(2, 4)), {}, ValueError, r"relu_backward: dy has shape \(2, 5\), x has shape \(2, 4\)"),
    ("sigmoid", ([1.0, 2.0],), {}, TypeError, r"sigmoid: x must be a numpy.ndarray, got list"),
    ("batch_norm2d_backward", (x4(2, 3, 4, 4), x4(2, 3, 4, 4), x4(3), x4(3), x4(4)), {}, ValueError, r"batch_norm2d_backward: invstd must have shape \(3,\), got \(4,\)"),
    ("rnn_backward", (x4(2, 5, 4), x4(2, 5, 3), x4(2, 4, 4), x4(2, 4), x4(4, 4), x4(4, 3)), {}, ValueError, r"rnn_backward: hs must have shape \(2, 5, 4\) \(B, T, H\), got \(2, 4, 4\)"),
    ("scaled_dot_product_attention_backward", (x4(2, 5, 4), x4(2, 5, 4), x4(2, 5, 4), x4(2, 5, 4), x4(2, 5, 4), x4(2, 4)), {}, ValueError, r"scaled_dot_product_attention_backward: lse must have shape \(2, 5\), got \(2, 4\)"),
    ("clip_grad_norm", ([x4(3), np.ones(2)], 1.0), {}, TypeError, r"clip_grad_norm: grads\[1\] is float64, grads\[0\] is float32"),
    ("clip_grad_norm", ([x4(3)], 0.0), {}, ValueError, r"clip_grad_norm: max_norm must be a finite number"),
    ("clip_grad_norm", ([x4(6)[::2]], 1.0), {}, ValueError, r"clip_grad_norm: grads\[0\] is not C-contiguous"),
    ("bce_with_logits", (x4(3, 1), x4(3)), {}, ValueError, r"bce_with_logits: y has shape \(3,\), z has shape \(3, 1\)"),
]


@pytest.mark.parametrize("name,args,kwargs,exc,pattern", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_bad_input(backend, name, args, kwargs, exc, pattern):
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # the fallback's notice
        with pytest.raises(exc, match=pattern):
            getattr(dlkern, name)(*args, **kwargs)
    for a, b in zip(args, before):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)


def test_every_public_function_has_an_error_case():
    from dlkern import reference
    covered = {e[0] for e in ERRORS} | {"sgd_step", "momentum_step", "adagrad_step",
                                        "rmsprop_step", "adam_step"}   # tests/test_optim.py
    missing = [n for n in reference.__all__ if n not in covered]
    assert not missing, f"no bad-input test for {missing}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_keep_the_input_dtype(backend, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert dlkern.conv2d(x, w, padding=1).dtype == dtype
        assert dlkern.max_pool2d(x, 2)[0].dtype == dtype
        assert all(a.dtype == dtype for a in dlkern.batch_norm2d(x, np.ones(3, dtype), np.zeros(3, dtype)))
        q = rng.standard_normal((2, 5, 4)).astype(dtype)
        assert all(a.dtype == dtype for a in dlkern.scaled_dot_product_attention(q, q, q, True))
        hs = dlkern.rnn_forward(q, np.zeros((2, 3), dtype), np.eye(3, dtype=dtype),
                                np.ones((3, 4), dtype), np.zeros(3, dtype))
        assert hs.dtype == dtype
