"""Specs of the optimizer steps and gradient clipping (seed section 2)."""
import numpy as np

from ._base import Case, Spec, fixed_rand, ones, rand, shifted, sprinkle, view

# name -> (number of state arrays, hyper-parameters of the samples)
STEPS = {
    "sgd_step": (0, dict(lr=0.05, weight_decay=0.01)),
    "momentum_step": (1, dict(lr=0.05, beta=0.8, weight_decay=0.01)),
    "adagrad_step": (1, dict(lr=0.05, eps=1e-6)),
    "rmsprop_step": (1, dict(lr=0.01, beta=0.9, eps=1e-6, weight_decay=0.01)),
    "adam_step": (2, dict(lr=0.01, beta1=0.9, beta2=0.99, weight_decay=0.01)),
}
_SHAPES = {
    "one array": [(1000,)],
    "odd sizes": [(1,), (7,), (33, 5), (2, 3, 4)],
    "list of 20": [(1000 + 37 * i,) for i in range(20)],
    "large": [(300_001,)],
}
_DIMS = [1, 2, 3, 5, 7, 13, 31, 64, 97]


def _step_samples(name):
    nstate, hp = STEPS[name]

    def samples(rng, dtype):
        for label, shapes in _SHAPES.items():
            params = [rand(rng, dtype, *s) for s in shapes]
            grads = [[rand(rng, dtype, *s) for s in shapes] for _ in range(5)]
            states = [[np.abs(rand(rng, dtype, *s)) for s in shapes] for _ in range(nstate)]
            variants = [(label, {})]
            if name == "adam_step":
                variants.append((label + ", AdamW", {"decoupled": True}))
            for tag, extra in variants:
                def run(module, params=params, grads=grads, states=states, extra=extra):
                    p = [x.copy() for x in params]
                    st = [[x.copy() for x in s] for s in states]
                    for k, g in enumerate(grads):
                        kw = dict(hp, step=k + 1) if name == "adam_step" else hp
                        getattr(module, name)(p, g, *st, **kw, **extra)
                    return p + sum(st, [])
                yield tag, run
    return samples


_HYPER = {  # name -> {hyper-parameter: strategy maker}
    "sgd_step": lambda st: {"lr": st.floats(1e-4, 1.0),
                            "weight_decay": st.sampled_from([0.0, 0.1])},
    "momentum_step": lambda st: {"lr": st.floats(1e-4, 1.0), "beta": st.floats(0.0, 0.99),
                                 "weight_decay": st.sampled_from([0.0, 0.1])},
    "adagrad_step": lambda st: {"lr": st.floats(1e-4, 1.0),
                                "eps": st.sampled_from([1e-8, 1e-3]),
                                "weight_decay": st.sampled_from([0.0, 0.1])},
    "rmsprop_step": lambda st: {"lr": st.floats(1e-4, 1.0), "beta": st.floats(0.0, 0.999),
                                "eps": st.sampled_from([1e-8, 1e-3]),
                                "weight_decay": st.sampled_from([0.0, 0.1])},
    "adam_step": lambda st: {"step": st.integers(1, 10 ** 6), "lr": st.floats(1e-5, 0.1),
                             "beta1": st.floats(0.0, 0.99), "beta2": st.floats(0.5, 0.9999),
                             "weight_decay": st.sampled_from([0.0, 0.1]),
                             "decoupled": st.booleans()},
}


def _step_fuzz(name):
    """Random lists of odd shapes and hyper-parameters; the updated arrays start one
    element into their buffers (the peel before the vector loop), the gradients are
    strided views and may hold special values."""
    nstate = STEPS[name][0]

    def fuzz(st):
        def make(hp, shapes, specials, dtype, seed):
            rng = np.random.default_rng(seed)
            p = [rand(rng, dtype, *s) for s in shapes]
            g = [view(sprinkle(rand(rng, dtype, *s), rng, specials), rng) for s in shapes]
            states = [[np.abs(rand(rng, dtype, *s)) for s in shapes] for _ in range(nstate)]

            def run(m):
                mine = [[shifted(a) for a in arrays] for arrays in [p] + states]
                with np.errstate(all="ignore"):
                    getattr(m, name)(mine[0], g, *mine[1:], **hp)
                return sum(mine, [])
            return Case(dtype, run)
        shapes = st.lists(st.lists(st.sampled_from(_DIMS), min_size=1, max_size=3),
                          min_size=1, max_size=5)
        return st.builds(make, st.fixed_dictionaries(_HYPER[name](st)), shapes,
                         st.booleans(), st.sampled_from([np.float32, np.float64]),
                         st.integers(0, 2 ** 31))
    return fuzz


