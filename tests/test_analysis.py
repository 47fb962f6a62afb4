"""Model analysis (seed section 3) and PCA (seed section 6)."""
import numpy as np
import pytest

from dlkern import analysis, pca

try:
    import sklearn.decomposition
except ImportError:  # pragma: no cover
    sklearn = None


# ---- shapes, parameters, MACs, receptive field -------------------------------------------

def test_seed_formulas_by_hand():
    # H_out = (28 + 2·1 − 3)/1 + 1 = 28; (64 + 4 − 5)//2 + 1 = 32; rectangular, separate
    assert analysis.conv2d_output_shape((64, 1, 28, 28), 32, 3, 1, 1) == (64, 32, 28, 28)
    assert analysis.conv2d_output_shape((3, 64, 64), 32, 5, 2, 2) == (32, 32, 32)
    assert analysis.conv2d_output_shape((1, 3, 11, 10), 5, (2, 3), (2, 3), (0, 2)) == \
        (1, 5, 5, 4)
    assert analysis.conv2d_params(3, 64, 3) == 64 * 3 * 9 + 64
    assert analysis.conv2d_params(3, 64, (2, 5), bias=False) == 64 * 3 * 10
    # B·C_out·H_out·W_out·C_in·K_h·K_w
    assert analysis.conv2d_macs((32, 64, 56, 56), 64, 3, 1, 1) == 32 * 64 * 56 * 56 * 64 * 9


