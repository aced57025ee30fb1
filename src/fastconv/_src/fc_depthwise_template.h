#ifndef FC_LANES
#define FC_LANES 16
#endif

#if FC_VBYTES / 4 > FC_DW_SLACK
#error "FC_DW_SLACK must cover one vector"
#endif

/* Direct kernels for convolutions whose groups read one input channel each
 * (depthwise, C_in/groups == 1), where a GEMM would have a single row of
 * reduction per tap and waste its register block.  One (image, group) plane
 * at a time; the caller pads the plane (pad_image) and owns the threads.
 * Included by fc_isa_template.h with T and SFX defined: the row loops below
 * vectorise to the instruction set of the including file. */

/* y[m] (plane of out[0]*out[1]*out[2]) = sum over taps of w[m][tap] * shifted
 * rows of the padded plane, + bias[m]; m < M. */
#if FC_HAVE_VECTORS
typedef T FC_FN(dwvec_) __attribute__((vector_size(FC_VBYTES)));
#endif

/* The forward reads the padded plane split into stride phases by
 * _split_phases (_conv_kernels.pyx): along W only for the row kernels, along
 * every axis for the virtual grid.  Either way tap t of an output is a fixed
 * offset koff[t] from the output's own place in the split plane, so every tap
 * reads consecutive elements for consecutive outputs, whatever the stride.
 * Each output adds its taps in increasing t: both kernels give the same bits. */

/* Positions left to compute, at most nvmax vectors at a time: how many vectors
 * the next chunk has, *last the real lanes of its last one. */
static inline __attribute__((always_inline)) int FC_FN(dw_nv_)(fc_idx left, int nvmax,
                                                                 int *last)
{
    const int DL = (int)(FC_VBYTES / sizeof(T));
    const int nv = left >= (fc_idx)nvmax * DL ? nvmax : (int)((left + DL - 1) / DL);
    *last = left >= (fc_idx)nv * DL ? DL : (int)(left - (fc_idx)(nv - 1) * DL);
    return nv;
}

#if FC_HAVE_VECTORS
/* Vectors computed together: independent accumulators, so that the FMA
 * latency is covered (one vector at a time is a chain of taps: dw3x3 ran at
 * ~10 % of the FMA peak); two rows at once hold twice as many, so with 16
 * registers (AVX2, SSE2) fewer. */
#define FC_DW_NVMAX 8
#define FC_DW2_NVMAX (FC_VBYTES == 64 ? 6 : 4)

/* acc[v] = b + sum over taps t of w[t] * base[koff[t] + v*DL ...], nv vectors.
 * Inlined with a constant nv, the accumulators stay in registers.  A partial
 * last vector's loads run up to a vector past what a tap reads, into the next
 * row or the FC_DW_SLACK elements the caller adds to the plane. */
static inline __attribute__((always_inline)) void FC_FN(dw_taps_)(
    const T *base, const fc_idx *koff, fc_idx taps, const T *w, T b,
    FC_FN(dwvec_) *acc, const int nv)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    FC_UNROLL for (int v = 0; v < nv; v++) acc[v] = (DV){0} + b;
    for (fc_idx t = 0; t < taps; t++) {
        const T wt = w[t];
        const T *src = base + koff[t];
        FC_UNROLL for (int v = 0; v < nv; v++) {
            DV u;
            memcpy(&u, src + v * DL, sizeof(DV));
            acc[v] += wt * u;
        }
    }
}

/* out[0 .. (nv - 1)*DL + last) = the nv vectors of acc (the last one masked). */
static inline __attribute__((always_inline)) void FC_FN(dw_store_)(
    T *out, const FC_FN(dwvec_) *acc, const int nv, const int last)
{
    enum { DL = FC_VBYTES / sizeof(T) };
    FC_UNROLL for (int v = 0; v < nv - 1; v++) memcpy(out + v * DL, &acc[v], sizeof(acc[v]));
    if (last == DL)
        memcpy(out + (nv - 1) * DL, &acc[nv - 1], sizeof(acc[nv - 1]));
    else
        FC_FN(mstore_)(out + (nv - 1) * DL, (1u << last) - 1u, acc[nv - 1]);
}

/* nv vectors of output rows oh and oh + 1 (from base, their first tap's row
 * at the chunk's column) when the row step equals the dilation along H
 * (stride 1, dilation 1: a 3x3 layer): the KH + 1 padded rows they read are
 * each loaded once for both, which halves the loads of a 3x3 kernel per FMA
 * (the loads, not the FMAs, bound one row at a time).  Tap (kd, kh, kw) of
 * row oh + 1 reads what tap (kd, kh + 1, kw) of row oh reads. */
