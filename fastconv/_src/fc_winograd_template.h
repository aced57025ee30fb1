/* Winograd F(2x2, 3x3) transforms (Lavin & Gray 2016) for one element type;
 * included by fc_isa_template.h after fc_gemm_kernel.h (mload_/mstore_) and
 * fc_pack_template.h (tvec_).
 *
 * A 3x3 stride-1 correlation of a 4x4 input tile d with g gives the 2x2 tile
 *     Y = A^T [ (G g G^T) o (B^T d B) ] A,
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
 * G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]: 16 products per 4 outputs instead
 * of 36.  Summed over channels, the 16 transform points xi = 4 i + j are 16
 * independent GEMMs  M[xi] = U[xi] (Mg x C) @ V[xi] (C x tiles): here are the
 * input transform (d -> V, wino_in) and the GEMMs, with gemm_rows' microkernel,
 * followed by the output transform (M -> Y, + bias; wino_gemm_out).  Every entry of B and A is 0 or +-1, so both
 * transforms are sums and differences only, in a fixed order: a tile gives
 * the same bits in any lane of any block.  F(2x2, 3x3) keeps float32 inside
 * the direct convolution's error bound (the tests' 2 sqrt(K) eps S; F(4x4,
 * 3x3), with its +-2, +-4 and 1/6, did not: up to 5.6x that bound measured)
 * and is exact on small integers.
 *
 * Tiles are numbered t = r * TW + tw over a plane of output tile rows r and
 * columns tw; tile (r, tw) reads the input rows 2r..2r+3, columns 2tw..2tw+3.
 * The vector loops run whole vectors of tiles along a tile row: the lanes past
 * a row's last tile compute junk that lands in the next row's columns (written
 * again, correctly, right after) or past the block (the vector's worth of
 * slack the caller leaves in each row of V), and read up to FC_WINO_SLACK
 * elements past the end of the input plane.
 */

/* V[(xi * C + c) * ldv + t - t0] = (B^T d B)[xi] of tile t in [t0, t0 + nt)
 * of one plane of channel c, the input of channel c at pad + c * cs with rows
 * Q2 apart. */
static inline void FC_FN(wino_in_plane_)(const T *pad, fc_idx cs, fc_idx Q2, fc_idx C,
                                         fc_idx TW, fc_idx t0, fc_idx nt, T *V, fc_idx ldv)
{
    const fc_idx pstride = C * ldv;  /* between transform points */
    for (fc_idx c = 0; c < C; c++) {
        const T *plane = pad + c * cs;
        T *vc = V + c * ldv - t0;
        for (fc_idx t = t0; t < t0 + nt;) {
            const fc_idx r = t / TW, a = t - r * TW;
            const fc_idx b = TW < a + (t0 + nt - t) ? TW : a + (t0 + nt - t);
            const T *rows = plane + 2 * r * Q2;
            T *vr = vc + r * TW;
#if FC_HAVE_VECTORS
            typedef FC_FN(tvec_) TV;
            typedef FC_FN(tivec_) TIV;
            enum { TL = FC_VBYTES / sizeof(T) };
            for (fc_idx tw = a; tw < b; tw += TL) {
                TV w[4][4];
                FC_UNROLL for (int i = 0; i < 4; i++) {
                    const T *s = rows + i * Q2 + 2 * tw;
                    TV x0, x1, x2, x3;
                    memcpy(&x0, s, sizeof(TV));
                    memcpy(&x1, s + TL, sizeof(TV));
                    memcpy(&x2, s + 2, sizeof(TV));
                    memcpy(&x3, s + 2 + TL, sizeof(TV));
                    const TV d0 = FC_EVENS(TV, TIV, TLANES, x0, x1);
                    const TV d1 = FC_ODDS(TV, TIV, TLANES, x0, x1);
                    const TV d2 = FC_EVENS(TV, TIV, TLANES, x2, x3);
                    const TV d3 = FC_ODDS(TV, TIV, TLANES, x2, x3);
                    w[i][0] = d0 - d2;
                    w[i][1] = d1 + d2;
                    w[i][2] = d2 - d1;
                    w[i][3] = d1 - d3;
                }
                FC_UNROLL for (int j = 0; j < 4; j++) {
                    const TV v[4] = {w[0][j] - w[2][j], w[1][j] + w[2][j],
                                     w[2][j] - w[1][j], w[1][j] - w[3][j]};
                    FC_UNROLL for (int i = 0; i < 4; i++)
                        memcpy(vr + (4 * i + j) * pstride + tw, &v[i], sizeof(TV));
                }
            }
#else
            for (fc_idx tw = a; tw < b; tw++) {
                T w[4][4];
                for (int i = 0; i < 4; i++) {
                    const T *s = rows + i * Q2 + 2 * tw;
                    w[i][0] = s[0] - s[2];
                    w[i][1] = s[1] + s[2];
                    w[i][2] = s[2] - s[1];
                    w[i][3] = s[1] - s[3];
                }
                for (int j = 0; j < 4; j++) {
                    const T v[4] = {w[0][j] - w[2][j], w[1][j] + w[2][j],
                                    w[2][j] - w[1][j], w[1][j] - w[3][j]};
                    for (int i = 0; i < 4; i++) vr[(4 * i + j) * pstride + tw] = v[i];
                }
            }
#endif
            t += b - a;
        }
    }
}

