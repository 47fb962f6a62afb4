"""bench/fc_batchnorm.py: its PyTorch twin is the same net (the same losses over three
Adam steps, the same weights after them), and every contender runs a step."""
import argparse
import math

import numpy as np

from conftest import bench_module, needs_torch

fc = bench_module("fc_batchnorm")


def args(*argv):
    a = fc.add_arguments(argparse.ArgumentParser()).parse_args(list(argv))
    a.threads = 2
    return a


@needs_torch
def test_torch_twin_trains_as_the_dlkern_model_does():
    from dlkern import nn
    a = args("--batch", "16", "--inputs", "12", "--hidden", "7", "5")
    X, y = fc.data(a, seed=3)
    model, twin_source = fc.make_model(a), fc.make_model(a)
    step = fc.dlkern_step(model, X, y)
    tstep, tm = fc.torch_step(twin_source, X, y)
    for _ in range(3):
        loss, tloss = step(), tstep()
        assert math.isclose(loss, tloss, rel_tol=1e-4), (loss, tloss)
    linears = [(m, t) for m, t in zip(model.layers, tm) if isinstance(m, nn.Linear)]
    assert len(linears) == 3
    for m, t in linears:
        np.testing.assert_allclose(m.parameters()["weight"], t.weight.detach().numpy(),
                                   rtol=1e-3, atol=1e-5)


def test_every_contender_runs_a_step():
    fns = fc.contenders(args("--batch", "8", "--inputs", "6", "--hidden", "4"))
    assert {"native", "numpy"} <= set(fns)
    for fn in fns.values():
        fn()
        fn()
