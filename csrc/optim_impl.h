/* optim_impl.h — the optimizer loops, written once so that float and double cannot drift
 * apart, for one element type (dtype.h); included twice by optim.c through instantiate.h.
 *
 * Names made, per dtype (f32, f64), all file-local: dlk_optim_step_f32, dlk_scale_f32,
 * dlk_sumsq_f32 (called by the dtype-tagged entries of optim.c); adagrad_f32, adam_f32,
 * chunk_sumsq_f32, consts_f32, make_consts_f32, momentum_f32, rmsprop_f32, run_kind_f32,
 * run_range_f32, scale_range_f32, sgd_f32, sumsq_range_f32. */

/* Per-step constants in the element type, computed once in double. */
typedef struct {
    T lr, beta1, one_m_beta1, beta2, one_m_beta2, eps, l2, decay, step_size, inv_sqrt_bc2;
} FN(consts_);

static FN(consts_) FN(make_consts_)(const dlk_optim_hparams *h)
{
    FN(consts_) c;
    c.lr = (T)h->lr;
    c.beta1 = (T)h->beta1;
    c.one_m_beta1 = (T)(1.0 - h->beta1);
    c.beta2 = (T)h->beta2;
    c.one_m_beta2 = (T)(1.0 - h->beta2);
    c.eps = (T)h->eps;
    /* L2 decay joins the gradient; AdamW's decoupled decay scales p first. */
    int decoupled = h->kind == DLK_ADAM && h->decoupled;
    c.l2 = decoupled ? (T)0 : (T)h->weight_decay;
    c.decay = decoupled ? (T)(1.0 - h->lr * h->weight_decay) : (T)1;
    if (h->kind == DLK_ADAM) {
        double bc1 = 1.0 - pow(h->beta1, (double)h->step);
        double bc2 = 1.0 - pow(h->beta2, (double)h->step);
        /* lr * m_hat / (sqrt(v_hat) + eps) = (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps) */
        c.step_size = (T)(h->lr / bc1);
        c.inv_sqrt_bc2 = (T)(1.0 / sqrt(bc2));
    } else {
        c.step_size = c.inv_sqrt_bc2 = (T)0;
    }
    return c;
}

/* The loops: one read of each input and one write of each output per element.
 * `l2 != 0` is loop-invariant, so the compiler unswitches it; it is kept so that
 * weight_decay = 0 never multiplies an infinite p by zero. */
DLK_CLONES static void FN(sgd_)(T *DLK_RESTRICT p, const T *DLK_RESTRICT g, int64_t n,
                                const FN(consts_) *c)
{
    const T lr = c->lr, l2 = c->l2;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T gi = l2 != 0 ? g[i] + l2 * p[i] : g[i];
        p[i] -= lr * gi;
    }
}

DLK_CLONES static void FN(momentum_)(T *DLK_RESTRICT p, const T *DLK_RESTRICT g,
                                     T *DLK_RESTRICT v, int64_t n, const FN(consts_) *c)
{
    const T lr = c->lr, beta = c->beta1, l2 = c->l2;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T gi = l2 != 0 ? g[i] + l2 * p[i] : g[i];
        T vi = beta * v[i] + lr * gi;
        v[i] = vi;
        p[i] -= vi;
    }
}

DLK_CLONES static void FN(adagrad_)(T *DLK_RESTRICT p, const T *DLK_RESTRICT g,
                                    T *DLK_RESTRICT G, int64_t n, const FN(consts_) *c)
{
    const T lr = c->lr, eps = c->eps, l2 = c->l2;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T gi = l2 != 0 ? g[i] + l2 * p[i] : g[i];
        T Gi = G[i] + gi * gi;
        G[i] = Gi;
        p[i] -= lr * gi / (SQRT(Gi) + eps);
    }
}

DLK_CLONES static void FN(rmsprop_)(T *DLK_RESTRICT p, const T *DLK_RESTRICT g,
                                    T *DLK_RESTRICT G, int64_t n, const FN(consts_) *c)
{
    const T lr = c->lr, beta = c->beta1, one_m_beta = c->one_m_beta1, eps = c->eps, l2 = c->l2;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T gi = l2 != 0 ? g[i] + l2 * p[i] : g[i];
        T Gi = beta * G[i] + one_m_beta * gi * gi;
        G[i] = Gi;
        p[i] -= lr * gi / (SQRT(Gi) + eps);
    }
}

DLK_CLONES static void FN(adam_)(T *DLK_RESTRICT p, const T *DLK_RESTRICT g,
                                 T *DLK_RESTRICT m, T *DLK_RESTRICT v, int64_t n,
                                 const FN(consts_) *c)
{
    const T b1 = c->beta1, omb1 = c->one_m_beta1, b2 = c->beta2, omb2 = c->one_m_beta2;
    const T eps = c->eps, l2 = c->l2, decay = c->decay;
    const T step_size = c->step_size, inv_sqrt_bc2 = c->inv_sqrt_bc2;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        T pi = p[i];
        T gi = l2 != 0 ? g[i] + l2 * pi : g[i];
        T mi = b1 * m[i] + omb1 * gi;
        T vi = b2 * v[i] + omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi * decay - step_size * mi / (SQRT(vi) * inv_sqrt_bc2 + eps);
    }
}

