/* Winograd F(2x2, 3x3) and F(2x2x2, 3x3x3) transforms (Lavin & Gray 2016), and
 * F(2, 3) on each three taps of a 1-D kernel (at the end), for one element
 * type; included by fc_isa_template.h after fc_gemm_kernel.h (mload_/mstore_)
 * and fc_layout_template.h (tvec_).
 *
 * Along one axis a 3-tap stride-1 correlation of 4 inputs d with g gives the 2
 * outputs  y = A^T [ (G g) o (B^T d) ],
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
 * G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]; in 2-D and 3-D the transforms act
 * along every axis (nd = 2: a 4x4 input tile, 16 points, 16 products per 4
 * outputs instead of 36; nd = 3: 4x4x4, 64 points, 64 per 8 instead of 216).
 * Summed over channels, the NP = 4^nd transform points xi are NP independent
 * GEMMs  M[xi] = U[xi] (Mg x C) @ V[xi] (C x tiles): here are the input
 * transform (d -> V, wino_in) and the GEMMs, with gemm_rows' microkernel,
 * followed by the output transform (M -> Y, + bias; wino_gemm_out).  Every
 * entry of B and A is 0 or +-1, so both transforms are sums and differences
 * only, in a fixed order: a tile gives the same bits in any lane of any block.
 * These keep float32 inside the direct convolution's error bound (the tests'
 * 2 sqrt(K) eps S; F(4x4, 3x3), with its +-2, +-4 and 1/6, did not: up to 5.6x
 * that bound measured) and are exact on small integers.
 *
 * Tiles are numbered t = (dz * TH + r) * TW + tw over a volume of output tile
 * slices dz (one in 2-D), rows r and columns tw; tile (dz, r, tw) reads the
 * input slices 2dz..2dz+3 (nd = 3), rows 2r..2r+3, columns 2tw..2tw+3.  The
 * vector loops run whole vectors of tiles along a tile row (dz, r): the lanes
 * past a row's last tile compute junk that lands in the next row's columns
 * (written again, correctly, right after) or past the block (the vector's
 * worth of slack the caller leaves in each row of V), and read up to
 * FC_WINO_SLACK elements past the end of the input volume.
 */

/* B^T d along one axis, d0..d3 -> out[0..3] (the same order for vectors and
 * scalars, every transform below built from it) */
#define FC_WINO_BT(out, d0, d1, d2, d3)                                        \
    do {                                                                       \
        (out)[0] = (d0) - (d2);                                                \
        (out)[1] = (d1) + (d2);                                                \
        (out)[2] = (d2) - (d1);                                                \
        (out)[3] = (d1) - (d3);                                                \
    } while (0)

/* The input slices whose sum or difference is depth point zeta (the rows of
 * B^T): point zeta = slice wino_za_[zeta] - slice wino_zb_[zeta], + for
 * zeta = 1. */
static const int FC_FN(wino_za_)[4] = {0, 1, 2, 1};
static const int FC_FN(wino_zb_)[4] = {2, 2, 1, 3};

/* V[(xi * C + c) * ldv + t - t0] = (B^T d B)[xi] of tile t in [t0, t0 + nt)
 * of one phase volume of channel c, its input at pad + c * cs, slices sl and
 * rows Q2 apart. */