static inline __attribute__((always_inline)) void FC_FN(dw_taps2_)(
    const T *base, const fc_geom *g, const fc_idx *koff, const T *w, T b,
    FC_FN(dwvec_) *a0, FC_FN(dwvec_) *a1, const int nv)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx down = g->dilation[1] * g->pext[2];   /* one tap row further */
    FC_UNROLL for (int v = 0; v < nv; v++) a0[v] = a1[v] = (DV){0} + b;
    for (fc_idx kd = 0; kd < KD; kd++)
    for (fc_idx r = 0; r <= KH; r++) {
        /* padded row r serves tap kh = r of row oh and kh = r - 1 of row oh + 1 */
        const fc_idx t0 = (kd * KH + (r < KH ? r : KH - 1)) * KW;
        const T *row = base + (r < KH ? 0 : down);
        /* the weights of row oh + 1 chosen once per row: chosen per tap, GCC
         * (AVX2, three vectors) merged the two ways of reaching the update
         * and left a multiply and an add where every other path fuses them,
         * so those outputs differed from the other kernels' in the last bit */
        const T *wa = w + t0, *wb = w + t0 - (r < KH ? KW : 0);
        for (fc_idx kw = 0; kw < KW; kw++) {
            const T *src = row + koff[t0 + kw];
            DV u[FC_DW2_NVMAX];
            FC_UNROLL for (int v = 0; v < nv; v++) {
                memcpy(&u[v], src + v * DL, sizeof(DV));
                FC_IN_REG(u[v]);  /* one load for both rows */
            }
            if (r < KH) {
                const T wt = wa[kw];
                FC_UNROLL for (int v = 0; v < nv; v++) a0[v] += wt * u[v];
            }
            if (r > 0) {
                const T wt = wb[kw];
                FC_UNROLL for (int v = 0; v < nv; v++) a1[v] += wt * u[v];
            }
        }
    }
}

static inline __attribute__((always_inline)) void FC_FN(dw_chunk_)(
    const T *base, const fc_idx *koff, fc_idx taps, const T *w, T b, T *out, const int nv,
    const int last)
{
    FC_FN(dwvec_) acc[FC_DW_NVMAX];
    FC_FN(dw_taps_)(base, koff, taps, w, b, acc, nv);
    FC_FN(dw_store_)(out, acc, nv, last);
}

static inline __attribute__((always_inline)) void FC_FN(dw_chunk2_)(
    const T *base, const fc_geom *g, const fc_idx *koff, const T *w, T b, T *out0, T *out1,
    const int nv, const int last)
{
    FC_FN(dwvec_) a0[FC_DW2_NVMAX], a1[FC_DW2_NVMAX];
    FC_FN(dw_taps2_)(base, g, koff, w, b, a0, a1, nv);
    FC_FN(dw_store_)(out0, a0, nv, last);
    FC_FN(dw_store_)(out1, a1, nv, last);
}
#endif

/* One output row (base: where its taps start, koff from there), or two when
 * out1 is not NULL (see dw_taps2_). */
static void FC_FN(dw_row_)(const T *base, const fc_geom *g, const fc_idx *koff, const T *w,
                           T b, T *out0, T *out1)
{
    const fc_idx OW = g->out[2], taps = g->k[0] * g->k[1] * g->k[2];
#if FC_HAVE_VECTORS
    enum { DL = FC_VBYTES / sizeof(T) };
    int last;
    if (out1) {
        for (fc_idx ow = 0; ow < OW; ow += FC_DW2_NVMAX * DL) {
            const T *p = base + ow;
            switch (FC_FN(dw_nv_)(OW - ow, FC_DW2_NVMAX, &last)) {
#define FC_DW_C2(n) FC_FN(dw_chunk2_)(p, g, koff, w, b, out0 + ow, out1 + ow, n, last); break
            case 1: FC_DW_C2(1);
            case 2: FC_DW_C2(2);
            case 3: FC_DW_C2(3);
#if FC_DW2_NVMAX > 4
            case 4: FC_DW_C2(4);
            case 5: FC_DW_C2(5);
#endif
            default: FC_DW_C2(FC_DW2_NVMAX);
#undef FC_DW_C2
            }
        }
        return;
    }
    for (fc_idx ow = 0; ow < OW; ow += FC_DW_NVMAX * DL) {
        const T *p = base + ow;
        switch (FC_FN(dw_nv_)(OW - ow, FC_DW_NVMAX, &last)) {
#define FC_DW_C1(n) FC_FN(dw_chunk_)(p, koff, taps, w, b, out0 + ow, n, last); break
        case 1: FC_DW_C1(1);
        case 2: FC_DW_C1(2);
        case 3: FC_DW_C1(3);
        case 4: FC_DW_C1(4);
        case 5: FC_DW_C1(5);
        case 6: FC_DW_C1(6);
        case 7: FC_DW_C1(7);
        default: FC_DW_C1(8);
#undef FC_DW_C1
        }
    }
#else
    (void)out1;  /* the caller asks for two rows only with vectors */
    for (fc_idx ow = 0; ow < OW; ow++) {
        T acc = b;
        for (fc_idx t = 0; t < taps; t++) acc += w[t] * base[koff[t] + ow];
        out0[ow] = acc;
    }
#endif
}

