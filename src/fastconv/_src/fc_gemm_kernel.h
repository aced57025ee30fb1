/* Register-blocked GEMM microkernel and its cache-blocked driver for one
 * element type; included by fc_isa_template.h with T, SFX, MR, NV defined.
 *
 * Two ways to read B:
 *   gemm:      B packed in NR-column panels, [N/NR][K][NR];
 *   gemm_rows: B[k][n] = base[koff[k] + n] — rows read in place, e.g. the
 *              shifted rows of a padded image (a stride-1 convolution needs
 *              no im2col copy at all: "indirect" GEMM); C may be an output
 *              plane that the columns (virtual grid positions) are placed in.
 * Each element of C is reduced over K in increasing k, in blocks (at most FC_KC
 * deep) that depend on K alone, by the same code whatever the caller's split
 * of the work between threads.
 */

#define VL ((int)(FC_VBYTES / sizeof(T)))
#define NR (NV * VL)

/* Where the columns of one NR block of C go when C is an output plane read
 * through a virtual grid (gemm_rows with vg): vector v's lanes fall into
 * nseg[v] runs; run s holds the lanes of mask[v][s] and lane j of it goes to
 * C[off[v][s] + j].  A vector of VL lanes meets at most VL runs (one per
 * virtual row, at least one lane each). */
typedef struct {
    int nseg[NV];
    unsigned mask[NV][VL];
    fc_idx off[NV][VL];
} FC_FN(vsegs_);

/* Runs of the nr columns starting at virtual position vb (see fc_geom: the
 * virtual grid is [od][pext1][pext2]; a position is real where oh < out[1] and
 * ow < out[2]).  One step per virtual row a vector meets, not per lane. */
static void FC_FN(vsegs_make_)(const fc_geom *g, fc_idx vb, int nr, FC_FN(vsegs_) *s)
{
    const fc_idx E2 = g->pext[2], E1 = g->pext[1], OH = g->out[1], OW = g->out[2];
    const fc_idx E12 = E1 * E2;
    fc_idx od = vb / E12, oh = (vb - od * E12) / E2, ow = vb - od * E12 - oh * E2;
    for (int v = 0; v < NV; v++) {
        int n = 0;
        const int lanes = nr - v * VL < VL ? nr - v * VL : VL;
        for (int j = 0; j < VL;) {
            const int run = (int)(E2 - ow < VL - j ? E2 - ow : VL - j);
            fc_idx real = oh < OH && ow < OW ? OW - ow : 0;
            if (real > run) real = run;
            if (real > lanes - j) real = lanes - j;
            if (real > 0) {
                s->off[v][n] = (od * OH + oh) * OW + ow - j;
                s->mask[v][n] = (unsigned)(((1ull << real) - 1) << j);
                n++;
            }
            j += run;
            ow += run;
            if (ow == E2) {
                ow = 0;
                if (++oh == E1) {
                    oh = 0;
                    od++;
                }
            }
        }
        s->nseg[v] = n;
    }
}

/* The first and last output index that the runs s of nr columns write (both
 * 0 if none: then nothing is stored). */
static inline void FC_FN(vsegs_span_)(const FC_FN(vsegs_) *s, int nr, fc_idx *lo, fc_idx *hi)
{
    *lo = *hi = 0;
    int first = 1;
    for (int v = 0; v * VL < nr; v++)
        for (int r = 0; r < s->nseg[v]; r++) {
            const unsigned m = s->mask[v][r];
            int a = 0, b = VL - 1;
            while (!((m >> a) & 1u)) a++;
            while (!((m >> b) & 1u)) b--;
            if (first) *lo = s->off[v][r] + a;
            *hi = s->off[v][r] + b;
            first = 0;
        }
}

#if FC_HAVE_VECTORS
typedef T FC_FN(vec_) __attribute__((vector_size(FC_VBYTES)));
#define V FC_FN(vec_)

#if FC_VBYTES == 32 && defined(__AVX2__)
/* AVX2 masks are vectors: all ones in the lanes of the bit mask. */
static inline __m256i FC_FN(lanemask_)(unsigned mask)
{
    if (sizeof(T) == 4) {
        const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)mask), bits), bits);
    }
    const __m256i bits = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(mask), bits), bits);
}
#endif

/* Masked load (lanes outside mask read as 0) and store of one vector; lanes
 * outside the mask are never touched, so p may point before or past the array
 * there. */
