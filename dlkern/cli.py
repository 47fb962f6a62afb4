"""The `dlkern` command: info, check, demo."""
import argparse
import sys


def cmd_info(args):
    import dlkern
    dlkern.info()
    return 0


def cmd_check(args):
    """Run every native kernel against its reference; exit 1 on any FAIL."""
    import numpy as np
    from dlkern import native, reference
    from dlkern.specs import SPECS, compare

    rows, failed = [], 0
    for name in native.implemented():
        if name not in SPECS:
            rows.append((name, "-", 0, float("nan"), float("nan"), "NO SAMPLES"))
            failed += 1
            continue
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(args.seed)
            worst_abs, worst_rel, count = 0.0, 0.0, 0
            for label, run in SPECS[name].samples(rng, dtype):
                a, r = compare(run(native), run(reference))
                worst_abs, worst_rel, count = max(worst_abs, a), max(worst_rel, r), count + 1
            ok = worst_rel <= SPECS[name].tol(dtype)
            failed += not ok
            rows.append((name, np.dtype(dtype).name, count, worst_abs, worst_rel,
                         "OK" if ok else "FAIL"))
    width = max([len("function")] + [len(r[0]) for r in rows])
    print(f"{'function':<{width}} {'dtype':<8} {'cases':>5} {'max abs err':>12} "
          f"{'max rel err':>12}  result")
    for name, dt, n, a, r, res in rows:
        print(f"{name:<{width}} {dt:<8} {n:>5} {a:>12.3e} {r:>12.3e}  {res}")
    missing = [n for n in native.__all__ if n not in native.implemented()]
    if missing:
        print(f"\nno native kernel yet (the NumPy reference runs): {', '.join(missing)}")
    print(f"\n{len(rows) - failed} OK, {failed} FAIL")
    return 1 if failed else 0


def _speedup(make, loss_fn, X, y, steps, warmup=10):
    """Median time of a training step of a fresh model on the NumPy backend divided by
    that on the native one, over `steps` steps after `warmup` untimed ones, in two
    rounds.  On a virtual machine whose idle core sleeps, the first parallel regions
    after a single-threaded stretch wait for it: the transformer's first native steps
    took 9-70 ms, then 5-6 ms against the NumPy backend's 6-7 ms; timing them read
    0.6x."""
    import time
    import numpy as np
    import dlkern
    from dlkern import optim

    def run(backend, out):
        with dlkern.use_backend(backend):
            model = make()
            opt = optim.Adam(model, lr=1e-3)
            for i in range(warmup + steps):
                lo = (i * 64) % max(len(X) - 64, 1)
                t = time.perf_counter()
                _, g = loss_fn(model.forward(X[lo:lo + 64]), y[lo:lo + 64])
                model.backward(g)
                opt.step()
                if i >= warmup:
                    out.append(time.perf_counter() - t)
    times = {"numpy": [], "native": []}
    for _ in range(2):
        for backend, out in times.items():
            run(backend, out)
    return float(np.median(times["numpy"]) / np.median(times["native"]))


