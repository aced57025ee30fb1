/* Row kernels of fastconv.ndimage (included by fastconv/_filter_kernels.pyx).
 *
 * Every filter of the module is computed as "output row = a combination of
 * input rows": a row is a run of contiguous elements, the rows of one output
 * are handed over as an array of pointers (boundary rows already point at the
 * padded copy or at a row of cval), and the kernels loop over the columns, so
 * the compiler vectorises them across the contiguous axis.
 *
 * The order of the arithmetic of each output element is fixed and independent
 * of the column blocking, the instruction set and the thread count, and it is
 * SciPy's (scipy/ndimage/src/ni_filters.c):
 *   correlate1d, general weights:   acc = x[K-1]*w[K-1]; acc += x[k]*w[k], k = 0..K-2
 *   correlate1d, symmetric (odd K): acc = x[c]*w[c]; acc += (x[k] + x[K-1-k])*w[k], k < c
 *   correlate1d, antisymmetric:     acc = x[c]*w[c]; acc += (x[k] - x[K-1-k])*w[k], k < c
 *   correlate (N-d):                acc = 0; acc += w[k]*x[k] over the nonzero taps in order
 *   uniform_filter1d:               a running sum in double, tmp += x[i+size-1] - x[i-1],
 *                                   out = tmp / size
 *   minimum/maximum:                the first tap, then v = x[k] < v ? x[k] : v (max: >)
 * With double data these are SciPy's operations one for one, so float64 results
 * carry SciPy's bits (the double copies are compiled for targets without FMA).
 * The float correlations of the AVX2 and AVX-512 levels fuse each multiply-add
 * explicitly (fc_ndfilter_f32.h); the other float copies may let the compiler
 * contract them.
 *
 * The AVX-512 and AVX2 copies are the same C compiled for their instruction
 * set with __attribute__((target)); ``level`` (2, 1, 0) picks one and comes
 * from the Python layer (CPU check and FASTCONV_ISA).
 */
#ifndef FC_NDFILTER_H
#define FC_NDFILTER_H

#include <stddef.h>

#if defined(__GNUC__) && defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
#define FCND_HAVE_SIMD 1
/* float: FMA allowed (gcc contracts a multiply and an add).  double: no FMA in
 * the target, so nothing can be contracted and the roundings stay SciPy's
 * (AVX-512F brings FMA with it and optimize("fp-contract=off") is not honoured
 * there, so the double "AVX-512" copy is the AVX2 one). */
#define FCND_T512_f __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define FCND_T256_f __attribute__((target("avx2,fma")))
#define FCND_T512_d __attribute__((target("avx2")))
#define FCND_T256_d __attribute__((target("avx2")))
#define FCND_TGEN_d
#else
#define FCND_HAVE_SIMD 0
#define FCND_T512_f
#define FCND_T256_f
#define FCND_T512_d
#define FCND_T256_d
#define FCND_TGEN_d
#endif
#define FCND_TGEN_f

/* columns of one register block (the accumulators stay in registers) */
#define FCND_B 32

/* p rounded up to 64 bytes (the caller over-allocates by 64 bytes and frees p) */
static inline void *fcnd_align64(void *p)
{
    return p == NULL ? NULL : (void *)(((size_t)p + 63) & ~(size_t)63);
}

static inline int fcnd_simd_levels(void) { return FCND_HAVE_SIMD ? 2 : 0; }

/* The column blocks are written with GCC's vector extensions: plain loops over
 * the columns of a block were measured 10x slower from 9 taps on (gcc unrolls
 * and jams the tap loop and leaves the column loop scalar).  A vector is the
 * target's register (64, 32 or 16 bytes), a block two vectors. */
