"""Training tools (seed section 7, over-fitting diagnostics and remedies): a `fit` loop
over shuffled mini-batches with a progress bar, train/validation history, early
stopping with patience that restores the best weights, k-fold cross-validation, image
augmentation by random shifts and flips, and an over-fitting report.  Ctrl-C stops
training cleanly and keeps the best weights."""
import numpy as np

from .init import generator
from .ops import clip_grad_norm


class History(dict):
    """Per-epoch lists: loss, val_loss, metric, val_metric; and best_epoch (0-based),
    stopped_early, interrupted."""

    def __init__(self):
        super().__init__(loss=[], val_loss=[], metric=[], val_metric=[])
        self.best_epoch = None
        self.stopped_early = False
        self.interrupted = False


def batches(n, batch_size, rng=None):
    """Index arrays of the mini-batches of one epoch (shuffled when rng is given)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def evaluate(model, loss_fn, X, y, batch_size=256, metric=None):
    """(mean loss, mean metric or None) over (X, y) in eval mode, batch-size weighted."""
    was = model.training
    model.eval()
    total, score, n = 0.0, 0.0, 0
    try:
        for idx in batches(len(X), batch_size):
            pred = model.forward(X[idx])
            loss, _ = loss_fn(pred, y[idx])
            total += loss * len(idx)
            if metric is not None:
                score += metric(pred, y[idx]) * len(idx)
            n += len(idx)
    finally:
        model.train(was)
    return total / n, (score / n if metric is not None else None)


def fit(model, loss_fn, optimizer, X, y, *, epochs=10, batch_size=32, validation=None,
        patience=None, metric=None, augment=None, max_grad_norm=None, seed=0,
        progress=True, description="training"):
    """Train `model` with `optimizer` on (X, y) for up to `epochs` epochs.

    loss_fn(pred, y) -> (loss, grad) (dlkern.losses); metric(pred, y) -> float, e.g.
    accuracy; validation = (X_val, y_val) or None; patience: stop after that many epochs
    without a lower validation loss and restore the best weights; augment(X_batch, rng)
    -> X_batch for training batches only; max_grad_norm clips the joint gradient norm.
    Returns a History.
    """
    rng = generator(seed)
    hist = History()
    best, best_loss, waited = None, np.inf, 0
    bar = _progress(epochs, progress, description)
    model.train()
    try:
        for epoch in range(epochs):
            total, score, n = 0.0, 0.0, 0
            for idx in batches(len(X), batch_size, rng):
                xb = X[idx] if augment is None else augment(X[idx], rng)
                pred = model.forward(xb)
                loss, grad = loss_fn(pred, y[idx])
                model.backward(grad)
                if max_grad_norm is not None:
                    clip_grad_norm(list(model.gradients().values()), max_grad_norm)
                optimizer.step()
                total += loss * len(idx)
                if metric is not None:
                    score += metric(pred, y[idx]) * len(idx)
                n += len(idx)
            hist["loss"].append(total / n)
            hist["metric"].append(score / n if metric is not None else None)
            if validation is not None:
                vl, vm = evaluate(model, loss_fn, *validation, metric=metric)
                hist["val_loss"].append(vl)
                hist["val_metric"].append(vm)
                if vl < best_loss:
                    best_loss, waited, hist.best_epoch = vl, 0, epoch
                    best = model.state_dict()
                else:
                    waited += 1
            _update(bar, hist)
            if patience is not None and validation is not None and waited >= patience:
                hist.stopped_early = True
                break
    except KeyboardInterrupt:
        hist.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    if best is not None and (hist.stopped_early or hist.interrupted or patience is not None):
        model.load_state_dict(best)
    return hist


def _progress(total, enabled, description):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, unit="epoch", leave=False)


def _update(bar, hist):
    if bar is None:
        return
    info = {"loss": f"{hist['loss'][-1]:.4f}"}
    if hist["val_loss"]:
        info["val_loss"] = f"{hist['val_loss'][-1]:.4f}"
    if hist["val_metric"] and hist["val_metric"][-1] is not None:
        info["val_metric"] = f"{hist['val_metric'][-1]:.4f}"
    bar.set_postfix(info)
    bar.update(1)


def kfold(n, k, seed=0):
    """k (train_idx, val_idx) splits of range(n): every index is in exactly one
    validation fold (seed section 7's k-fold cross-validation)."""
    if not 2 <= k <= n:
        raise ValueError(f"kfold: k must be in [2, n] = [2, {n}], got {k}")
    order = generator(seed).permutation(n)
    folds = np.array_split(order, k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def cross_validate(make_model, make_optimizer, loss_fn, X, y, k=5, seed=0, **fit_kwargs):
    """Train a fresh model on each of k folds; returns the k Histories."""
    out = []
    for i, (tr, va) in enumerate(kfold(len(X), k, seed)):
        model = make_model()
        out.append(fit(model, loss_fn, make_optimizer(model), X[tr], y[tr],
                       validation=(X[va], y[va]), seed=seed + i, **fit_kwargs))
    return out


def shift_and_flip(max_shift=1, flip=False):
    """Augmentation for NCHW images: a random shift of up to max_shift pixels in each
    direction (zeros enter at the border) and, with flip=True, a random horizontal
    flip — per image.  (Digits must not be flipped; natural images may.)"""
    def augment(X, rng):
        out = np.zeros_like(X)
        H, W = X.shape[2:]
        for i in range(len(X)):
            dh, dw = rng.integers(-max_shift, max_shift + 1, size=2)
            img = X[i, :, :, ::-1] if flip and rng.random() < 0.5 else X[i]
            out[i, :, max(dh, 0):H + min(dh, 0), max(dw, 0):W + min(dw, 0)] = \
                img[:, max(-dh, 0):H + min(-dh, 0), max(-dw, 0):W + min(-dw, 0)]
        return out
    return augment


def accuracy(pred, y):
    """Fraction of rows whose arg-max (or, for one output, sign of the logit) is y."""
    if pred.ndim == 2 and pred.shape[1] == 1:
        return float(np.mean((pred[:, 0] > 0) == (y.reshape(-1) > 0.5)))
    return float(np.mean(np.argmax(pred, axis=1) == y))


def overfitting_report(hist, plot_path=None):
    """Seed section 7's symptoms: the final train–validation gap, whether validation
    loss rose while training loss fell after the best epoch, and the best epoch.  With
    plot_path and matplotlib installed, the loss curves are written as a PNG."""
    rep = {"epochs": len(hist["loss"]), "best_epoch": hist.best_epoch,
           "final_train_loss": hist["loss"][-1] if hist["loss"] else None}
    if hist["val_loss"]:
        rep["final_val_loss"] = hist["val_loss"][-1]
        rep["gap"] = hist["val_loss"][-1] - hist["loss"][-1]
        b = hist.best_epoch or 0
        rep["overfitting"] = bool(hist["val_loss"][-1] > hist["val_loss"][b]
                                  and hist["loss"][-1] < hist["loss"][b])
    if plot_path is not None:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            rep["plot"] = None
        else:
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.plot(hist["loss"], label="train")
            if hist["val_loss"]:
                ax.plot(hist["val_loss"], label="validation")
            ax.set_xlabel("epoch")
            ax.set_ylabel("loss")
            ax.legend()
            fig.tight_layout()
            fig.savefig(plot_path)
            plt.close(fig)
            rep["plot"] = str(plot_path)
    return rep
