"""The `dlkern` command: info, check, demo."""
import argparse
import sys


def cmd_info(args):
    import dlkern
    dlkern.info()
    return 0


def cmd_check(args):
    """Run every native kernel against its reference; exit 1 on any FAIL."""
    import numpy as np
    from dlkern import native, reference
    from dlkern.samples import SAMPLES, TOLERANCE, compare

    rows, failed = [], 0
    for name in native.implemented():
        if name not in SAMPLES:
            rows.append((name, "-", 0, float("nan"), float("nan"), "NO SAMPLES"))
            failed += 1
            continue
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(args.seed)
            worst_abs, worst_rel, count = 0.0, 0.0, 0
            for label, run in SAMPLES[name](rng, dtype):
                a, r = compare(run(native), run(reference))
                worst_abs, worst_rel, count = max(worst_abs, a), max(worst_rel, r), count + 1
            ok = worst_rel <= TOLERANCE[np.dtype(dtype)]
            failed += not ok
            rows.append((name, np.dtype(dtype).name, count, worst_abs, worst_rel,
                         "OK" if ok else "FAIL"))
    width = max([len("function")] + [len(r[0]) for r in rows])
    print(f"{'function':<{width}} {'dtype':<8} {'cases':>5} {'max abs err':>12} "
          f"{'max rel err':>12}  result")
    for name, dt, n, a, r, res in rows:
        print(f"{name:<{width}} {dt:<8} {n:>5} {a:>12.3e} {r:>12.3e}  {res}")
    missing = [n for n in native.__all__ if n not in native.implemented()]
    if missing:
        print(f"\nno native kernel yet (the NumPy reference runs): {', '.join(missing)}")
    print(f"\n{len(rows) - failed} OK, {failed} FAIL")
    return 1 if failed else 0


def cmd_demo(args):
    """Until the layer API lands: info, the self-check and the Adam benchmark."""
    import dlkern
    from dlkern.benchmark import adam_bytes, adam_contenders, interleaved

    print("== dlkern info")
    dlkern.info()
    print("\n== dlkern check")
    status = cmd_check(args)
    threads = dlkern.get_num_threads()
    for workload in ("adam_10m", "adam_many"):
        print(f"\n== {workload}: one Adam step, {threads} threads "
              "(median of interleaved rounds; ratio = their time / dlkern's)")
        times = interleaved(adam_contenders(workload, threads), rounds=3 if args.quick else 7,
                            inner=1 if args.quick else 2)
        for name, t in times.items():
            print(f"{name:<14} {t * 1e3:8.2f} ms  {adam_bytes(workload) / t / 1e9:6.1f} GB/s"
                  f"  ratio {t / times['dlkern']:5.2f}")
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dlkern", description="dlkern: fast CPU "
                                     "deep-learning kernels for NumPy models.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="version, backend, threads, OpenMP, ISA, BLAS")
    p.set_defaults(fn=cmd_info)
    p = sub.add_parser("check", help="every native kernel against its NumPy reference")
    p.add_argument("--seed", type=int, default=0, help="random seed of the inputs")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("demo", help="the main job: self-check and benchmarks")
    p.add_argument("--seed", type=int, default=0, help="random seed of the inputs")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.set_defaults(fn=cmd_demo)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("dlkern: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, not a traceback
        print(f"dlkern {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