static inline V FC_FN(mload_)(const T *p, unsigned mask)
{
#if FC_VBYTES == 64 && defined(__AVX512F__)
    if (sizeof(T) == 4)
        return (V)_mm512_maskz_loadu_ps((__mmask16)mask, (const float *)p);
    return (V)_mm512_maskz_loadu_pd((__mmask8)mask, (const double *)p);
#elif FC_VBYTES == 32 && defined(__AVX2__)
    if (sizeof(T) == 4)
        return (V)_mm256_maskload_ps((const float *)p, FC_FN(lanemask_)(mask));
    return (V)_mm256_maskload_pd((const double *)p, FC_FN(lanemask_)(mask));
#else
    T t[VL];
    for (int j = 0; j < VL; j++) t[j] = (mask >> j) & 1u ? p[j] : (T)0;
    V r;
    memcpy(&r, t, sizeof(V));
    return r;
#endif
}

static inline void FC_FN(mstore_)(T *p, unsigned mask, V x)
{
#if FC_VBYTES == 64 && defined(__AVX512F__)
    if (sizeof(T) == 4)
        _mm512_mask_storeu_ps((float *)p, (__mmask16)mask, (__m512)x);
    else
        _mm512_mask_storeu_pd((double *)p, (__mmask8)mask, (__m512d)x);
#elif FC_VBYTES == 32 && defined(__AVX2__)
    if (sizeof(T) == 4)
        _mm256_maskstore_ps((float *)p, FC_FN(lanemask_)(mask), (__m256)x);
    else
        _mm256_maskstore_pd((double *)p, FC_FN(lanemask_)(mask), (__m256d)x);
#else
    T t[VL];
    memcpy(t, &x, sizeof(V));
    for (int j = 0; j < VL; j++)
        if ((mask >> j) & 1u) p[j] = t[j];
#endif
}

/* One MR x NR block of C: k-loop over rows of B given by ROW(k). */
#define FC_KLOOP(ROW)                                                              \
    for (fc_idx k = 0; k < K; k++) {                                               \
        const T *brow = (ROW);                                                     \
        V b[NV];                                                                   \
        FC_UNROLL for (int v = 0; v < NV; v++) memcpy(&b[v], brow + v * VL, sizeof(V)); \
        FC_UNROLL for (int m = 0; m < MR; m++) {                                   \
            const T a = A[k * MR + m];                                             \
            FC_UNROLL for (int v = 0; v < NV; v++) c[m][v] += a * b[v];            \
        }                                                                          \
    }

/* C block = A @ B over K (+ prev or + bias), B packed NR wide (koff == NULL)
 * or rows B + koff[k].  The MR x NR result r = prev + A@B where prev holds
 * partial sums of earlier K blocks (row stride ldp; full NR columns unless it
 * is out itself), else r = A@B + bias.  r goes to out (row stride ldo): the
 * first nr columns, or placed by seg on an output plane. */
static inline void FC_FN(ukernel_)(fc_idx K, const T *A, const T *B, const fc_idx *koff,
                                   const T *prev, fc_idx ldp, T *out, fc_idx ldo,
                                   int mr, int nr, const T *bias, const FC_FN(vsegs_) *seg)
{
    V c[MR][NV];
    FC_UNROLL for (int m = 0; m < MR; m++)
        FC_UNROLL for (int v = 0; v < NV; v++) c[m][v] = (V){0};
    if (koff) {
        FC_KLOOP(B + koff[k])
    } else {
        FC_KLOOP(B + k * NR)
    }
    const int partial_prev = prev == out && nr < NR;
    /* constant indices into c after unrolling: the accumulators stay in
     * registers */
    FC_UNROLL for (int m = 0; m < MR; m++) {
        if (m >= mr) break;
        V r[NV];
        if (prev) {
            const T *prow = prev + m * ldp;
            if (partial_prev) {
                T tmp[NR] = {0};
                for (int j = 0; j < nr; j++) tmp[j] = prow[j];
                FC_UNROLL for (int v = 0; v < NV; v++) {
                    V old;
                    memcpy(&old, tmp + v * VL, sizeof(V));
                    r[v] = old + c[m][v];
                }
            } else {
                FC_UNROLL for (int v = 0; v < NV; v++) {
                    V old;
                    memcpy(&old, prow + v * VL, sizeof(V));
                    r[v] = old + c[m][v];
                }
            }
        } else {
            const T bm = bias ? bias[m] : (T)0;
            FC_UNROLL for (int v = 0; v < NV; v++) r[v] = c[m][v] + bm;
        }
        T *row = out + m * ldo;
        if (seg) {
            FC_UNROLL for (int v = 0; v < NV; v++)
                for (int s = 0; s < seg->nseg[v]; s++)
                    FC_FN(mstore_)(row + seg->off[v][s], seg->mask[v][s], r[v]);
        } else if (nr == NR) {
            FC_UNROLL for (int v = 0; v < NV; v++) memcpy(row + v * VL, &r[v], sizeof(V));
        } else {
            T tmp[NR];
            memcpy(tmp, r, sizeof(tmp));
            for (int j = 0; j < nr; j++) row[j] = tmp[j];
        }
    }
}
#undef FC_KLOOP
#undef V

