"""Which GEMM engine dlkern should stand on: every candidate timed at the shapes the
kernels use, interleaved, at 1 and 2 threads, single calls and many small calls from
an OpenMP loop.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/gemm.py [--quick]

C engines (loaded by csrc/gemm.c, called through the same C wrapper without the GIL):
OpenBLAS from the scipy-openblas32 wheel (dlkern's engine), SciPy's bundled OpenBLAS,
MKL from the `mkl` wheel if installed.  Peers called from Python: numpy.matmul,
torch.mm and the `blis` wheel, when installed.  Shapes are M×K×N: C[M,N] = A[M,K]·B[K,N].
"""
import argparse
import glob
import os
import sys

os.environ.setdefault("MKL_THREADING_LAYER", "GNU")   # MKL shares libgomp with us

import numpy as np
from threadpoolctl import threadpool_limits

from dlkern import _blas
from dlkern._native import gemm
from dlkern.benchmark import interleaved

SHAPES = [  # (label, M, K, N)
    ("conv_mnist1 im2col", 32, 9, 50176),
    ("conv_mnist2 im2col", 64, 288, 12544),
    ("conv_resnet im2col", 64, 576, 100352),
    ("conv_resnet transposed", 100352, 576, 64),
    ("rnn_temp step", 32, 128, 128),
    ("rnn_wide step", 64, 256, 256),
    ("attention tile", 64, 64, 64),
    ("attention tile K=512", 64, 512, 64),
    ("square", 2048, 2048, 2048),
]
MANY = {"rnn_temp step", "rnn_wide step", "attention tile", "attention tile K=512"}


def c_engines():
    out = {"OpenBLAS 0.3.34 (scipy-openblas32)": _blas.library()}
    import scipy
    libs = glob.glob(os.path.join(os.path.dirname(scipy.__file__), "..", "scipy.libs",
                                  "libscipy_openblas-*.so"))
    if libs:
        out[f"OpenBLAS (SciPy {scipy.__version__} bundled)"] = (os.path.realpath(libs[0]),
                                                               "scipy_")
    mkl = glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*"))
    if mkl:
        out["MKL (mkl wheel)"] = (mkl[0], "")
    return out


def peers(threads):
    out = {"numpy.matmul": lambda a, b: np.matmul(a, b)}
    try:
        import torch
        torch.set_num_threads(threads)
        out["torch.mm"] = lambda a, b: torch.mm(a, b) if a.dim() == 2 else torch.bmm(a, b)
    except ImportError:
        pass
    try:
        import blis.py
        out["blis wheel"] = lambda a, b: blis.py.gemm(a, b)
    except ImportError:
        pass
    return out


def timed(label, fn, inner):
    def call():
        for _ in range(inner):
            fn()
    return call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
        print("warning: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set; OpenBLAS runs slower "
              "kernels than this CPU allows", file=sys.stderr)
    engines = c_engines()
    rng = np.random.default_rng(0)
    rows = []
    for label, M, K, N in SHAPES:
        a = rng.standard_normal((M, K)).astype(np.float32)
        b = rng.standard_normal((K, N)).astype(np.float32)
        flops = 2.0 * M * K * N
        inner = max(1, int(2e7 / flops * 50))          # ~ a few ms per sample
        expected = a.astype(np.float64) @ b.astype(np.float64)
        modes = [(1, "single"), (2, "single")] + ([(2, "many")] if label in MANY else [])
        for threads, mode in modes:
            count = 64
            if mode == "many":
                A = np.ascontiguousarray(np.broadcast_to(a, (count, M, K)))
                B = np.ascontiguousarray(np.broadcast_to(b, (count, K, N)))
            contenders = {}
            for name, (path, prefix) in engines.items():
                def run(path=path, prefix=prefix):
                    gemm.load_library(path, prefix)
                    if mode == "many":
                        gemm.set_blas_threads(1)
                        for _ in range(inner):
                            gemm.matmul_many(A, B, threads)
                    else:
                        gemm.set_blas_threads(threads)
                        for _ in range(inner):
                            gemm.matmul(a, b)
                contenders[name] = run
                gemm.load_library(path, prefix)
                err = np.max(np.abs(gemm.matmul(a, b) - expected)) / np.max(np.abs(expected))
                assert err < 1e-4, (name, label, err)
            for name, fn in peers(threads).items():
                if name == "torch.mm":
                    import torch
                    ta, tb = (torch.from_numpy(A), torch.from_numpy(B)) if mode == "many" \
                        else (torch.from_numpy(a), torch.from_numpy(b))
                    contenders[name] = timed(name, lambda fn=fn, ta=ta, tb=tb: fn(ta, tb), inner)
                elif mode == "many" and name == "blis wheel":
                    continue
                else:
                    xa, xb = (A, B) if mode == "many" else (a, b)

                    def run(fn=fn, xa=xa, xb=xb):
                        with threadpool_limits(threads, user_api="blas"):
                            for _ in range(inner):
                                fn(xa, xb)
                    contenders[name] = run
            med = interleaved(contenders, rounds=3 if args.quick else 7, inner=1)
            per_call = {k: v / inner / (count if mode == "many" else 1) for k, v in med.items()}
            rows.append((label, M, K, N, threads, mode, per_call, flops))
            best = min(per_call.values())
            print(f"{label:<24} {M}x{K}x{N:<7} t={threads} {mode:<6} " + "  ".join(
                f"{k.split(' (')[0]}={v * 1e6:9.1f}us({flops / v / 1e9:5.0f}GF)"
                for k, v in per_call.items()), flush=True)
    return rows


if __name__ == "__main__":
    main()
