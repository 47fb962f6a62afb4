"""The training run that tests/test_distributed.py launches under mpiexec (and runs in
one process for comparison): the seed's CNN on a slice of the digits, float64, no
dropout and no batch-norm.

    python tests/mpi_train.py OUT.npz [--distributed] [--checkpoint P] [--resume]
                              [--die-at STEP] [--raise-at STEP]

--die-at / --raise-at make rank 1 (rank 0 when alone) end its process abruptly or
raise an exception at that training step, to test how the job stops.
"""
import argparse
import os

import numpy as np

import dlkern
import dlkern.distributed
from dlkern import data, losses, models, optim, train

N, BATCH, EPOCHS = 360, 60, 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--distributed", action="store_true")
    ap.add_argument("--checkpoint")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--die-at", type=int)
    ap.add_argument("--raise-at", type=int)
    ap.add_argument("--backend", default="native")
    a = ap.parse_args()
    dlkern.set_backend(a.backend)
    rank, size = dlkern.distributed.world() if a.distributed else (0, 1)
    X, y, Xv, yv = data.digits(dtype=np.float64)
    X, y, Xv, yv = X[:N], y[:N], Xv[:100], yv[:100]
    model = models.digits_cnn(dtype=np.float64, seed=1, c1=4, c2=8, hidden=16)
    if rank != 0:   # rank 0's initial weights must reach every rank
        for p in model.parameters().values():
            p[...] = 0
    steps = [0]

    def loss_fn(pred, target):
        steps[0] += model.training    # training steps only, not validation batches
        if rank == min(1, size - 1) and model.training:
            if steps[0] == a.die_at:
                os._exit(3)
            if steps[0] == a.raise_at:
                raise RuntimeError("injected failure")
        return losses.cross_entropy(pred, target)

    opt = optim.Adam(model, lr=3e-3)
    h = train.fit(model, loss_fn, opt, X, y, epochs=EPOCHS, batch_size=BATCH,
                  validation=(Xv, yv), metric=train.accuracy, seed=7, progress=False,
                  distributed=a.distributed, checkpoint=a.checkpoint, resume=a.resume)
    if rank == 0:
        np.savez(a.out, loss=np.array(h["loss"]), val_loss=np.array(h["val_loss"]),
                 **{f"p.{k}": v for k, v in model.parameters().items()})
    else:   # every rank ends with the same parameters
        np.savez(f"{a.out}.rank{rank}.npz",
                 **{f"p.{k}": v for k, v in model.parameters().items()})


if __name__ == "__main__":
    main()
