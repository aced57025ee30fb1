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
#include <stdint.h>

typedef ptrdiff_t fc_idx;

/* Geometry of one convolution, every rank promoted to 3 spatial axes. */
typedef struct {
    fc_idx C;                 /* channels read by one group */
    fc_idx in[3];             /* input spatial shape (D, H, W) */
    fc_idx k[3];              /* kernel shape */
    fc_idx out[3];            /* output spatial shape */
    fc_idx stride[3], dilation[3], lo[3];  /* tap t of output o reads padded position
                                              o*stride + t*dilation: input index
                                              o*stride + t*dilation - lo inside the input */
    /* the padded extent ext[a] = (out - 1)*stride + dilation*(k - 1) + 1; the
     * input index of padded position i is fc_src(g, a, i) (no index tables: they
     * would grow with the data) */
    fc_idx ext[3];
    int mode;                 /* FC_PAD_*: what the padding holds */
    /* pad_image splits each padded axis into split[a] phases (positions
     * i = q*split + phase), each pext[a] = ceil(ext[a] / split[a]) long, laid
     * out [c][phase0][phase1][phase2][q0][q1][q2]: with split = stride, every
     * tap of a strided convolution reads a stride-1 row of one phase.  Rows may
     * be shorter (pext[2] < ext[2], split[2] == 1) when their right padding is
     * constant and no wider than their left padding: it is then read from the
     * start of the next row (or from slack after the buffer). */
    fc_idx split[3], pext[3];
} fc_geom;

/* Padding modes (numpy.pad's): the constant (zeros too), edge, wrap, reflect, symmetric. */
enum { FC_PAD_CONSTANT = 0, FC_PAD_EDGE = 1, FC_PAD_WRAP = 2, FC_PAD_REFLECT = 3,
       FC_PAD_SYMMETRIC = 4 };

/* Input index of padded position i along axis a, -1 where it holds the
 * constant: np.pad(np.arange(n), (lo, hi), mode)[i] for any widths (repeated
 * reflection and wrapping included).  Inside the input, i - lo itself; the
 * closed forms below run on the padding only. */
static inline fc_idx fc_src(const fc_geom *g, int a, fc_idx i)
{
    const fc_idx n = g->in[a], j = i - g->lo[a];
    if (j >= 0 && j < n) return j;
    fc_idx p, r;
    switch (g->mode) {
    case FC_PAD_EDGE:
        return j < 0 ? 0 : n - 1;
    case FC_PAD_WRAP:
        r = j % n;
        return r < 0 ? r + n : r;
    case FC_PAD_REFLECT:
        if (n == 1) return 0;
        p = 2 * n - 2;
        r = j % p;
        if (r < 0) r += p;
        return r < n ? r : p - r;
    case FC_PAD_SYMMETRIC:
        p = 2 * n;
        r = j % p;
        if (r < 0) r += p;
        return r < n ? r : p - 1 - r;
    default:
        return -1;
    }
}