#else  /* no vector extensions (MSVC): plain loops, same layouts and order */

static void FC_FN(ukernel_)(fc_idx K, const T *A, const T *B, const fc_idx *koff,
                            const T *prev, fc_idx ldp, T *out, fc_idx ldo,
                            int mr, int nr, const T *bias, const FC_FN(vsegs_) *seg)
{
    T c[MR][NR] = {{0}};
    for (fc_idx k = 0; k < K; k++) {
        const T *brow = koff ? B + koff[k] : B + k * NR;
        for (int m = 0; m < MR; m++)
            for (int j = 0; j < NR; j++) c[m][j] += A[k * MR + m] * brow[j];
    }
    const int ncols = prev == out && nr < NR ? nr : NR;
    for (int m = 0; m < mr; m++) {
        T r[NR];
        const T bm = bias ? bias[m] : (T)0;
        for (int j = 0; j < NR; j++)
            r[j] = prev ? (j < ncols ? prev[m * ldp + j] : (T)0) + c[m][j] : c[m][j] + bm;
        T *row = out + m * ldo;
        if (seg) {
            for (int v = 0; v < NV; v++)
                for (int s = 0; s < seg->nseg[v]; s++)
                    for (int j = 0; j < VL; j++)
                        if ((seg->mask[v][s] >> j) & 1u) row[seg->off[v][s] + j] = r[v * VL + j];
        } else {
            for (int j = 0; j < nr; j++) row[j] = r[j];
        }
    }
}
#endif

/* Ask for the lines of C[m][lo..hi], m < mr (rows ldc apart), to be written:
 * a block's stores then find them in L1 instead of stalling on the misses
 * (gemm_bcast, whose blocks store 12 positions of 32 rows; gemm_rows' 48
 * contiguous positions of 8 rows gained nothing from it: res3x3s2 1.00x,
 * pw1x1 0.95-0.99x, mnist5x5 1.10x the time, its blocks too short to hide
 * the prefetches). */
static inline void FC_FN(pf_write_)(const T *C, fc_idx ldc, int mr, fc_idx lo, fc_idx hi)
{
#if defined(__GNUC__) || defined(__clang__)
    const fc_idx step = 64 / (fc_idx)sizeof(T);
    for (int m = 0; m < mr; m++) {
        const T *row = C + m * ldc;
        for (fc_idx j = lo; j < hi + step; j += step)
            __builtin_prefetch(row + (j < hi ? j : hi), 1, 3);
    }
#else
    (void)C, (void)ldc, (void)mr, (void)lo, (void)hi;
#endif
}

/* Rows of C per pass of gemm_rows, a whole number of MR-row panels: their
 * partial sums over the K blocks stay in an L1-sized buffer. */
#define FC_MB (128 / MR * MR)

/* Rows ahead that whole-row packing asks for: a row of a tile is ~1 KiB (15
 * lines), so 16 rows keep ~240 lines in flight from memory (pw1x1: 0.94x the
 * time of 4 rows ahead at one thread, 0.90-0.99x at two; 32 no better). */
#ifndef FC_PACK_PF
#define FC_PACK_PF 16
#endif

/* C[M x N] (= or +=) A @ B (+ bias), B packed in NR-column panels. */
static void FC_FN(gemm_)(const T *Ap, const T *Bp, fc_idx K, fc_idx M, fc_idx N, T *C,
                         fc_idx ldc, const T *bias, int accumulate)
{
    fc_idx kc = 0;
    do {
        const fc_idx kl = K - kc < FC_KC ? K - kc : FC_KC;
        const int acc = accumulate || kc > 0;
        for (fc_idx nb = 0; nb < N; nb += NR) {
            const int nr = (int)(N - nb < NR ? N - nb : NR);
            const T *B = Bp + (nb / NR) * K * NR + kc * NR;
            for (fc_idx mb = 0; mb < M; mb += MR) {
                const int mr = (int)(M - mb < MR ? M - mb : MR);
                T *cm = C + mb * ldc + nb;
                FC_FN(ukernel_)(kl, Ap + (mb / MR) * K * MR + kc * MR, B, NULL,
                                acc ? cm : NULL, ldc, cm, ldc, mr, nr,
                                bias && !acc ? bias + mb : NULL, NULL);
            }
        }
        kc += FC_KC;
    } while (kc < K);
}

