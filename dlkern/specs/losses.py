"""Specs of the losses (seed section 9): each returns (loss, gradient)."""
import numpy as np

from ._base import Case, Grad, Spec, as_arrays, fixed_rand, ones, rand, sprinkle, tensors

_DIMS = [1, 2, 3, 5, 7, 13, 31, 64, 97]


def _pair(name, rng, dtype, shape, scale=30.0):
    """(prediction, target) for an element-wise loss."""
    if name == "bce":
        return rng.uniform(0.02, 0.98, shape).astype(dtype), \
            rng.integers(0, 2, shape).astype(dtype)
    if name == "bce_with_logits":
        return rand(rng, dtype, *shape, scale=scale), rng.integers(0, 2, shape).astype(dtype)
    return rand(rng, dtype, *shape), rand(rng, dtype, *shape)


def _elementwise_samples(name):
    def samples(rng, dtype):
        for shape in [(1,), (7, 1), (64, 10), (5, 3, 4), (300, 70)]:
            a, y = _pair(name, rng, dtype, shape)          # huge logits too
            yield f"{shape}", lambda m, a=a, y=y: as_arrays(getattr(m, name)(a, y))
    return samples


def _cross_entropy_samples(rng, dtype):
    for B, C in [(1, 2), (64, 10), (7, 1000), (33, 3)]:
        z = rand(rng, dtype, B, C, scale=8)
        labels = rng.integers(0, C, B)
        yield f"({B}, {C})", lambda m, z=z, l=labels: as_arrays(m.cross_entropy(z, l))
    # huge equal logits: max + log Σ loses the log Σ (found by the fuzzer)
    big = np.finfo(dtype).max / 4
    z = np.array([[-big, -big, -big], [big, big, 0.0]], dtype)
    yield "huge logits", lambda m, z=z: as_arrays(m.cross_entropy(z, np.array([0, 2])))
    z = rand(rng, dtype, 40, 7, scale=3)
    labels = rng.integers(0, 7, 40)
    labels[rng.random(40) < 0.3] = -100
    yield "ignore_index -100", lambda m, z=z, l=labels: as_arrays(
        m.cross_entropy(z, l, ignore_index=-100))
    yield "ignore_index a class", lambda m, z=z, l=labels: as_arrays(
        m.cross_entropy(z, np.abs(l) % 7, ignore_index=0))


def _sequence_mse_samples(rng, dtype):
    for N, T, D, lengths in [(4, 6, 2, [6, 1, 3, 6]), (1, 1, 1, [1]), (8, 20, 3, None)]:
        a, y = rand(rng, dtype, N, T, D), rand(rng, dtype, N, T, D)
        L = np.array(lengths) if lengths else rng.integers(1, T + 1, N)
        yield f"({N}, {T}, {D})", lambda m, a=a, y=y, L=L: as_arrays(m.sequence_mse(a, y, L))


def _fuzz(name):
    def fuzz(st):
        def make(B, C, specials, dtype, seed):
            rng = np.random.default_rng(seed)
            if name == "cross_entropy":
                args = (sprinkle(rand(rng, dtype, B, C, scale=30), rng, specials),
                        rng.integers(0, C, B))
            elif name == "sequence_mse":
                T = int(rng.integers(1, 9))
                args = (rand(rng, dtype, B, T, C), rand(rng, dtype, B, T, C),
                        rng.integers(1, T + 1, B))
            else:
                a, y = _pair(name, rng, dtype, (B, C))
                if name != "bce":
                    a = sprinkle(a, rng, specials)
                args = (a, y)

            def run(m):
                with np.errstate(all="ignore"):
                    return as_arrays(getattr(m, name)(*args))
            return Case(dtype, run)
        d = st.sampled_from(_DIMS)
        return st.builds(make, d, d, st.booleans(), st.sampled_from([np.float32, np.float64]),
                         st.integers(0, 2 ** 31))
    return fuzz


def _grad(name):
    def grad():
        from .. import reference as R
        rng = np.random.default_rng(9)
        fn = getattr(R, name)
        if name == "cross_entropy":
            logits, labels = rand(rng, float, 5, 4), rng.integers(0, 4, 5)
            _, g = fn(logits, labels)
            yield Grad("5x4", lambda z: np.float64(fn(z, labels)[0]), [logits], [g], 1.0)
            return
        if name == "sequence_mse":
            y_hat, y, lengths = rand(rng, float, 3, 4, 2), rand(rng, float, 3, 4, 2), \
                np.array([4, 1, 2])
            _, g = fn(y_hat, y, lengths)
            yield Grad("3x4x2, lengths 4, 1, 2",
                       lambda a: np.float64(fn(a, y, lengths)[0]), [y_hat], [g], 1.0)
            return
        shape = {"bce": (6, 1), "bce_with_logits": (6, 2), "mse": (5, 3)}[name]
        a, y = _pair(name, rng, np.float64, shape, scale=3.0)
        _, g = fn(a, y)
        yield Grad(f"{shape}", lambda a: np.float64(fn(a, y)[0]), [a], [g], 1.0)
    return grad


def _elementwise_bench(name):
    def bench(rng, dtype):
        for shape in [(4, 1), (256, 10), (800, 1004), (16, 50_000)]:
            yield f"{shape}", _pair(name, rng, dtype, shape, scale=3.0), {}
    return bench


