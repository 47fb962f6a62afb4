"""dlkern.nn layers, init and optimizers: gradient checks through the reference
backend (float64), native vs reference, and whole models on both backends."""
import warnings

import numpy as np
import pytest

import dlkern
from dlkern import init, losses, nn, optim
import gradcheck

F64 = np.float64


def layers():
    """(name, layer factory, input shape) for every layer, float64."""
    return [
        ("Linear", lambda: nn.Linear(5, 3, dtype=F64, seed=0), (4, 5)),
        ("Linear in_out", lambda: nn.Linear(5, 3, dtype=F64, seed=0, weight_layout="in_out"),
         (4, 5)),
        ("Conv2d", lambda: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, dtype=F64,
                                     seed=0), (2, 2, 6, 5)),
        ("MaxPool2d", lambda: nn.MaxPool2d(2), (2, 3, 4, 6)),
        ("AvgPool2d", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 7, 6)),
        ("GlobalAvgPool2d", lambda: nn.GlobalAvgPool2d(), (2, 3, 4, 5)),
        ("Dropout eval", lambda: nn.Dropout(0.3, seed=0).eval(), (3, 4)),
        ("BatchNorm2d", lambda: nn.BatchNorm2d(3, dtype=F64), (4, 3, 3, 2)),
        ("BatchNorm1d", lambda: nn.BatchNorm1d(5, dtype=F64), (6, 5)),
        ("ReLU", lambda: nn.ReLU(), (3, 7)),
        ("Sigmoid", lambda: nn.Sigmoid(), (3, 7)),
        ("Flatten", lambda: nn.Flatten(), (2, 3, 2, 2)),
        ("RNN", lambda: nn.RNN(3, 5, dtype=F64, seed=0), (2, 4, 3)),
        ("LSTM", lambda: nn.LSTM(3, 5, dtype=F64, seed=0), (2, 4, 3)),
        ("MultiHeadAttention", lambda: nn.MultiHeadAttention(8, 2, causal=True, dtype=F64,
                                                             seed=0), (2, 5, 8)),
        ("LayerNorm", lambda: nn.LayerNorm(6, dtype=F64), (2, 3, 6)),
        ("PositionalEmbedding", lambda: nn.PositionalEmbedding(5, 4, dtype=F64, seed=0),
         (2, 3, 4)),
        ("TokenLinear", lambda: nn.TokenLinear(4, 3, dtype=F64, seed=0), (2, 5, 4)),
        ("TransformerBlock", lambda: nn.TransformerBlock(8, 2, dtype=F64, seed=0), (2, 4, 8)),
        ("Sequential CNN", lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, dtype=F64, seed=1), nn.BatchNorm2d(4, dtype=F64),
            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3, dtype=F64, seed=2)),
         (3, 1, 4, 4)),
    ]


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "dlkern: .* has no native kernel yet")
        yield


