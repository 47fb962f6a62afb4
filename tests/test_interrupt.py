"""Ctrl-C during a long native call (a big convolution, a long RNN, long attention)
stops the call within a second and raises KeyboardInterrupt; the call after it gives
the right result, and Ctrl-C in Python code works as before.  Each case runs in a
subprocess, which sends itself SIGINT from a timer thread."""
import json
import subprocess
import sys
import tempfile
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import json, os, signal, sys, threading, time
    import numpy as np
    import dlkern
    from dlkern import native
    rng = np.random.default_rng(0)
    f32 = np.float32
    if sys.argv[1] == "conv2d_backward":
        x = rng.standard_normal((320, 64, 56, 56), dtype=f32)
        w = rng.standard_normal((64, 64, 3, 3), dtype=f32)
        dy = rng.standard_normal((320, 64, 56, 56), dtype=f32)
        call = lambda: native.conv2d_backward(dy, x, w, 1, 1)
    elif sys.argv[1] == "rnn_forward":
        x = rng.standard_normal((32, 40000, 8), dtype=f32)
        W = (rng.standard_normal((128, 128)) / 12).astype(f32)
        U = rng.standard_normal((128, 8), dtype=f32)
        call = lambda: native.rnn_forward(x, np.zeros((32, 128), f32), W, U, None)
    else:
        q = rng.standard_normal((3, 16384, 64), dtype=f32)
        call = lambda: native.scaled_dot_product_attention(q, q, q)
    t = time.perf_counter()
    first = call()
    full = time.perf_counter() - t
    out = {"full": full}
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    t = time.perf_counter()
    timer.start()
    try:
        call()
        out["raised"] = False
    except KeyboardInterrupt:
        out["raised"] = True
    out["after_signal"] = time.perf_counter() - t - 0.1
    timer.join()
    again = call()                      # nothing left behind: the same result
    first = first if isinstance(first, tuple) else (first,)
    again = again if isinstance(again, tuple) else (again,)
    out["same"] = all(np.array_equal(a, b) for a, b in zip(first, again))
    out["handler"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    try:                                # Ctrl-C in Python code still interrupts
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        time.sleep(5)
        out["python_ctrl_c"] = False
    except KeyboardInterrupt:
        out["python_ctrl_c"] = True
    print(json.dumps(out))
''')


@pytest.mark.parametrize("name", ["conv2d_backward", "rnn_forward",
                                  "scaled_dot_product_attention"])
def test_ctrl_c_stops_a_long_native_call(name):
    # cwd elsewhere: from the checkout's root, `-c` would import the unbuilt sources
    r = subprocess.run([sys.executable, "-c", SCRIPT, name], capture_output=True, text=True,
                       timeout=300, cwd=tempfile.gettempdir())
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    if out["full"] < 0.3:
        pytest.skip(f"{name} took only {out['full']:.2f} s here: too short to interrupt")
    print(name, out)
    assert out["raised"], out
    assert out["after_signal"] < 1.0, out
    assert out["same"] and out["handler"] and out["python_ctrl_c"], out


def test_watched_calls_give_the_bits_of_unwatched_ones():
    """Long calls from the main thread run in stoppable pieces (the RNN 64 steps per
    parallel region); calls from other threads are never watched.  Same bits."""
    import threading

    import numpy as np

    from dlkern import native
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 1000, 8)).astype(np.float32)    # 1.8e7 multiply-adds
    h0 = rng.standard_normal((4, 64)).astype(np.float32)
    W = (rng.standard_normal((64, 64)) / 8).astype(np.float32)
    U = rng.standard_normal((64, 8)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)

    def both():
        hs = native.rnn_forward(x, h0, W, U, b)
        return (hs,) + native.rnn_backward(np.ones_like(hs), x, hs, h0, W, U)
    main = both()
    other = []
    t = threading.Thread(target=lambda: other.extend(both()))
    t.start()
    t.join()
    for a, o in zip(main, other):
        np.testing.assert_array_equal(a, o)