/* C[M x N] = A @ B (+ bias) with B[k][n] = base[koff[k] + n], rows scattered
 * through a padded image.  vg == NULL: column n of C is C[n]; else C is an
 * output plane and column n is virtual position v0 + n of vg's grid, stored
 * only where that is a real output (no second pass to drop the virtual
 * columns).
 *
 * For each NR-column block, the rows are copied KC x NR at a time into a
 * contiguous, aligned slice before the MR-row panels of A run over it: the
 * copy's independent loads overlap their cache misses, which the FMA chains
 * cannot, and the microkernel then streams L1-resident data (for at most four
 * panels of A the microkernel reads the rows in place instead).  With work, all
 * of B is packed into NR-column panels first instead, each row read whole:
 * rows streamed from memory (far-apart planes of an unpadded input) come in
 * much faster as long sequential runs.  The partial sums of the K blocks stay
 * in cbuf; only the last block writes C.  Every element is
 * reduced over K in increasing k in blocks that depend on K alone, whatever
 * the tiling. */
static void FC_FN(gemm_rows_)(const T *Ap, const T *base, const fc_idx *koff, fc_idx K,
                              fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,
                              const fc_geom *vg, fc_idx v0, T *work, const void *pf,
                              fc_idx pfbytes)
{
    FC_FN(vsegs_) seg;
    if (work) {
        /* whole rows at a time, in NR-column panels: long sequential reads */
        const fc_idx np = (N + NR - 1) / NR;
        for (fc_idx k = 0; k < K; k++) {
            const T *src = base + koff[k];
#if defined(__GNUC__) || defined(__clang__)
            if (k + FC_PACK_PF < K)
                for (fc_idx j = 0; j < N; j += 64 / (fc_idx)sizeof(T))
                    __builtin_prefetch(base + koff[k + FC_PACK_PF] + j);
#endif
            for (fc_idx p = 0; p < np; p++) {
                T *dst = work + p * K * NR + k * NR;
                const fc_idx n0 = p * NR;
                if (n0 + NR <= N) {
                    for (int j = 0; j < NR; j++) dst[j] = src[n0 + j];
                } else {
                    for (int j = 0; j < N - n0; j++) dst[j] = src[n0 + j];
                    for (int j = (int)(N - n0); j < NR; j++) dst[j] = 0;
                }
            }
        }
    }
#if FC_HAVE_VECTORS
    T slice[FC_KC * NR] __attribute__((aligned(64)));
    T cbuf[FC_MB * NR] __attribute__((aligned(64)));
#else
    T slice[FC_KC * NR];
    T cbuf[FC_MB * NR];
#endif
    const fc_idx nkb = (K + FC_KC - 1) / FC_KC, kcb = fc_kblock(K, FC_KC);
    fc_pfshare pfs;
    fc_pf_init(&pfs, pf, pfbytes, ((N + NR - 1) / NR) * nkb * ((M + MR - 1) / MR));
    for (fc_idx nb = 0; nb < N; nb += NR) {
        const int nr = (int)(N - nb < NR ? N - nb : NR);
        if (vg) FC_FN(vsegs_make_)(vg, v0 + nb, nr, &seg);
        for (fc_idx mb0 = 0; mb0 < M; mb0 += FC_MB) {
            const fc_idx mend = M - mb0 < FC_MB ? M : mb0 + FC_MB;
            for (fc_idx kc = 0; kc == 0 || kc < K; kc += kcb) {  /* K == 0: the bias */
                const fc_idx kl = K - kc < kcb ? K - kc : kcb;
                const int first = kc == 0, last = kc + kl >= K;
                const T *B = slice;
                const fc_idx *kofs = NULL;
                if (work) {
                    B = work + (nb / NR) * K * NR + kc * NR;
                } else if (M <= 4 * MR && nr == NR) {
                    /* a slice copied for at most four panels of A costs more
                     * than it saves (vol3d: 0.94x the time without it) */
                    B = base + nb;
                    kofs = koff + kc;
                } else {
                    /* rows from many planes defeat the hardware prefetchers: while
                     * copying this block, ask for the block copied next (the next
                     * K block, else the first one of the next pass or column block)
                     * so that its misses overlap this block's arithmetic */
                    const fc_idx *pk = last ? koff : koff + kc + kl;
                    const fc_idx pcol = last && mend >= M ? nb + NR : nb;
                    const fc_idx left = last ? K : K - kc - kl;   /* rows of that block */
                    const fc_idx pn = left < kcb ? left : kcb;
                    /* only the nr real columns are read: the rows may end right there */
                    for (fc_idx k = 0; k < kl; k++) {
                        const T *src = base + koff[kc + k] + nb;
                        T *dst = slice + k * NR;
#if defined(__GNUC__) || defined(__clang__)
                        /* a prefetch past the end of the image is harmless */
                        if (k < pn)
                            for (int j = 0; j < NR; j += 64 / (int)sizeof(T))
                                __builtin_prefetch(base + pk[k] + pcol + j);
#endif
                        if (nr == NR) {
                            for (int j = 0; j < NR; j++) dst[j] = src[j];
                        } else {
                            for (int j = 0; j < nr; j++) dst[j] = src[j];
                            for (int j = nr; j < NR; j++) dst[j] = 0;
                        }
                    }
                }
                for (fc_idx mb = mb0; mb < mend; mb += MR) {
                    const int mr = (int)(mend - mb < MR ? mend - mb : MR);
                    fc_pf_step(&pfs);
                    T *cb = cbuf + (mb - mb0) * NR;
                    const T *A = Ap + (mb / MR) * K * MR + kc * MR;
                    const T *bm = first && bias ? bias + mb : NULL;
                    if (last)
                        FC_FN(ukernel_)(kl, A, B, kofs, first ? NULL : cb, NR,
                                        C + mb * ldc + (vg ? 0 : nb), ldc, mr, nr, bm,
                                        vg ? &seg : NULL);
                    else
                        FC_FN(ukernel_)(kl, A, B, kofs, first ? NULL : cb, NR,
                                        cb, NR, mr, NR, bm, NULL);
                }
            }
        }
    }
}

