/* Packed GEMM, instantiated once per instruction set.
 *
 * The including file defines, before including this header:
 *   FC_ISA_NAME   table name string, FC_ISA_TABLE  the fc_isa object to define,
 *   FC_VBYTES     vector width in bytes (64 AVX-512, 32 AVX2, 16 SSE2/NEON),
 *   FC_MR_F32, FC_NV_F32, FC_MR_F64, FC_NV_F64
 *                 register block: MR rows x NV vectors of C held in registers.
 * It is compiled with that instruction set's flags (setup.py), so GCC's vector
 * extensions below become real SIMD registers of that width.  The accumulators
 * (MR * NV vectors) plus NV loads of B and one broadcast of A must fit in the
 * register file, or the kernel spills and halves its speed: check the assembly
 * (objdump -d) after changing a block size.
 */
#include <string.h>
#include "fc_kernels.h"

#define FC_CAT_(a, b) a##b
#define FC_CAT(a, b) FC_CAT_(a, b)

#if defined(__GNUC__) || defined(__clang__)
#define FC_UNROLL _Pragma("GCC unroll 32")
#define FC_RESTRICT __restrict__

#define FC_DEFINE_KERNEL(T, SFX, MR, NV)                                                  \
typedef T FC_CAT(vec_, SFX) __attribute__((vector_size(FC_VBYTES)));                      \
enum { FC_CAT(VL_, SFX) = FC_VBYTES / sizeof(T), FC_CAT(NR_, SFX) = NV * (FC_VBYTES / sizeof(T)) }; \
static inline void FC_CAT(ukernel_, SFX)(fc_idx K, const T *FC_RESTRICT A,                \
                                          const T *FC_RESTRICT B, T *C, fc_idx ldc,       \
                                          int mr, int nr, const T *bias, int accumulate)  \
{                                                                                         \
    typedef FC_CAT(vec_, SFX) V;                                                          \
    enum { VL = FC_CAT(VL_, SFX), NR = FC_CAT(NR_, SFX) };                                \
    V c[MR][NV];                                                                          \
    FC_UNROLL for (int m = 0; m < MR; m++)                                                \
        FC_UNROLL for (int v = 0; v < NV; v++) c[m][v] = (V){0};                          \
    for (fc_idx k = 0; k < K; k++) {                                                      \
        V b[NV];                                                                          \
        FC_UNROLL for (int v = 0; v < NV; v++) memcpy(&b[v], B + v * VL, sizeof(V));      \
        FC_UNROLL for (int m = 0; m < MR; m++) {                                          \
            const T a = A[m];                                                             \
            FC_UNROLL for (int v = 0; v < NV; v++) c[m][v] += a * b[v];                   \
        }                                                                                 \
        A += MR;                                                                          \
        B += NR;                                                                          \
    }                                                                                     \
    if (mr == MR && nr == NR) {                                                           \
        FC_UNROLL for (int m = 0; m < MR; m++) {                                          \
            T *row = C + m * ldc;                                                         \
            const T bm = bias ? bias[m] : (T)0;                                           \
            FC_UNROLL for (int v = 0; v < NV; v++) {                                      \
                V r = c[m][v] + bm;                                                       \
                if (accumulate) {                                                         \
                    V old;                                                                \
                    memcpy(&old, row + v * VL, sizeof(V));                                \
                    r = old + c[m][v];                                                    \
                }                                                                         \
                memcpy(row + v * VL, &r, sizeof(V));                                      \
            }                                                                             \
        }                                                                                 \
        return;                                                                           \
    }                                                                                     \
    for (int m = 0; m < mr; m++) {                                                        \
        T tmp[NR];                                                                        \
        memcpy(tmp, c[m], sizeof(tmp));                                                   \
        T *row = C + m * ldc;                                                             \
        const T bm = bias ? bias[m] : (T)0;                                               \
        if (accumulate)                                                                   \
            for (int j = 0; j < nr; j++) row[j] += tmp[j];                                \
        else                                                                              \
            for (int j = 0; j < nr; j++) row[j] = tmp[j] + bm;                            \
    }                                                                                     \
}                                                                                         \
static void FC_CAT(gemm_, SFX)(const T *Ap, const T *Bp, fc_idx K, fc_idx M, fc_idx N,   \
                               T *C, fc_idx ldc, const T *bias, int accumulate)          \
{                                                                                         \
    enum { NR = FC_CAT(NR_, SFX) };                                                       \
    for (fc_idx nb = 0; nb < N; nb += NR) {                                               \
        const int nr = (int)(N - nb < NR ? N - nb : NR);                                  \
        const T *B = Bp + (nb / NR) * K * NR;                                             \
        for (fc_idx mb = 0; mb < M; mb += MR) {                                           \
            const int mr = (int)(M - mb < MR ? M - mb : MR);                              \
            FC_CAT(ukernel_, SFX)(K, Ap + (mb / MR) * K * MR, B, C + mb * ldc + nb, ldc,  \
                                  mr, nr, bias ? bias + mb : NULL, accumulate);           \
        }                                                                                 \
    }                                                                                     \
}