/* The same for tiles [t0, t0 + nt) numbered across planes of PT tiles each,
 * plane q's input at pad + q * plane: a block of tiles may span planes (the
 * dilation phases of an image), so that the GEMM blocks stay full. */
static void FC_FN(wino_in_)(const T *pad, fc_idx plane, fc_idx cs, fc_idx Q2, fc_idx C,
                            fc_idx TW, fc_idx PT, fc_idx t0, fc_idx nt, T *V, fc_idx ldv)
{
    /* in increasing order: a plane's junk lanes land in the next one's columns */
    for (fc_idx t = t0; t < t0 + nt;) {
        const fc_idx q = t / PT, e = (q + 1) * PT < t0 + nt ? (q + 1) * PT : t0 + nt;
        FC_FN(wino_in_plane_)(pad + q * plane, cs, Q2, C, TW, t - q * PT, e - t, V + (t - t0),
                              ldv);
        t = e;
    }
}

/* The 2x2 outputs of one tile from its 16 transform points m[xi]: the same
 * expression for vectors and scalars. */
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

/* Output m of tile t in [t0, t0 + nt): Y = A^T M A (+ bias[m]) from
 * Mb[xi * pstride + m * ldm + t - t0], to y[m * P + oh * ys1 + ow * ys2] for
 * the real outputs oh < OH, ow < OW of the tile (2r + {0, 1}, 2tw + {0, 1}).
 * Returns 1 if some output it computed (stored or not) is not finite. */
static inline int FC_FN(wino_out_)(const T *Mb, fc_idx pstride, fc_idx ldm, fc_idx M,
                                   fc_idx TW, fc_idx t0, fc_idx nt, const T *bias, T *y,
                                   fc_idx OH, fc_idx OW, fc_idx ys1, fc_idx ys2, fc_idx P)
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
            const fc_idx r = t / TW, a = t - r * TW;
            const fc_idx b = TW < a + (t0 + nt - t) ? TW : a + (t0 + nt - t);
            const T *mr = mm + r * TW;
            /* planes smaller than the tile grid (dilation phases of unequal
             * sizes) have tiles with no real output at all */
            const int rows = 2 * r + 1 < OH ? 2 : 2 * r < OH ? 1 : 0;
#if FC_HAVE_VECTORS
            typedef FC_FN(tvec_) TV;
            typedef FC_FN(tivec_) TIV;
            enum { TL = FC_VBYTES / sizeof(T) };
            for (fc_idx tw = a; tw < b; tw += TL) {
                TV mv[16], s_[2][4], yv[2][2];
                FC_UNROLL for (int k = 0; k < 16; k++)
                    memcpy(&mv[k], mr + k * pstride + tw, sizeof(TV));
                FC_WINO_OUT(mv, yv, bm);
                chk += (yv[0][0] - yv[0][0]) + (yv[0][1] - yv[0][1]) + (yv[1][0] - yv[1][0])
                       + (yv[1][1] - yv[1][1]);
                /* real outputs of these lanes' columns 2tw .. 2tw + 2 TL */
                const fc_idx cend = 2 * b < OW ? 2 * b : OW;
                const fc_idx ncol = cend - 2 * tw;
                for (int i = 0; i < (ncol > 0 ? rows : 0); i++) {
                    T *yr = ym + (2 * r + i) * ys1;
                    const TV lo = FC_SPREAD_LO(TV, TIV, TLANES, yv[i][0], yv[i][1]);
                    const TV hi = FC_SPREAD_HI(TV, TIV, TLANES, yv[i][0], yv[i][1]);
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
            }
#else
            for (fc_idx tw = a; tw < b; tw++) {
                T mv[16], s_[2][4], yv[2][2];
                for (int k = 0; k < 16; k++) mv[k] = mr[k * pstride + tw];
                FC_WINO_OUT(mv, yv, bm);
                chk += (yv[0][0] - yv[0][0]) + (yv[0][1] - yv[0][1]) + (yv[1][0] - yv[1][0])
                       + (yv[1][1] - yv[1][1]);
                const int cols = 2 * tw + 1 < OW ? 2 : 2 * tw < OW ? 1 : 0;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++)
                        ym[(2 * r + i) * ys1 + (2 * tw + j) * ys2] = yv[i][j];
            }
