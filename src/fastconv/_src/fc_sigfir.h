/* Direct FIR kernels of fastconv.signal (included by fastconv/_sig_kernels.pyx).
 *
 * One output row of a 1-D or 2-D correlation over kh input rows:
 *     out[j] = sum_{r < kh} sum_{t < kw} rows[r][j + t] * v[r * kw + t],   j < n
 * where rows[r] already points at the first sample output 0 reads.  The outputs
 * are computed in register blocks of 8 vectors (the accumulators stay in
 * registers across all kh x kw taps, so each tap costs one load and one FMA per
 * vector), then single vectors, the last one ending at the row's end (it computes
 * a few outputs twice, with the same bits), single elements only in rows shorter
 * than a vector.
 *
 * Every output is summed in the same order (r, then t, from 0) whichever block
 * computes it, and a fused multiply-add wherever the target has one (GCC
 * contracts a*b + c), so the bits do not depend on the block an output falls
 * in, on the chunking, or on the thread count; they may differ between
 * instruction sets (the generic copy has no FMA).
 *
 * The AVX-512 and AVX2 copies are the same C compiled with
 * __attribute__((target)); ``level`` (2, 1, 0) picks one.  Compilers without GCC's
 * vector extensions (MSVC) get plain loops and no banded form; other targets
 * (aarch64) the 16-byte vectors of the generic copy.
 */
#ifndef FC_SIGFIR_H
#define FC_SIGFIR_H

#include <stddef.h>

#ifndef FCSF_VEC  /* -DFCSF_VEC=0 builds the plain loops (to test them) */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
#define FCSF_VEC 1
#else
#define FCSF_VEC 0
#endif
#endif

#if FCSF_VEC && defined(__x86_64__)
#define FCSF_HAVE_SIMD 1
#define FCSF_T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define FCSF_T256 __attribute__((target("avx2,fma")))
#else
#define FCSF_HAVE_SIMD 0
#endif

/* output rows of one pass of the blocked form */
#define FCSF_R 4

static inline int fcsf_simd_levels(void) { return FCSF_HAVE_SIMD ? 2 : 0; }

/* whether planes run in the blocked form at this level: everywhere but in x86-64's
 * generic copy for float32 (SSE2, no FMA: 1.1-1.4x the row-by-row time on 5x5 and
 * 9x9, where float64 ran 0.6-0.8x) */
static inline int fcsf_blk_pays(int level, int itemsize)
{
    return !(FCSF_HAVE_SIMD && level == 0 && itemsize == 4);
}

/* elements of one vector of the row kernels at this level (the band table's width) */
static inline int fcsf_lanes(int level, int itemsize)
{
    int bytes = (FCSF_HAVE_SIMD && level >= 2) ? 64 : (FCSF_HAVE_SIMD && level == 1) ? 32 : 16;
    return FCSF_VEC ? bytes / itemsize : 1;
}

/* the scalar tails round as the vector lanes do: fused in the FMA targets
 * (written out, as GCC does not always contract a scalar a += x * w), a
 * multiply then an add in the generic one (x86-64 has no FMA) */
#define FCSF_FMA_f(a, b, c) __builtin_fmaf((a), (b), (c))
#define FCSF_FMA_d(a, b, c) __builtin_fma((a), (b), (c))
#define FCSF_MULADD(a, b, c) ((c) + (a) * (b))

/* outputs j0 <= j < n of one row, plain loops (the tails, and builds without vectors) */
#define FCSF_SCALAR_LOOP(T, FMA)                                                   \
    for (; j < n; j++) {                                                           \
        T a = 0;                                                                   \
        for (r = 0; r < kh; r++) {                                                 \
            const T *p = rows[r] + j;                                              \
            const T *w = v + (ptrdiff_t)r * kw;                                    \
            for (t = 0; t < kw; t++) a = FMA(p[t], w[t], a);                       \
        }                                                                          \
        out[j] = a;                                                                \
    }

