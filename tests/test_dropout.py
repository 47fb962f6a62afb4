"""Dropout's counter-based mask: its statistics, its dependence on the seed alone, and
nn.Dropout on it."""
import numpy as np
import pytest

import dlkern
from dlkern import native, nn, reference


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_fraction_and_neighbours_are_independent(p):
    n = 1_000_003
    _, mask = native.dropout(np.ones(n, np.float32), p, seed=42)
    keep = mask.mean()
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(keep - (1 - p)) < 5 * sigma, (keep, 1 - p)
    a, b = mask[:-1:2].astype(float), mask[1::2].astype(float)   # the two halves of a hash
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(n / 2)
    a, b = mask[:-2].astype(float), mask[2:].astype(float)       # consecutive counters
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(n)


def test_the_mask_depends_on_the_seed_and_index_only():
    x = np.random.default_rng(0).standard_normal((37, 1001)).astype(np.float32)
    masks = []
    for threads in (1, 2, 3):
        with dlkern.threads(threads):
            masks.append(native.dropout(x, 0.3, seed=7)[1])
    masks.append(reference.dropout(x.astype(np.float64), 0.3, seed=7)[1])
    for m in masks[1:]:
        np.testing.assert_array_equal(m, masks[0])
    other = native.dropout(x, 0.3, seed=8)[1]
    assert (other != masks[0]).mean() > 0.3
    # a prefix of the flat array draws the same mask as the whole
    np.testing.assert_array_equal(native.dropout(x.reshape(-1)[:5000], 0.3, 7)[1],
                                  masks[0].reshape(-1)[:5000])


def test_nn_dropout_runs_the_kernel_and_is_off_in_eval():
    layer = nn.Dropout(0.25, seed=3)
    x = np.ones((64, 50), np.float32)
    y = layer.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)
    y2 = layer.forward(x)
    assert (y2 != y).any(), "a new mask each call"
    layer.eval()
    assert layer.forward(x) is x
