/* Aligned scratch memory for the kernels' workspaces. */
#include <stdlib.h>
#include <string.h>
#include "fc_kernels.h"

void *fc_malloc(size_t bytes)
{
    /* 64-byte alignment: one cache line, one AVX-512 vector */
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

void fc_free(void *p)
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
