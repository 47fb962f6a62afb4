"""Ratios measured in one interleaved run, as docs/BENCHMARKS.md quotes them.

    python bench/ratios.py optim          # adam_10m, adam_many at 1 and 2 threads
    python bench/ratios.py optim --repeat 3
    python bench/ratios.py layers --markdown > docs/BENCHMARKS.md    # the results page

Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset when NumPy's BLAS takes part.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile

import numpy as np

from dlkern.benchmark import (LAYER_WORKLOADS, adam_bytes, adam_contenders, adam_workload,
                              interleaved, layer_contenders, layer_work, pool_sizes, stamp,
                              training_contenders)

HERE = os.path.dirname(os.path.abspath(__file__))


def stream_lib():
    """bench/stream.c built as a shared library (once per process)."""
    if not hasattr(stream_lib, "lib"):
        lib_path = os.path.join(tempfile.gettempdir(), "dlkern_stream.so")
        subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC",
                        "-DSTREAM_LIB", os.path.join(HERE, "stream.c"), "-o", lib_path],
                       check=True)
        stream_lib.lib = ctypes.CDLL(lib_path)
    return stream_lib.lib


def seven_stream_roof(workload, threads):
    """A contender that moves Adam's 7 streams over arrays of the workload's total
    size with trivial arithmetic (bench/stream.c): the roof, measured in the same run."""
    lib = stream_lib()
    n = adam_bytes(workload) // 28
    p, g, m, v = (x[0] for x in adam_workload("adam_10m" if n == 10_000_000 else workload))
    arrays = [np.resize(x, n) for x in (p, g, m, v)]
    ptrs = [x.ctypes.data_as(ctypes.c_void_p) for x in arrays]
    os.environ["OMP_NUM_THREADS"] = str(threads)

    def call():
        lib.omp_set_num_threads(threads)
        lib.seven(*ptrs, ctypes.c_long(n))
    return call


def optim(repeat):
    print("| workload | threads | contender | median ms | GB/s | peer / dlkern |")
    print("|---|---|---|---|---|---|")
    for workload in ("adam_10m", "adam_many"):
        for threads in (1, 2):
            runs = []
            for _ in range(repeat):
                contenders = adam_contenders(workload, threads)
                contenders["7-stream roof"] = seven_stream_roof(workload, threads)
                runs.append(interleaved(contenders, rounds=9, inner=2))
            med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            for k, t in med.items():
                print(f"| {workload} | {threads} | {k} | {t * 1e3:.2f} | "
                      f"{adam_bytes(workload) / t / 1e9:.1f} | {t / med['dlkern']:.2f} |")


def pool_roof(name, mode, threads):
    """A contender with the max-pool's compulsory traffic and trivial arithmetic
    (bench/stream.c pool_fwd, pool_bwd), its outputs new NumPy arrays on every call as
    every contender's are: what the memory allows, fresh pages included."""
    lib = stream_lib()
    n, m = pool_sizes(name)
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    ptr = ctypes.c_void_p

    def call():
        lib.omp_set_num_threads(threads)
        y, idx = np.empty(m, np.float32), np.empty(m, np.int64)
        lib.pool_fwd(ptr(x.ctypes.data), ctypes.c_long(n), ptr(y.ctypes.data),
                     ptr(idx.ctypes.data), ctypes.c_long(m))
        if mode == "fwd+bwd":
            dx = np.empty(n, np.float32)
            lib.pool_bwd(ptr(y.ctypes.data), ptr(idx.ctypes.data), ctypes.c_long(m),
                         ptr(dx.ctypes.data), ctypes.c_long(n))
    return call