/* y[m] (plane of out[0]*out[1]*out[2]) = sum over taps of w[m][t] * the
 * padded plane (split along W only) at koff[t] from each output, + bias[m];
 * m < M, one row or two at a time.  Meanwhile [pf, pf + pfbytes) is asked
 * for, a share per output row (see fc_kernels.h). */
static void FC_FN(dw_forward_)(const T *pad, const fc_geom *g, const fc_idx *koff,
                               const T *w, const T *bias, fc_idx M, T *y, const void *pf,
                               fc_idx pfbytes)
{
    fc_pfshare pfs;
    fc_pf_init(&pfs, pf, pfbytes, M * g->out[0] * g->out[1]);
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx Q1 = g->pext[1], Q2 = g->pext[2];
    const fc_idx taps = g->k[0] * g->k[1] * g->k[2];
    const int pairs = FC_HAVE_VECTORS && g->stride[1] == g->dilation[1];
    for (fc_idx m = 0; m < M; m++) {
        const T *wm = w + m * taps;
        const T b = bias ? bias[m] : (T)0;
        for (fc_idx od = 0; od < OD; od++)
        for (fc_idx oh = 0; oh < OH; oh++) {
            T *out = y + ((m * OD + od) * OH + oh) * OW;
            const T *base = pad + (od * g->stride[0] * Q1 + oh * g->stride[1]) * Q2;
            fc_pf_step(&pfs);
            if (pairs && oh + 1 < OH) {
                fc_pf_step(&pfs);
                FC_FN(dw_row_)(base, g, koff, wm, b, out, out + OW);
                oh++;
            } else {
                FC_FN(dw_row_)(base, g, koff, wm, b, out, NULL);
            }
        }
    }
}

/* The same forward for narrow rows on the virtual grid of the GEMMs (every
 * axis split into stride phases): tap t of output (od, oh, ow) is
 * pad[koff[t] + od*E12 + oh*Q2 + ow], so a whole output plane is one run of
 * virtual positions, computed FC_DW_NVMAX vectors at a time (across rows:
 * a 14x14 plane's rows are one partial vector each) and stored where they are
 * real outputs. */
#if FC_HAVE_VECTORS
/* nv vectors of the virtual grid from position p0 of an od plane (constant nv
 * once inlined: the accumulators stay in registers), each stored where its
 * lanes are real outputs.  The same runs as gemm_rows' vsegs_make_, written
 * out here so that each run is stored straight from its register: a helper
 * shared with vsegs_make_ (runs recorded, then stored) ran 1.05x the
 * instructions on 14x14 planes (callgrind), and its time was not resolved
 * from this version's within the noise. */
static inline __attribute__((always_inline)) void FC_FN(dwv_chunk_)(
    const T *base, const fc_idx *koff, fc_idx taps, const T *w, T b, fc_idx p0,
    fc_idx Q2, fc_idx OW, T *yp, const int nv, const int last)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    DV acc[FC_DW_NVMAX];
    FC_FN(dw_taps_)(base + p0, koff, taps, w, b, acc, nv);
    fc_idx oh = p0 / Q2, ow = p0 - oh * Q2;
    FC_UNROLL for (int v = 0; v < nv; v++) {
        const int lanes = v == nv - 1 ? last : DL;
        for (int j = 0; j < lanes;) {
            const int run = (int)(Q2 - ow < lanes - j ? Q2 - ow : lanes - j);
            const fc_idx real = ow < OW ? (OW - ow < run ? OW - ow : run) : 0;
            if (real == DL)
                memcpy(yp + oh * OW + ow, &acc[v], sizeof(DV));
            else if (real > 0)
                FC_FN(mstore_)(yp + oh * OW + ow - j, ((1u << real) - 1u) << j, acc[v]);
            j += run;
            ow += run;
            if (ow == Q2) {
                ow = 0;
                oh++;
            }
        }
    }
}
#endif

