"""The float attention with its tiles in AVX-512 registers (csrc/attention_avx512.c; taken
for float32 without a boolean mask and with T_q >= 16 (>= 2 for d_k <= 24) where the CPU
has AVX-512, the
backward pass where d_k and d_v are multiples of 16 too; elsewhere the GEMM tiles run
these same cases): every tail of its blocks (queries in 16s up to 64, keys in 4s up to
64-key tiles, output columns in 4s), both causal alignments, queries that see no key,
scores whose running max grows from tile to tile, and the backward pass's bits at 1 and 2
threads (one owner per head, or two passes over a head's key tiles and query blocks)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import dlkern
from dlkern import native, reference
from dlkern._native import common

# (T_q, T_k, d_k, d_v): query blocks of 1-4 vectors with tails, key tiles with 1-3
# left over keys, output columns with 1-3 left over
SHAPES = [(16, 16, 16, 16), (17, 5, 24, 7), (33, 130, 64, 64), (100, 63, 100, 33),
          (64, 65, 64, 64), (70, 200, 3, 5), (130, 70, 128, 128), (40, 1, 8, 2),
          (20, 66, 16, 17), (48, 129, 32, 30), (12, 12, 16, 16), (2, 9, 8, 8), (5, 3, 24, 13),
          (1, 7, 16, 16)]
# backward: d_k, d_v multiples of 16 (the fused tiles) and not (the GEMM tiles)
BACKWARD = [(16, 16, 16, 16), (17, 5, 16, 32), (33, 130, 64, 64), (100, 63, 32, 48),
            (70, 200, 16, 16), (130, 70, 128, 128), (20, 40, 16, 80), (200, 130, 64, 64),
            (40, 30, 24, 7), (12, 12, 16, 16), (3, 7, 16, 32)]


def _inputs(Tq, Tk, dk, dv, seed, BH=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BH, Tq, dk)).astype(np.float32),
            rng.standard_normal((BH, Tk, dk)).astype(np.float32),
            rng.standard_normal((BH, Tk, dv)).astype(np.float32))


def _check(q, k, v, **kw):
    out, lse = native.scaled_dot_product_attention(q, k, v, **kw)
    ref, rlse = reference.scaled_dot_product_attention(
        q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), **kw)
    assert out.dtype == lse.dtype == np.float32
    np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(rlse))
    seen = np.isfinite(rlse)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lse[seen], rlse[seen], rtol=1e-5, atol=1e-5)
    return out, lse


@pytest.mark.parametrize("causal,variant", [(False, "upper_left"), (True, "upper_left"),
                                            (True, "lower_right")])
@pytest.mark.parametrize("Tq,Tk,dk,dv", SHAPES)
def test_every_block_tail_matches_the_reference(Tq, Tk, dk, dv, causal, variant):
    q, k, v = _inputs(Tq, Tk, dk, dv, Tq * 1000 + Tk)
    out, lse = _check(q, k, v, causal=causal, causal_variant=variant)
    if causal and variant == "lower_right" and Tq > Tk:
        # the first T_q − T_k queries see no key: out 0, lse −inf
        assert np.all(out[:, :Tq - Tk] == 0) and np.all(np.isneginf(lse[:, :Tq - Tk]))


def test_running_max_grows_over_the_tiles():
    """Keys in ascending order of their score: every 64-key tile raises the max, and the
    sums so far are rescaled by e^(m_old − m_new) each time; large scores (up to ~80)
    would overflow e^s without the max."""
    Tq, Tk, d = 40, 300, 16
    q = np.ones((1, Tq, d), np.float32)
    k = np.linspace(-20, 20, Tk, dtype=np.float32)[None, :, None] * np.ones(d, np.float32)
    v = np.random.default_rng(2).standard_normal((1, Tk, 8)).astype(np.float32)
    out, lse = _check(q, k, v, scale=1.0)
    assert lse.max() > 300 and np.isfinite(out).all()


def test_fused_path_agrees_with_the_gemm_tiles():
    """The same call through the GEMM tiles (a boolean mask of all True sends it there,
    and masks nothing): the two float paths agree to rounding."""
    q, k, v = _inputs(96, 150, 64, 64, 7, BH=4)
    fused, lse = native.scaled_dot_product_attention(q, k, v, causal=True)
    causal = np.tril(np.ones((96, 150), bool))
    tiles, tlse = native.scaled_dot_product_attention(q, k, v, mask=causal)
    np.testing.assert_allclose(fused, tiles, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(lse, tlse, rtol=2e-6, atol=2e-6)



@pytest.mark.parametrize("causal,variant", [(False, "upper_left"), (True, "upper_left"),
                                            (True, "lower_right")])
@pytest.mark.parametrize("BH", [1, 3])
@pytest.mark.parametrize("Tq,Tk,dk,dv", BACKWARD)
def test_backward_matches_the_reference_with_the_same_bits_at_any_thread_count(
        Tq, Tk, dk, dv, BH, causal, variant):
    q, k, v = _inputs(Tq, Tk, dk, dv, Tq + Tk, BH)
    do = np.random.default_rng(Tq).standard_normal((BH, Tq, dv)).astype(np.float32)
    out, lse = native.scaled_dot_product_attention(q, k, v, causal, causal_variant=variant)
    with dlkern.threads(2):       # BH = 1: two passes over the head; 3: a head each
        grads = native.scaled_dot_product_attention_backward(do, q, k, v, out, lse, causal,
                                                             causal_variant=variant)
    with dlkern.threads(1):
        one = native.scaled_dot_product_attention_backward(do, q, k, v, out, lse, causal,
                                                           causal_variant=variant)
    f = lambda a: a.astype(np.float64)
    rout, rlse = reference.scaled_dot_product_attention(f(q), f(k), f(v), causal,
                                                        causal_variant=variant)
    ref = reference.scaled_dot_product_attention_backward(f(do), f(q), f(k), f(v), rout, rlse,
                                                          causal, causal_variant=variant)
    for name, g, r, g1 in zip(["dq", "dk", "dv"], grads, ref, one):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5, err_msg=name)
        np.testing.assert_array_equal(g, g1, err_msg=name)


def test_the_avx2_loops_pass_these_tests_too():
    """This file once more, in a process where DLKERN_PORTABLE_LOOPS=avx2 turns off the
    AVX-512 loops, so that an AVX-512 machine runs the AVX2 ones (8 lanes, blocks of 24
    queries: other tails than the AVX-512 ones)."""
    if os.environ.get("DLKERN_PORTABLE_LOOPS"):
        pytest.skip("already running with DLKERN_PORTABLE_LOOPS set")
    if not common.avx2_loops():
        pytest.skip("no AVX2 + FMA on this CPU")
    env = dict(os.environ, DLKERN_PORTABLE_LOOPS="avx2")
    # cwd elsewhere: from the checkout's root, the child would import the unbuilt sources
    away = tempfile.gettempdir()
    check = ("from dlkern._native import common; "
             "assert common.avx2_loops() and not common.avx512_loops()")
    subprocess.run([sys.executable, "-c", check], env=env, check=True, cwd=away)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.abspath(__file__)], env=env, capture_output=True, text=True,
                       cwd=away)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert " passed" in r.stdout and " failed" not in r.stdout
