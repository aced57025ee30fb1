/* SIMD row kernels of float32 max and mean pooling (AVX-512 and AVX2).
 *
 * Included by fastconv/_pool_kernels.pyx, whose extension is compiled with the
 * default (SSE2) flags: the wide paths are separate functions compiled for
 * their instruction set with __attribute__((target)), called only when the
 * caller passes a level the CPU supports (level 2: AVX-512F/BW/VL/DQ, level 1:
 * AVX2; the Python layer takes it from fastconv._isa, i.e. from the CPU check
 * and FASTCONV_ISA).  Level 0, or a compiler without target attributes, means
 * "not handled here": fc_pool_simd_levels() then reports 0 and the Cython
 * loops run instead.
 *
 * One call computes one output row of a pooling along W with stride s (1 or 2),
 * dilation 1, kernel width k and left padding p.  ``rows`` lists the input rows
 * of the window that lie inside the input, in window order (depth, then height);
 * ``rbase[r]`` is the flat in-plane offset of rows[r] (for argmax indices).
 * Output column i reads input columns s*i - p + j, j = 0..k-1, those inside
 * [0, W) only.  The taps are folded in row-major window order, one at a time,
 * exactly as PyTorch's scalar loops do (first maximum wins ties, a NaN is always
 * taken; sums start at +0 and add the taps in order), so every result and index
 * is bit-identical to the scalar path.  Columns whose whole window lies inside
 * the row (and whose vector loads stay inside it) run in full vectors, the last
 * of which may overlap the one before (same bits written twice); columns at the
 * right edge run in masked vectors whose taps past the row read as no-ops
 * (-inf for max, +0 for sums); the few columns whose window starts in the left
 * padding run in scalar code (masked vectors were measured slower there).
 *
 * Index arithmetic of the vector paths is in 32 bits: callers use them only for
 * planes of fewer than 2**31 elements.
 */
#ifndef FC_POOL_SIMD_H
#define FC_POOL_SIMD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__clang__) || __GNUC__ >= 5)
#define FC_POOL_HAVE_SIMD 1
#include <immintrin.h>
#define FC_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define FC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define FC_POOL_HAVE_SIMD 0
#endif

/* 2 if the AVX-512 and AVX2 paths were compiled, else 0 */
static inline int fc_pool_simd_levels(void) { return FC_POOL_HAVE_SIMD ? 2 : 0; }

/* ------------------------------------------------------------ scalar columns */

static inline void fc_pool_max_cols_scalar(const float *const *rows, const int64_t *rbase,
                                           int nrows, float *y, int64_t *ind, ptrdiff_t W,
                                           ptrdiff_t i0, ptrdiff_t i1, int k, int s, int p)
{
    for (ptrdiff_t i = i0; i < i1; i++) {
        float m = -INFINITY;
        int64_t mi = -1;
        ptrdiff_t c0 = s * i - p;
        for (int r = 0; r < nrows; r++) {
            const float *xr = rows[r];
            for (int j = 0; j < k; j++) {
                ptrdiff_t c = c0 + j;
                if (c < 0 || c >= W)
                    continue;
                float v = xr[c];
                if (mi < 0)
                    mi = rbase[r] + c;          /* PyTorch: start at the first valid tap */
                if (v > m || v != v) {
                    m = v;
                    mi = rbase[r] + c;
                }
            }
        }
        y[i] = m;
        if (ind)
            ind[i] = mi;
    }
}

static inline void fc_pool_avg_cols_scalar(const float *const *rows, int nrows, float *y,
                                           const float *div, ptrdiff_t W, ptrdiff_t i0,
                                           ptrdiff_t i1, int k, int s, int p)
{
    for (ptrdiff_t i = i0; i < i1; i++) {
        float acc = 0.0f;
        ptrdiff_t c0 = s * i - p;
        for (int r = 0; r < nrows; r++) {
            const float *xr = rows[r];
            for (int j = 0; j < k; j++) {
                ptrdiff_t c = c0 + j;
                if (c >= 0 && c < W)
                    acc += xr[c];
            }
        }
        y[i] = acc / div[i];
    }
}

/* The output columns [*lo, *hi) whose taps and vector loads (VL lanes, stride s
 * loads read 2*VL floats from s*i - p + j) all lie inside [0, W). */