static inline __attribute__((always_inline)) void FC_FN(wino_in_vol_)(
    const T *pad, fc_idx cs, fc_idx sl, fc_idx Q2, fc_idx C, fc_idx TH, fc_idx TW, fc_idx t0,
    fc_idx nt, T *V, fc_idx ldv, const int nd)
{
    const fc_idx pstride = C * ldv;  /* between transform points */
    for (fc_idx c = 0; c < C; c++) {
        const T *vol = pad + c * cs;
        T *vc = V + c * ldv - t0;
        for (fc_idx t = t0; t < t0 + nt;) {
            const fc_idx R = t / TW, a = t - R * TW;
            const fc_idx b = TW < a + (t0 + nt - t) ? TW : a + (t0 + nt - t);
            const fc_idx dz = R / TH;
            const T *rows = vol + 2 * dz * sl + 2 * (R - dz * TH) * Q2;
            T *vr = vc + R * TW;
#if FC_HAVE_VECTORS
            typedef FC_FN(tvec_) TV;
            typedef FC_FN(tivec_) TIV;
            enum { TL = FC_VBYTES / sizeof(T) };
            for (fc_idx tw = a; tw < b; tw += TL) {
                FC_UNROLL for (int zeta = 0; zeta < 4; zeta++) {
                    if (nd != 3 && zeta) break;
                    TV w[4][4];
                    FC_UNROLL for (int i = 0; i < 4; i++) {
                        /* depth first (nd = 3): the rows of the two slices of
                         * point zeta combined, then B^T along the columns */
                        TV x[2][4];
                        FC_UNROLL for (int h = 0; h < 2; h++) {
                            if (nd != 3 && h) break;
                            const int z = h ? FC_FN(wino_zb_)[zeta] : FC_FN(wino_za_)[zeta];
                            const T *s = rows + (nd == 3 ? z * sl : 0) + i * Q2 + 2 * tw;
                            memcpy(&x[h][0], s, sizeof(TV));
                            memcpy(&x[h][1], s + TL, sizeof(TV));
                            memcpy(&x[h][2], s + 2, sizeof(TV));
                            memcpy(&x[h][3], s + 2 + TL, sizeof(TV));
                        }
                        if (nd == 3)
                            FC_UNROLL for (int k = 0; k < 4; k++)
                                x[0][k] = zeta == 1 ? x[0][k] + x[1][k] : x[0][k] - x[1][k];
                        FC_WINO_BT(w[i], FC_EVENS(TV, TIV, TLANES, x[0][0], x[0][1]),
                                   FC_ODDS(TV, TIV, TLANES, x[0][0], x[0][1]),
                                   FC_EVENS(TV, TIV, TLANES, x[0][2], x[0][3]),
                                   FC_ODDS(TV, TIV, TLANES, x[0][2], x[0][3]));
                    }
                    FC_UNROLL for (int j = 0; j < 4; j++) {
                        TV v[4];
                        FC_WINO_BT(v, w[0][j], w[1][j], w[2][j], w[3][j]);
                        FC_UNROLL for (int i = 0; i < 4; i++)
                            memcpy(vr + (16 * zeta + 4 * i + j) * pstride + tw, &v[i],
                                   sizeof(TV));
                    }
                }
            }
#else
            for (fc_idx tw = a; tw < b; tw++) {
                for (int zeta = 0; zeta < (nd == 3 ? 4 : 1); zeta++) {
                    T w[4][4];
                    for (int i = 0; i < 4; i++) {
                        const T *s = rows + i * Q2 + 2 * tw;
                        T x[4];
                        for (int k = 0; k < 4; k++)
                            x[k] = nd != 3 ? s[k]
                                   : zeta == 1 ? s[FC_FN(wino_za_)[zeta] * sl + k]
                                                     + s[FC_FN(wino_zb_)[zeta] * sl + k]
                                               : s[FC_FN(wino_za_)[zeta] * sl + k]
                                                     - s[FC_FN(wino_zb_)[zeta] * sl + k];
                        FC_WINO_BT(w[i], x[0], x[1], x[2], x[3]);
                    }
                    for (int j = 0; j < 4; j++) {
                        T v[4];
                        FC_WINO_BT(v, w[0][j], w[1][j], w[2][j], w[3][j]);
                        for (int i = 0; i < 4; i++)
                            vr[(16 * zeta + 4 * i + j) * pstride + tw] = v[i];
                    }
                }
            }
#endif
            t += b - a;
        }
    }
}

/* The same for tiles [t0, t0 + nt) numbered across phase volumes of PT tiles
 * each, volume q's input at pad + q * vol: a block of tiles may span volumes
 * (the dilation phases of an image), so that the GEMM blocks stay full. */
static inline __attribute__((always_inline)) void FC_FN(wino_in_nd_)(
    const T *pad, fc_idx vol, fc_idx cs, fc_idx sl, fc_idx Q2, fc_idx C, fc_idx TH, fc_idx TW,
    fc_idx PT, fc_idx t0, fc_idx nt, T *V, fc_idx ldv, const int nd)
{
    /* in increasing order: a volume's junk lanes land in the next one's columns */
    for (fc_idx t = t0; t < t0 + nt;) {
        const fc_idx q = t / PT, e = (q + 1) * PT < t0 + nt ? (q + 1) * PT : t0 + nt;
        FC_FN(wino_in_vol_)(pad + q * vol, cs, sl, Q2, C, TH, TW, t - q * PT, e - t,
                            V + (t - t0), ldv, nd);
        t = e;
    }
}

