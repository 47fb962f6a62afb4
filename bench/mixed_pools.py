"""Mixed NumPy + dlkern code: what each library's idle thread pool costs the other.

    python bench/mixed_pools.py               # 40 rounds per kernel, medians
    python bench/mixed_pools.py --rounds 10

Each round times, in one interleaved run:
- a dlkern call right after a NumPy product run with NumPy's BLAS at one thread (the
  baseline: the same cache disturbance, no NumPy worker left spinning);
- the same call right after the same product at NumPy's own thread count;
- a NumPy 512x512x512 float32 product right after another one, and right after the
  dlkern call.
A ratio above 1 is time lost to the other library's pool. Run with OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE unset; docs/METHOD.md ("Two pools in one process") quotes it.
"""
import argparse

import numpy as np
from threadpoolctl import ThreadpoolController

import dlkern
from dlkern.benchmark import _once


def numpy_blas():
    """threadpoolctl's controller of the BLAS NumPy itself loaded (not dlkern's)."""
    found = [lib for lib in ThreadpoolController().lib_controllers
             if "numpy" in lib.filepath and lib.internal_api in ("openblas", "mkl", "blis")]
    if not found:
        raise RuntimeError("NumPy's own BLAS was not found by threadpoolctl")
    return found[0]


def kernels(rng):
    def f32(*shape):
        return rng.standard_normal(shape, dtype=np.float32)
    x1, w1, b1 = f32(768, 64), f32(64, 64), f32(64)
    x2, w2, b2 = f32(256, 784), f32(784, 512), f32(512)
    xr = f32(1000, 100)
    xc, wc, bc = f32(16, 16, 32, 32), f32(32, 16, 3, 3), f32(32)
    return {
        "linear 768x64->64": lambda: dlkern.linear(x1, w1, b1, weight_layout="in_out"),
        "linear 256x784->512": lambda: dlkern.linear(x2, w2, b2, weight_layout="in_out"),
        "relu 1e5": lambda: dlkern.relu(xr),
        "softmax 1000x100": lambda: dlkern.softmax(xr),
        "conv2d (16,16,32,32) 3x3": lambda: dlkern.conv2d(xc, wc, bc, padding=1),
    }


def timed(f):
    """Seconds of one call."""
    return _once(f, 1)


def measure(rounds=40):
    """Rows of (kernel, baseline us, after-NumPy us, NumPy iso us, NumPy after-dlkern us)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((512, 512), dtype=np.float32) for _ in range(2))

    def product():
        return a @ b
    blas = numpy_blas()
    threads = blas.num_threads
    rows = []
    for name, call in kernels(rng).items():
        for _ in range(10):
            call()
        base, mixed, np_iso, np_mixed = [], [], [], []
        for _ in range(rounds):
            blas.set_num_threads(1)
            try:
                product()
            finally:                  # NumPy's setting comes back even if the product fails
                blas.set_num_threads(threads)
            base.append(timed(call))
            product()
            mixed.append(timed(call))
            product()
            np_iso.append(timed(product))
            call()
            np_mixed.append(timed(product))
        rows.append((name,) + tuple(np.median(v) * 1e6 for v in (base, mixed, np_iso, np_mixed)))
    return rows, threads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    rows, threads = measure(args.rounds)
    print(f"NumPy BLAS at {threads} threads, dlkern at {dlkern.get_num_threads()}")
    print("| dlkern call | after 1-thread product, us | after NumPy product, us | ratio "
          "| NumPy product iso, us | after dlkern call, us | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, base, mixed, np_iso, np_mixed in rows:
        print(f"| {name} | {base:.1f} | {mixed:.1f} | {mixed / base:.2f} | {np_iso:.1f} "
              f"| {np_mixed:.1f} | {np_mixed / np_iso:.2f} |")


if __name__ == "__main__":
    main()
