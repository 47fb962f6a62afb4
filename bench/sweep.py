"""Every public function over its spec's benchmark shapes (dlkern/specs, field
`bench`): dlkern native against the best NumPy (the faster of the reference and the
idiomatic NumPy expression) and PyTorch, interleaved in one run; the worst ratio of
each function and of the whole sweep at the end.

    python bench/sweep.py                      # every function, 1 and 2 threads
    python bench/sweep.py softmax cross_entropy --threads 2
    python bench/sweep.py --markdown > docs/SWEEP.md

Ratios are peer time / dlkern time: above 1, dlkern is faster.  Run with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (NumPy's BLAS takes part).
"""
import argparse
import sys

from dlkern.benchmark import stamp, sweep
from dlkern.specs import SPECS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="public functions (default: all)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--markdown", action="store_true",
                    help="a results page: the stamp, the table, the summary")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in SPECS]
    if unknown:
        ap.error(f"no spec for {', '.join(unknown)}; known: {', '.join(sorted(SPECS))}")
    specs = [SPECS[n] for n in (args.names or sorted(SPECS))]
    if args.markdown:
        print("# Sweep: every public function over its benchmark shapes\n")
        print(stamp("python bench/sweep.py " + " ".join(argv if argv is not None
                                                         else sys.argv[1:])) + "\n")
        print("Medians of interleaved rounds, float32; ratios are peer / dlkern (above 1, "
              "dlkern is faster); best NumPy is the faster of the reference and the "
              "idiomatic NumPy expression.  Method: docs/METHOD.md.\n")
    print("| function | shape | threads | dlkern µs | best NumPy µs | vs NumPy | torch µs "
          "| vs torch |")
    print("|---|---|---|---|---|---|---|---|")
    worst = {}
    for row in sweep(specs, threads=args.threads, rounds=args.rounds,
                     with_torch=not args.no_torch):
        t = row["times"]
        best = min(t[k] for k in ("reference", "numpy") if k in t)
        torch_t = f"{t['torch'] * 1e6:.1f}" if "torch" in t else "-"
        vs_torch = f"{row['vs torch']:.2f}" if row["vs torch"] is not None else "-"
        print(f"| {row['name']} | {row['label']} | {row['threads']} | {t['dlkern'] * 1e6:.1f} "
              f"| {best * 1e6:.1f} | {row['vs numpy']:.2f} | {torch_t} | {vs_torch} |",
              flush=True)
        w = worst.setdefault(row["name"], [float("inf"), float("inf")])
        w[0] = min(w[0], row["vs numpy"])
        if row["vs torch"] is not None:
            w[1] = min(w[1], row["vs torch"])
    print("\n| function | worst vs NumPy | worst vs torch |\n|---|---|---|")
    for name, (n, t) in worst.items():
        print(f"| {name} | {n:.2f} | {t if t != float('inf') else '-':{'.2f' if t != float('inf') else ''}} |")
    if worst:
        name = min(worst, key=lambda k: worst[k][0])
        print(f"\nworst ratio vs NumPy: {worst[name][0]:.2f} ({name})")
        torch_worst = {k: v[1] for k, v in worst.items() if v[1] != float("inf")}
        if torch_worst:
            name = min(torch_worst, key=torch_worst.get)
            print(f"worst ratio vs torch: {torch_worst[name]:.2f} ({name})")


if __name__ == "__main__":
    main()