_BENCH = {"1 array of 10": [10], "1 array of 10,000,000": [10_000_000],
          "200 arrays of 50,000": [50_000] * 200, "500 arrays of 7 to 7,000": None}


def _step_bench(name):
    nstate = STEPS[name][0]

    def bench(rng, dtype):
        for label, sizes in _BENCH.items():
            sizes = sizes or [int(n) for n in np.geomspace(7, 7000, 500)]
            p = [rand(rng, dtype, n) for n in sizes]
            g = [rand(rng, dtype, n) for n in sizes]
            states = [[np.zeros(n, dtype) for n in sizes] for _ in range(nstate)]
            kw = {"lr": 1e-3} if name != "adam_step" else {"lr": 1e-3, "step": 1}
            yield label, (p, g, *states), kw
    return bench


def _torch_step(name):
    opt = {"sgd_step": ("SGD", {}), "momentum_step": ("SGD", {"momentum": 0.9}),
           "adagrad_step": ("Adagrad", {}), "rmsprop_step": ("RMSprop", {}),
           "adam_step": ("Adam", {})}[name]

    def make(torch, p, g, *states, lr, **kw):
        tp = [torch.from_numpy(x.copy()) for x in p]
        for t, gx in zip(tp, g):
            t.grad = torch.from_numpy(gx)
        o = getattr(torch.optim, opt[0])(tp, lr=lr, foreach=True, **opt[1])
        return o.step
    return make


def _adam_args():
    rng = np.random.default_rng(3)
    return tuple([rng.standard_normal(4).astype(np.float32) for _ in range(3)]
                 for _ in range(4))


def _readonly(x):
    x.flags.writeable = False
    return x


def _adam_errors():
    def case(mutate, kw, exc, pattern):
        p, g, m, v = _adam_args()
        args, extra = mutate(p, g, m, v)
        return args, dict({"step": 1}, **kw, **extra), exc, pattern
    return [
        case(lambda p, g, m, v: ((p[:2] + [p[2].astype(np.int64)], g, m, v), {}), {},
             TypeError, r"adam_step: p\[2\] must be float32 or float64, got int64"),
        case(lambda p, g, m, v: ((p, g[:2] + [g[2].astype(np.float64)], m, v), {}), {},
             TypeError, r"adam_step: g\[2\] is float64, p\[0\] is float32"),
        case(lambda p, g, m, v: ((p, g, m, v[:2] + [np.ones(5, np.float32)]), {}), {},
             ValueError, r"adam_step: v\[2\] has shape \(5,\), p\[2\] has shape \(4,\)"),
        case(lambda p, g, m, v: ((p, g[:2], m, v), {}), {},
             ValueError, r"adam_step: g has 2 arrays, p has 3"),
        case(lambda p, g, m, v: ((p, g, m[:2] + [_readonly(m[2])], v), {}), {},
             ValueError, r"adam_step: m\[2\] is read-only"),
        case(lambda p, g, m, v: ((p[:2] + [np.ones(8, np.float32)[::2]], g, m, v), {}), {},
             ValueError, r"adam_step: p\[2\] is not C-contiguous"),
        case(lambda p, g, m, v: ((p[:2] + [[1.0, 2.0, 3.0, 4.0]], g, m, v), {}), {},
             TypeError, r"adam_step: p\[2\] must be a numpy.ndarray, got list"),
        case(lambda p, g, m, v: ((p[0], g, m[0], v[0]), {}), {},
             TypeError, r"adam_step: g must be a numpy.ndarray like p, got list"),
        case(lambda *a: (a, {}), {"step": 0},
             ValueError, r"adam_step: step must be an integer >= 1, got 0"),
        case(lambda *a: (a, {}), {"step": 1.5},
             TypeError, r"adam_step: step must be an integer, got float"),
        case(lambda *a: (a, {}), {"lr": -1.0},
             ValueError, r"adam_step: lr must be a finite number >= 0.0, got -1.0"),
        case(lambda *a: (a, {}), {"beta1": 1.0},
             ValueError, r"adam_step: beta1 must be a finite number in \[0.0, 1.0\), got 1.0"),
        case(lambda *a: (a, {}), {"eps": float("nan")},
             ValueError, r"adam_step: eps must be a finite number"),
    ]