/* One instruction set's kernels.  gemm: see the layouts above.
 * col2im: dx[input index] += col[k][p] (row stride ldcol, k = tap, p = output
 *   pixel) for every tap that reads a real input element; taps that read
 *   constant padding are dropped.  Serial, fixed order.
 * pack_a: A[m][k] = src[m * rs + k * cs] (M x K) into MR-row panels.
 * pack_b: B[k][n] = src[k * rs + n * cs] (K x N) into NR-column panels.
 * gemm_rows: C = A @ B (+ bias) with B[k][n] = base[koff[k] + n] read in place;
 *   vg == NULL: C[m][n] at C[m * ldc + n]; else column n is position v0 + n of
 *   the virtual output grid of vg (pad_image's phase rows, see fc_geom) and goes
 *   to C[m * ldc + real output index] where that position is a real output.
 *   work: NULL, or room for K x N rounded up to NR: B is packed there whole
 *   rows at a time first (for rows streamed from memory).
 *   Both ask for [pf, pf + pfbytes) (pf may be NULL), a share per microkernel
 *   call: the caller's next image, whose memory latency then overlaps the
 *   arithmetic.
 * gemm_stream: the same C as gemm_rows with vg == NULL (C[m][n] at
 *   C[m * ldc + n]) computed K block by K block over all N columns, each
 *   block's rows read in place from start to end (long sequential runs that
 *   the hardware prefetchers follow), its partial sums kept in C itself.
 * gemm_bcast: the same C as gemm_rows (work == NULL) from weights packed
 *   [M/bm][K][bm] (pack_b of w with nr = bm), the image values broadcast
 *   (fc_bcast_template.h).
 * pack_gy_t, wgrad_t: the weight gradient as accT[k][m] += B[k][p] gyT[p][m]
 *   with B[k][p] = base[koff[k] + p] broadcast from the image rows
 *   (fc_wgrad_template.h); Mpad is a multiple of the lane count.
 * pad_image: the padded image (phase-split, see fc_geom) that gemm_rows and the
 *   padded dw_* kernels read.
 * dw_*: direct kernels for one-input-channel groups (fc_depthwise_template.h);
 *   dw_forward: tap t of an output at koff[t] from its place in the plane split
 *   into phases along W; dw_forward_vgrid: the same on the virtual grid of
 *   gemm_rows (every axis split), for narrow rows; dw_forward3: 3x3 layers at
 *   stride 1 or 2 padded with zeros (one element before each axis) from the
 *   unpadded plane x itself, reading nothing outside it.
 *   dw_forward reads up to FC_DW_SLACK elements past the padded plane.  All
 *   three ask for [pf, pf + pfbytes) (the next plane they will read) in shares
 *   spread over their rows, so that memory latency overlaps their arithmetic. */
#define FC_DW_SLACK 64
/* wino_in, wino_gemm_out: Winograd F(2x2, 3x3) (nd = 2) or F(2x2x2, 3x3x3)
 *   (nd = 3) of tiles [t0, t0 + nt), numbered across phase volumes of PT tiles
 *   (fc_winograd_template.h): the input transform, then the 4^nd GEMMs and the
 *   output transform.  wino_in reads up to FC_WINO_SLACK elements past the input
 *   volume and writes up to a vector's lanes past column nt of V's rows;
 *   wino_gemm_out reads V's rows up to column nt rounded up to NR, and returns 1
 *   if some output it computed is not finite.
 * wino1_in, wino1_gemm_out: the same for 1-D layers of k >= 3 taps, groups of
 *   three by F(2, 3) and the last k % 3 taps directly; wino1_in reads up to
 *   FC_WINO_SLACK + k elements past the input rows. */
