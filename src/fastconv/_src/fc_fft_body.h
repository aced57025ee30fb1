/* One copy of the lane-parallel FFT convolution (see fc_fft.h), for the real
 * type FT_T, vectors of FT_VB bytes, compiled with FT_ATTR; names end in
 * _FT_SUF.  Included several times by fc_fft.h; undefines its parameters.
 *
 * Buffer layout (FT_T units, V lanes): element n of lane l has its real part
 * at buf[2 n V + l] and its imaginary part at buf[(2 n + 1) V + l]; the buffer
 * is aligned to 64 bytes.
 *
 * Stages: radix 4, lengths N, N/4, ... down to 4; when log2 N is odd, lengths
 * N, N/4, ... down to 8, then a radix-2 stage of length 2 (no twiddles), so
 * that no stage of an odd size passes over the whole buffer on its own.
 * Twiddles (complex FT_T pairs), stage after stage in forward order: for each
 * radix-4 stage of length L, w^j, w^2j, w^3j for j < L/4, w = e^(-2 pi i / L).
 */

#define FT_CAT2(a, b) a##_##b
#define FT_CAT(a, b) FT_CAT2(a, b)
#define FTN(name) FT_CAT(name, FT_SUF)

#if FCFT_VEC
typedef FT_T FTN(fcft_vt) __attribute__((vector_size(FT_VB), aligned(FT_VB)));
#else
typedef FT_T FTN(fcft_vt);
#endif
#define VT FTN(fcft_vt)
#define NV ((ptrdiff_t)(sizeof(VT) / sizeof(FT_T)))

#if FCFT_VEC
/* unaligned vectors of the signal and the output, and shuffle masks */
typedef FT_T FTN(fcft_vu) __attribute__((vector_size(FT_VB), aligned(sizeof(FT_T)), may_alias));
typedef FT_IT FTN(fcft_mt) __attribute__((vector_size(FT_VB)));
#define VU FTN(fcft_vu)
#define MT FTN(fcft_mt)
#define ZLO(a, b) FCFT_SHUF(MT, a, b, FCFT_XCAT(FCFT_ZLO_, FT_NV))
#define ZHI(a, b) FCFT_SHUF(MT, a, b, FCFT_XCAT(FCFT_ZHI_, FT_NV))
#define EVN(a, b) FCFT_SHUF(MT, a, b, FCFT_XCAT(FCFT_EV_, FT_NV))
#define ODD(a, b) FCFT_SHUF(MT, a, b, FCFT_XCAT(FCFT_OD_, FT_NV))

/* r[i][j] -> r[j][i] for V x V: log2 V rounds of interleaving row i with row i + V/2 */
static FT_ATTR inline void FTN(fcft_transpose)(VT *r)
{
    VT t[NV];
    int i, round;
    for (round = 1; round < NV; round *= 2) {
        for (i = 0; i < NV / 2; i++) {
            t[2 * i] = ZLO(r[i], r[i + NV / 2]);
            t[2 * i + 1] = ZHI(r[i], r[i + NV / 2]);
        }
        for (i = 0; i < NV; i++) r[i] = t[i];
    }
}
#endif

/* first T of the twiddles of each radix-4 stage s (length base 4^s, base 2
 * when log2 N is odd, else 1), s = top .. 1 */
static inline void FTN(fcft_offsets)(ptrdiff_t N, ptrdiff_t *off, int *odd, int *top)
{
    int lg = fcft_log2(N), t;
    ptrdiff_t o = 0;
    *odd = lg & 1;
    *top = lg >> 1;
    for (t = *top; t >= 1; t--) {
        off[t] = o;
        o += 6 * ((((ptrdiff_t)1 + *odd) << (2 * t)) >> 2);
    }
}

/* the radix-2 stage of length 2 (an odd log2 N's last), its own conjugate
 * transpose, over n elements */
static FT_ATTR void FTN(fcft_r2)(VT *v, ptrdiff_t n)
{
    ptrdiff_t j;
    for (j = 0; j < n; j += 2) {
        VT *a = v + 2 * j;
        VT ar = a[0], ai = a[1], cr = a[2], ci = a[3];
        a[0] = ar + cr;
        a[1] = ai + ci;
        a[2] = ar - cr;
        a[3] = ai - ci;
    }
}

/* one radix-4 butterfly of a forward stage: legs p, p + q, p + 2q, p + 3q
 * (complex elements: re, im vectors), twiddles w1..w3 on the outputs */
