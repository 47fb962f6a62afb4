"""The pure-NumPy reference: every public function, written line by line from
SEED-MATH.md (sections cited in each docstring).  Slow on purpose; it is the
specification and the test oracle of the native kernels."""
from .dense import (linear, linear_backward, relu, relu_backward, sigmoid, softmax, tanh, gelu,
                    gelu_backward)
from .conv import conv2d, conv2d_backward, im2col, col2im
from .pool import max_pool2d, max_pool2d_backward, avg_pool2d, avg_pool2d_backward
from .norm import (batch_norm2d, batch_norm2d_backward, batch_norm_inference, layer_norm,
                   layer_norm_backward)
from .rnn import rnn_forward, rnn_backward, lstm_forward, lstm_backward
from .attention import scaled_dot_product_attention, scaled_dot_product_attention_backward
from .optim import (sgd_step, momentum_step, adagrad_step, rmsprop_step, adam_step,
                    clip_grad_norm)
from .embedding import embedding, embedding_backward
from .dropout import dropout, dropout_backward
from .losses import bce, bce_with_logits, cross_entropy, mse, sequence_mse

__all__ = [
    "linear", "linear_backward", "relu", "relu_backward", "sigmoid", "softmax", "tanh",
    "gelu", "gelu_backward",
    "conv2d", "conv2d_backward", "im2col", "col2im",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "batch_norm2d", "batch_norm2d_backward", "batch_norm_inference",
    "layer_norm", "layer_norm_backward",
    "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
    "scaled_dot_product_attention", "scaled_dot_product_attention_backward",
    "sgd_step", "momentum_step", "adagrad_step", "rmsprop_step", "adam_step",
    "clip_grad_norm",
    "embedding", "embedding_backward", "dropout", "dropout_backward",
    "bce", "bce_with_logits", "cross_entropy", "mse", "sequence_mse",
]
