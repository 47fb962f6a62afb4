"""Every native kernel against its reference on its spec's samples (dlkern.specs),
both dtypes, with the tolerances of DESIGN.md; plus the bitwise-determinism of each
kernel across thread counts."""
import numpy as np
import pytest

import dlkern
from dlkern import native, reference
from dlkern.specs import SPECS, compare

CASES = [(name, dtype) for name in native.implemented() for dtype in (np.float64, np.float32)]


@pytest.mark.parametrize("name,dtype", CASES, ids=[f"{n}-{np.dtype(d).name}" for n, d in CASES])
def test_native_matches_reference(name, dtype):
    rng = np.random.default_rng(7)
    for label, run in SPECS[name].samples(rng, dtype):
        abs_err, rel_err = compare(run(native), run(reference))
        assert rel_err <= SPECS[name].tol(dtype), f"{name} [{label}]: rel err {rel_err}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", native.implemented())
def test_same_bits_at_any_thread_count_and_every_run(name, dtype):
    """Fixed reduction orders: 1, 2, 3 and 4 threads and a second run agree bitwise."""
    rng = np.random.default_rng(8)
    for label, run in SPECS[name].samples(rng, dtype):
        with dlkern.threads(1):
            a = run(native)
        for nt in (2, 3, 4, 2):
            with dlkern.threads(nt):
                b = run(native)
            assert compare(a, b)[0] == 0, f"{name} [{label}] differs at 1 and {nt} threads"


@pytest.mark.parametrize("name", native.implemented())
def test_inputs_are_not_modified(name):
    rng = np.random.default_rng(9)
    for label, run in SPECS[name].samples(rng, np.float64):
        cell = run.__defaults__ or ()
        arrays = [a for a in cell if isinstance(a, np.ndarray)]
        before = [a.copy() for a in arrays]
        run(native)
        for a, b in zip(arrays, before):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} [{label}] changed an input")


@pytest.fixture
def tiny_workspace():
    before = dlkern.get_workspace_limit()
    dlkern.set_workspace_limit(0.001)     # 1 KB: every block is one output row
    yield
    dlkern.set_workspace_limit(before / 2 ** 20)


@pytest.mark.parametrize("name", ["conv2d", "conv2d_backward"])
def test_conv_in_one_row_blocks_matches_reference(name, tiny_workspace):
    rng = np.random.default_rng(10)
    for label, run in SPECS[name].samples(rng, np.float64):
        for nt in (1, 2):
            with dlkern.threads(nt):
                _, rel = compare(run(native), run(reference))
            assert rel <= 1e-10, f"{name} [{label}] with 1-row blocks, {nt} threads: {rel}"


def test_workspace_limit_validation():
    with pytest.raises(ValueError, match="set_workspace_limit: megabytes must be a number > 0"):
        dlkern.set_workspace_limit(0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_long_sequence_stays_finite_and_matches(nonlinearity):
    rng = np.random.default_rng(11)
    B, T, D, H = 2, 1000, 3, 16
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((B, H)) * 0.1
    W = rng.standard_normal((H, H)) / np.sqrt(H) * 0.9
    U = rng.standard_normal((H, D)) / np.sqrt(D)
    b = rng.standard_normal(H) * 0.1
    hs = native.rnn_forward(x, h0, W, U, b, nonlinearity)
    np.testing.assert_allclose(hs, reference.rnn_forward(x, h0, W, U, b, nonlinearity),
                               rtol=1e-9, atol=1e-10)
    dhs = rng.standard_normal(hs.shape)
    got = native.rnn_backward(dhs, x, hs, h0, W, U, nonlinearity)
    want = reference.rnn_backward(dhs, x, hs, h0, W, U, nonlinearity)
    for a, e in zip(got, want):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-9 * np.max(np.abs(e)))


