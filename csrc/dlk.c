/* dlk.c — build facts that dlkern.info() reports, and the Ctrl-C watch (dlk.h). */
#include <string.h>

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

#ifdef DLK_HAVE_AVX512_LOOPS
int dlk_has_avx512(void)
{
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    }
    return has;
}
#endif

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
