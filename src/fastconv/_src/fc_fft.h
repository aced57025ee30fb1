/* Overlap-save FFT convolution across SIMD lanes (included by fastconv/_fft_kernels.pyx).
 *
 * Overlap-save cuts a long signal into many blocks of the same power-of-two
 * size N.  Lane l of a vector holds block l's element, so a group of V blocks
 * (V = elements per vector) is transformed at once by plain vector code: every
 * butterfly is the scalar algorithm with vectors in place of numbers, no
 * shuffles.  A group's buffer holds element n of all lanes as two vectors,
 * the real parts then the imaginary parts (fcft_body.h).
 *
 * The transform is an in-place radix-4 decimation in frequency (one radix-2
 * stage first when log2 N is odd): natural order in, digit-reversed order out.
 * The inverse is its conjugate transpose run backwards (decimation in time:
 * digit-reversed in, natural out), so a convolution never permutes anything:
 * the kernel's spectrum is computed by the same forward code, hence in the
 * same order, and the product is pointwise.  The last forward stage, the
 * product and the first inverse stage run together in registers.
 *
 * Real signals: two blocks share a lane as the real and the imaginary part of
 * one complex block (a real kernel keeps them apart: conv(a + ib, h) =
 * conv(a, h) + i conv(b, h)).  Complex signals: one block per lane.
 *
 * 2-D (fcft_job2): a lane holds one Nr x Nc tile; each row is transformed as
 * above, then the columns, taking a whole row of the tile as one element (so
 * the column butterflies are contiguous vector code too), the product, and
 * the inverse in reverse order.  (Strips of a few columns, to stay in cache,
 * measured slower: their rows are 2^k elements apart and the inner loops short.)
 *
 * Every lane runs the same operations whatever the other lanes hold and
 * whichever thread runs the group; the groups are fixed by the block count
 * and V, so the bits do not depend on the thread count (they may depend on
 * the instruction set, as V and FMA contraction do).
 *
 * The AVX-512 and AVX2 copies are the same C compiled with
 * __attribute__((target)); ``level`` (2, 1, 0) picks one.  Compilers without
 * GCC's vector extensions get one lane (plain scalars).
 */
#ifndef FC_FFT_H
#define FC_FFT_H

#include <stddef.h>
#include <string.h>

#ifndef FCFT_VEC  /* -DFCFT_VEC=0 builds the one-lane scalar code (to test it) */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
#define FCFT_VEC 1
#else
#define FCFT_VEC 0
#endif
#endif

#if FCFT_VEC && defined(__x86_64__)
#define FCFT_HAVE_SIMD 1
#define FCFT_T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define FCFT_T256 __attribute__((target("avx2,fma")))
#else
#define FCFT_HAVE_SIMD 0
#endif

static inline int fcft_simd_levels(void) { return FCFT_HAVE_SIMD ? 2 : 0; }

/* blocks per vector at this level */
static inline int fcft_lanes(int level, int itemsize)
{
    int bytes = (FCFT_HAVE_SIMD && level >= 2) ? 64 : (FCFT_HAVE_SIMD && level == 1) ? 32 : 16;
    return FCFT_VEC ? bytes / itemsize : 1;
}

static inline int fcft_log2(ptrdiff_t n)
{
    int r = 0;
    while (((ptrdiff_t)1 << r) < n) r++;
    return r;
}

/* One convolution: outputs [start, start + length) of the full linear
 * convolution of each of ``rows`` lines of x (n samples each) with the
 * kernel (k taps, its spectrum in H).  Strides in elements of the real type;
 * complex data are (re, im) pairs of it. */
typedef struct {
    const void *x;
    ptrdiff_t xrs, xcs, n;
    int xcplx;          /* x holds (re, im) pairs */
    void *out;
    ptrdiff_t ors, ocs;
    int pair;           /* real mode: two real blocks per lane, real output */
    ptrdiff_t start, length, k, N, step, nb, rows;
} fcft_job;

/* The same for 2-D blocks of Nr x Nc: planes of H x W (strides xps, xrs, xcs),
 * outputs [sr, sr + lr) x [sc, sc + lc) of the full convolution with a kr x kc
 * kernel; blocks of str x stc outputs, nbr x nbc blocks a plane. */
typedef struct {
    const void *x;
    ptrdiff_t xps, xrs, xcs, H, W;
    int xcplx;
    void *out;
    ptrdiff_t ops, ors, ocs;
    int pair;
    ptrdiff_t sr, lr, sc, lc, kr, kc, Nr, Nc, str, stc, nbr, nbc, planes;
} fcft_job2;

/* slots a group fills (two per lane: real and imaginary part) and blocks it covers */
static inline ptrdiff_t fcft_group_blocks(const fcft_job *J, int V)
{
    return J->pair ? 2 * (ptrdiff_t)V : (ptrdiff_t)V;
}

#define FCFT_TILE 32

/* shuffle index lists for V lanes: interleave the low / high halves of a and b,
 * and the even / odd elements of a|b (the transposes of fc_fft_body.h) */
