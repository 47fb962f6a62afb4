/* dlk.h — what every dlkern C kernel shares: status codes, the restrict and
 * dispatch macros, and the thread-count helper.
 *
 * C kernels take raw pointers, sizes and a thread count and return a status code;
 * they never touch Python.  Arguments are validated by the Cython layer before the
 * GIL is released; the codes below cover what can only be found out in C. */
#ifndef DLK_H
#define DLK_H

#include <signal.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

enum {
    DLK_OK = 0,
    DLK_ENOMEM = 1,      /* a workspace allocation failed */
    DLK_EINVAL = 2,      /* an argument the binding should have rejected */
    DLK_EBLAS = 3,       /* no BLAS entry has been loaded */
    DLK_EINTR = 4,       /* stopped early by Ctrl-C; the outputs are incomplete */
};

/* The element type of a dtype-tagged entry point's void pointers. */
enum { DLK_F32 = 0, DLK_F64 = 1 };

/* Ctrl-C inside long kernels.  Python runs its SIGINT handler only between bytecodes,
 * so a long call with the GIL released would finish before KeyboardInterrupt.  For a
 * long call from the main thread the binding installs dlk_sigint_watch()'s handler,
 * which sets dlk_sigint_seen and then calls the handler it replaced (Python's, which
 * schedules the KeyboardInterrupt), and passes &dlk_sigint_seen as the kernel's
 * `stop` flag.  Kernels that take one look at it between work items (DLK_STOPPED) and
 * return DLK_EINTR; stop may be NULL (never stop). */
typedef volatile sig_atomic_t dlk_stop_flag;
extern dlk_stop_flag dlk_sigint_seen;
int dlk_sigint_watch(void);     /* 1: installed (and the flag cleared); 0: not */
void dlk_sigint_unwatch(void);  /* puts the replaced handler back */
#define DLK_STOPPED(stop) ((stop) != NULL && *(stop))

#define DLK_RESTRICT __restrict__

/* Hot inner loops are compiled for several instruction sets and the best one is
 * chosen at load time (GCC/Clang function multiversioning through ifunc), so one
 * portable x86-64 build runs AVX-512 code where the CPU has it.  Builds with
 * DLKERN_NATIVE_ARCH=1 (-march=native) or on other architectures need no clones. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DLK_NO_CLONES) && defined(__linux__)
#define DLK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DLK_CLONES
#endif

#ifdef _OPENMP
#include <omp.h>
#define DLK_THREAD_NUM(t) ((t) = omp_get_thread_num())
#else
#define DLK_THREAD_NUM(t) ((t) = 0)
#endif

/* Thread t's share [*lo, *hi) of a flat index space [0, n) split over nthr threads,
 * cut on 16-element boundaries (one 64-byte line of floats) so that no two threads
 * write the same cache line of an aligned array. */
static inline void dlk_slice(int64_t n, int t, int nthr, int64_t *lo, int64_t *hi)
{
    *lo = (n * t / nthr) & ~(int64_t)15;
    *hi = t == nthr - 1 ? n : (n * (t + 1) / nthr) & ~(int64_t)15;
}

/* Arrays 0 … count−1 of n[a] elements laid end to end form one flat index space; the
 * body runs once for each array a that overlaps [lo, hi), with [from, to) the
 * overlapping part in a's own indices.  (The inner `for` runs its body at most once.) */
