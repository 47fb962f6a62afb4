"""Native convolution: im2col, col2im, conv2d forward and backward.  Checks are the
reference's (dlkern._checks); loops and GEMM calls in csrc/conv/ without the GIL,
with the scratch memory bounded by dlkern.get_workspace_limit()."""
from libc.stdint cimport int64_t
cimport numpy as cnp
import numpy as np

from .. import _checks, _backend
from .common cimport (DLK_OK, check_status, dlk_stop_flag, watch_sigint, unwatch_sigint,
                      contiguous, output)
from .gemm cimport load_blas

from .runtime cimport bind_runtime
cnp.import_array()
bind_runtime()
load_blas()

cdef extern from "conv/conv.h" nogil:
    ctypedef struct dlk_conv_shape:
        int64_t B, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo, dil_h, dil_w, groups
    enum:
        DLK_CONV_FORWARD
        DLK_CONV_DX
        DLK_CONV_DW
        DLK_CONV_PASSES
        DLK_CONV_IMPLS_MAX
    ctypedef struct dlk_conv_blocking:
        int64_t nb, rows
    ctypedef struct dlk_conv_plan:
        int impl[3]
        dlk_conv_blocking blk[3]
        const char *why[3][8]
    int dlk_conv_impl_count()
    const char *dlk_conv_impl_name(int i)
    const char *dlk_conv_impl_isa(int i)
    int dlk_conv_plan_make(const dlk_conv_shape *s, int dtype, int64_t workspace,
                           int nthreads, unsigned passes, const int *force,
                           dlk_conv_plan *plan)
    int dlk_im2col(const dlk_conv_shape *s, int dtype, const void *x, void *cols, int nt)
    int dlk_col2im(const dlk_conv_shape *s, int dtype, const void *cols, void *x, int nt)
    int dlk_conv2d(const dlk_conv_shape *s, int dtype, const void *x, const void *w,
                   const void *b, void *y, int64_t workspace, const int *force,
                   const dlk_stop_flag *stop, int nt)
    int dlk_conv2d_backward(const dlk_conv_shape *s, int dtype, const void *dy,
                            const void *x, const void *w, void *dx, void *dw, void *db,
                            int64_t workspace, const int *force, const dlk_stop_flag *stop,
                            int nt)

PASSES = ("forward", "dx", "dw")


def implementations():
    """The convolution's implementations in the order its plan tries them, as
    (name, instruction set) pairs; "any" runs on every CPU."""
    return [(dlk_conv_impl_name(i).decode(), dlk_conv_impl_isa(i).decode())
            for i in range(dlk_conv_impl_count())]


cdef int _impl_index(str fn, name) except -2:
    if name is None:
        return -1
    for i in range(dlk_conv_impl_count()):
        if dlk_conv_impl_name(i).decode() == name:
            return i
    raise ValueError(f"{fn}: impl must be one of "
                     f"{[n for n, _ in implementations()]}, got {name!r}")


cdef int _force(str fn, impl, tuple passes, int *force) except -1:
    """force[pass] from impl: None (the plan chooses), one name for every pass, or a
    dict {pass: name} with passes among `passes`."""
    for q in range(3):
        force[q] = -1
    if impl is None:
        return 0
    if isinstance(impl, dict):
        for key, name in impl.items():
            if key not in passes:
                raise ValueError(f"{fn}: impl keys must be among {passes}, got {key!r}")
            force[PASSES.index(key)] = _impl_index(fn, name)
    else:
        for key in passes:
            force[PASSES.index(key)] = _impl_index(fn, impl)
    return 0


cdef dict _plan_dict(dlk_conv_plan *plan, unsigned passes):
    out = {}
    for q in range(3):
        if not passes & (1u << q):
            continue
        declined = {}
        for i in range(dlk_conv_impl_count()):
            if plan.why[q][i] != NULL:
                declined[dlk_conv_impl_name(i).decode()] = plan.why[q][i].decode()
        chosen = plan.impl[q]
        out[PASSES[q]] = {
            "impl": dlk_conv_impl_name(chosen).decode() if chosen >= 0 else None,
            "blocking": (plan.blk[q].nb, plan.blk[q].rows),
            "declined": declined,
        }
    return out


