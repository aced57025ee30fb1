/* AVX-512 instruction-set table (every kernel of fc_isa_template.h);
 * setup.py compiles this file with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma.
 * Register block 8 rows x 3 zmm: 24 accumulators + 3 B vectors + 1 broadcast of 32 zmm. */
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__AVX512F__)
#define FC_ISA_NAME "avx512"
#define FC_ISA_TABLE fc_isa_avx512
#define FC_LANES_F32 16  /* FC_VBYTES / 4, as one token */
#define FC_LANES_F64 8
#define FC_VBYTES 64
#define FC_MR_F32 8
#define FC_NV_F32 3
#define FC_MR_F64 8
#define FC_NV_F64 3
/* weight gradient block: up to 4 vectors of m by 6..12 rows of k (24 accumulators) */
#define FC_WG_NVMAX 4
#define FC_WG_MRK4 6
#define FC_WG_MRK3 8
#define FC_WG_MRK2 12
#define FC_WG_MRK1 12
/* gemm_bcast block: 12 positions x 2 vectors of channels (f32), 12 x 2 (f64) */
#define FC_BC_RW_F32 12
#define FC_BC_NV_F32 2
#define FC_BC_RW_F64 12
#define FC_BC_NV_F64 2
#include "fc_isa_template.h"
#else
#include "fc_kernels.h"
const fc_isa fc_isa_avx512 = {0};
#endif
