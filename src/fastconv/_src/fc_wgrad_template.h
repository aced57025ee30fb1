/* Weight gradient without transposing the image, for one element type (T, IT,
 * SFX, TLANES defined by the includer, fc_isa_template.h; register blocks
 * FC_WG_NVMAX and FC_WG_MRK* by the instruction set's file).
 *
 * dW[m][k] = sum_p gy[m][p] * B[k][p], B[k][p] = base[koff[k] + p] (the
 * shifted rows of a padded image, p a position on the virtual grid).  Both
 * operands have p contiguous, so a GEMM that vectorises along k (or m) needs
 * one of them transposed, and transposing the image block (K x tile) costs as
 * much as a sixth of the arithmetic at 64 output channels.  Here only gy is,
 * gyT[p][m] (small: M x tile), and the image values are broadcast straight
 * from its rows,
 *     accT[k][m..m+VL) += B[k][p] * gyT[p][m..m+VL),
 * a register block of FC_WG_MRK<NVM> rows of k by NVM vectors of m.
 *
 * Each element of accT sums its terms in increasing p, in runs of FC_WG_PC,
 * whatever the caller's split of the work between threads. */

#define VL ((int)(FC_VBYTES / sizeof(T)))

#ifndef FC_WG_PC
#define FC_WG_PC 64  /* positions per pass: FC_WG_PC x Mpad of gyT stays in L1 */
#endif

/* gyT[p][m] = gy[m][real index of virtual position v0 + p], 0 where that
 * position is not a real output or m >= M; p < nv, m < Mpad. */
static void FC_FN(pack_gy_t_)(const T *gy, fc_idx P, const fc_geom *g, fc_idx v0,
                              fc_idx nv, fc_idx M, fc_idx Mpad, T *dst)
{
    const fc_idx E2 = g->pext[2], E12 = g->pext[1] * g->pext[2];
    const fc_idx OH = g->out[1], OW = g->out[2];
    fc_idx v = v0;
    while (v < v0 + nv) {
        const fc_idx od = v / E12, oh = (v - od * E12) / E2, ow = v - od * E12 - oh * E2;
        const fc_idx run = E2 - ow < v0 + nv - v ? E2 - ow : v0 + nv - v;
        const fc_idx real = oh < OH ? (ow < OW ? (run < OW - ow ? run : OW - ow) : 0) : 0;
        T *out = dst + (v - v0) * Mpad;
        const T *src = gy + (od * OH + oh) * OW + ow;
        fc_idx m0 = 0;
#if FC_HAVE_VECTORS
        /* VL x VL blocks transposed in registers */
        typedef FC_FN(tvec_) TV;
        typedef FC_FN(tivec_) TIV;
        for (; m0 + VL <= M; m0 += VL) {
            fc_idx i0 = 0;
            for (; i0 + VL <= real; i0 += VL) {
                TV r[VL];
                for (int j = 0; j < VL; j++) memcpy(&r[j], src + (m0 + j) * P + i0, sizeof(TV));
                FC_TRANSPOSE(TV, TIV, TLANES, r);
                for (int j = 0; j < VL; j++) memcpy(out + (i0 + j) * Mpad + m0, &r[j], sizeof(TV));
            }
            for (fc_idx m = m0; m < m0 + VL; m++)
                for (fc_idx i = i0; i < real; i++) out[i * Mpad + m] = src[m * P + i];
        }
#endif
        for (fc_idx m = m0; m < M; m++)
            for (fc_idx i = 0; i < real; i++) out[i * Mpad + m] = src[m * P + i];
        for (fc_idx i = 0; i < real; i++)
            for (fc_idx m = M; m < Mpad; m++) out[i * Mpad + m] = 0;
        for (fc_idx i = real; i < run; i++)
            for (fc_idx m = 0; m < Mpad; m++) out[i * Mpad + m] = 0;
        v += run;
    }
}

#if FC_HAVE_VECTORS

/* One column block of NVM vectors of m over all k, positions [p0, p0 + pl).
 * Rows past K in the last k block read the last real row (valid memory) and
 * are not stored. */
