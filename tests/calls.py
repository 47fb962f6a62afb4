"""One valid small call of every public function, shared by the hardening tests
(tests/test_fuzz_invalid.py, tests/test_hardening.py)."""
import numpy as np

from dlkern import reference


def _r(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _valid():
    """name -> (positional args, keyword args) of one valid small call."""
    x = _r(2, 3, 6, 6)
    y_pool, idx = reference.max_pool2d(x, 2, 2, 0)
    y_bn, mean, invstd = reference.batch_norm2d(x, _r(3), _r(3))
    q, k, v = _r(2, 5, 4), _r(2, 6, 4), _r(2, 6, 3)
    out, lse = reference.scaled_dot_product_attention(q, k, v)
    xs, h0, W, U, b = _r(2, 4, 3), _r(2, 5), _r(5, 5), _r(5, 3), _r(5)
    hs = reference.rnn_forward(xs, h0, W, U, b)
    cols = reference.im2col(x, 3, 1, 1)
    p1, p2 = [_r(7), _r(2, 3)], [_r(7, seed=1), _r(2, 3, seed=1)]
    s1 = [np.abs(a) for a in p2]
    return {
        "linear": ([_r(4, 3), _r(2, 3), _r(2)], {}),
        "linear_backward": ([_r(4, 2), _r(4, 3), _r(2, 3)], {}),
        "relu": ([_r(3, 4)], {}),
        "relu_backward": ([_r(3, 4), _r(3, 4, seed=1)], {}),
        "sigmoid": ([_r(3, 4)], {}),
        "softmax": ([_r(3, 4)], {"axis": -1}),
        "conv2d": ([x, _r(4, 3, 3, 3), _r(4)], {"stride": 1, "padding": 1}),
        "conv2d_backward": ([_r(2, 4, 6, 6), x, _r(4, 3, 3, 3)], {"stride": 1, "padding": 1}),
        "im2col": ([x, 3], {"stride": 1, "padding": 1}),
        "col2im": ([cols, x.shape, 3], {"stride": 1, "padding": 1}),
        "max_pool2d": ([x, 2], {"stride": 2, "padding": 0}),
        "max_pool2d_backward": ([y_pool, idx, x.shape], {}),
        "batch_norm2d": ([x, _r(3), _r(3)], {"eps": 1e-5}),
        "batch_norm2d_backward": ([y_bn, x, _r(3), mean, invstd], {}),
        "rnn_forward": ([xs, h0, W, U, b], {"nonlinearity": "tanh",
                                            "lengths": np.array([4, 2])}),
        "rnn_backward": ([hs, xs, hs, h0, W, U], {"nonlinearity": "tanh"}),
        "scaled_dot_product_attention": ([q, k, v], {"causal": False}),
        "scaled_dot_product_attention_backward": ([out, q, k, v, out, lse], {"causal": False}),
        "sgd_step": ([p1, p2, 0.1], {"weight_decay": 0.0}),
        "momentum_step": ([p1, p2, s1, 0.1], {"beta": 0.9}),
        "adagrad_step": ([p1, p2, s1, 0.1], {"eps": 1e-8}),
        "rmsprop_step": ([p1, p2, s1, 0.1], {"beta": 0.9}),
        "adam_step": ([p1, p2, s1, [a.copy() for a in s1], 1], {"lr": 1e-3}),
        "clip_grad_norm": ([p2, 1.0], {}),
        "bce": ([np.full((3, 1), 0.3, np.float32), np.ones((3, 1), np.float32)], {}),
        "bce_with_logits": ([_r(3, 1), np.ones((3, 1), np.float32)], {}),
        "cross_entropy": ([_r(3, 4), np.array([0, 3, 1])], {}),
        "mse": ([_r(3, 2), _r(3, 2, seed=1)], {}),
        "sequence_mse": ([_r(2, 3, 1), _r(2, 3, 1, seed=1), np.array([3, 1])], {}),
    }


VALID = _valid()