cdef int _plan_or_raise(str fn, dlk_conv_shape *sh, int dtype, int64_t ws, int nt,
                        unsigned passes, int *force) except -1:
    """Checks a forced plan before the kernel runs, so that a forced implementation
    that declines raises ValueError with its reason."""
    cdef dlk_conv_plan plan
    cdef int i
    if dlk_conv_plan_make(sh, dtype, ws, nt, passes, force, &plan) == DLK_OK:
        return 0
    for q in range(3):
        i = force[q]
        if passes & (1u << q) and i >= 0 and plan.why[q][i] != NULL:
            raise ValueError(f"{fn}: impl {dlk_conv_impl_name(i).decode()!r} does not take "
                             f"the {PASSES[q]} pass here: {plan.why[q][i].decode()}")
    raise ValueError(f"{fn}: no implementation takes this problem")


def explain(x_shape, w_shape, stride=1, padding=0, dtype=np.float32, workspace=None,
            threads=None, passes=PASSES, dilation=1, groups=1):
    """Which implementation each pass of a convolution takes, and why each one tried
    before it declined.

    Returns a dict {pass: {"impl": name, "blocking": (nb, rows), "declined": {name:
    reason}}} for pass in `passes` ("forward", "dx", "dw").  `workspace` (bytes) and
    `threads` default to the current settings (dlkern.get_workspace_limit(),
    dlkern.get_num_threads()), which the choice depends on."""
    fn = "explain"
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{fn}: dtype must be float32 or float64, got {dt}")
    # zero-stride views: the shape checks need shapes and a dtype, not the arrays
    x = np.broadcast_to(np.zeros((), dt), tuple(x_shape))
    w = np.broadcast_to(np.zeros((), dt), tuple(w_shape))
    s, p, d, g, o = _checks.conv2d_args(fn, x, w, stride, padding, dilation, groups)
    cdef dlk_conv_shape sh = _shape(x.shape, w.shape[0], w.shape[2:], s, p, o, d, g)
    cdef unsigned mask = 0
    for q in passes:
        if q not in PASSES:
            raise ValueError(f"{fn}: passes must be among {PASSES}, got {q!r}")
        mask |= 1u << PASSES.index(q)
    cdef int64_t ws = _backend.get_workspace_limit() if workspace is None else workspace
    cdef int nt = _backend.get_num_threads() if threads is None else threads
    cdef dlk_conv_plan plan
    dlk_conv_plan_make(&sh, 1 if dt == np.float64 else 0, ws, nt, mask, NULL, &plan)
    return _plan_dict(&plan, mask)


