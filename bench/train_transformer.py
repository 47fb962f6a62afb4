"""One training step of the demo's sequence transformer (dlkern.models.SequenceTransformer:
2 pre-norm blocks of d_model 64 with 4 heads, digits reversed, batch 64 of 12 tokens):
forward, token cross-entropy, backward and an Adam step, on dlkern's native backend,
on its NumPy backend, and as a PyTorch eager twin of the same architecture starting
from the same weights, interleaved:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/train_transformer.py
    python bench/train_transformer.py --batch 256 --length 32 --d-model 128 --layers 4

Each contender keeps its own model and optimizer, so every timed step is a real step
of a training run.  Ratios are the peer's time over native's: above 1, native is faster.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from dlkern import data, models  # noqa: E402
from dlkern.benchmark import adam_step, model_step_contenders, step_main  # noqa: E402

LR = 2e-3


def make_model(a):
    return models.SequenceTransformer(vocab=10, max_len=max(32, a.length), d_model=a.d_model,
                                      num_heads=a.heads, layers=a.layers)


def dlkern_step(model, X, y):
    """The demo's step (dlkern.train.fit): a function running one Adam step."""
    return adam_step(model, models.token_cross_entropy, X, y, LR)


def torch_twin(model):
    """(forward(tokens) -> logits, parameters) in PyTorch, from copies of `model`'s
    parameters: the same layers, in the same order, with PyTorch's kernels."""
    import torch
    import torch.nn.functional as F
    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.parameters().items()}
    d = model.embed.parameters()["weight"].shape[1]
    heads = model.blocks[0].attn.num_heads

    def forward(tokens):
        B, T = tokens.shape
        x = F.embedding(tokens, P["embed.weight"]) + P["pos.weight"][:T]
        for i in range(len(model.blocks)):
            def p(name):
                return P[f"block{i}.{name}"]
            h = F.layer_norm(x, (d,), p("ln1.weight"), p("ln1.bias"), 1e-5)
            q, k, v = (F.linear(h, p(f"attn.W_{c}")).view(B, T, heads, d // heads)
                       .transpose(1, 2) for c in "QKV")
            z = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, d)
            x = x + F.linear(z, p("attn.W_O"), p("attn.b_O"))
            h = F.layer_norm(x, (d,), p("ln2.weight"), p("ln2.bias"), 1e-5)
            h = F.relu(F.linear(h, p("ff1.weight"), p("ff1.bias")))
            x = x + F.linear(h, p("ff2.weight"), p("ff2.bias"))
        x = F.layer_norm(x, (d,), P["norm.weight"], P["norm.bias"], 1e-5)
        return F.linear(x, P["out.weight"], P["out.bias"])
    return forward, P


def torch_step(model, X, y):
    import torch
    import torch.nn.functional as F
    forward, P = torch_twin(model)
    opt = torch.optim.Adam(P.values(), lr=LR)
    tx, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        logits = forward(tx)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ty.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()
    return step, P


def contenders(a):
    X, y = data.reverse_digits(a.batch, a.length, seed=0)
    return model_step_contenders(lambda: make_model(a), dlkern_step, torch_step, X, y,
                                 a.threads)


def add_arguments(ap):
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--length", type=int, default=12)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=2)
    return ap


def main():
    ap = add_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    step_main(ap, lambda a: (f"train_transformer: batch {a.batch} x {a.length} tokens, "
                             f"d_model {a.d_model}, {a.heads} heads, {a.layers} layers, "
                             "float32"), contenders)


if __name__ == "__main__":
    main()
