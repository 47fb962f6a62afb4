"""First steps of the hardening work: native kernels called from many Python threads
at once give the serial results, and repeated calls do not grow memory."""
import os
import resource
import threading
import textwrap

import numpy as np
import pytest

import dlkern
from dlkern import native
from dlkern.specs import SPECS, compare

from calls import VALID
from conftest import run_python


def _first_sample(name):
    return next(iter(SPECS[name].samples(np.random.default_rng(12), np.float32)))[1]


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


LEAK_CALLS = int(os.environ.get("DLKERN_LEAK_CALLS", 10_000))


def _fresh(args):
    """Copies of the list arguments (the optimizers update them in place)."""
    return [[a.copy() for a in v] if isinstance(v, list) else v for v in args]


@pytest.mark.skipif(bool(os.environ.get("DLKERN_SANITIZED")),
                    reason="under AddressSanitizer freed memory waits in its quarantine")
def test_repeated_calls_and_rejected_calls_do_not_leak():
    """Every native function, LEAK_CALLS valid calls and as many rejected ones (its first
    argument in the wrong dtype): resident memory stays flat."""
    growth = {}
    for name in native.implemented():
        fn = getattr(native, name)
        args, kw = VALID[name]
        args = _fresh(args)
        first = args[0]
        def wrong_dtype(a):              # ids (embedding's) are integers: floats are wrong
            return a.astype(np.float32 if a.dtype.kind in "iu" else np.int32)
        wrong = ([wrong_dtype(a) for a in first] if isinstance(first, list)
                 else wrong_dtype(first))
        bad = [wrong] + args[1:]
        with np.errstate(all="ignore"):
            for _ in range(50):                       # warm-up: pools, caches
                fn(*args, **kw)
            before = _rss_mb()
            for _ in range(LEAK_CALLS):
                fn(*args, **kw)
                try:
                    fn(*bad, **kw)
                except (TypeError, ValueError):
                    pass
                else:
                    raise AssertionError(f"{name}: a first argument of the wrong dtype was "
                                         "accepted")
        growth[name] = _rss_mb() - before
    print("resident memory growth, MB:", {k: round(v, 2) for k, v in growth.items()})
    worst = max(growth, key=growth.get)
    assert growth[worst] < 5.0, f"{worst} grew resident memory by {growth[worst]:.1f} MB"


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


@pytest.mark.parametrize("name", ["linear", "linear_backward", "conv2d", "conv2d_backward",
                                  "rnn_forward", "rnn_backward", "lstm_forward",
                                  "lstm_forward gates", "lstm_backward",
                                  "lstm_backward gates", "scaled_dot_product_attention",
                                  "scaled_dot_product_attention_backward"])
def test_a_callers_blas_thread_limit_does_not_stack_on_dlkerns_threads(name):
    """threadpool_limits(n) sets every OpenBLAS in the process, dlkern's GEMM engine
    too; the next product that dlkern splits over its own threads sets it back to
    one (two levels of threads made linear 256×784→512 ten times slower)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from dlkern._native import gemm
    name, gates = name.split(" ")[0], name.endswith(" gates")
    args, kw = VALID[name]
    if gates and name == "lstm_forward":      # the fused steps: no product over all steps
        kw = dict(kw, return_gates=True)
    elif gates:
        forward_args = [args[1], *args[4:9]]            # x, h0, c0, W, U, b
        kw = dict(kw, gates=native.lstm_forward(*forward_args, return_gates=True)[2])
    try:
        with threadpoolctl.threadpool_limits(2):
            gemm.set_blas_threads(2)          # where the limit did not find the engine
            assert gemm.get_blas_threads() == 2
            with dlkern.threads(2):
                getattr(native, name)(*_fresh(args), **kw)
            assert gemm.get_blas_threads() == 1
    finally:
        gemm.set_blas_threads(1)


def test_one_scratch_cache_serves_every_family():
    """The runtime (csrc/dlk.c) has one copy, in dlkern._native.common: the scratch a
    convolution, an RNN or attention gives back waits in common's cache (with a private
    copy per extension, common's would stay empty)."""
    code = textwrap.dedent("""
        import numpy as np, dlkern
        from dlkern._native import common
        r = np.random.default_rng(0)
        held = [common.scratch_held()]
        dlkern.conv2d(r.random((4, 8, 16, 16), np.float32), r.random((8, 8, 3, 3), np.float32))
        held.append(common.scratch_held())
        x = r.random((4, 6, 8)); h0 = np.zeros((4, 16))
        dh = r.random((4, 6, 16))
        hs = dlkern.rnn_forward(x, h0, r.random((16, 16)), r.random((16, 8)), None)
        dlkern.rnn_backward(dh, x, hs, h0, r.random((16, 16)), r.random((16, 8)))
        held.append(common.scratch_held())
        print(held)
    """)
    out = run_python(code)
    held = [int(v) for v in out.strip().strip("[]").split(",")]
    assert held[0] == 0
    assert held[1] > 0, "the convolution's scratch is not in common's cache"
    assert held[2] >= held[1]


def test_large_results_live_in_blocks_the_next_call_reuses():
    """A native result of 256 KB or more takes its memory from the scratch cache; when
    the result and its views are gone the block waits there and the next result of that
    size gets it (no fresh pages to fault in); a view keeps the block alive."""
    code = textwrap.dedent("""
        import numpy as np, dlkern
        from dlkern._native import common
        x = np.random.default_rng(0).standard_normal((1000, 1000)).astype(np.float32)
        want = np.maximum(x, 0)
        y = dlkern.relu(x)
        assert y.flags.c_contiguous and y.flags.writeable and y.base is not None
        address, held = y.ctypes.data, common.scratch_held()
        view = y[10:20]
        del y
        assert common.scratch_held() == held, "freed while a view still reads it"
        assert np.array_equal(view, want[10:20])
        del view
        assert common.scratch_held() >= held + x.nbytes
        z = dlkern.relu(x)
        assert z.ctypes.data == address and np.array_equal(z, want)
        small = dlkern.relu(x[:10])
        assert small.base is None and small.flags.owndata
        print("ok")
    """)
    assert run_python(code).strip() == "ok"


def test_the_cache_makes_room_for_the_sizes_calls_ask_for_now():
    """The cache keeps 256 MB at most; a freed block of a new size takes the place of
    older ones instead of being dropped, so that a cache filled with one size does not
    hold out every other for good."""
    code = textwrap.dedent("""
        import numpy as np, dlkern
        from dlkern._native import common
        x = np.ones(2 << 20, np.float32)                        # 8 MB results
        results = [dlkern.relu(x) for _ in range(40)]
        del results
        full = common.scratch_held()
        y = np.ones(3 << 20, np.float32)                        # a 12 MB one
        z = dlkern.relu(y)
        address = z.ctypes.data
        del z
        after = common.scratch_held()
        print(full, after, dlkern.relu(y).ctypes.data == address)
    """)
    full, after, reused = run_python(code).split()
    assert int(full) == 256 << 20
    assert int(after) <= 256 << 20 and int(after) != int(full), (full, after)
    assert reused == "True"