#define FC_WINO_SLACK 64
#define FC_DECLARE_KERNELS(T, SFX)                                                           \
    void (*gemm_##SFX)(const T *Ap, const T *Bp, fc_idx K, fc_idx M, fc_idx N, T *C,         \
                       fc_idx ldc, const T *bias, int accumulate);                           \
    void (*gemm_rows_##SFX)(const T *Ap, const T *base, const fc_idx *koff, fc_idx K,        \
                            fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,             \
                            const fc_geom *vg, fc_idx v0, T *work, const void *pf,           \
                            fc_idx pfbytes);                                                 \
    void (*gemm_bcast_##SFX)(const T *Wp, const T *base, const fc_idx *koff, fc_idx K,       \
                             fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,            \
                             const fc_geom *vg, fc_idx v0, const void *pf, fc_idx pfbytes);  \
    void (*gemm_stream_##SFX)(const T *Ap, const T *base, const fc_idx *koff, fc_idx K,      \
                              fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias);          \
    void (*col2im_##SFX)(const T *col, fc_idx ldcol, const fc_geom *g, fc_idx p0,            \
                         fc_idx np, T *dx);                                                  \
    void (*pack_a_##SFX)(const T *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr,     \
                         T *dst);                                                            \
    void (*pack_b_##SFX)(const T *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr,     \
                         T *dst);                                                            \
    void (*pad_image_##SFX)(const T *x, const fc_geom *g, T padval, T *dst);                 \
    void (*pack_gy_t_##SFX)(const T *gy, fc_idx P, const fc_geom *g, fc_idx v0, fc_idx nv,  \
                            fc_idx M, fc_idx Mpad, T *dst);                                  \
    void (*wgrad_t_##SFX)(const T *gyT, fc_idx Mpad, fc_idx nv, const T *base,               \
                          const fc_idx *koff, fc_idx K, T *accT);                            \
    void (*dw_forward_##SFX)(const T *pad, const fc_geom *g, const fc_idx *koff,             \
                             const T *w, const T *bias, fc_idx M, T *y, const void *pf,      \
                             fc_idx pfbytes);                                                \
    void (*dw_forward_vgrid_##SFX)(const T *pad, const fc_geom *g, const fc_idx *koff,       \
                                   const T *w, const T *bias, fc_idx M, T *y,                \
                                   const void *pf, fc_idx pfbytes);                          \
    void (*dw_forward3_##SFX)(const T *x, const fc_geom *g, const T *w, const T *bias,      \
                              fc_idx M, T *y, const void *pf, fc_idx pfbytes);               \
    void (*dw_input_grad_##SFX)(const T *gy, const fc_geom *g, const T *w, fc_idx M,         \
                                T *dpad, T *dx);                                             \
    void (*dw_weight_grad_##SFX)(const T *gy, const T *pad, const fc_geom *g, fc_idx M,      \
                                 double *acc);                                               \
    void (*wino_in_##SFX)(const T *pad, fc_idx vol, fc_idx cs, fc_idx sl, fc_idx Q2,         \
                          fc_idx C, fc_idx TH, fc_idx TW, fc_idx PT, fc_idx t0, fc_idx nt,   \
                          T *V, fc_idx ldv, int nd);                                         \
    int (*wino_gemm_out_##SFX)(const T *Up, fc_idx ustride, const T *V, fc_idx ldv,          \
                               const fc_idx *koff, fc_idx K, fc_idx M, fc_idx TH, fc_idx TW, \
                               fc_idx PT, const fc_idx *pl, fc_idx t0, fc_idx nt,            \
                               const T *bias, T *y, fc_idx ys0, fc_idx ys1, fc_idx ys2,      \
                               fc_idx P, T *blk, int nd);                                   \
    void (*wino1_in_##SFX)(const T *pad, fc_idx cs, fc_idx Q2, fc_idx C, fc_idx k,            \
                           fc_idx TW, fc_idx t0, fc_idx nt, T *V, fc_idx ldv);               \
    int (*wino1_gemm_out_##SFX)(const T *Up, fc_idx ustride, const T *V, fc_idx ldv,         \
                                const fc_idx *koff, fc_idx C, fc_idx k, fc_idx M, fc_idx TW, \
                                const fc_idx *pl, fc_idx t0, fc_idx nt, const T *bias, T *y, \
                                fc_idx ys2, fc_idx P);

typedef struct {
    const char *name;
    int mr_f32, nr_f32, mr_f64, nr_f64;
    int vl_f32, vl_f64;       /* SIMD lanes */
    int bm_f32, bm_f64;       /* channels per block of gemm_bcast's packed weights */
    FC_DECLARE_KERNELS(float, f32)
    FC_DECLARE_KERNELS(double, f64)
    /* float32 pooling, one output row of a window of nrows input rows per call
     * (fc_pool_template.h: stride 1 or 2 along W, dilation 1, the same bits as
     * the scalar loops); ind may be NULL. */
    void (*pool_max_row_f32)(const float *const *rows, const int64_t *rbase, int nrows,
                             float *y, int64_t *ind, fc_idx W, fc_idx oW, int k, int s, int p);
    void (*pool_avg_row_f32)(const float *const *rows, int nrows, float *y, const float *div,
                             fc_idx W, fc_idx oW, int k, int s, int p);
    /* iters rounds of 12 float32 vector FMAs (vl_f32 lanes each); returns a
     * value to keep them alive.  The benchmark's measure of the FMA peak. */
    double (*fma_burn)(long iters);
} fc_isa;

/* Instruction-set tables; a table whose instruction set was not compiled in
 * (non-x86 machines, MSVC) has name NULL. */
extern const fc_isa fc_isa_avx512;
extern const fc_isa fc_isa_avx2;
extern const fc_isa fc_isa_generic;

/* 1 if the CPU (and OS) can run the given table's instructions. */
int fc_cpu_supports_avx512(void);
int fc_cpu_supports_avx2(void);

/* The table every kernel module calls through (fc_cpu.c): the generic one
 * until the import picks the best one the CPU runs (fastconv._isa). */
extern const fc_isa *fc_active;
void fc_set_active(const fc_isa *table);



/* Prefetch state spread over a kernel's `steps` microkernel calls: FC_PF_STEP
 * asks for the lines of [pf, pf + bytes) due by the end of the next call. */
typedef struct {
    const char *p;
    fc_idx lines, steps, step, done;
} fc_pfshare;

static inline void fc_pf_init(fc_pfshare *s, const void *pf, fc_idx bytes, fc_idx steps)
{
    s->p = (const char *)pf;
    s->lines = pf && steps > 0 ? (bytes + 63) / 64 : 0;
    s->steps = steps;
    s->step = 0;
    s->done = 0;
}

static inline void fc_pf_step(fc_pfshare *s)
{
#if defined(__GNUC__) || defined(__clang__)
    if (!s->lines) return;
    const fc_idx upto = s->step < s->steps ? s->lines * ++s->step / s->steps : s->lines;
    for (; s->done < upto; s->done++) __builtin_prefetch(s->p + s->done * 64, 0, 2);
#else
    (void)s;
#endif
}

/* Depth of the blocks a reduction over K is cut into, at most kc each: equal
 * blocks (no short last block whose result costs as much to store as to
 * compute), from K and kc alone, never from the caller's split of the work. */
static inline fc_idx fc_kblock(fc_idx K, fc_idx kc)
{
    const fc_idx n = (K + kc - 1) / kc;
    return n > 1 ? (K + n - 1) / n : kc;
}

/* D in 1, 2 if every three taps 3j, 3j + 1, 3j + 2 read rows D apart (the kw
 * taps of 3x3 rows at stride 1 along them), else 0: gemm_bcast then broadcasts
 * each image value once for all three; the forward's policy asks the same. */
static inline int fc_koff_threes(const fc_idx *koff, fc_idx K)
{
    if (K == 0 || K % 3) return 0;
    const fc_idx d = koff[1] - koff[0];
    if (d != 1 && d != 2) return 0;
    for (fc_idx k = 0; k < K; k += 3)
        if (koff[k + 1] - koff[k] != d || koff[k + 2] - koff[k + 1] != d) return 0;
    return (int)d;
}

/* Aligned scratch memory (NULL on failure); free with fc_free. */
void *fc_malloc(size_t bytes);
void fc_free(void *p);
/* Per-call buffers from malloc, 64-byte aligned (NULL on failure); free with
 * fc_scratch_free. */
void *fc_scratch(size_t bytes);
void fc_scratch_free(void *p);
/* Tests only: the allocation after the next `after` ones returns NULL (negative:
 * none); pending: the count left, negative once it has fired or when unset. */
void fc_fail_allocation(long after);
long fc_allocation_failure_pending(void);

/* Ask for [p, p + bytes) to be brought into the cache (a hint; never faults). */
void fc_prefetch(const void *p, size_t bytes);

#endif
