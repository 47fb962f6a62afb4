"""First steps of the hardening work: native kernels called from many Python threads
at once give the serial results, and repeated calls do not grow memory."""
import resource
import threading

import numpy as np
import pytest

import dlkern
from dlkern import native
from dlkern.samples import SAMPLES, compare


def _first_sample(name):
    return next(iter(SAMPLES[name](np.random.default_rng(12), np.float32)))[1]


@pytest.mark.parametrize("name", native.implemented())
def test_eight_python_threads_at_once_match_serial(name):
    run = _first_sample(name)
    expected = run(native)
    results, errors = [None] * 8, []

    def work(i):
        try:
            for _ in range(3):
                results[i] = run(native)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with dlkern.threads(2):
        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert not errors, errors
    for r in results:
        assert compare(r, expected)[0] == 0, f"{name}: a concurrent call differs"


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2 ** 20


def test_repeated_calls_and_rejected_calls_do_not_leak():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    q = rng.standard_normal((2, 9, 8)).astype(np.float32)
    p, g = [np.zeros(100, np.float32)] * 2, [np.ones(100, np.float32)] * 2
    calls = [
        lambda: native.conv2d_backward(native.conv2d(x, w, None, 1, 1), x, w, 1, 1),
        lambda: native.max_pool2d_backward(*native.max_pool2d(x, 2), x.shape),
        lambda: native.scaled_dot_product_attention_backward(
            q, q, q, q, *native.scaled_dot_product_attention(q, q, q, True), True),
        lambda: native.adam_step([a.copy() for a in p], g, [a.copy() for a in p],
                                 [a.copy() for a in p], step=1),
    ]
    bad = [lambda: native.conv2d(x, w[:, :2]), lambda: native.adam_step(p, g, p, p, step=0)]
    for fn in calls + bad:                                  # warm-up: pools, caches
        try:
            fn()
        except ValueError:
            pass
    before = _rss_mb()
    for _ in range(2500):
        for fn in calls:
            fn()
        for fn in bad:
            with pytest.raises(ValueError):
                fn()
    assert _rss_mb() - before < 5.0


@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_sizes_whose_products_overflow_are_refused_before_any_allocation(backend):
    # broadcast views: huge shapes that take no memory
    big = np.broadcast_to(np.float32(0), (2 ** 20, 1, 2 ** 16, 2 ** 16))
    w = np.zeros((8, 1, 3, 3), np.float32)
    with dlkern.use_backend(backend):
        with pytest.raises(ValueError, match=r"conv2d: the output would have \d+ elements"):
            dlkern.conv2d(big, w, padding=1)
        with pytest.raises(ValueError, match=r"max_pool2d: the output would have \d+"):
            dlkern.max_pool2d(big, 1)
        with pytest.raises(ValueError, match=r"im2col: the column matrix would have \d+"):
            dlkern.im2col(big, 3, 1, 1)
        huge = np.broadcast_to(np.float32(0), (2 ** 46, 1, 1, 1))   # output 2^49 elements
        with pytest.raises(ValueError, match=r"conv2d: the output would have"):
            dlkern.conv2d(huge, np.zeros((2 ** 3, 1, 1, 1), np.float32))