static void FC_FN(wino_in_)(const T *pad, fc_idx vol, fc_idx cs, fc_idx sl, fc_idx Q2,
                            fc_idx C, fc_idx TH, fc_idx TW, fc_idx PT, fc_idx t0, fc_idx nt,
                            T *V, fc_idx ldv, int nd)
{
    if (nd == 3)
        FC_FN(wino_in_nd_)(pad, vol, cs, sl, Q2, C, TH, TW, PT, t0, nt, V, ldv, 3);
    else
        FC_FN(wino_in_nd_)(pad, vol, cs, sl, Q2, C, TH, TW, PT, t0, nt, V, ldv, 2);
}

/* The 2x2 outputs of one tile from its 16 transform points m[xi] (+ bias): the
 * same expression for vectors and scalars. */
#define FC_WINO_OUT(m, y, bias)                                                 \
    do {                                                                        \
        for (int i_ = 0; i_ < 4; i_++) {                                        \
            s_[0][i_] = m[i_] + m[4 + i_] + m[8 + i_];                          \
            s_[1][i_] = m[4 + i_] - m[8 + i_] - m[12 + i_];                     \
        }                                                                       \
        for (int i_ = 0; i_ < 2; i_++) {                                        \
            y[i_][0] = s_[i_][0] + s_[i_][1] + s_[i_][2] + (bias);              \
            y[i_][1] = s_[i_][1] - s_[i_][2] - s_[i_][3] + (bias);              \
        }                                                                       \
    } while (0)

#if FC_HAVE_VECTORS
/* The outputs 2tw + 2l (y0's lane l) and 2tw + 2l + 1 (y1's) of a vector of
 * tiles, the first ncol of them, to yr[(2tw + j) * ys2]. */
static inline void FC_FN(wino_put_)(T *yr, fc_idx tw, fc_idx ys2, FC_FN(tvec_) y0,
                                    FC_FN(tvec_) y1, fc_idx ncol)
{
    typedef FC_FN(tvec_) TV;
    typedef FC_FN(tivec_) TIV;
    enum { TL = FC_VBYTES / sizeof(T) };
    const TV lo = FC_SPREAD_LO(TV, TIV, TLANES, y0, y1);
    const TV hi = FC_SPREAD_HI(TV, TIV, TLANES, y0, y1);
    if (ys2 == 1) {
        T *p = yr + 2 * tw;
        if (ncol >= 2 * TL) {
            memcpy(p, &lo, sizeof(TV));
            memcpy(p + TL, &hi, sizeof(TV));
        } else {
            const int n0 = (int)(ncol < TL ? ncol : TL);
            const int n1 = (int)(ncol - n0);
            FC_FN(mstore_)(p, (unsigned)((1ull << n0) - 1), lo);
            if (n1 > 0) FC_FN(mstore_)(p + TL, (unsigned)((1ull << n1) - 1), hi);
        }
    } else {
        T v[2 * TL];
        memcpy(v, &lo, sizeof(TV));
        memcpy(v + TL, &hi, sizeof(TV));
        const fc_idx n = ncol < 2 * TL ? ncol : 2 * TL;
        for (fc_idx j = 0; j < n; j++) yr[(2 * tw + j) * ys2] = v[j];
    }
}

/* 1 if some lane of chk is NaN */
static inline int FC_FN(wino_nan_)(FC_FN(tvec_) chk)
{
    T c[FC_VBYTES / sizeof(T)];
    memcpy(c, &chk, sizeof(chk));
    for (size_t j = 0; j < sizeof(c) / sizeof(T); j++)
        if (c[j] != c[j]) return 1;
    return 0;
}
#endif

/* Output m of tile t in [t0, t0 + nt): Y = A^T M A (+ bias[m]) from
 * Mb[xi * pstride + m * ldm + t - t0], to y[m * P + oz * ys0 + oh * ys1 +
 * ow * ys2] for the real outputs oz < OD, oh < OH, ow < OW of the tile (2dz +
 * {0, 1} (nd = 3; else oz = dz = 0), 2r + {0, 1}, 2tw + {0, 1}).  Returns 1 if
 * some output it computed (stored or not) is not finite. */
