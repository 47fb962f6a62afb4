"""Data-parallel scaling over MPI (docs/DISTRIBUTED.md): samples/second of the digits
CNN (train_cnn's model, Adam) at 1 and 2 ranks with one OpenMP thread per rank, the
split of a step into compute and all-reduce, and the all-reduce time at several
buffer sizes.

    python bench/distributed.py [--ranks 1 2] [--batch 64 256] [--epochs 4]

The script launches itself under mpiexec once per rank count (`--worker`); each
worker prints one JSON line from rank 0.  Needs dlkern[mpi] and scikit-learn.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def worker(a):
    from mpi4py import MPI

    import dlkern
    from dlkern import data, distributed, losses, models, optim, train
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    X, y, _, _ = data.digits()
    out = {"ranks": size, "threads_per_rank": dlkern.get_num_threads(), "train": [],
           "allreduce": []}
    for batch in a.batch:
        model = models.digits_cnn()
        dp = distributed.DataParallel(model)
        spent = [0.0, 0]            # seconds inside allreduce_gradients, calls
        reduce = dp.allreduce_gradients

        def timed(local_n, global_n):
            t = time.perf_counter()
            reduce(local_n, global_n)
            spent[0] += time.perf_counter() - t
            spent[1] += 1
        dp.allreduce_gradients = timed
        opt = optim.Adam(model, lr=1e-3)
        epochs = []
        for e in range(a.epochs + 1):       # the first epoch is a warm-up
            comm.Barrier()
            spent[:] = [0.0, 0]
            t = time.perf_counter()
            train.fit(model, losses.cross_entropy, opt, X, y, epochs=1, batch_size=batch,
                      seed=e, progress=False, distributed=dp)
            wall = comm.allreduce(time.perf_counter() - t, op=MPI.MAX)
            if e:
                epochs.append((wall, spent[0], spent[1]))
        wall, red, steps = (float(np.median([x[i] for x in epochs])) for i in range(3))
        out["train"].append({"batch": batch, "epoch_s": wall, "samples_per_s": len(X) / wall,
                             "step_ms": wall / steps * 1e3,
                             "allreduce_ms_per_step": red / steps * 1e3,
                             "params": sum(p.size for p in model.parameters().values())})
    for n in (10**3, 10**4, 10**5, 10**6, 10**7):
        buf = np.ones(n, np.float32)
        times = []
        for _ in range(max(5, min(200, 10**7 // n))):
            comm.Barrier()
            t = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(time.perf_counter() - t)
        t = comm.allreduce(float(np.median(times)), op=MPI.MAX)
        out["allreduce"].append({"floats": n, "bytes": 4 * n, "us": t * 1e6,
                                 "GB_per_s": 4 * n / t / 1e9})
    if rank == 0:
        print(json.dumps(out), flush=True)


def driver(a):
    here = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(here) if here.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("bench/distributed.py: mpiexec not found: pip install 'dlkern[mpi]'")
    results = []
    # one thread per rank; and, for comparison, one rank with the threads of two
    for r, threads in [(r, 1) for r in a.ranks] + [(1, 2)]:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), DLKERN_NUM_THREADS=str(threads))
        cmd = [mpiexec, "-n", str(r), sys.executable, __file__, "--worker",
               "--epochs", str(a.epochs), "--batch", *map(str, a.batch)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        results.append(json.loads(p.stdout.strip().splitlines()[-1]))
    base = {t["batch"]: t["samples_per_s"] for t in results[0]["train"]}
    print("ranks  threads  batch  samples/s  speed-up  step ms  all-reduce ms/step  params")
    for res in results:
        for t in res["train"]:
            print(f"{res['ranks']:5d}  {res['threads_per_rank']:7d}  {t['batch']:5d}  "
                  f"{t['samples_per_s']:9.0f}  "
                  f"{t['samples_per_s'] / base[t['batch']]:7.2f}x  {t['step_ms']:7.2f}  "
                  f"{t['allreduce_ms_per_step']:18.3f}  {t['params']}")
    print("\nranks  all-reduce floats (f32)       µs     GB/s")
    for res in results[:len(a.ranks)]:
        for t in res["allreduce"]:
            print(f"{res['ranks']:5d}  {t['floats']:24d}  {t['us']:8.1f}  {t['GB_per_s']:6.2f}")
    if a.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    worker(args) if args.worker else driver(args)
