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


def _sums(model, loss_fn, X, y, batch_size, metric):
    """(loss sum, metric sum, count) over (X, y) in eval mode, batch-size weighted."""
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
    return total, score, n


def evaluate(model, loss_fn, X, y, batch_size=256, metric=None):
    """(mean loss, mean metric or None) over (X, y) in eval mode, batch-size weighted."""
    total, score, n = _sums(model, loss_fn, X, y, batch_size, metric)
    return total / n, (score / n if metric is not None else None)


def fit(model, loss_fn, optimizer, X, y, *, epochs=10, batch_size=32, validation=None,
        patience=None, metric=None, augment=None, max_grad_norm=None, seed=0,
        progress=True, description="training", distributed=False, checkpoint=None,
        resume=False):
    """Train `model` with `optimizer` on (X, y) for up to `epochs` epochs.

    loss_fn(pred, y) -> (loss, grad) (dlkern.losses); metric(pred, y) -> float, e.g.
    accuracy; validation = (X_val, y_val) or None; patience: stop after that many epochs
    without a lower validation loss and restore the best weights; augment(X_batch, rng)
    -> X_batch for training batches only; max_grad_norm clips the joint gradient norm.

    distributed=True (or a dlkern.distributed.DataParallel) trains data-parallel over
    MPI: run the same script on every rank under mpiexec; each rank takes its part of
    every global batch of `batch_size` samples and the gradients are averaged with one
    all-reduce per step (see dlkern.distributed).  checkpoint: a .npz path written
    (by rank 0) after every epoch with the model, the optimizer and the loop's state;
    resume=True continues from it when it exists, giving the same result as a run
    that was never stopped.  Returns a History.
    """
    dp = _data_parallel(model, distributed)
    rank = 0 if dp is None else dp.rank
    rng = generator(seed)
    hist = History()
    loop = {"epoch": 0, "best_loss": np.inf, "waited": 0, "best": None,
            "aug_base": _stream_id(rng) if dp is not None else 0}
    if dp is not None:
        dp.check_same(n=len(X), batch_size=batch_size, epochs=epochs,
                      validation=None if validation is None else len(validation[0]))
    if resume and checkpoint is not None:
        _resume(checkpoint, dp, model, optimizer, rng, hist, loop)
    if dp is not None:
        dp.broadcast_state()
    bar = _progress(epochs, progress and rank == 0, description)
    if bar is not None and loop["epoch"]:
        bar.update(loop["epoch"])
    model.train()
    try:
        for epoch in range(loop["epoch"], epochs):
            aug_rng = rng if dp is None else generator([loop["aug_base"], epoch, rank])
            total, score, n = 0.0, 0.0, 0
            for idx in batches(len(X), batch_size, rng):
                part = idx if dp is None else dp.shard(idx)
                if len(part):
                    xb = X[part] if augment is None else augment(X[part], aug_rng)
                    pred = model.forward(xb)
                    loss, grad = loss_fn(pred, y[part])
                    model.backward(grad)
                    total += loss * len(part)
                    if metric is not None:
                        score += metric(pred, y[part]) * len(part)
                    n += len(part)
                if dp is not None:
                    dp.allreduce_gradients(len(part), len(idx))
                if max_grad_norm is not None:
                    clip_grad_norm(list(model.gradients().values()), max_grad_norm)
                optimizer.step()
            if dp is not None:
                total, score, n = dp.sum([total, score, n])
                dp.average_buffers()
            hist["loss"].append(total / n)
            hist["metric"].append(score / n if metric is not None else None)
            if validation is not None:
                Xv, yv = validation
                part = np.arange(len(Xv)) if dp is None else dp.shard(np.arange(len(Xv)))
                sums = _sums(model, loss_fn, Xv[part], yv[part], 256, metric) \
                    if len(part) else (0.0, 0.0, 0)
                vt, vs, vn = sums if dp is None else dp.sum(sums)
                vl = vt / vn
                hist["val_loss"].append(vl)
                hist["val_metric"].append(vs / vn if metric is not None else None)
                if vl < loop["best_loss"]:
                    loop.update(best_loss=vl, waited=0, best=model.state_dict())
                    hist.best_epoch = epoch
                else:
                    loop["waited"] += 1
            loop["epoch"] = epoch + 1
            if checkpoint is not None and rank == 0:
                _save_checkpoint(checkpoint, model, optimizer, rng, hist, loop)
            _update(bar, hist)
            if patience is not None and validation is not None and loop["waited"] >= patience:
                hist.stopped_early = True
                break
    except KeyboardInterrupt as exc:
        if dp is not None and dp.size > 1:
            dp.abort(exc, 130)  # other ranks may be inside an all-reduce: stop them all
        hist.interrupted = True
    except Exception as exc:
        if dp is not None and dp.size > 1:
            dp.abort(exc)
        raise
    finally:
        if bar is not None:
            bar.close()
    best = loop["best"]
    if best is not None and (hist.stopped_early or hist.interrupted or patience is not None):
        model.load_state_dict(best)
    return hist


def _data_parallel(model, distributed):
    if distributed is False or distributed is None:
        return None
    from .distributed import DataParallel
    if distributed is True:
        return DataParallel(model)
    if isinstance(distributed, DataParallel):
        return distributed
    raise TypeError(f"fit: distributed must be True, False or a DataParallel, got "
                    f"{type(distributed).__name__}")


def _stream_id(rng):
    """A number fixed by the generator's state, without drawing from it (the shuffle
    order must stay that of a single process): seeds the per-rank augmentation."""
    import hashlib
    import json
    text = json.dumps(rng.bit_generator.state, sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def _save_checkpoint(path, model, optimizer, rng, hist, loop):
    """Everything the loop needs to go on as if never stopped, written atomically."""
    import json
    import os
    arrays = {f"model.{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"optim.{k}": v for k, v in optimizer.state_dict().items()})
    if loop["best"] is not None:
        arrays.update({f"best.{k}": v for k, v in loop["best"].items()})
    meta = {"epoch": loop["epoch"], "best_loss": loop["best_loss"], "waited": loop["waited"],
            "aug_base": loop["aug_base"], "rng": rng.bit_generator.state,
            "history": dict(hist), "best_epoch": hist.best_epoch}
    arrays["meta"] = np.array(json.dumps(meta))
    path = os.fspath(path)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _resume(path, dp, model, optimizer, rng, hist, loop):
    """Load a checkpoint of _save_checkpoint (rank 0 reads it and sends it to all)."""
    import json
    import os
    state = None
    if dp is None or dp.rank == 0:
        if os.path.exists(path):
            with np.load(path) as data:
                state = {k: data[k] for k in data.files}
    if dp is not None:
        state = dp.comm.bcast(state, root=0)
    if state is None:
        return
    meta = json.loads(str(state["meta"]))

    def part(prefix):
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    model.load_state_dict(part("model."))
    optimizer.load_state_dict(part("optim."))
    rng.bit_generator.state = meta["rng"]
    for k, v in meta["history"].items():
        hist[k] = v
    hist.best_epoch = meta["best_epoch"]
    best = part("best.")
    loop.update(epoch=meta["epoch"], best_loss=meta["best_loss"], waited=meta["waited"],
                aug_base=meta["aug_base"], best=best or None)


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
