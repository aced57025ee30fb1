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

/* The forward reads a padded plane split into split[2] column phases
 * (pad_image, split = the stride along W): padded column ow*s + kw*dw is
 * element ow + (kw*dw)/s of phase (kw*dw)%s, so every tap reads a contiguous
 * run of its row for consecutive outputs, whatever the stride.  Rows are
 * Q2 = pext[2] long; g->tapcol[kw] is tap kw's offset from the output column
 * (phase offset included). */

/* The taps of one output row (od, oh) at column ow: BODY runs once per tap
 * with wt its weight and src the padded row it reads, shifted to ow. */
#define FC_DW_TAPS(BODY)                                                               \
    for (fc_idx kd = 0; kd < KD; kd++)                                                 \
    for (fc_idx kh = 0; kh < KH; kh++) {                                               \
        const T *row = pad + ((od * g->stride[0] + kd * g->dilation[0]) * E1          \
                              + oh * g->stride[1] + kh * g->dilation[1]) * Q2 + ow;   \
        const T *wr = w + (kd * KH + kh) * KW;                                         \
        for (fc_idx kw = 0; kw < KW; kw++) {                                           \
            const T wt = wr[kw];                                                       \
            const T *src = row + tc[kw];                                               \
            BODY                                                                       \
        }                                                                              \
    }

#if FC_HAVE_VECTORS
/* Most vectors of one row computed together: independent accumulators, so that
 * the FMA latency is covered (one vector at a time is a chain of taps: dw3x3
 * ran at ~10 % of the FMA peak). */
#define FC_DW_NVMAX 8

/* nv vectors of one output row from column ow, the last one holding `last`
 * real lanes.  Inlined with a constant nv, the accumulators stay in registers.
 * A partial last vector's loads run up to a vector past the row, into the next
 * row or the FC_DW_SLACK elements the caller adds to the plane; its store is
 * masked. */
static inline __attribute__((always_inline)) void FC_FN(dw_chunk_)(
    const T *pad, const fc_geom *g, fc_idx od, fc_idx oh, fc_idx ow, const T *w, T b,
    T *out, const int nv, const int last)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx E1 = g->ext[1], Q2 = g->pext[2];
    const fc_idx *tc = g->tapcol;
    DV acc[FC_DW_NVMAX];
    FC_UNROLL for (int v = 0; v < nv; v++) acc[v] = (DV){0} + b;
    FC_DW_TAPS(
        FC_UNROLL for (int v = 0; v < nv; v++) {
            DV u;
            memcpy(&u, src + v * DL, sizeof(DV));
            acc[v] += wt * u;
        })
    FC_UNROLL for (int v = 0; v < nv - 1; v++) memcpy(out + ow + v * DL, &acc[v], sizeof(DV));
    if (last == DL)
        memcpy(out + ow + (nv - 1) * DL, &acc[nv - 1], sizeof(DV));
    else
        FC_FN(mstore_)(out + ow + (nv - 1) * DL, (1u << last) - 1u, acc[nv - 1]);
}
#endif

#if FC_HAVE_VECTORS
/* Vectors of two rows at once: with 16 registers (AVX2, SSE2) fewer. */
#define FC_DW2_NVMAX (FC_VBYTES == 64 ? 6 : 4)

/* nv vectors from column ow of output rows oh and oh + 1 when the row step
 * equals the dilation along H (stride 1, dilation 1: a 3x3 layer): the KH + 1
 * padded rows they read are each loaded once for both, which halves the loads
 * of a 3x3 kernel per FMA (the loads, not the FMAs, bound one row at a time).
 * Each output still adds its taps in increasing (kd, kh, kw): the same bits
 * as dw_chunk_. */
static inline __attribute__((always_inline)) void FC_FN(dw_chunk2_)(
    const T *pad, const fc_geom *g, fc_idx od, fc_idx oh, fc_idx ow, const T *w, T b,
    T *out0, T *out1, const int nv, const int last)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx E1 = g->ext[1], Q2 = g->pext[2];
    const fc_idx dh = g->dilation[1];
    const fc_idx *tc = g->tapcol;
    DV a0[FC_DW2_NVMAX], a1[FC_DW2_NVMAX];
    FC_UNROLL for (int v = 0; v < nv; v++) a0[v] = a1[v] = (DV){0} + b;
    for (fc_idx kd = 0; kd < KD; kd++) {
        const T *rows = pad + ((od * g->stride[0] + kd * g->dilation[0]) * E1
                               + oh * g->stride[1]) * Q2 + ow;
        const T *wd = w + kd * KH * KW;
        /* padded row r serves tap kh = r of row oh and kh = r - 1 of row oh + 1 */
        for (fc_idx r = 0; r <= KH; r++) {
            const T *row = rows + r * dh * Q2;
            const T *w0 = wd + r * KW, *w1 = wd + (r - 1) * KW;
            for (fc_idx kw = 0; kw < KW; kw++) {
                const T *src = row + tc[kw];
                DV u[FC_DW2_NVMAX];
                FC_UNROLL for (int v = 0; v < nv; v++) {
                    memcpy(&u[v], src + v * DL, sizeof(DV));
                    FC_IN_REG(u[v]);  /* one load for both rows */
                }
                if (r < KH) {
                    const T t0 = w0[kw];
                    FC_UNROLL for (int v = 0; v < nv; v++) a0[v] += t0 * u[v];
                }
                if (r > 0) {
                    const T t1 = w1[kw];
                    FC_UNROLL for (int v = 0; v < nv; v++) a1[v] += t1 * u[v];
                }
            }
        }
    }
    FC_UNROLL for (int v = 0; v < nv - 1; v++) {
        memcpy(out0 + ow + v * DL, &a0[v], sizeof(DV));
        memcpy(out1 + ow + v * DL, &a1[v], sizeof(DV));
    }
    if (last == DL) {
        memcpy(out0 + ow + (nv - 1) * DL, &a0[nv - 1], sizeof(DV));
        memcpy(out1 + ow + (nv - 1) * DL, &a1[nv - 1], sizeof(DV));
    } else {
        FC_FN(mstore_)(out0 + ow + (nv - 1) * DL, (1u << last) - 1u, a0[nv - 1]);
        FC_FN(mstore_)(out1 + ow + (nv - 1) * DL, (1u << last) - 1u, a1[nv - 1]);
    }
}