#if FCSF_VEC
#define FCSF_VTYPES(B)                                                             \
typedef float fcsf_vf##B __attribute__((vector_size(B), aligned(4), may_alias));   \
typedef double fcsf_vd##B __attribute__((vector_size(B), aligned(8), may_alias));
FCSF_VTYPES(16)
FCSF_VTYPES(32)
FCSF_VTYPES(64)

#define FCSF_LD(VT, p) (*(const VT *)(p))
#define FCSF_ST(VT, p, v) (*(VT *)(p) = (v))

/* 8 accumulators of one block; q: sample pointer of this tap, wt: its weight */
#define FCSF_ACC8(VT, q, wt)                                                       \
    a0 += FCSF_LD(VT, (q)) * (wt);          a1 += FCSF_LD(VT, (q) + VL) * (wt);    \
    a2 += FCSF_LD(VT, (q) + 2 * VL) * (wt); a3 += FCSF_LD(VT, (q) + 3 * VL) * (wt);\
    a4 += FCSF_LD(VT, (q) + 4 * VL) * (wt); a5 += FCSF_LD(VT, (q) + 5 * VL) * (wt);\
    a6 += FCSF_LD(VT, (q) + 6 * VL) * (wt); a7 += FCSF_LD(VT, (q) + 7 * VL) * (wt);

/* ---- plain form: outputs j0 <= j < n ------------------------------------ */
#define FCSF_BODY(T, VT, FMA)                                                      \
{                                                                                  \
    const ptrdiff_t VL = (ptrdiff_t)(sizeof(VT) / sizeof(T));                      \
    ptrdiff_t j = j0;                                                              \
    int r, t;                                                                      \
    for (; j + 8 * VL <= n; j += 8 * VL) {                                         \
        VT a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                 \
        VT a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};                                 \
        for (r = 0; r < kh; r++) {                                                 \
            const T *p = rows[r] + j;                                              \
            const T *w = v + (ptrdiff_t)r * kw;                                    \
            for (t = 0; t < kw; t++) {                                             \
                const T wt = w[t];                                                 \
                FCSF_ACC8(VT, p + t, wt)                                           \
            }                                                                      \
        }                                                                          \
        FCSF_ST(VT, out + j, a0);          FCSF_ST(VT, out + j + VL, a1);          \
        FCSF_ST(VT, out + j + 2 * VL, a2); FCSF_ST(VT, out + j + 3 * VL, a3);      \
        FCSF_ST(VT, out + j + 4 * VL, a4); FCSF_ST(VT, out + j + 5 * VL, a5);      \
        FCSF_ST(VT, out + j + 6 * VL, a6); FCSF_ST(VT, out + j + 7 * VL, a7);      \
    }                                                                              \
    /* the last outputs: one vector ending at n (it recomputes a few outputs with \
     * the same bits) where the row is a vector long, else single elements */    \
    for (; j < n && (j + VL <= n || n >= VL); j += VL) {                           \
        VT a0 = {0};                                                               \
        if (j + VL > n) j = n - VL;                                                \
        for (r = 0; r < kh; r++) {                                                 \
            const T *p = rows[r] + j;                                              \
            const T *w = v + (ptrdiff_t)r * kw;                                    \
            for (t = 0; t < kw; t++) a0 += FCSF_LD(VT, p + t) * w[t];              \
        }                                                                          \
        FCSF_ST(VT, out + j, a0);                                                  \
    }                                                                              \
    FCSF_SCALAR_LOOP(T, FMA)                                                       \
}

/* ---- banded form: VL outputs a vector, one broadcast sample a product ----
 * With j = p * VL + q (q the lane), out[j] = sum_u rows[r][p * VL + u] * S[r][u][q]
 * over u < kw + VL - 1, where S[r][u][q] = v[r][u - q] inside the band and 0
 * outside (the table is built by the caller).  Each output then sums the same
 * products in the same order as the plain form, plus exact zeros x * 0 (which
 * leave an FMA's sum unchanged for finite x), so the two forms give the same
 * values (up to the sign of a zero result).  The samples are broadcast (loads
 * that never straddle a cache line) and the table rows are shared by the R
 * accumulators, where the plain form loads one unaligned vector per product.
 * A NaN/inf sample times a zero would spread to its lane neighbours, so the
 * caller uses this form only on finite data (fcsf_finite). */
