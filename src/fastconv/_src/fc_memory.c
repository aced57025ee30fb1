/* Aligned scratch memory for the kernels' workspaces. */
#include <stdlib.h>
#include <string.h>
#include "fc_kernels.h"

#if !defined(_MSC_VER)
#include <sys/mman.h>
#endif

/* Blocks of at least this size are mapped from the system and unmapped when
 * freed.  Through malloc they would be kept: glibc raises its mmap threshold
 * (up to 32 MiB) whenever a big block (any NumPy array) is freed, after which
 * big blocks come from per-thread arenas that keep their memory - a process's
 * resident size then grew to several times the workspace limit. */
#define FC_MAP_BYTES ((size_t)1 << 20)
/* Each block starts with a header of one cache line holding its size. */
#define FC_HEADER 64

/* Fault injection for the tests (fc_fail_allocation): the number of allocations
 * that still succeed before one fails; negative: none fails.  Atomic, because
 * workspaces are also taken inside parallel regions. */
static long fc_fail_countdown = -1;

void fc_fail_allocation(long after)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(&fc_fail_countdown, after, __ATOMIC_SEQ_CST);
#else
    fc_fail_countdown = after;
#endif
}

long fc_allocation_failure_pending(void)
{
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(&fc_fail_countdown, __ATOMIC_SEQ_CST);
#else
    return fc_fail_countdown;
#endif
}

static int fc_injected_failure(void)
{
#if defined(__GNUC__) || defined(__clang__)
    /* one allocation sees the count go from 0 to -1 and fails; later ones see it
     * negative and are left alone */
    return __atomic_load_n(&fc_fail_countdown, __ATOMIC_RELAXED) >= 0
        && __atomic_fetch_sub(&fc_fail_countdown, 1, __ATOMIC_SEQ_CST) == 0;
#else
    return 0;
#endif
}

void *fc_malloc(size_t bytes)
{
    /* 64-byte alignment: one cache line, one AVX-512 vector */
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    if (fc_injected_failure()) return NULL;
#if defined(_MSC_VER)
    return _aligned_malloc(rounded, 64);
#else
    const size_t total = rounded + FC_HEADER;
    char *base = NULL;
    if (total >= FC_MAP_BYTES) {
        void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        base = (char *)m;
    } else {
        void *p = NULL;
        if (posix_memalign(&p, 64, total) != 0) return NULL;
        base = (char *)p;
    }
    *(size_t *)base = total;
    return base + FC_HEADER;
#endif
}

void fc_free(void *p)
{
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    if (p == NULL) return;
    char *base = (char *)p - FC_HEADER;
    const size_t total = *(size_t *)base;
    if (total >= FC_MAP_BYTES)
        munmap(base, total);
    else
        free(base);
#endif
}

/* A driver's per-call buffers (packed weights, padded images) taken as NumPy
 * takes an array's memory: from malloc whatever the size, where glibc keeps
 * and reuses it (fc_malloc maps big blocks fresh: their pages fault in again
 * on every call), with no Python object to create (a NumPy array and its
 * memoryview cost a tiny convolution ~0.3 us each).  Not counted by the fault
 * injection, like the arrays these replace. */
void *fc_scratch(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
#if defined(_MSC_VER)
    return _aligned_malloc(rounded, 64);
#else
    void *p = NULL;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
#endif
}

void fc_scratch_free(void *p)
{
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    free(p);
#endif
}

void fc_prefetch(const void *p, size_t bytes)
{
#if defined(__GNUC__) || defined(__clang__)
    const char *c = (const char *)p;
    for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 2);
#else
    (void)p;
    (void)bytes;
#endif
}