#define DLK_FOR_EACH_PART(count, n, lo, hi, a, from, to)                              \
    for (int64_t a = 0, a##_base = 0; a < (count) && a##_base < (hi);                 \
         a##_base += (n)[a], a++)                                                     \
        for (int64_t from = (lo) > a##_base ? (lo) - a##_base : 0,                    \
                     to = (hi) < a##_base + (n)[a] ? (hi) - a##_base : (n)[a];        \
             from < to; from = to)

/* Scratch memory kept between calls, and the memory of large output arrays (the
 * bindings' dlkern._native.common.output).  glibc maps buffers over its mmap threshold
 * afresh, or gives the top of its heap back to the system, and the kernel then zeroes
 * each page on first touch: a 64-sample 8×8 convolution took 135-150 µs instead of
 * 19 µs; 23 captioning-RNN training steps made 140-153 K page faults, 22 K once results
 * came from here too (AMD EPYC Zen 3).
 * Freed blocks (up to DLK_SCRATCH_KEEP bytes each, DLK_SCRATCH_HELD in all) wait in
 * slots; dlk_scratch_take hands out the smallest that fits (scratch_fits), else a new
 * one, 64-byte aligned; concurrent calls each get their own.  NULL when out of memory. */
#define DLK_SCRATCH_KEEP ((size_t)64 << 20)
#define DLK_SCRATCH_HELD ((size_t)256 << 20)
void *dlk_scratch_take(size_t bytes);
void dlk_scratch_give(void *p);
size_t dlk_scratch_held(void);     /* bytes waiting in the slots (dlk.c only) */

/* The runtime's process-wide state (the scratch cache above, the CPU probe) has one
 * copy, in dlkern._native.common (csrc/dlk.c); every other extension links
 * csrc/dlk_link.c, whose entries forward through this table, handed over at import in
 * a PyCapsule (common.RUNTIME) and bound with dlk_runtime_bind (DLK_EINVAL when the
 * table is of another build). */
typedef struct {
    size_t size;                        /* sizeof(dlk_runtime) of the build that made it */
    int (*has_avx512)(void);
    int (*has_avx2)(void);
    void *(*scratch_take)(size_t bytes);
    void (*scratch_give)(void *p);
    int (*team_state)(int64_t now);
    void (*team_note)(int64_t now, int event);
    int (*team_threads)(int nt, int64_t useful);
} dlk_runtime;
const dlk_runtime *dlk_runtime_get(void);       /* dlk.c */
int dlk_runtime_bind(const dlk_runtime *rt);    /* dlk_link.c */

/* Whether OpenMP's threads are worth waking.  Measured on a 2-vCPU KVM guest (Intel
 * Xeon): libgomp's workers spin about 0.6 ms after a region (GOMP_SPINCOUNT=50000) and
 * then sleep; waking a sleeping one took 0.65 ms (the host wakes the idle vCPU), against
 * 1 µs while it spins; and with another runnable process a worker waits for a time
 * slice.  So a product of some tens of µs is split only in a run of calls (the last one
 * ended less than DLK_TEAM_WARM_NS ago: the first split of the run wakes the team, the
 * rest find it spinning), and while the cores are crowded (dlk_team_threads) short
 * calls run on one thread for DLK_TEAM_HOLD_NS or more (dlk_team_note).
 * dlk_team_state(now): DLK_TEAM_RUN if a watched call ended within the warm window, or
 * DLK_TEAM_SHARED alone while the hold lasts.  dlk_team_note(now, DLK_TEAM_ENDED): a
 * watched call ended; (now, DLK_TEAM_CROWDED): the cores were seen crowded.
 * Process-wide (dlk.c), racy by design: a hint. */
#define DLK_TEAM_WARM_NS 300000
#define DLK_TEAM_HOLD_NS 200000000
#define DLK_TEAM_HOLD_MAX_NS 3200000000
enum { DLK_TEAM_RUN = 1, DLK_TEAM_SHARED = 4 };
enum { DLK_TEAM_ENDED, DLK_TEAM_CROWDED };
int dlk_team_state(int64_t now);
void dlk_team_note(int64_t now, int event);
static inline int64_t dlk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* nt threads for `useful` grains of work, or one while the cores look shared unless
 * each thread would get DLK_SHARED_GRAINS grains (beside a busy process, Intel Xeon,
 * 10^7-element element-wise calls ran 1.4-2.3× slower on two threads than on one when
 * 128 grains a thread kept them split; products count their own way: gemm.c).
 * The cores look shared for a while (dlk_team_note) after two looks in a row found
 * them crowded: every DLK_TEAM_SAMPLE_NS at most, before a split, it sums the time the
 * process's threads ran and the time they were runnable but waited for a core
 * (/proc/self/task/…/schedstat, where there is one); waiting over DLK_TEAM_WAIT_SHARE
 * of the running since the last look means more runnable threads than cores.  Measured on a 2-vCPU Intel Xeon guest,
 * softmax 800×1004 at 2 threads in a loop: 0.08 s of waiting per second of wall time
 * quiet, 0.80 beside one busy process, 0.67 alternating with NumPy 512³ products
 * (NumPy's OpenBLAS workers spin after each).  The host taking a vCPU away does not
 * count, nor does waking a sleeping team. */
int dlk_team_threads(int nt, int64_t useful);
#define DLK_SHARED_GRAINS 1024
#define DLK_TEAM_SAMPLE_NS 20000000
#define DLK_TEAM_WAIT_SHARE 0.3

/* Threads worth using for `work` units when one thread should get at least
 * `grain` of them; never more than the caller's `nthreads`, never less than 1; and
 * dlk_team_threads' say whenever that is more than one, the work counted in grains of
 * `shared_grain` there. */
static inline int dlk_threads_split(int64_t work, int64_t grain, int64_t shared_grain,
                                    int nthreads)
{
    if (nthreads < 1) nthreads = 1;
    if (grain < 1) grain = 1;
    int64_t useful = work / grain;
    if (useful < 1) useful = 1;
    int nt = useful < nthreads ? (int)useful : nthreads;
    return nt > 1 ? dlk_team_threads(nt, work / (shared_grain < 1 ? 1 : shared_grain)) : nt;
}

static inline int dlk_threads_for(int64_t work, int64_t grain, int nthreads)
{
    return dlk_threads_split(work, grain, grain, nthreads);
}

/* The barrier between the steps of a recurrence, for a team of nt threads: skipped in a
 * team of one, where libgomp's barrier still ends in a futex wake system call (B32 T168
 * H128 LSTM backward, one thread, Intel Xeon: 168 per call, 23.1 → 22.2 ms). */
static inline void dlk_step_barrier(int nt)
{
    if (nt > 1) {
#pragma omp barrier
    }
}

/* Σ x[0…n) in double (dlk_sum.c).  Four vector accumulators: one would wait for its previous add
 * (a db of 1.6M elements took 20% of conv_mnist1's backward pass on one). */
double dlk_sum_f32(const float *x, int64_t n);
double dlk_sum_f64(const double *x, int64_t n);

/* Whether this build has OpenMP; reported by dlkern.info(). */
int dlk_openmp_enabled(void);
/* The instruction set the multiversioned loops run here: "avx512", "avx2" or "baseline". */
const char *dlk_isa_name(void);

/* Loops written with AVX-512 intrinsics (files named *_avx512.c, their vocabulary in
 * simd_avx512.h) are compiled for it with DLK_AVX512 whatever the build's -march, and
 * run only where dlk_has_avx512() says the CPU has it; likewise AVX2 + FMA loops
 * (*_avx2.c, DLK_AVX2, dlk_has_avx2()).  Other CPUs take the portable loops, as do all
 * when $DLKERN_PORTABLE_LOOPS is set (so that tests on an AVX-512 machine cover them
 * too); DLKERN_PORTABLE_LOOPS=avx2 turns off the AVX-512 loops only, so that an AVX-512
 * machine runs and tests the AVX2 ones. */
#if defined(__x86_64__) && defined(__GNUC__)
#define DLK_HAVE_AVX512_LOOPS 1
#define DLK_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define DLK_HAVE_AVX2_LOOPS 1
#define DLK_AVX2 __attribute__((target("avx2,fma")))
#endif
int dlk_has_avx512(void);
int dlk_has_avx2(void);

#endif