cdef double _macs(const dlk_conv_shape *s):
    """Multiply-adds of the forward product."""
    return <double>s.B * s.O * s.Ho * s.Wo * (s.C // s.groups) * s.kh * s.kw


cdef dlk_conv_shape _shape(x_shape, int64_t O, k, s, p, o, d=(1, 1), int64_t g=1):
    cdef dlk_conv_shape sh
    sh.B, sh.C, sh.H, sh.W = x_shape
    sh.O = O
    sh.kh, sh.kw = k
    sh.sh, sh.sw = s
    sh.ph, sh.pw = p
    sh.Ho, sh.Wo = o
    sh.dil_h, sh.dil_w = d
    sh.groups = g
    return sh


cdef inline int _dtype(cnp.ndarray a):
    """The C side's dtype tag: DLK_F32 (0) or DLK_F64 (1)."""
    return 0 if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32 else 1


def im2col(x, kernel_size, stride=1, padding=0):
    fn = "im2col"
    _checks.float_array(fn, "x", x, 4, "(B, C, H, W)")
    k, s, p, o = _checks.im2col_args(fn, x.shape, kernel_size, stride, padding)
    cdef cnp.ndarray xc = contiguous(x)
    cdef dlk_conv_shape sh = _shape(x.shape, 0, k, s, p, o)
    cdef cnp.ndarray cols = output((x.shape[1] * k[0] * k[1], x.shape[0] * o[0] * o[1]),
                                   x.dtype)
    cdef int status, nt = _backend.get_num_threads(), dt = _dtype(xc)
    with nogil:
        status = dlk_im2col(&sh, dt, xc.data, cols.data, nt)
    check_status(status, fn)
    return cols


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    fn = "col2im"
    x_shape, k, s, p, o = _checks.col2im_args(fn, cols, x_shape, kernel_size, stride,
                                              padding)
    cdef cnp.ndarray cc = contiguous(cols)
    cdef dlk_conv_shape sh = _shape(x_shape, 0, k, s, p, o)
    cdef cnp.ndarray x = output(x_shape, cols.dtype)
    cdef int status, nt = _backend.get_num_threads(), dt = _dtype(cc)
    with nogil:
        status = dlk_col2im(&sh, dt, cc.data, x.data, nt)
    check_status(status, fn)
    return x


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, impl=None):
    """dlkern.conv2d's native kernel.  impl (for tests and experiments): None, the plan
    chooses (see explain); or an implementation's name (implementations()), which must
    take the problem, else ValueError."""
    fn = "conv2d"
    s, p, d, g, o = _checks.conv2d_args(fn, x, w, stride, padding, dilation, groups)
    _checks.bias(fn, b, w.shape[0], x)
    cdef cnp.ndarray xc = contiguous(x), wc = contiguous(w)
    cdef cnp.ndarray bc = contiguous(b) if b is not None else None
    cdef dlk_conv_shape sh = _shape(x.shape, w.shape[0], w.shape[2:], s, p, o, d, g)
    cdef cnp.ndarray y = output((x.shape[0], w.shape[0]) + o, x.dtype)
    cdef void *bp = bc.data if bc is not None else NULL
    cdef int64_t ws = _backend.get_workspace_limit()
    cdef int status, nt = _backend.get_num_threads(), dt = _dtype(xc)
    cdef int force[3]
    _force(fn, impl, ("forward",), force)
    if impl is not None:
        _plan_or_raise(fn, &sh, dt, ws, nt, 1u << DLK_CONV_FORWARD, force)
    cdef const dlk_stop_flag *stop = watch_sigint(_macs(&sh))
    with nogil:
        status = dlk_conv2d(&sh, dt, xc.data, wc.data, bp, y.data, ws, force, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return y


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, *, impl=None):
    """dlkern.conv2d_backward's native kernel.  impl: as conv2d's, or a dict
    {"dx": name, "dw": name} forcing each pass."""
    fn = "conv2d_backward"
    s, p, d, g, o = _checks.conv2d_backward_args(fn, dy, x, w, stride, padding, dilation,
                                                 groups)
    cdef cnp.ndarray dyc = contiguous(dy), xc = contiguous(x)
    cdef cnp.ndarray wc = contiguous(w)
    cdef dlk_conv_shape sh = _shape(x.shape, w.shape[0], w.shape[2:], s, p, o, d, g)
    cdef cnp.ndarray dx = output(x.shape, x.dtype)
    cdef cnp.ndarray dw = output(w.shape, x.dtype)
    cdef cnp.ndarray db = output(w.shape[0], x.dtype)
    cdef int64_t ws = _backend.get_workspace_limit()
    cdef int status, nt = _backend.get_num_threads(), dt = _dtype(xc)
    cdef int force[3]
    cdef unsigned passes = 1u << DLK_CONV_DX | 1u << DLK_CONV_DW
    _force(fn, impl, ("dx", "dw"), force)
    if impl is not None:
        _plan_or_raise(fn, &sh, dt, ws, nt, passes, force)
    cdef const dlk_stop_flag *stop = watch_sigint(2 * _macs(&sh))
    with nogil:
        status = dlk_conv2d_backward(&sh, dt, dyc.data, xc.data, wc.data, dx.data, dw.data,
                                     db.data, ws, force, stop, nt)
    unwatch_sigint(stop)
    check_status(status, fn)
    return dx, dw, db
