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