def test_section_11_conv_conv_fc_same_padding():
    # Conv(K1, same) -> Conv(K2, same) keeps H, W: D_flat = H2·W2·C2
    H, W, C_in, C1, C2, K1, K2 = 8, 8, 1, 16, 32, 3, 5
    s1 = analysis.conv2d_output_shape((C_in, H, W), C1, K1, 1, (K1 - 1) // 2)
    s2 = analysis.conv2d_output_shape(s1, C2, K2, 1, (K2 - 1) // 2)
    assert s2 == (C2, H, W)
    assert s2[0] * s2[1] * s2[2] == 8 * 8 * 32


def test_vgg16_convolutions_have_the_published_parameter_count():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M"]
    shape, total, macs = (3, 224, 224), 0, 0
    for v in cfg:
        if v == "M":
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
            continue
        total += analysis.conv2d_params(shape[0], v, 3)
        macs += analysis.conv2d_macs(shape, v, 3, 1, 1)
        shape = analysis.conv2d_output_shape(shape, v, 3, 1, 1)
    assert total == 14_714_688                 # VGG-16's convolutional parameters
    assert shape == (512, 7, 7)
    fc = 512 * 7 * 7 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert total + fc == 138_357_544           # the published VGG-16 total
    assert macs == 15_346_630_656              # 15.3 GMACs, as usually quoted


def test_receptive_field():
    assert analysis.receptive_field([(3, 1), (3, 1)]) == [(3, 1), (5, 1)]
    # field_ℓ = field_{ℓ−1} + (K − 1)·stride_{ℓ−1}: 7, 7 + 2·2 = 11, 11 + 2·4 = 19
    assert analysis.receptive_field([(7, 2), (3, 2), (3, 1)]) == [(7, 2), (11, 4), (19, 4)]
    assert analysis.receptive_field([((3, 5), (1, 2)), (3, 2)]) == \
        [((3, 5), (1, 2)), ((5, 9), (2, 4))]
    assert analysis.receptive_field([]) == []


@pytest.mark.parametrize("call,exc,pattern", [
    (lambda: analysis.conv2d_output_shape((1, 3, 4, 4), 8, 7, 1, 1), ValueError,
     r"conv2d_output_shape: kernel height 7 is larger than the padded input height"),
    (lambda: analysis.conv2d_output_shape((1, 3, 4, 4), 8, 3, 0), ValueError,
     r"conv2d_output_shape: stride must be >= 1, got 0"),
    (lambda: analysis.conv2d_macs((3, 4), 8, 3), ValueError,
     r"conv2d_macs: input_shape must be"),
    (lambda: analysis.conv2d_params(0, 8, 3), ValueError,
     r"conv2d_params: in_channels must be a positive int"),
    (lambda: analysis.receptive_field([(3, 0)]), ValueError,
     r"receptive_field: layers\[0\] stride must be >= 1"),
    (lambda: analysis.receptive_field([3]), ValueError,
     r"receptive_field: layers\[0\] must be a \(kernel, stride\) pair"),
])
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ---- PCA ------------------------------------------------------------------------------------

@pytest.mark.parametrize("a,b,c", [(2, 1, 2), (3, 0, 1), (1, 0, 3), (2, 0, 2), (5, -2, 1),
                                   (1e-3, 1e-9, 1e3), (4, 2.5, 4.0000001)])
def test_eig2x2_matches_eigh(a, b, c):
    l1, l2, v1 = pca.eig2x2(a, b, c)
    A = np.array([[a, b], [b, c]], dtype=float)
    w, V = np.linalg.eigh(A)
    assert l1 >= l2
    np.testing.assert_allclose([l1, l2], w[::-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(v1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(A @ v1, l1 * v1, atol=1e-9 * max(1, abs(l1)))


def test_eig2x2_by_hand():
    l1, l2, v1 = pca.eig2x2(2, 1, 2)             # λ = 3, 1; u₁ = (3 − 2, 1)
    assert (l1, l2) == (3.0, 1.0)
    np.testing.assert_allclose(v1, [2 ** -0.5, 2 ** -0.5])
    assert pca.eig2x2(2, 0, 2)[2].tolist() == [1.0, 0.0]    # equal eigenvalues
    assert pca.eig2x2(1, 0, 3)[2].tolist() == [0.0, 1.0]    # b = 0, a < c


def test_pca_two_features_agrees_with_the_seed_closed_form():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2)) @ np.array([[3.0, 1.0], [0.0, 0.5]])
    Xc = (X - X.mean(axis=0)).T                   # the seed's 2 × n layout
    A = Xc @ Xc.T
    l1, l2, v1 = pca.eig2x2(A[0, 0], A[0, 1], A[1, 1])
    p = pca.PCA(2).fit(X)
    np.testing.assert_allclose(p.explained_variance_, np.array([l1, l2]) / (200 - 1))
    np.testing.assert_allclose(p.explained_variance_ratio_, [l1 / (l1 + l2), l2 / (l1 + l2)])
    np.testing.assert_allclose(p.components_[0], v1, atol=1e-12)
    # scores h₁ = v₁ᵀ X (seed) are the first transformed column
    np.testing.assert_allclose(p.transform(X)[:, 0], v1 @ Xc, atol=1e-12)


@pytest.mark.skipif(sklearn is None, reason="scikit-learn not installed")
@pytest.mark.parametrize("n,d,k", [(100, 5, 3), (30, 10, 10), (50, 2, 1), (8, 20, 5)])
def test_pca_matches_sklearn_up_to_sign(n, d, k):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    mine = pca.PCA(k).fit(X)
    theirs = sklearn.decomposition.PCA(k, svd_solver="full").fit(X)
    np.testing.assert_allclose(mine.explained_variance_, theirs.explained_variance_,
                               rtol=1e-10)
    np.testing.assert_allclose(mine.explained_variance_ratio_,
                               theirs.explained_variance_ratio_, rtol=1e-10)
    signs = np.sign(np.sum(mine.components_ * theirs.components_, axis=1))
    np.testing.assert_allclose(mine.components_, theirs.components_ * signs[:, None],
                               atol=1e-10)
    np.testing.assert_allclose(mine.transform(X), theirs.transform(X) * signs, atol=1e-9)
    Z = mine.transform(X)
    np.testing.assert_allclose(mine.inverse_transform(Z), theirs.inverse_transform(Z * signs),
                               atol=1e-9)


def test_pca_full_rank_round_trip_and_deterministic_signs():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 4))
    p = pca.PCA().fit(X)
    np.testing.assert_allclose(p.inverse_transform(p.transform(X)), X, atol=1e-12)
    big = np.argmax(np.abs(p.components_), axis=1)
    assert np.all(p.components_[np.arange(4), big] > 0)


def test_reconstruct_is_the_seed_formula():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 50)) * [[4.0], [1.0]] + [[1.0], [-2.0]]
    B = np.repeat(A.mean(axis=1, keepdims=True), 50, axis=1)
    S = (A - B) @ (A - B).T
    _, _, v1 = pca.eig2x2(S[0, 0], S[0, 1], S[1, 1])
    C = v1.reshape(2, 1)
    np.testing.assert_allclose(pca.reconstruct(A, 1), B + C @ C.T @ (A - B), atol=1e-12)
    np.testing.assert_allclose(pca.reconstruct(A, 2), A, atol=1e-12)


@pytest.mark.parametrize("call,exc,pattern", [
    (lambda: pca.PCA(3).fit(np.ones((5, 2))), ValueError, r"PCA.fit: n_components must be"),
    (lambda: pca.PCA().transform(np.ones((5, 2))), ValueError, r"PCA.transform: this PCA is "
                                                                r"not fitted"),
    (lambda: pca.PCA(1).fit(np.ones(5)), ValueError, r"PCA.fit: X must be 2-D"),
    (lambda: pca.reconstruct(np.ones((3, 4)), 4), ValueError, r"reconstruct: rank must be"),
    (lambda: pca.eig2x2(1, float("nan"), 1), ValueError, r"eig2x2: b must be a finite number"),
])
def test_pca_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ---- summary ---------------------------------------------------------------------------------