#ifndef FCND_VEC  /* -DFCND_VEC=0 builds the plain loops (to test them) */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
#define FCND_VEC 1
#else
#define FCND_VEC 0
#endif
#endif
#if FCND_VEC
#define FCND_VTYPES(B)                                                             \
typedef float fcnd_vf##B __attribute__((vector_size(B), aligned(4), may_alias));   \
typedef double fcnd_vd##B __attribute__((vector_size(B), aligned(8), may_alias));  \
typedef int fcnd_vif##B __attribute__((vector_size(B), aligned(4), may_alias));    \
typedef long long fcnd_vid##B __attribute__((vector_size(B), aligned(8), may_alias));
FCND_VTYPES(8)
FCND_VTYPES(16)
FCND_VTYPES(32)
FCND_VTYPES(64)
#endif

/* ---- correlation: out[j] = sum_k w[k] * rows[k][j], j < n --------------- */
#define FCND_CORR_SCALAR(T)                                                        \
    for (; j < n; j++) {                                                           \
        T a;                                                                       \
        if (sym == 0) {                                                            \
            a = rows[K - 1][j] * w[K - 1];                                         \
            for (k = 0; k < K - 1; k++) a += rows[k][j] * w[k];                    \
        } else if (sym == 2) {                                                     \
            a = 0;                                                                 \
            for (k = 0; k < K; k++) a += w[k] * rows[k][j];                        \
        } else if (sym > 0) {                                                      \
            a = rows[c][j] * w[c];                                                 \
            for (k = 0; k < c; k++) a += (rows[k][j] + rows[K - 1 - k][j]) * w[k]; \
        } else {                                                                   \
            a = rows[c][j] * w[c];                                                 \
            for (k = 0; k < c; k++) a += (rows[k][j] - rows[K - 1 - k][j]) * w[k]; \
        }                                                                          \
        out[j] = a;                                                                \
    }

#define FCND_LD(VT, p) (*(const VT *)(p))
#define FCND_ST(VT, p, v) (*(VT *)(p) = (v))

#define FCND_CORR_BODY(T, VT)                                                      \
{                                                                                  \
    const int VL = (int)(sizeof(VT) / sizeof(T));                                  \
    ptrdiff_t j = 0;                                                               \
    int k, c = K / 2;                                                              \
    for (; j + 2 * VL <= n; j += 2 * VL) {                                         \
        VT a0, a1;                                                                 \
        if (sym == 0) {                                                            \
            const T *q = rows[K - 1] + j;                                          \
            T wk = w[K - 1];                                                       \
            a0 = FCND_LD(VT, q) * wk; a1 = FCND_LD(VT, q + VL) * wk;               \
            for (k = 0; k < K - 1; k++) {                                          \
                q = rows[k] + j; wk = w[k];                                        \
                a0 += FCND_LD(VT, q) * wk; a1 += FCND_LD(VT, q + VL) * wk;         \
            }                                                                      \
        } else if (sym == 2) {                                                     \
            a0 = a1 = (VT){0};                                                     \
            for (k = 0; k < K; k++) {                                              \
                const T *q = rows[k] + j;                                          \
                T wk = w[k];                                                       \
                a0 += wk * FCND_LD(VT, q); a1 += wk * FCND_LD(VT, q + VL);         \
            }                                                                      \
        } else {                                                                   \
            const T *q = rows[c] + j;                                              \
            T wk = w[c];                                                           \
            a0 = FCND_LD(VT, q) * wk; a1 = FCND_LD(VT, q + VL) * wk;               \
            if (sym > 0) {                                                         \
                for (k = 0; k < c; k++) {                                          \
                    const T *qa = rows[k] + j, *qb = rows[K - 1 - k] + j;          \
                    wk = w[k];                                                     \
                    a0 += (FCND_LD(VT, qa) + FCND_LD(VT, qb)) * wk;                \
                    a1 += (FCND_LD(VT, qa + VL) + FCND_LD(VT, qb + VL)) * wk;      \
                }                                                                  \
            } else {                                                               \
                for (k = 0; k < c; k++) {                                          \
                    const T *qa = rows[k] + j, *qb = rows[K - 1 - k] + j;          \
                    wk = w[k];                                                     \
                    a0 += (FCND_LD(VT, qa) - FCND_LD(VT, qb)) * wk;                \
                    a1 += (FCND_LD(VT, qa + VL) - FCND_LD(VT, qb + VL)) * wk;      \
                }                                                                  \
            }                                                                      \
        }                                                                          \
        FCND_ST(VT, out + j, a0); FCND_ST(VT, out + j + VL, a1);                   \
    }                                                                              \
    FCND_CORR_SCALAR(T)                                                            \
}