static void FC_FN(dw_forward_vgrid_)(const T *pad, const fc_geom *g, const fc_idx *koff,
                                     const T *w, const T *bias, fc_idx M, T *y,
                                     const void *pf, fc_idx pfbytes)
{
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx Q2 = g->pext[2], E12 = g->pext[1] * g->pext[2];
    const fc_idx taps = g->k[0] * g->k[1] * g->k[2];
#if FC_HAVE_VECTORS
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx V = (OH - 1) * Q2 + OW;   /* virtual positions of one od plane */
    const fc_idx step = FC_DW_NVMAX * DL;
    fc_pfshare pfs;
    fc_pf_init(&pfs, pf, pfbytes, M * OD * ((V + step - 1) / step));
    for (fc_idx m = 0; m < M; m++) {
        const T *wm = w + m * taps;
        const T b = bias ? bias[m] : (T)0;
        for (fc_idx od = 0; od < OD; od++) {
            const T *base = pad + od * E12;
            T *yp = y + (m * OD + od) * OH * OW;
            for (fc_idx p0 = 0; p0 < V; p0 += step) {
                int last;
                fc_pf_step(&pfs);
                switch (FC_FN(dw_nv_)(V - p0, FC_DW_NVMAX, &last)) {
#define FC_DW_CV(n) FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, n, last); break
                case 1: FC_DW_CV(1);
                case 2: FC_DW_CV(2);
                case 3: FC_DW_CV(3);
                case 4: FC_DW_CV(4);
                case 5: FC_DW_CV(5);
                case 6: FC_DW_CV(6);
                case 7: FC_DW_CV(7);
                default: FC_DW_CV(8);
#undef FC_DW_CV
                }
            }
        }
    }
#else
    (void)pf;
    (void)pfbytes;
    for (fc_idx m = 0; m < M; m++) {
        const T *wm = w + m * taps;
        const T b = bias ? bias[m] : (T)0;
        for (fc_idx od = 0; od < OD; od++)
        for (fc_idx oh = 0; oh < OH; oh++)
        for (fc_idx ow = 0; ow < OW; ow++) {
            const T *src = pad + od * E12 + oh * Q2 + ow;
            T acc = b;
            for (fc_idx t = 0; t < taps; t++) acc += wm[t] * src[koff[t]];
            y[((m * OD + od) * OH + oh) * OW + ow] = acc;
        }
    }
#endif
}

/* The forward of a 3x3 depthwise layer at stride 1 or 2 along each axis,
 * dilation 1, whose padding is zeros with one element before each axis (any
 * number after: MobileNet's layers), read from the plane x itself: no padded
 * copy.  Two output rows at a time from the SH + 3 input rows they read (a row
 * past the plane: zeros), each row loaded once, lanes past its end zero:
 *  - stride 1 along W: the chunk's vectors with the vector before and the
 *    element after them; taps kw = 0 and 2 are those vectors moved one lane
 *    (FC_PREV, FC_NEXT);
 *  - stride 2: each output vector's 2 VL inputs split into even (tap 1) and odd
 *    (tap 2) lanes, tap 0 the odd lanes moved one lane back (FC_PREV of the
 *    vector before's odd lanes).
 * The products and their order are those of dw_forward_ on the padded plane,
 * zeros included (0 * inf is NaN there too): the same bits.  Padding each
 * plane had cost about a third of a dw3x3 call; at stride 2 small planes were
 * several times PyTorch's time (four column and row phases per plane). */
#if FC_HAVE_VECTORS
typedef IT FC_FN(dw3ivec_) __attribute__((vector_size(FC_VBYTES)));

/* Stride 2 computes fewer vectors at once: each holds two loads. */
#define FC_DW3S2_NVMAX (FC_VBYTES == 64 ? 4 : 2)

/* x[start ..] of a row of W elements as one vector, lanes past W zero
 * (start >= 0). */
