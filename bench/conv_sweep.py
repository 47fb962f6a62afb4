"""Convolution against PyTorch and the NumPy reference over a grid of its own: kernels
1, 3, 5, 7; strides 1 and 2; dilation 1 and 2; groups 1, C/4 and C (depthwise);
channels 3-512; planes 7-224; batch 1-64.  Forward, and forward + backward (dX, dW,
db), float32, "same"-style padding d·(k − 1)/2, C_out = C_in (64 for a 3-channel
stem); dlkern native, torch.nn.functional.conv2d (with torch.nn.grad) and the reference
taking turns in one run (dlkern.benchmark.interleaved).  The worst and median ratios at
the end, and the plan each point took (dlkern._native.conv.explain).

    python bench/conv_sweep.py                              # the full grid, 2 threads
    python bench/conv_sweep.py --kernels 5 --groups 1
    python bench/conv_sweep.py --markdown > docs/BENCHMARKS-conv.md

Ratios are peer time / dlkern time: above 1, dlkern is faster.  The reference (NumPy,
im2col + one product per group) takes part where a point has at most --max-ref-macs
multiply-adds; run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, since NumPy's
BLAS takes part.
"""
import argparse
import sys

import numpy as np

import dlkern
from dlkern import native, reference
from dlkern._native import conv as native_conv
from dlkern.benchmark import interleaved, stamp

# (kernel, stride, dilation): the kernel shapes of the grid
KERNELS = [(1, 1, 1), (1, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 2), (5, 1, 1), (5, 2, 1),
           (7, 1, 1), (7, 2, 1)]
# (batch, channels, plane): small planes with many channels to large planes with few
SIZES = [(64, 16, 56), (32, 64, 28), (8, 256, 14), (1, 512, 7), (2, 32, 112)]
# first layers: 3 input channels, 64 output, groups 1
STEMS = [(8, 3, 224), (32, 3, 32)]


