/* dlk.c — the runtime: the Ctrl-C watch, the CPU probe, the scratch cache and the build
 * facts that dlkern.info() reports (dlk.h).  Linked into dlkern._native.common alone;
 * the other extensions reach the same state through dlk_runtime_get()'s table
 * (dlk_link.c), so a process has one scratch cache and one probe. */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlk.h"

dlk_stop_flag dlk_sigint_seen = 0;
static struct sigaction replaced;

static void on_sigint(int sig, siginfo_t *info, void *context)
{
    dlk_sigint_seen = 1;
    if (replaced.sa_flags & SA_SIGINFO) {
        if (replaced.sa_sigaction) replaced.sa_sigaction(sig, info, context);
    } else if (replaced.sa_handler != SIG_DFL && replaced.sa_handler != SIG_IGN) {
        replaced.sa_handler(sig);
    }
}

int dlk_sigint_watch(void)
{
    struct sigaction now, mine;
    if (sigaction(SIGINT, NULL, &now) != 0) return 0;
    /* ignored, or the default (the process ends): nothing to chain to */
    if (!(now.sa_flags & SA_SIGINFO) && (now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN))
        return 0;
    memset(&mine, 0, sizeof mine);
    mine.sa_sigaction = on_sigint;
    mine.sa_flags = SA_SIGINFO | (now.sa_flags & SA_ONSTACK);
    sigemptyset(&mine.sa_mask);
    replaced = now;
    dlk_sigint_seen = 0;
    return sigaction(SIGINT, &mine, NULL) == 0;
}

void dlk_sigint_unwatch(void)
{
    sigaction(SIGINT, &replaced, NULL);
}

int dlk_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* $DLKERN_PORTABLE_LOOPS: unset, empty or "0": the best loops this CPU has; "avx2": at
 * most the AVX2 ones; anything else: the portable ones. */
static int portable_loops(void)
{
    const char *v = getenv("DLKERN_PORTABLE_LOOPS");
    if (!v || !*v || strcmp(v, "0") == 0) return 0;
    return strcmp(v, "avx2") == 0 ? 1 : 2;
}

int dlk_has_avx512(void)
{
    /* atomic: the first call may come from several OpenMP threads at once */
    static _Atomic int known = -1;
    int has = atomic_load_explicit(&known, memory_order_relaxed);
    if (has < 0) {
        has = 0;
#ifdef DLK_HAVE_AVX512_LOOPS
        if (portable_loops() == 0) {
            __builtin_cpu_init();
            has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
        }
#endif
        atomic_store_explicit(&known, has, memory_order_relaxed);
    }
    return has;
}

int dlk_has_avx2(void)
{
    static _Atomic int known = -1;
    int has = atomic_load_explicit(&known, memory_order_relaxed);
    if (has < 0) {
        has = 0;
#ifdef DLK_HAVE_AVX2_LOOPS
        if (portable_loops() < 2) {
            __builtin_cpu_init();
            has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        }
#endif
        atomic_store_explicit(&known, has, memory_order_relaxed);
    }
    return has;
}

/* A block starts with its capacity, one 64-byte line before the pointer. */
#define SCRATCH_SLOTS 32
#define SCRATCH_HEAD 64
static _Atomic(char *) scratch_slot[SCRATCH_SLOTS];

static size_t scratch_capacity(char *block) { return *(size_t *)block; }

/* A kept block serves a request it fits without wasting more than half of itself
 * (or 1 MB): a 64 MB block does not go to hold a 300 KB array. */
static int scratch_fits(size_t capacity, size_t bytes)
{
    return capacity >= bytes && capacity - bytes <= bytes + ((size_t)1 << 20);
}

void *dlk_scratch_take(size_t bytes)
{
    /* the smallest kept block that fits; taken by exchange, so that a concurrent
     * taker who got there first sends this one looking again */
    for (int tries = 0; tries < 4; tries++) {
        int best = -1;
        size_t best_cap = 0;
        for (int i = 0; i < SCRATCH_SLOTS; i++) {
            char *b = atomic_load(&scratch_slot[i]);
            if (b && scratch_fits(scratch_capacity(b), bytes) &&
                (best < 0 || scratch_capacity(b) < best_cap)) {
                best = i;
                best_cap = scratch_capacity(b);
            }
        }
        if (best < 0) break;
        char *b = atomic_exchange(&scratch_slot[best], NULL);
        if (b && scratch_fits(scratch_capacity(b), bytes)) return b + SCRATCH_HEAD;
        if (b) dlk_scratch_give(b + SCRATCH_HEAD);     /* swapped meanwhile: put it back */
    }
    size_t total = (bytes + SCRATCH_HEAD + 63) & ~(size_t)63;
    if (total < bytes) return NULL;
    char *fresh = aligned_alloc(64, total);
    if (!fresh) return NULL;
    *(size_t *)fresh = total - SCRATCH_HEAD;
    return fresh + SCRATCH_HEAD;
}

void dlk_scratch_give(void *p)
{
    if (!p) return;
    char *b = (char *)p - SCRATCH_HEAD;
    size_t cap = scratch_capacity(b);
    if (cap > DLK_SCRATCH_KEEP) {
        free(b);
        return;
    }
    /* into a free slot while under the total; else kept blocks go to make room, from
     * the first slot on: the newest stays, so that blocks of sizes the calls no longer
     * ask for do not hold the cache for good */
    for (int i = 0;; i++) {
        if (dlk_scratch_held() + cap <= DLK_SCRATCH_HELD)
            for (int j = 0; j < SCRATCH_SLOTS; j++) {
                char *expected = NULL;
                if (atomic_compare_exchange_strong(&scratch_slot[j], &expected, b)) return;
            }
        if (i == SCRATCH_SLOTS) break;               /* concurrent givers filled it */
        free(atomic_exchange(&scratch_slot[i], NULL));
    }
    free(b);
}


