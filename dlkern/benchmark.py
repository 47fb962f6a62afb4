"""Interleaved timing: the contenders run in turn, round after round, so that a slow
spell of the machine hits all of them alike; medians of the rounds are compared.

Used by `dlkern demo`, bench/ and docs/BENCHMARKS.md.  Ratios are peer / dlkern:
above 1 means dlkern is faster.
"""
import os
import time

import numpy as np


def _once(fn, inner):
    """The median of `inner` timed calls: a 2-thread call that loses a core to the
    hypervisor for one 4 ms tick (seen every 5-10 calls of a 0.2 ms convolution here)
    spoils one call, not the sample."""
    times = []
    for _ in range(inner):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def interleaved(contenders, rounds=7, inner=3, warmup=1, pause=0.1, warm=0.02):
    """{name: fn} -> {name: median seconds per call}, the contenders taking turns.

    `pause` seconds of sleep separate the samples: idle pool threads keep spinning
    after their work — libgomp's for a fraction of a millisecond, OpenBLAS's (behind
    NumPy, so behind the reference) calling sched_yield for up to ~70 ms — and
    PyTorch brings its own runtime, so without the pause whoever runs next shares the
    two cores with the previous contender's threads (measured: a 0.5 ms convolution
    took 7 ms right after the NumPy reference).  After the pause one untimed call
    runs first: this KVM guest parks an idle vCPU, and the first parallel regions
    after a sleep wait milliseconds for it to come back (measured: a 0.44 ms product
    took 6-7 ms after a 1 s sleep).  The untimed calls go on for `warm` seconds: after
    the pause memory-bound calls also run slow for a few milliseconds (measured:
    pool_mnist forward+backward at 1 thread took 1.1-1.5, 0.7-1.0, 0.5-0.7, 0.5, 0.45 ms
    in its first five calls after one untimed call), which one untimed call of a long
    contender covers and of a short one does not."""
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
            start = time.perf_counter()
            contenders[name]()          # untimed: wakes the other vCPU, warms the caches
            while time.perf_counter() - start < warm:
                contenders[name]()
            samples[name].append(_once(contenders[name], inner))
    return {name: float(np.median(ts)) for name, ts in samples.items()}


def add_run_arguments(parser, rounds=7):
    """The options of a script built on interleaved_runs: --threads, --rounds, --repeat."""
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--repeat", type=int, default=3, help="independent interleaved runs")


def backend_contenders(step, threads):
    """{"native": fn, "numpy": fn}: step() on each of dlkern's backends at `threads`."""
    import dlkern

    def on(backend):
        def call():
            with dlkern.use_backend(backend), dlkern.threads(threads):
                step()
        return call
    return {"native": on("native"), "numpy": on("numpy")}


def adam_step(model, loss, X, y, lr):
    """A function running one Adam step of a dlkern.nn model: loss(model.forward(X), y)
    -> (value, gradient), the backward pass, the update; it returns the loss."""
    from dlkern import optim
    opt = optim.Adam(model, lr=lr)

    def step():
        value, grad = loss(model.forward(X), y)
        model.backward(grad)
        opt.step()
        return value
    return step


def model_step_contenders(make_model, dlkern_step, torch_step, X, y, threads):
    """{"native": fn, "numpy": fn[, "torch": fn]}: one training step each, every
    contender training its own model from make_model() (the same weights each call):
    dlkern_step(model, X, y) on each of dlkern's backends, and torch_step(model, X,
    y)[0] (a twin built from the model's weights) when PyTorch is installed."""
    out = {b: backend_contenders(dlkern_step(make_model(), X, y), threads)[b]
           for b in ("native", "numpy")}
    try:
        import torch
    except ImportError:
        return out
    torch.set_num_threads(threads)
    out["torch"] = torch_step(make_model(), X, y)[0]
    return out


def step_main(parser, title, make):
    """The main of a bench script timing one training step: the run options added to
    `parser`, its arguments parsed, title(args) printed with the thread count and the
    CPU, then interleaved_runs of make(args)."""
    add_run_arguments(parser)
    a = parser.parse_args()
    print(f"{title(a)}, {a.threads} threads, {cpu_model()}")
    interleaved_runs(lambda: make(a), a.repeat, a.rounds)