static inline __attribute__((always_inline)) int FC_FN(wino_out_)(
    const T *Mb, fc_idx pstride, fc_idx ldm, fc_idx M, fc_idx TH, fc_idx TW, fc_idx t0,
    fc_idx nt, const T *bias, T *y, fc_idx OD, fc_idx OH, fc_idx OW, fc_idx ys0, fc_idx ys1,
    fc_idx ys2, fc_idx P, const int nd)
{
#if FC_HAVE_VECTORS
    FC_FN(tvec_) chk = {0};
#else
    T chk = 0;
#endif
    /* chk + (y - y) is NaN from the first infinite or NaN y on */
    for (fc_idx m = 0; m < M; m++) {
        const T bm = bias ? bias[m] : (T)0;
        const T *mm = Mb + m * ldm - t0;
        T *ym = y + m * P;
        for (fc_idx t = t0; t < t0 + nt;) {
            const fc_idx R = t / TW, a = t - R * TW;
            const fc_idx b = TW < a + (t0 + nt - t) ? TW : a + (t0 + nt - t);
            const fc_idx dz = R / TH, r = R - dz * TH;
            const T *mr = mm + R * TW;
            /* volumes smaller than the tile grid (dilation phases of unequal
             * sizes) have tiles with no real output at all */
            const int rows = 2 * r + 1 < OH ? 2 : 2 * r < OH ? 1 : 0;
            const int slices = nd != 3 ? 1 : 2 * dz + 1 < OD ? 2 : 2 * dz < OD ? 1 : 0;
#if FC_HAVE_VECTORS
            typedef FC_FN(tvec_) TV;
            enum { TL = FC_VBYTES / sizeof(T) };
            for (fc_idx tw = a; tw < b; tw += TL) {
                /* real outputs of these lanes' columns 2tw .. 2tw + 2 TL */
                const fc_idx cend = 2 * b < OW ? 2 * b : OW;
                const fc_idx ncol = cend - 2 * tw;
                for (int u = 0; u < (nd == 3 ? 2 : 1); u++) {
                    TV mv[16], s_[2][4], yv[2][2];
                    FC_UNROLL for (int k = 0; k < 16; k++) {
                        /* depth first (nd = 3): A^T of points k, 16 + k, 32 + k, 48 + k */
                        const T *p = mr + k * pstride + tw;
                        TV p0, p1, p2;
                        memcpy(&p0, p + (nd == 3 && u ? 16 : 0) * pstride, sizeof(TV));
                        if (nd == 3) {
                            memcpy(&p1, p + (u ? 32 : 16) * pstride, sizeof(TV));
                            memcpy(&p2, p + (u ? 48 : 32) * pstride, sizeof(TV));
                            mv[k] = u ? p0 - p1 - p2 : p0 + p1 + p2;
                        } else {
                            mv[k] = p0;
                        }
                    }
                    FC_WINO_OUT(mv, yv, bm);
                    chk += (yv[0][0] - yv[0][0]) + (yv[0][1] - yv[0][1])
                           + (yv[1][0] - yv[1][0]) + (yv[1][1] - yv[1][1]);
                    if (u >= slices || ncol <= 0) continue;
                    for (int i = 0; i < rows; i++)
                        FC_FN(wino_put_)(ym + (2 * dz + u) * ys0 + (2 * r + i) * ys1, tw, ys2,
                                         yv[i][0], yv[i][1], ncol);
                }
            }
#else
            for (fc_idx tw = a; tw < b; tw++) {
                const int cols = 2 * tw + 1 < OW ? 2 : 2 * tw < OW ? 1 : 0;
                for (int u = 0; u < (nd == 3 ? 2 : 1); u++) {
                    T mv[16], s_[2][4], yv[2][2];
                    for (int k = 0; k < 16; k++) {
                        const T *p = mr + k * pstride + tw;
                        mv[k] = nd != 3 ? p[0]
                                : u ? p[16 * pstride] - p[32 * pstride] - p[48 * pstride]
                                    : p[0] + p[16 * pstride] + p[32 * pstride];
                    }
                    FC_WINO_OUT(mv, yv, bm);
                    chk += (yv[0][0] - yv[0][0]) + (yv[0][1] - yv[0][1])
                           + (yv[1][0] - yv[1][0]) + (yv[1][1] - yv[1][1]);
                    if (u >= slices) continue;
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++)
                            ym[(2 * dz + u) * ys0 + (2 * r + i) * ys1 + (2 * tw + j) * ys2] =
                                yv[i][j];
                }
            }
#endif
            t += b - a;
        }
    }
