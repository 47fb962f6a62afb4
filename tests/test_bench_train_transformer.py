"""bench/train_transformer.py: its PyTorch twin is the same model (same logits, same
loss, the same parameters after an Adam step), and every contender runs a step."""
import argparse
import math

import numpy as np

from conftest import bench_module, needs_torch

tt = bench_module("train_transformer")


def args(**over):
    a = tt.add_arguments(argparse.ArgumentParser()).parse_args(
        [f"--{k.replace('_', '-')}={v}" for k, v in over.items()])
    a.threads = 2
    return a


@needs_torch
def test_torch_twin_trains_as_the_dlkern_model_does():
    import torch
    a = args(batch=8, length=7, d_model=32, heads=4, layers=2)
    from dlkern import data
    X, y = data.reverse_digits(a.batch, a.length, seed=3)
    model, twin_source = tt.make_model(a), tt.make_model(a)
    forward, _ = tt.torch_twin(twin_source)
    with torch.no_grad():
        want = forward(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.forward(X), want, rtol=1e-4, atol=1e-5)

    step = tt.dlkern_step(model, X, y)
    tstep, P = tt.torch_step(twin_source, X, y)
    for _ in range(3):
        loss, tloss = step(), tstep()
        assert math.isclose(loss, tloss, rel_tol=1e-4), (loss, tloss)
    for name, p in model.parameters().items():
        np.testing.assert_allclose(p, P[name].detach().numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)


def test_every_contender_runs_a_step():
    a = args(batch=4, length=5, d_model=16, heads=2, layers=1)
    fns = tt.contenders(a)
    assert {"native", "numpy"} <= set(fns)
    for name, fn in fns.items():
        fn()
        fn()