@pytest.mark.parametrize("name,make,shape", layers(), ids=[x[0] for x in layers()])
def test_layer_gradients_by_finite_differences(name, make, shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    if name == "MaxPool2d":
        x = rng.permutation(x.size).reshape(shape) / 7.0        # no ties
    with dlkern.use_backend("numpy"):
        layer = make()
        y = layer.forward(x)
        dy = rng.standard_normal(y.shape)
        dx = layer.backward(dy)
        grads = {k: v.copy() for k, v in layer.gradients().items()}
        params = layer.parameters()
        gradcheck.check(lambda x: layer.forward(x), [x], [dx], dy, max_entries=40)
        for k, p in params.items():
            gradcheck.check(lambda p: layer.forward(x), [p], [grads[k]], dy, max_entries=20)


@pytest.mark.parametrize("name,make,shape", layers(), ids=[x[0] for x in layers()])
def test_layer_native_matches_reference(name, make, shape):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    results = []
    for backend in ("numpy", "native"):
        with dlkern.use_backend(backend):
            layer = make()
            y = layer.forward(x)
            dx = layer.backward(np.ones_like(y))
            results.append([y, dx] + list(layer.gradients().values()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "native"])
@pytest.mark.parametrize("kind,shape", [("2d", (4, 3, 5, 5)), ("1d", (16, 3))])
def test_batchnorm_running_statistics_and_eval_mode(kind, shape, backend):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    bn = nn.BatchNorm2d(3, dtype=F64) if kind == "2d" else nn.BatchNorm1d(3, dtype=F64)
    tbn = (torch.nn.BatchNorm2d(3) if kind == "2d" else torch.nn.BatchNorm1d(3)).double()
    with dlkern.use_backend(backend):
        for _ in range(3):
            x = rng.standard_normal(shape) * 2 + 1
            bn.forward(x)
            tbn(torch.tensor(x))
        np.testing.assert_allclose(bn.running_mean, tbn.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(bn.running_var, tbn.running_var.numpy(), rtol=1e-12)
        bn.eval()
        tbn.eval()
        x = torch.tensor(rng.standard_normal((2,) + shape[1:]), requires_grad=True)
        y = tbn(x)
        np.testing.assert_allclose(bn.forward(x.detach().numpy()), y.detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
        dy = rng.standard_normal(y.shape)
        y.backward(torch.tensor(dy))
        np.testing.assert_allclose(bn.backward(dy), x.grad.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="BatchNorm"):
        bn.forward(np.zeros((2, 3, 4)))


def test_linear_in_out_layout_loads_a_numpy_models_weights_as_they_are():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 5)), rng.standard_normal(5)
    layer = nn.Linear(5, 5, dtype=F64, weight_layout="in_out")
    layer.load_state_dict({"weight": w, "bias": b})
    for backend in ("numpy", "native"):
        with dlkern.use_backend(backend):
            np.testing.assert_allclose(layer.forward(x), x @ w + b, rtol=1e-12)
            dy = rng.standard_normal((6, 5))
            np.testing.assert_allclose(layer.backward(dy), dy @ w.T, rtol=1e-12)
            np.testing.assert_allclose(layer.gradients()["weight"], x.T @ dy, rtol=1e-12)
    with pytest.raises(ValueError, match="Linear: weight_layout must be"):
        nn.Linear(2, 3, weight_layout="io")


def test_dropout_is_inverted_and_off_in_eval():
    d = nn.Dropout(0.25, seed=0)
    x = np.ones((200, 200))
    y = d.forward(x)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01 and np.allclose(y[kept], 1 / 0.75)
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), y)
    d.eval()
    assert d.forward(x) is x


def test_init_variances_follow_the_seed():
    w = init.xavier((300, 200), "normal", seed=0, dtype=F64)
    assert abs(w.var() / (2 / 500) - 1) < 0.05
    w = init.he((64, 32, 3, 3), "uniform", seed=1, dtype=F64)
    assert abs(w.var() / (2 / (32 * 9)) - 1) < 0.05
    assert np.array_equal(init.he((4, 4), seed=3), init.he((4, 4), seed=3))


def test_save_and_load_round_trip(tmp_path):
    m = layers()[-1][1]()
    m.forward(np.random.default_rng(0).standard_normal((3, 1, 4, 4)))   # running stats
    m.save(tmp_path / "m.npz")
    m2 = layers()[-1][1]()
    for p in m2.parameters().values():
        p[...] = 0
    m2.load(tmp_path / "m.npz")
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(m2.state_dict()[k], v)


