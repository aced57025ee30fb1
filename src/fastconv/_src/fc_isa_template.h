/* One instruction set's kernel table: the packed GEMM (fc_gemm_kernel.h), the
 * packing/padding/col2im routines (fc_layout_template.h), the broadcast GEMM,
 * depthwise, weight-gradient and Winograd templates, each for float and double,
 * and the pooling row kernels (fc_pool_template.h, float only).
 *
 * The including file defines, before including this header:
 *   FC_ISA_NAME   table name string, FC_ISA_TABLE  the fc_isa object to define,
 *   FC_VBYTES     vector width in bytes (64 AVX-512, 32 AVX2, 16 SSE2/NEON),
 *   FC_MR_F32, FC_NV_F32, FC_MR_F64, FC_NV_F64
 *                 register block: MR rows x NV vectors of C held in registers;
 *   FC_BC_RW_F32, FC_BC_NV_F32, FC_BC_RW_F64, FC_BC_NV_F64
 *                 gemm_bcast's block: RW positions x NV vectors of channels
 *                 (RW <= NV * lanes of the GEMM block, for its vsegs).
 * It is compiled with that instruction set's flags (setup.py), so GCC's vector
 * extensions become real SIMD registers of that width.  The accumulators
 * (MR * NV vectors) plus NV loads of B and one broadcast of A must fit in the
 * register file, or the kernel spills and halves its speed: check the assembly
 * (objdump -d) after changing a block size.
 */
#include <string.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>  /* masked loads and stores of the output tiles */
#endif
#include "fc_kernels.h"
#include "fc_transpose.h"

#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)
#define FC_FN(name) FC_CAT(name, SFX)

#if FC_LANES_F32 * 4 != FC_VBYTES || FC_LANES_F64 * 8 != FC_VBYTES
#error "FC_LANES_F32/F64 must equal FC_VBYTES / sizeof"
#endif

/* Depth of one pass over K: the KC x NR slice of B stays in L1 while it is
 * used against every MR-row panel of A. */
#ifndef FC_KC
#define FC_KC 128
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FC_UNROLL _Pragma("GCC unroll 32")
#define FC_HAVE_VECTORS 1
#else
#define FC_UNROLL
#define FC_HAVE_VECTORS 0
#endif

/* FC_IN_REG(v): v is in a vector register from here on.  GCC folds a load into
 * every FMA that uses it when it can, which loads a value shared by several
 * FMAs once per FMA; an empty asm that "changes" v keeps the one load. */
#if FC_HAVE_VECTORS && (defined(__x86_64__) || defined(__i386__)) && defined(__AVX512F__)
#define FC_IN_REG(v) __asm__("" : "+v"(v))
#elif FC_HAVE_VECTORS && (defined(__x86_64__) || defined(__i386__))
#define FC_IN_REG(v) __asm__("" : "+x"(v))
#elif FC_HAVE_VECTORS && defined(__aarch64__)
#define FC_IN_REG(v) __asm__("" : "+w"(v))
#else
#define FC_IN_REG(v) ((void)0)
#endif

#define T float
#define IT int
#define TLANES FC_LANES_F32
#define SFX f32
#define MR FC_MR_F32
#define NV FC_NV_F32
#define BRW FC_BC_RW_F32
#define BNV FC_BC_NV_F32
#include "fc_kernel_set.h"

#define T double
#define IT long long
#define TLANES FC_LANES_F64
#define SFX f64
#define MR FC_MR_F64
#define NV FC_NV_F64
#define BRW FC_BC_RW_F64
#define BNV FC_BC_NV_F64
#include "fc_kernel_set.h"

#include "fc_pool_template.h"  /* float32 only */

/* iters rounds of 12 independent float32 vector FMA chains (12 fit the 16
 * registers of AVX2 and cover the FMA latency of two ports): the FMA throughput
 * of one core with this instruction set (fc_isa.fma_burn), for the benchmark's
 * "fraction of peak".  Chains long enough to cover the FMA latency; nothing
 * folds them (no fast-math), and the result is returned so that nothing is
 * dropped. */
static double fc_fma_burn(long iters)
{
#if FC_HAVE_VECTORS
    typedef float PV __attribute__((vector_size(FC_VBYTES)));
    PV c[12], a = (PV){0} + 0.999999f, b = (PV){0} + 1e-7f;
#else
    float c[12], a = 0.999999f, b = 1e-7f;
#endif
    for (int j = 0; j < 12; j++) c[j] = a * (float)j;
    for (long i = 0; i < iters; i++)
        FC_UNROLL for (int j = 0; j < 12; j++) c[j] = c[j] * a + b;
    double sum = 0;
    for (int j = 0; j < 12; j++) {
        float t[FC_VBYTES / 4];
        memcpy(t, &c[j], sizeof(c[j]));
        for (size_t l = 0; l < sizeof(c[j]) / sizeof(float); l++) sum += t[l];
    }
    return sum;
}

/* Designated initialisers: a kernel added to FC_DECLARE_KERNELS needs one line
 * per type here, in any order. */
#define FC_KERNEL_ENTRIES(SFX_) \
    .gemm_##SFX_ = gemm_##SFX_, \
    .gemm_rows_##SFX_ = gemm_rows_##SFX_, \
    .gemm_bcast_##SFX_ = gemm_bcast_##SFX_, \
    .gemm_stream_##SFX_ = gemm_stream_##SFX_, \
    .col2im_##SFX_ = col2im_##SFX_, \
    .pack_a_##SFX_ = pack_a_##SFX_, \
    .pack_b_##SFX_ = pack_b_##SFX_, \
    .pad_image_##SFX_ = pad_image_##SFX_, \
    .pack_gy_t_##SFX_ = pack_gy_t_##SFX_, \
    .wgrad_t_##SFX_ = wgrad_t_##SFX_, \
    .dw_forward_##SFX_ = dw_forward_##SFX_, \
    .dw_forward_vgrid_##SFX_ = dw_forward_vgrid_##SFX_, \
    .dw_forward3_##SFX_ = dw_forward3_##SFX_, \
    .dw_input_grad_##SFX_ = dw_input_grad_##SFX_, \
    .dw_weight_grad_##SFX_ = dw_weight_grad_##SFX_, \
    .wino_in_##SFX_ = wino_in_##SFX_, \
    .wino_gemm_out_##SFX_ = wino_gemm_out_##SFX_, \
    .wino1_in_##SFX_ = wino1_in_##SFX_, \
    .wino1_gemm_out_##SFX_ = wino1_gemm_out_##SFX_

const fc_isa FC_ISA_TABLE = {
    .name = FC_ISA_NAME,
    .mr_f32 = FC_MR_F32,
    .nr_f32 = FC_NV_F32 * (FC_VBYTES / 4),
    .mr_f64 = FC_MR_F64,
    .nr_f64 = FC_NV_F64 * (FC_VBYTES / 8),
    .vl_f32 = FC_VBYTES / 4,
    .vl_f64 = FC_VBYTES / 8,
    .bm_f32 = FC_BC_NV_F32 * (FC_VBYTES / 4),
    .bm_f64 = FC_BC_NV_F64 * (FC_VBYTES / 8),
    FC_KERNEL_ENTRIES(f32),
    FC_KERNEL_ENTRIES(f64),
    .pool_max_row_f32 = pool_max_row_f32,
    .pool_avg_row_f32 = pool_avg_row_f32,
    .fma_burn = fc_fma_burn,
};