static FT_ATTR inline void FTN(fcft_bf4)(VT *p, ptrdiff_t q, FT_T w1r, FT_T w1i, FT_T w2r,
                                         FT_T w2i, FT_T w3r, FT_T w3i)
{
    VT a0r = p[0], a0i = p[1], a1r = p[2 * q], a1i = p[2 * q + 1];
    VT a2r = p[4 * q], a2i = p[4 * q + 1], a3r = p[6 * q], a3i = p[6 * q + 1];
    VT t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i;
    VT t2r = a1r + a3r, t2i = a1i + a3i;
    VT t3r = a1i - a3i, t3i = a3r - a1r;      /* -i (a1 - a3) */
    VT x1r = t1r + t3r, x1i = t1i + t3i;
    VT x2r = t0r - t2r, x2i = t0i - t2i;
    VT x3r = t1r - t3r, x3i = t1i - t3i;
    p[0] = t0r + t2r;
    p[1] = t0i + t2i;
    p[2 * q] = x1r * w1r - x1i * w1i;
    p[2 * q + 1] = x1r * w1i + x1i * w1r;
    p[4 * q] = x2r * w2r - x2i * w2i;
    p[4 * q + 1] = x2r * w2i + x2i * w2r;
    p[6 * q] = x3r * w3r - x3i * w3i;
    p[6 * q + 1] = x3r * w3i + x3i * w3r;
}

/* its conjugate transpose, for the inverse stages: twiddles on the inputs */
static FT_ATTR inline void FTN(fcft_ibf4)(VT *p, ptrdiff_t q, FT_T w1r, FT_T w1i, FT_T w2r,
                                          FT_T w2i, FT_T w3r, FT_T w3i)
{
    VT b1r = p[2 * q], b1i = p[2 * q + 1], b2r = p[4 * q], b2i = p[4 * q + 1];
    VT b3r = p[6 * q], b3i = p[6 * q + 1];
    VT c0r = p[0], c0i = p[1];
    VT c1r = b1r * w1r + b1i * w1i, c1i = b1i * w1r - b1r * w1i;
    VT c2r = b2r * w2r + b2i * w2i, c2i = b2i * w2r - b2r * w2i;
    VT c3r = b3r * w3r + b3i * w3i, c3i = b3i * w3r - b3r * w3i;
    VT u0r = c0r + c2r, u0i = c0i + c2i, u1r = c0r - c2r, u1i = c0i - c2i;
    VT u2r = c1r + c3r, u2i = c1i + c3i;
    VT u3r = c3i - c1i, u3i = c1r - c3r;      /* i (c1 - c3) */
    p[0] = u0r + u2r;
    p[1] = u0i + u2i;
    p[2 * q] = u1r + u3r;
    p[2 * q + 1] = u1i + u3i;
    p[4 * q] = u0r - u2r;
    p[4 * q + 1] = u0i - u2i;
    p[6 * q] = u1r - u3r;
    p[6 * q + 1] = u1i - u3i;
}

/* forward radix-4 stages hi down to lo (lengths base 4^s) over n elements at v */
static FT_ATTR void FTN(fcft_fwd4)(VT *v, ptrdiff_t n, const FT_T *tw, const ptrdiff_t *off,
                                   int hi, int lo, ptrdiff_t base)
{
    ptrdiff_t j, b, L;
    int s;
    for (s = hi; s >= lo; s--) {
        L = base << (2 * s);
        ptrdiff_t q = L >> 2;
        const FT_T *t = tw + off[s];
        for (j = 0; j < q; j++) {
            const FT_T *w = t + 6 * j;
            FT_T w1r = w[0], w1i = w[1], w2r = w[2], w2i = w[3], w3r = w[4], w3i = w[5];
            for (b = j; b < n; b += L) {
                VT *p = v + 2 * b;
                FTN(fcft_bf4)(p, q, w1r, w1i, w2r, w2i, w3r, w3i);
            }
        }
    }
}

/* inverse radix-4 stages (conjugate transposes of the forward ones) lo up to
 * hi over n elements at v */
static FT_ATTR void FTN(fcft_inv4)(VT *v, ptrdiff_t n, const FT_T *tw, const ptrdiff_t *off,
                                   int lo, int hi, ptrdiff_t base)
{
    ptrdiff_t j, b, L;
    int s;
    for (s = lo; s <= hi; s++) {
        L = base << (2 * s);
        ptrdiff_t q = L >> 2;
        const FT_T *t = tw + off[s];
        for (j = 0; j < q; j++) {
            const FT_T *w = t + 6 * j;
            FT_T w1r = w[0], w1i = w[1], w2r = w[2], w2i = w[3], w3r = w[4], w3i = w[5];
            for (b = j; b < n; b += L) {
                VT *p = v + 2 * b;
                FTN(fcft_ibf4)(p, q, w1r, w1i, w2r, w2i, w3r, w3i);
            }
        }
    }
}

