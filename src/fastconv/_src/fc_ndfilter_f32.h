/* float32 correlation rows of fastconv.ndimage on AVX-512 and AVX2 (included by
 * fc_ndfilter.h).
 *
 * out[q][j] = sum_k w[k] * rows[q + k][j] for the R output rows q < R (R <= 4) and
 * the columns j < n: R consecutive output rows of a pass across rows share their
 * input rows, so that a block of them is one register tile (each input vector is
 * in L1 for all of them).  The FMAs are written out, not left to the compiler's
 * contraction, so that each element gets the same operations whether it falls in
 * a row tile, a single row, a wide or narrow column block or the masked tail:
 *   sym 0:   a = x[K-1]*w[K-1]; a = fma(x[k], w[k], a), k = 0..K-2
 *   sym 2:   a = 0;             a = fma(x[k], w[k], a), k = 0..K-1
 *   sym +-1: a = x[c]*w[c];     a = fma(x[k] +- x[K-1-k], w[k], a), k = 0..c-1
 * (SciPy's order of operations, fc_ndfilter.h, with each multiply-add fused).
 * These bits do not depend on the blocking, the thread count or the caller
 * (pass1d, sep2d, the N-d filters' edge columns); the AVX-512 and AVX2 copies
 * give the same bits too, the generic copy (no FMA) rounds the products.
 * (Speed: docs/performance.md, "ndimage float32 row tiles".) */
#ifndef FC_NDFILTER_F32_H
#define FC_NDFILTER_F32_H

#if FCND_HAVE_SIMD
#include <immintrin.h>

/* one ISA's copy: V the vector type, L its lanes, M the tail mask type */
#define FCND_F32_ROWS(SUF, TGT, V, L, M, LD, MLD, ST, MST, ADD, SUB, MUL, FMA, SET1, ZERO, \
                      MASK)                                                               \