#define FC_WG_KERNEL(NVM, MRK)                                                            \
static void FC_FN(wgk##NVM##_)(const T *gyT, fc_idx Mpad, fc_idx mb, fc_idx p0, fc_idx pl, \
                               const T *base, const fc_idx *koff, fc_idx K, T *accT)       \
{                                                                                         \
    typedef FC_FN(tvec_) W;                                                               \
    for (fc_idx kb = 0; kb < K; kb += MRK) {                                              \
        const int kr = (int)(K - kb < MRK ? K - kb : MRK);                               \
        const T *xr[MRK];                                                                 \
        W c[MRK][NVM];                                                                    \
        FC_UNROLL for (int r = 0; r < MRK; r++) {                                         \
            xr[r] = base + koff[kb + (r < kr ? r : kr - 1)] + p0;                         \
            FC_UNROLL for (int v = 0; v < NVM; v++) {                                     \
                if (r < kr)                                                               \
                    memcpy(&c[r][v], accT + (kb + r) * Mpad + mb + v * VL, sizeof(W));    \
                else                                                                      \
                    c[r][v] = (W){0};                                                     \
            }                                                                             \
        }                                                                                 \
        const T *gp = gyT + p0 * Mpad + mb;                                               \
        for (fc_idx p = 0; p < pl; p++) {                                                 \
            W gv[NVM];                                                                    \
            FC_UNROLL for (int v = 0; v < NVM; v++)                                       \
                memcpy(&gv[v], gp + p * Mpad + v * VL, sizeof(W));                        \
            FC_UNROLL for (int r = 0; r < MRK; r++) {                                     \
                const T xs = xr[r][p];                                                    \
                FC_UNROLL for (int v = 0; v < NVM; v++) c[r][v] += xs * gv[v];            \
            }                                                                             \
        }                                                                                 \
        FC_UNROLL for (int r = 0; r < MRK; r++) {                                         \
            if (r >= kr) break;                                                           \
            FC_UNROLL for (int v = 0; v < NVM; v++)                                       \
                memcpy(accT + (kb + r) * Mpad + mb + v * VL, &c[r][v], sizeof(W));        \
        }                                                                                 \
    }                                                                                     \
}

FC_WG_KERNEL(1, FC_WG_MRK1)
FC_WG_KERNEL(2, FC_WG_MRK2)
#if FC_WG_NVMAX >= 4
FC_WG_KERNEL(3, FC_WG_MRK3)
FC_WG_KERNEL(4, FC_WG_MRK4)
#endif
#undef FC_WG_KERNEL

#else  /* no vector extensions: the same sums, element by element */

static void FC_FN(wgk1_)(const T *gyT, fc_idx Mpad, fc_idx mb, fc_idx p0, fc_idx pl,
                         const T *base, const fc_idx *koff, fc_idx K, T *accT)
{
    for (fc_idx k = 0; k < K; k++)
        for (int j = 0; j < VL; j++) {
            T s = accT[k * Mpad + mb + j];
            for (fc_idx p = p0; p < p0 + pl; p++)
                s += base[koff[k] + p] * gyT[p * Mpad + mb + j];
            accT[k * Mpad + mb + j] = s;
        }
}
#endif

/* accT[k][m] += sum_p base[koff[k] + p] * gyT[p][m], p < nv, k < K, m < Mpad
 * (Mpad a multiple of VL). */
static void FC_FN(wgrad_t_)(const T *gyT, fc_idx Mpad, fc_idx nv, const T *base,
                            const fc_idx *koff, fc_idx K, T *accT)
{
    for (fc_idx p0 = 0; p0 < nv; p0 += FC_WG_PC) {
        const fc_idx pl = nv - p0 < FC_WG_PC ? nv - p0 : FC_WG_PC;
        fc_idx mb = 0;
        while (mb < Mpad) {
            const fc_idx nvec = (Mpad - mb) / VL;
#if FC_HAVE_VECTORS
#if FC_WG_NVMAX >= 4
            if (nvec >= 4) {
                FC_FN(wgk4_)(gyT, Mpad, mb, p0, pl, base, koff, K, accT);
                mb += 4 * VL;
                continue;
            }
            if (nvec == 3) {
                FC_FN(wgk3_)(gyT, Mpad, mb, p0, pl, base, koff, K, accT);
                mb += 3 * VL;
                continue;
            }
#endif
            if (nvec >= 2) {
                FC_FN(wgk2_)(gyT, Mpad, mb, p0, pl, base, koff, K, accT);
                mb += 2 * VL;
                continue;
            }
#endif
            (void)nvec;
            FC_FN(wgk1_)(gyT, Mpad, mb, p0, pl, base, koff, K, accT);
            mb += VL;
        }
    }
}

#undef VL
