/* Forward GEMM with the image values broadcast, for one element type (T, IT,
 * SFX, TLANES defined by fc_isa_template.h; register block FC_BC_RW_<T> x
 * FC_BC_NV_<T> set by the instruction set's file as BRW, BNV).
 *
 * C[m][v] = sum_k W[m][k] * base[koff[k] + v] (+ bias[m]), the same product as
 * gemm_rows, computed transposed: a register block holds BRW consecutive
 * positions v by BNV vectors of output channels m,
 *     c[r][m..m+VL) += base[koff[k] + v + r] * W[k][m..m+VL),
 * so the image is read in place by scalar broadcasts (never split across cache
 * lines, whatever the row's alignment) and the weights, packed [M/BM][K][BM],
 * are the only vectors loaded.  No slice of the image is copied.  K is reduced
 * in blocks of at most FC_BC_KC taps (their weights stay in L2) whose partial
 * sums wait in an L1 buffer for FC_BC_NB blocks of positions.  The last K
 * block transposes the register block (VL x VL at a time) and stores it, one
 * output channel's BRW positions per vector, placed by the same runs (vsegs)
 * as gemm_rows.  Each element is reduced over k in increasing k (a partial
 * sum is stored and reloaded exactly), then the bias added, whatever the
 * caller's split of the work. */

#if FC_HAVE_VECTORS

#define VL ((int)(FC_VBYTES / sizeof(T)))
#define BM (BNV * VL)
#define BG ((BRW + VL - 1) / VL)  /* groups of VL positions in a block */

typedef char FC_FN(bc_fits_seg_)[BRW <= NV * VL ? 1 : -1];  /* vsegs_ covers a block */

/* Store the block c (rw <= BRW positions from n0, mr <= BM channels from the
 * start of C's rows; with vg, at the real outputs of seg, the runs of
 * vsegs_make_ for those positions). */
static inline void FC_FN(bc_store_)(FC_FN(tvec_) c[BRW][BNV], int rw, int mr, const T *bias,
                                    T *C, fc_idx ldc, fc_idx n0, const fc_geom *vg,
                                    const FC_FN(vsegs_) *seg)
{
    typedef FC_FN(tvec_) TV;
    typedef FC_FN(tivec_) TIV;
    FC_UNROLL for (int v = 0; v < BNV; v++) {
        if (v * VL >= mr) break;
        TV bv = (TV){0};
        if (bias) {
            T tb[VL] = {0};
            for (int j = 0; j < VL && v * VL + j < mr; j++) tb[j] = bias[v * VL + j];
            memcpy(&bv, tb, sizeof(TV));
        }
        FC_UNROLL for (int gi = 0; gi < BG; gi++) {
            TV r[VL];
            FC_UNROLL for (int i = 0; i < VL; i++)
                r[i] = gi * VL + i < BRW ? c[gi * VL + i][v] + bv : (TV){0};
            FC_TRANSPOSE(TV, TIV, TLANES, r);
            /* r[j]: channel v*VL + j at positions gi*VL .. gi*VL + VL - 1 */
            const int cnt = rw - gi * VL < VL ? rw - gi * VL : VL;
            if (cnt <= 0) break;
            const int jn = mr - v * VL < VL ? mr - v * VL : VL;
            for (int j = 0; j < jn; j++) {
                T *row = C + (fc_idx)(v * VL + j) * ldc;
                if (vg) {
                    for (int s = 0; s < seg->nseg[gi]; s++)
                        FC_FN(mstore_)(row + seg->off[gi][s], seg->mask[gi][s], r[j]);
                } else if (cnt == VL) {
                    memcpy(row + n0 + gi * VL, &r[j], sizeof(TV));
                } else {
                    FC_FN(mstore_)(row + n0 + gi * VL, (1u << cnt) - 1u, r[j]);
                }
            }
        }
    }
}

/* Three taps whose rows are D apart (kw, kw + 1, kw + 2 of a row, dilation D):
 * position r of tap t reads x[r + t*D], so the BRW + 2D values broadcast once
 * serve all three, 6 FMAs per value instead of 2 (the k loop ran at 84 % of the
 * FMA peak one tap at a time, 90 % this way, measured standalone).  For each
 * accumulator the taps still come in increasing k: the same sums, bit for bit. */
