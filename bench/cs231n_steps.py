"""The CS231n training steps of bench/captioning.py, bench/convnet.py and
bench/fc_batchnorm.py as one results page: each configuration's contenders interleaved,
`--repeat` independent runs, the range of each ratio over the runs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/cs231n_steps.py \\
        --markdown > docs/BENCHMARKS-cs231n.md
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from dlkern.benchmark import add_run_arguments, interleaved, stamp  # noqa: E402
import captioning  # noqa: E402
import convnet  # noqa: E402
import fc_batchnorm  # noqa: E402



def captioning_flops(N, cell, T=16, V=1004, W=256, H=512, F=512):
    """Multiply-adds ×2 of the step's products: forward, and two products each backward."""
    g = 4 if cell == "lstm" else 1
    return 3 * 2 * (N * T * (g * H * (W + H) + H * V) + N * F * H)


def convnet_flops(N, C=3, HW=32, F=32, K=7, hidden=100, classes=10):
    return 3 * 2 * N * (HW * HW * F * C * K * K + F * (HW // 2) ** 2 * hidden +
                        hidden * classes)


def fc_args(threads):
    """bench/fc_batchnorm.py's defaults: assignment 2's FullyConnectedNet, 5 hidden
    layers of 100 with batch-norm, batch 200 of 3072 inputs."""
    a = fc_batchnorm.add_arguments(argparse.ArgumentParser()).parse_args([])
    a.threads = threads
    return a


def fc_flops(a):
    widths = [a.inputs] + a.hidden + [fc_batchnorm.CLASSES]
    return 3 * 2 * a.batch * sum(i * o for i, o in zip(widths, widths[1:]))


# (step, N, dtype, make contenders, flops); N 25 is the batch of the captioning
# assignment's solver, 50 the conv net's
CONFIGS = [(f"captioning {cell.upper()}", N, "float32",
            lambda t, N=N, cell=cell: captioning.contenders(N, cell=cell, threads=t),
            captioning_flops(N, cell)) for cell in ("rnn", "lstm") for N in (25, 128)] + [
    ("three-layer conv net", 50, dt, lambda t, dt=dt: convnet.contenders(50, np.dtype(dt).type, t),
     convnet_flops(50)) for dt in ("float32", "float64")] + [
    ("FC net with batch-norm", 200, "float32", lambda t: fc_batchnorm.contenders(fc_args(t)),
     fc_flops(fc_args(2)))]
PEERS = ["numpy", "numpy layers", "torch"]


def main():
    ap = argparse.ArgumentParser()
    add_run_arguments(ap, rounds=5)
    ap.add_argument("--markdown", action="store_true", help="title and stamp first")
    a = ap.parse_args()
    if a.markdown:
        print("# Benchmarks: CS231n training steps\n")
        print(stamp("python bench/cs231n_steps.py " + " ".join(sys.argv[1:])) + "\n")
        print("Generated; do not edit.  One training step (forward, loss, every gradient) "
              "of a model written on the CS231n assignments' API, with dlkern.compat.cs231n "
              "on dlkern's native backend (\"native\") against: the same on dlkern's NumPy "
              "backend (\"numpy backend\"); the assignments' layers in plain NumPy "
              "(bench/cs231n_numpy.py, \"numpy layers\": the model before `patch()`; "
              "captioning only); PyTorch eager (captioning only).  Each cell: the range "
              f"over {a.repeat} independent interleaved runs of the median of {a.rounds} "
              "rounds; ratios are peer time / native time (above 1, dlkern is faster).  "
              "The FC net with batch-norm (assignment 2's FullyConnectedNet, 5 hidden "
              "layers of 100, bench/fc_batchnorm.py) is written on dlkern.nn, with an Adam "
              "step; its torch peer is the same net in PyTorch.  "
              "The captioning step is N × 16 steps, vocabulary 1,004, word vectors 256, "
              "hidden 512, image features 512.  \"native GFLOP/s\": the step's products "
              "(forward and backward) over native's median time, to set against the "
              "machine's FMA peak.\n")
    print("| step | N | dtype | threads | native ms | native GFLOP/s | vs numpy backend "
          "| vs numpy layers | vs torch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for step, N, dtype, make, flops in CONFIGS:
        runs = [interleaved(make(a.threads), rounds=a.rounds) for _ in range(a.repeat)]

        def span(values, fmt):
            lo, hi = min(values), max(values)
            return fmt.format(lo) if f"{lo:.2f}" == f"{hi:.2f}" else \
                (fmt + "–" + fmt).format(lo, hi)
        cells = [span([r["native"] * 1e3 for r in runs], "{:.1f}"),
                 span([flops / r["native"] / 1e9 for r in runs], "{:.0f}")]
        for peer in PEERS:
            if all(peer in r for r in runs):
                cells.append(span([r[peer] / r["native"] for r in runs], "{:.2f}") + "×")
            else:
                cells.append("-")
        print(f"| {step} | {N} | {dtype} | {a.threads} | " + " | ".join(cells) + " |",
              flush=True)


if __name__ == "__main__":
    main()
