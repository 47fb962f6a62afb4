"""Data-parallel training over MPI (mpi4py), the seed's mini-batch averaging (section 1)
spread over processes.

A mini-batch gradient is the mean of per-sample gradients, so if rank r computes the
mean gradient g_r over its shard of b_r samples, the whole batch's gradient is
Σ_r (b_r / B) g_r: one all-reduce (a sum) of the shard gradients scaled by b_r / B.
Every rank then applies the same optimizer step to the same parameters and they stay
equal without being sent again.

    # train.py, launched as: mpiexec -n 2 python train.py
    model = dlkern.models.digits_cnn()
    fit(model, loss, opt, X, y, distributed=True, checkpoint="ckpt.npz")

Every rank loads the same data and builds the same model; rank 0's initial state is
broadcast, every global batch (the same shuffled order on every rank) is split into
contiguous shards, the gradients go through one all-reduce per step over one flat
buffer per dtype, and only rank 0 shows progress and writes checkpoints.

Batch normalisation uses each rank's local batch statistics (as PyTorch's
DistributedDataParallel does without SyncBatchNorm); the running averages are averaged
over the ranks at the end of every epoch so that all ranks hold the same model.

If a rank fails, the job stops: `fit` calls MPI_Abort on an exception (a bare
exception would leave the other ranks waiting in the all-reduce for ever), and mpiexec
ends every rank when one process dies.  Restart with the same command and
`checkpoint=` path: `fit` resumes after the last completed epoch.
"""
import sys

import numpy as np

__all__ = ["DataParallel", "available", "world"]

_INSTALL = "pip install 'dlkern[mpi]' (mpi4py and the MPICH wheel)"


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(f"dlkern.distributed needs mpi4py and an MPI library: "
                          f"{_INSTALL}") from exc
    return MPI


def available():
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        _mpi()
    except ImportError:
        return False
    return True


def world():
    """(rank, size) of this process in MPI_COMM_WORLD; (0, 1) without mpi4py."""
    if not available():
        return 0, 1
    comm = _mpi().COMM_WORLD
    return comm.Get_rank(), comm.Get_size()


class _Flat:
    """Arrays grouped by dtype, each group packed into one contiguous buffer."""

    def __init__(self, arrays):
        self.arrays = list(arrays)
        self.groups = {}
        for a in self.arrays:
            self.groups.setdefault(a.dtype, []).append(a)
        self.buffers = {dt: np.empty(sum(a.size for a in group), dt)
                        for dt, group in self.groups.items()}

    def pack(self):
        for dt, group in self.groups.items():
            buf, at = self.buffers[dt], 0
            for a in group:
                buf[at:at + a.size] = a.ravel()
                at += a.size
        return self.buffers

    def unpack(self):
        for dt, group in self.groups.items():
            buf, at = self.buffers[dt], 0
            for a in group:
                a[...] = buf[at:at + a.size].reshape(a.shape)
                at += a.size


class DataParallel:
    """The MPI side of data-parallel training of one model (see the module docstring).

    comm: an mpi4py communicator (default MPI.COMM_WORLD).  `fit(...,
    distributed=True)` builds one; use it directly in a loop of your own:

        dp = DataParallel(model)
        dp.broadcast_state()
        for idx in global_batches:
            part = dp.shard(idx)
            ... forward and backward on X[part] ...
            dp.allreduce_gradients(len(part), len(idx))
            opt.step()
    """

    def __init__(self, model, comm=None):
        MPI = _mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        # ranks sharing this host share its cores: the default threads per rank follow
        from . import _backend
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        _backend.note_ranks_on_host(local.Get_size())
        local.Free()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.model = model
        grads = model.gradients()
        self._grads = _Flat(grads[k] for k in model.parameters())

    def shard(self, idx):
        """This rank's contiguous part of the global batch `idx` (possibly empty)."""
        return np.array_split(np.asarray(idx), self.size)[self.rank]

    def broadcast_state(self, root=0):
        """Give every rank root's parameters and buffers (one Bcast per dtype)."""
        state = self.model.state_dict()
        keys = sorted(state)
        flat = _Flat(state[k] for k in keys)
        for buf in flat.pack().values():
            self.comm.Bcast(buf, root=root)
        flat.unpack()
        self.model.load_state_dict(state)

    def allreduce_gradients(self, local_n, global_n):
        """Replace every gradient by the whole batch's: Σ_r (b_r / B) g_r, one
        all-reduce per dtype over a flat buffer.  A rank with an empty shard
        (local_n = 0) contributes zeros."""
        if global_n <= 0:
            raise ValueError(f"allreduce_gradients: global_n must be positive, got {global_n}")
        buffers = self._grads.pack()
        for buf in buffers.values():
            if local_n == 0:
                buf[...] = 0
            else:
                buf *= buf.dtype.type(local_n / global_n)
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        self._grads.unpack()

    def sum(self, values):
        """Element-wise sum over ranks of a short list of floats (float64)."""
        buf = np.asarray(values, dtype=np.float64).copy()
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def average_buffers(self):
        """Average the non-parameter state (batch-norm running statistics) over ranks."""
        state, params = self.model.state_dict(), self.model.parameters()
        keys = sorted(k for k in state if k not in params)
        if not keys:
            return
        flat = _Flat(state[k] for k in keys)
        for buf in flat.pack().values():
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
            buf /= self.size
        flat.unpack()
        self.model.load_state_dict(state)

    def check_same(self, **settings):
        """Raise ValueError on every rank unless `settings` are equal on all ranks
        (for example the data size and the batch size)."""
        everyone = self.comm.allgather(settings)
        if any(s != everyone[0] for s in everyone):
            raise ValueError(f"dlkern.distributed: ranks disagree on {sorted(settings)}: "
                             f"{everyone}")

    def abort(self, exc, code=1):
        """Stop the whole job after an error on this rank (never returns)."""
        what = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        print(f"dlkern.distributed: rank {self.rank} of {self.size} failed: {what}; "
              f"stopping all ranks", file=sys.stderr, flush=True)
        self.comm.Abort(code)