#if FC_HAVE_VECTORS
    return FC_FN(wino_nan_)(chk);
#else
    return chk != chk;
#endif
}
#undef FC_WINO_OUT

#define NR (NV * (int)(FC_VBYTES / sizeof(T)))  /* the GEMM block's columns */

/* One transform point's GEMM into o (MR x NR, row stride NR): the MR-row panel
 * A of its weights against the rows B + koff[k] of V, reduced over K in
 * increasing k in blocks of kcb (fc_kblock; partial sums kept in o); all NR
 * columns (those past a block's tiles are never stored) and MR rows. */
static inline void FC_FN(wino_point_)(const T *A, const T *B, const fc_idx *koff, fc_idx K,
                                      fc_idx kcb, T *o)
{
    for (fc_idx kc = 0; kc < K; kc += kcb) {
        const fc_idx kl = K - kc < kcb ? K - kc : kcb;
        FC_FN(ukernel_)(kl, A + kc * MR, B, koff + kc, kc ? o : NULL, NR, o, NR, MR, NR, NULL,
                        NULL);
    }
}

/* y for tiles [t0, t0 + nt) (numbered across phase volumes of PT tiles, see
 * wino_in; volume q's outputs at y + pl[4q], pl[4q + 1] x pl[4q + 2] x
 * pl[4q + 3] of them) from their transformed inputs V (rows of channel c of
 * point xi at V + xi * K * ldv + koff[c], koff[c] = c * ldv) and the
 * transformed weights Up (point xi's MR-row panels at Up + xi * ustride): per
 * NR tiles and MR output channels, the NP = 4^nd GEMMs into a block of NP * MR
 * * NR + FC_WINO_SLACK elements (2-D: 24 KiB of L1 on the stack; 3-D: blk, the
 * caller's 96 KiB in L2), then its output transform.
 * The products never go further than L2 (in 2-D, the 16 GEMMs over all Mg
 * channels, then an output transform reading them back from there: vgg3x3
 * about 1.1x the time).  Each point is reduced over K in increasing k, in the
 * K blocks of gemm_rows (fc_kblock).  Returns 1 if some output is not finite
 * (see the driver: an infinite input makes NaNs where the direct sum has
 * infinities, and the transforms can overflow). */
static inline __attribute__((always_inline)) int FC_FN(wino_gemm_out_nd_)(
    const T *Up, fc_idx ustride, const T *V, fc_idx ldv, const fc_idx *koff, fc_idx K,
    fc_idx M, fc_idx TH, fc_idx TW, fc_idx PT, const fc_idx *pl, fc_idx t0, fc_idx nt,
    const T *bias, T *y, fc_idx ys0, fc_idx ys1, fc_idx ys2, fc_idx P, T *blk, const int nd)
{
    const int np = nd == 3 ? 64 : 16;
    const fc_idx kcb = fc_kblock(K, FC_KC);
    int bad = 0;
    for (fc_idx nb = 0; nb < nt; nb += NR) {
        const fc_idx nr = nt - nb < NR ? nt - nb : NR;
        for (fc_idx mb = 0; mb < M; mb += MR) {
            const fc_idx mr = M - mb < MR ? M - mb : MR;
            for (int xi = 0; xi < np; xi++) {
                T *o = blk + xi * MR * NR;
                const T *A = Up + xi * ustride + (mb / MR) * K * MR;
                FC_FN(wino_point_)(A, V + xi * K * ldv + nb, koff, K, kcb, o);
            }
            const fc_idx s0 = t0 + nb, e0 = s0 + nr;
            for (fc_idx s = s0; s < e0;) {
                const fc_idx q = s / PT, e = (q + 1) * PT < e0 ? (q + 1) * PT : e0;
                const fc_idx *v = pl + 4 * q;
                bad |= FC_FN(wino_out_)(blk + (s - s0), MR * NR, NR, mr, TH, TW, s - q * PT,
                                        e - s, bias ? bias + mb : NULL, y + v[0] + mb * P, v[1],
                                        v[2], v[3], ys0, ys1, ys2, P, nd);
                s = e;
            }
        }
    }
    return bad;
}

