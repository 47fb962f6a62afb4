"""dlkern.train (fit, early stopping, k-fold, augmentation, report) and dlkern.data."""
import gzip
import struct

import numpy as np
import pytest

from dlkern import data, losses, models, nn, optim, train


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32))
    Xv = rng.standard_normal((40, 3)).astype(np.float32)
    yv = rng.standard_normal((40, 1)).astype(np.float32) * 5     # unrelated: will overfit
    model = nn.Linear(3, 1, seed=0)
    h = train.fit(model, losses.mse, optim.Adam(model, lr=0.05), X, y, epochs=30, batch_size=8,
                  validation=(Xv, yv), patience=3, progress=False)
    assert h.stopped_early and h.best_epoch is not None
    # the restored weights give the best validation loss seen
    best = h["val_loss"][h.best_epoch]
    now, _ = train.evaluate(model, losses.mse, Xv, yv)
    assert now == pytest.approx(best, rel=1e-6)
    assert len(h["val_loss"]) == h.best_epoch + 1 + 3


def test_kfold_covers_every_sample_once():
    folds = train.kfold(23, 5, seed=1)
    val = np.concatenate([v for _, v in folds])
    assert sorted(val.tolist()) == list(range(23))
    for tr, va in folds:
        assert not set(tr) & set(va) and len(tr) + len(va) == 23
    with pytest.raises(ValueError, match="kfold: k must be in"):
        train.kfold(3, 5)


def test_cross_validate_trains_k_models():
    X, y = data.xor()
    X = np.repeat(X, 5, axis=0)
    y = np.repeat(y, 5, axis=0)
    hs = train.cross_validate(lambda: models.xor_net(seed=12), lambda m: optim.Adam(m, 0.05),
                              losses.bce_with_logits, X, y, k=4, epochs=3, batch_size=4,
                              progress=False)
    assert len(hs) == 4 and all(len(h["val_loss"]) == 3 for h in hs)


def test_shift_augmentation_moves_pixels_and_keeps_shape():
    X = np.zeros((50, 1, 5, 5), np.float32)
    X[:, 0, 2, 2] = 1
    out = train.shift_and_flip(1)(X, np.random.default_rng(0))
    assert out.shape == X.shape and np.all(out.sum(axis=(1, 2, 3)) == 1)
    moved = np.argwhere(out[:, 0] == 1)[:, 1:]
    assert np.all(np.abs(moved - 2) <= 1) and len({tuple(m) for m in moved}) > 1


def test_overfitting_report_and_plot(tmp_path):
    h = train.History()
    h["loss"] += [1.0, 0.5, 0.2, 0.1]
    h["val_loss"] += [1.0, 0.6, 0.7, 0.9]
    h.best_epoch = 1
    rep = train.overfitting_report(h, tmp_path / "curves.png")
    assert rep["overfitting"] and rep["gap"] == pytest.approx(0.8)
    if rep.get("plot"):
        assert (tmp_path / "curves.png").stat().st_size > 0


def test_read_idx_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2, 3, 4) + images.tobytes()
    (tmp_path / "x.idx").write_bytes(raw)
    with gzip.open(tmp_path / "x.idx.gz", "wb") as f:
        f.write(raw)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.idx"), images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.idx.gz"), images)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="read_idx: .* is not an IDX file"):
        data.read_idx(tmp_path / "bad")


def test_datasets_are_real_and_shaped():
    pytest.importorskip("sklearn")
    Xtr, ytr, Xte, yte = data.digits()
    assert Xtr.shape[1:] == (1, 8, 8) and len(Xtr) + len(Xte) == 1797
    assert Xtr.max() <= 1 and set(np.unique(ytr)) == set(range(10))
    pytest.importorskip("vega_datasets")
    Xtr, ytr, Xte, yte, (mu, sd) = data.seattle_temperatures(window=24)
    assert Xtr.shape[1:] == (24, 1) and len(Xtr) + len(Xte) == 8759 - 24
    assert 40 < mu < 60 and sd > 0
    x, r = data.reverse_digits(5, 7)
    np.testing.assert_array_equal(r, x[:, ::-1])


def test_ctrl_c_stops_cleanly_and_keeps_the_best_weights():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((32, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [2.0], [-1.0]], np.float32)
    model = nn.Linear(3, 1, seed=0)
    calls = {"n": 0}

    def augment(xb, rng):
        calls["n"] += 1
        if calls["n"] > 12:                     # during the fourth epoch
            raise KeyboardInterrupt
        return xb

    h = train.fit(model, losses.mse, optim.Adam(model, lr=0.05), X, y, epochs=50,
                  batch_size=8, validation=(X, y), augment=augment, progress=False)
    assert h.interrupted and len(h["val_loss"]) == 3
    now, _ = train.evaluate(model, losses.mse, X, y)
    assert now == pytest.approx(min(h["val_loss"]), rel=1e-6)


def test_optimizer_state_round_trip_and_bad_state():
    model = nn.Linear(3, 2, seed=0)
    opt = optim.Adam(model)
    model.gradients()["weight"][...] = 1.0
    opt.step()
    state = opt.state_dict()
    fresh = optim.Adam(nn.Linear(3, 2, seed=0))
    fresh.load_state_dict(state)
    assert fresh.steps == 1
    for k, v in state.items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v)
    with pytest.raises(ValueError, match="Adam.load_state_dict: expected keys"):
        fresh.load_state_dict({"steps": np.array(1)})


def test_fit_rejects_a_bad_distributed_argument():
    model = nn.Linear(3, 1, seed=0)
    X, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    with pytest.raises(TypeError, match="fit: distributed must be"):
        train.fit(model, losses.mse, optim.SGD(model, 0.1), X, y, distributed="yes",
                  progress=False)
