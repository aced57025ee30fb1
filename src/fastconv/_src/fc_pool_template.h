/* Row kernels of float32 max and mean pooling, written once with GCC's vector
 * extensions and compiled per instruction set: fc_isa_template.h includes this
 * file once (float only) in every fc_isa_*.c, so the vectors are as wide as
 * that file's instruction set (FC_VBYTES) and the kernels are reached through
 * the table (fc_active->pool_max_row_f32 / pool_avg_row_f32) like conv's.
 *
 * One call computes one output row of a pooling along W with stride s (1 or 2),
 * dilation 1, kernel width k and left padding p.  ``rows`` lists the input rows
 * of the window that lie inside the input, in window order (depth, then height);
 * ``rbase[r]`` is the flat in-plane offset of rows[r] (for argmax indices).
 * Output column i reads input columns s*i - p + j, j = 0..k-1, those inside
 * [0, W) only.  The taps are folded in row-major window order, one at a time,
 * exactly as PyTorch's scalar loops do (first maximum wins ties, a NaN is always
 * taken; sums start at +0 and add the taps in order), so every result and index
 * is bit-identical to the scalar path, whatever the vector width.  Columns whose
 * whole window lies inside the row (and whose vector loads stay inside it) run
 * in full vectors, the last of which may overlap the one before (same bits
 * written twice); columns at the right edge run in masked vectors whose taps
 * past the row read as no-ops (-inf for max, +0 for sums); the few columns whose
 * window starts in the left padding run in scalar code (masked vectors were
 * measured slower there).
 *
 * Index arithmetic of the vector paths is in 32 bits: callers use them only for
 * planes of fewer than 2**31 elements.  Masked loads and stores use the
 * instruction set's own (AVX-512, AVX2), else a scalar copy through the stack.
 */
#include <math.h>
#include <stdint.h>

/* ------------------------------------------------------------ scalar columns */

