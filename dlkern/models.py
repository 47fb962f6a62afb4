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


class SequenceRegressor(nn.Composite):
    """Seed section 4 sequence-to-vector: an RNN over the window, then ŷ = V h_T + c."""

    def __init__(self, input_size=1, hidden_size=32, dtype=np.float32, seed=0):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, dtype=dtype, seed=seed)
        self.head = nn.Linear(hidden_size, 1, dtype=dtype, seed=seed + 1)
        self.parts = [("rnn", self.rnn), ("head", self.head)]
        self._shape = None

    def forward(self, x):
        hs = self.rnn.forward(x)
        self._shape = hs.shape
        return self.head.forward(hs[:, -1])

    def backward(self, dy):
        dh = np.zeros(self._shape, dtype=dy.dtype)
        dh[:, -1] = self.head.backward(dy)
        return self.rnn.backward(dh)



class SequenceTransformer(nn.Composite):
    """A small encoder for token-to-token tasks: embedding + learned positions, `layers`
    pre-norm transformer blocks, a final layer norm and a per-token output layer.
    forward(tokens (B, T)) -> logits (B, T, vocab)."""

    def __init__(self, vocab=10, max_len=32, d_model=64, num_heads=4, layers=2,
                 dtype=np.float32, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.vocab = vocab
        self.embed = nn.Embedding(vocab, d_model, dtype, rng)
        self.pos = nn.PositionalEmbedding(max_len, d_model, dtype, rng)
        self.blocks = [nn.TransformerBlock(d_model, num_heads, dtype=dtype, seed=rng)
                       for _ in range(layers)]
        self.norm = nn.LayerNorm(d_model, dtype=dtype)
        self.out = nn.TokenLinear(d_model, vocab, dtype=dtype, seed=rng)
        self.parts = ([("embed", self.embed), ("pos", self.pos)]
                      + [(f"block{i}", b) for i, b in enumerate(self.blocks)]
                      + [("norm", self.norm), ("out", self.out)])

    def forward(self, tokens):
        x = self.pos.forward(self.embed.forward(tokens))
        for b in self.blocks:
            x = b.forward(x)
        return self.out.forward(self.norm.forward(x))

    def backward(self, dlogits):
        d = self.norm.backward(self.out.backward(dlogits))
        for b in reversed(self.blocks):
            d = b.backward(d)
        self.embed.backward(self.pos.backward(d))


def token_cross_entropy(logits, targets):
    """Cross-entropy averaged over every token of (B, T, V) logits and (B, T) targets."""
    from . import losses
    B, T, V = logits.shape
    loss, g = losses.cross_entropy(logits.reshape(B * T, V), targets.reshape(-1))
    return loss, g.reshape(B, T, V)


def token_accuracy(logits, targets):
    return float(np.mean(np.argmax(logits, axis=-1) == targets))


def vgg16(dtype=np.float32, seed=0):
    """VGG-16 (configuration D) for 3 × 224 × 224 inputs: 138,357,544 parameters."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M"]
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1, dtype=dtype, seed=seed), nn.ReLU()]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * 7 * 7, 4096, dtype=dtype),
                         nn.ReLU(), nn.Linear(4096, 4096, dtype=dtype), nn.ReLU(),
                         nn.Linear(4096, 1000, dtype=dtype))
