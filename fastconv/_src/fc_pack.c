/* Packing routines shared by every instruction set (they move memory; the
 * arithmetic lives in the per-ISA GEMM files). */
#include <stdlib.h>
#include <string.h>
#include "fc_kernels.h"

#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)

#define T float
#define SFX f32
#include "fc_pack_template.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "fc_pack_template.h"
#undef T
#undef SFX

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
