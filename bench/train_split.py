"""Where a train_cnn epoch goes: every public kernel call timed, the rest is Python.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/train_split.py \
        [--backend native|numpy] [--threads 2] [--epochs 20]

The layers call dlkern.ops.<name> (the losses through dlkern.losses), so wrapping those
names times each kernel on either backend, argument checks included.  Prints ms per
epoch and µs per call.
"""
import argparse
import collections
import time

from dlkern import benchmark, losses, ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["native", "numpy"], default="native")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()

    spent, calls = collections.defaultdict(float), collections.Counter()
    for name in ops.__all__:
        def timed(*a, _f=getattr(ops, name), _name=name, **kw):
            t = time.perf_counter()
            out = _f(*a, **kw)
            spent[_name] += time.perf_counter() - t
            calls[_name] += 1
            return out
        setattr(ops, name, timed)
        if getattr(losses, name, None) is not None:     # dlkern.losses re-exports the losses
            setattr(losses, name, timed)

    # the same epoch that `bench/ratios.py training` times
    epoch = benchmark.training_contenders("train_cnn", args.threads, with_torch=False)[
        "dlkern" if args.backend == "native" else "numpy backend"]

    for _ in range(3):                      # warm-up, not counted
        epoch()
    spent.clear()
    calls.clear()
    t = time.perf_counter()
    for _ in range(args.epochs):
        epoch()
    total = (time.perf_counter() - t) / args.epochs * 1e3
    kernels = sum(spent.values()) / args.epochs * 1e3
    print(f"train_cnn, {args.backend} backend, {args.threads} threads: epoch {total:.2f} ms,"
          f" kernels {kernels:.2f} ms, Python around them {total - kernels:.2f} ms")
    for name, sec in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24s} {sec / args.epochs * 1e3:7.2f} ms/epoch  "
              f"{calls[name] // args.epochs:4d} calls  {sec / calls[name] * 1e6:8.1f} us/call")


if __name__ == "__main__":
    main()