def test_vectorised_exp_and_tanh_are_accurate_to_a_few_ulp():
    # float32 sigmoid uses dlk_expf, the float32 RNN dlk_tanhf (csrc/dlk_math.h)
    x = np.concatenate([np.linspace(-100, 100, 200001), np.linspace(-1, 1, 200001),
                        [0.0, -0.0, 1e-30, -1e-30, 88.5, -87.5]]).astype(np.float32)
    x64 = x.astype(np.float64)
    sig = 1 / (1 + np.exp(-x64))
    normal = sig > np.finfo(np.float32).tiny          # below it float32 has fewer bits
    assert np.max(np.abs(native.sigmoid(x) - sig)[normal] / sig[normal]) < 1e-6
    assert np.max(np.abs(native.sigmoid(x) - sig)[~normal]) < 1e-44   # a few subnormal ulp
    assert np.isnan(native.sigmoid(np.array([np.nan], np.float32)))[0]
    hs = native.rnn_forward(x.reshape(1, -1, 1), np.zeros((1, 1), np.float32),
                            np.zeros((1, 1), np.float32), np.ones((1, 1), np.float32), None)
    t = np.tanh(x64)
    rel = np.abs(hs.reshape(-1) - t) / np.maximum(np.abs(t), 1e-38)
    assert rel.max() < 1e-6


def test_vectorised_log_and_log1p_are_accurate_to_a_few_ulp():
    # float32 bce uses dlk_logf, bce_with_logits dlk_log1pf_unit (csrc/dlk_math.h); one
    # element per call, so that the loss is that element's term
    rng = np.random.default_rng(3)
    one, zero = np.ones(1, np.float32), np.zeros(1, np.float32)
    a = np.concatenate([np.exp2(rng.uniform(-149, 0, 3000)), rng.uniform(0.5, 1, 1000),
                        [2.0 ** -149, 2.0 ** -126, 0.5, np.sqrt(0.5), 1 - 2.0 ** -24]])
    for v in a.astype(np.float32):
        want = -np.log(np.float64(v))
        assert abs(native.bce(np.array([v]), one)[0] - want) <= 3e-7 * want, v
        want = -np.log(np.float64(np.float32(1) - v))           # ln(1 − a), 1 − a in float
        assert abs(native.bce(np.array([v]), zero)[0] - want) <= 3e-7 * want, v
    for z in rng.uniform(-87, 0, 3000).astype(np.float32):            # ln(1 + e^z), y = 0
        want = np.log1p(np.exp(np.float64(z)))
        assert abs(native.bce_with_logits(np.array([z]), zero)[0] - want) <= 4e-7 * want, z
    with np.errstate(all="ignore"):                                   # ln 0
        for a, y in [(0.0, 1.0), (1.0, 0.0)]:
            loss, _ = native.bce(np.array([a], np.float32), np.array([y], np.float32))
            assert loss == np.inf


def test_embedding_backward_of_a_table_past_the_output_pool():
    # over DLK_SCRATCH_KEEP (64 MB) the table comes from calloc and the rows no id names
    # are left as the OS zeroed them; repeated ids still add in order
    rng = np.random.default_rng(5)
    V, D = 70_000, 256                                     # 71.7 MB of float32
    ids = np.concatenate([rng.integers(0, V, 300), [7, 7, 7, V - 1]]).reshape(8, 38)
    dout = rng.standard_normal(ids.shape + (D,)).astype(np.float32)
    for threads in (1, 2):
        with dlkern.threads(threads):
            got = native.embedding_backward(dout, ids, V)
        want = reference.embedding_backward(dout, ids, V)
        assert got.shape == (V, D) and got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("id_dtype", ["<i8", ">i8", "<i4", ">i4", "u1"])
def test_embedding_reads_ids_of_any_integer_type_and_byte_order(id_dtype):
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    ids = np.array([[1, 2, 2], [9, 0, 5]]).astype(id_dtype)
    np.testing.assert_array_equal(native.embedding(ids, table), table[ids])
    np.testing.assert_array_equal(native.embedding(ids[:, ::2], table), table[ids[:, ::2]])