TGT static inline V fcnd_f32_one_##SUF(const float *const *rows, const float *w, int K,   \
                                       int sym, ptrdiff_t j, M m)                         \
{                                                                                         \
    int k, c = K / 2;                                                                     \
    V a;                                                                                  \
    if (sym == 0) {                                                                       \
        a = MUL(MLD(m, rows[K - 1] + j), SET1(w[K - 1]));                                 \
        for (k = 0; k < K - 1; k++) a = FMA(MLD(m, rows[k] + j), SET1(w[k]), a);          \
    } else if (sym == 2) {                                                                \
        a = ZERO();                                                                       \
        for (k = 0; k < K; k++) a = FMA(MLD(m, rows[k] + j), SET1(w[k]), a);              \
    } else {                                                                              \
        a = MUL(MLD(m, rows[c] + j), SET1(w[c]));                                         \
        for (k = 0; k < c; k++) {                                                         \
            V p = MLD(m, rows[k] + j), e = MLD(m, rows[K - 1 - k] + j);                   \
            a = FMA(sym > 0 ? ADD(p, e) : SUB(p, e), SET1(w[k]), a);                      \
        }                                                                                 \
    }                                                                                     \
    return a;                                                                             \
}                                                                                         \
/* four vectors of one row: four independent chains hide the FMA latency */              \
TGT static inline void fcnd_f32_four_##SUF(const float *const *rows, const float *w,      \
                                           int K, int sym, ptrdiff_t j, float *out)       \
{                                                                                         \
    int k, c = K / 2;                                                                     \
    V a0, a1, a2, a3;                                                                     \
    if (sym == 0 || sym == 2) {                                                           \
        const float *p = rows[K - 1] + j;                                                 \
        V wk = SET1(w[K - 1]);                                                            \
        if (sym == 0) {                                                                   \
            a0 = MUL(LD(p), wk); a1 = MUL(LD(p + L), wk);                                 \
            a2 = MUL(LD(p + 2 * L), wk); a3 = MUL(LD(p + 3 * L), wk);                     \
        } else {                                                                          \
            a0 = a1 = a2 = a3 = ZERO();                                                   \
        }                                                                                 \
        for (k = 0; k < K - (sym == 0); k++) {                                            \
            p = rows[k] + j; wk = SET1(w[k]);                                             \
            a0 = FMA(LD(p), wk, a0); a1 = FMA(LD(p + L), wk, a1);                         \
            a2 = FMA(LD(p + 2 * L), wk, a2); a3 = FMA(LD(p + 3 * L), wk, a3);             \
        }                                                                                 \
    } else {                                                                              \
        const float *p = rows[c] + j;                                                     \
        V wk = SET1(w[c]);                                                                \
        a0 = MUL(LD(p), wk); a1 = MUL(LD(p + L), wk);                                     \
        a2 = MUL(LD(p + 2 * L), wk); a3 = MUL(LD(p + 3 * L), wk);                         \
        for (k = 0; k < c; k++) {                                                         \
            const float *e = rows[K - 1 - k] + j;                                         \
            p = rows[k] + j; wk = SET1(w[k]);                                             \
            if (sym > 0) {                                                                \
                a0 = FMA(ADD(LD(p), LD(e)), wk, a0);                                      \
                a1 = FMA(ADD(LD(p + L), LD(e + L)), wk, a1);                              \
                a2 = FMA(ADD(LD(p + 2 * L), LD(e + 2 * L)), wk, a2);                      \
                a3 = FMA(ADD(LD(p + 3 * L), LD(e + 3 * L)), wk, a3);                      \
            } else {                                                                      \
                a0 = FMA(SUB(LD(p), LD(e)), wk, a0);                                      \
                a1 = FMA(SUB(LD(p + L), LD(e + L)), wk, a1);                              \
                a2 = FMA(SUB(LD(p + 2 * L), LD(e + 2 * L)), wk, a2);                      \
                a3 = FMA(SUB(LD(p + 3 * L), LD(e + 3 * L)), wk, a3);                      \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    ST(out + j, a0); ST(out + j + L, a1); ST(out + j + 2 * L, a2); ST(out + j + 3 * L, a3); \
}                                                                                         \
/* four rows x two vectors, symmetric weights (the separable Gaussian's case) */          \
TGT static inline void fcnd_f32_tile_##SUF(const float *const *rows, const float *w,      \
                                           int K, ptrdiff_t j, float *const *outs)        \
{                                                                                         \
    int k, c = K / 2;                                                                     \
    V wk = SET1(w[c]);                                                                    \
    V a0 = MUL(LD(rows[c] + j), wk), b0 = MUL(LD(rows[c] + j + L), wk);                   \
    V a1 = MUL(LD(rows[c + 1] + j), wk), b1 = MUL(LD(rows[c + 1] + j + L), wk);           \
    V a2 = MUL(LD(rows[c + 2] + j), wk), b2 = MUL(LD(rows[c + 2] + j + L), wk);           \
    V a3 = MUL(LD(rows[c + 3] + j), wk), b3 = MUL(LD(rows[c + 3] + j + L), wk);           \
    for (k = 0; k < c; k++) {                                                             \
        const float *p0 = rows[k] + j, *p1 = rows[k + 1] + j;                             \
        const float *p2 = rows[k + 2] + j, *p3 = rows[k + 3] + j;                         \
        const float *e0 = rows[K - 1 - k] + j, *e1 = rows[K - k] + j;                     \
        const float *e2 = rows[K + 1 - k] + j, *e3 = rows[K + 2 - k] + j;                 \
        wk = SET1(w[k]);                                                                  \
        a0 = FMA(ADD(LD(p0), LD(e0)), wk, a0); b0 = FMA(ADD(LD(p0 + L), LD(e0 + L)), wk, b0); \
        a1 = FMA(ADD(LD(p1), LD(e1)), wk, a1); b1 = FMA(ADD(LD(p1 + L), LD(e1 + L)), wk, b1); \
        a2 = FMA(ADD(LD(p2), LD(e2)), wk, a2); b2 = FMA(ADD(LD(p2 + L), LD(e2 + L)), wk, b2); \
        a3 = FMA(ADD(LD(p3), LD(e3)), wk, a3); b3 = FMA(ADD(LD(p3 + L), LD(e3 + L)), wk, b3); \
    }                                                                                     \
    ST(outs[0] + j, a0); ST(outs[0] + j + L, b0); ST(outs[1] + j, a1); ST(outs[1] + j + L, b1); \
    ST(outs[2] + j, a2); ST(outs[2] + j + L, b2); ST(outs[3] + j, a3); ST(outs[3] + j + L, b3); \
}                                                                                         \
TGT static void fcnd_f32_rows_##SUF(const float *const *rows, const float *w, int K,      \
                                    int sym, float *const *outs, int R, ptrdiff_t n)      \
{                                                                                         \
    ptrdiff_t j0 = 0, j;                                                                  \
    int q;                                                                                \
    if (R == 4 && sym == 1)                                                               \
        for (; j0 + 2 * L <= n; j0 += 2 * L) fcnd_f32_tile_##SUF(rows, w, K, j0, outs);   \
    for (q = 0; q < R; q++) {                                                             \
        const float *const *rq = rows + q;                                                \
        float *out = outs[q];                                                             \
        for (j = j0; j + 4 * L <= n; j += 4 * L) fcnd_f32_four_##SUF(rq, w, K, sym, j, out); \
        for (; j + L <= n; j += L) ST(out + j, fcnd_f32_one_##SUF(rq, w, K, sym, j, MASK(L))); \
        if (j < n) {                                                                      \
            M m = MASK(n - j);                                                            \
            MST(out + j, m, fcnd_f32_one_##SUF(rq, w, K, sym, j, m));                     \
        }                                                                                 \
    }                                                                                     \
}

#define FCND_M512(r) ((__mmask16)(((r) >= 16) ? 0xFFFFu : ((1u << (r)) - 1u)))
#define FCND_MLD512(m, p) _mm512_maskz_loadu_ps((m), (p))
#define FCND_MST512(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
FCND_F32_ROWS(avx512, FCND_T512_f, __m512, 16, __mmask16, _mm512_loadu_ps, FCND_MLD512,
              _mm512_storeu_ps, FCND_MST512, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps,
              _mm512_fmadd_ps, _mm512_set1_ps, _mm512_setzero_ps, FCND_M512)

/* AVX2 has no mask registers: a lane is loaded (and stored) where its mask
 * integer's sign bit is set; masked-off lanes are not touched */
#define FCND_M256(r) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(r)),                \
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define FCND_MLD256(m, p) _mm256_maskload_ps((p), (m))
#define FCND_MST256(p, m, v) _mm256_maskstore_ps((p), (m), (v))
FCND_F32_ROWS(avx2, FCND_T256_f, __m256, 8, __m256i, _mm256_loadu_ps, FCND_MLD256,
              _mm256_storeu_ps, FCND_MST256, _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps,
              _mm256_fmadd_ps, _mm256_set1_ps, _mm256_setzero_ps, FCND_M256)
#endif  /* FCND_HAVE_SIMD */

#endif
