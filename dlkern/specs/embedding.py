"""Specs of the embedding lookup and its gradient (contract additions)."""
import numpy as np

from ._base import Case, Grad, Spec, fixed_rand, ones, rand, tensors, view

_CASES = [  # label, V, D, ids shape
    ("captioning words", 1004, 256, (16, 17)), ("one id", 5, 3, ()), ("batch 1, T 1", 7, 4, (1, 1)),
    ("D 1", 9, 1, (20,)), ("wide rows", 50, 1000, (3, 4)), ("no ids", 6, 5, (0,)),
]


def _ids(rng, V, shape, repeated=True):
    ids = rng.integers(0, V, size=shape)
    if repeated and ids.size > 3:
        ids.reshape(-1)[:3] = ids.reshape(-1)[-1]            # the same id three more times
    return ids


def _embedding_samples(rng, dtype):
    for label, V, D, shape in _CASES:
        ids, table = _ids(rng, V, shape), rand(rng, dtype, V, D)
        yield label, lambda m, ids=ids, table=table: m.embedding(ids, table)
    table = rand(rng, dtype, 10, 8)[:, ::2]
    ids = _ids(rng, 10, (4, 3)).astype(np.int32)[:, ::2]
    yield "int32 strided ids, strided table", lambda m, i=ids, t=table: m.embedding(i, t)


def _embedding_backward_samples(rng, dtype):
    for label, V, D, shape in _CASES:
        ids = _ids(rng, V, shape)
        dout = rand(rng, dtype, *shape, D)
        yield label, lambda m, d=dout, i=ids, V=V: m.embedding_backward(d, i, V)
    ids = np.zeros((300,), np.uint8)              # one row gets every position
    dout = rand(rng, dtype, 300, 16)
    yield "one id 300 times (uint8)", lambda m, d=dout, i=ids: m.embedding_backward(d, i, 3)


def _embedding_backward_grad():
    from .. import reference as R
    rng = np.random.default_rng(4)
    ids, table = _ids(rng, 6, (3, 5)), rand(rng, float, 6, 4)
    dout = rand(rng, float, 3, 5, 4)
    yield Grad("repeated ids", lambda t: R.embedding(ids, t), [table],
               [R.embedding_backward(dout, ids, 6)], dout)


def _fuzz(backward):
    def fuzz(st):
        def make(V, D, shape, strided, dtype, seed):
            rng = np.random.default_rng(seed)
            ids = view(_ids(rng, V, tuple(shape)), rng, strided and len(shape) > 0)
            if backward:
                dout = view(rand(rng, dtype, *ids.shape, D), rng, strided)
                return Case(dtype, lambda m: m.embedding_backward(dout, ids, V))
            table = view(rand(rng, dtype, V, D), rng, strided)
            return Case(dtype, lambda m: m.embedding(ids, table))
        return st.builds(make, st.integers(1, 40), st.integers(1, 70),
                         st.lists(st.integers(0, 9), max_size=3), st.booleans(),
                         st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))
    return fuzz


_BENCH = [(10, 4, (2, 3)), (1004, 256, (128, 16)), (50_000, 256, (64, 128)),
          (50_257, 768, (8, 512))]


def _embedding_bench(rng, dtype):
    for V, D, shape in _BENCH:
        yield f"V{V} D{D} ids{shape}", (_ids(rng, V, shape), rand(rng, dtype, V, D)), {}


def _embedding_backward_bench(rng, dtype):
    for V, D, shape in _BENCH:
        yield f"V{V} D{D} ids{shape}", (rand(rng, dtype, *shape, D), _ids(rng, V, shape), V), {}


def _numpy_embedding_backward(dout, ids, num_embeddings):
    dtable = np.zeros((num_embeddings, dout.shape[-1]), dout.dtype)
    np.add.at(dtable, ids, dout)
    return dtable


def _torch_embedding(torch, ids, table):
    i, t = tensors(torch, ids, table)
    return lambda: torch.nn.functional.embedding(i, t)


def _torch_embedding_backward(torch, dout, ids, num_embeddings):
    g, i = tensors(torch, dout, ids)
    return lambda: torch.ops.aten.embedding_dense_backward(g, i, num_embeddings, -1, False)


SPECS = [
    Spec("embedding", _embedding_samples,
         valid=lambda: ([np.array([[0, 2], [1, 1]]), fixed_rand(3, 4)], {}),
         errors=lambda: [
             ((np.array([0, 3]), ones(3, 4)), {}, ValueError, r"embedding: ids must lie in \[0, 3\) \(the table's rows\), got values in \[0, 3\]"),
             ((np.array([-1]), ones(3, 4)), {}, ValueError, r"embedding: ids must lie in \[0, 3\)"),
             ((np.array([0.0]), ones(3, 4)), {}, TypeError, r"embedding: ids must be an integer array"),
             ((np.array([0]), ones(3)), {}, ValueError, r"embedding: table must be 2-D \(V, D\)")],
         grad="the gradient of embedding: embedding_backward's cases check it",
         fuzz=_fuzz(backward=False), bench=_embedding_bench,
         numpy=lambda ids, table: table[ids], torch=_torch_embedding),
    Spec("embedding_backward", _embedding_backward_samples,
         valid=lambda: ([fixed_rand(2, 2, 4), np.array([[0, 2], [1, 1]]), 3], {}),
         errors=lambda: [
             ((ones(2, 4), np.array([0, 3]), 3), {}, ValueError, r"embedding_backward: ids must lie in \[0, 3\)"),
             ((ones(3, 4), np.array([0, 1]), 3), {}, ValueError, r"embedding_backward: dout must have shape ids.shape \+ \(D,\)"),
             ((ones(2, 4), np.array([0, 1]), 0), {}, ValueError, r"embedding_backward: num_embeddings must be an integer >= 1")],
         grad=_embedding_backward_grad, fuzz=_fuzz(backward=True),
         bench=_embedding_backward_bench, numpy=_numpy_embedding_backward,
         torch=_torch_embedding_backward),
]
