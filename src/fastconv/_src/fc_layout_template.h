/* Padding, col2im and panel packing for one element type (T, SFX
 * defined by the includer, fc_isa_template.h).  Compiled once per instruction set: the
 * short row copies below vectorise to that set's width, which libc's memcpy
 * cannot beat on runs of a few dozen elements (its call overhead dominated). */

#ifndef FC_INTERIOR_DEFINED
#define FC_INTERIOR_DEFINED
/* Output positions o in [*a, *b) whose tap reads input index o*s + off with
 * 0 <= o*s + off < n directly; outside that interval the table holds a padded
 * (reflected, wrapped, constant...) index. */
static void fc_interior(fc_idx n, fc_idx out, fc_idx s, fc_idx off, fc_idx *a, fc_idx *b)
{
    /* smallest o with o*s + off >= 0, largest with o*s + off <= n - 1 */
    fc_idx lo = off >= 0 ? 0 : (-off + s - 1) / s;
    fc_idx hi = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    if (lo > out) lo = out;
    if (hi > out) hi = out;
    if (hi < lo) hi = lo;
    *a = lo;
    *b = hi;
}
#endif

/* dx[input index] += col[k][p] for output pixels [p0, p0 + np) (col row stride
 * ldcol, K = C * prod(k) rows), for every tap that reads a real input element;
 * taps on constant padding are dropped, taps on reflected/wrapped/... padding
 * fold back onto the element they copy (fc_src).  Serial, fixed order. */
#if FC_HAVE_VECTORS
typedef T FC_FN(tvec_) __attribute__((vector_size(FC_VBYTES)));
typedef IT FC_FN(tivec_) __attribute__((vector_size(FC_VBYTES)));
#endif

static void FC_FN(col2im_)(const T *col, fc_idx ldcol, const fc_geom *g, fc_idx p0, fc_idx np,
                       T *dx)
{
    const fc_idx OH = g->out[1], OW = g->out[2];
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx D = g->in[0], H = g->in[1], W = g->in[2];
    fc_idx k = 0;
    for (fc_idx c = 0; c < g->C; c++)
    for (fc_idx kd = 0; kd < KD; kd++)
    for (fc_idx kh = 0; kh < KH; kh++)
    for (fc_idx kw = 0; kw < KW; kw++, k++) {
        const fc_idx td = kd * g->dilation[0], th = kh * g->dilation[1];
        const fc_idx tw = kw * g->dilation[2];
        const T *src = col + k * ldcol;
        const fc_idx sw = g->stride[2];
        fc_idx ia, ib;
        fc_interior(W, OW, sw, tw - g->lo[2], &ia, &ib);
        fc_idx p = p0, q = 0;
        fc_idx ow = p % OW, oh = (p / OW) % OH, od = p / (OW * OH);
        while (q < np) {
            fc_idx run = OW - ow;
            if (run > np - q) run = np - q;
            const fc_idx sd = fc_src(g, 0, od * g->stride[0] + td);
            const fc_idx sh = fc_src(g, 1, oh * g->stride[1] + th);
            if (sd >= 0 && sh >= 0) {
                T *row = dx + ((c * D + sd) * H + sh) * W;
                /* input index of output ow + i's tap */
#define FC_TW(i) fc_src(g, 2, (ow + (i)) * sw + tw)
                const T *s = src + q;
                fc_idx a = ia - ow, b = ib - ow;
                if (a < 0) a = 0;
                if (a > run) a = run;
                if (b > run) b = run;
                if (b < a) b = a;
                for (fc_idx i = 0; i < a; i++) {
                    const fc_idx j = FC_TW(i);
                    if (j >= 0) row[j] += s[i];
                }
                if (b > a) {
                    const fc_idx ta = (ow + a) * sw + tw - g->lo[2];
                    T *dst = row + ta;
                    fc_idx i = a;
                    if (sw == 1) {
                        for (; i < b; i++) dst[i - a] += s[i];
                    }
#if FC_HAVE_VECTORS
                    else if (sw == 2) {
                        /* VL terms spread over the even lanes of two vectors
                         * (zeros between), while both vectors stay in the row */
                        typedef FC_FN(tvec_) TV;
                        typedef FC_FN(tivec_) TIV;
                        enum { TL = FC_VBYTES / sizeof(T) };
                        const TV zero = {0};
                        for (; i + TL <= b && 2 * (i - a) + 2 * TL <= W - ta; i += TL) {
                            TV v, lo, hi;
                            memcpy(&v, s + i, sizeof(TV));
                            T *d = dst + 2 * (i - a);
                            memcpy(&lo, d, sizeof(TV));
                            memcpy(&hi, d + TL, sizeof(TV));
                            lo += FC_SPREAD_LO(TV, TIV, TLANES, v, zero);
                            hi += FC_SPREAD_HI(TV, TIV, TLANES, v, zero);
                            memcpy(d, &lo, sizeof(TV));
                            memcpy(d + TL, &hi, sizeof(TV));
                        }
                    }
#endif
                    for (; i < b; i++) dst[(i - a) * sw] += s[i];
                }
                for (fc_idx i = b; i < run; i++) {
                    const fc_idx j = FC_TW(i);
                    if (j >= 0) row[j] += s[i];
                }
#undef FC_TW
            }
            q += run;
            p += run;
            ow += run;
            if (ow == OW) {
                ow = 0;
                if (++oh == OH) { oh = 0; od++; }
            }
        }
    }
}