/* Output rows oh and oh + 1 (see dw_chunk2_). */
static inline void FC_FN(dw_row2_)(const T *pad, const fc_geom *g, fc_idx od, fc_idx oh,
                                   const T *w, T b, T *out0, T *out1)
{
    enum { DL = FC_VBYTES / sizeof(T) };
    const fc_idx OW = g->out[2];
    for (fc_idx ow = 0; ow < OW; ow += FC_DW2_NVMAX * DL) {
        const fc_idx left = OW - ow;
        const int nv = left >= FC_DW2_NVMAX * DL ? FC_DW2_NVMAX : (int)((left + DL - 1) / DL);
        const int last = left >= nv * DL ? DL : (int)(left - (nv - 1) * DL);
        switch (nv) {
        case 1: FC_FN(dw_chunk2_)(pad, g, od, oh, ow, w, b, out0, out1, 1, last); break;
        case 2: FC_FN(dw_chunk2_)(pad, g, od, oh, ow, w, b, out0, out1, 2, last); break;
        case 3: FC_FN(dw_chunk2_)(pad, g, od, oh, ow, w, b, out0, out1, 3, last); break;
#if FC_DW2_NVMAX > 4
        case 4: FC_FN(dw_chunk2_)(pad, g, od, oh, ow, w, b, out0, out1, 4, last); break;
        case 5: FC_FN(dw_chunk2_)(pad, g, od, oh, ow, w, b, out0, out1, 5, last); break;
#endif
        default:
            FC_FN(dw_chunk2_)(pad, g, od, oh, ow, w, b, out0, out1, FC_DW2_NVMAX, last);
            break;
        }
    }
}
#endif

/* One output row of one channel: out[ow] = b + sum over taps of w *
 * row_tap[ow], each output's taps added in the same order. */
static inline void FC_FN(dw_row_)(const T *pad, const fc_geom *g, fc_idx od, fc_idx oh,
                                  const T *w, T b, T *out)
{
    const fc_idx OW = g->out[2];
    fc_idx ow = 0;
#if FC_HAVE_VECTORS
    enum { DL = FC_VBYTES / sizeof(T) };
    for (; ow < OW; ow += FC_DW_NVMAX * DL) {
        const fc_idx left = OW - ow;
        const int nv = left >= FC_DW_NVMAX * DL ? FC_DW_NVMAX : (int)((left + DL - 1) / DL);
        const int last = left >= nv * DL ? DL : (int)(left - (nv - 1) * DL);
        switch (nv) {
        case 1: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 1, last); break;
        case 2: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 2, last); break;
        case 3: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 3, last); break;
        case 4: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 4, last); break;
        case 5: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 5, last); break;
        case 6: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 6, last); break;
        case 7: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 7, last); break;
        default: FC_FN(dw_chunk_)(pad, g, od, oh, ow, w, b, out, 8, last); break;
        }
    }
#else
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx E1 = g->ext[1], Q2 = g->pext[2];
    const fc_idx *tc = g->tapcol;
    for (; ow < OW; ow++) {
        T acc = b;
        FC_DW_TAPS(acc += wt * src[0];)
        out[ow] = acc;
    }
#endif
}
#undef FC_DW_TAPS

/* y[m] (plane of out[0]*out[1]*out[2]) = sum over taps of w[m][tap] * shifted
 * rows of the padded plane (split into column phases, see above), + bias[m];
 * m < M.  Meanwhile [pf, pf + pfbytes) is asked for, a share per output row
 * (see fc_kernels.h). */
