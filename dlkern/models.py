"""The seed's models, built from dlkern.nn."""
import numpy as np

from . import nn


def xor_net(dtype=np.float32, seed=0):
    """Seed section 1: 2 → 2 (ReLU) → 1, the output a logit (σ applied by the loss).
    The hidden biases start at 0.5 so that both ReLUs are active on all four points at
    the start; even so a 2–2–1 ReLU network reaches 100% from about half of random
    starts (10–11 of 20 measured), so callers try several seeds."""
    model = nn.Sequential(nn.Linear(2, 2, dtype=dtype, seed=seed, init="he"), nn.ReLU(),
                          nn.Linear(2, 1, dtype=dtype, seed=seed + 1))
    model[0].parameters()["bias"][...] = 0.5
    return model


def digits_cnn(dtype=np.float32, seed=0, c1=16, c2=32, hidden=64, classes=10):
    """Seed section 11's Conv–Conv–FC network on 8×8 digits: two 3×3 same-padded
    convolutions with ReLU, flatten (D_flat = H₂W₂C₂ = 8·8·c2), a hidden dense layer,
    the output layer (softmax in the loss)."""
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1, dtype=dtype, seed=seed), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1, dtype=dtype, seed=seed + 1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * c2, hidden, dtype=dtype, seed=seed + 2, init="he"), nn.ReLU(),
        nn.Linear(hidden, classes, dtype=dtype, seed=seed + 3))


class SequenceRegressor(nn.Module):
    """Seed section 4 sequence-to-vector: an RNN over the window, then ŷ = V h_T + c."""

    def __init__(self, input_size=1, hidden_size=32, dtype=np.float32, seed=0):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, dtype=dtype, seed=seed)
        self.head = nn.Linear(hidden_size, 1, dtype=dtype, seed=seed + 1)
        self._shape = None

    def forward(self, x):
        hs = self.rnn.forward(x)
        self._shape = hs.shape
        return self.head.forward(hs[:, -1])

    def backward(self, dy):
        dh = np.zeros(self._shape, dtype=dy.dtype)
        dh[:, -1] = self.head.backward(dy)
        return self.rnn.backward(dh)

    def parameters(self):
        return {**{f"rnn.{k}": v for k, v in self.rnn.parameters().items()},
                **{f"head.{k}": v for k, v in self.head.parameters().items()}}

    def gradients(self):
        return {**{f"rnn.{k}": v for k, v in self.rnn.gradients().items()},
                **{f"head.{k}": v for k, v in self.head.gradients().items()}}