const char *dlk_isa_name(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
#if defined(DLK_NO_CLONES)
    return "native build (-march=native)";
#else
    if (__builtin_cpu_supports("x86-64-v4")) return "avx512 (x86-64-v4)";
    if (__builtin_cpu_supports("x86-64-v3")) return "avx2 (x86-64-v3)";
    return "baseline (x86-64)";
#endif
#else
    return "compiler default";
#endif
}

size_t dlk_scratch_held(void)
{
    size_t held = 0;
    for (int i = 0; i < SCRATCH_SLOTS; i++) {
        char *b = atomic_load(&scratch_slot[i]);
        if (b) held += scratch_capacity(b);   /* racy with a concurrent take: a hint */
    }
    return held;
}

/* the team's recent history (dlk.h, dlk_team_state): when a watched call last ended,
 * until when the cores count as shared */
static _Atomic int64_t team_call_end, team_shared_until;

int dlk_team_state(int64_t now)
{
    if (now < atomic_load_explicit(&team_shared_until, memory_order_relaxed))
        return DLK_TEAM_SHARED;
    return now - atomic_load_explicit(&team_call_end, memory_order_relaxed) < DLK_TEAM_WARM_NS
               ? DLK_TEAM_RUN : 0;
}

static _Atomic int64_t team_hold = DLK_TEAM_HOLD_NS;

/* A crowding seen soon after a hold ran out doubles the next hold (up to
 * DLK_TEAM_HOLD_MAX_NS): a neighbour that stays busy costs two slow looks per hold, a
 * passing one (another process on a quiet machine, a few ms now and then) one short
 * hold. */
void dlk_team_note(int64_t now, int event)
{
    if (event != DLK_TEAM_CROWDED) {
        atomic_store_explicit(&team_call_end, now, memory_order_relaxed);
        return;
    }
    const int64_t until = atomic_load_explicit(&team_shared_until, memory_order_relaxed);
    int64_t hold = atomic_load_explicit(&team_hold, memory_order_relaxed);
    if (now >= until) {
        hold = until && now - until < 2 * hold ? 2 * hold : DLK_TEAM_HOLD_NS;
        if (hold > DLK_TEAM_HOLD_MAX_NS) hold = DLK_TEAM_HOLD_MAX_NS;
        atomic_store_explicit(&team_hold, hold, memory_order_relaxed);
    }
    atomic_store_explicit(&team_shared_until, now + hold, memory_order_relaxed);
}

/* Σ over the process's threads of the ns each ran (*run) and was runnable but waited
 * for a core (*wait), from /proc/self/task/<tid>/schedstat; 0 where there is none. */
static int sched_times(int64_t *run, int64_t *wait)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return 0;
    int seen = 0;
    *run = *wait = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[96];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        long long r, w;   /* "<ns on a cpu> <ns waiting on a runqueue> <timeslices>" */
        if (sscanf(buf, "%lld %lld", &r, &w) == 2) {
            *run += r;
            *wait += w;
            seen = 1;
        }
    }
    closedir(dir);
    return seen;
}

static _Atomic int64_t team_sampled_at, team_sampled_run, team_sampled_wait;
static _Atomic int team_crowded_looks;

/* Every DLK_TEAM_SAMPLE_NS at most (one caller at a time): since the last look, the
 * process's threads waited for a core more than DLK_TEAM_WAIT_SHARE of the time they
 * ran (against their own running time, not the wall's: idle gaps between calls do not
 * dilute it), in two looks (on a quiet machine one look in 140 crossed it) with no
 * look below it between them. */
static void team_sample(int64_t now)
{
    int64_t last = atomic_load_explicit(&team_sampled_at, memory_order_relaxed);
    if (now - last < DLK_TEAM_SAMPLE_NS ||
        !atomic_compare_exchange_strong(&team_sampled_at, &last, now))
        return;
    int64_t run, wait;
    if (!sched_times(&run, &wait)) return;
    const int64_t run0 = atomic_exchange(&team_sampled_run, run);
    const int64_t wait0 = atomic_exchange(&team_sampled_wait, wait);
    /* the first look, or the first after a pause (waking a sleeping team makes waits
     * of its own): only a new baseline */
    if (last == 0 || now - last > 2 * DLK_TEAM_SAMPLE_NS || run <= run0) return;
    if ((double)(wait - wait0) <= DLK_TEAM_WAIT_SHARE * (double)(run - run0))
        atomic_store(&team_crowded_looks, 0);
    else if (atomic_fetch_add(&team_crowded_looks, 1) >= 1)
        dlk_team_note(now, DLK_TEAM_CROWDED);
}

int dlk_team_threads(int nt, int64_t useful)
{
#ifdef _OPENMP
    if (nt <= 1 || omp_in_parallel()) return nt;
#endif
    const int64_t now = dlk_now_ns();
    team_sample(now);
    if (useful >= (int64_t)DLK_SHARED_GRAINS * nt) return nt;
    return (dlk_team_state(now) & DLK_TEAM_SHARED) ? 1 : nt;
}

const dlk_runtime *dlk_runtime_get(void)
{
    static const dlk_runtime table = {sizeof(dlk_runtime), dlk_has_avx512, dlk_has_avx2,
                                      dlk_scratch_take, dlk_scratch_give, dlk_team_state,
                                      dlk_team_note, dlk_team_threads};
    return &table;
}
