/* dlk.c — build facts that dlkern.info() reports. */
#include "dlk.h"

int dlk_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
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