def layers(repeat, names):
    """The layer workloads; the pool ones also against the memory's roof (roof time /
    dlkern time: 1 means at the roof)."""
    print("| workload | mode | threads | dlkern ms | dlkern rate | vs reference | vs torch "
          "| vs roof |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        for mode in ("fwd", "fwd+bwd"):
            if name.startswith("bn") and mode == "fwd":
                continue
            amount, unit = layer_work(name, mode)
            for threads in (1, 2):
                runs = []
                for _ in range(repeat):
                    contenders = layer_contenders(name, mode, threads)
                    if name.startswith("pool"):
                        contenders["roof"] = pool_roof(name, mode, threads)
                    runs.append(interleaved(contenders, rounds=5, inner=5))
                med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
                t = med["dlkern"]
                ref = f"{med['reference'] / t:.1f}x" if "reference" in med else "-"
                tor = f"{med['torch'] / t:.2f}x" if "torch" in med else "-"
                roof = f"{med['roof'] / t:.2f}" if "roof" in med else "-"
                print(f"| {name} | {mode} | {threads} | {t * 1e3:.2f} | "
                      f"{amount / t / 1e9:.0f} {unit}/s | {ref} | {tor} | {roof} |", flush=True)


STREAM_SHAPE = (64, 128, 56, 56)   # 25.7 M float32 values: 103 MB, far past the L3


def stream_contenders(kind, threads):
    """{name: fn} for the elementwise kernels the memory bounds — batch-norm inference,
    dropout, dropout's backward — on STREAM_SHAPE: dlkern, the reference, PyTorch and the
    roof (bench/stream.c: the same compulsory traffic into fresh outputs); and the bytes
    each must move."""
    import dlkern
    from dlkern import native, reference
    lib, ptr = stream_lib(), ctypes.c_void_p
    rng = np.random.default_rng(0)
    x = rng.standard_normal(STREAM_SHAPE, dtype=np.float32)
    n, C = x.size, STREAM_SHAPE[1]
    g, b, mean = (rng.standard_normal(C, dtype=np.float32) for _ in range(3))
    var = rng.random(C, dtype=np.float32) + 0.5
    _, mask = native.dropout(x, 0.25, 7)
    out = {}
    if kind == "bn_inference":
        nbytes = 8 * n

        def ours(m):
            m.batch_norm_inference(x, g, b, mean, var)

        def roof():
            y = np.empty_like(x)
            lib.scale(ptr(x.ctypes.data), ctypes.c_long(n), ctypes.c_float(1.5),
                      ptr(y.ctypes.data))

        def theirs(torch, tx):
            torch.nn.functional.batch_norm(tx, *(torch.from_numpy(a) for a in (mean, var, g, b)),
                                           training=False)
    elif kind == "dropout":
        nbytes = 9 * n

        def ours(m):
            m.dropout(x, 0.25, 7)

        def roof():
            y, msk = np.empty_like(x), np.empty(x.shape, np.bool_)
            lib.scale_mask(ptr(x.ctypes.data), ctypes.c_long(n), ctypes.c_float(1.5),
                           ptr(y.ctypes.data), ptr(msk.ctypes.data))

        def theirs(torch, tx):
            torch.nn.functional.dropout(tx, 0.25, training=True)
    else:
        nbytes = 9 * n

        def ours(m):
            m.dropout_backward(x, mask, 0.25)

        def roof():
            dx = np.empty_like(x)
            lib.masked_scale(ptr(x.ctypes.data), ptr(mask.ctypes.data), ctypes.c_long(n),
                             ctypes.c_float(1.5), ptr(dx.ctypes.data))

        def theirs(torch, tx):   # what a dropout's backward is in torch: a masked scale
            torch.ops.aten.native_dropout_backward(tx, tmask, 1 / 0.75)
    for name, m in (("dlkern", native), ("reference", reference)):
        def call(m=m):
            with dlkern.threads(threads):
                ours(m)
        out[name] = call

    def roof_call():
        lib.omp_set_num_threads(threads)
        roof()
    out["roof"] = roof_call
    try:
        import torch
    except ImportError:
        return out, nbytes
    tx, tmask = torch.from_numpy(x), torch.from_numpy(mask)

    def tcall():
        torch.set_num_threads(threads)
        theirs(torch, tx)
    out["torch"] = tcall
    return out, nbytes


def stream(repeat):
    print(f"Shape {STREAM_SHAPE}, float32.\n")
    print("| kernel | threads | dlkern ms | dlkern GB/s | roof GB/s | share of roof | "
          "vs reference | vs torch |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("bn_inference", "dropout", "dropout_backward"):
        for threads in (1, 2):
            runs = []
            for _ in range(repeat):
                contenders, nbytes = stream_contenders(kind, threads)
                runs.append(interleaved(contenders, rounds=7, inner=3))
            med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            t = med["dlkern"]
            tor = f"{med['torch'] / t:.2f}x" if "torch" in med else "-"
            print(f"| {kind} | {threads} | {t * 1e3:.2f} | {nbytes / t / 1e9:.1f} | "
                  f"{nbytes / med['roof'] / 1e9:.1f} | {med['roof'] / t:.0%} | "
                  f"{med['reference'] / t:.1f}x | {tor} |", flush=True)


def training(repeat):
    print("| workload | threads | dlkern ms | vs NumPy backend | vs torch |")
    print("|---|---|---|---|---|")
    for name in ("train_cnn", "train_xor"):
        for threads in (1, 2):
            runs = [interleaved(training_contenders(name, threads), rounds=5, inner=1)
                    for _ in range(repeat)]
            med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            t = med["dlkern"]
            tor = f"{med['torch'] / t:.2f}x" if "torch" in med else "-"
            print(f"| {name} | {threads} | {t * 1e3:.1f} | {med['numpy backend'] / t:.2f}x | "
                  f"{tor} |", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["optim", "layers", "training", "stream"])
    ap.add_argument("names", nargs="*", help="layer workloads (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="independent interleaved runs")
    ap.add_argument("--markdown", action="store_true",
                    help="a results page: title, stamp (commit, CPU, date, command), table")
    args = ap.parse_args()
    if args.markdown:
        print(f"# Benchmarks: the {args.what} workloads of WORKLOADS.md\n")
        print(stamp("python bench/ratios.py " + " ".join(sys.argv[1:])) + "\n")
        print("Generated; do not edit.  Medians of interleaved rounds (the method: "
              "docs/METHOD.md), float32; ratios are peer time / dlkern time (above 1, "
              "dlkern is faster), \"vs roof\" is the time of a loop with the kernel's "
              "compulsory memory traffic over dlkern's (bench/stream.c).  Every public "
              "function over a sweep of shapes: docs/SWEEP.md (`python bench/sweep.py "
              "--markdown`); MPI training: docs/DISTRIBUTED.md; hardening: "
              "docs/HARDENING.md.\n")
    if args.what == "optim":
        optim(args.repeat)
    elif args.what == "training":
        training(args.repeat)
    elif args.what == "stream":
        stream(args.repeat)
    else:
        layers(args.repeat, args.names or list(LAYER_WORKLOADS))
