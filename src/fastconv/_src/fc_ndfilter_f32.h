/* float32 correlation rows of fastconv.ndimage on AVX-512 and AVX2 (included by
 * fc_ndfilter.h).
 *
 * out[q][j] = sum_k w[k] * rows[q + k][j] for the R output rows q < R (R <= 8) and
 * the columns j < n: R consecutive output rows of a pass across rows share their
 * input rows, so that a block of them is one register tile whose input vectors
 * slide through registers (8 rows on AVX-512, 4 on AVX2's 16 registers).  The FMAs are written out, not left to the compiler's
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
#define FCND_F32_ROWS(SUF, TGT, V, L, TR, M, LD, MLD, ST, MST, ADD, SUB, MUL, FMA, SET1,  \
                      ZERO, MASK)                                                         \
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
/* TR rows x one vector: the input rows slide through registers (l: the rows k..,   \
 * h: the rows K-1-k.. of the TR outputs), so a tap costs two loads for TR outputs   \
 * (sym +-1; one for sym 0 and 2) where a row at a time costs two loads each */       \
TGT static inline void fcnd_f32_tile_##SUF(const float *const *rows, const float *w,      \
                                           int K, int sym, ptrdiff_t j, float *const *outs) \
{                                                                                         \
    int k, q, c = K / 2;                                                                  \
    V a[TR], l[TR], h[TR], wk;                                                            \
    if (sym == 0 || sym == 2) {                                                           \
        wk = SET1(w[K - 1]);                                                              \
        for (q = 0; q < TR; q++) {                                                        \
            a[q] = sym == 0 ? MUL(LD(rows[q + K - 1] + j), wk) : ZERO();                  \
            l[q] = LD(rows[q] + j);                                                       \
        }                                                                                 \
        for (k = 0; k < K - (sym == 0); k++) {                                            \
            wk = SET1(w[k]);                                                              \
            for (q = 0; q < TR; q++) a[q] = FMA(l[q], wk, a[q]);                          \
            if (k + 1 < K - (sym == 0)) {                                                 \
                for (q = 0; q < TR - 1; q++) l[q] = l[q + 1];                             \
                l[TR - 1] = LD(rows[k + TR] + j);                                         \
            }                                                                             \
        }                                                                                 \
    } else {                                                                              \
        wk = SET1(w[c]);                                                                  \
        for (q = 0; q < TR; q++) {                                                        \
            a[q] = MUL(LD(rows[q + c] + j), wk);                                          \
            l[q] = LD(rows[q] + j);                                                       \
            h[q] = LD(rows[q + K - 1] + j);                                               \
        }                                                                                 \
        for (k = 0; k < c; k++) {                                                         \
            wk = SET1(w[k]);                                                              \
            if (sym > 0)                                                                  \
                for (q = 0; q < TR; q++) a[q] = FMA(ADD(l[q], h[q]), wk, a[q]);           \
            else                                                                          \
                for (q = 0; q < TR; q++) a[q] = FMA(SUB(l[q], h[q]), wk, a[q]);           \
            if (k + 1 < c) {                                                              \
                for (q = 0; q < TR - 1; q++) l[q] = l[q + 1];                             \
                l[TR - 1] = LD(rows[k + TR] + j);                                         \
                for (q = TR - 1; q > 0; q--) h[q] = h[q - 1];                             \
                h[0] = LD(rows[K - 2 - k] + j);                                           \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    for (q = 0; q < TR; q++) ST(outs[q] + j, a[q]);                                       \
}                                                                                         \
TGT static void fcnd_f32_rows_##SUF(const float *const *rows, const float *w, int K,      \
                                    int sym, float *const *outs, int R, ptrdiff_t n)      \
{                                                                                         \
    ptrdiff_t j0 = 0, j;                                                                  \
    int q;                                                                                \
    if (R % TR == 0) {                                                                    \
        for (q = 0; q < R; q += TR)                                                       \
            for (j = 0; j + L <= n; j += L) fcnd_f32_tile_##SUF(rows + q, w, K, sym, j, outs + q); \
        j0 = n - n % L;                                                                   \
    }                                                                                     \
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
FCND_F32_ROWS(avx512, FCND_T512_f, __m512, 16, 8, __mmask16, _mm512_loadu_ps, FCND_MLD512,
              _mm512_storeu_ps, FCND_MST512, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps,
              _mm512_fmadd_ps, _mm512_set1_ps, _mm512_setzero_ps, FCND_M512)

/* AVX2 has no mask registers: a lane is loaded (and stored) where its mask
 * integer's sign bit is set; masked-off lanes are not touched */
#define FCND_M256(r) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(r)),                \
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define FCND_MLD256(m, p) _mm256_maskload_ps((p), (m))
#define FCND_MST256(p, m, v) _mm256_maskstore_ps((p), (m), (v))
FCND_F32_ROWS(avx2, FCND_T256_f, __m256, 8, 4, __m256i, _mm256_loadu_ps, FCND_MLD256,
              _mm256_storeu_ps, FCND_MST256, _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps,
              _mm256_fmadd_ps, _mm256_set1_ps, _mm256_setzero_ps, FCND_M256)
/* ---- the pass along 16 rows, through their transpose (AVX-512) ------------------
 * A pass along a row loads each tap's vector at another offset (most of them across
 * two cache lines).  Transposed, 16 rows become 16 lanes and the pass one across
 * rows: fcnd_f32_tile's registers slide along the columns (two loads a tap for 8
 * outputs).  Two 16x16 transposes cost less than the loads saved; each output gets
 * the same operations as in fcnd_f32_rows (the same bits). */
FCND_T512_f static inline void fcnd_f32_tr16(const float *in, ptrdiff_t si, float *out,
                                             ptrdiff_t so)
{
    __m512 r[16], t[16];
    int i;
    for (i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(in + i * si);
    for (i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
    for (i = 0; i < 16; i++) _mm512_storeu_ps(out + i * so, r[i]);
}

/* Scratch of fcnd_f32_rows16_t for rows of n outputs and K taps: the transposed
 * input (n + K - 1 columns, rounded up), the transposed output, and the column
 * pointers, in floats (pointers counted as 2 floats). */
static inline size_t fcnd_f32_rows16_scratch(ptrdiff_t n, int K)
{
    size_t ce = (size_t)((n + K - 1 + 15) / 16) * 16, co = (size_t)((n + 15) / 16) * 16;
    return 16 * (ce + co) + 2 * ce + 32;
}

/* 16 output rows out + q * os (q < 16) of n outputs each, from the rows
 * t + q * pt (q < 16) of n + K - 1 extended inputs, readable up to the next
 * multiple of 16 of that length; ``scratch``: fcnd_f32_rows16_scratch floats,
 * 64-byte aligned. */
FCND_T512_f static void fcnd_f32_rows16_t(const float *t, ptrdiff_t pt, const float *w,
                                          int K, int sym, float *out, ptrdiff_t os,
                                          ptrdiff_t n, float *scratch)
{
    ptrdiff_t ce = (n + K - 1 + 15) / 16 * 16, co = (n + 15) / 16 * 16, m, j;
    float *T = scratch, *O = scratch + 16 * ce;
    const float **col = (const float **)(O + 16 * co);
    float *outs[8];
    int q;
    for (m = 0; m < ce; m += 16) fcnd_f32_tr16(t + m, pt, T + m * 16, 16);
    for (m = 0; m < ce; m++) col[m] = T + m * 16;
    for (j = 0; j + 8 <= n; j += 8) {
        for (q = 0; q < 8; q++) outs[q] = O + (j + q) * 16;
        fcnd_f32_tile_avx512(col + j, w, K, sym, 0, outs);
    }
    for (; j < n; j++)
        _mm512_storeu_ps(O + j * 16, fcnd_f32_one_avx512(col + j, w, K, sym, 0, 0xFFFF));
    for (j = 0; j + 16 <= n; j += 16) fcnd_f32_tr16(O + j * 16, 16, out + j, os);
    for (; j < n; j++)
        for (q = 0; q < 16; q++) out[q * os + j] = O[j * 16 + q];
}
#endif  /* FCND_HAVE_SIMD */

#endif