/* ---- minimum / maximum over rows ----------------------------------------
 * flags: bit 0 minimum, bit 1 ties go to the later tap.  v = x[k] > v ? x[k] : v
 * (>= with bit 1) as a select on the comparison mask: the scalar rule exactly.
 * SciPy's 1-D filters keep the last of equal values (bit 1; it decides between
 * -0.0 and +0.0), its N-d filters the first. */
#define FCND_MM_LOOP(T, VT, VI, CMP)                                               \
    for (; j + 2 * VL <= n; j += 2 * VL) {                                         \
        VT a0 = FCND_LD(VT, rows[0] + j), a1 = FCND_LD(VT, rows[0] + j + VL);      \
        for (k = 1; k < K; k++) {                                                  \
            VT q0 = FCND_LD(VT, rows[k] + j), q1 = FCND_LD(VT, rows[k] + j + VL);  \
            VI m0 = (VI)(q0 CMP a0), m1 = (VI)(q1 CMP a1);                         \
            a0 = (VT)(((VI)q0 & m0) | ((VI)a0 & ~m0));                             \
            a1 = (VT)(((VI)q1 & m1) | ((VI)a1 & ~m1));                             \
        }                                                                          \
        FCND_ST(VT, out + j, a0); FCND_ST(VT, out + j + VL, a1);                   \
    }                                                                              \
    FCND_MM_SCALAR(T, CMP)

#define FCND_MM_SCALAR(T, CMP)                                                     \
    for (; j < n; j++) {                                                           \
        T a = rows[0][j];                                                          \
        for (k = 1; k < K; k++) {                                                  \
            T v = rows[k][j];                                                      \
            a = v CMP a ? v : a;                                                   \
        }                                                                          \
        out[j] = a;                                                                \
    }

#define FCND_MINMAX_BODY(T, VT, VI)                                                \
{                                                                                  \
    const int VL = (int)(sizeof(VT) / sizeof(T));                                  \
    ptrdiff_t j = 0;                                                               \
    int k;                                                                         \
    switch (flags) {                                                               \
    case 0: FCND_MM_LOOP(T, VT, VI, >) break;                                      \
    case 1: FCND_MM_LOOP(T, VT, VI, <) break;                                      \
    case 2: FCND_MM_LOOP(T, VT, VI, >=) break;                                     \
    default: FCND_MM_LOOP(T, VT, VI, <=) break;                                    \
    }                                                                              \
}

/* ---- van Herk / Gil-Werman minimum / maximum down the rows ----------------
 * rows: the n + K - 1 rows of the extended line; 3 comparisons an output for
 * any K.  Blocks of K extended rows: g = running max from each block's start,
 * h = running max from each block's end backwards; out[i] = h[i] vs g[i+K-1].
 * Ties go to the later element everywhere (SciPy's 1-D rule, flags bit 1 set).
 * gh: scratch of 2 * (n + K - 1) * ncols elements; out row i at out + i*ostride. */
#define FCND_VH_SEL(VT, VI, x, a, CMP) \
    ({ VI m_ = (VI)((x) CMP (a)); (VT)(((VI)(x) & m_) | ((VI)(a) & ~m_)); })