def _step_errors(name):
    if name == "adam_step":
        return _adam_errors

    def errors():
        p = np.zeros(3, np.float32)
        states = [np.zeros(3, np.float32) for _ in range(STEPS[name][0])]
        return [((p, np.zeros(3, np.int32), *states), {"lr": 0.1}, TypeError,
                 rf"{name}: g must be float32 or float64, got int32"),
                ((p, p.copy(), *states), {"lr": float("inf")}, ValueError,
                 rf"{name}: lr must be a finite number")]
    return errors


def _step_valid(name):
    nstate = STEPS[name][0]
    extra = {"sgd_step": {"weight_decay": 0.0}, "momentum_step": {"beta": 0.9},
             "adagrad_step": {"eps": 1e-8}, "rmsprop_step": {"beta": 0.9},
             "adam_step": {"lr": 1e-3}}[name]

    def valid():
        p = [fixed_rand(7), fixed_rand(2, 3)]
        g = [fixed_rand(7, seed=1), fixed_rand(2, 3, seed=1)]
        states = [[np.abs(a) for a in g] for _ in range(nstate)]
        args = [p, g, *states] + ([1] if name == "adam_step" else [0.1])
        return args, extra
    return valid


def _clip_samples(rng, dtype):
    for label, shapes, max_norm in [("clipped list", [(1000,), (33, 7), (70_001,)], 1.0),
                                    ("not clipped", [(10,)], 1e6), ("one array", [(5, 5)], 0.5)]:
        gs = [rand(rng, dtype, *s) for s in shapes]

        def run(m, gs=gs, max_norm=max_norm, single=label == "one array"):
            mine = [g.copy() for g in gs]
            norm = m.clip_grad_norm(mine[0] if single else mine, max_norm)
            return mine + [np.array([norm])]
        yield label, run


def _clip_fuzz(st):
    def make(shapes, max_norm, dtype, seed):
        rng = np.random.default_rng(seed)
        g = [rand(rng, dtype, *s) for s in shapes]

        def run(m):
            mine = [shifted(a) for a in g]
            return mine + [np.array([m.clip_grad_norm(mine, max_norm)])]
        return Case(dtype, run)
    shapes = st.lists(st.lists(st.sampled_from(_DIMS), min_size=1, max_size=3), min_size=1,
                      max_size=5)
    return st.builds(make, shapes, st.floats(1e-3, 1e3),
                     st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))


def _clip_bench(rng, dtype):
    for label, sizes in [("1 array of 10", [10]), ("1 array of 10,000,000", [10_000_000]),
                         ("200 arrays of 50,000", [50_000] * 200)]:
        yield label, ([rand(rng, dtype, n) for n in sizes], 1.0), {}


def _torch_clip(torch, grads, max_norm):
    ts = [torch.empty(g.shape) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.from_numpy(g)
    return lambda: torch.nn.utils.clip_grad_norm_(ts, max_norm, foreach=True)


NO_GRAD = ("an update rule, not a differentiable function: tests/test_optim.py follows "
           "it against PyTorch's optimizers over 20 steps")

SPECS = [Spec(name, _step_samples(name), valid=_step_valid(name), errors=_step_errors(name),
              grad=NO_GRAD, fuzz=_step_fuzz(name), bench=_step_bench(name),
              torch=_torch_step(name))
         for name in STEPS] + [
    Spec("clip_grad_norm", _clip_samples,
         valid=lambda: ([[fixed_rand(2, 3), fixed_rand(7)], 1.0], {}),
         errors=lambda: [
             (([ones(3), np.ones(2)], 1.0), {}, TypeError, r"clip_grad_norm: grads\[1\] is float64, grads\[0\] is float32"),
             (([ones(3)], 0.0), {}, ValueError, r"clip_grad_norm: max_norm must be a finite number"),
             (([ones(6)[::2]], 1.0), {}, ValueError, r"clip_grad_norm: grads\[0\] is not C-contiguous")],
         grad="rescales the gradients; tests/test_optim.py checks it against PyTorch's",
         fuzz=_clip_fuzz, bench=_clip_bench, torch=_torch_clip),
]