/* forward stages; the last one (length 4, or 2) too if ``full`` */
static FT_ATTR void FTN(fcft_fwd)(FT_T *d, ptrdiff_t N, const FT_T *tw, int full)
{
    ptrdiff_t off[32] = {0};
    int odd, top;
    FTN(fcft_offsets)(N, off, &odd, &top);
    FTN(fcft_fwd4)((VT *)d, N, tw, off, top, (odd || full) ? 1 : 2, 1 + odd);
    if (odd && full) FTN(fcft_r2)((VT *)d, N);
}

/* inverse stages, the first (length 4, or 2) too if ``full``: N times the inverse */
static FT_ATTR void FTN(fcft_inv)(FT_T *d, ptrdiff_t N, const FT_T *tw, int full)
{
    ptrdiff_t off[32] = {0};
    int odd, top;
    FTN(fcft_offsets)(N, off, &odd, &top);
    if (odd && full) FTN(fcft_r2)((VT *)d, N);
    FTN(fcft_inv4)((VT *)d, N, tw, off, (odd || full) ? 1 : 2, top, 1 + odd);
}

/* the same stages over n "elements" of S consecutive elements each (the
 * column transforms of 2-D blocks: an element is a row of the block) */
static FT_ATTR void FTN(fcft_fwd4s)(VT *v, ptrdiff_t n, const FT_T *tw, const ptrdiff_t *off,
                                   int hi, int lo, ptrdiff_t base, ptrdiff_t S)
{
    ptrdiff_t j, b, L, u;
    int s;
    for (s = hi; s >= lo; s--) {
        L = base << (2 * s);
        ptrdiff_t q = L >> 2;
        const ptrdiff_t qs = q * S;
        const FT_T *t = tw + off[s];
        for (j = 0; j < q; j++) {
            const FT_T *w = t + 6 * j;
            FT_T w1r = w[0], w1i = w[1], w2r = w[2], w2i = w[3], w3r = w[4], w3i = w[5];
            for (b = j; b < n; b += L) for (u = 0; u < S; u++) {
                VT *p = v + 2 * (b * S + u);
                FTN(fcft_bf4)(p, qs, w1r, w1i, w2r, w2i, w3r, w3i);
            }
        }
    }
}

static FT_ATTR void FTN(fcft_inv4s)(VT *v, ptrdiff_t n, const FT_T *tw, const ptrdiff_t *off,
                                   int lo, int hi, ptrdiff_t base, ptrdiff_t S)
{
    ptrdiff_t j, b, L, u;
    int s;
    for (s = lo; s <= hi; s++) {
        L = base << (2 * s);
        ptrdiff_t q = L >> 2;
        const ptrdiff_t qs = q * S;
        const FT_T *t = tw + off[s];
        for (j = 0; j < q; j++) {
            const FT_T *w = t + 6 * j;
            FT_T w1r = w[0], w1i = w[1], w2r = w[2], w2i = w[3], w3r = w[4], w3i = w[5];
            for (b = j; b < n; b += L) for (u = 0; u < S; u++) {
                VT *p = v + 2 * (b * S + u);
                FTN(fcft_ibf4)(p, qs, w1r, w1i, w2r, w2i, w3r, w3i);
            }
        }
    }
}

/* the radix-2 stage of length 2 over elements of S elements */
static FT_ATTR void FTN(fcft_r2s)(VT *v, ptrdiff_t n, ptrdiff_t S)
{
    ptrdiff_t j, t;
    for (j = 0; j < n; j += 2)
        for (t = 0; t < S; t++) {
            VT *a = v + 2 * (j * S + t), *c = a + 2 * S;
            VT ar = a[0], ai = a[1], cr = c[0], ci = c[1];
            a[0] = ar + cr;
            a[1] = ai + ci;
            c[0] = ar - cr;
            c[1] = ai - ci;
        }
}

/* the 2-D forward transform of an Nr x Nc block (rows, then columns), or Nr Nc
 * times the inverse (columns, then rows); orders digit-reversed per axis */