def interleaved_runs(make, repeat=3, rounds=7):
    """Prints `repeat` independent interleaved runs of the contenders `make()` returns
    ({name: fn}, "native" among them): each one's median time and every other's time
    over native's, a line a run."""
    for r in range(repeat):
        t = interleaved(make(), rounds=rounds)
        line = "  ".join(f"{k} {v * 1e3:.1f} ms" for k, v in t.items())
        ratios = ", ".join(f"vs {k} {v / t['native']:.2f}x" for k, v in t.items()
                           if k != "native")
        print(f"run {r + 1}: {line}; native {ratios}")


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


# ---- layer workloads (WORKLOADS.md) ------------------------------------------------------

LAYER_WORKLOADS = {
    "conv_mnist1": ("conv", dict(B=64, C=1, H=28, W=28, O=32, K=3, S=1, P=1)),
    "conv_mnist2": ("conv", dict(B=64, C=32, H=14, W=14, O=64, K=3, S=1, P=1)),
    "conv_resnet": ("conv", dict(B=32, C=64, H=56, W=56, O=64, K=3, S=1, P=1)),
    "conv_stride": ("conv", dict(B=16, C=3, H=64, W=64, O=32, K=5, S=2, P=2)),
    "pool_mnist": ("pool", dict(B=64, C=32, H=28, W=28, K=2, S=2, P=0)),
    "pool_stem": ("pool", dict(B=32, C=64, H=112, W=112, K=3, S=2, P=1)),
    "bn_mnist": ("bn", dict(B=64, C=32, H=28, W=28)),
    "linear_mlp": ("linear", dict(B=256, I=784, O=512)),
    "rnn_temp": ("rnn", dict(B=32, T=168, D=8, H=128)),
    "rnn_wide": ("rnn", dict(B=64, T=50, D=64, H=256)),
    "lstm_temp": ("lstm", dict(B=32, T=168, D=8, H=128)),
    "lstm_wide": ("lstm", dict(B=64, T=50, D=64, H=256)),
    "attn_512": ("attn", dict(B=8, heads=8, T=512, d=64, causal=False)),
    "attn_512_causal": ("attn", dict(B=8, heads=8, T=512, d=64, causal=True)),
    "attn_2k_causal": ("attn", dict(B=2, heads=8, T=2048, d=64, causal=True)),
}


def layer_work(name, mode):
    """(amount, unit) for the GFLOP/s or GB/s column: a multiply-add counts as 2 FLOPs;
    memory-bound kernels count the bytes they must move at least."""
    kind, d = LAYER_WORKLOADS[name]
    if kind == "conv":
        ho = (d["H"] + 2 * d["P"] - d["K"]) // d["S"] + 1
        wo = (d["W"] + 2 * d["P"] - d["K"]) // d["S"] + 1
        macs = d["B"] * d["O"] * ho * wo * d["C"] * d["K"] ** 2
        return (2 * macs * (3 if mode == "fwd+bwd" else 1), "GFLOP")
    if kind == "linear":
        macs = d["B"] * d["I"] * d["O"]
        return (2 * macs * (3 if mode == "fwd+bwd" else 1), "GFLOP")
    if kind in ("rnn", "lstm"):
        macs = d["B"] * d["T"] * d["H"] * (d["H"] + d["D"]) * (4 if kind == "lstm" else 1)
        return (2 * macs * (3 if mode == "fwd+bwd" else 1), "GFLOP")
    if kind == "attn":
        # Q Kᵀ and P V: 2 T² d multiply-adds per head (half when causal); the
        # backward is counted as 2.5 forwards (dV, dP, dQ, dK products), as is usual
        macs = d["B"] * d["heads"] * 2 * d["T"] ** 2 * d["d"] * (0.5 if d["causal"] else 1)
        return (2 * macs * (3.5 if mode == "fwd+bwd" else 1), "GFLOP")
    n = d["B"] * d["C"] * d["H"] * d["W"]
    if kind == "pool":
        n, m = pool_sizes(name)
        fwd = 4 * n + 4 * m + 8 * m              # read x; write y and int64 indices
        bwd = 4 * m + 8 * m + 4 * n              # read dy, indices; write dx
        return (fwd + (bwd if mode == "fwd+bwd" else 0), "GB")
    # batch norm: fwd reads x, writes y; bwd reads dy, x, writes dx
    return (4 * n * (2 + (3 if mode == "fwd+bwd" else 0)), "GB")


