/* dlk_sum.c — Σ in double (dlk.h), compiled into every extension whose kernels sum: a
 * hot loop, so each calls its own copy directly rather than through the runtime table. */
#include "dlk.h"

#define DLK_SUM(name, T)                                                              \
    DLK_CLONES double name(const T *DLK_RESTRICT x, int64_t n)                        \
    {                                                                                 \
        double a[4][8] = {{0}}, s = 0;                                                \
        int64_t i = 0;                                                                \
        for (; i + 32 <= n; i += 32)                                                  \
            for (int u = 0; u < 4; u++)                                               \
                for (int l = 0; l < 8; l++) a[u][l] += (double)x[i + 8 * u + l];      \
        for (int u = 0; u < 4; u++)                                                   \
            for (int l = 0; l < 8; l++) s += a[u][l];                                 \
        for (; i < n; i++) s += (double)x[i];                                         \
        return s;                                                                     \
    }
DLK_SUM(dlk_sum_f32, float)
DLK_SUM(dlk_sum_f64, double)
#undef DLK_SUM