#define FCFT_ZLO_2 0, 2
#define FCFT_ZHI_2 1, 3
#define FCFT_ZLO_4 0, 4, 1, 5
#define FCFT_ZHI_4 2, 6, 3, 7
#define FCFT_ZLO_8 0, 8, 1, 9, 2, 10, 3, 11
#define FCFT_ZHI_8 4, 12, 5, 13, 6, 14, 7, 15
#define FCFT_ZLO_16 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define FCFT_ZHI_16 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define FCFT_EV_2 0, 2
#define FCFT_OD_2 1, 3
#define FCFT_EV_4 0, 2, 4, 6
#define FCFT_OD_4 1, 3, 5, 7
#define FCFT_EV_8 0, 2, 4, 6, 8, 10, 12, 14
#define FCFT_OD_8 1, 3, 5, 7, 9, 11, 13, 15
#define FCFT_EV_16 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define FCFT_OD_16 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define FCFT_XCAT2(a, b) a##b
#define FCFT_XCAT(a, b) FCFT_XCAT2(a, b)
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define FCFT_SHUF(MT, a, b, list) __builtin_shufflevector((a), (b), list)
#else
#define FCFT_SHUF(MT, a, b, list) __builtin_shuffle((a), (b), (MT){list})
#endif

#define FT_T float
#define FT_IT int
#define FT_SUF f_gen
#define FT_VB 16
#define FT_NV 4
#define FT_ATTR
#include "fc_fft_body.h"
#define FT_T double
#define FT_IT long long
#define FT_SUF d_gen
#define FT_VB 16
#define FT_NV 2
#define FT_ATTR
#include "fc_fft_body.h"
#if FCFT_HAVE_SIMD
#define FT_T float
#define FT_IT int
#define FT_SUF f_256
#define FT_VB 32
#define FT_NV 8
#define FT_ATTR FCFT_T256
#include "fc_fft_body.h"
#define FT_T double
#define FT_IT long long
#define FT_SUF d_256
#define FT_VB 32
#define FT_NV 4
#define FT_ATTR FCFT_T256
#include "fc_fft_body.h"
#define FT_T float
#define FT_IT int
#define FT_SUF f_512
#define FT_VB 64
#define FT_NV 16
#define FT_ATTR FCFT_T512
#include "fc_fft_body.h"
#define FT_T double
#define FT_IT long long
#define FT_SUF d_512
#define FT_VB 64
#define FT_NV 8
#define FT_ATTR FCFT_T512
#include "fc_fft_body.h"
#endif

/* dispatch on level: the functions Cython calls */
#if FCFT_HAVE_SIMD
#define FCFT_DISPATCH(T, name, args)                                               \
    if (level >= 2) name##_##T##_512 args;                                         \
    else if (level == 1) name##_##T##_256 args;                                    \
    else name##_##T##_gen args;
#else
#define FCFT_DISPATCH(T, name, args) name##_##T##_gen args;
#endif

static void fcft_transform_f(int level, float *buf, ptrdiff_t N, const float *tw, int inverse)
{
    FCFT_DISPATCH(f, fcft_transform, (buf, N, tw, inverse))
}
static void fcft_transform_d(int level, double *buf, ptrdiff_t N, const double *tw, int inverse)
{
    FCFT_DISPATCH(d, fcft_transform, (buf, N, tw, inverse))
}
static void fcft_spectrum_f(int level, const float *w, ptrdiff_t k, ptrdiff_t ws, int wcplx,
                            ptrdiff_t N, const float *tw, float *buf, float *H)
{
    FCFT_DISPATCH(f, fcft_spectrum, (w, k, ws, wcplx, N, tw, buf, H))
}
static void fcft_spectrum_d(int level, const double *w, ptrdiff_t k, ptrdiff_t ws, int wcplx,
                            ptrdiff_t N, const double *tw, double *buf, double *H)
{
    FCFT_DISPATCH(d, fcft_spectrum, (w, k, ws, wcplx, N, tw, buf, H))
}
static void fcft_group_f(int level, const fcft_job *J, ptrdiff_t g0, float *buf,
                         const float *tw, const float *H)
{
    FCFT_DISPATCH(f, fcft_group, (J, g0, buf, tw, H))
}
static void fcft_group_d(int level, const fcft_job *J, ptrdiff_t g0, double *buf,
                         const double *tw, const double *H)
{
    FCFT_DISPATCH(d, fcft_group, (J, g0, buf, tw, H))
}

static void fcft_spectrum2_f(int level, const float *w, ptrdiff_t kr, ptrdiff_t kc,
                             ptrdiff_t wrs, ptrdiff_t wcs, int wcplx, ptrdiff_t Nr, ptrdiff_t Nc,
                             const float *twr, const float *twc, float *buf, float *H)
{
    FCFT_DISPATCH(f, fcft_spectrum2, (w, kr, kc, wrs, wcs, wcplx, Nr, Nc, twr, twc, buf, H))
}
static void fcft_spectrum2_d(int level, const double *w, ptrdiff_t kr, ptrdiff_t kc,
                             ptrdiff_t wrs, ptrdiff_t wcs, int wcplx, ptrdiff_t Nr, ptrdiff_t Nc,
                             const double *twr, const double *twc, double *buf, double *H)
{
    FCFT_DISPATCH(d, fcft_spectrum2, (w, kr, kc, wrs, wcs, wcplx, Nr, Nc, twr, twc, buf, H))
}
static void fcft_group2_f(int level, const fcft_job2 *J, ptrdiff_t g0, float *buf,
                          const float *twr, const float *twc, const float *H)
{
    FCFT_DISPATCH(f, fcft_group2, (J, g0, buf, twr, twc, H))
}
static void fcft_group2_d(int level, const fcft_job2 *J, ptrdiff_t g0, double *buf,
                          const double *twr, const double *twc, const double *H)
{
    FCFT_DISPATCH(d, fcft_group2, (J, g0, buf, twr, twc, H))
}

#endif