static int FC_FN(wino_gemm_out_)(const T *Up, fc_idx ustride, const T *V, fc_idx ldv,
                                 const fc_idx *koff, fc_idx K, fc_idx M, fc_idx TH, fc_idx TW,
                                 fc_idx PT, const fc_idx *pl, fc_idx t0, fc_idx nt,
                                 const T *bias, T *y, fc_idx ys0, fc_idx ys1, fc_idx ys2,
                                 fc_idx P, T *blk, int nd)
{
    if (nd == 3)
        return FC_FN(wino_gemm_out_nd_)(Up, ustride, V, ldv, koff, K, M, TH, TW, PT, pl, t0, nt,
                                        bias, y, ys0, ys1, ys2, P, blk, 3);
    /* 2-D: the 24 KiB block on the stack, as it was before 3-D came (the
     * caller's buffer measured the same or up to ~5 % slower on vgg3x3) */
    (void)blk;
#if FC_HAVE_VECTORS
    T blk2[16 * MR * NR + FC_WINO_SLACK] __attribute__((aligned(64)));
#else
    T blk2[16 * MR * NR + FC_WINO_SLACK];
#endif
    /* the output transform's vectors read junk lanes up to the slack: they are
     * never stored, but they go into the finiteness check, so they must be
     * finite (uninitialised stack made a generic two-thread run fall back to
     * the direct sum, whose bits differ) */
    memset(blk2 + 16 * MR * NR, 0, FC_WINO_SLACK * sizeof(T));
    return FC_FN(wino_gemm_out_nd_)(Up, ustride, V, ldv, koff, K, M, TH, TW, PT, pl, t0, nt,
                                    bias, y, ys0, ys1, ys2, P, blk2, 2);
}

/* 1-D: a k-tap stride-1 correlation (k >= 3) as G3 = k / 3 groups of 3 taps,
 * each by F(2, 3) (4 products per 2 outputs instead of 6), and the last
 * rem = k % 3 taps summed directly: the outputs 2j, 2j + 1 of tile j are
 *     y = A^T sum_g [ (G w_g) o (B^T x[2j + 3g .. 2j + 3g + 3]) ]
 *         + sum_r w[3 G3 + r] x[2j + 3 G3 + r + {0, 1}],
 * 4 + 2 GEMMs over channels: transform point p (< 4) of every group, KW =
 * G3 C rows (row g C + c), and the direct sums of output s (0, 1), KD = rem C
 * rows (row r C + c), both with the same weights.  k = 7: 10 products per 2
 * outputs instead of 14.  (F(2, 3) on every group keeps float32 inside the
 * tests' bound for k >= 7, measured; k = 3 over two channels did not.)  Tiles
 * t = q TW + tw are numbered across the phase rows q (of Q2 elements, after
 * each other in pad) of tiles tw. */

/* V[(p KW + g C + c) ldv + t - t0] (p < 4) and V[(4 KW + s KD + r C + c) ldv
 * + t - t0] for tiles [t0, t0 + nt), channel c at pad + c * cs. */
