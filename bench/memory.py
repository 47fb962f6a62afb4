"""Peak memory of the kernels that promise a bound, each case in a fresh process.

    python bench/memory.py attention     # B=1, heads=1, d=64, causal, T = 2k … 16k
    python bench/memory.py conv          # conv_resnet forward+backward at B = 32, 256

Reports the growth of the peak resident set (ru_maxrss) over the inputs and outputs
that the call must hold anyway, in MB (10^6 bytes).
"""
import argparse
import subprocess
import sys

CHILD = r"""
import resource, sys, numpy as np, dlkern
from dlkern import native
kind, n, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mod = native if backend == "native" else dlkern.reference
rng = np.random.default_rng(0)
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if kind == "attention":
    q, k, v = (rng.standard_normal((1, 1, n, 64)).astype(np.float32) for _ in range(3))
    out = np.empty_like(q); lse = np.empty((1, 1, n), np.float32)
    dq, dk, dv = np.empty_like(q), np.empty_like(q), np.empty_like(q)
    out.fill(0); lse.fill(0); dq.fill(0); dk.fill(0); dv.fill(0)   # touch: counted as held
    base = peak()
    o, l = mod.scaled_dot_product_attention(q, k, v, True)
    del out, lse
    g = mod.scaled_dot_product_attention_backward(o, q, k, v, o, l, True)
    del dq, dk, dv
else:
    x = rng.standard_normal((n, 64, 56, 56)).astype(np.float32)
    w = (rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)
    held = [np.ones_like(x) for _ in range(2)]     # y and dx, which the calls return
    base = peak()
    del held
    y = mod.conv2d(x, w, None, 1, 1)
    dx, dw, db = mod.conv2d_backward(y, x, w, 1, 1)
print((peak() - base) / 1e6)
"""


def run(kind, n, backend):
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(n), backend],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["attention", "conv"])
    args = ap.parse_args()
    if args.what == "attention":
        print("| T | native: peak growth MB | reference: peak growth MB |")
        print("|---|---|---|")
        for n in (2048, 4096, 8192, 16384):
            ref = run("attention", n, "numpy") if n <= 8192 else float("nan")
            print(f"| {n} | {run('attention', n, 'native'):.1f} | {ref:.1f} |", flush=True)
    else:
        print("| B | native: peak growth MB beyond y, dx | workspace limit MB |")
        print("|---|---|---|")
        import dlkern
        for n in (32, 256):
            print(f"| {n} | {run('conv', n, 'native'):.1f} | "
                  f"{dlkern.get_workspace_limit() / 1e6:.1f} |", flush=True)