static FT_ATTR void FTN(fcft_fwd2)(FT_T *d, ptrdiff_t Nr, ptrdiff_t Nc, const FT_T *twr,
                                   const FT_T *twc)
{
    ptrdiff_t r, off[32] = {0};
    int odd, top;
    for (r = 0; r < Nr; r++) FTN(fcft_fwd)(d + 2 * r * Nc * NV, Nc, twc, 1);
    FTN(fcft_offsets)(Nr, off, &odd, &top);
    FTN(fcft_fwd4s)((VT *)d, Nr, twr, off, top, 1, 1 + odd, Nc);
    if (odd) FTN(fcft_r2s)((VT *)d, Nr, Nc);
}

static FT_ATTR void FTN(fcft_inv2)(FT_T *d, ptrdiff_t Nr, ptrdiff_t Nc, const FT_T *twr,
                                   const FT_T *twc)
{
    ptrdiff_t r, off[32] = {0};
    int odd, top;
    FTN(fcft_offsets)(Nr, off, &odd, &top);
    if (odd) FTN(fcft_r2s)((VT *)d, Nr, Nc);
    FTN(fcft_inv4s)((VT *)d, Nr, twr, off, 1, top, 1 + odd, Nc);
    for (r = 0; r < Nr; r++) FTN(fcft_inv)(d + 2 * r * Nc * NV, Nc, twc, 1);
}

/* H = FFT2(w zero-padded to Nr x Nc) / (Nr Nc) in the 2-D transform's order */
static FT_ATTR void FTN(fcft_spectrum2)(const FT_T *w, ptrdiff_t kr, ptrdiff_t kc,
                                        ptrdiff_t wrs, ptrdiff_t wcs, int wcplx, ptrdiff_t Nr,
                                        ptrdiff_t Nc, const FT_T *twr, const FT_T *twc,
                                        FT_T *buf, FT_T *H)
{
    ptrdiff_t r, c, m;
    FT_T scale = (FT_T)1 / (FT_T)(Nr * Nc);
    memset(buf, 0, (size_t)(2 * Nr * Nc * NV) * sizeof(FT_T));
    for (r = 0; r < kr && r < Nr; r++)
        for (c = 0; c < kc && c < Nc; c++) {
            m = r * Nc + c;
            buf[2 * m * NV] = w[r * wrs + c * wcs];
            buf[(2 * m + 1) * NV] = wcplx ? w[r * wrs + c * wcs + 1] : (FT_T)0;
        }
    FTN(fcft_fwd2)(buf, Nr, Nc, twr, twc);
    for (m = 0; m < Nr * Nc; m++) {
        H[2 * m] = buf[2 * m * NV] * scale;
        H[2 * m + 1] = buf[(2 * m + 1) * NV] * scale;
    }
}

/* the last forward stage, the product with the spectrum H (digit-reversed,
 * complex pairs, 1/N folded in) and the first inverse stage, in registers */
static FT_ATTR void FTN(fcft_mid)(FT_T *d, ptrdiff_t N, const FT_T *H)
{
    VT *v = (VT *)d;
    ptrdiff_t b;
    for (b = 0; b < N; b += 4) {
        VT *p = v + 2 * b;
        const FT_T *h = H + 2 * b;
        VT a0r = p[0], a0i = p[1], a1r = p[2], a1i = p[3];
        VT a2r = p[4], a2i = p[5], a3r = p[6], a3i = p[7];
        VT t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i;
        VT t2r = a1r + a3r, t2i = a1i + a3i;
        VT t3r = a1i - a3i, t3i = a3r - a1r;
        VT x0r = t0r + t2r, x0i = t0i + t2i, x1r = t1r + t3r, x1i = t1i + t3i;
        VT x2r = t0r - t2r, x2i = t0i - t2i, x3r = t1r - t3r, x3i = t1i - t3i;
        VT c0r = x0r * h[0] - x0i * h[1], c0i = x0r * h[1] + x0i * h[0];
        VT c1r = x1r * h[2] - x1i * h[3], c1i = x1r * h[3] + x1i * h[2];
        VT c2r = x2r * h[4] - x2i * h[5], c2i = x2r * h[5] + x2i * h[4];
        VT c3r = x3r * h[6] - x3i * h[7], c3i = x3r * h[7] + x3i * h[6];
        VT u0r = c0r + c2r, u0i = c0i + c2i, u1r = c0r - c2r, u1i = c0i - c2i;
        VT u2r = c1r + c3r, u2i = c1i + c3i;
        VT u3r = c3i - c1i, u3i = c1r - c3r;
        p[0] = u0r + u2r;
        p[1] = u0i + u2i;
        p[2] = u1r + u3r;
        p[3] = u1i + u3i;
        p[4] = u0r - u2r;
        p[5] = u0i - u2i;
        p[6] = u1r - u3r;
        p[7] = u1i - u3i;
    }
}