#define FCND_VH_LOOP(T, VT, VI, GE, GT)                                            \
    for (j0 = 0; j0 + VL <= ncols; j0 += VL) {                                     \
        for (b = 0; b < E; b += K) {                                               \
            ptrdiff_t e = b + K < E ? b + K : E;                                   \
            VT acc = FCND_LD(VT, rows[b] + j0);                                    \
            FCND_ST(VT, g + b * VL, acc);                                          \
            for (m = b + 1; m < e; m++) {                                          \
                acc = FCND_VH_SEL(VT, VI, FCND_LD(VT, rows[m] + j0), acc, GE);     \
                FCND_ST(VT, g + m * VL, acc);                                      \
            }                                                                      \
            acc = FCND_LD(VT, rows[e - 1] + j0);                                   \
            FCND_ST(VT, h + (e - 1) * VL, acc);                                    \
            for (m = e - 2; m >= b; m--) {                                         \
                acc = FCND_VH_SEL(VT, VI, FCND_LD(VT, rows[m] + j0), acc, GT);     \
                FCND_ST(VT, h + m * VL, acc);                                      \
            }                                                                      \
        }                                                                          \
        for (i = 0; i < n; i++) {                                                  \
            VT hv = FCND_LD(VT, h + i * VL), gv = FCND_LD(VT, g + (i + K - 1) * VL); \
            FCND_ST(VT, out + i * ostride + j0, FCND_VH_SEL(VT, VI, gv, hv, GE));  \
        }                                                                          \
    }                                                                              \
    FCND_VH_SCALAR(T, GE, GT)

#define FCND_VH_SCALAR(T, GE, GT)                                                  \
    for (; j0 < ncols; j0++) {                                                     \
        T *gs = g, *hs = h;                                                        \
        for (b = 0; b < E; b += K) {                                               \
            ptrdiff_t e = b + K < E ? b + K : E;                                   \
            T acc = rows[b][j0];                                                   \
            gs[b] = acc;                                                           \
            for (m = b + 1; m < e; m++) {                                          \
                T v = rows[m][j0];                                                 \
                acc = v GE acc ? v : acc;                                          \
                gs[m] = acc;                                                       \
            }                                                                      \
            acc = rows[e - 1][j0];                                                 \
            hs[e - 1] = acc;                                                       \
            for (m = e - 2; m >= b; m--) {                                         \
                T v = rows[m][j0];                                                 \
                acc = v GT acc ? v : acc;                                          \
                hs[m] = acc;                                                       \
            }                                                                      \
        }                                                                          \
        for (i = 0; i < n; i++) {                                                  \
            T hv = hs[i], gv = gs[i + K - 1];                                      \
            out[i * ostride + j0] = gv GE hv ? gv : hv;                            \
        }                                                                          \
    }

#define FCND_VH_BODY(T, VT, VI)                                                    \
{                                                                                  \
    const int VL = (int)(sizeof(VT) / sizeof(T));                                  \
    ptrdiff_t E = n + K - 1, j0, b, m, i;                                          \
    T *g = gh, *h = gh + E * VL;                                                   \
    if (is_min) { FCND_VH_LOOP(T, VT, VI, <=, <) }                                 \
    else { FCND_VH_LOOP(T, VT, VI, >=, >) }                                        \
}

/* ---- running sum down the rows (uniform_filter1d) ------------------------
 * rows: the n + size - 1 rows of the extended line, out row i at out + i*ostride.
 * VS holds NL elements of T, VD the same NL lanes in double: the sums are
 * SciPy's, in double, lane by lane (tmp = tmp + (x[i+size-1] - x[i-1]); out =
 * tmp / size, rounded to T). */
