"""One training step of a CS231n-style fully-connected net with batch normalisation
(assignment 2's FullyConnectedNet: [affine - batchnorm - relu] x 5 hidden layers of 100,
then affine - softmax; CIFAR-10-shaped inputs of 3072 values, batch 200, float32):
forward, cross-entropy, backward and an Adam step, on dlkern's native backend and on
its NumPy backend (the same dlkern.nn model code), and as a PyTorch eager twin starting
from the same weights, interleaved:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/fc_batchnorm.py
    python bench/fc_batchnorm.py --batch 64 --hidden 512 512

Each contender keeps its own model and optimizer.  Ratios are the peer's time over
native's: above 1, native is faster.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import dlkern  # noqa: E402
from dlkern import nn  # noqa: E402
from dlkern.benchmark import adam_step, model_step_contenders, step_main  # noqa: E402

LR = 1e-3
CLASSES = 10


def make_model(a, seed=0):
    layers, width = [], a.inputs
    for i, h in enumerate(a.hidden):
        layers += [nn.Linear(width, h, seed=seed + i), nn.BatchNorm1d(h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, CLASSES, seed=seed + len(a.hidden)))


def data(a, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((a.batch, a.inputs)).astype(np.float32),
            rng.integers(0, CLASSES, a.batch))


def dlkern_step(model, X, y):
    return adam_step(model, dlkern.cross_entropy, X, y, LR)


def torch_step(model, X, y):
    """The same layers in PyTorch, from copies of `model`'s weights."""
    import torch
    tm = torch.nn.Sequential()
    for layer in model.layers:
        if isinstance(layer, nn.Linear):
            w = layer.parameters()["weight"]
            t = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(w))
                t.bias.copy_(torch.from_numpy(layer.parameters()["bias"]))
        elif isinstance(layer, nn.BatchNorm1d):
            t = torch.nn.BatchNorm1d(layer.num_features)
        else:
            t = torch.nn.ReLU()
        tm.append(t)
    opt = torch.optim.Adam(tm.parameters(), lr=LR)
    tx, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tm(tx), ty)
        loss.backward()
        opt.step()
        return loss.item()
    return step, tm


def contenders(a):
    X, y = data(a)
    return model_step_contenders(lambda: make_model(a), dlkern_step, torch_step, X, y,
                                 a.threads)


def add_arguments(ap):
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--inputs", type=int, default=3072)
    ap.add_argument("--hidden", type=int, nargs="+", default=[100] * 5)
    return ap


def main():
    ap = add_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    step_main(ap, lambda a: (f"fc_batchnorm: batch {a.batch}, {a.inputs} inputs, hidden "
                             f"{'-'.join(map(str, a.hidden))}, float32"), contenders)


if __name__ == "__main__":
    main()
