"""One training step of a CS231n-shaped captioning network, written on the assignments'
API: on dlkern.compat.cs231n with dlkern's native backend ("native") and with its NumPy
backend ("numpy"), on the assignments' layers in plain NumPy (bench/cs231n_numpy.py,
"numpy layers": the model before patch()), and the same network in PyTorch (eager),
interleaved:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/captioning.py [--cell lstm]

The step is CaptioningRNN.loss of the assignment: image features (N, 512) projected to
h0; captions (N, T + 1) of word ids, the first T fed in through the word embedding
(vocabulary 1,004, word vectors 256), the last T the targets; an RNN or LSTM of hidden
size 512; the temporal affine layer to the vocabulary; the masked temporal softmax loss
(id 0, <NULL>, ignored); then every gradient.  N 128, T 16 by default.
"""
import argparse
import os
import sys

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from dlkern.benchmark import backend_contenders, step_main  # noqa: E402
from dlkern.compat import cs231n as C  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import cs231n_numpy  # noqa: E402


def params(rng, V, W, H, F, cell, dtype=np.float32):
    g = 4 if cell == "lstm" else 1
    return {
        "W_proj": (rng.standard_normal((F, H)) / np.sqrt(F)).astype(dtype),
        "b_proj": np.zeros(H, dtype),
        "W_embed": (rng.standard_normal((V, W)) / 100).astype(dtype),
        "Wx": (rng.standard_normal((W, g * H)) / np.sqrt(W)).astype(dtype),
        "Wh": (rng.standard_normal((H, g * H)) / np.sqrt(H)).astype(dtype),
        "b": np.zeros(g * H, dtype),
        "W_vocab": (rng.standard_normal((H, V)) / np.sqrt(H)).astype(dtype),
        "b_vocab": np.zeros(V, dtype),
    }


def loss(p, features, captions, cell, C=C):
    """CaptioningRNN.loss: (loss, grads) — the assignment's forward and backward, on the
    layers of module C (dlkern.compat.cs231n, or cs231n_numpy)."""
    cin, cout = captions[:, :-1], captions[:, 1:]
    mask = cout != 0
    h0, c_proj = C.affine_forward(features, p["W_proj"], p["b_proj"])
    x, c_emb = C.word_embedding_forward(cin, p["W_embed"])
    fwd, bwd = (C.lstm_forward, C.lstm_backward) if cell == "lstm" else \
        (C.rnn_forward, C.rnn_backward)
    h, c_rnn = fwd(x, h0, p["Wx"], p["Wh"], p["b"])
    scores, c_voc = C.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
    out, dscores = C.temporal_softmax_loss(scores, cout, mask)
    g = {}
    dh, g["W_vocab"], g["b_vocab"] = C.temporal_affine_backward(dscores, c_voc)
    dx, dh0, g["Wx"], g["Wh"], g["b"] = bwd(dh, c_rnn)
    g["W_embed"] = C.word_embedding_backward(dx, c_emb)
    _, g["W_proj"], g["b_proj"] = C.affine_backward(dh0, c_proj)
    return out, g


def torch_step(torch, p, features, captions, cell):
    """The same network in PyTorch: nn.LSTM/nn.RNN with the assignment's weights."""
    F = torch.nn.functional
    t = {k: torch.from_numpy(v).requires_grad_(True) for k, v in p.items()}
    H = p["Wh"].shape[0]
    cin = torch.from_numpy(captions[:, :-1].astype(np.int64))
    cout = torch.from_numpy(captions[:, 1:].astype(np.int64))
    h0 = torch.from_numpy(features) @ t["W_proj"] + t["b_proj"]
    x = F.embedding(cin, t["W_embed"])
    if cell == "lstm":
        # the assignment's (i, f, o, g) columns to torch's (i, f, g, o) rows
        order = torch.from_numpy(np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H])
        out = torch._VF.lstm(x, (h0[None], torch.zeros_like(h0)[None]),
                             [t["Wx"].T[order], t["Wh"].T[order], t["b"][order],
                              torch.zeros(4 * H)], True, 1, 0.0, True, False, True)[0]
    else:
        out = torch._VF.rnn_tanh(x, h0[None], [t["Wx"].T, t["Wh"].T, t["b"],
                                               torch.zeros(H)], True, 1, 0.0, True, False,
                                 True)[0]
    scores = out @ t["W_vocab"] + t["b_vocab"]
    N = captions.shape[0]
    L = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), cout.reshape(-1),
                        ignore_index=0, reduction="sum") / N
    L.backward()
    return L.item()


def contenders(N=128, T=16, V=1004, W=256, H=512, F=512, cell="lstm", threads=2,
               with_torch=True):
    rng = np.random.default_rng(0)
    p = params(rng, V, W, H, F, cell)
    features = rng.standard_normal((N, F)).astype(np.float32)
    captions = rng.integers(1, V, (N, T + 1))
    captions[:, -3:][rng.random((N, 3)) < 0.5] = 0          # some <NULL> padding
    out = backend_contenders(lambda: loss(p, features, captions, cell), threads)

    def layers():
        with threadpool_limits(threads):        # NumPy's BLAS at the same thread count
            loss(p, features, captions, cell, cs231n_numpy)
    out["numpy layers"] = layers
    if with_torch:
        try:
            import torch
        except ImportError:
            return out

        def tcall():
            torch.set_num_threads(threads)
            torch_step(torch, p, features, captions, cell)
        out["torch"] = tcall
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cell", choices=["lstm", "rnn"], default="lstm")
    ap.add_argument("--N", type=int, default=128)
    step_main(ap, lambda a: f"captioning step ({a.cell}, N {a.N} T 16 V 1004 W 256 H 512)",
              lambda a: contenders(N=a.N, cell=a.cell, threads=a.threads))


if __name__ == "__main__":
    main()