def pool_sizes(name):
    """(input elements, output elements) of pool workload `name`."""
    d = LAYER_WORKLOADS[name][1]
    ho = (d["H"] + 2 * d["P"] - d["K"]) // d["S"] + 1
    return d["B"] * d["C"] * d["H"] * d["W"], d["B"] * d["C"] * ho * ho


def _torch_recurrent(torch, kind, cache, D, H, W, U, bias):
    """torch.nn.RNN or LSTM ("RNN", "LSTM") with dlkern's weights (its second bias 0),
    made once into `cache`."""
    if kind not in cache:
        m = getattr(torch.nn, kind)(D, H, batch_first=True)
        with torch.no_grad():
            m.weight_hh_l0.copy_(torch.from_numpy(W))
            m.weight_ih_l0.copy_(torch.from_numpy(U))
            m.bias_ih_l0.copy_(torch.from_numpy(bias))
            m.bias_hh_l0.zero_()
        cache[kind] = m
    return cache[kind]


def layer_contenders(name, mode, threads, with_torch=True, with_reference=True):
    """{name: fn} running workload `name` ("fwd" or "fwd+bwd") in float32 for dlkern
    native, the NumPy reference and PyTorch's CPU kernel (autograd for the backward)."""
    import dlkern
    from dlkern import native, reference
    kind, d = LAYER_WORKLOADS[name]
    rng = np.random.default_rng(0)
    f32 = np.float32

    def rand(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(f32)

    if kind == "conv":
        x, w, b = rand(d["B"], d["C"], d["H"], d["W"]), rand(d["O"], d["C"], d["K"], d["K"],
                                                             scale=0.1), rand(d["O"])
        args, kw = (x, w, b), dict(stride=d["S"], padding=d["P"])

        def ours(m):
            y = m.conv2d(*args, **kw)
            if mode == "fwd+bwd":
                m.conv2d_backward(y, x, w, **kw)

        def theirs(torch, F, t):
            tx, tw, tb = (t(a) for a in args)
            y = F.conv2d(tx, tw, tb, d["S"], d["P"])
            if mode == "fwd+bwd":
                y.backward(y.detach())
    elif kind == "pool":
        x = rand(d["B"], d["C"], d["H"], d["W"])
        kw = dict(kernel_size=d["K"], stride=d["S"], padding=d["P"])

        def ours(m):
            y, idx = m.max_pool2d(x, **kw)
            if mode == "fwd+bwd":
                m.max_pool2d_backward(y, idx, x.shape)

        def theirs(torch, F, t):
            tx = t(x)
            y = F.max_pool2d(tx, d["K"], d["S"], d["P"])
            if mode == "fwd+bwd":
                y.backward(y.detach())
    elif kind == "bn":
        x, g, bt = rand(d["B"], d["C"], d["H"], d["W"]), rand(d["C"]), rand(d["C"])

        def ours(m):
            y, mean, invstd = m.batch_norm2d(x, g, bt)
            if mode == "fwd+bwd":
                m.batch_norm2d_backward(y, x, g, mean, invstd)

        def theirs(torch, F, t):
            tx, tg, tb = t(x), t(g), t(bt)
            y = F.batch_norm(tx, None, None, tg, tb, training=True)
            if mode == "fwd+bwd":
                y.backward(y.detach())
    elif kind == "rnn":
        B, T, D, H = d["B"], d["T"], d["D"], d["H"]
        x, h0 = rand(B, T, D), rand(B, H, scale=0.1)
        W, U, bias = rand(H, H, scale=H ** -0.5), rand(H, D, scale=D ** -0.5), rand(H)

        def ours(m):
            hs = m.rnn_forward(x, h0, W, U, bias)
            if mode == "fwd+bwd":
                m.rnn_backward(hs, x, hs, h0, W, U)

        cache = {}

        def theirs(torch, F, t):
            rnn = _torch_recurrent(torch, "RNN", cache, D, H, W, U, bias)
            hs, _ = rnn(t(x), t(h0[None]))
            if mode == "fwd+bwd":
                hs.backward(hs.detach())
    elif kind == "lstm":
        B, T, D, H = d["B"], d["T"], d["D"], d["H"]
        x, h0, c0 = rand(B, T, D), rand(B, H, scale=0.1), rand(B, H, scale=0.1)
        W, U, bias = (rand(4 * H, H, scale=H ** -0.5), rand(4 * H, D, scale=D ** -0.5),
                      rand(4 * H))

        def ours(m):   # as nn.LSTM does: the gates kept for the backward pass
            if mode == "fwd+bwd":
                hs, cs, gates = m.lstm_forward(x, h0, c0, W, U, bias, return_gates=True)
                m.lstm_backward(hs, x, hs, cs, h0, c0, W, U, bias, gates=gates)
            else:
                m.lstm_forward(x, h0, c0, W, U, bias)

        cache = {}

        def theirs(torch, F, t):
            lstm = _torch_recurrent(torch, "LSTM", cache, D, H, W, U, bias)
            hs, _ = lstm(t(x), (t(h0[None]), t(c0[None])))
            if mode == "fwd+bwd":
                hs.backward(hs.detach())
    elif kind == "attn":
        shape = (d["B"], d["heads"], d["T"], d["d"])
        q, k, v = rand(*shape), rand(*shape), rand(*shape)
        causal = d["causal"]

        def ours(m):
            out, lse = m.scaled_dot_product_attention(q, k, v, causal)
            if mode == "fwd+bwd":
                m.scaled_dot_product_attention_backward(out, q, k, v, out, lse, causal)

        def theirs(torch, F, t):
            out = F.scaled_dot_product_attention(t(q), t(k), t(v), is_causal=causal)
            if mode == "fwd+bwd":
                out.backward(out.detach())
    else:
        x, w, b = rand(d["B"], d["I"]), rand(d["O"], d["I"], scale=0.05), rand(d["O"])

        def ours(m):
            y = m.linear(x, w, b)
            if mode == "fwd+bwd":
                m.linear_backward(y, x, w)

        def theirs(torch, F, t):
            tx, tw, tb = t(x), t(w), t(b)
            y = F.linear(tx, tw, tb)
            if mode == "fwd+bwd":
                y.backward(y.detach())

    def with_threads(fn):
        def call():
            with dlkern.threads(threads):
                fn()
        return call

    out = {"dlkern": with_threads(lambda: ours(native))}
    if with_reference:
        out["reference"] = with_threads(lambda: ours(reference))
    if with_torch:
        try:
            import torch
            import torch.nn.functional as F
        except ImportError:
            return out
        grad = mode == "fwd+bwd"

        def t(a):
            return torch.from_numpy(a).requires_grad_(grad)

        def call():
            torch.set_num_threads(threads)
            if grad:
                theirs(torch, F, t)
            else:
                with torch.no_grad():
                    theirs(torch, F, t)
        out["torch"] = call
    return out


# ---- training workloads (WORKLOADS.md train_cnn, train_xor) ------------------------------

def training_contenders(name, threads, with_torch=True):
    """{name: fn}: "train_cnn" is one epoch of seed section 11's Conv–Conv–FC network on
    the 8×8 digits (batch 64, Adam); "train_xor" 1,000 steps of the 2–2–1 network on
    XOR (batch 4, Adam) — dlkern on its native backend, on its NumPy backend, and the
    same model and optimiser written in PyTorch."""
    import warnings
    import dlkern
    from dlkern import data, losses, models, optim, train
    warnings.filterwarnings("ignore", message="dlkern: .* has no native kernel yet")
    if name == "train_cnn":
        X, y, _, _ = data.digits()
        make, loss_fn, epochs, bs = models.digits_cnn, losses.cross_entropy, 1, 64
    elif name == "train_xor":
        X, y = data.xor()
        make, loss_fn, epochs, bs = models.xor_net, losses.bce_with_logits, 1000, 4
    else:
        raise ValueError(f"unknown training workload {name!r}")

    def ours(backend):
        def call():
            with dlkern.use_backend(backend), dlkern.threads(threads):
                m = make()
                train.fit(m, loss_fn, optim.Adam(m, lr=1e-3), X, y, epochs=epochs,
                          batch_size=bs, progress=False, seed=0)
        return call

    out = {"dlkern": ours("native"), "numpy backend": ours("numpy")}
    if not with_torch:
        return out
    try:
        import torch
    except ImportError:
        return out
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def theirs():
        torch.set_num_threads(threads)
        if name == "train_cnn":
            m = torch.nn.Sequential(
                torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
                torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                torch.nn.Linear(2048, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
            lf = torch.nn.CrossEntropyLoss()
        else:
            m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(),
                                    torch.nn.Linear(2, 1))
            lf = torch.nn.BCEWithLogitsLoss()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        g = np.random.default_rng(0)
        for _ in range(epochs):
            for idx in train.batches(len(X), bs, g):
                opt.zero_grad()
                lf(m(tX[idx]), ty[idx]).backward()
                opt.step()
    out["torch"] = theirs
    return out


# ---- the sweep: every spec's benchmark shapes (dlkern/specs, field `bench`) -------------

def _fresh(args):
    """Copies of list arguments (the optimizers update them in place), so that a
    contender's calls do not drift another's state."""
    return [[a.copy() for a in v] if isinstance(v, list) else v for v in args]


def sweep_contenders(spec, args, kwargs, with_torch=True):
    """{name: fn} calling spec's function on (args, kwargs): "dlkern" (native),
    "reference", "numpy" (the idiomatic expression, where the spec has one) and
    "torch" (where the spec has a peer and PyTorch is installed).  The calls are bare:
    run them inside ``sweep_threads(n)``, which sets every library's thread count once
    (a threadpoolctl limit costs about 0.6 ms to enter, more than a small call)."""
    from dlkern import native, reference

    def run(fn):
        a = _fresh(args)
        return lambda: fn(*a, **kwargs)

    out = {"dlkern": run(getattr(native, spec.name)),
           "reference": run(getattr(reference, spec.name))}
    if spec.numpy is not None:
        out["numpy"] = run(spec.numpy)
    if with_torch and spec.torch is not None:
        try:
            import torch
        except ImportError:
            return out
        out["torch"] = spec.torch(torch, *_fresh(args), **kwargs)
    return out


class sweep_threads:
    """Context: dlkern, NumPy's BLAS (threadpoolctl) and PyTorch at n threads."""

    def __init__(self, n):
        import dlkern
        from threadpoolctl import threadpool_limits
        self.n, self.contexts = n, [dlkern.threads(n), threadpool_limits(n)]

    def __enter__(self):
        for c in self.contexts:
            c.__enter__()
        try:
            import torch
            self.torch_before = torch.get_num_threads()
            torch.set_num_threads(self.n)
        except ImportError:
            self.torch_before = None
        return self

    def __exit__(self, *exc):
        if self.torch_before is not None:
            import torch
            torch.set_num_threads(self.torch_before)
        for c in reversed(self.contexts):
            c.__exit__(*exc)


def sweep(specs, threads=(1, 2), rounds=5, inner=3, pause=0.05, with_torch=True):
    """Times every benchmark point of every spec, interleaved; yields one dict per
    point and thread count: name, label, threads, the median seconds of each
    contender, and the ratios "vs numpy" (the faster of the reference and the NumPy
    idiom, over dlkern) and "vs torch" (torch over dlkern): above 1, dlkern is faster."""
    import numpy as np
    for spec in specs:
        for label, args, kwargs in spec.bench(np.random.default_rng(0), np.float32):
            contenders = sweep_contenders(spec, args, kwargs, with_torch)
            for nt in threads:
                with sweep_threads(nt):
                    times = interleaved(contenders, rounds=rounds, inner=inner, pause=pause)
                best_numpy = min(times[k] for k in ("reference", "numpy") if k in times)
                yield {"name": spec.name, "label": label, "threads": nt, "times": times,
                       "vs numpy": best_numpy / times["dlkern"],
                       "vs torch": times["torch"] / times["dlkern"] if "torch" in times
                       else None}


def stamp(command):
    """The line that heads a generated results page: commit, CPU, date, command."""
    import datetime
    import platform
    import subprocess
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    try:
        import torch
        peer = f" · torch {torch.__version__}"
    except ImportError:
        peer = ""
    return (f"commit {commit} · CPU {cpu_model()} · {os.cpu_count()} cores · "
            f"{datetime.date.today().isoformat()} · Python {platform.python_version()}"
            f"{peer} · `{command}`")


def cpu_model():
    """The CPU's model name and, where /proc/cpuinfo gives them, family and model."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (s.strip() for s in line.split(":", 1))
                    fields.setdefault(k, v)
    except OSError:
        import platform
        return platform.processor() or "unknown"
    name = fields.get("model name", "unknown")
    if "cpu family" in fields:
        name += f" (family {fields['cpu family']} model {fields.get('model', '?')})"
    flags = fields.get("flags", "").split()
    name += ", AVX-512" if "avx512f" in flags else (", AVX2" if "avx2" in flags else "")
    return name
