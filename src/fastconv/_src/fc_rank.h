/* Row kernels of fastconv's rank filters (fastconv/_rank_kernels.pyx).
 *
 * fcr_med9_*: the median of each 3x3 window of three padded rows (n + 2
 * samples each; output x reads columns x, x+1, x+2).  Each column is sorted
 * once (three compare-exchanges, shared by the three outputs that read it);
 * the median of the window is then the median of (the largest of the three
 * column minima, the median of the three column medians, the smallest of the
 * three column maxima) -- an exact selection for totally ordered data, so the
 * Python layer takes it only for data without NaN (and without -0.0, whose
 * place beside +0.0 the order does not fix).  Written as plain loops over
 * arrays with branch-free min/max, which the compiler vectorises.
 *
 * scratch: 3 * (n + 2) elements.
 */
#ifndef FC_RANK_H
#define FC_RANK_H

#include <stddef.h>

#define FCR_MIN(a, b) ((b) < (a) ? (b) : (a))
#define FCR_MAX(a, b) ((a) < (b) ? (b) : (a))

#define FCR_MED9(SUFFIX, T)                                                         \
static void fcr_med9_##SUFFIX(const T *r0, const T *r1, const T *r2, T *out,      \
                              ptrdiff_t n, T *scratch)                            \
{                                                                                 \
    T *lo = scratch, *mi = scratch + (n + 2), *hi = scratch + 2 * (n + 2);        \
    ptrdiff_t x;                                                                  \
    for (x = 0; x < n + 2; x++) {                                                 \
        T a = r0[x], b = r1[x], c = r2[x];                                        \
        T l1 = FCR_MIN(a, b), h1 = FCR_MAX(a, b);                                 \
        T m2 = FCR_MIN(h1, c), h2 = FCR_MAX(h1, c);                               \
        lo[x] = FCR_MIN(l1, m2);                                                  \
        mi[x] = FCR_MAX(l1, m2);                                                  \
        hi[x] = h2;                                                               \
    }                                                                             \
    for (x = 0; x < n; x++) {                                                     \
        T l = FCR_MAX(FCR_MAX(lo[x], lo[x + 1]), lo[x + 2]);                      \
        T h = FCR_MIN(FCR_MIN(hi[x], hi[x + 1]), hi[x + 2]);                      \
        T p = mi[x], q = mi[x + 1], s = mi[x + 2];                                \
        T m = FCR_MAX(FCR_MIN(p, q), FCR_MIN(FCR_MAX(p, q), s));                  \
        out[x] = FCR_MAX(FCR_MIN(l, m), FCR_MIN(FCR_MAX(l, m), h));               \
    }                                                                             \
}

FCR_MED9(f, float)
FCR_MED9(d, double)
FCR_MED9(u8, unsigned char)

#endif