/* the same for an odd log2 N: the radix-2 stage of length 2 around the product */
static FT_ATTR void FTN(fcft_mid2)(FT_T *d, ptrdiff_t N, const FT_T *H)
{
    VT *v = (VT *)d;
    ptrdiff_t b;
    for (b = 0; b < N; b += 2) {
        VT *p = v + 2 * b;
        const FT_T *h = H + 2 * b;
        VT x0r = p[0] + p[2], x0i = p[1] + p[3], x1r = p[0] - p[2], x1i = p[1] - p[3];
        VT c0r = x0r * h[0] - x0i * h[1], c0i = x0r * h[1] + x0i * h[0];
        VT c1r = x1r * h[2] - x1i * h[3], c1i = x1r * h[3] + x1i * h[2];
        p[0] = c0r + c1r;
        p[1] = c0i + c1i;
        p[2] = c0r - c1r;
        p[3] = c0i - c1i;
    }
}

/* forward transform, product with H, inverse: the stages longer than a chunk
 * of L1 (16 KB) pass over the whole buffer, the others run chunk by chunk */
static FT_ATTR void FTN(fcft_conv)(FT_T *d, ptrdiff_t N, const FT_T *tw, const FT_T *H)
{
    ptrdiff_t off[32] = {0}, M, c, base;
    int odd, top, m = 1, lo;
    VT *v = (VT *)d;
    FTN(fcft_offsets)(N, off, &odd, &top);
    base = 1 + odd;
    lo = odd ? 1 : 2;
    while (m < top && (base << (2 * (m + 1))) * 2 * (ptrdiff_t)sizeof(VT) <= 16384) m++;
    M = base << (2 * m);
    FTN(fcft_fwd4)(v, N, tw, off, top, m + 1, base);
    for (c = 0; c < N; c += M) {
        FTN(fcft_fwd4)(v + 2 * c, M, tw, off, m, lo, base);
        if (odd)
            FTN(fcft_mid2)(d + 2 * c * NV, M, H + 2 * c);
        else
            FTN(fcft_mid)(d + 2 * c * NV, M, H + 2 * c);
        FTN(fcft_inv4)(v + 2 * c, M, tw, off, lo, m, base);
    }
    FTN(fcft_inv4)(v, N, tw, off, m + 1, top, base);
}

/* the whole forward transform (digit-reversed out), or N times the inverse
 * (digit-reversed in), of a buffer: for tests */
static FT_ATTR void FTN(fcft_transform)(FT_T *buf, ptrdiff_t N, const FT_T *tw, int inverse)
{
    if (inverse)
        FTN(fcft_inv)(buf, N, tw, 1);
    else
        FTN(fcft_fwd)(buf, N, tw, 1);
}

/* H = FFT(w zero-padded to N) / N, digit-reversed, as (re, im) pairs; buf: a
 * group buffer (N elements of V lanes) used as scratch */
static FT_ATTR void FTN(fcft_spectrum)(const FT_T *w, ptrdiff_t k, ptrdiff_t ws, int wcplx,
                                       ptrdiff_t N, const FT_T *tw, FT_T *buf, FT_T *H)
{
    ptrdiff_t m;
    FT_T scale = (FT_T)1 / (FT_T)N;
    memset(buf, 0, (size_t)(2 * N * NV) * sizeof(FT_T));
    for (m = 0; m < k && m < N; m++) {
        buf[2 * m * NV] = w[m * ws];
        buf[(2 * m + 1) * NV] = wcplx ? w[m * ws + 1] : (FT_T)0;
    }
    FTN(fcft_fwd)(buf, N, tw, 1);
    for (m = 0; m < N; m++) {
        H[2 * m] = buf[2 * m * NV] * scale;
        H[2 * m + 1] = buf[(2 * m + 1) * NV] * scale;
    }
}

static inline ptrdiff_t FTN(fcft_clamp)(ptrdiff_t a, ptrdiff_t lo, ptrdiff_t hi)
{
    return a < lo ? lo : a > hi ? hi : a;
}

/* gather N elements of each slot (lane l = s / 2, part s % 2) from src[s]
 * (element n at src[s][n * xcs]), zeros outside [lo[s], hi[s]) */