def _layouts(rng, dtype, rows, cols):
    """(label, array) of one (rows, cols) matrix in the layouts a caller passes: the
    BLAS reads the first four in place, the native binding copies the last two."""
    a = rng.standard_normal((rows, cols)).astype(dtype)
    wide = rng.standard_normal((rows, cols + 5)).astype(dtype)
    wide[:, :cols] = a
    tall_t = np.ascontiguousarray(a.T)
    tall_pad = rng.standard_normal((cols, rows + 3)).astype(dtype)
    tall_pad[:, :rows] = tall_t
    rev = np.ascontiguousarray(a[::-1])
    spaced = np.repeat(a, 2, axis=1)
    return [("contiguous", a), ("row slice of a wider array", wide[:, :cols]),
            ("transposed view", tall_t.T), ("transposed slice", tall_pad[:, :rows].T),
            ("negative stride", rev[::-1]), ("every other column", spaced[:, ::2])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 5, 3), (1, 4, 6), (6, 1, 1), (33, 17, 9)])
def test_linear_reads_strided_operands_in_place_or_copies_them(dtype, shape):
    """linear and linear_backward take x, w (and dy) in any layout — transposed views
    and row slices go to the BLAS with its transpose flag and leading dimension — and
    give the reference's results for every combination."""
    B, I, O = shape
    rng = np.random.default_rng(B * 100 + I)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    xs, ws = _layouts(rng, dtype, B, I), _layouts(rng, dtype, O, I)
    dys = _layouts(rng, dtype, B, O)
    b = rng.standard_normal(O).astype(dtype)
    for lx, x in xs:
        for lw, w in ws:
            got = native.linear(x, w, b)
            want = reference.linear(np.ascontiguousarray(x), np.ascontiguousarray(w), b)
            assert compare(got, want)[1] <= tol, (lx, lw)
            for ld, dy in dys:
                got = native.linear_backward(dy, x, w)
                want = reference.linear_backward(*map(np.ascontiguousarray, (dy, x, w)))
                assert compare(list(got), list(want))[1] <= tol, (ld, lx, lw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lengths", [None, np.array([5, 2, 3])])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_recurrences_take_weights_in_any_layout(cell, dtype, lengths):
    """rnn_* and lstm_* read W and U in place when they are transposed views of
    C-contiguous arrays (NumPy code's (in, out) weights passed as Wh.T) and copy other
    layouts; the results are the reference's, and dW and dU come back in W's and U's own
    layout (a transposed weight gets a transposed gradient)."""
    B, T, D, H = 3, 5, 7, 20                 # H > 16: two threads each own some units
    g = 4 if cell == "lstm" else 1
    rng = np.random.default_rng(5)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    c0 = rng.standard_normal((B, H)).astype(dtype)
    b = rng.standard_normal(g * H).astype(dtype)
    dhs = rng.standard_normal((B, T, H)).astype(dtype)

    def run(m, W, U):
        if cell == "rnn":
            hs = m.rnn_forward(x, h0, W, U, b, lengths=lengths)
            return [hs] + list(m.rnn_backward(dhs, x, hs, h0, W, U, lengths=lengths))
        hs, cs = m.lstm_forward(x, h0, c0, W, U, b, lengths=lengths)
        return [hs, cs] + list(m.lstm_backward(dhs, x, hs, cs, h0, c0, W, U, b,
                                               lengths=lengths))
    for lw, W in _layouts(rng, dtype, g * H, H):
        W *= dtype(0.3)                      # in place: the layout stays
        for lu, U in _layouts(rng, dtype, g * H, D)[::2]:
            want = run(reference, np.ascontiguousarray(W), np.ascontiguousarray(U))
            for nt in (1, 2):
                with dlkern.threads(nt):
                    got = run(native, W, U)
                assert compare(got, want)[1] <= tol, (lw, lu, nt)
                dW, dU = got[-3], got[-2]
                assert dW.flags.f_contiguous == (lw == "transposed view"), lw
                assert dU.flags.f_contiguous == (lu == "transposed view"), lu
