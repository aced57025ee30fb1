/* Portable instruction-set table (every kernel of fc_isa_template.h),
 * compiled with the default flags (SSE2 on x86-64, NEON on arm64):
 * 16-byte vectors, 6 rows x 2 vectors. */
#define FC_ISA_NAME "generic"
#define FC_ISA_TABLE fc_isa_generic
#define FC_LANES_F32 4  /* FC_VBYTES / 4, as one token */
#define FC_LANES_F64 2
#define FC_VBYTES 16
#define FC_MR_F32 6
#define FC_NV_F32 2
#define FC_MR_F64 6
#define FC_NV_F64 2
/* weight gradient block: 2 vectors of m by 6 rows of k, or 1 by 12 (of 16 registers) */
#define FC_WG_NVMAX 2
#define FC_WG_MRK2 6
#define FC_WG_MRK1 12
/* gemm_bcast block: 6 positions x 2 vectors of channels (f32), 4 x 2 (f64) */
#define FC_BC_RW_F32 6
#define FC_BC_NV_F32 2
#define FC_BC_RW_F64 4
#define FC_BC_NV_F64 2
#include "fc_isa_template.h"