static inline void fc_pool_vector_range(ptrdiff_t W, ptrdiff_t oW, int k, int s, int p,
                                        ptrdiff_t *lo, ptrdiff_t *hi)
{
    ptrdiff_t a = (p + s - 1) / s;                       /* first i with s*i - p >= 0 */
    /* last element touched by column i: s*i - p + k - 1 (+1 for the odd lane of s == 2) */
    /* s == 1: column i reads i - p + j, j < k.  s == 2: tap j reads the pair of
     * vectors at 2*i0 - p + (j & ~1) (even lanes for even j, odd lanes for odd j),
     * whose last element, for the last column i of the vector, is
     * 2*i - p + (j & ~1) + 1 */
    ptrdiff_t last = s == 1 ? W - k + p : W - 2 + p - 2 * ((k - 1) / 2);   /* s*i <= last */
    ptrdiff_t b = last < 0 ? 0 : last / s + 1;
    if (a > oW)
        a = oW;
    if (b > oW)
        b = oW;
    if (b < a)          /* no full-width column: [lo, hi) empty, right-edge code from lo */
        b = a;
    *lo = a;
    *hi = b;
}

#if FC_POOL_HAVE_SIMD

/* ------------------------------------------------------------ AVX-512 */

/* Tap j of 16 output columns whose first input column is src (stride 1 or 2). */
FC_TARGET_AVX512 static inline __m512 fc_p512_tap(const float *src, int j, int s, __m512i even)
{
    if (s == 1)
        return _mm512_loadu_ps(src + j);
    src += j & ~1;
    __m512i sel = (j & 1) ? _mm512_add_epi32(even, _mm512_set1_epi32(1)) : even;
    return _mm512_permutex2var_ps(_mm512_loadu_ps(src), sel, _mm512_loadu_ps(src + 16));
}

/* As fc_p512_tap, reading only the ``avail`` floats from src (the end of the row);
 * the others read as ``fill`` (-inf for max, +0 for sums: no-ops, see above). */
FC_TARGET_AVX512 static inline __m512 fc_p512_tap_part(const float *src, int s, __m512i even,
                                                      ptrdiff_t avail, __m512 fill)
{
    __mmask16 m0 = avail >= 16 ? (__mmask16)0xFFFF
                   : avail <= 0 ? (__mmask16)0 : (__mmask16)((1u << avail) - 1u);
    __m512 a = _mm512_mask_loadu_ps(fill, m0, src);
    if (s == 1)
        return a;
    ptrdiff_t rest = avail - 16;
    __mmask16 m1 = rest >= 16 ? (__mmask16)0xFFFF
                   : rest <= 0 ? (__mmask16)0 : (__mmask16)((1u << rest) - 1u);
    return _mm512_permutex2var_ps(a, even, _mm512_mask_loadu_ps(fill, m1, src + 16));
}

