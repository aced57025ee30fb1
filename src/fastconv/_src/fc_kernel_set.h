/* Every kernel template, instantiated for one element type: fc_isa_template.h
 * defines T, IT, TLANES, SFX, MR, NV, BRW, BNV and includes this file once per
 * type (no include guard on purpose).  A new kernel family is one line here,
 * its fields in FC_DECLARE_KERNELS (fc_kernels.h) and FC_KERNEL_ENTRIES
 * (fc_isa_template.h), and its declaration and helper in _fc.pxd. */
#include "fc_gemm_kernel.h"
#include "fc_layout_template.h"
#include "fc_bcast_template.h"
#include "fc_depthwise_template.h"
#include "fc_wgrad_template.h"
#include "fc_winograd_template.h"
#undef T
#undef IT
#undef TLANES
#undef SFX
#undef MR
#undef NV
#undef BRW
#undef BNV