#define FCND_CVT(V, x) __builtin_convertvector((x), V)
#define FCND_UNIFORM_BODY(T, VS, VD)                                               \
{                                                                                  \
    const int NL = (int)(sizeof(VD) / sizeof(double));                             \
    ptrdiff_t j0 = 0, i;                                                           \
    int k;                                                                         \
    double fs = (double)size;                                                      \
    VD fsv = (VD){0} + fs;                                                         \
    while (j0 + NL <= ncols) {                                                     \
        /* up to 16 vectors of columns walk down the rows together */              \
        VD tmp[16];                                                                \
        int v, nv = (int)((ncols - j0) / NL);                                      \
        if (nv > 16) nv = 16;                                                      \
        for (v = 0; v < nv; v++) tmp[v] = (VD){0};                                 \
        for (k = 0; k < size; k++)                                                 \
            for (v = 0; v < nv; v++)                                               \
                tmp[v] += FCND_CVT(VD, FCND_LD(VS, rows[k] + j0 + v * NL));        \
        for (v = 0; v < nv; v++)                                                   \
            FCND_ST(VS, out + j0 + v * NL, FCND_CVT(VS, tmp[v] / fsv));            \
        for (i = 1; i < n; i++) {                                                  \
            const T *ra = rows[i + size - 1] + j0, *rb = rows[i - 1] + j0;         \
            T *o = out + i * ostride + j0;                                         \
            for (v = 0; v < nv; v++) {                                             \
                tmp[v] += FCND_CVT(VD, FCND_LD(VS, ra + v * NL))                   \
                          - FCND_CVT(VD, FCND_LD(VS, rb + v * NL));                \
                FCND_ST(VS, o + v * NL, FCND_CVT(VS, tmp[v] / fsv));               \
            }                                                                      \
        }                                                                          \
        j0 += (ptrdiff_t)nv * NL;                                                  \
    }                                                                              \
    for (; j0 < ncols; j0++) {                                                     \
        double t = 0.0;                                                            \
        for (k = 0; k < size; k++) t += (double)rows[k][j0];                       \
        out[j0] = (T)(t / fs);                                                     \
        for (i = 1; i < n; i++) {                                                  \
            t += (double)rows[i + size - 1][j0] - (double)rows[i - 1][j0];         \
            out[i * ostride + j0] = (T)(t / fs);                                   \
        }                                                                          \
    }                                                                              \
}

#if !FCND_VEC
/* compilers without GCC's vector extensions: the same operations, one column at a time */
#undef FCND_CORR_BODY
#undef FCND_MINMAX_BODY
#undef FCND_UNIFORM_BODY
#define FCND_CORR_BODY(T, VT) { ptrdiff_t j = 0; int k, c = K / 2; FCND_CORR_SCALAR(T) }
#define FCND_MINMAX_BODY(T, VT, VI)                                                \
{                                                                                  \
    ptrdiff_t j = 0;                                                               \
    int k;                                                                         \
    switch (flags) {                                                               \
    case 0: FCND_MM_SCALAR(T, >) break;                                            \
    case 1: FCND_MM_SCALAR(T, <) break;                                            \
    case 2: FCND_MM_SCALAR(T, >=) break;                                           \
    default: FCND_MM_SCALAR(T, <=) break;                                          \
    }                                                                              \
}
#undef FCND_VH_BODY
#define FCND_VH_BODY(T, VT, VI)                                                    \
{                                                                                  \
    ptrdiff_t E = n + K - 1, j0 = 0, b, m, i;                                      \
    T *g = gh, *h = gh + E;                                                        \
    if (is_min) { FCND_VH_SCALAR(T, <=, <) }                                       \
    else { FCND_VH_SCALAR(T, >=, >) }                                              \
}
#define FCND_UNIFORM_BODY(T, VS, VD)                                               \
{                                                                                  \
    ptrdiff_t j0, i;                                                               \
    int k;                                                                         \
    double fs = (double)size;                                                      \
    for (j0 = 0; j0 < ncols; j0++) {                                               \
        double t = 0.0;                                                            \
        for (k = 0; k < size; k++) t += (double)rows[k][j0];                       \
        out[j0] = (T)(t / fs);                                                     \
        for (i = 1; i < n; i++) {                                                  \
            t += (double)rows[i + size - 1][j0] - (double)rows[i - 1][j0];         \
            out[i * ostride + j0] = (T)(t / fs);                                   \
        }                                                                          \
    }                                                                              \
}
#endif

