"""Interleaved timing: the contenders run in turn, round after round, so that a slow
spell of the machine hits all of them alike; medians of the rounds are compared.

Used by `dlkern demo`, bench/ and docs/BENCHMARKS.md.  Ratios are peer / dlkern:
above 1 means dlkern is faster.
"""
import time

import numpy as np


def _once(fn, inner):
    t = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t) / inner


def interleaved(contenders, rounds=7, inner=3, warmup=1, pause=0.005):
    """{name: fn} -> {name: median seconds per call}, the contenders taking turns.

    `pause` seconds of sleep separate the samples: an OpenMP runtime's idle threads
    spin for a while after a parallel region (libgomp's default wait policy), and
    PyTorch brings its own runtime, so without the pause whoever runs next shares the
    two cores with the previous contender's spinning threads."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in contenders}
    names = list(contenders)
    order = np.random.default_rng(0)
    for _ in range(rounds):
        # a fresh order each round: whoever runs next pays for the write-back of the
        # previous contender's dirty cache lines, so nobody always follows the same one
        for name in order.permutation(names):
            time.sleep(pause)
            samples[name].append(_once(contenders[name], inner))
    return {name: float(np.median(ts)) for name, ts in samples.items()}


def adam_workload(name, dtype=np.float32, seed=0):
    """The WORKLOADS.md optimizer shapes: "adam_10m" (one array of 10,000,000) and
    "adam_many" (200 arrays of 50,000).  Returns (params, grads, m, v) as lists."""
    sizes = {"adam_10m": [10_000_000], "adam_many": [50_000] * 200}[name]
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(n).astype(dtype) for n in sizes]
    grads = [rng.standard_normal(n).astype(dtype) for n in sizes]
    m = [np.zeros(n, dtype) for n in sizes]
    v = [np.zeros(n, dtype) for n in sizes]
    return params, grads, m, v


def adam_contenders(workload, threads, with_torch=True):
    """{name: fn} doing one Adam step on `workload` for dlkern native, the NumPy
    reference and (when installed) torch.optim.Adam fused and foreach."""
    import dlkern
    from dlkern import native, reference
    p, g, m, v = adam_workload(workload)
    step = [0]

    def run(fn):
        def call():
            step[0] += 1
            with dlkern.threads(threads):
                fn(p, g, m, v, step=step[0], lr=1e-3)
        return call

    out = {"dlkern": run(native.adam_step), "reference": run(reference.adam_step)}
    if with_torch:
        try:
            import torch
        except ImportError:
            return out
        for mode in ("fused", "foreach"):
            tp = [torch.from_numpy(x.copy()) for x in p]
            for t, gx in zip(tp, g):
                t.grad = torch.from_numpy(gx)
            opt = torch.optim.Adam(tp, lr=1e-3, **{mode: True})

            def call(opt=opt):
                prev = torch.get_num_threads()
                torch.set_num_threads(threads)
                opt.step()
                torch.set_num_threads(prev)
            out[f"torch {mode}"] = call
    return out


def adam_bytes(workload):
    """Bytes an Adam step moves: 7 streams (p, g, m, v read; p, m, v written) of 4 bytes."""
    return 7 * 4 * {"adam_10m": 10_000_000, "adam_many": 200 * 50_000}[workload]