static inline void pool_max_cols_scalar(const float *const *rows, const int64_t *rbase,
                                        int nrows, float *y, int64_t *ind, fc_idx W, fc_idx i0,
                                        fc_idx i1, int k, int s, int p)
{
    for (fc_idx i = i0; i < i1; i++) {
        float m = -INFINITY;
        int64_t mi = -1;
        fc_idx c0 = s * i - p;
        for (int r = 0; r < nrows; r++) {
            const float *xr = rows[r];
            for (int j = 0; j < k; j++) {
                fc_idx c = c0 + j;
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

static inline void pool_avg_cols_scalar(const float *const *rows, int nrows, float *y,
                                        const float *div, fc_idx W, fc_idx i0, fc_idx i1, int k,
                                        int s, int p)
{
    for (fc_idx i = i0; i < i1; i++) {
        float acc = 0.0f;
        fc_idx c0 = s * i - p;
        for (int r = 0; r < nrows; r++) {
            const float *xr = rows[r];
            for (int j = 0; j < k; j++) {
                fc_idx c = c0 + j;
                if (c >= 0 && c < W)
                    acc += xr[c];
            }
        }
        y[i] = acc / div[i];
    }
}

/* The output columns [*lo, *hi) whose taps and vector loads (stride s loads
 * read 2 vectors from s*i - p + (j & ~1)) all lie inside [0, W). */
static inline void pool_vector_range(fc_idx W, fc_idx oW, int k, int s, int p, fc_idx *lo,
                                     fc_idx *hi)
{
    fc_idx a = (p + s - 1) / s;                       /* first i with s*i - p >= 0 */
    /* s == 1: column i reads i - p + j, j < k.  s == 2: tap j reads the pair of
     * vectors at 2*i0 - p + (j & ~1) (even lanes for even j, odd lanes for odd j),
     * whose last element, for the last column i of the vector, is
     * 2*i - p + (j & ~1) + 1 */
    fc_idx last = s == 1 ? W - k + p : W - 2 + p - 2 * ((k - 1) / 2);   /* s*i <= last */
    fc_idx b = last < 0 ? 0 : last / s + 1;
    if (a > oW)
        a = oW;
    if (b > oW)
        b = oW;
    if (b < a)          /* no full-width column: [lo, hi) empty, right-edge code from lo */
        b = a;
    *lo = a;
    *hi = b;
}

#if FC_HAVE_VECTORS

#define PL FC_LANES_F32
typedef float pool_vf __attribute__((vector_size(FC_VBYTES)));
typedef int32_t pool_vi __attribute__((vector_size(FC_VBYTES)));
typedef long long pool_vl __attribute__((vector_size(2 * FC_VBYTES)));  /* PL int64 lanes */

static inline pool_vf pool_load(const float *p)
{
    pool_vf v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Lanes l < n of p (n may be <= 0 or >= PL), the others ``fill``; nothing
 * outside [p, p + n) is read. */
static inline pool_vf pool_load_part(const float *p, fc_idx n, pool_vf fill)
{
#if FC_VBYTES == 64 && defined(__AVX512F__)
    __mmask16 m = n >= 16  ? (__mmask16)0xFFFF
                  : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
    return (pool_vf)_mm512_mask_loadu_ps((__m512)fill, m, p);
#elif FC_VBYTES == 32 && defined(__AVX2__)
    int32_t c = n < 0 ? 0 : n > 8 ? 8 : (int32_t)n;
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(c),
                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return (pool_vf)_mm256_blendv_ps((__m256)fill, _mm256_maskload_ps(p, m),
                                     _mm256_castsi256_ps(m));
#else
    float t[PL];
    memcpy(t, &fill, sizeof(t));
    for (fc_idx l = 0; l < n && l < PL; l++)
        t[l] = p[l];
    pool_vf v;
    memcpy(&v, t, sizeof(v));
    return v;
#endif
}

/* Store lanes l < n (1 <= n <= PL) of v, of mi widened to int64 (ind != NULL). */
static inline void pool_store_part(float *y, int64_t *ind, fc_idx n, pool_vf v, pool_vi mi)
{
    pool_vl wide = __builtin_convertvector(mi, pool_vl);
#if FC_VBYTES == 64 && defined(__AVX512F__)
    __mmask16 keep = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    _mm512_mask_storeu_ps(y, keep, (__m512)v);
    if (ind) {
        __m512i h[2];
        memcpy(h, &wide, sizeof(h));
        _mm512_mask_storeu_epi64(ind, (__mmask8)(keep & 0xFF), h[0]);
        _mm512_mask_storeu_epi64(ind + 8, (__mmask8)(keep >> 8), h[1]);
    }
#elif FC_VBYTES == 32 && defined(__AVX2__)
    int32_t c = n > 8 ? 8 : (int32_t)n;
    __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(c),
                                      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(y, keep, (__m256)v);
    if (ind) {
        __m256i h[2];
        memcpy(h, &wide, sizeof(h));
        _mm256_maskstore_epi64((long long *)ind,
                               _mm256_cvtepi32_epi64(_mm256_castsi256_si128(keep)), h[0]);
        _mm256_maskstore_epi64((long long *)(ind + 4),
                               _mm256_cvtepi32_epi64(_mm256_extracti128_si256(keep, 1)), h[1]);
    }
#else
    float t[PL];
    long long w[PL];
    memcpy(t, &v, sizeof(t));
    memcpy(w, &wide, sizeof(w));
    for (fc_idx l = 0; l < n && l < PL; l++) {
        y[l] = t[l];
        if (ind)
            ind[l] = w[l];
    }
#endif
}

/* Tap j of PL output columns whose first input column is src (stride 1 or 2). */
static inline pool_vf pool_tap(const float *src, int j, int s)
{
    if (s == 1)
        return pool_load(src + j);
    src += j & ~1;
    pool_vf a = pool_load(src), b = pool_load(src + PL);
    return (j & 1) ? FC_ODDS(pool_vf, pool_vi, PL, a, b) : FC_EVENS(pool_vf, pool_vi, PL, a, b);
}

/* As pool_tap at src = first column + j, reading only the ``avail`` floats
 * from src (the end of the row); the others read as ``fill`` (-inf for max, +0
 * for sums: no-ops, see above). */
static inline pool_vf pool_tap_part(const float *src, int s, fc_idx avail, pool_vf fill)
{
    pool_vf a = pool_load_part(src, avail, fill);
    if (s == 1)
        return a;
    return FC_EVENS(pool_vf, pool_vi, PL, a, pool_load_part(src + PL, avail - PL, fill));
}

/* m, mi <- v, idx in the lanes where v > m or v is NaN (PyTorch's rule). */
#define POOL_TAKE(m, mi, v, idx) do { \
        pool_vi t_ = (pool_vi)((v) > (m)) | (pool_vi)((v) != (v)); \
        (m) = (pool_vf)(((pool_vi)(v) & t_) | ((pool_vi)(m) & ~t_)); \
        (mi) = ((idx) & t_) | ((mi) & ~t_); \
    } while (0)

static void pool_max_row_f32(const float *const *rows, const int64_t *rbase, int nrows, float *y,
                             int64_t *ind, fc_idx W, fc_idx oW, int k, int s, int p)
{
    if (nrows <= 0) {
        pool_max_cols_scalar(rows, rbase, nrows, y, ind, W, 0, oW, k, s, p);
        return;
    }
    fc_idx lo, hi, i;
    pool_vector_range(W, oW, k, s, p, &lo, &hi);
    pool_max_cols_scalar(rows, rbase, nrows, y, ind, W, 0, lo, k, s, p);
    pool_vi lane;
    for (int l = 0; l < PL; l++)
        lane[l] = l;
    /* full vectors over [lo, hi); the last one may overlap the one before it
     * (recomputing a few columns with the same bits) */
    for (i = lo; i < hi && hi - lo >= PL; i += PL) {
        if (i + PL > hi)
            i = hi - PL;
        fc_idx c0 = s * i - p;
        pool_vf m = pool_tap(rows[0] + c0, 0, s);
        if (ind) {
            /* in-plane column offsets s*(i + lane) - p as int32 */
            pool_vi col = lane * s + (int32_t)c0;
            pool_vi mi = col + (int32_t)rbase[0];
            for (int r = 0; r < nrows; r++)
                for (int j = (r == 0); j < k; j++) {
                    pool_vf v = pool_tap(rows[r] + c0, j, s);
                    pool_vi idx = col + (int32_t)(rbase[r] + j);
                    POOL_TAKE(m, mi, v, idx);
                }
            pool_vl wide = __builtin_convertvector(mi, pool_vl);
            memcpy(y + i, &m, sizeof(m));
            memcpy(ind + i, &wide, sizeof(wide));
        } else {
            pool_vi mi = {0}, idx = {0};
            for (int r = 0; r < nrows; r++)
                for (int j = (r == 0); j < k; j++) {
                    pool_vf v = pool_tap(rows[r] + c0, j, s);
                    POOL_TAKE(m, mi, v, idx);
                }
            memcpy(y + i, &m, sizeof(m));
        }
    }
    /* right edge: taps past the row read as -inf, which is never taken; the first
     * tap (row 0, j = 0) of every column lies inside the row */
    const pool_vf ninf = (pool_vf){0} - INFINITY;
    for (; i < oW; i += PL) {
        fc_idx c0 = s * i - p;
        pool_vf m = pool_tap_part(rows[0] + c0, s, W - c0, ninf);
        pool_vi col = lane * s + (int32_t)c0;
        pool_vi mi = col + (int32_t)rbase[0];
        for (int r = 0; r < nrows; r++)
            for (int j = (r == 0); j < k; j++) {
                pool_vf v = pool_tap_part(rows[r] + c0 + j, s, W - c0 - j, ninf);
                pool_vi idx = col + (int32_t)(rbase[r] + j);
                POOL_TAKE(m, mi, v, idx);
            }
        pool_store_part(y + i, ind ? ind + i : NULL, oW - i, m, mi);
    }
}

static void pool_avg_row_f32(const float *const *rows, int nrows, float *y, const float *div,
                             fc_idx W, fc_idx oW, int k, int s, int p)
{
    if (nrows <= 0) {
        pool_avg_cols_scalar(rows, nrows, y, div, W, 0, oW, k, s, p);
        return;
    }
    fc_idx lo, hi, i;
    pool_vector_range(W, oW, k, s, p, &lo, &hi);
    pool_avg_cols_scalar(rows, nrows, y, div, W, 0, lo, k, s, p);
    /* full vectors over [lo, hi); the last one may overlap the one before it
     * (recomputing a few columns with the same bits) */
    for (i = lo; i < hi && hi - lo >= PL; i += PL) {
        if (i + PL > hi)
            i = hi - PL;
        fc_idx c0 = s * i - p;
        pool_vf acc = {0};
        for (int r = 0; r < nrows; r++)
            for (int j = 0; j < k; j++)
                acc += pool_tap(rows[r] + c0, j, s);
        acc /= pool_load(div + i);
        memcpy(y + i, &acc, sizeof(acc));
    }
    /* right edge: taps past the row read as +0 (the sum is never -0: no-op) */
    const pool_vf zero = {0}, one = zero + 1.0f;
    const pool_vi none = {0};
    for (; i < oW; i += PL) {
        fc_idx c0 = s * i - p;
        pool_vf acc = {0};
        for (int r = 0; r < nrows; r++)
            for (int j = 0; j < k; j++)
                acc += pool_tap_part(rows[r] + c0 + j, s, W - c0 - j, zero);
        acc /= pool_load_part(div + i, oW - i, one);
        pool_store_part(y + i, NULL, oW - i, acc, none);
    }
}

#undef POOL_TAKE
#undef PL

#else  /* no vector extensions: the scalar columns, the same bits */

static void pool_max_row_f32(const float *const *rows, const int64_t *rbase, int nrows, float *y,
                             int64_t *ind, fc_idx W, fc_idx oW, int k, int s, int p)
{
    pool_max_cols_scalar(rows, rbase, nrows, y, ind, W, 0, oW, k, s, p);
}

static void pool_avg_row_f32(const float *const *rows, int nrows, float *y, const float *div,
                             fc_idx W, fc_idx oW, int k, int s, int p)
{
    pool_avg_cols_scalar(rows, nrows, y, div, W, 0, oW, k, s, p);
}

#endif
