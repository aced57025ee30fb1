/* AVX2 + FMA instruction-set table (every kernel of fc_isa_template.h);
 * setup.py compiles this file with -mavx2 -mfma.
 * Register block 6 rows x 2 ymm: 12 accumulators of 16 ymm. */
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__AVX2__) && defined(__FMA__)
#define FC_ISA_NAME "avx2"
#define FC_ISA_TABLE fc_isa_avx2
#define FC_LANES_F32 8  /* FC_VBYTES / 4, as one token */
#define FC_LANES_F64 4
#define FC_VBYTES 32
#define FC_MR_F32 6
#define FC_NV_F32 2
#define FC_MR_F64 6
#define FC_NV_F64 2
/* weight gradient block: 2 vectors of m by 6 rows of k, or 1 by 12 (of 16 registers) */
#define FC_WG_NVMAX 2
#define FC_WG_MRK2 6
#define FC_WG_MRK1 12
/* gemm_bcast block: 6 positions x 2 vectors of channels (f32), 6 x 2 (f64) */
#define FC_BC_RW_F32 6
#define FC_BC_NV_F32 2
#define FC_BC_RW_F64 6
#define FC_BC_NV_F64 2
#include "fc_isa_template.h"
#else
#include "fc_kernels.h"
const fc_isa fc_isa_avx2 = {0};
#endif