def points(kernels, groups, max_macs):
    """(B, C, O, P, k, stride, dilation, groups) of the grid, less the points of more than
    max_macs multiply-adds and those whose kernel overhangs the padded plane."""
    for k, s, d in KERNELS:
        if k not in kernels:
            continue
        sizes = [(B, C, C, P) for B, C, P in SIZES] + [(B, C, 64, P) for B, C, P in STEMS]
        for B, C, O, P in sizes:
            for kind in groups:
                g = {"1": 1, "C/4": C // 4, "C": C}[kind]
                if C == 3 and kind != "1" or g < 1 or C % g or O % g:
                    continue
                pad = d * (k - 1) // 2
                Po = (P + 2 * pad - d * (k - 1) - 1) // s + 1
                if Po < 1 or macs(B, C, O, Po, k, g) > max_macs:
                    continue
                yield B, C, O, P, k, s, d, g


def macs(B, C, O, Po, k, g):
    return B * O * Po * Po * (C // g) * k * k


def contenders(torch, B, C, O, P, k, s, d, g, backward, with_reference, seed=0):
    """{"dlkern": fn, "torch": fn[, "reference": fn]} for one point of the grid."""
    rng = np.random.default_rng(seed)
    pad = d * (k - 1) // 2
    x = rng.standard_normal((B, C, P, P), dtype=np.float32)
    w = (rng.standard_normal((O, C // g, k, k)) / np.sqrt(C // g * k * k)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    a = dict(stride=s, padding=pad, dilation=d, groups=g)
    dy = rng.standard_normal(native.conv2d(x, w, b, **a).shape, dtype=np.float32)
    tx, tw, tb, tdy = (torch.from_numpy(v) for v in (x, w, b, dy))
    F, grad = torch.nn.functional, torch.nn.grad

    def run(m):
        def step():
            m.conv2d(x, w, b, **a)
            if backward:
                m.conv2d_backward(dy, x, w, **a)
        return step

    def theirs():
        F.conv2d(tx, tw, tb, s, pad, d, g)
        if backward:
            grad.conv2d_input(tx.shape, tw, tdy, s, pad, d, g)
            grad.conv2d_weight(tx, tw.shape, tdy, s, pad, d, g)
            tdy.sum((0, 2, 3))
    c = {"dlkern": run(native), "torch": theirs}
    if with_reference:
        c["reference"] = run(reference)
    return c


def plan(B, C, O, P, k, s, d, g):
    """The implementations the native plan takes: forward, dX, dW (one name if one)."""
    pad = d * (k - 1) // 2
    got = native_conv.explain((B, C, P, P), (O, C // g, k, k), s, pad, dilation=d, groups=g)
    names = [got[p]["impl"] for p in ("forward", "dx", "dw")]
    return names[0] if len(set(names)) == 1 else "/".join(names)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernels", type=int, nargs="+", default=[1, 3, 5, 7])
    ap.add_argument("--groups", nargs="+", default=["1", "C/4", "C"],
                    choices=["1", "C/4", "C"])
    ap.add_argument("--max-macs", type=float, default=2 ** 31,
                    help="leave out points of more multiply-adds")
    ap.add_argument("--max-ref-macs", type=float, default=2 ** 26,
                    help="time the NumPy reference only at points up to this size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--markdown", action="store_true", help="a results page with its stamp")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    dlkern.set_num_threads(args.threads)
    if args.markdown:
        print("# Convolution against PyTorch and NumPy: a sweep of kernels, strides, "
              "dilation, groups, sizes\n")
        print(stamp("python bench/conv_sweep.py " + " ".join(
            argv if argv is not None else sys.argv[1:])) + "\n")
        print(f"float32, {args.threads} threads, padding d·(k − 1)/2; medians of "
              f"{args.rounds} interleaved rounds; ratios are peer time / dlkern time (above "
              "1, dlkern is faster); the NumPy reference is timed up to "
              f"{args.max_ref_macs:.0f} multiply-adds.\n")
    print("| k | stride | dil | groups | B | C→O | plane | MMAC | plan | dlkern fwd ms "
          "| vs torch | vs NumPy | dlkern fwd+bwd ms | vs torch | vs NumPy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = {(bw, peer): [] for bw in (False, True) for peer in ("torch", "reference")}
    for B, C, O, P, k, s, d, g in points(args.kernels, args.groups, args.max_macs):
        pad = d * (k - 1) // 2
        Po = (P + 2 * pad - d * (k - 1) - 1) // s + 1
        work = macs(B, C, O, Po, k, g)
        row = []
        for backward in (False, True):
            inner = 1 if work > 2 ** 28 else 3 if work > 2 ** 22 else 20
            t = interleaved(contenders(torch, B, C, O, P, k, s, d, g, backward,
                                       work <= args.max_ref_macs),
                            rounds=args.rounds, inner=inner)
            row.append(f"{t['dlkern'] * 1e3:.3f}")
            for peer in ("torch", "reference"):
                if peer in t:
                    ratios[backward, peer].append(t[peer] / t["dlkern"])
                    row.append(f"{t[peer] / t['dlkern']:.2f}")
                else:
                    row.append("-")
        print(f"| {k} | {s} | {d} | {g} | {B} | {C}→{O} | {P} | {work / 1e6:.1f} "
              f"| {plan(B, C, O, P, k, s, d, g)} | " + " | ".join(row) + " |", flush=True)
    print()
    for backward, name in ((False, "forward"), (True, "forward + backward")):
        for peer, label in (("torch", "torch"), ("reference", "NumPy")):
            r = np.array(ratios[backward, peer])
            if r.size:
                print(f"{name} vs {label}: worst {r.min():.2f}x, median {np.median(r):.2f}x, "
                      f"{int((r < 1).sum())} of {r.size} points below 1.0x  ")


if __name__ == "__main__":
    main()