static void FC_FN(dw_forward_)(const T *pad, const fc_geom *g, const T *w, const T *bias,
                               fc_idx M, T *y, const void *pf, fc_idx pfbytes)
{
    fc_pfshare pfs;
    fc_pf_init(&pfs, pf, pfbytes, M * g->out[0] * g->out[1]);
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx taps = g->k[0] * g->k[1] * g->k[2];
    for (fc_idx m = 0; m < M; m++) {
        const T *wm = w + m * taps;
        const T b = bias ? bias[m] : (T)0;
        for (fc_idx od = 0; od < OD; od++)
        for (fc_idx oh = 0; oh < OH; oh++) {
            T *acc = y + ((m * OD + od) * OH + oh) * OW;
            fc_pf_step(&pfs);
#if FC_HAVE_VECTORS
            if (g->stride[1] == g->dilation[1] && oh + 1 < OH) {
                fc_pf_step(&pfs);
                FC_FN(dw_row2_)(pad, g, od, oh, wm, b, acc, acc + OW);
                oh++;
                continue;
            }
#endif
            FC_FN(dw_row_)(pad, g, od, oh, wm, b, acc);
        }
    }
}

/* The same forward for narrow rows, on the virtual grid of the GEMMs: with
 * every padded axis split into stride phases (_split_phases), tap t of output
 * (od, oh, ow) is pad[koff[t] + od*E12 + oh*Q2 + ow], a fixed offset from the
 * output's virtual position, so a whole output plane is one run of virtual
 * positions, computed FC_DW_NVMAX vectors at a time (independent accumulators)
 * and stored where they are real outputs.  A row of one partial vector (14x14
 * planes) otherwise makes each vector a chain of dependent FMAs.  The taps are
 * added in increasing t, as in dw_forward.  Reads up to a vector past the last
 * position a tap reads: the caller's FC_DW_SLACK. */
#if FC_HAVE_VECTORS
static inline __attribute__((always_inline)) void FC_FN(dwv_chunk_)(
    const T *base, const fc_idx *koff, fc_idx taps, const T *w, T b, fc_idx p0,
    fc_idx Q2, fc_idx OW, T *yp, const int nv, const int last)
{
    typedef FC_FN(dwvec_) DV;
    enum { DL = FC_VBYTES / sizeof(T) };
    DV acc[FC_DW_NVMAX];
    FC_UNROLL for (int v = 0; v < nv; v++) acc[v] = (DV){0} + b;
    for (fc_idx t = 0; t < taps; t++) {
        const T wt = w[t];
        const T *src = base + koff[t] + p0;
        FC_UNROLL for (int v = 0; v < nv; v++) {
            DV u;
            memcpy(&u, src + v * DL, sizeof(DV));
            acc[v] += wt * u;
        }
    }
    /* lanes of virtual columns past the output width are not stored */
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
    const fc_idx V = (OH - 1) * Q2 + OW;   /* virtual positions of one od plane */
#if FC_HAVE_VECTORS
    enum { DL = FC_VBYTES / sizeof(T) };
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
                const fc_idx left = V - p0;
                const int nv = left >= step ? FC_DW_NVMAX : (int)((left + DL - 1) / DL);
                const int last = left >= nv * DL ? DL : (int)(left - (nv - 1) * DL);
                fc_pf_step(&pfs);
                switch (nv) {
                case 1: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 1, last); break;
                case 2: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 2, last); break;
                case 3: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 3, last); break;
                case 4: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 4, last); break;
                case 5: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 5, last); break;
                case 6: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 6, last); break;
                case 7: FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 7, last); break;
                default:
                    FC_FN(dwv_chunk_)(base, koff, taps, wm, b, p0, Q2, OW, yp, 8, last);
                    break;
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
    (void)V;
#endif
}

/* The adjoint: dpad (zero-filled by the caller, the padded plane's shape) +=
 * taps of gy; then what fell on the padding is folded back onto the input
 * positions it was copied from (pmap), constant padding dropped: dx +=. */
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
    const fc_idx *m0 = g->pmap[0], *m1 = g->pmap[1], *m2 = g->pmap[2];
    for (fc_idx i = 0; i < E0; i++) {
        if (m0[i] < 0) continue;
        for (fc_idx j = 0; j < E1; j++) {
            if (m1[j] < 0) continue;
            T *row = dx + (m0[i] * H + m1[j]) * W;
            const T *src = dpad + (i * E1 + j) * E2;
            for (fc_idx l = 0; l < E2; l++)
                if (m2[l] >= 0) row[m2[l]] += src[l];
        }
    }
}

#if FC_HAVE_VECTORS
/* dw_weight_grad for 3x3 taps (per kd) at stride 1 along rows: the nine
 * partial sums stay in registers while each vector of gy is loaded once, over
 * the whole plane; then each tap's lanes and its scalar row tails are added in
 * a fixed order, and the plane's total goes into acc in double. */
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
        T tail[9];
        for (int t = 0; t < 9; t++) {
            part[t] = (DV){0};
            tail[t] = 0;
        }
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
            for (int t = 0; t < 9; t++) {
                const T *src = base + (t / 3) * dh * E2 + (t % 3) * dw;
                for (fc_idx i = body; i < OW; i++) tail[t] += grow[i] * src[i];
            }
        }
        for (int t = 0; t < 9; t++) {
            T lanes[DL];
            memcpy(lanes, &part[t], sizeof(DV));
            double s = (double)tail[t];
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