static void FC_FN(pack_a_)(const T *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr, T *dst)
{
    for (fc_idx mb = 0; mb < M; mb += mr) {
        T *panel = dst + (mb / mr) * K * mr;
        for (fc_idx k = 0; k < K; k++)
            for (int m = 0; m < mr; m++)
                panel[k * mr + m] = mb + m < M ? src[(mb + m) * rs + k * cs] : (T)0;
    }
}

static void FC_FN(pack_b_)(const T *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr, T *dst)
{
    for (fc_idx nb = 0; nb < N; nb += nr) {
        T *panel = dst + (nb / nr) * K * nr;
        const fc_idx n = N - nb < nr ? N - nb : nr;
        for (fc_idx k = 0; k < K; k++) {
            const T *s = src + k * rs + nb * cs;
            T *d = panel + k * nr;
            if (cs == 1) {
                for (fc_idx j = 0; j < n; j++) d[j] = s[j];
            } else {
                for (fc_idx j = 0; j < n; j++) d[j] = s[j * cs];
            }
            for (fc_idx j = n; j < nr; j++) d[j] = 0;
        }
    }
}

/* The padded image the row kernels read in place:
 * dst[c][p0][p1][p2][q0][q1][q2] = x[c][src0(i0)][src1(i1)][src2(i2)] (fc_src) with
 * padded position i = q*split + p (padval where fc_src is -1, or past ext).
 * With split = 1 this is simply the (C, ext0, ext1, ext2) padded image. */