def cmd_demo(args):
    """The seed's models trained on their data, a results table, and the speed of the
    native backend against the NumPy one on the same training steps."""
    import time
    import warnings
    import numpy as np
    from dlkern import data, losses, models, optim, pca, train

    warnings.filterwarnings("ignore", message="dlkern: .* has no native kernel yet")
    quick = args.quick
    rows = []

    print("== 2-2-1 network on XOR (seed section 1)")
    X, y = data.xor()
    t = time.perf_counter()
    for attempt in range(20):
        m = models.xor_net(seed=attempt)
        h = train.fit(m, losses.bce_with_logits, optim.Adam(m, lr=0.05), X, y, epochs=1000,
                      batch_size=4, metric=train.accuracy, progress=False)
        if h["metric"][-1] == 1.0:
            break
    acc = train.evaluate(m, losses.bce_with_logits, X, y, metric=train.accuracy)[1]
    print(f"accuracy {acc:.0%} after {attempt + 1} start(s), 1,000 steps each")
    secs = time.perf_counter() - t
    speed = _speedup(models.xor_net, losses.bce_with_logits, X, y, 200)
    rows.append(("XOR, 2-2-1", "accuracy", f"{acc:.0%}", "50% (chance)",
                 secs, speed))

    print("\n== Conv-Conv-FC CNN on 8x8 digits (seed section 11)")
    Xtr, ytr, Xte, yte = data.digits()
    t = time.perf_counter()
    m = models.digits_cnn()
    h = train.fit(m, losses.cross_entropy, optim.Adam(m, lr=2e-3), Xtr, ytr,
                  epochs=4 if quick else 15, batch_size=64, validation=(Xte, yte),
                  metric=train.accuracy, patience=5, augment=train.shift_and_flip(1),
                  description="digits CNN")
    acc = train.evaluate(m, losses.cross_entropy, Xte, yte, metric=train.accuracy)[1]
    print(f"test accuracy {acc:.2%} (best epoch {h.best_epoch + 1} of {len(h['loss'])})")
    secs = time.perf_counter() - t
    speed = _speedup(models.digits_cnn, losses.cross_entropy, Xtr, ytr, 10)
    rows.append(("CNN, digits", "test accuracy", f"{acc:.2%}", "10% (chance)",
                 secs, speed))

    print("\n== RNN on Seattle's hourly temperatures, next hour (seed sections 4, 14)")
    Xtr, ytr, Xte, yte, (mu, sd) = data.seattle_temperatures()
    t = time.perf_counter()
    m = models.SequenceRegressor()
    h = train.fit(m, losses.mse, optim.Adam(m, lr=3e-3), Xtr, ytr, epochs=2 if quick else 8,
                  batch_size=64, validation=(Xte, yte), patience=3, max_grad_norm=1.0,
                  description="temperature RNN")
    mse = train.evaluate(m, losses.mse, Xte, yte)[0] * sd ** 2
    base = float(np.mean((Xte[:, -1, 0] - yte[:, 0]) ** 2)) * sd ** 2
    print(f"test MSE {mse:.3f} °F² vs persistence (next hour = this hour) {base:.3f} °F²")
    secs = time.perf_counter() - t
    speed = _speedup(models.SequenceRegressor, losses.mse, Xtr, ytr, 10)
    rows.append(("RNN, temperature", "test MSE (°F²)", f"{mse:.3f}",
                 f"{base:.3f} (persistence)", secs, speed))

    print("\n== Transformer reversing 12-digit sequences (seed section 5)")
    Xtr, ytr = data.reverse_digits(6000, 12, seed=0)
    Xte, yte = data.reverse_digits(1000, 12, seed=1)
    t = time.perf_counter()
    m = models.SequenceTransformer(d_model=64, num_heads=4, layers=2)
    h = train.fit(m, models.token_cross_entropy, optim.Adam(m, lr=2e-3), Xtr, ytr,
                  epochs=5 if quick else 8, batch_size=64, validation=(Xte, yte),
                  metric=models.token_accuracy, patience=3, description="transformer")
    acc = train.evaluate(m, models.token_cross_entropy, Xte, yte,
                         metric=models.token_accuracy)[1]
    print(f"test token accuracy {acc:.2%} (best epoch {h.best_epoch + 1})")
    make_t = lambda: models.SequenceTransformer(d_model=64, num_heads=4, layers=2)  # noqa
    secs = time.perf_counter() - t
    speed = _speedup(make_t, models.token_cross_entropy, Xtr, ytr, 5)
    rows.append(("Transformer, reverse", "token accuracy", f"{acc:.2%}", "10% (chance)",
                 secs, speed))

    print("\n== PCA on two features (seed section 6): iris petal length and width")
    from sklearn.datasets import load_iris
    X2 = load_iris().data[:, 2:4]
    Xc = (X2 - X2.mean(axis=0)).T
    A = Xc @ Xc.T
    l1, l2, v1 = pca.eig2x2(A[0, 0], A[0, 1], A[1, 1])
    p = pca.PCA(2).fit(X2)
    print(f"closed form: lambda = {l1:.3f}, {l2:.3f}; v1 = ({v1[0]:.4f}, {v1[1]:.4f}); "
          f"EVR1 = {l1 / (l1 + l2):.4f}")
    print(f"PCA: components_[0] = ({p.components_[0, 0]:.4f}, {p.components_[0, 1]:.4f}); "
          f"explained_variance_ratio_ = {np.round(p.explained_variance_ratio_, 4)}")
    rows.append(("PCA, iris petals", "EVR1", f"{l1 / (l1 + l2):.4f}", "-", 0.0, None))

    print("\n== results")
    print(f"{'model':<22} {'metric':<15} {'result':>8}  {'baseline':<20} {'time':>6}  "
          f"training-step speed, native / NumPy backend")
    for name, metric, value, baseline, secs, sp in rows:
        spd = f"{sp:.1f}x" if sp else "-"
        print(f"{name:<22} {metric:<15} {value:>8}  {baseline:<20} {secs:5.1f}s  {spd}")
    return 0


def cmd_summary(args):
    from dlkern import analysis, models, nn
    build = {
        "xor": (lambda: models.xor_net(), (4, 2)),
        "cnn": (lambda: models.digits_cnn(), (64, 1, 8, 8)),
        "rnn": (lambda: nn.Sequential(nn.RNN(1, 32)), (64, 24, 1)),
        "vgg16": (models.vgg16, (1, 3, 224, 224)),
    }
    make, shape = build[args.model]
    print(analysis.summary(make(), shape))
    return 0