FC_DEFINE_KERNEL(float, f32, FC_MR_F32, FC_NV_F32)
FC_DEFINE_KERNEL(double, f64, FC_MR_F64, FC_NV_F64)
_Static_assert(FC_NR_F32_VALUE == NR_f32, "FC_NR_F32_VALUE must be NV * lanes");
_Static_assert(FC_NR_F64_VALUE == NR_f64, "FC_NR_F64_VALUE must be NV * lanes");

const fc_isa FC_ISA_TABLE = {
    FC_ISA_NAME,
    FC_MR_F32, FC_NR_F32_VALUE, FC_MR_F64, FC_NR_F64_VALUE,
    gemm_f32, gemm_f64,
};

#else  /* no vector extensions (MSVC): plain loops, same layouts */

#define FC_DEFINE_PLAIN(T, SFX, MR, NR)                                                   \
static void FC_CAT(gemm_, SFX)(const T *Ap, const T *Bp, fc_idx K, fc_idx M, fc_idx N,   \
                               T *C, fc_idx ldc, const T *bias, int accumulate)          \
{                                                                                         \
    for (fc_idx nb = 0; nb < N; nb += NR) {                                               \
        const int nr = (int)(N - nb < NR ? N - nb : NR);                                  \
        const T *B = Bp + (nb / NR) * K * NR;                                             \
        for (fc_idx mb = 0; mb < M; mb += MR) {                                           \
            const int mr = (int)(M - mb < MR ? M - mb : MR);                              \
            const T *A = Ap + (mb / MR) * K * MR;                                         \
            T c[MR][NR] = {{0}};                                                          \
            for (fc_idx k = 0; k < K; k++)                                                \
                for (int m = 0; m < MR; m++)                                              \
                    for (int j = 0; j < NR; j++) c[m][j] += A[k * MR + m] * B[k * NR + j];\
            for (int m = 0; m < mr; m++) {                                                \
                T *row = C + (mb + m) * ldc + nb;                                         \
                const T bm = bias ? bias[mb + m] : (T)0;                                  \
                for (int j = 0; j < nr; j++)                                              \
                    row[j] = accumulate ? row[j] + c[m][j] : c[m][j] + bm;                \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
}
FC_DEFINE_PLAIN(float, f32, FC_MR_F32, FC_NR_F32_VALUE)
FC_DEFINE_PLAIN(double, f64, FC_MR_F64, FC_NR_F64_VALUE)

const fc_isa FC_ISA_TABLE = {
    FC_ISA_NAME,
    FC_MR_F32, FC_NR_F32_VALUE, FC_MR_F64, FC_NR_F64_VALUE,
    gemm_f32, gemm_f64,
};
#endif
