/* fastconv C layer: the packed GEMM microkernels (one set per instruction set)
 * and the packing routines that feed them.
 *
 * Layouts (MR/NR are the register-block sizes of the chosen instruction set):
 *   packed A: panels of MR rows,    [M/MR][K][MR], rows past M are zero;
 *   packed B: panels of NR columns, [N/NR][K][NR], columns past N are zero.
 * fc_gemm computes C[M x N] (row stride ldc) = A @ B (+ bias per row), or adds
 * it to C when `accumulate` is set.  Each element of C is reduced over K in
 * increasing k, always by the same code: results never depend on how callers
 * split the work between threads.
 */
#ifndef FASTCONV_KERNELS_H
#define FASTCONV_KERNELS_H

#include <stddef.h>

typedef ptrdiff_t fc_idx;

typedef void (*fc_gemm_f32_fn)(const float *Ap, const float *Bp, fc_idx K, fc_idx M,
                               fc_idx N, float *C, fc_idx ldc, const float *bias,
                               int accumulate);
typedef void (*fc_gemm_f64_fn)(const double *Ap, const double *Bp, fc_idx K, fc_idx M,
                               fc_idx N, double *C, fc_idx ldc, const double *bias,
                               int accumulate);

typedef struct {
    const char *name;
    int mr_f32, nr_f32, mr_f64, nr_f64;
    fc_gemm_f32_fn gemm_f32;
    fc_gemm_f64_fn gemm_f64;
} fc_isa;

/* Instruction-set tables; a table whose instruction set was not compiled in
 * (non-x86 machines, MSVC) has name NULL. */
extern const fc_isa fc_isa_avx512;
extern const fc_isa fc_isa_avx2;
extern const fc_isa fc_isa_generic;

/* 1 if the CPU (and OS) can run the given table's instructions. */
int fc_cpu_supports_avx512(void);
int fc_cpu_supports_avx2(void);

/* Geometry of one convolution, every rank promoted to 3 spatial axes. */
typedef struct {
    fc_idx C;                 /* channels read by one group */
    fc_idx in[3];             /* input spatial shape (D, H, W) */
    fc_idx k[3];              /* kernel shape */
    fc_idx out[3];            /* output spatial shape */
    const fc_idx *tab[3];     /* tab[a][t * out[a] + o] = input index or -1 (padding) */
} fc_geom;

/* im2col of output pixels [p0, p0 + np) into dst, laid out as panels of pnr
 * pixels: dst[(p / pnr) * (K * pnr) + k * pnr + p % pnr], K = C * prod(k).
 * Pixels of the last panel past np are zero-filled.  pnr >= np gives a plain
 * [K][pnr] matrix. */
void fc_im2col_f32(const float *x, const fc_geom *g, fc_idx p0, fc_idx np, fc_idx pnr,
                   float padval, float *dst);
void fc_im2col_f64(const double *x, const fc_geom *g, fc_idx p0, fc_idx np, fc_idx pnr,
                   double padval, double *dst);

/* The adjoint of im2col with a plain layout: dx[input index] += col[k][p]
 * (row stride ldcol) for every tap that reads a real input element; taps that
 * read the constant padding are dropped.  Serial, fixed order. */
void fc_col2im_f32(const float *col, fc_idx ldcol, const fc_geom *g, fc_idx p0, fc_idx np,
                   float *dx);
void fc_col2im_f64(const double *col, fc_idx ldcol, const fc_geom *g, fc_idx p0, fc_idx np,
                   double *dx);

/* Pack A[m][k] = src[m * rs + k * cs] (M x K) into MR-row panels. */
void fc_pack_a_f32(const float *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr, float *dst);
void fc_pack_a_f64(const double *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr, double *dst);
/* Pack B[k][n] = src[k * rs + n * cs] (K x N) into NR-column panels. */
void fc_pack_b_f32(const float *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr, float *dst);
void fc_pack_b_f64(const double *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr, double *dst);

/* Aligned scratch memory (NULL on failure); free with fc_free. */
void *fc_malloc(size_t bytes);
void fc_free(void *p);

#endif