#define FCSF_BAND_BODY(T, VT)                                                      \
{                                                                                  \
    const ptrdiff_t VL = (ptrdiff_t)(sizeof(VT) / sizeof(T));                      \
    const ptrdiff_t U = kw + VL - 1;                                               \
    ptrdiff_t p = 0, np_ = n / VL, u;                                              \
    int r;                                                                         \
    for (; p + 8 <= np_; p += 8) {                                                 \
        VT a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                 \
        VT a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};                                 \
        for (r = 0; r < kh; r++) {                                                 \
            const T *x = rows[r] + p * VL;                                         \
            const T *S = tab + (ptrdiff_t)r * U * VL;                              \
            for (u = 0; u < U; u++) {                                              \
                const VT s = FCSF_LD(VT, S + u * VL);                              \
                a0 += x[u] * s;          a1 += x[u + VL] * s;                      \
                a2 += x[u + 2 * VL] * s; a3 += x[u + 3 * VL] * s;                  \
                a4 += x[u + 4 * VL] * s; a5 += x[u + 5 * VL] * s;                  \
                a6 += x[u + 6 * VL] * s; a7 += x[u + 7 * VL] * s;                  \
            }                                                                      \
        }                                                                          \
        T *o = out + p * VL;                                                       \
        FCSF_ST(VT, o, a0);          FCSF_ST(VT, o + VL, a1);                      \
        FCSF_ST(VT, o + 2 * VL, a2); FCSF_ST(VT, o + 3 * VL, a3);                  \
        FCSF_ST(VT, o + 4 * VL, a4); FCSF_ST(VT, o + 5 * VL, a5);                  \
        FCSF_ST(VT, o + 6 * VL, a6); FCSF_ST(VT, o + 7 * VL, a7);                  \
    }                                                                              \
    for (; p < np_; p++) {                                                         \
        VT a0 = {0};                                                               \
        for (r = 0; r < kh; r++) {                                                 \
            const T *x = rows[r] + p * VL;                                         \
            const T *S = tab + (ptrdiff_t)r * U * VL;                              \
            for (u = 0; u < U; u++) a0 += x[u] * FCSF_LD(VT, S + u * VL);          \
        }                                                                          \
        FCSF_ST(VT, out + p * VL, a0);                                             \
    }                                                                              \
    return np_ * VL;                                                               \
}

/* ---- blocked form: FCSF_R output rows a pass -----------------------------
 * Output row i < FCSF_R reads input rows rows[i .. i + kh - 1]; it is written at
 * out + i * os.  The loop runs over the kh + FCSF_R - 1 input rows r and the taps
 * t of a row: the NV vectors at rows[r] + j + t are loaded once and multiplied
 * into every output row i that reads row r (kernel row a = r - i), so a block of
 * NV vectors x FCSF_R rows loads (kh + FCSF_R - 1) * kw vectors where the plain
 * form loads FCSF_R * kh * kw.  Each output still sums its products in the plain
 * form's order (a, then t, from 0) into one accumulator, so the two forms give the
 * same bits.  Which rows are active depends on r only: a switch on the range
 * [lo, hi] of active rows picks a copy of the tap loop with no tests inside.
 * Computes every output of rows at least a vector long (the last vector ends at
 * n) and returns n; rows shorter than a vector it leaves alone and returns 0. */