def test_summary_of_the_section_11_cnn():
    from dlkern import models
    s = analysis.summary(models.digits_cnn(), (64, 1, 8, 8))
    shapes = [r.output_shape for r in s.rows]
    assert shapes[:5] == [(64, 16, 8, 8), (64, 16, 8, 8), (64, 32, 8, 8), (64, 32, 8, 8),
                          (64, 2048)]
    assert s.total_params == (16 * 9 + 16) + (32 * 16 * 9 + 32) + (2048 * 64 + 64) + \
        (64 * 10 + 10)
    assert s.rows[0].macs == 64 * 16 * 8 * 8 * 1 * 9
    assert s.rows[5].macs == 64 * 2048 * 64
    assert s.rows[2].receptive_field == (5, 5) and s.rows[2].effective_stride == (1, 1)
    text = str(s)
    assert "total params" in text and "(64, 2048)" in text and "136,586" in text
    assert s.to_dict()["total_macs"] == s.total_macs


def test_summary_of_vgg16_is_exact_and_fast():
    import time
    from dlkern import models
    model = models.vgg16()
    t = time.perf_counter()
    s = analysis.summary(model, (1, 3, 224, 224))
    elapsed = time.perf_counter() - t
    assert s.total_params == 138_357_544
    assert s.total_macs == 15_346_630_656 + 512 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 1000
    assert s.rows[-1].output_shape == (1, 1000)
    # last max-pool: receptive field 212, effective stride 32 (VGG-16's known values)
    pools = [r for r in s.rows if "MaxPool2d" in r.name]
    assert pools[-1].receptive_field == (212, 212) and pools[-1].effective_stride == (32, 32)
    assert elapsed < 1.0


def test_summary_rnn_and_attention_rows_and_errors():
    from dlkern import nn
    s = analysis.summary(nn.RNN(8, 16), (4, 50, 8))
    assert s.rows[0].output_shape == (4, 50, 16) and s.rows[0].macs == 4 * 16 * (16 + 8)
    s = analysis.summary(nn.MultiHeadAttention(32, 4), (2, 10, 32))
    assert s.rows[0].macs == 2 * (4 * 32 * 32 + 2 * 10 * 32)
    with pytest.raises(ValueError, match="summary: 0: Linear expects 5 features"):
        analysis.summary(nn.Sequential(nn.Linear(5, 2)), (3, 4))
    with pytest.raises(ValueError, match="summary: 0: Conv2d: conv2d_output_shape: kernel height 9"):
        analysis.summary(nn.Conv2d(1, 2, 9), (1, 1, 4, 4))


def test_summary_handles_every_layer_of_dlkern_nn():
    from dlkern import nn
    model = nn.Sequential(nn.Embedding(10, 16), nn.PositionalEmbedding(12, 16),
                          nn.TransformerBlock(16, 4), nn.LayerNorm(16),
                          nn.TokenLinear(16, 10), nn.Dropout(0.1))
    s = analysis.summary(model, (8, 12))
    assert [r.output_shape for r in s.rows] == [(8, 12, 16), (8, 12, 16), (8, 12, 16),
                                                (8, 12, 16), (8, 12, 10), (8, 12, 10)]
    assert s.total_params == sum(p.size for p in model.parameters().values())
    assert s.rows[2].macs == 8 * (4 * 256 + 2 * 12 * 16 + 8 * 256)
    assert s.rows[4].macs == 8 * 12 * 16 * 10


def test_summary_counts_the_pooling_and_normalisation_layers():
    from dlkern import nn
    from dlkern.analysis import summary
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, seed=0), nn.BatchNorm2d(8),
                          nn.AvgPool2d(2), nn.Dropout(0.1, seed=0), nn.GlobalAvgPool2d(),
                          nn.Flatten(), nn.Linear(8, 4, seed=0, weight_layout="in_out"),
                          nn.BatchNorm1d(4))
    s = summary(model, (2, 3, 16, 16))
    shapes = [r.output_shape for r in s.rows]
    assert shapes == [(2, 8, 16, 16), (2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 8, 8),
                      (2, 8, 1, 1), (2, 8), (2, 4), (2, 4)]
    assert s.total_params == (8 * 27 + 8) + 16 + (8 * 4 + 4) + 8
    assert s.rows[2].receptive_field == (4, 4) and s.rows[4].receptive_field == (18, 18)


def test_summary_counts_an_lstm_s_four_gates():
    from dlkern import nn
    from dlkern.analysis import summary
    s = summary(nn.Sequential(nn.LSTM(8, 16, seed=0)), (2, 5, 8))
    assert s.rows[0].output_shape == (2, 5, 16)
    assert s.total_params == 4 * 16 * (16 + 8) + 4 * 16
    assert s.total_macs == 4 * 2 * 16 * (16 + 8)