/* K block of gemm_stream: its rows stream in together (256: pw1x1 as fast as
 * 128, 64 1.04x the time, 32 1.2x). */
#ifndef FC_KS
#define FC_KS 256
#endif

/* C[M x N] = A @ B (+ bias), B[k][n] = base[koff[k] + n] read in place, C[m][n]
 * at C[m * ldc + n].  The K blocks are the outer loop: each sweeps all N
 * columns, so every row of B is read once from its start to its end, a run
 * the hardware prefetchers follow, where gemm_rows' NR-column blocks read K
 * short pieces of far-apart rows (an unpadded 1x1 layer whose planes stream
 * from memory: pw1x1 0.8x the time of whole-row packing).  The partial sums of
 * the K blocks wait in C (for N of a few thousand columns, an L2-sized tile);
 * each element is reduced over K in increasing k, in blocks that depend on K
 * alone. */
static void FC_FN(gemm_stream_)(const T *Ap, const T *base, const fc_idx *koff, fc_idx K,
                                fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias)
{
#if FC_HAVE_VECTORS
    T slice[FC_KS * NR] __attribute__((aligned(64)));
#else
    T slice[FC_KS * NR];
#endif
    const fc_idx kcb = fc_kblock(K, FC_KS);
    for (fc_idx kc = 0; kc == 0 || kc < K; kc += kcb) {  /* K == 0: the bias */
        const fc_idx kl = K - kc < kcb ? K - kc : kcb;
        const int first = kc == 0;
        for (fc_idx nb = 0; nb < N; nb += NR) {
            const int nr = (int)(N - nb < NR ? N - nb : NR);
            const T *B = base + nb;
            const fc_idx *kofs = koff + kc;
            if (nr < NR) {
                /* the last columns: the microkernel reads NR of them, which
                 * may lie past the end of the rows */
                for (fc_idx k = 0; k < kl; k++) {
                    const T *src = base + koff[kc + k] + nb;
                    for (int j = 0; j < NR; j++) slice[k * NR + j] = j < nr ? src[j] : (T)0;
                }
                B = slice;
                kofs = NULL;
            }
            for (fc_idx mb = 0; mb < M; mb += MR) {
                const int mr = (int)(M - mb < MR ? M - mb : MR);
                T *cm = C + mb * ldc + nb;
                FC_FN(ukernel_)(kl, Ap + (mb / MR) * K * MR + kc * MR, B, kofs,
                                first ? NULL : cm, ldc, cm, ldc, mr, nr,
                                first && bias ? bias + mb : NULL, NULL);
            }
        }
    }
}

#undef VL
#undef NR
#undef FC_MB
