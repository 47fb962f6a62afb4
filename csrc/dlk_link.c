/* dlk_link.c — the runtime as every extension but dlkern._native.common sees it: the
 * entries of dlk.h that hold process-wide state (the scratch cache, the CPU probe)
 * forward to the one copy in common's csrc/dlk.c.  The binding calls
 * dlk_runtime_bind at import (dlkern/_native/runtime.pxd), before any kernel runs. */
#include "dlk.h"

static const dlk_runtime *runtime;

int dlk_runtime_bind(const dlk_runtime *rt)
{
    if (!rt || rt->size != sizeof(dlk_runtime)) return DLK_EINVAL;
    runtime = rt;
    return DLK_OK;
}

int dlk_has_avx512(void) { return runtime->has_avx512(); }
int dlk_has_avx2(void) { return runtime->has_avx2(); }
void *dlk_scratch_take(size_t bytes) { return runtime->scratch_take(bytes); }
void dlk_scratch_give(void *p) { runtime->scratch_give(p); }
int dlk_team_state(int64_t now) { return runtime->team_state(now); }
void dlk_team_note(int64_t now, int event) { runtime->team_note(now, event); }
int dlk_team_threads(int nt, int64_t useful) { return runtime->team_threads(nt, useful); }