static inline __attribute__((always_inline)) FC_FN(dwvec_) FC_FN(dw3_ld_)(
    const T *row, fc_idx start, fc_idx W)
{
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx n = W - start;
    FC_FN(dwvec_) u = (FC_FN(dwvec_)){0};
    if (n >= DL)
        memcpy(&u, row + start, sizeof(u));
    else if (n > 0)
        u = FC_FN(mload_)(row + start, (1u << n) - 1u);
    return u;
}

/* nv vectors of output rows oh, oh + 1 from output column ow (constants sh,
 * sw, nv once inlined).  rows[r]: input row SH*oh - 1 + r, or NULL past the
 * plane; row oh reads rows kh, row oh + 1 rows kh + sh.  same: stride 1 and
 * as many outputs as inputs along W. */
static inline __attribute__((always_inline)) void FC_FN(dw3_chunk_)(
    const T *const rows[5], const int sh, const int sw, int same, fc_idx ow, fc_idx W,
    const T *w, T b, T *out0, T *out1, const int nv, const int last)
{
    typedef FC_FN(dwvec_) DV;
    typedef FC_FN(dw3ivec_) DIV;
    enum { DL = FC_VBYTES / sizeof(T) };
    DV a0[FC_DW2_NVMAX], a1[FC_DW2_NVMAX];
    FC_UNROLL for (int v = 0; v < nv; v++) a0[v] = a1[v] = (DV){0} + b;
    FC_UNROLL for (int r = 0; r < sh + 3; r++) {
        DV t0[FC_DW2_NVMAX], t1[FC_DW2_NVMAX], t2[FC_DW2_NVMAX];  /* taps kw = 0, 1, 2 */
        const T *row = rows[r];
        if (!row) {
            FC_UNROLL for (int v = 0; v < nv; v++) t0[v] = t1[v] = t2[v] = (DV){0};
        } else if (sw == 1) {
            /* u[0]: the vector before the chunk, u[1..nv] the chunk, u[nv + 1]
             * the vector after it (its first lane) */
            DV u[FC_DW2_NVMAX + 2];
            const T *p = row + ow;
            u[0] = (DV){0};
            if (same) {
                if (ow > 0) memcpy(&u[0], p - DL, sizeof(DV));
                /* out = in: the chunk ends where the row does, or is whole
                 * (the per-vector bounds of the general case cost 1.2x the
                 * time on dw3x3) */
                FC_UNROLL for (int v = 0; v < nv - 1; v++)
                    memcpy(&u[v + 1], p + v * DL, sizeof(DV));
                if (last == DL)
                    memcpy(&u[nv], p + (nv - 1) * DL, sizeof(DV));
                else
                    u[nv] = FC_FN(mload_)(p + (nv - 1) * DL, (1u << last) - 1u);
                u[nv + 1] = last == DL && ow + nv * DL < W ? FC_FN(mload_)(p + nv * DL, 1u)
                                                           : (DV){0};
            } else {
                if (ow > 0) u[0] = FC_FN(dw3_ld_)(row, ow - DL, W);
                FC_UNROLL for (int v = 0; v <= nv; v++)
                    u[v + 1] = FC_FN(dw3_ld_)(row, ow + v * DL, W);
            }
            FC_UNROLL for (int v = 0; v < nv; v++) {
                t0[v] = FC_PREV(DV, DIV, TLANES, u[v], u[v + 1]);
                t1[v] = u[v + 1];
                t2[v] = FC_NEXT(DV, DIV, TLANES, u[v + 1], u[v + 2]);
            }
        } else {
            /* the odd lanes before the chunk: its last one is x[2 ow - 1] */
            DV odd = (DV){0};
            if (ow > 0)
                odd = FC_ODDS(DV, DIV, TLANES, FC_FN(dw3_ld_)(row, 2 * ow - 2 * DL, W),
                              FC_FN(dw3_ld_)(row, 2 * ow - DL, W));
            /* every load inside the row: no bounds per vector */
            const int inside = 2 * (ow + nv * DL) <= W;
            FC_UNROLL for (int v = 0; v < nv; v++) {
                const fc_idx s0 = 2 * (ow + v * DL);
                DV lo, hi;
                if (inside) {
                    memcpy(&lo, row + s0, sizeof(DV));
                    memcpy(&hi, row + s0 + DL, sizeof(DV));
                } else {
                    lo = FC_FN(dw3_ld_)(row, s0, W);
                    hi = FC_FN(dw3_ld_)(row, s0 + DL, W);
                }
                t1[v] = FC_EVENS(DV, DIV, TLANES, lo, hi);
                t2[v] = FC_ODDS(DV, DIV, TLANES, lo, hi);
                t0[v] = FC_PREV(DV, DIV, TLANES, odd, t2[v]);
                odd = t2[v];
            }
        }
        if (r < 3) {
            const T *wr = w + 3 * r;
            FC_UNROLL for (int v = 0; v < nv; v++) {
                a0[v] += wr[0] * t0[v];
                a0[v] += wr[1] * t1[v];
                a0[v] += wr[2] * t2[v];
            }
        }
        if (r >= sh) {
            const T *wr = w + 3 * (r - sh);
            FC_UNROLL for (int v = 0; v < nv; v++) {
                a1[v] += wr[0] * t0[v];
                a1[v] += wr[1] * t1[v];
                a1[v] += wr[2] * t2[v];
            }
        }
    }
    FC_FN(dw_store_)(out0, a0, nv, last);
    if (out1) FC_FN(dw_store_)(out1, a1, nv, last);
}
#endif

