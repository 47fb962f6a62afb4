"""Native optimizer steps: validate in Cython, then one C call for the whole list.

The happy path checks every array with the NumPy C API (a few nanoseconds each, so
200 arrays cost microseconds); when anything is off, the shared Python checks in
dlkern._checks are run to raise the same error the reference raises.
"""
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport check_status, dtype_tag, DLK_F32, DLK_F64

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()

cdef extern from "optim.h" nogil:
    ctypedef enum dlk_optim_kind:
        DLK_SGD
        DLK_MOMENTUM
        DLK_ADAGRAD
        DLK_RMSPROP
        DLK_ADAM
    ctypedef struct dlk_optim_hparams:
        dlk_optim_kind kind
        double lr, beta1, beta2, eps, weight_decay
        int64_t step
        int decoupled
    int dlk_optim_step(int dtype, const dlk_optim_hparams *h, int64_t count,
                       const int64_t *n, void **p, const void **g, void **s1, void **s2,
                       int nthreads)
    int dlk_sumsq(int dtype, int64_t count, const int64_t *n, const void **x, double *out,
                  int nthreads)
    int dlk_scale(int dtype, int64_t count, const int64_t *n, void **x, double factor,
                  int nthreads)


cdef inline bint _array_ok(object x, int typenum, object ref, bint inplace):
    """x is an ndarray of typenum with ref's shape; writeable and C-contiguous if inplace."""
    if not cnp.PyArray_Check(x):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef cnp.ndarray r = <cnp.ndarray>ref
    if cnp.PyArray_TYPE(a) != typenum or cnp.PyArray_NDIM(a) != cnp.PyArray_NDIM(r):
        return False
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(r)[d]:
            return False
    if inplace:
        return cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISWRITEABLE(a)
    return True


cdef void _step(str fn, dlk_optim_hparams *h, object p, object g, object s1, object s2,
                tuple state_names) except *:
    """Check (p, g, s1, s2) — arrays or lists of arrays — and run one fused step."""
    cdef bint single = cnp.PyArray_Check(p)
    cdef list ps, gs, s1s = None, s2s = None
    cdef bint ok = True
    if single:
        ps, gs = [p], [g]
        if s1 is not None: s1s = [s1]
        if s2 is not None: s2s = [s2]
    elif isinstance(p, (list, tuple)) and isinstance(g, (list, tuple)) \
            and (s1 is None or isinstance(s1, (list, tuple))) \
            and (s2 is None or isinstance(s2, (list, tuple))):
        ps, gs = list(p), list(g)
        if s1 is not None: s1s = list(s1)
        if s2 is not None: s2s = list(s2)
    else:
        ok = False
    cdef Py_ssize_t count = len(ps) if ok else 0, i
    # the kernel reads exactly the states its method names: a missing one is an error
    ok = ok and (s1 is None) == (len(state_names) < 1) and (s2 is None) == (len(state_names) < 2)
    if ok:
        ok = len(gs) == count and (s1s is None or len(s1s) == count) \
            and (s2s is None or len(s2s) == count)
    cdef int typenum = -1
    if ok and count > 0:
        ok = cnp.PyArray_Check(ps[0])
        if ok:
            typenum = cnp.PyArray_TYPE(<cnp.ndarray>ps[0])
            ok = typenum == cnp.NPY_FLOAT32 or typenum == cnp.NPY_FLOAT64
    if ok:
        for i in range(count):
            if not (_array_ok(ps[i], typenum, ps[i], True)
                    and _array_ok(gs[i], typenum, ps[i], False)
                    and (s1s is None or _array_ok(s1s[i], typenum, ps[i], True))
                    and (s2s is None or _array_ok(s2s[i], typenum, ps[i], True))):
                ok = False
                break
    if not ok:
        # Let the shared checks say what is wrong, in the reference's words.
        _checks.optimizer_arrays(fn, p, g, **dict(zip(state_names, (s1, s2))))
        raise TypeError(f"{fn}: invalid arguments")  # not reached: the checks raise

    if count == 0:
        return
    cdef int64_t *n = <int64_t *>malloc(count * sizeof(int64_t))
    cdef void **ptrs = <void **>malloc(4 * count * sizeof(void *))
    if n == NULL or ptrs == NULL:
        free(n); free(ptrs)
        raise MemoryError(f"{fn}: out of memory for {count} array pointers")
    cdef list keep = []          # contiguous copies of non-contiguous gradients
    cdef cnp.ndarray gi
    cdef int status, nthreads = _backend.get_num_threads()
    try:
        for i in range(count):
            n[i] = cnp.PyArray_SIZE(<cnp.ndarray>ps[i])
            gi = <cnp.ndarray>gs[i]
            if not cnp.PyArray_IS_C_CONTIGUOUS(gi):
                gi = np.ascontiguousarray(gi)
                keep.append(gi)
            ptrs[i] = cnp.PyArray_DATA(<cnp.ndarray>ps[i])
            ptrs[count + i] = cnp.PyArray_DATA(gi)
            ptrs[2 * count + i] = cnp.PyArray_DATA(<cnp.ndarray>s1s[i]) if s1s is not None else NULL
            ptrs[3 * count + i] = cnp.PyArray_DATA(<cnp.ndarray>s2s[i]) if s2s is not None else NULL
        with nogil:
            status = dlk_optim_step(
                DLK_F32 if typenum == cnp.NPY_FLOAT32 else DLK_F64, h, count, n, ptrs,
                <const void **>(ptrs + count),
                (ptrs + 2 * count) if s1s is not None else NULL,
                (ptrs + 3 * count) if s2s is not None else NULL, nthreads)
        check_status(status, fn)
    finally:
        free(n)
        free(ptrs)