def _cross_entropy_bench(rng, dtype):
    for B, C in [(4, 2), (64, 10), (800, 1004), (16, 50_000), (4096, 128)]:
        yield f"{B}x{C}", (rand(rng, dtype, B, C, scale=3), rng.integers(0, C, B)), {}


def _sequence_mse_bench(rng, dtype):
    for N, T, D in [(2, 3, 1), (32, 168, 1), (64, 50, 64)]:
        yield f"({N}, {T}, {D})", (rand(rng, dtype, N, T, D), rand(rng, dtype, N, T, D),
                                   rng.integers(1, T + 1, N)), {}


def _numpy_cross_entropy(logits, labels):
    """The five lines a NumPy user writes (CS231n's softmax_loss)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    B = len(labels)
    grad = np.exp(log_p)
    grad[np.arange(B), labels] -= 1
    return -log_p[np.arange(B), labels].mean(), grad / B


def _numpy_mse(y_hat, y):
    d = y_hat - y
    B = y.shape[0]
    return float((d * d).sum()) / B, 2 * d / B


def _numpy_bce_with_logits(z, y):
    B = y.shape[0]
    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return float(loss.sum()) / B, (1 / (1 + np.exp(-z)) - y) / B


def _torch_cross_entropy(torch, logits, labels):
    tz, tl = tensors(torch, logits, labels)
    tz.requires_grad_(True)

    def call():
        loss = torch.nn.functional.cross_entropy(tz, tl)
        loss.backward()
        return loss
    return call


def _torch_elementwise(name):
    """torch's loss with reduction "sum" over B (dlkern's Σℓ/B), loss and gradient."""
    def make(torch, a, y):
        F = torch.nn.functional
        fn = {"bce": F.binary_cross_entropy, "bce_with_logits":
              F.binary_cross_entropy_with_logits, "mse": F.mse_loss}[name]
        ta, ty = tensors(torch, a, y)
        ta.requires_grad_(True)
        B = a.shape[0]

        def call():
            loss = fn(ta, ty, reduction="sum") / B
            loss.backward()
            return loss
        return call
    return make


def _seq_valid():
    return [fixed_rand(2, 3, 1), fixed_rand(2, 3, 1, seed=1), np.array([3, 1])], {}


SPECS = [
    Spec("bce", _elementwise_samples("bce"),
         valid=lambda: ([np.full((3, 1), 0.3, np.float32), np.ones((3, 1), np.float32)], {}),
         errors=lambda: [((ones(3), np.ones(3)), {}, TypeError, r"bce: y is float64, y_hat is float32")],
         grad=_grad("bce"), fuzz=_fuzz("bce"), bench=_elementwise_bench("bce"),
         torch=_torch_elementwise("bce")),
    Spec("bce_with_logits", _elementwise_samples("bce_with_logits"),
         valid=lambda: ([fixed_rand(3, 1), np.ones((3, 1), np.float32)], {}),
         errors=lambda: [((ones(3, 1), ones(3)), {}, ValueError, r"bce_with_logits: y has shape \(3,\), z has shape \(3, 1\)")],
         grad=_grad("bce_with_logits"), fuzz=_fuzz("bce_with_logits"),
         bench=_elementwise_bench("bce_with_logits"), numpy=_numpy_bce_with_logits,
         torch=_torch_elementwise("bce_with_logits")),
    Spec("cross_entropy", _cross_entropy_samples,
         valid=lambda: ([fixed_rand(3, 4), np.array([0, 3, 1])], {}),
         errors=lambda: [
             ((ones(3, 4), np.array([0, 1, 4])), {}, ValueError, r"cross_entropy: labels must lie in \[0, C\) = \[0, 4\)"),
             ((ones(3, 4), np.array([0.0, 1.0, 2.0])), {}, TypeError, r"cross_entropy: labels must be an integer array"),
             ((ones(3, 4), np.array([0, -1, 5])), {"ignore_index": -1}, ValueError, r"cross_entropy: labels must lie in \[0, C\) = \[0, 4\) \(or ignore_index = -1\), got values in \[0, 5\]"),
             ((ones(3, 4), np.array([0, 1, 2])), {"ignore_index": 1.5}, TypeError, r"cross_entropy: ignore_index must be an integer")],
         grad=_grad("cross_entropy"), fuzz=_fuzz("cross_entropy"), bench=_cross_entropy_bench,
         numpy=_numpy_cross_entropy, torch=_torch_cross_entropy),
    Spec("mse", _elementwise_samples("mse"),
         valid=lambda: ([fixed_rand(3, 2), fixed_rand(3, 2, seed=1)], {}),
         errors=lambda: [((ones(3, 4), ones(3, 5)), {}, ValueError, r"mse: y has shape \(3, 5\), y_hat has shape \(3, 4\)")],
         grad=_grad("mse"), fuzz=_fuzz("mse"), bench=_elementwise_bench("mse"),
         numpy=_numpy_mse, torch=_torch_elementwise("mse")),
    Spec("sequence_mse", _sequence_mse_samples, valid=_seq_valid,
         errors=lambda: [((ones(2, 3, 1), ones(2, 3, 1), np.array([1, 4])), {}, ValueError, r"sequence_mse: lengths must lie in \[1, T\] = \[1, 3\]")],
         grad=_grad("sequence_mse"), fuzz=_fuzz("sequence_mse"), bench=_sequence_mse_bench),
]