def cmd_train(args):
    """Train one of the seed's models with the given settings and print its history."""
    import warnings
    import dlkern
    from dlkern import data, losses, models, optim, train
    warnings.filterwarnings("ignore", message="dlkern: .* has no native kernel yet")
    dlkern.set_backend(args.backend)
    if args.model == "xor":
        X, y = data.xor()
        m, loss, metric, val = models.xor_net(seed=args.seed), losses.bce_with_logits, \
            train.accuracy, None
    elif args.model == "cnn":
        X, y, Xv, yv = data.digits()
        m, loss, metric, val = models.digits_cnn(seed=args.seed), losses.cross_entropy, \
            train.accuracy, (Xv, yv)
    else:
        X, y, Xv, yv, _ = data.seattle_temperatures()
        m, loss, metric, val = models.SequenceRegressor(seed=args.seed), losses.mse, None, \
            (Xv, yv)
    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint PATH")
    rank = 0
    if args.distributed:
        from dlkern import distributed
        rank = distributed.world()[0]
    h = train.fit(m, loss, optim.Adam(m, lr=args.lr), X, y, epochs=args.epochs,
                  batch_size=args.batch_size, validation=val, metric=metric,
                  patience=args.patience, seed=args.seed, progress=not args.no_progress,
                  description=args.model, distributed=args.distributed,
                  checkpoint=args.checkpoint, resume=args.resume)
    if rank != 0:   # the ranks hold the same model: rank 0 reports and saves
        return 0
    for e in range(len(h["loss"])):
        line = f"epoch {e + 1:3d}  loss {h['loss'][e]:.5f}"
        if h["metric"][e] is not None:
            line += f"  metric {h['metric'][e]:.4f}"
        if h["val_loss"]:
            line += f"  val_loss {h['val_loss'][e]:.5f}"
            if h["val_metric"][e] is not None:
                line += f"  val_metric {h['val_metric'][e]:.4f}"
        print(line)
    if h.best_epoch is not None:
        print(f"best epoch {h.best_epoch + 1}" + (" (early stop)" if h.stopped_early else ""))
    if args.save:
        m.save(args.save)
        print(f"saved to {args.save}")
    return 0


def cmd_bench(args):
    """The WORKLOADS.md ratios, interleaved (fewer rounds than bench/ratios.py)."""
    import json
    import numpy as np
    from dlkern.benchmark import (LAYER_WORKLOADS, adam_bytes, adam_contenders, interleaved,
                                  layer_contenders, layer_work)
    rows = []
    names = args.workloads or ["adam_10m", "adam_many"] + list(LAYER_WORKLOADS)
    for name in names:
        modes = ["step"] if name.startswith("adam") else (
            ["fwd+bwd"] if name.startswith("bn") else ["fwd", "fwd+bwd"])
        for mode in modes:
            if name.startswith("adam"):
                c, (amount, unit) = adam_contenders(name, args.threads), \
                    (adam_bytes(name), "GB")
            elif name in LAYER_WORKLOADS:
                c, (amount, unit) = layer_contenders(name, mode, args.threads), \
                    layer_work(name, mode)
            else:
                raise ValueError(f"unknown workload {name!r}")
            t = interleaved(c, rounds=3, inner=3)
            row = {"workload": name, "mode": mode, "threads": args.threads,
                   "dlkern_ms": t["dlkern"] * 1e3,
                   f"dlkern_{unit}_per_s": amount / t["dlkern"] / 1e9}
            for k, v in t.items():
                if k != "dlkern":
                    row[f"{k} / dlkern"] = v / t["dlkern"]
            rows.append(row)
            if not args.json:
                ratios = "  ".join(f"{k} {v:.2f}x" for k, v in row.items() if "/ dlkern" in k)
                print(f"{name:<16} {mode:<8} {row['dlkern_ms']:9.2f} ms  "
                      f"{amount / t['dlkern'] / 1e9:7.1f} {unit}/s  {ratios}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dlkern", description="dlkern: fast CPU "
                                     "deep-learning kernels for NumPy models.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="version, backend, threads, OpenMP, ISA, BLAS")
    p.set_defaults(fn=cmd_info)
    p = sub.add_parser("check", help="every native kernel against its NumPy reference")
    p.add_argument("--seed", type=int, default=0, help="random seed of the inputs")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("demo", help="the main job: the seed's models trained on real data")
    p.add_argument("--seed", type=int, default=0, help="random seed of the inputs")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("summary", help="layer table (shapes, params, MACs, receptive field)")
    p.add_argument("model", choices=["xor", "cnn", "rnn", "vgg16"])
    p.set_defaults(fn=cmd_summary)
    p = sub.add_parser("train", help="train one of the seed's models")
    p.add_argument("model", choices=["xor", "cnn", "rnn"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--patience", type=int, default=None, help="early stopping patience")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=["native", "numpy"], default="native")
    p.add_argument("--save", help="write the trained parameters to this .npz")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI: run as mpiexec -n N dlkern train ... "
                   "--distributed (needs dlkern[mpi])")
    p.add_argument("--checkpoint", help="write the training state to this .npz after "
                   "every epoch")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint when it exists")
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("bench", help="WORKLOADS.md ratios: dlkern vs reference vs PyTorch")
    p.add_argument("workloads", nargs="*", help="names (default: all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(fn=cmd_bench)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("dlkern: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, not a traceback
        print(f"dlkern {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