static void FC_FN(pad_image_)(const T *x, const fc_geom *g, T padval, T *dst)
{
    const fc_idx D = g->in[0], H = g->in[1], W = g->in[2];
    const fc_idx S0 = g->split[0], S1 = g->split[1], S2 = g->split[2];
    const fc_idx Q0 = g->pext[0], Q1 = g->pext[1], Q2 = g->pext[2];
    for (fc_idx c = 0; c < g->C; c++)
    for (fc_idx p0 = 0; p0 < S0; p0++)
    for (fc_idx p1 = 0; p1 < S1; p1++)
    for (fc_idx p2 = 0; p2 < S2; p2++) {
        /* along the last axis: positions q with p2 + q*S2 inside the padded
         * extent, and among them the interior [ia, ib) that reads x directly */
        fc_idx qn = (g->ext[2] - p2 + S2 - 1) / S2;
        /* rows narrower than the extent share their right padding with the next
         * row's left padding (see _split_phases): not written here */
        if (qn > Q2) qn = Q2;
        fc_idx ia, ib;
        fc_interior(W, qn, S2, p2 - g->lo[2], &ia, &ib);
        for (fc_idx q0 = 0; q0 < Q0; q0++)
        for (fc_idx q1 = 0; q1 < Q1; q1++) {
            T *out = dst + (((((c * S0 + p0) * S1 + p1) * S2 + p2) * Q0 + q0) * Q1 + q1) * Q2;
            const fc_idx i0 = q0 * S0 + p0, i1 = q1 * S1 + p1;
            const fc_idx j0 = i0 < g->ext[0] ? fc_src(g, 0, i0) : -1;
            const fc_idx j1 = i1 < g->ext[1] ? fc_src(g, 1, i1) : -1;
            if (j0 < 0 || j1 < 0) {
                for (fc_idx q = 0; q < Q2; q++) out[q] = padval;
                continue;
            }
            const T *row = x + ((c * D + j0) * H + j1) * W;
            for (fc_idx q = 0; q < ia; q++) {
                const fc_idx j = fc_src(g, 2, q * S2 + p2);
                out[q] = j >= 0 ? row[j] : padval;
            }
            if (ib > ia) {
                const T *src = row + (ia * S2 + p2 - g->lo[2]);
                fc_idx q = ia;
                if (S2 == 1) {
                    /* memcpy: GCC copies this loop element by element (the two
                     * rows might overlap, as far as it knows) */
                    memcpy(out + ia, src, (size_t)(ib - ia) * sizeof(T));
                    q = ib;
                }
#if FC_HAVE_VECTORS
                else if (S2 == 2) {
                    /* one phase of a stride-2 row: the even lanes of two vectors,
                     * as long as both lie inside the row */
                    typedef FC_FN(tvec_) TV;
                    typedef FC_FN(tivec_) TIV;
                    enum { TL = FC_VBYTES / sizeof(T) };
                    const fc_idx avail = W - (ia * S2 + p2 - g->lo[2]);
                    for (fc_idx q0 = ia; q0 < ib; q0 += TL) {
                        /* the last vector may overlap the one before (same
                         * values written twice) rather than leave a scalar tail */
                        const fc_idx qv = q0 + TL <= ib ? q0 : ib - TL;
                        if (qv < ia || 2 * (qv - ia) + 2 * TL > avail) break;
                        TV a, b;
                        memcpy(&a, src + 2 * (qv - ia), sizeof(TV));
                        memcpy(&b, src + 2 * (qv - ia) + TL, sizeof(TV));
                        const TV e = FC_EVENS(TV, TIV, TLANES, a, b);
                        memcpy(out + qv, &e, sizeof(TV));
                        q = qv + TL;
                    }
                    /* what is left (rows shorter than a vector, the end of a row
                     * read up to its last element): masked loads of only the
                     * elements used, a masked store (28-wide rows of a stride-2
                     * depthwise layer spent most of their time in a scalar loop) */
                    while (q < ib) {
                        const int n = (int)(ib - q < TL ? ib - q : TL);
                        const int la = 2 * n - 1 < TL ? 2 * n - 1 : TL;
                        const int lb = 2 * n - 1 - la;
                        const T *s0 = src + 2 * (q - ia);
                        const TV a = FC_FN(mload_)(s0, (unsigned)((1ull << la) - 1));
                        const TV b = lb > 0 ? FC_FN(mload_)(s0 + TL, (unsigned)((1ull << lb) - 1))
                                            : (TV){0};
                        FC_FN(mstore_)(out + q, (unsigned)((1ull << n) - 1),
                                       FC_EVENS(TV, TIV, TLANES, a, b));
                        q += n;
                    }
                }
#endif
                for (; q < ib; q++) out[q] = src[(q - ia) * S2];
            }
            for (fc_idx q = ib; q < qn; q++) {
                const fc_idx j = fc_src(g, 2, q * S2 + p2);
                out[q] = j >= 0 ? row[j] : padval;
            }
            for (fc_idx q = qn; q < Q2; q++) out[q] = padval;
        }
    }
}