static void FC_FN(dw_forward3_)(const T *x, const fc_geom *g, const T *w, const T *bias,
                                fc_idx M, T *y, const void *pf, fc_idx pfbytes)
{
    const fc_idx H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    const fc_idx sh = g->stride[1], sw = g->stride[2];
    const int same = sw == 1 && OW == W;
    fc_pfshare pfs;
    fc_pf_init(&pfs, pf, pfbytes, M * OH);
    for (fc_idx m = 0; m < M; m++) {
        const T *wm = w + m * 9;
        const T b = bias ? bias[m] : (T)0;
        for (fc_idx oh = 0; oh < OH; oh += 2) {
            T *out0 = y + (m * OH + oh) * OW;
            T *out1 = oh + 1 < OH ? out0 + OW : NULL;
            fc_pf_step(&pfs);
            fc_pf_step(&pfs);
            const T *rows[5] = {NULL, NULL, NULL, NULL, NULL};
            for (fc_idx r = 0; r < sh + 3; r++) {
                const fc_idx ih = sh * oh - 1 + r;
                rows[r] = ih >= 0 && ih < H ? x + ih * W : NULL;
            }
#if FC_HAVE_VECTORS
            enum { DL = FC_VBYTES / sizeof(T) };
            const int nvmax = sw == 1 ? FC_DW2_NVMAX : FC_DW3S2_NVMAX;
            for (fc_idx ow = 0; ow < OW; ow += nvmax * DL) {
                int last;
                T *o1 = out1 ? out1 + ow : NULL;
                const int nv = FC_FN(dw_nv_)(OW - ow, nvmax, &last);
#define FC_DW_C3(h, s, n) \
    FC_FN(dw3_chunk_)(rows, h, s, same, ow, W, wm, b, out0 + ow, o1, n, last); break
#if FC_DW2_NVMAX > 4
#define FC_DW_S1_MORE(h) case 4: FC_DW_C3(h, 1, 4); case 5: FC_DW_C3(h, 1, 5);
#else
#define FC_DW_S1_MORE(h)
#endif
#if FC_DW3S2_NVMAX > 2
#define FC_DW_S2_MORE(h) case 2: FC_DW_C3(h, 2, 2); case 3: FC_DW_C3(h, 2, 3);
#else
#define FC_DW_S2_MORE(h)
#endif
#define FC_DW_S1(h)                                                                    \
    switch (nv) {                                                                      \
    case 1: FC_DW_C3(h, 1, 1);                                                         \
    case 2: FC_DW_C3(h, 1, 2);                                                         \
    case 3: FC_DW_C3(h, 1, 3);                                                         \
    FC_DW_S1_MORE(h)                                                                   \
    default: FC_DW_C3(h, 1, FC_DW2_NVMAX);                                             \
    }
#define FC_DW_S2(h)                                                                    \
    switch (nv) {                                                                      \
    case 1: FC_DW_C3(h, 2, 1);                                                         \
    FC_DW_S2_MORE(h)                                                                   \
    default: FC_DW_C3(h, 2, FC_DW3S2_NVMAX);                                           \
    }
                if (sh == 1 && sw == 1) {
                    FC_DW_S1(1)
                } else if (sw == 1) {
                    FC_DW_S1(2)
                } else if (sh == 1) {
                    FC_DW_S2(1)
                } else {
                    FC_DW_S2(2)
                }
#undef FC_DW_S1
#undef FC_DW_S2
#undef FC_DW_S1_MORE
#undef FC_DW_S2_MORE
#undef FC_DW_C3
            }
#else
            for (int j = 0; j < 2; j++) {
                T *out = j ? out1 : out0;
                if (!out) break;
                for (fc_idx ow = 0; ow < OW; ow++) {
                    T acc = b;
                    for (fc_idx kh = 0; kh < 3; kh++)
                    for (fc_idx kw = 0; kw < 3; kw++) {
                        const T *row = rows[j * sh + kh];
                        const fc_idx iw = sw * ow - 1 + kw;
                        acc += wm[kh * 3 + kw] * (row && iw >= 0 && iw < W ? row[iw] : (T)0);
                    }
                    out[ow] = acc;
                }
            }
#endif
        }
    }
}