#define FCSF_X1(M) M(0)
#define FCSF_X2(M) M(0) M(1)
#define FCSF_X4(M) M(0) M(1) M(2) M(3)
#define FCSF_BK_DECL(k) fcsf_vt c0_##k = {0}, c1_##k = {0}, c2_##k = {0}, c3_##k = {0};
#define FCSF_BK_LOAD(k) const fcsf_vt x_##k = FCSF_LD(fcsf_vt, p + t + (k) * VL);
#define FCSF_BK_ACC0(k) c0_##k += x_##k * wt;
#define FCSF_BK_ACC1(k) c1_##k += x_##k * wt;
#define FCSF_BK_ACC2(k) c2_##k += x_##k * wt;
#define FCSF_BK_ACC3(k) c3_##k += x_##k * wt;
#define FCSF_BK_STORE(k)                                                           \
    FCSF_ST(fcsf_vt, o + (k) * VL, c0_##k);                                        \
    FCSF_ST(fcsf_vt, o + os + (k) * VL, c1_##k);                                   \
    FCSF_ST(fcsf_vt, o + 2 * os + (k) * VL, c2_##k);                               \
    FCSF_ST(fcsf_vt, o + 3 * os + (k) * VL, c3_##k);
/* the tap loop of input row r for the output rows i with E<i> = 1 (weights of
 * kernel row r - i: w - i * kw) */
#define FCSF_BK_TAPS(XV, E0, E1, E2, E3)                                           \
    for (t = 0; t < kw; t++) {                                                     \
        XV(FCSF_BK_LOAD)                                                           \
        if (E0) { const fcsf_st wt = w[t];          XV(FCSF_BK_ACC0) }             \
        if (E1) { const fcsf_st wt = w[t - kw];     XV(FCSF_BK_ACC1) }             \
        if (E2) { const fcsf_st wt = w[t - 2 * kw]; XV(FCSF_BK_ACC2) }             \
        if (E3) { const fcsf_st wt = w[t - 3 * kw]; XV(FCSF_BK_ACC3) }             \
    }
#define FCSF_BK_PASS(XV, NV)                                                       \
    for (; j + (NV) * VL <= n; j += (NV) * VL) {                                   \
        XV(FCSF_BK_DECL)                                                           \
        for (r = 0; r < kh + FCSF_R - 1; r++) {                                    \
            const fcsf_st *p = rows[r] + j;                                        \
            const fcsf_st *w = v + (ptrdiff_t)r * kw;                              \
            const int lo = r - kh + 1 > 0 ? r - kh + 1 : 0, hi = r < 3 ? r : 3;    \
            switch (lo * 4 + hi) {                                                 \
            case 0:  FCSF_BK_TAPS(XV, 1, 0, 0, 0) break;                           \
            case 1:  FCSF_BK_TAPS(XV, 1, 1, 0, 0) break;                           \
            case 2:  FCSF_BK_TAPS(XV, 1, 1, 1, 0) break;                           \
            case 3:  FCSF_BK_TAPS(XV, 1, 1, 1, 1) break;                           \
            case 5:  FCSF_BK_TAPS(XV, 0, 1, 0, 0) break;                           \
            case 6:  FCSF_BK_TAPS(XV, 0, 1, 1, 0) break;                           \
            case 7:  FCSF_BK_TAPS(XV, 0, 1, 1, 1) break;                           \
            case 10: FCSF_BK_TAPS(XV, 0, 0, 1, 0) break;                           \
            case 11: FCSF_BK_TAPS(XV, 0, 0, 1, 1) break;                           \
            default: FCSF_BK_TAPS(XV, 0, 0, 0, 1) break;                           \
            }                                                                      \
        }                                                                          \
        {                                                                          \
            fcsf_st *o = out + j;                                                  \
            XV(FCSF_BK_STORE)                                                      \
        }                                                                          \
    }
#define FCSF_BLK_BODY(T, VT, XV, NV)                                               \
{                                                                                  \
    typedef T fcsf_st;                                                             \
    typedef VT fcsf_vt;                                                            \
    const ptrdiff_t VL = (ptrdiff_t)(sizeof(VT) / sizeof(T));                      \
    ptrdiff_t j = 0;                                                               \
    int r, t;                                                                      \
    FCSF_BK_PASS(XV, NV)                                                           \
    FCSF_BK_PASS(FCSF_X1, 1)                                                       \
    if (j < n && n >= VL) {                                                        \
        /* one vector ending at n (recomputing a few outputs, same bits) rather   \
         * than up to VL - 1 single outputs a row, each a chain of kh * kw FMAs */ \
        j = n - VL;                                                                \
        FCSF_BK_PASS(FCSF_X1, 1)                                                   \
    }                                                                              \
    return j;                                                                      \
}

/* 1 if every one of the n samples at x is finite (x * 0 is 0 for them, NaN else) */
#define FCSF_FINITE_BODY(T, VT)                                                    \
{                                                                                  \
    const ptrdiff_t VL = (ptrdiff_t)(sizeof(VT) / sizeof(T));                      \
    VT acc = {0};                                                                  \
    T sacc = 0;                                                                    \
    ptrdiff_t j = 0;                                                               \
    for (; j + VL <= n; j += VL) acc += FCSF_LD(VT, x + j) * (T)0;                 \
    for (; j < n; j++) sacc += x[j] * (T)0;                                        \
    for (j = 0; j < VL; j++) sacc += acc[j];                                       \
    return sacc == 0;                                                              \
}

#define FCSF_DEFINE1(T, SUF, W, TGT, FMA, XV, NV)                                  \
static TGT inline __attribute__((always_inline)) ptrdiff_t                        \
fcsf_blki##W##_##SUF(const T **rows, int kh, const T *v, int kw, T *out,           \
                     ptrdiff_t os, ptrdiff_t n)                                    \
    FCSF_BLK_BODY(T, fcsf_v##SUF##W, XV, NV)                                       \
/* the tap loop unrolled for the common kernel widths */                           \
static TGT ptrdiff_t fcsf_blk##W##_##SUF(const T **rows, int kh, const T *v, int kw, \
                                         T *out, ptrdiff_t os, ptrdiff_t n)        \
{                                                                                  \
    switch (kw) {                                                                  \
    case 3: return fcsf_blki##W##_##SUF(rows, kh, v, 3, out, os, n);               \
    case 5: return fcsf_blki##W##_##SUF(rows, kh, v, 5, out, os, n);               \
    case 7: return fcsf_blki##W##_##SUF(rows, kh, v, 7, out, os, n);               \
    default: return fcsf_blki##W##_##SUF(rows, kh, v, kw, out, os, n);             \
    }                                                                              \
}                                                                                  \
static TGT void fcsf_row##W##_##SUF(const T **rows, int kh, const T *v, int kw,    \
                                    T *out, ptrdiff_t j0, ptrdiff_t n)              \
    FCSF_BODY(T, fcsf_v##SUF##W, FMA)                                              \
static TGT ptrdiff_t fcsf_band##W##_##SUF(const T **rows, int kh, const T *tab,    \
                                          int kw, T *out, ptrdiff_t n)             \
    FCSF_BAND_BODY(T, fcsf_v##SUF##W)                                              \
static TGT int fcsf_finite##W##_##SUF(const T *x, ptrdiff_t n)                     \
    FCSF_FINITE_BODY(T, fcsf_v##SUF##W)

#define FCSF_DEFINE_GEN(T, SUF) FCSF_DEFINE1(T, SUF, 16, , FCSF_MULADD, FCSF_X2, 2)

#else  /* no vector extensions: plain loops, no banded form */

#define FCSF_DEFINE_GEN(T, SUF)                                                    \
static void fcsf_row16_##SUF(const T **rows, int kh, const T *v, int kw,           \
                             T *out, ptrdiff_t j0, ptrdiff_t n)                    \
{                                                                                  \
    ptrdiff_t j = j0;                                                              \
    int r, t;                                                                      \
    FCSF_SCALAR_LOOP(T, FCSF_MULADD)                                               \
}                                                                                  \
static ptrdiff_t fcsf_blk16_##SUF(const T **rows, int kh, const T *v, int kw,      \
                                  T *out, ptrdiff_t os, ptrdiff_t n)               \
{                                                                                  \
    (void)rows; (void)kh; (void)v; (void)kw; (void)out; (void)os; (void)n;         \
    return 0;                                                                      \
}                                                                                  \
static ptrdiff_t fcsf_band16_##SUF(const T **rows, int kh, const T *tab, int kw,   \
                                   T *out, ptrdiff_t n)                            \
{                                                                                  \
    (void)rows; (void)kh; (void)tab; (void)kw; (void)out; (void)n;                 \
    return 0;                                                                      \
}                                                                                  \
static int fcsf_finite16_##SUF(const T *x, ptrdiff_t n)                            \
{                                                                                  \
    T s = 0;                                                                       \
    ptrdiff_t j;                                                                   \
    for (j = 0; j < n; j++) s += x[j] * (T)0;                                      \
    return s == 0;                                                                 \
}

#endif  /* FCSF_VEC */

#if FCSF_HAVE_SIMD
#define FCSF_DEFINE_SIMD(T, SUF)                                                   \
FCSF_DEFINE1(T, SUF, 64, FCSF_T512, FCSF_FMA_##SUF, FCSF_X4, 4)                    \
FCSF_DEFINE1(T, SUF, 32, FCSF_T256, FCSF_FMA_##SUF, FCSF_X2, 2)
#define FCSF_PICK(level, name, SUF, args)                                          \
    ((level) >= 2 ? name##64_##SUF args : (level) == 1 ? name##32_##SUF args       \
                                                       : name##16_##SUF args)
#else
#define FCSF_DEFINE_SIMD(T, SUF)
#define FCSF_PICK(level, name, SUF, args) ((void)(level), name##16_##SUF args)
#endif

#define FCSF_DEFINE(T, SUF)                                                        \
FCSF_DEFINE_SIMD(T, SUF)                                                           \
FCSF_DEFINE_GEN(T, SUF)                                                            \
static inline void fcsf_row_##SUF(int level, const T **rows, int kh, const T *v,   \
                                  int kw, T *out, ptrdiff_t n)                     \
{                                                                                  \
    FCSF_PICK(level, fcsf_row, SUF, (rows, kh, v, kw, out, 0, n));                 \
}                                                                                  \
/* the banded form over the whole vectors of the row, the plain form for the      \
 * rest; tab: the band table for this level's vector length (fcsf_lanes) */      \
static inline void fcsf_rowb_##SUF(int level, const T **rows, int kh, const T *v,  \
                                   const T *tab, int kw, T *out, ptrdiff_t n)      \
{                                                                                  \
    ptrdiff_t d = FCSF_PICK(level, fcsf_band, SUF, (rows, kh, tab, kw, out, n));   \
    if (d < n) FCSF_PICK(level, fcsf_row, SUF, (rows, kh, v, kw, out, d, n));      \
}                                                                                  \
/* FCSF_R output rows (row i at out + i * os, reading rows[i .. i + kh - 1]) in     \
 * the blocked form, the plain form for the outputs after its whole vectors */   \
static inline void fcsf_rows_##SUF(int level, const T **rows, int kh, const T *v,  \
                                   int kw, T *out, ptrdiff_t os, ptrdiff_t n)      \
{                                                                                  \
    ptrdiff_t d = FCSF_PICK(level, fcsf_blk, SUF, (rows, kh, v, kw, out, os, n));  \
    int i;                                                                         \
    if (d < n)                                                                     \
        for (i = 0; i < FCSF_R; i++)                                               \
            FCSF_PICK(level, fcsf_row, SUF, (rows + i, kh, v, kw, out + i * os, d, n)); \
}                                                                                  \
static inline int fcsf_finite_##SUF(int level, const T *x, ptrdiff_t n)            \
{                                                                                  \
    return FCSF_PICK(level, fcsf_finite, SUF, (x, n));                             \
}

FCSF_DEFINE(float, f)
FCSF_DEFINE(double, d)

#endif