#define FCND_DEFINE(T, SUF, V, VI, G, A2, A5, UG, U2, U5)                                      \
FCND_TGEN_##SUF static void fcnd_corr_##SUF##_gen(const T *const *rows, const T *w, int K, \
                      int sym, T *out, ptrdiff_t n) FCND_CORR_BODY(T, V##G)        \
FCND_TGEN_##SUF static void fcnd_minmax_##SUF##_gen(const T *const *rows, int K, int flags, \
                      T *out, ptrdiff_t n) FCND_MINMAX_BODY(T, V##G, VI##G)        \
FCND_T256_##SUF static void fcnd_minmax_##SUF##_avx2(const T *const *rows, int K, int flags, \
                      T *out, ptrdiff_t n) FCND_MINMAX_BODY(T, V##A2, VI##A2)      \
FCND_T512_##SUF static void fcnd_minmax_##SUF##_avx512(const T *const *rows, int K, int flags, \
                      T *out, ptrdiff_t n) FCND_MINMAX_BODY(T, V##A5, VI##A5)      \
FCND_TGEN_##SUF static void fcnd_uniform_##SUF##_gen(const T *const *rows, ptrdiff_t n, int size, \
                    T *out, ptrdiff_t ostride, ptrdiff_t ncols) FCND_UNIFORM_BODY(T, V##UG, fcnd_vd16) \
FCND_T256_##SUF static void fcnd_uniform_##SUF##_avx2(const T *const *rows, ptrdiff_t n, int size, \
                    T *out, ptrdiff_t ostride, ptrdiff_t ncols) FCND_UNIFORM_BODY(T, V##U2, fcnd_vd32) \
FCND_T512_##SUF static void fcnd_uniform_##SUF##_avx512(const T *const *rows, ptrdiff_t n, \
                    int size, T *out, ptrdiff_t ostride, ptrdiff_t ncols) FCND_UNIFORM_BODY(T, V##U5, fcnd_vd##A5) \
FCND_TGEN_##SUF static void fcnd_vh_##SUF##_gen(const T *const *rows, ptrdiff_t n, int K, \
                    int is_min, T *out, ptrdiff_t ostride, ptrdiff_t ncols, T *gh)    \
                    FCND_VH_BODY(T, V##G, VI##G)                                    \
FCND_T256_##SUF static void fcnd_vh_##SUF##_avx2(const T *const *rows, ptrdiff_t n, int K, \
                    int is_min, T *out, ptrdiff_t ostride, ptrdiff_t ncols, T *gh)    \
                    FCND_VH_BODY(T, V##A2, VI##A2)                                  \
FCND_T512_##SUF static void fcnd_vh_##SUF##_avx512(const T *const *rows, ptrdiff_t n, int K, \
                    int is_min, T *out, ptrdiff_t ostride, ptrdiff_t ncols, T *gh)    \
                    FCND_VH_BODY(T, V##A5, VI##A5)                                  \
static inline void fcnd_vh_##SUF(int level, const T *const *rows, ptrdiff_t n, int K,  \
                    int is_min, T *out, ptrdiff_t ostride, ptrdiff_t ncols, T *gh)    \
{                                                                                  \
    if (FCND_HAVE_SIMD && level >= 2)                                              \
        fcnd_vh_##SUF##_avx512(rows, n, K, is_min, out, ostride, ncols, gh);       \
    else if (FCND_HAVE_SIMD && level == 1)                                         \
        fcnd_vh_##SUF##_avx2(rows, n, K, is_min, out, ostride, ncols, gh);         \
    else fcnd_vh_##SUF##_gen(rows, n, K, is_min, out, ostride, ncols, gh);         \
}                                                                                  \
static inline void fcnd_minmax_##SUF(int level, const T *const *rows, int K, int flags, \
                                     T *out, ptrdiff_t n)                          \
{                                                                                  \
    if (FCND_HAVE_SIMD && level >= 2) fcnd_minmax_##SUF##_avx512(rows, K, flags, out, n); \
    else if (FCND_HAVE_SIMD && level == 1) fcnd_minmax_##SUF##_avx2(rows, K, flags, out, n); \
    else fcnd_minmax_##SUF##_gen(rows, K, flags, out, n);                         \
}                                                                                  \
static inline void fcnd_uniform_##SUF(int level, const T *const *rows, ptrdiff_t n, int size, \
                                      T *out, ptrdiff_t ostride, ptrdiff_t ncols)  \
{                                                                                  \
    if (FCND_HAVE_SIMD && level >= 2)                                              \
        fcnd_uniform_##SUF##_avx512(rows, n, size, out, ostride, ncols);           \
    else if (FCND_HAVE_SIMD && level == 1)                                         \
        fcnd_uniform_##SUF##_avx2(rows, n, size, out, ostride, ncols);             \
    else fcnd_uniform_##SUF##_gen(rows, n, size, out, ostride, ncols);             \
}