/* The adjoint: dpad (zero-filled by the caller, the padded plane's shape) +=
 * taps of gy; then what fell on the padding is folded back onto the input
 * positions it was copied from (fc_src), constant padding dropped: dx +=. */
static void FC_FN(dw_input_grad_)(const T *gy, const fc_geom *g, const T *w, fc_idx M,
                                  T *dpad, T *dx)
{
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx E0 = g->ext[0], E1 = g->ext[1], E2 = g->ext[2];
    const fc_idx sw = g->stride[2];
    const fc_idx taps = KD * KH * KW;
    for (fc_idx m = 0; m < M; m++) {
        const T *wm = w + m * taps;
        for (fc_idx od = 0; od < OD; od++)
        for (fc_idx oh = 0; oh < OH; oh++) {
            const T *grow = gy + ((m * OD + od) * OH + oh) * OW;
            for (fc_idx kd = 0; kd < KD; kd++)
            for (fc_idx kh = 0; kh < KH; kh++) {
                T *row = dpad + ((od * g->stride[0] + kd * g->dilation[0]) * E1
                                 + oh * g->stride[1] + kh * g->dilation[1]) * E2;
                for (fc_idx kw = 0; kw < KW; kw++) {
                    const T wt = wm[(kd * KH + kh) * KW + kw];
                    T *dst = row + kw * g->dilation[2];
                    if (sw == 1)
                        for (fc_idx ow = 0; ow < OW; ow++) dst[ow] += wt * grow[ow];
                    else
                        for (fc_idx ow = 0; ow < OW; ow++) dst[ow * sw] += wt * grow[ow];
                }
            }
        }
    }
    const fc_idx H = g->in[1], W = g->in[2];
    /* padded positions [l0, l1) of a row are the input's own (in increasing
     * order as before: each dx element sums its terms in the same order) */
    const fc_idx lo2 = g->lo[2];   /* negative for a slab that starts inside the input */
    const fc_idx l0 = lo2 < 0 ? 0 : lo2 < E2 ? lo2 : E2;
    const fc_idx l1 = lo2 + W < l0 ? l0 : lo2 + W < E2 ? lo2 + W : E2;
    for (fc_idx i = 0; i < E0; i++) {
        const fc_idx s0 = fc_src(g, 0, i);
        if (s0 < 0) continue;
        for (fc_idx j = 0; j < E1; j++) {
            const fc_idx s1 = fc_src(g, 1, j);
            if (s1 < 0) continue;
            T *row = dx + (s0 * H + s1) * W;
            const T *src = dpad + (i * E1 + j) * E2;
            for (fc_idx l = 0; l < l0; l++) {
                const fc_idx s2 = fc_src(g, 2, l);
                if (s2 >= 0) row[s2] += src[l];
            }
            for (fc_idx l = l0; l < l1; l++) row[l - lo2] += src[l];
            for (fc_idx l = l1; l < E2; l++) {
                const fc_idx s2 = fc_src(g, 2, l);
                if (s2 >= 0) row[s2] += src[l];
            }
        }
    }
}

#if FC_HAVE_VECTORS
/* dw_weight_grad for 3x3 taps (per kd) at stride 1 along rows: the nine
 * partial sums stay in registers while each vector of gy is loaded once, over
 * the whole plane (the last OW % DL outputs of a row in masked vectors); then
 * each tap's lanes are added in a fixed order, and the plane's total goes
 * into acc in double. */
