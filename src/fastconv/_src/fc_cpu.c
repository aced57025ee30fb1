/* CPU feature detection for choosing an instruction-set table at import. */
#include "fc_kernels.h"

const fc_isa *fc_active = &fc_isa_generic;

void fc_set_active(const fc_isa *table) { fc_active = table; }

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
int fc_cpu_supports_avx512(void)
{
    __builtin_cpu_init();
    return fc_isa_avx512.name != NULL && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
}
int fc_cpu_supports_avx2(void)
{
    __builtin_cpu_init();
    return fc_isa_avx2.name != NULL && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
}
#else
int fc_cpu_supports_avx512(void) { return 0; }
int fc_cpu_supports_avx2(void) { return 0; }
#endif
