"""Optimizer steps (seed section 2): native vs reference, reference vs PyTorch,
list form (the bad inputs are in dlkern/specs/optim.py)."""
import numpy as np
import pytest

import dlkern
from dlkern import native, reference
from conftest import DTYPES, needs_torch, noncontiguous, torch

# name -> (state names, hyper-parameters used in the comparisons)
STEPS = {
    "sgd_step": ((), dict(lr=0.05, weight_decay=0.01)),
    "momentum_step": (("v",), dict(lr=0.05, beta=0.8, weight_decay=0.01)),
    "adagrad_step": (("G",), dict(lr=0.05, eps=1e-6, weight_decay=0.01)),
    "rmsprop_step": (("G",), dict(lr=0.01, beta=0.9, eps=1e-6, weight_decay=0.01)),
    "adam_step": (("m", "v"), dict(lr=0.01, beta1=0.9, beta2=0.99, weight_decay=0.01)),
}
SHAPES = [(1,), (7,), (33, 5), (2, 3, 4), (40_000,), (70_001,)]


def run_steps(module, name, params, grads, states, hp, steps, **extra):
    fn = getattr(module, name)
    for k in range(steps):
        g = [gs[k] for gs in grads]
        kw = dict(hp, **extra)
        if name == "adam_step":
            kw["step"] = k + 1
        fn(params, g, *states, **kw)


def make(name, shapes, dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for _ in range(steps)] for s in shapes]
    nstate = len(STEPS[name][0])
    states = [[np.zeros(s, dtype) for s in shapes] for _ in range(nstate)]
    return params, grads, states


CASES = [(name, {}) for name in STEPS] + [("adam_step", {"decoupled": True})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,extra", CASES, ids=list(STEPS) + ["adamw"])
def test_native_matches_reference_after_100_steps(name, dtype, extra):
    _, hp = STEPS[name]
    a = make(name, SHAPES, dtype, 100)
    b = make(name, SHAPES, dtype, 100)
    run_steps(reference, name, a[0], a[1], a[2], hp, 100, **extra)
    run_steps(native, name, b[0], b[1], b[2], hp, 100, **extra)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for x, y in zip(a[0] + sum(a[2], []), b[0] + sum(b[2], [])):
        # relative to the array's scale: elements that pass through zero have no
        # meaningful relative error of their own
        np.testing.assert_allclose(y, x, rtol=rtol, atol=rtol * np.max(np.abs(x)))


@pytest.mark.parametrize("name", list(STEPS))
def test_single_array_equals_list_of_one(name):
    _, hp = STEPS[name]
    a = make(name, [(50,)], np.float64, 3)
    b = make(name, [(50,)], np.float64, 3)
    run_steps(native, name, a[0], a[1], a[2], hp, 3)
    fn = getattr(native, name)
    for k in range(3):
        kw = dict(hp, step=k + 1) if name == "adam_step" else hp
        fn(b[0][0], b[1][0][k], *[s[0] for s in b[2]], **kw)
    np.testing.assert_array_equal(a[0][0], b[0][0])


@pytest.mark.parametrize("name", list(STEPS))
def test_native_is_bitwise_the_same_at_1_and_2_threads(name):
    _, hp = STEPS[name]
    results = []
    for nt in (1, 2):
        a = make(name, SHAPES, np.float32, 3)
        with dlkern.threads(nt):
            run_steps(native, name, a[0], a[1], a[2], hp, 3)
        results.append(a[0])
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("module", [reference, native], ids=["numpy", "native"])
def test_noncontiguous_gradient_is_accepted(module):
    rng = np.random.default_rng(1)
    p = rng.standard_normal((6, 5))
    g = rng.standard_normal((6, 5))
    p2 = p.copy()
    module.sgd_step(p, noncontiguous(g), lr=0.1)
    module.sgd_step(p2, g, lr=0.1)
    np.testing.assert_array_equal(p, p2)


@pytest.mark.parametrize("module", [reference, native], ids=["numpy", "native"])
def test_empty_list_is_a_no_op(module):
    module.adam_step([], [], [], [], step=1)


# ---- PyTorch: the optimizers whose formulas coincide with the seed's -------------

def torch_run(opt_name, p0, grads, **kw):
    t = torch.tensor(p0, requires_grad=True)
    opt = getattr(torch.optim, opt_name)([t], **kw)
    for g in grads:
        t.grad = torch.tensor(g)
        opt.step()
    return t.detach().numpy()


TORCH_CASES = [
    ("adam_step", "Adam", dict(lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01),
     dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.01)),
    ("adam_step", "AdamW", dict(lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1),
     dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decoupled=True)),
    ("adagrad_step", "Adagrad", dict(lr=0.05, eps=1e-10, weight_decay=0.01),
     dict(lr=0.05, eps=1e-10, weight_decay=0.01)),
    ("rmsprop_step", "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.01),
     dict(lr=0.01, beta=0.9, eps=1e-8, weight_decay=0.01)),
    # torch: v = μv + g, p -= ηv; the seed: v = βv + ηg, p -= v — equal at constant η
    ("momentum_step", "SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01),
     dict(lr=0.05, beta=0.8, weight_decay=0.01)),
    ("sgd_step", "SGD", dict(lr=0.05, weight_decay=0.01), dict(lr=0.05, weight_decay=0.01)),
]


@needs_torch
@pytest.mark.parametrize("module", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("name,torch_name,torch_kw,kw", TORCH_CASES,
                         ids=[c[1] + ("" if c[0] != "sgd_step" else "-plain") for c in TORCH_CASES])
def test_matches_pytorch(module, name, torch_name, torch_kw, kw):
    rng = np.random.default_rng(2)
    p0 = rng.standard_normal((17, 9))
    grads = [rng.standard_normal(p0.shape) for _ in range(20)]
    expected = torch_run(torch_name, p0, grads, **torch_kw)
    p = p0.copy()
    states = [np.zeros_like(p) for _ in STEPS[name][0]]
    fn = getattr(module, name)
    for k, g in enumerate(grads):
        extra = {"step": k + 1} if name == "adam_step" else {}
        fn(p, g, *states, **kw, **extra)
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-13)


@needs_torch
@pytest.mark.parametrize("module", [reference, native], ids=["numpy", "native"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(module, max_norm):
    rng = np.random.default_rng(4)
    gs = [rng.standard_normal(s) for s in [(7, 3), (100,), (2, 2, 2)]]
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for t, g in zip(ts, gs):
        t.grad = torch.tensor(g)
    expected = torch.nn.utils.clip_grad_norm_(ts, max_norm)
    mine = [g.copy() for g in gs]
    norm = module.clip_grad_norm(mine, max_norm)
    assert norm == pytest.approx(float(expected), rel=1e-12)
    for a, t in zip(mine, ts):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12)