static void FC_FN(dw_weight_grad_3x3_)(const T *gy, const T *pad, const fc_geom *g, fc_idx M,
                                       double *acc)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx KD = g->k[0];
    const fc_idx E1 = g->ext[1], E2 = g->ext[2];
    const fc_idx dh = g->dilation[1], dw = g->dilation[2];
    const fc_idx taps = KD * 9;
    const fc_idx body = OW / DL * DL;
    for (fc_idx m = 0; m < M; m++)
    for (fc_idx kd = 0; kd < KD; kd++) {
        DV part[9];
        for (int t = 0; t < 9; t++) part[t] = (DV){0};
        for (fc_idx od = 0; od < OD; od++)
        for (fc_idx oh = 0; oh < OH; oh++) {
            const T *grow = gy + ((m * OD + od) * OH + oh) * OW;
            const T *base = pad + ((od * g->stride[0] + kd * g->dilation[0]) * E1
                                   + oh * g->stride[1]) * E2;
            for (fc_idx ow = 0; ow < body; ow += DL) {
                DV gv;
                memcpy(&gv, grow + ow, sizeof(DV));
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        DV rv;
                        memcpy(&rv, base + kh * dh * E2 + kw * dw + ow, sizeof(DV));
                        part[kh * 3 + kw] += gv * rv;
                    }
            }
            if (body < OW) {
                /* the last OW % DL outputs: masked vectors, the other lanes
                 * zero (a scalar tail had taken most of the time of 56-wide
                 * rows: 9 taps x 8 products a row against 27 vector FMAs) */
                const unsigned mask = (1u << (OW - body)) - 1u;
                const DV gv = FC_FN(mload_)(grow + body, mask);
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        const DV rv = FC_FN(mload_)(base + kh * dh * E2 + kw * dw + body, mask);
                        part[kh * 3 + kw] += gv * rv;
                    }
            }
        }
        for (int t = 0; t < 9; t++) {
            T lanes[DL];
            memcpy(lanes, &part[t], sizeof(DV));
            double s = 0;
            for (int j = 0; j < DL; j++) s += (double)lanes[j];
            acc[m * taps + kd * 9 + t] += s;
        }
    }
}
#endif

/* acc[m][tap] += sum over the plane of gy[m] * the tap's shifted padded rows.
 * Each output row's dot product is summed in T, then added to a double
 * accumulator: float32 keeps its accuracy over long reductions. */
static void FC_FN(dw_weight_grad_)(const T *gy, const T *pad, const fc_geom *g, fc_idx M,
                                   double *acc)
{
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx E1 = g->ext[1], E2 = g->ext[2];
    const fc_idx sw = g->stride[2];
    const fc_idx taps = KD * KH * KW;
#if FC_HAVE_VECTORS
    if (KH == 3 && KW == 3 && sw == 1) {
        FC_FN(dw_weight_grad_3x3_)(gy, pad, g, M, acc);
        return;
    }
#endif
    for (fc_idx m = 0; m < M; m++)
    for (fc_idx od = 0; od < OD; od++)
    for (fc_idx oh = 0; oh < OH; oh++) {
        const T *grow = gy + ((m * OD + od) * OH + oh) * OW;
        for (fc_idx kd = 0; kd < KD; kd++)
        for (fc_idx kh = 0; kh < KH; kh++) {
            const T *row = pad + ((od * g->stride[0] + kd * g->dilation[0]) * E1
                                  + oh * g->stride[1] + kh * g->dilation[1]) * E2;
            for (fc_idx kw = 0; kw < KW; kw++) {
                const T *src = row + kw * g->dilation[2];
                /* FC_LANES partial sums, added in a fixed order: a reduction the
                 * compiler may vectorise without reassociating anything */
                T part[FC_LANES] = {0};
                fc_idx ow = 0;
                if (sw == 1)
                    for (; ow + FC_LANES <= OW; ow += FC_LANES)
                        for (int j = 0; j < FC_LANES; j++) part[j] += grow[ow + j] * src[ow + j];
                else
                    for (; ow + FC_LANES <= OW; ow += FC_LANES)
                        for (int j = 0; j < FC_LANES; j++)
                            part[j] += grow[ow + j] * src[(ow + j) * sw];
                T s = 0;
                for (; ow < OW; ow++) s += grow[ow] * src[ow * sw];
                for (int j = 0; j < FC_LANES; j++) s += part[j];
                acc[m * taps + (kd * KH + kh) * KW + kw] += (double)s;
            }
        }
    }
}