#endif
            t += b - a;
        }
    }
#if FC_HAVE_VECTORS
    T c[FC_VBYTES / sizeof(T)];
    memcpy(c, &chk, sizeof(chk));
    for (size_t j = 0; j < sizeof(c) / sizeof(T); j++)
        if (c[j] != c[j]) return 1;
    return 0;
#else
    return chk != chk;
#endif
}
#undef FC_WINO_OUT

#define NR (NV * (int)(FC_VBYTES / sizeof(T)))  /* the GEMM block's columns */

/* y for tiles [t0, t0 + nt) (numbered across planes of PT tiles, see wino_in;
 * plane q's outputs at y + pl[3q], pl[3q + 1] x pl[3q + 2] of them) from their
 * transformed inputs V (rows of channel c
 * of point xi at V + xi * K * ldv + koff[c], koff[c] = c * ldv) and the
 * transformed weights Up (point xi's MR-row panels at Up + xi * ustride):
 * per NR tiles and MR output channels, the 16 GEMMs into a block of L1, then
 * its output transform.  The products never go through L2 (16 GEMMs over all
 * Mg channels, then an output transform reading them back from there: vgg3x3
 * about 1.1x the time).  Each point is reduced over K in increasing k, in the
 * K blocks of gemm_rows (fc_kblock).  Returns 1
 * if some output is not finite (see the driver: an infinite input makes NaNs
 * where the direct sum has infinities, and the transforms can overflow). */
static int FC_FN(wino_gemm_out_)(const T *Up, fc_idx ustride, const T *V, fc_idx ldv,
                                 const fc_idx *koff, fc_idx K, fc_idx M, fc_idx TW, fc_idx PT,
                                 const fc_idx *pl, fc_idx t0, fc_idx nt, const T *bias, T *y,
                                 fc_idx ys1, fc_idx ys2, fc_idx P)
{
#if FC_HAVE_VECTORS
    T blk[16 * MR * NR + FC_WINO_SLACK] __attribute__((aligned(64)));
#else
    T blk[16 * MR * NR + FC_WINO_SLACK];
#endif
    const fc_idx kcb = fc_kblock(K, FC_KC);
    int bad = 0;
    for (fc_idx nb = 0; nb < nt; nb += NR) {
        const fc_idx nr = nt - nb < NR ? nt - nb : NR;
        for (fc_idx mb = 0; mb < M; mb += MR) {
            const fc_idx mr = M - mb < MR ? M - mb : MR;
            for (int xi = 0; xi < 16; xi++) {
                T *o = blk + xi * MR * NR;
                const T *A = Up + xi * ustride + (mb / MR) * K * MR;
                const T *B = V + xi * K * ldv + nb;
                /* all NR columns (those past nt are never stored) and MR rows */
                for (fc_idx kc = 0; kc < K; kc += kcb) {
                    const fc_idx kl = K - kc < kcb ? K - kc : kcb;
                    FC_FN(ukernel_)(kl, A + kc * MR, B, koff + kc, kc ? o : NULL, NR, o, NR, MR,
                                    NR, NULL, NULL);
                }
            }
            const fc_idx s0 = t0 + nb, e0 = s0 + nr;
            for (fc_idx s = s0; s < e0;) {
                const fc_idx q = s / PT, e = (q + 1) * PT < e0 ? (q + 1) * PT : e0;
                bad |= FC_FN(wino_out_)(blk + (s - s0), MR * NR, NR, mr, TW, s - q * PT, e - s,
                                        bias ? bias + mb : NULL, y + pl[3 * q] + mb * P,
                                        pl[3 * q + 1], pl[3 * q + 2], ys1, ys2, P);
                s = e;
            }
        }
    }
    return bad;
}
#undef NR