@pytest.mark.parametrize("opt_cls,kw,fn,extra", [
    (optim.SGD, dict(lr=0.1), "sgd_step", {}),
    (optim.Momentum, dict(lr=0.1, beta=0.8), "momentum_step", {}),
    (optim.Adam, dict(lr=0.01), "adam_step", {}),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.1), "adam_step", {"decoupled": True}),
])
def test_optimizer_step_is_the_fused_call(opt_cls, kw, fn, extra):
    rng = np.random.default_rng(8)
    m = nn.Linear(4, 3, dtype=F64, seed=0)
    m.forward(rng.standard_normal((5, 4)))
    m.backward(rng.standard_normal((5, 3)))
    before = {k: v.copy() for k, v in m.parameters().items()}
    opt = opt_cls(m, **kw)
    opt.step()
    p = [before[k] for k in opt.names]
    g = [m.gradients()[k] for k in opt.names]
    state = [[np.zeros_like(x) for x in p] for _ in range(opt.n_states)]
    args = dict(kw, **extra)
    if fn == "adam_step":
        args["step"] = 1
    getattr(dlkern, fn)(p, g, *state, **args)
    for k, want in zip(opt.names, p):
        np.testing.assert_allclose(m.parameters()[k], want, rtol=1e-14)


def test_five_training_steps_give_the_same_losses_on_both_backends():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 1, 8, 8))
    labels = rng.integers(0, 4, 16)
    history = {}
    for backend in ("numpy", "native"):
        with dlkern.use_backend(backend):
            model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, dtype=F64, seed=1), nn.ReLU(),
                                  nn.Conv2d(4, 8, 3, padding=1, dtype=F64, seed=2), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(8 * 4 * 4, 4, dtype=F64, seed=3))
            opt = optim.Adam(model, lr=1e-2)
            out = []
            for _ in range(5):
                loss, g = losses.cross_entropy(model.forward(x), labels)
                model.backward(g)
                opt.step()
                out.append(loss)
            history[backend] = out
    np.testing.assert_allclose(history["native"], history["numpy"], rtol=1e-9)
    assert history["native"][-1] < history["native"][0]


def test_layer_errors():
    with pytest.raises(ValueError, match="MultiHeadAttention: d_model 10 is not divisible"):
        nn.MultiHeadAttention(10, 3)
    with pytest.raises(TypeError, match="Sequential: layer 0 must be a dlkern.nn.Module"):
        nn.Sequential(lambda x: x)
    with pytest.raises(RuntimeError, match="Linear.backward: call forward first"):
        nn.Linear(2, 2).backward(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="Dropout: p must be in"):
        nn.Dropout(1.0)


def test_embedding_gradient_accumulates_repeated_tokens():
    emb = nn.Embedding(5, 3, dtype=F64, seed=0)
    tokens = np.array([[1, 2, 1], [4, 1, 0]])
    y = emb.forward(tokens)
    np.testing.assert_array_equal(y[0, 0], emb.parameters()["weight"][1])
    dy = np.random.default_rng(0).standard_normal(y.shape)
    assert emb.backward(dy) is None
    g = emb.gradients()["weight"]
    np.testing.assert_allclose(g[1], dy[0, 0] + dy[0, 2] + dy[1, 1])
    np.testing.assert_allclose(g[3], 0)
    with pytest.raises(ValueError, match=r"embedding: ids must lie in \[0, 5\)"):
        emb.forward(np.array([[5]]))


def test_layernorm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 6))
    ln = nn.LayerNorm(6, dtype=F64)
    ln.parameters()["weight"][...] = rng.standard_normal(6)
    tln = torch.nn.LayerNorm(6).double()
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(ln.parameters()["weight"]))
    tx = torch.tensor(x, requires_grad=True)
    ty = tln(tx)
    np.testing.assert_allclose(ln.forward(x), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(x.shape)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(ln.backward(dy), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ln.gradients()["weight"], tln.weight.grad.numpy(), rtol=1e-9)


def test_transformer_learns_to_reverse_digits():
    from dlkern import data, models
    Xtr, ytr = data.reverse_digits(3000, 8, seed=0)
    Xte, yte = data.reverse_digits(500, 8, seed=1)
    m = models.SequenceTransformer(d_model=32, num_heads=4, layers=2, max_len=8)
    from dlkern import train
    h = train.fit(m, models.token_cross_entropy, optim.Adam(m, lr=3e-3), Xtr, ytr, epochs=6,
                  batch_size=64, validation=(Xte, yte), metric=models.token_accuracy,
                  progress=False)
    assert max(h["val_metric"]) >= 0.95
