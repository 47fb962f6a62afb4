"""Ratios measured in one interleaved run, as docs/BENCHMARKS.md quotes them.

    python bench/ratios.py optim          # adam_10m, adam_many at 1 and 2 threads
    python bench/ratios.py optim --repeat 3

Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset when NumPy's BLAS takes part.
"""
import argparse

import numpy as np

from dlkern.benchmark import adam_bytes, adam_contenders, interleaved


def optim(repeat):
    print("| workload | threads | contender | median ms | GB/s | peer / dlkern |")
    print("|---|---|---|---|---|---|")
    for workload in ("adam_10m", "adam_many"):
        for threads in (1, 2):
            runs = []
            for _ in range(repeat):
                contenders = adam_contenders(workload, threads)
                runs.append(interleaved(contenders, rounds=9, inner=2))
            med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            for k, t in med.items():
                print(f"| {workload} | {threads} | {k} | {t * 1e3:.2f} | "
                      f"{adam_bytes(workload) / t / 1e9:.1f} | {t / med['dlkern']:.2f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["optim"])
    ap.add_argument("--repeat", type=int, default=3, help="independent interleaved runs")
    args = ap.parse_args()
    {"optim": optim}[args.what](args.repeat)