FC_TARGET_AVX512 static void fc_pool_max_row_avx512(const float *const *rows,
                                                    const int64_t *rbase, int nrows, float *y,
                                                    int64_t *ind, ptrdiff_t W, ptrdiff_t oW,
                                                    int k, int s, int p)
{
    ptrdiff_t lo, hi, i;
    fc_pool_vector_range(W, oW, k, s, p, &lo, &hi);
    fc_pool_max_cols_scalar(rows, rbase, nrows, y, ind, W, 0, lo, k, s, p);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    /* full vectors over [lo, hi); the last one may overlap the one before it
     * (recomputing a few columns with the same bits) */
    for (i = lo; i < hi && hi - lo >= 16; i += 16) {
        if (i + 16 > hi)
            i = hi - 16;
        ptrdiff_t c0 = s * i - p;
        __m512 m = fc_p512_tap(rows[0] + c0, 0, s, even);
        if (ind) {
            /* in-plane column offsets s*(i + lane) - p as int32 */
            __m512i col = _mm512_add_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(s)),
                                           _mm512_set1_epi32((int32_t)c0));
            __m512i mi = _mm512_add_epi32(col, _mm512_set1_epi32((int32_t)rbase[0]));
            for (int r = 0; r < nrows; r++) {
                for (int j = (r == 0); j < k; j++) {
                    __m512 v = fc_p512_tap(rows[r] + c0, j, s, even);
                    __mmask16 t = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) |
                                  _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    m = _mm512_mask_mov_ps(m, t, v);
                    mi = _mm512_mask_mov_epi32(
                        mi, t, _mm512_add_epi32(col, _mm512_set1_epi32((int32_t)(rbase[r] + j))));
                }
            }
            _mm512_storeu_ps(y + i, m);
            _mm512_storeu_si512((void *)(ind + i),
                                _mm512_cvtepi32_epi64(_mm512_castsi512_si256(mi)));
            _mm512_storeu_si512((void *)(ind + i + 8),
                                _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(mi, 1)));
        } else {
            for (int r = 0; r < nrows; r++) {
                for (int j = (r == 0); j < k; j++) {
                    __m512 v = fc_p512_tap(rows[r] + c0, j, s, even);
                    __mmask16 t = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) |
                                  _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    m = _mm512_mask_mov_ps(m, t, v);
                }
            }
            _mm512_storeu_ps(y + i, m);
        }
    }
    /* right edge: taps past the row read as -inf, which is never taken; the first
     * tap (row 0, j = 0) of every column lies inside the row */
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (; i < oW; i += 16) {
        ptrdiff_t c0 = s * i - p, nl = oW - i;
        __mmask16 keep = nl >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nl) - 1u);
        __m512 m = fc_p512_tap_part(rows[0] + c0, s, even, W - c0, ninf);
        __m512i col = _mm512_add_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(s)),
                                       _mm512_set1_epi32((int32_t)c0));
        __m512i mi = _mm512_add_epi32(col, _mm512_set1_epi32((int32_t)rbase[0]));
        for (int r = 0; r < nrows; r++) {
            for (int j = (r == 0); j < k; j++) {
                __m512 v = fc_p512_tap_part(rows[r] + c0 + j, s, even, W - c0 - j, ninf);
                __mmask16 t = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) |
                              _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                m = _mm512_mask_mov_ps(m, t, v);
                mi = _mm512_mask_mov_epi32(
                    mi, t, _mm512_add_epi32(col, _mm512_set1_epi32((int32_t)(rbase[r] + j))));
            }
        }
        _mm512_mask_storeu_ps(y + i, keep, m);
        if (ind) {
            _mm512_mask_storeu_epi64(ind + i, (__mmask8)(keep & 0xFF),
                                     _mm512_cvtepi32_epi64(_mm512_castsi512_si256(mi)));
            _mm512_mask_storeu_epi64(ind + i + 8, (__mmask8)(keep >> 8),
                                     _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(mi, 1)));
        }
    }
}

FC_TARGET_AVX512 static void fc_pool_avg_row_avx512(const float *const *rows, int nrows,
                                                    float *y, const float *div, ptrdiff_t W,
                                                    ptrdiff_t oW, int k, int s, int p)
{
    ptrdiff_t lo, hi, i;
    fc_pool_vector_range(W, oW, k, s, p, &lo, &hi);
    fc_pool_avg_cols_scalar(rows, nrows, y, div, W, 0, lo, k, s, p);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    /* full vectors over [lo, hi); the last one may overlap the one before it
     * (recomputing a few columns with the same bits) */
    for (i = lo; i < hi && hi - lo >= 16; i += 16) {
        if (i + 16 > hi)
            i = hi - 16;
        ptrdiff_t c0 = s * i - p;
        __m512 acc = _mm512_setzero_ps();
        for (int r = 0; r < nrows; r++)
            for (int j = 0; j < k; j++)
                acc = _mm512_add_ps(acc, fc_p512_tap(rows[r] + c0, j, s, even));
        _mm512_storeu_ps(y + i, _mm512_div_ps(acc, _mm512_loadu_ps(div + i)));
    }
    /* right edge: taps past the row read as +0 (the sum is never -0: no-op) */
    const __m512 zero = _mm512_setzero_ps();
    for (; i < oW; i += 16) {
        ptrdiff_t c0 = s * i - p, nl = oW - i;
        __mmask16 keep = nl >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nl) - 1u);
        __m512 acc = _mm512_setzero_ps();
        for (int r = 0; r < nrows; r++)
            for (int j = 0; j < k; j++)
                acc = _mm512_add_ps(
                    acc, fc_p512_tap_part(rows[r] + c0 + j, s, even, W - c0 - j, zero));
        _mm512_mask_storeu_ps(y + i, keep,
                              _mm512_div_ps(acc, _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f),
                                                                      keep, div + i)));
    }
}

/* ------------------------------------------------------------ AVX2 */

/* Tap j of 8 output columns whose first input column is src (stride 1 or 2). */
FC_TARGET_AVX2 static inline __m256 fc_p256_tap(const float *src, int j, int s)
{
    if (s == 1)
        return _mm256_loadu_ps(src + j);
    src += j & ~1;
    __m256 a = _mm256_loadu_ps(src), b = _mm256_loadu_ps(src + 8);
    /* a0 a2 b0 b2 | a4 a6 b4 b6  ->  a0 a2 a4 a6 b0 b2 b4 b6 (odd: a1 a3 ...) */
    __m256 e = (j & 1) ? _mm256_shuffle_ps(a, b, 0xDD) : _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
}