cdef dlk_optim_hparams _hparams(dlk_optim_kind kind, double lr, double beta1, double beta2,
                                double eps, double weight_decay, int64_t step, bint decoupled):
    cdef dlk_optim_hparams h
    h.kind = kind
    h.lr = lr
    h.beta1 = beta1
    h.beta2 = beta2
    h.eps = eps
    h.weight_decay = weight_decay
    h.step = step
    h.decoupled = decoupled
    return h


def sgd_step(p, g, lr, weight_decay=0.0):
    _checks.optimizer_hparams("sgd_step", lr=lr, weight_decay=weight_decay)
    cdef dlk_optim_hparams h = _hparams(DLK_SGD, lr, 0, 0, 0, weight_decay, 1, False)
    _step("sgd_step", &h, p, g, None, None, ())


def momentum_step(p, g, v, lr, beta=0.9, weight_decay=0.0):
    _checks.optimizer_hparams("momentum_step", lr=lr, weight_decay=weight_decay, beta=beta)
    cdef dlk_optim_hparams h = _hparams(DLK_MOMENTUM, lr, beta, 0, 0, weight_decay, 1, False)
    _step("momentum_step", &h, p, g, v, None, ("v",))


def adagrad_step(p, g, G, lr, eps=1e-8, weight_decay=0.0):
    _checks.optimizer_hparams("adagrad_step", lr=lr, weight_decay=weight_decay, eps=eps)
    cdef dlk_optim_hparams h = _hparams(DLK_ADAGRAD, lr, 0, 0, eps, weight_decay, 1, False)
    _step("adagrad_step", &h, p, g, G, None, ("G",))


def rmsprop_step(p, g, G, lr, beta=0.9, eps=1e-8, weight_decay=0.0):
    _checks.optimizer_hparams("rmsprop_step", lr=lr, weight_decay=weight_decay, eps=eps,
                              beta=beta)
    cdef dlk_optim_hparams h = _hparams(DLK_RMSPROP, lr, beta, 0, eps, weight_decay, 1, False)
    _step("rmsprop_step", &h, p, g, G, None, ("G",))


def adam_step(p, g, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False):
    _checks.optimizer_hparams("adam_step", lr=lr, weight_decay=weight_decay, eps=eps,
                              betas=[("beta1", beta1), ("beta2", beta2)], step=step)
    cdef dlk_optim_hparams h = _hparams(DLK_ADAM, lr, beta1, beta2, eps, weight_decay, step,
                                        bool(decoupled))
    _step("adam_step", &h, p, g, m, v, ("m", "v"))



def clip_grad_norm(grads, max_norm, eps=1e-6):
    fn = "clip_grad_norm"
    _checks.real(fn, "max_norm", max_norm, low=0.0, low_open=True)
    _checks.real(fn, "eps", eps, low=0.0)
    (gs,) = _checks.inplace_arrays(fn, grads)
    cdef Py_ssize_t count = len(gs), i
    if count == 0:
        return 0.0
    cdef int64_t *n = <int64_t *>malloc(count * sizeof(int64_t))
    cdef void **ptrs = <void **>malloc(count * sizeof(void *))
    if n == NULL or ptrs == NULL:
        free(n); free(ptrs)
        raise MemoryError(f"{fn}: out of memory for {count} array pointers")
    cdef double total = 0, factor
    cdef int status, nt = _backend.get_num_threads()
    cdef int dt = dtype_tag(<cnp.ndarray>gs[0])
    try:
        for i in range(count):
            n[i] = cnp.PyArray_SIZE(<cnp.ndarray>gs[i])
            ptrs[i] = cnp.PyArray_DATA(<cnp.ndarray>gs[i])
        with nogil:
            status = dlk_sumsq(dt, count, n, <const void **>ptrs, &total, nt)
        check_status(status, fn)
        total = total ** 0.5
        factor = max_norm / (total + eps)
        if factor < 1:
            with nogil:
                status = dlk_scale(dt, count, n, ptrs, factor, nt)
            check_status(status, fn)
    finally:
        free(n)
        free(ptrs)
    return total