static FT_ATTR void FTN(fcft_gather)(FT_T *buf, ptrdiff_t N, const FT_T *const *src,
                                     const ptrdiff_t *lo, const ptrdiff_t *hi, ptrdiff_t xcs,
                                     int xcplx, int pair)
{
    const ptrdiff_t V = NV;
    ptrdiff_t s, n0, n;
    for (n0 = 0; n0 < N; n0 += V) {
        int part;
#if FCFT_VEC
        /* V elements of V slots: a V x V transpose (a slot that reads past an
         * end of its signal goes through a zero-padded copy) */
        if (xcs == (xcplx ? 2 : 1) && (pair || xcplx)) {
            VT r[NV], q[NV];
            FT_T tmp[2 * NV] __attribute__((aligned(FT_VB)));
            ptrdiff_t l;
            if (pair) {
                for (part = 0; part < 2; part++) {
                    for (l = 0; l < V; l++) {
                        s = 2 * l + part;
                        if (lo[s] <= n0 && hi[s] >= n0 + V) {
                            /* 2V streams at once outrun the hardware prefetchers */
                            __builtin_prefetch(src[s] + n0 + 8 * V);
                            r[l] = *(const VU *)(src[s] + n0);
                            continue;
                        }
                        for (n = 0; n < V; n++)
                            tmp[n] = n0 + n >= lo[s] && n0 + n < hi[s] ? src[s][n0 + n] : 0;
                        r[l] = *(const VT *)tmp;
                    }
                    FTN(fcft_transpose)(r);
                    for (n = 0; n < V; n++) *(VT *)(buf + (2 * (n0 + n) + part) * V) = r[n];
                }
                continue;
            }
            for (l = 0; l < V; l++) {
                VT va, vb;
                s = 2 * l;
                if (lo[s] <= n0 && hi[s] >= n0 + V) {
                    __builtin_prefetch(src[s] + 2 * n0 + 8 * V);
                    __builtin_prefetch(src[s] + 2 * n0 + 9 * V);
                    va = *(const VU *)(src[s] + 2 * n0);
                    vb = *(const VU *)(src[s] + 2 * n0 + V);
                } else {
                    for (n = 0; n < V; n++) {
                        int in = n0 + n >= lo[s] && n0 + n < hi[s];
                        tmp[2 * n] = in ? src[s][2 * (n0 + n)] : 0;
                        tmp[2 * n + 1] = in ? src[s][2 * (n0 + n) + 1] : 0;
                    }
                    va = *(const VT *)tmp;
                    vb = *(const VT *)(tmp + V);
                }
                r[l] = EVN(va, vb);
                q[l] = ODD(va, vb);
            }
            FTN(fcft_transpose)(r);
            FTN(fcft_transpose)(q);
            for (n = 0; n < V; n++) {
                *(VT *)(buf + 2 * (n0 + n) * V) = r[n];
                *(VT *)(buf + (2 * (n0 + n) + 1) * V) = q[n];
            }
            continue;
        }
#endif
        for (part = 0; part < 2; part++) {
            for (s = part; s < 2 * V; s += 2) {
                FT_T *dst = buf + part * V + s / 2;
                const FT_T *p = src[s];
                ptrdiff_t e = n0 + V;
                ptrdiff_t a = FTN(fcft_clamp)(lo[s], n0, e), z = FTN(fcft_clamp)(hi[s], a, e);
                for (n = n0; n < a; n++) dst[2 * n * V] = 0;
                for (n = a; n < z; n++) dst[2 * n * V] = p[n * xcs];
                for (n = z; n < e; n++) dst[2 * n * V] = 0;
            }
        }
    }
}

/* scatter elements 0 .. hi[s] - 1 of each slot, from bk (the block's element
 * k - 1), to dst[s] (output n at dst[s][n * ocs]); step: the outputs of a block */