static void FC_FN(wino1_in_)(const T *pad, fc_idx cs, fc_idx Q2, fc_idx C, fc_idx k, fc_idx TW,
                             fc_idx t0, fc_idx nt, T *V, fc_idx ldv)
{
    const fc_idx g3 = k / 3, rem = k % 3, KW = g3 * C, KD = rem * C;
    for (fc_idx c = 0; c < C; c++) {
        for (fc_idx t = t0; t < t0 + nt;) {
            const fc_idx q = t / TW, a = t - q * TW;
            const fc_idx b = TW < a + (t0 + nt - t) ? TW : a + (t0 + nt - t);
            const T *row = pad + c * cs + q * Q2;
            T *vr = V + c * ldv + q * TW - t0;
#if FC_HAVE_VECTORS
            typedef FC_FN(tvec_) TV;
            typedef FC_FN(tivec_) TIV;
            enum { TL = FC_VBYTES / sizeof(T) };
            for (fc_idx tw = a; tw < b; tw += TL) {
                for (fc_idx g = 0; g < g3; g++) {
                    const T *s = row + 2 * tw + 3 * g;
                    TV x0, x1, x2, x3, v[4];
                    memcpy(&x0, s, sizeof(TV));
                    memcpy(&x1, s + TL, sizeof(TV));
                    memcpy(&x2, s + 2, sizeof(TV));
                    memcpy(&x3, s + 2 + TL, sizeof(TV));
                    FC_WINO_BT(v, FC_EVENS(TV, TIV, TLANES, x0, x1),
                               FC_ODDS(TV, TIV, TLANES, x0, x1),
                               FC_EVENS(TV, TIV, TLANES, x2, x3),
                               FC_ODDS(TV, TIV, TLANES, x2, x3));
                    FC_UNROLL for (int p = 0; p < 4; p++)
                        memcpy(vr + (p * KW + g * C) * ldv + tw, &v[p], sizeof(TV));
                }
                for (fc_idx r = 0; r < rem; r++) {
                    const T *s = row + 2 * tw + 3 * g3 + r;
                    TV x0, x1;
                    memcpy(&x0, s, sizeof(TV));
                    memcpy(&x1, s + TL, sizeof(TV));
                    const TV e = FC_EVENS(TV, TIV, TLANES, x0, x1);
                    const TV o = FC_ODDS(TV, TIV, TLANES, x0, x1);
                    memcpy(vr + (4 * KW + r * C) * ldv + tw, &e, sizeof(TV));
                    memcpy(vr + (4 * KW + KD + r * C) * ldv + tw, &o, sizeof(TV));
                }
            }
#else
            for (fc_idx tw = a; tw < b; tw++) {
                for (fc_idx g = 0; g < g3; g++) {
                    const T *s = row + 2 * tw + 3 * g;
                    T v[4];
                    FC_WINO_BT(v, s[0], s[1], s[2], s[3]);
                    for (int p = 0; p < 4; p++) vr[(p * KW + g * C) * ldv + tw] = v[p];
                }
                for (fc_idx r = 0; r < rem; r++) {
                    const T *s = row + 2 * tw + 3 * g3 + r;
                    vr[(4 * KW + r * C) * ldv + tw] = s[0];
                    vr[(4 * KW + KD + r * C) * ldv + tw] = s[1];
                }
            }
#endif
            t += b - a;
        }
        /* the next block's columns of this channel, for the caller's next
         * item (the image, ~2 MiB for eeg1d_k7, streams from L3: ~10 % less
         * time in this function) */
        const fc_idx tn = t0 + nt, qn = tn / TW;
        fc_prefetch(pad + c * cs + qn * Q2 + 2 * (tn - qn * TW),
                    (size_t)(2 * nt + k) * sizeof(T));
    }
}

/* Output m of tiles [t0, t0 + nt) of one phase row (OW outputs, ys2 apart):
 * from the 4 + 2 (direct: rem > 0) points Mb[p * pstride + m * ldm + t - t0],
 * y = A^T m + d + bias[m].  Returns 1 if some output is not finite. */