#define FC_BC_TRI(D)                                                                     \
    for (fc_idx k = 0; k < kl; k += 3) {                                               \
        const T *xr = x + koff[k];                                                     \
        TV w[3][BNV];                                                                  \
        FC_UNROLL for (int t = 0; t < 3; t++)                                          \
            FC_UNROLL for (int v = 0; v < BNV; v++)                                    \
                memcpy(&w[t][v], W + (k + t) * BM + v * VL, sizeof(TV));               \
        FC_UNROLL for (int i = 0; i < BRW + 2 * (D); i++) {                            \
            const T a = xr[i];                                                         \
            FC_UNROLL for (int t = 0; t < 3; t++) {                                    \
                const int r = i - t * (D);                                             \
                if (r < 0 || r >= BRW) continue;                                       \
                FC_UNROLL for (int v = 0; v < BNV; v++) c[r][v] += a * w[t][v];        \
            }                                                                          \
        }                                                                              \
    }

/* One block of positions: c = partial sums (prev, or 0) + the kl taps of W
 * from koff's; tri = D: the taps come in threes D apart (FC_BC_TRI), kl a
 * multiple of 3. */
static inline void FC_FN(bc_block_)(fc_idx kl, const T *W, const T *x, const fc_idx *koff,
                                    int rw, int tri, const T *prev, FC_FN(tvec_) c[BRW][BNV])
{
    typedef FC_FN(tvec_) TV;
    if (prev) {
        FC_UNROLL for (int r = 0; r < BRW; r++)
            FC_UNROLL for (int v = 0; v < BNV; v++)
                memcpy(&c[r][v], prev + (r * BNV + v) * VL, sizeof(TV));
    } else {
        FC_UNROLL for (int r = 0; r < BRW; r++)
            FC_UNROLL for (int v = 0; v < BNV; v++) c[r][v] = (TV){0};
    }
    if (rw == BRW && tri == 1) {
        FC_BC_TRI(1)
    } else if (rw == BRW && tri == 2) {
        FC_BC_TRI(2)
    } else if (rw == BRW) {
        for (fc_idx k = 0; k < kl; k++) {
            const T *xr = x + koff[k];
            TV w[BNV];
            FC_UNROLL for (int v = 0; v < BNV; v++) memcpy(&w[v], W + k * BM + v * VL, sizeof(TV));
            FC_UNROLL for (int r = 0; r < BRW; r++) {
                const T a = xr[r];
                FC_UNROLL for (int v = 0; v < BNV; v++) c[r][v] += a * w[v];
            }
        }
    } else {
        /* fewer positions than a block (N < BRW): read only those */
        for (fc_idx k = 0; k < kl; k++) {
            const T *xr = x + koff[k];
            TV w[BNV];
            FC_UNROLL for (int v = 0; v < BNV; v++) memcpy(&w[v], W + k * BM + v * VL, sizeof(TV));
            for (int r = 0; r < rw; r++) {
                const T a = xr[r];
                FC_UNROLL for (int v = 0; v < BNV; v++) c[r][v] += a * w[v];
            }
        }
    }
}

/* Blocks of positions per pass: their partial sums (FC_BC_NB * BRW x BM) stay
 * in L1 while a block of FC_BC_KC taps of the weights (FC_BC_KC x BM, 72 KiB
 * at 576: from L2) is used on all of them.  On Zen 4 (32 KiB L1) 576 against
 * 192: vgg3x3 0.97-0.98x, vol3d 0.96-0.98x, dil3x3d2 0.96-0.98x the time
 * (one whole block instead of 3: no partial sums), eeg1d_k7 (2 blocks of 448
 * instead of 5) 0.99-1.01x; on the Xeon 192 had been best of 128-300. */
#ifndef FC_BC_NB
#define FC_BC_NB 8
#endif
#ifndef FC_BC_KC
#define FC_BC_KC 576
#endif

