"""Embedding lookup and its gradient (DESIGN.md, contract additions), in plain NumPy."""
import numpy as np

from .. import _checks


def embedding(ids, table):
    """out[..., :] = table[ids[...], :]: row ids[i] of the (V, D) table for each id, as
    torch.nn.functional.embedding.

    Returns
    -------
    out (*ids.shape, D) in table's dtype."""
    _checks.embedding_args("embedding", ids, table)
    return np.take(table, ids, axis=0)


def embedding_backward(dout, ids, num_embeddings):
    """dtable[v] = Σ over the positions i with ids[i] = v of dout[i]: the rows of repeated
    ids add, in the order the ids come (C order), starting from zero.

    Returns
    -------
    dtable (num_embeddings, D) in dout's dtype."""
    _checks.embedding_backward_args("embedding_backward", dout, ids, num_embeddings)
    D = dout.shape[-1]
    dtable = np.zeros((num_embeddings, D), dout.dtype)
    np.add.at(dtable, ids.reshape(-1), dout.reshape(-1, D))
    return dtable
