"""Attention against PyTorch over a grid of its own: head dimension d, sequence length T
(T_q = T_k), heads B·h, causal or not; forward, and forward + backward, float32, dlkern
native and torch's scaled_dot_product_attention taking turns in one run
(dlkern.benchmark.interleaved); the worst and median ratio at the end.

    python bench/attention_sweep.py                         # the full grid, 2 threads
    python bench/attention_sweep.py --d 64 --T 512 --heads 64
    python bench/attention_sweep.py --markdown > docs/BENCHMARKS-attention.md

Ratios are torch time / dlkern time: above 1, dlkern is faster.
"""
import argparse
import sys

import numpy as np

import dlkern
from dlkern import native
from dlkern.benchmark import interleaved, stamp


def contenders(torch, BH, T, d, causal, backward, seed=0):
    """{"dlkern": fn, "torch": fn} for one point of the grid."""
    rng = np.random.default_rng(seed)
    q, k, v, do = (rng.standard_normal((BH, T, d), dtype=np.float32) for _ in range(4))
    tq, tk, tv = (torch.from_numpy(a).requires_grad_(backward) for a in (q, k, v))
    tdo = torch.from_numpy(do)
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def ours():
        out, lse = native.scaled_dot_product_attention(q, k, v, causal)
        if backward:
            native.scaled_dot_product_attention_backward(do, q, k, v, out, lse, causal)

    def theirs():
        out = sdpa(tq, tk, tv, is_causal=causal)
        if backward:
            out.backward(tdo)
    return {"dlkern": ours, "torch": theirs}


def points(ds, Ts, heads, max_macs):
    """The grid, less the points of more than max_macs multiply-adds per product."""
    for d in ds:
        for T in Ts:
            for BH in heads:
                if BH * T * T * d <= max_macs:
                    for causal in (False, True):
                        yield d, T, BH, causal


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--d", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--T", type=int, nargs="+", default=[16, 64, 256, 1024, 4096, 8192])
    ap.add_argument("--heads", type=int, nargs="+", default=[1, 8, 64, 256])
    ap.add_argument("--max-macs", type=float, default=2 ** 32,
                    help="leave out points whose Q·Kᵀ has more multiply-adds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--markdown", action="store_true", help="a results page with its stamp")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    dlkern.set_num_threads(args.threads)
    if args.markdown:
        print("# Attention against PyTorch: a sweep of d, T, heads, causal\n")
        print(stamp("python bench/attention_sweep.py " + " ".join(
            argv if argv is not None else sys.argv[1:])) + "\n")
        print(f"float32, {args.threads} threads, T_q = T_k = T; medians of {args.rounds} "
              "interleaved rounds; ratios are torch time / dlkern time (above 1, dlkern is "
              "faster).\n")
    print("| d | T | B·h | causal | dlkern fwd ms | vs torch fwd | dlkern fwd+bwd ms "
          "| vs torch fwd+bwd |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = {False: [], True: []}
    for d, T, BH, causal in points(args.d, args.T, args.heads, args.max_macs):
        row = []
        for backward in (False, True):
            work = BH * T * T * d
            inner = 1 if work > 2 ** 28 else 3 if work > 2 ** 22 else 20
            t = interleaved(contenders(torch, BH, T, d, causal, backward),
                            rounds=args.rounds, inner=inner)
            ratios[backward].append(t["torch"] / t["dlkern"])
            row += [f"{t['dlkern'] * 1e3:.3f}", f"{t['torch'] / t['dlkern']:.2f}"]
        print(f"| {d} | {T} | {BH} | {'yes' if causal else 'no'} | " + " | ".join(row) + " |",
              flush=True)
    for backward, name in ((False, "forward"), (True, "forward + backward")):
        r = np.array(ratios[backward])
        if r.size:
            print(f"\n{name}: worst {r.min():.2f}x torch, median {np.median(r):.2f}x, "
                  f"{int((r < 1).sum())} of {r.size} points below 1.0x")


if __name__ == "__main__":
    main()