static void FC_FN(gemm_bcast_)(const T *Wp, const T *base, const fc_idx *koff, fc_idx K,
                               fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,
                               const fc_geom *vg, fc_idx v0, const void *pf,
                               fc_idx pfbytes)
{
    typedef FC_FN(tvec_) TV;
    T part[FC_BC_NB * BRW * BM] __attribute__((aligned(64)));
    /* taps in threes D apart (3x3 rows at stride 1 along them): K blocks of
     * whole threes */
    const int tri = fc_koff_threes(koff, K);
    const fc_idx nkb = (K + FC_BC_KC - 1) / FC_BC_KC;
    fc_idx kcb = fc_kblock(K, FC_BC_KC);
    if (tri) kcb = (kcb + 2) / 3 * 3;
    fc_pfshare pfs;
    fc_pf_init(&pfs, pf, pfbytes, ((M + BM - 1) / BM) * ((N + BRW - 1) / BRW) * nkb);
    for (fc_idx mb = 0; mb < M; mb += BM) {
        const int mr = (int)(M - mb < BM ? M - mb : BM);
        const T *W = Wp + (mb / BM) * K * BM;
        for (fc_idx p0 = 0; p0 < N; p0 += FC_BC_NB * BRW) {
            const fc_idx pend = N - p0 < FC_BC_NB * BRW ? N : p0 + FC_BC_NB * BRW;
            for (fc_idx kc = 0; kc == 0 || kc < K; kc += kcb) {
                const fc_idx kl = K - kc < kcb ? K - kc : kcb;
                const int first = kc == 0, last = kc + kl >= K;
                for (fc_idx nb = p0, i = 0; nb < pend; nb += BRW, i++) {
                    /* the last block ends at N, overlapping the one before: its
                     * common positions are recomputed by the same code, to the
                     * same bits */
                    const fc_idx n0 = nb + BRW <= N || N < BRW ? nb : N - BRW;
                    const int rw = (int)(N - n0 < BRW ? N - n0 : BRW);
                    T *pb = part + i * BRW * BM;
                    TV c[BRW][BNV];
                    fc_pf_step(&pfs);
                    FC_FN(vsegs_) seg;
                    if (last) {
                        /* Ask for the lines this block will write before its
                         * arithmetic, so that its stores find them in L1
                         * instead of stalling on the misses (Zen 4, 1 and 2
                         * threads: stem7x7s2 0.95x, vgg3x3 0.94-0.98x,
                         * eeg1d_k7 0.92-0.99x, vol3d 0.99x the time) */
                        fc_idx lo = n0, hi = n0 + rw - 1;
                        if (vg) {
                            FC_FN(vsegs_make_)(vg, v0 + n0, rw, &seg);
                            FC_FN(vsegs_span_)(&seg, rw, &lo, &hi);
                        }
                        FC_FN(pf_write_)(C + mb * ldc, ldc, mr, lo, hi);
                    }
                    FC_FN(bc_block_)(kl, W + kc * BM, base + n0, koff + kc, rw, tri,
                                     first ? NULL : pb, c);
                    if (last)
                        FC_FN(bc_store_)(c, rw, mr, bias ? bias + mb : NULL, C + mb * ldc,
                                         ldc, n0, vg, &seg);
                    else
                        FC_UNROLL for (int r = 0; r < BRW; r++)
                            FC_UNROLL for (int v = 0; v < BNV; v++)
                                memcpy(pb + (r * BNV + v) * VL, &c[r][v], sizeof(TV));
                }
            }
        }
    }
}

#undef FC_BC_TRI
#undef VL
#undef BM
#undef BG

#else  /* no vector extensions: plain loops, same order of terms */

static void FC_FN(gemm_bcast_)(const T *Wp, const T *base, const fc_idx *koff, fc_idx K,
                               fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,
                               const fc_geom *vg, fc_idx v0, const void *pf,
                               fc_idx pfbytes)
{
    (void)pf;
    (void)pfbytes;
    const int BMS = BNV * (int)(FC_VBYTES / sizeof(T));
    const fc_idx E2 = vg ? vg->pext[2] : 1, E12 = vg ? vg->pext[1] * vg->pext[2] : 1;
    for (fc_idx m = 0; m < M; m++) {
        const T *W = Wp + (m / BMS) * K * BMS + m % BMS;
        for (fc_idx n = 0; n < N; n++) {
            T s = 0;
            for (fc_idx k = 0; k < K; k++) s += base[koff[k] + n] * W[k * BMS];
            if (bias) s += bias[m];
            if (!vg) {
                C[m * ldc + n] = s;
                continue;
            }
            const fc_idx v = v0 + n, od = v / E12, oh = (v - od * E12) / E2;
            const fc_idx ow = v - od * E12 - oh * E2;
            if (oh < vg->out[1] && ow < vg->out[2])
                C[m * ldc + (od * vg->out[1] + oh) * vg->out[2] + ow] = s;
        }
    }
}

#endif
