/* im2col, col2im and panel packing for one element type; included by
 * fc_pack.c once for float and once for double with T and SFX defined. */

#define FC_FN(name) FC_CAT(name, SFX)

/* Output positions o in [0, out) whose tap t reads input index o*s + off
 * directly (no padding): the interval [lo, hi).  Outside it the table holds a
 * padded (reflected, wrapped, constant...) index. */
void FC_FN(fc_im2col_)(const T *x, const fc_geom *g, fc_idx p0, fc_idx np, fc_idx pnr,
                       T padval, T *dst)
{
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx D = g->in[0], H = g->in[1], W = g->in[2];
    const fc_idx K = g->C * KD * KH * KW;
    const fc_idx panel = K * pnr;
    fc_idx k = 0;
    for (fc_idx c = 0; c < g->C; c++)
    for (fc_idx kd = 0; kd < KD; kd++)
    for (fc_idx kh = 0; kh < KH; kh++)
    for (fc_idx kw = 0; kw < KW; kw++, k++) {
        const fc_idx *td = g->tab[0] + kd * OD;
        const fc_idx *th = g->tab[1] + kh * OH;
        const fc_idx *tw = g->tab[2] + kw * OW;
        fc_idx p = p0, q = 0;           /* q: pixel index inside the tile */
        fc_idx ow = p % OW, oh = (p / OW) % OH, od = p / (OW * OH);
        while (q < np) {
            /* one run: same output row, same destination panel */
            fc_idx run = OW - ow;
            if (run > np - q) run = np - q;
            fc_idx room = pnr - q % pnr;
            if (run > room) run = room;
            T *out = dst + (q / pnr) * panel + k * pnr + q % pnr;
            const fc_idx sd = td[od], sh = th[oh];
            if (sd < 0 || sh < 0) {
                for (fc_idx i = 0; i < run; i++) out[i] = padval;
            } else {
                const T *row = x + ((c * D + sd) * H + sh) * W;
                const fc_idx *t = tw + ow;
                fc_idx i = 0;
                while (i < run) {
                    /* contiguous stretch of the input row: copy it whole */
                    fc_idx j = i + 1;
                    if (t[i] >= 0)
                        while (j < run && t[j] == t[j - 1] + 1) j++;
                    if (j - i > 1) {
                        memcpy(out + i, row + t[i], (size_t)(j - i) * sizeof(T));
                    } else {
                        out[i] = t[i] >= 0 ? row[t[i]] : padval;
                    }
                    i = j;
                }
            }
            q += run;
            p += run;
            ow += run;
            if (ow == OW) {
                ow = 0;
                if (++oh == OH) { oh = 0; od++; }
            }
        }
        /* zero the unused columns of the last panel */
        if (np % pnr) {
            T *out = dst + (np / pnr) * panel + k * pnr;
            for (fc_idx i = np % pnr; i < pnr; i++) out[i] = 0;
        }
    }
}

void FC_FN(fc_col2im_)(const T *col, fc_idx ldcol, const fc_geom *g, fc_idx p0, fc_idx np,
                       T *dx)
{
    const fc_idx OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const fc_idx KD = g->k[0], KH = g->k[1], KW = g->k[2];
    const fc_idx D = g->in[0], H = g->in[1], W = g->in[2];
    fc_idx k = 0;
    for (fc_idx c = 0; c < g->C; c++)
    for (fc_idx kd = 0; kd < KD; kd++)
    for (fc_idx kh = 0; kh < KH; kh++)
    for (fc_idx kw = 0; kw < KW; kw++, k++) {
        const fc_idx *td = g->tab[0] + kd * OD;
        const fc_idx *th = g->tab[1] + kh * OH;
        const fc_idx *tw = g->tab[2] + kw * OW;
        const T *src = col + k * ldcol;
        fc_idx p = p0, q = 0;
        fc_idx ow = p % OW, oh = (p / OW) % OH, od = p / (OW * OH);
        while (q < np) {
            fc_idx run = OW - ow;
            if (run > np - q) run = np - q;
            const fc_idx sd = td[od], sh = th[oh];
            if (sd >= 0 && sh >= 0) {
                T *row = dx + ((c * D + sd) * H + sh) * W;
                const fc_idx *t = tw + ow;
                const T *s = src + q;
                for (fc_idx i = 0; i < run; i++)
                    if (t[i] >= 0) row[t[i]] += s[i];
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

void FC_FN(fc_pack_a_)(const T *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr, T *dst)
{
    for (fc_idx mb = 0; mb < M; mb += mr) {
        T *panel = dst + (mb / mr) * K * mr;
        for (fc_idx k = 0; k < K; k++)
            for (int m = 0; m < mr; m++)
                panel[k * mr + m] = mb + m < M ? src[(mb + m) * rs + k * cs] : (T)0;
    }
}

void FC_FN(fc_pack_b_)(const T *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr, T *dst)
{
    for (fc_idx nb = 0; nb < N; nb += nr) {
        T *panel = dst + (nb / nr) * K * nr;
        const fc_idx n = N - nb < nr ? N - nb : nr;
        for (fc_idx k = 0; k < K; k++) {
            const T *s = src + k * rs + nb * cs;
            T *d = panel + k * nr;
            if (cs == 1) {
                memcpy(d, s, (size_t)n * sizeof(T));
            } else {
                for (fc_idx j = 0; j < n; j++) d[j] = s[j * cs];
            }
            for (fc_idx j = n; j < nr; j++) d[j] = 0;
        }
    }
}

#undef FC_FN
