"""Every public function under load: with one busy process beside it (a Python loop
that never sleeps, one per core but one), dlkern at its default thread count against
dlkern at one thread, interleaved, on the spec's benchmark shapes.

    python bench/contention.py                        # every function
    python bench/contention.py rnn_forward conv2d linear --rounds 5
    python bench/contention.py --markdown

The ratio is default time / one-thread time under the same load: above 1, the default
loses to one thread (issue target: at most 1.25).  Where the cores look shared,
dlkern keeps calls on one thread for a while (csrc/dlk.h, dlk_team_state;
`dlkern info` prints cores_shared).  Split matrix products and the recurrences' step
loops notice it; a function that makes neither (softmax, layer_norm, conv2d run
alone) keeps its two threads unless something else in the process noticed.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

import dlkern
from dlkern.benchmark import interleaved, stamp
from dlkern.specs import SPECS


def busy_processes(count):
    """`count` processes spinning in a Python loop until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(count)]


def contenders(spec, args, kwargs, default):
    from dlkern import native
    from dlkern.benchmark import _fresh
    fn = getattr(native, spec.name)

    def at(n):
        a = _fresh(args)

        def call():
            with dlkern.threads(n):
                fn(*a, **kwargs)
        return call
    return {"1 thread": at(1), f"{default} threads": at(default)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="public functions (default: all)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in SPECS]
    if unknown:
        ap.error(f"no spec for {', '.join(unknown)}; known: {', '.join(sorted(SPECS))}")
    default = dlkern.get_num_threads()
    if default < 2:
        ap.error("one thread by default here: nothing to compare")
    cores = len(os.sched_getaffinity(0))
    if args.markdown:
        print("# Under load: the default thread count against one thread\n")
        print(stamp("python bench/contention.py " + " ".join(argv if argv is not None
                                                              else sys.argv[1:])) + "\n")
        print(f"{cores - 1} busy process(es) beside dlkern; medians of interleaved rounds, "
              "float32; ratio = default / one thread (above 1, the default is slower).\n")
    print(f"| function | shape | 1 thread µs | {default} threads µs | ratio |")
    print("|---|---|---|---|---|")
    specs = [SPECS[n] for n in (args.names or sorted(SPECS))]
    worst = (0.0, "")
    busy = busy_processes(max(1, cores - 1))
    try:
        for spec in specs:
            for label, a, kw in spec.bench(np.random.default_rng(0), np.float32):
                t = interleaved(contenders(spec, a, kw, default), rounds=args.rounds,
                                inner=3, pause=0.02)
                one, dflt = t["1 thread"], t[f"{default} threads"]
                print(f"| {spec.name} | {label} | {one * 1e6:.1f} | {dflt * 1e6:.1f} "
                      f"| {dflt / one:.2f} |", flush=True)
                if dflt / one > worst[0]:
                    worst = (dflt / one, f"{spec.name} {label}")
    finally:
        for p in busy:
            p.kill()
            p.wait()
    print(f"\nworst ratio: {worst[0]:.2f} ({worst[1]})")


if __name__ == "__main__":
    main()
