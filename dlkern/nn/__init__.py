"""Layers for NumPy models, with explicit forward and backward.

Every layer calls only dlkern's public functions, so a whole model runs on whichever
backend is active (`with dlkern.use_backend("numpy"): ...`).  A layer keeps only what
its backward pass needs from the last forward call.
"""
from .layers import (Module, Composite, Sequential, Linear, Conv2d, MaxPool2d, AvgPool2d,
                     GlobalAvgPool2d, BatchNorm2d, BatchNorm1d, ReLU, Sigmoid, Flatten,
                     Dropout, RNN, LSTM, MultiHeadAttention, Embedding, PositionalEmbedding,
                     LayerNorm, TokenLinear, TransformerBlock)

__all__ = ["Module", "Composite", "Sequential", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d",
           "GlobalAvgPool2d", "BatchNorm2d", "BatchNorm1d", "ReLU", "Sigmoid", "Flatten",
           "Dropout", "RNN", "LSTM", "MultiHeadAttention", "Embedding", "PositionalEmbedding",
           "LayerNorm", "TokenLinear", "TransformerBlock"]