static int FC_FN(wino1_out_)(const T *Mb, fc_idx pstride, fc_idx ldm, fc_idx M, fc_idx t0,
                             fc_idx nt, const T *bias, T *y, fc_idx OW, fc_idx ys2, fc_idx P,
                             int direct)
{
#if FC_HAVE_VECTORS
    typedef FC_FN(tvec_) TV;
    enum { TL = FC_VBYTES / sizeof(T) };
    TV chk = {0};
#else
    T chk = 0;
#endif
    const fc_idx cend = 2 * (t0 + nt) < OW ? 2 * (t0 + nt) : OW;
    for (fc_idx m = 0; m < M; m++) {
        const T bm = bias ? bias[m] : (T)0;
        const T *mm = Mb + m * ldm - t0;
        T *ym = y + m * P;
#if FC_HAVE_VECTORS
        for (fc_idx tw = t0; tw < t0 + nt; tw += TL) {
            TV p[6], y0, y1;
            FC_UNROLL for (int i = 0; i < 6; i++)
                if (i < 4 || direct) memcpy(&p[i], mm + i * pstride + tw, sizeof(TV));
            y0 = p[0] + p[1] + p[2];
            y1 = p[1] - p[2] - p[3];
            if (direct) {
                y0 += p[4];
                y1 += p[5];
            }
            y0 += bm;
            y1 += bm;
            chk += (y0 - y0) + (y1 - y1);
            if (cend > 2 * tw) FC_FN(wino_put_)(ym, tw, ys2, y0, y1, cend - 2 * tw);
        }
#else
        for (fc_idx tw = t0; tw < t0 + nt; tw++) {
            const T *p = mm + tw;
            T y0 = p[0] + p[pstride] + p[2 * pstride];
            T y1 = p[pstride] - p[2 * pstride] - p[3 * pstride];
            if (direct) {
                y0 += p[4 * pstride];
                y1 += p[5 * pstride];
            }
            y0 += bm;
            y1 += bm;
            chk += (y0 - y0) + (y1 - y1);
            if (2 * tw < OW) ym[2 * tw * ys2] = y0;
            if (2 * tw + 1 < OW) ym[(2 * tw + 1) * ys2] = y1;
        }
#endif
    }
#if FC_HAVE_VECTORS
    return FC_FN(wino_nan_)(chk);
#else
    return chk != chk;
#endif
}

/* y for tiles [t0, t0 + nt) (numbered across phase rows of TW tiles; row q's
 * outputs at y + pl[4q], pl[4q + 3] of them, ys2 apart) from their
 * transformed inputs V (wino1_in; koff[i] = i * ldv) and the weights Up
 * (point p's MR-row panels at Up + p * ustride, the direct taps' at Up + 4 *
 * ustride): per NR tiles and MR output channels the 4 + 2 GEMMs into a block
 * of L1, then the output transform, as wino_gemm_out. */
static int FC_FN(wino1_gemm_out_)(const T *Up, fc_idx ustride, const T *V, fc_idx ldv,
                                  const fc_idx *koff, fc_idx C, fc_idx k, fc_idx M, fc_idx TW,
                                  const fc_idx *pl, fc_idx t0, fc_idx nt, const T *bias, T *y,
                                  fc_idx ys2, fc_idx P)
{
#if FC_HAVE_VECTORS
    T blk[6 * MR * NR + FC_WINO_SLACK] __attribute__((aligned(64)));
#else
    T blk[6 * MR * NR + FC_WINO_SLACK];
#endif
    memset(blk + 6 * MR * NR, 0, FC_WINO_SLACK * sizeof(T));     /* as in 2-D */
    const fc_idx KW = k / 3 * C, KD = k % 3 * C;
    const fc_idx kbw = fc_kblock(KW, FC_KC), kbd = fc_kblock(KD, FC_KC);
    int bad = 0;
    for (fc_idx nb = 0; nb < nt; nb += NR) {
        const fc_idx nr = nt - nb < NR ? nt - nb : NR;
        for (fc_idx mb = 0; mb < M; mb += MR) {
            const fc_idx mr = M - mb < MR ? M - mb : MR;
            for (int p = 0; p < (KD ? 6 : 4); p++) {
                T *o = blk + p * MR * NR;
                const fc_idx K = p < 4 ? KW : KD, kcb = p < 4 ? kbw : kbd;
                const T *A = p < 4 ? Up + p * ustride + (mb / MR) * KW * MR
                                   : Up + 4 * ustride + (mb / MR) * KD * MR;
                FC_FN(wino_point_)(A, V + (p < 4 ? p * KW : 4 * KW + (p - 4) * KD) * ldv + nb,
                                   koff, K, kcb, o);
            }
            const fc_idx s0 = t0 + nb, e0 = s0 + nr;
            for (fc_idx s = s0; s < e0;) {
                const fc_idx q = s / TW, e = (q + 1) * TW < e0 ? (q + 1) * TW : e0;
                bad |= FC_FN(wino1_out_)(blk + (s - s0), MR * NR, NR, mr, s - q * TW, e - s,
                                         bias ? bias + mb : NULL, y + pl[4 * q] + mb * P,
                                         pl[4 * q + 3], ys2, P, KD > 0);
                s = e;
            }
        }
    }
    return bad;
}
#undef NR