static FT_ATTR void FTN(fcft_scatter)(const FT_T *bk, ptrdiff_t step, FT_T *const *dst,
                                      const ptrdiff_t *hi, ptrdiff_t ocs, int pair)
{
    const ptrdiff_t V = NV;
    ptrdiff_t s, n0, n;
    for (n0 = 0; n0 < step; n0 += V) {
        int part;
        const FT_T *b0 = bk + 2 * n0 * V;
#if FCFT_VEC
        /* V x V transposes while V outputs fit in the block (a slot with fewer
         * outputs left stores them one by one) */
        if (n0 + V <= step && ocs == (pair ? 1 : 2)) {
            VT r[NV], q[NV];
            FT_T tmp[2 * NV] __attribute__((aligned(FT_VB)));
            ptrdiff_t l, m;
            if (pair) {
                for (part = 0; part < 2; part++) {
                    for (n = 0; n < V; n++) r[n] = *(const VT *)(b0 + (2 * n + part) * V);
                    FTN(fcft_transpose)(r);
                    for (l = 0; l < V; l++) {
                        s = 2 * l + part;
                        m = hi[s] - n0;
                        if (m >= V) {
                            *(VU *)(dst[s] + n0) = r[l];
                        } else if (m > 0) {
                            *(VT *)tmp = r[l];
                            for (n = 0; n < m; n++) dst[s][n0 + n] = tmp[n];
                        }
                    }
                }
                continue;
            }
            for (n = 0; n < V; n++) {
                r[n] = *(const VT *)(b0 + 2 * n * V);
                q[n] = *(const VT *)(b0 + (2 * n + 1) * V);
            }
            FTN(fcft_transpose)(r);
            FTN(fcft_transpose)(q);
            for (l = 0; l < V; l++) {
                FT_T *o = dst[2 * l] + 2 * n0;
                m = hi[2 * l] - n0;
                if (m >= V) {
                    *(VU *)o = ZLO(r[l], q[l]);
                    *(VU *)(o + V) = ZHI(r[l], q[l]);
                } else if (m > 0) {
                    *(VT *)tmp = ZLO(r[l], q[l]);
                    *(VT *)(tmp + V) = ZHI(r[l], q[l]);
                    for (n = 0; n < 2 * m; n++) o[n] = tmp[n];
                }
            }
            continue;
        }
#endif
        for (part = 0; part < 2; part++) {
            for (s = part; s < 2 * V; s += 2) {
                const FT_T *q = b0 + part * V + s / 2;
                FT_T *o = dst[s] + n0 * ocs;
                ptrdiff_t z = hi[s] - n0 < V ? hi[s] - n0 : V;
                for (n = 0; n < z; n++) o[n * ocs] = q[2 * n * V];
            }
        }
    }
}

/* one group: the blocks g0 .. g0 + (2)V - 1 (those past the last are zeros and
 * write nothing): gather, transform, product, inverse, scatter */
static FT_ATTR void FTN(fcft_group)(const fcft_job *J, ptrdiff_t g0, FT_T *buf,
                                    const FT_T *tw, const FT_T *H)
{
    const ptrdiff_t V = NV, N = J->N, k = J->k, step = J->step;
    const ptrdiff_t total = J->rows * J->nb;
    const FT_T *x = (const FT_T *)J->x;
    FT_T *out = (FT_T *)J->out;
    ptrdiff_t s;
    /* per slot (lane l = s / 2, part s % 2): source, its valid range, block */
    const FT_T *src[2 * NV];
    ptrdiff_t lo[2 * NV], hi[2 * NV], blk[2 * NV];
    for (s = 0; s < 2 * V; s++) {
        ptrdiff_t g = J->pair ? g0 + s : g0 + s / 2;
        int part = (int)(s & 1);
        blk[s] = g < total ? g : -1;
        lo[s] = hi[s] = 0;
        src[s] = x;
        if (g >= total || (!J->pair && part && !J->xcplx))
            continue;
        ptrdiff_t row = g / J->nb, b = g % J->nb;
        ptrdiff_t i0 = J->start + b * step - (k - 1);
        lo[s] = i0 < 0 ? -i0 : 0;
        hi[s] = J->n - i0 < N ? J->n - i0 : N;
        if (hi[s] < lo[s]) hi[s] = lo[s];
        src[s] = x + row * J->xrs + i0 * J->xcs + (J->xcplx ? part : 0);
    }
    FTN(fcft_gather)(buf, N, src, lo, hi, J->xcs, J->xcplx, J->pair);
    FTN(fcft_conv)(buf, N, tw, H);
    /* scatter the valid outputs (elements k - 1 ..) of each block */
    for (s = 0; s < 2 * V; s++) {
        if (blk[s] < 0) {
            lo[s] = hi[s] = 0;
            continue;
        }
        ptrdiff_t row = blk[s] / J->nb, b = blk[s] % J->nb;
        ptrdiff_t cnt = J->length - b * step < step ? J->length - b * step : step;
        lo[s] = 0;
        hi[s] = cnt;
        src[s] = out + row * J->ors + b * step * J->ocs + (J->pair ? 0 : (s & 1));
    }
    FTN(fcft_scatter)(buf + 2 * (k - 1) * V, step, (FT_T *const *)src, hi, J->ocs, J->pair);
}

