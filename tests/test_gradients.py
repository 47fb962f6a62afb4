"""Every spec's finite-difference cases (dlkern.specs, field `grad`): the reference's
backward is the gradient of its forward, by central differences in float64."""
import warnings

import pytest

import gradcheck
from dlkern.specs import SPECS

CASES = [(name, case) for name, spec in SPECS.items() if callable(spec.grad)
         for case in spec.grad()]


@pytest.mark.parametrize("name,case", CASES, ids=[f"{n}-{c.label}" for n, c in CASES])
def test_reference_gradient_matches_differences(name, case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no overflow or invalid value unseen
        gradcheck.check(case.f, case.inputs, case.analytic, case.dy, indices=case.wrt,
                        eps=case.eps)