/* vector bytes of the generic, AVX2 and AVX-512 copies (the double "AVX-512" copy is AVX2) */
FCND_DEFINE(float, f, fcnd_vf, fcnd_vif, 16, 32, 64, 8, 16, 32)
FCND_DEFINE(double, d, fcnd_vd, fcnd_vid, 16, 32, 32, 16, 32, 32)

/* ---- correlation dispatch -------------------------------------------------
 * double: the vector-extension loop compiled without FMA (SciPy's bits; the
 * AVX-512 level uses the AVX2 copy, as above).  float: fc_ndfilter_f32.h's
 * explicit FMAs, ``R`` output rows at a time (fcnd_corr_rows_*: out[q] from
 * rows[q .. q + K - 1]). */
#include "fc_ndfilter_f32.h"

FCND_T256_d static void fcnd_corr_d_avx2(const double *const *rows, const double *w, int K,
                                         int sym, double *out, ptrdiff_t n)
    FCND_CORR_BODY(double, fcnd_vd32)

static inline void fcnd_corr_d(int level, const double *const *rows, const double *w, int K,
                               int sym, double *out, ptrdiff_t n)
{
    if (FCND_HAVE_SIMD && level >= 1) fcnd_corr_d_avx2(rows, w, K, sym, out, n);
    else fcnd_corr_d_gen(rows, w, K, sym, out, n);
}

static inline void fcnd_corr_rows_f(int level, const float *const *rows, const float *w,
                                    int K, int sym, float *const *outs, int R, ptrdiff_t n)
{
#if FCND_HAVE_SIMD
    if (level >= 2) { fcnd_f32_rows_avx512(rows, w, K, sym, outs, R, n); return; }
    if (level == 1) { fcnd_f32_rows_avx2(rows, w, K, sym, outs, R, n); return; }
#endif
    for (int q = 0; q < R; q++) fcnd_corr_f_gen(rows + q, w, K, sym, outs[q], n);
}

static inline void fcnd_corr_rows_d(int level, const double *const *rows, const double *w,
                                    int K, int sym, double *const *outs, int R, ptrdiff_t n)
{
    for (int q = 0; q < R; q++) fcnd_corr_d(level, rows + q, w, K, sym, outs[q], n);
}

/* The pass along 16 rows of a correlation (fcnd_f32_rows16_t), or 0 where this
 * level has none (the caller then runs them row by row: the same bits). */
static inline int fcnd_corr_rows16_f(int level, const float *t, ptrdiff_t pt, const float *w,
                                     int K, int sym, float *out, ptrdiff_t os, ptrdiff_t n,
                                     float *scratch)
{
#if FCND_HAVE_SIMD
    if (level >= 2) {
        fcnd_f32_rows16_t(t, pt, w, K, sym, out, os, n, scratch);
        return 1;
    }
#endif
    (void)level; (void)t; (void)pt; (void)w; (void)K; (void)sym; (void)out; (void)os;
    (void)n; (void)scratch;
    return 0;
}

static inline size_t fcnd_corr_rows16_scratch(ptrdiff_t n, int K)
{
#if FCND_HAVE_SIMD
    return fcnd_f32_rows16_scratch(n, K);
#else
    (void)n; (void)K;
    return 0;
#endif
}

static inline void fcnd_corr_f(int level, const float *const *rows, const float *w, int K,
                               int sym, float *out, ptrdiff_t n)
{
    fcnd_corr_rows_f(level, rows, w, K, sym, &out, 1, n);
}

#endif