/* Lanes l < n set (all ones), as an integer mask vector. */
FC_TARGET_AVX2 static inline __m256i fc_p256_first(ptrdiff_t n)
{
    int32_t c = n < 0 ? 0 : n > 8 ? 8 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* As fc_p256_tap, reading only the ``avail`` floats from src; the others read as
 * ``fill`` (see fc_p512_tap_part). */
FC_TARGET_AVX2 static inline __m256 fc_p256_tap_part(const float *src, int s, ptrdiff_t avail,
                                                    __m256 fill)
{
    __m256i m0 = fc_p256_first(avail);
    __m256 a = _mm256_blendv_ps(fill, _mm256_maskload_ps(src, m0), _mm256_castsi256_ps(m0));
    if (s == 1)
        return a;
    __m256i m1 = fc_p256_first(avail - 8);
    __m256 b = _mm256_blendv_ps(fill, _mm256_maskload_ps(src + 8, m1), _mm256_castsi256_ps(m1));
    __m256 e = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
}

FC_TARGET_AVX2 static void fc_pool_max_row_avx2(const float *const *rows, const int64_t *rbase,
                                                int nrows, float *y, int64_t *ind, ptrdiff_t W,
                                                ptrdiff_t oW, int k, int s, int p)
{
    ptrdiff_t lo, hi, i;
    fc_pool_vector_range(W, oW, k, s, p, &lo, &hi);
    fc_pool_max_cols_scalar(rows, rbase, nrows, y, ind, W, 0, lo, k, s, p);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    /* full vectors over [lo, hi); the last one may overlap the one before it
     * (recomputing a few columns with the same bits) */
    for (i = lo; i < hi && hi - lo >= 8; i += 8) {
        if (i + 8 > hi)
            i = hi - 8;
        ptrdiff_t c0 = s * i - p;
        __m256 m = fc_p256_tap(rows[0] + c0, 0, s);
        if (ind) {
            __m256i col = _mm256_add_epi32(_mm256_mullo_epi32(lane, _mm256_set1_epi32(s)),
                                           _mm256_set1_epi32((int32_t)c0));
            __m256i mi = _mm256_add_epi32(col, _mm256_set1_epi32((int32_t)rbase[0]));
            for (int r = 0; r < nrows; r++) {
                for (int j = (r == 0); j < k; j++) {
                    __m256 v = fc_p256_tap(rows[r] + c0, j, s);
                    __m256 t = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                            _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                    m = _mm256_blendv_ps(m, v, t);
                    mi = _mm256_blendv_epi8(
                        mi, _mm256_add_epi32(col, _mm256_set1_epi32((int32_t)(rbase[r] + j))),
                        _mm256_castps_si256(t));
                }
            }
            _mm256_storeu_ps(y + i, m);
            _mm256_storeu_si256((__m256i *)(ind + i),
                                _mm256_cvtepi32_epi64(_mm256_castsi256_si128(mi)));
            _mm256_storeu_si256((__m256i *)(ind + i + 4),
                                _mm256_cvtepi32_epi64(_mm256_extracti128_si256(mi, 1)));
        } else {
            for (int r = 0; r < nrows; r++) {
                for (int j = (r == 0); j < k; j++) {
                    __m256 v = fc_p256_tap(rows[r] + c0, j, s);
                    __m256 t = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                            _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                    m = _mm256_blendv_ps(m, v, t);
                }
            }
            _mm256_storeu_ps(y + i, m);
        }
    }
    /* right edge: as in the AVX-512 kernel, taps past the row read as -inf */
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (; i < oW; i += 8) {
        ptrdiff_t c0 = s * i - p;
        __m256i keep = fc_p256_first(oW - i);
        __m256 m = fc_p256_tap_part(rows[0] + c0, s, W - c0, ninf);
        __m256i col = _mm256_add_epi32(_mm256_mullo_epi32(lane, _mm256_set1_epi32(s)),
                                       _mm256_set1_epi32((int32_t)c0));
        __m256i mi = _mm256_add_epi32(col, _mm256_set1_epi32((int32_t)rbase[0]));
        for (int r = 0; r < nrows; r++) {
            for (int j = (r == 0); j < k; j++) {
                __m256 v = fc_p256_tap_part(rows[r] + c0 + j, s, W - c0 - j, ninf);
                __m256 t = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ),
                                        _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                m = _mm256_blendv_ps(m, v, t);
                mi = _mm256_blendv_epi8(
                    mi, _mm256_add_epi32(col, _mm256_set1_epi32((int32_t)(rbase[r] + j))),
                    _mm256_castps_si256(t));
            }
        }
        _mm256_maskstore_ps(y + i, keep, m);
        if (ind) {
            _mm256_maskstore_epi64((long long *)(ind + i),
                                   _mm256_cvtepi32_epi64(_mm256_castsi256_si128(keep)),
                                   _mm256_cvtepi32_epi64(_mm256_castsi256_si128(mi)));
            _mm256_maskstore_epi64((long long *)(ind + i + 4),
                                   _mm256_cvtepi32_epi64(_mm256_extracti128_si256(keep, 1)),
                                   _mm256_cvtepi32_epi64(_mm256_extracti128_si256(mi, 1)));
        }
    }
}