/* one group of 2-D blocks (see fcft_job2): gather row by row, 2-D transform,
 * product, inverse, scatter row by row */
static FT_ATTR void FTN(fcft_group2)(const fcft_job2 *J, ptrdiff_t g0, FT_T *buf,
                                     const FT_T *twr, const FT_T *twc, const FT_T *H)
{
    const ptrdiff_t V = NV, Nr = J->Nr, Nc = J->Nc;
    const ptrdiff_t per = J->nbr * J->nbc, total = J->planes * per;
    const FT_T *x = (const FT_T *)J->x;
    FT_T *out = (FT_T *)J->out;
    ptrdiff_t s, r, e;
    const FT_T *base[2 * NV], *src[2 * NV];
    FT_T *dst[2 * NV];
    ptrdiff_t lo[2 * NV], hi[2 * NV], rlo[2 * NV], rhi[2 * NV], i0[2 * NV];
    ptrdiff_t blk[2 * NV], obr[2 * NV], obc[2 * NV], opl[2 * NV];
    for (s = 0; s < 2 * V; s++) {
        ptrdiff_t g = J->pair ? g0 + s : g0 + s / 2;
        int part = (int)(s & 1);
        blk[s] = g < total ? g : -1;
        lo[s] = hi[s] = 0;
        i0[s] = 0;
        base[s] = x;
        opl[s] = obr[s] = obc[s] = 0;
        if (g >= total) continue;
        opl[s] = g / per;
        obr[s] = (g % per) / J->nbc;
        obc[s] = g % J->nbc;
        if (!J->pair && part && !J->xcplx) continue;
        ptrdiff_t j0 = J->sc + obc[s] * J->stc - (J->kc - 1);
        i0[s] = J->sr + obr[s] * J->str - (J->kr - 1);
        lo[s] = j0 < 0 ? -j0 : 0;
        hi[s] = J->W - j0 < Nc ? J->W - j0 : Nc;
        if (hi[s] < lo[s]) hi[s] = lo[s];
        base[s] = x + opl[s] * J->xps + j0 * J->xcs + (J->xcplx ? part : 0);
    }
    for (r = 0; r < Nr; r++) {
        for (s = 0; s < 2 * V; s++) {
            ptrdiff_t i = i0[s] + r;
            int in = i >= 0 && i < J->H;
            rlo[s] = in ? lo[s] : 0;
            rhi[s] = in ? hi[s] : 0;
            src[s] = in ? base[s] + i * J->xrs : x;
        }
        FTN(fcft_gather)(buf + 2 * r * Nc * V, Nc, src, rlo, rhi, J->xcs, J->xcplx, J->pair);
    }
    FTN(fcft_fwd2)(buf, Nr, Nc, twr, twc);
    for (e = 0; e < Nr * Nc; e++) {
        VT *p = (VT *)buf + 2 * e;
        FT_T hr = H[2 * e], hi_ = H[2 * e + 1];
        VT pr = p[0], pi = p[1];
        p[0] = pr * hr - pi * hi_;
        p[1] = pr * hi_ + pi * hr;
    }
    FTN(fcft_inv2)(buf, Nr, Nc, twr, twc);
    for (r = 0; r < J->str; r++) {
        for (s = 0; s < 2 * V; s++) {
            ptrdiff_t oi = obr[s] * J->str + r, c0 = obc[s] * J->stc;
            int ok = blk[s] >= 0 && oi < J->lr;
            rhi[s] = ok ? (J->lc - c0 < J->stc ? J->lc - c0 : J->stc) : 0;
            dst[s] = ok ? out + opl[s] * J->ops + oi * J->ors + c0 * J->ocs +
                              (J->pair ? 0 : (s & 1)) : out;
        }
        FTN(fcft_scatter)(buf + 2 * ((J->kr - 1 + r) * Nc + J->kc - 1) * V, J->stc, dst, rhi,
                          J->ocs, J->pair);
    }
}

#if FCFT_VEC
#undef VU
#undef MT
#undef ZLO
#undef ZHI
#undef EVN
#undef ODD
#endif
#undef VT
#undef NV
#undef FT_IT
#undef FT_NV
#undef FTN
#undef FT_CAT
#undef FT_CAT2
#undef FT_T
#undef FT_SUF
#undef FT_VB
#undef FT_ATTR