static void FN(run_kind_)(dlk_optim_kind kind, const FN(consts_) *c, T *p, const T *g,
                          T *s1, T *s2, int64_t n)
{
    switch (kind) {
    case DLK_SGD: FN(sgd_)(p, g, n, c); break;
    case DLK_MOMENTUM: FN(momentum_)(p, g, s1, n, c); break;
    case DLK_ADAGRAD: FN(adagrad_)(p, g, s1, n, c); break;
    case DLK_RMSPROP: FN(rmsprop_)(p, g, s1, n, c); break;
    case DLK_ADAM: FN(adam_)(p, g, s1, s2, n, c); break;
    }
}

/* NumPy's large arrays start 16 bytes into a page, so every 64-byte vector access
 * would straddle two cache lines (measured: 25% slower on one thread).  Running the
 * few elements before p's first cache-line boundary on their own aligns p — and
 * g, m, v too whenever they share p's offset, as NumPy's big arrays do. */
static void FN(run_range_)(dlk_optim_kind kind, const FN(consts_) *c, T *p, const T *g,
                           T *s1, T *s2, int64_t n)
{
    int64_t head = (int64_t)(((64 - ((uintptr_t)p & 63)) & 63) / sizeof(T));
    if ((uintptr_t)p % sizeof(T) || head > n) head = 0;
    if (head > 0)
        FN(run_kind_)(kind, c, p, g, s1, s2, head);
    FN(run_kind_)(kind, c, p + head, g + head, s1 ? s1 + head : NULL, s2 ? s2 + head : NULL,
                  n - head);
}

static int FN(dlk_optim_step_)(const dlk_optim_hparams *h, int64_t count, const int64_t *n,
                               T *const *p, const T *const *g, T *const *s1, T *const *s2,
                               int nthreads)
{
    if (h->kind < DLK_SGD || h->kind > DLK_ADAM || count < 0) return DLK_EINVAL;
    int64_t total = 0;
    for (int64_t a = 0; a < count; a++) total += n[a];
    if (total == 0) return DLK_OK;
    const FN(consts_) c = FN(make_consts_)(h);
    const int nt = dlk_threads_for(total, OPTIM_GRAIN, nthreads);

    /* all arrays are one flat index space; each thread takes one contiguous slice */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        int64_t lo, hi;
        dlk_slice(total, t, nt, &lo, &hi);
        DLK_FOR_EACH_PART(count, n, lo, hi, a, from, to)
            FN(run_range_)(h->kind, &c, p[a] + from, g[a] + from,
                           s1 ? s1[a] + from : NULL, s2 ? s2[a] + from : NULL, to - from);
    }
    return DLK_OK;
}

DLK_CLONES static double FN(sumsq_range_)(const T *DLK_RESTRICT x, int64_t n)
{
    double s = 0;
#pragma omp simd reduction(+:s)
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

DLK_CLONES static void FN(scale_range_)(T *DLK_RESTRICT x, int64_t n, T f)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) x[i] *= f;
}

/* Chunk c of the flat index space [0, total) covers [c·OPTIM_CHUNK, (c+1)·OPTIM_CHUNK). */
static double FN(chunk_sumsq_)(int64_t count, const int64_t *n, const T *const *x, int64_t lo,
                               int64_t hi)
{
    double s = 0;
    DLK_FOR_EACH_PART(count, n, lo, hi, a, from, to)
        s += FN(sumsq_range_)(x[a] + from, to - from);
    return s;
}

static int FN(dlk_sumsq_)(int64_t count, const int64_t *n, const T *const *x, double *out,
                          int nthreads)
{
    int64_t total = 0;
    for (int64_t a = 0; a < count; a++) total += n[a];
    int64_t chunks = (total + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    double *part = malloc((size_t)(chunks > 0 ? chunks : 1) * sizeof(double));
    if (!part) return DLK_ENOMEM;
    int nt = dlk_threads_for(total, OPTIM_GRAIN, nthreads);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t c = 0; c < chunks; c++)
        part[c] = FN(chunk_sumsq_)(count, n, x, c * OPTIM_CHUNK,
                                   c * OPTIM_CHUNK + OPTIM_CHUNK < total
                                       ? c * OPTIM_CHUNK + OPTIM_CHUNK : total);
    double s = 0;
    for (int64_t c = 0; c < chunks; c++) s += part[c];
    free(part);
    *out = s;
    return DLK_OK;
}

static int FN(dlk_scale_)(int64_t count, const int64_t *n, T *const *x, double factor,
                          int nthreads)
{
    int64_t total = 0;
    for (int64_t a = 0; a < count; a++) total += n[a];
    int nt = dlk_threads_for(total, OPTIM_GRAIN, nthreads);
    const T f = (T)factor;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = 0;
        DLK_THREAD_NUM(t);
        int64_t lo, hi;
        dlk_slice(total, t, nt, &lo, &hi);
        DLK_FOR_EACH_PART(count, n, lo, hi, a, from, to)
            FN(scale_range_)(x[a] + from, to - from, f);
    }
    return DLK_OK;
}