FC_TARGET_AVX2 static void fc_pool_avg_row_avx2(const float *const *rows, int nrows, float *y,
                                                const float *div, ptrdiff_t W, ptrdiff_t oW,
                                                int k, int s, int p)
{
    ptrdiff_t lo, hi, i;
    fc_pool_vector_range(W, oW, k, s, p, &lo, &hi);
    fc_pool_avg_cols_scalar(rows, nrows, y, div, W, 0, lo, k, s, p);
    /* full vectors over [lo, hi); the last one may overlap the one before it
     * (recomputing a few columns with the same bits) */
    for (i = lo; i < hi && hi - lo >= 8; i += 8) {
        if (i + 8 > hi)
            i = hi - 8;
        ptrdiff_t c0 = s * i - p;
        __m256 acc = _mm256_setzero_ps();
        for (int r = 0; r < nrows; r++)
            for (int j = 0; j < k; j++)
                acc = _mm256_add_ps(acc, fc_p256_tap(rows[r] + c0, j, s));
        _mm256_storeu_ps(y + i, _mm256_div_ps(acc, _mm256_loadu_ps(div + i)));
    }
    /* right edge: taps past the row read as +0 */
    const __m256 zero = _mm256_setzero_ps();
    for (; i < oW; i += 8) {
        ptrdiff_t c0 = s * i - p;
        __m256i keep = fc_p256_first(oW - i);
        __m256 acc = _mm256_setzero_ps();
        for (int r = 0; r < nrows; r++)
            for (int j = 0; j < k; j++)
                acc = _mm256_add_ps(acc, fc_p256_tap_part(rows[r] + c0 + j, s, W - c0 - j, zero));
        __m256 d = _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_maskload_ps(div + i, keep),
                                    _mm256_castsi256_ps(keep));
        _mm256_maskstore_ps(y + i, keep, _mm256_div_ps(acc, d));
    }
}

#endif /* FC_POOL_HAVE_SIMD */

/* ------------------------------------------------------------ dispatch */

static inline void fc_pool_max_row_f32(int level, const float *const *rows, const int64_t *rbase,
                                       int nrows, float *y, int64_t *ind, ptrdiff_t W,
                                       ptrdiff_t oW, int k, int s, int p)
{
#if FC_POOL_HAVE_SIMD
    if (nrows > 0 && level >= 2) {
        fc_pool_max_row_avx512(rows, rbase, nrows, y, ind, W, oW, k, s, p);
        return;
    }
    if (nrows > 0 && level == 1) {
        fc_pool_max_row_avx2(rows, rbase, nrows, y, ind, W, oW, k, s, p);
        return;
    }
#endif
    (void)level;
    fc_pool_max_cols_scalar(rows, rbase, nrows, y, ind, W, 0, oW, k, s, p);
}

static inline void fc_pool_avg_row_f32(int level, const float *const *rows, int nrows, float *y,
                                       const float *div, ptrdiff_t W, ptrdiff_t oW, int k, int s,
                                       int p)
{
#if FC_POOL_HAVE_SIMD
    if (nrows > 0 && level >= 2) {
        fc_pool_avg_row_avx512(rows, nrows, y, div, W, oW, k, s, p);
        return;
    }
    if (nrows > 0 && level == 1) {
        fc_pool_avg_row_avx2(rows, nrows, y, div, W, oW, k, s, p);
        return;
    }
#endif
    (void)level;
    fc_pool_avg_cols_scalar(rows, nrows, y, div, W, 0, oW, k, s, p);
}

#endif /* FC_POOL_SIMD_H */
