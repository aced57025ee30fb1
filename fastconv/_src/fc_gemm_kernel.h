/* Register-blocked GEMM microkernel and its cache-blocked driver for one
 * element type; included by fc_isa_template.h with T, SFX, MR, NV defined.
 *
 * Two ways to read B:
 *   gemm:      B packed in NR-column panels, [N/NR][K][NR];
 *   gemm_rows: B[k][n] = base[koff[k] + n] — rows read in place, e.g. the
 *              shifted rows of a padded image (a stride-1 convolution needs
 *              no im2col copy at all: "indirect" GEMM).
 * Each element of C is reduced over K in increasing k in chunks of FC_KC, by
 * the same code whatever the caller's split of the work between threads.
 */

#define VL ((int)(FC_VBYTES / sizeof(T)))
#define NR (NV * VL)

#if FC_HAVE_VECTORS
typedef T FC_FN(vec_) __attribute__((vector_size(FC_VBYTES)));
#define V FC_FN(vec_)

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

static inline void FC_FN(ukernel_)(fc_idx K, const T *A, const T *B, const fc_idx *koff,
                                   T *C, fc_idx ldc, int mr, int nr, const T *bias,
                                   int accumulate)
{
    V c[MR][NV];
    FC_UNROLL for (int m = 0; m < MR; m++)
        FC_UNROLL for (int v = 0; v < NV; v++) c[m][v] = (V){0};
    if (koff) {
        FC_KLOOP(B + koff[k])
    } else {
        FC_KLOOP(B + k * NR)
    }
    if (mr == MR && nr == NR) {
        FC_UNROLL for (int m = 0; m < MR; m++) {
            T *row = C + m * ldc;
            const T bm = bias ? bias[m] : (T)0;
            FC_UNROLL for (int v = 0; v < NV; v++) {
                V r = c[m][v] + bm;
                if (accumulate) {
                    V old;
                    memcpy(&old, row + v * VL, sizeof(V));
                    r = old + c[m][v];
                }
                memcpy(row + v * VL, &r, sizeof(V));
            }
        }
        return;
    }
    for (int m = 0; m < mr; m++) {
        T tmp[NR];
        memcpy(tmp, c[m], sizeof(tmp));
        T *row = C + m * ldc;
        const T bm = bias ? bias[m] : (T)0;
        if (accumulate)
            for (int j = 0; j < nr; j++) row[j] += tmp[j];
        else
            for (int j = 0; j < nr; j++) row[j] = tmp[j] + bm;
    }
}
#undef FC_KLOOP
#undef V

#else  /* no vector extensions (MSVC): plain loops, same layouts and order */

static void FC_FN(ukernel_)(fc_idx K, const T *A, const T *B, const fc_idx *koff,
                            T *C, fc_idx ldc, int mr, int nr, const T *bias, int accumulate)
{
    T c[MR][NR] = {{0}};
    for (fc_idx k = 0; k < K; k++) {
        const T *brow = koff ? B + koff[k] : B + k * NR;
        for (int m = 0; m < MR; m++)
            for (int j = 0; j < NR; j++) c[m][j] += A[k * MR + m] * brow[j];
    }
    for (int m = 0; m < mr; m++) {
        T *row = C + m * ldc;
        const T bm = bias ? bias[m] : (T)0;
        for (int j = 0; j < nr; j++) row[j] = accumulate ? row[j] + c[m][j] : c[m][j] + bm;
    }
}
#endif

/* C[M x N] (= or +=) A @ B (+ bias).  koff == NULL: Bp packed; else B[k][n] =
 * Bp[koff[k] + n], rows scattered through a padded image.  Those rows are copied
 * KC x NR at a time into a contiguous, aligned slice before the MR-row panels of
 * A run over it: the copy's independent loads overlap their cache misses, which
 * the FMA chains cannot, and the microkernel then streams L1-resident data. */
static void FC_FN(gemm_driver_)(const T *Ap, const T *Bp, const fc_idx *koff, fc_idx K,
                                fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,
                                int accumulate)
{
#if FC_HAVE_VECTORS
    T slice[FC_KC * NR] __attribute__((aligned(64)));
#else
    T slice[FC_KC * NR];
#endif
    fc_idx kc = 0;
    do {
        const fc_idx kl = K - kc < FC_KC ? K - kc : FC_KC;
        const int acc = accumulate || kc > 0;
        for (fc_idx nb = 0; nb < N; nb += NR) {
            const int nr = (int)(N - nb < NR ? N - nb : NR);
            const T *B;
            if (koff) {
                /* only the nr real columns are read: the rows may end right there */
                for (fc_idx k = 0; k < kl; k++) {
                    const T *src = Bp + koff[kc + k] + nb;
                    T *dst = slice + k * NR;
#if defined(__GNUC__) || defined(__clang__)
                    /* rows from many planes defeat the hardware prefetchers:
                     * ask for this row's next block (the next tile's first one
                     * at the end of a tile) while copying this one; a prefetch
                     * past the end of the image is harmless */
                    for (int j = 0; j < NR; j += 64 / (int)sizeof(T))
                        __builtin_prefetch(src + NR + j);
#endif
                    if (nr == NR) {
                        for (int j = 0; j < NR; j++) dst[j] = src[j];
                    } else {
                        for (int j = 0; j < nr; j++) dst[j] = src[j];
                        for (int j = nr; j < NR; j++) dst[j] = 0;
                    }
                }
                B = slice;
            } else {
                B = Bp + (nb / NR) * K * NR + kc * NR;
            }
            for (fc_idx mb = 0; mb < M; mb += MR) {
                const int mr = (int)(M - mb < MR ? M - mb : MR);
                FC_FN(ukernel_)(kl, Ap + (mb / MR) * K * MR + kc * MR, B, NULL,
                                C + mb * ldc + nb, ldc, mr, nr,
                                bias && !acc ? bias + mb : NULL, acc);
            }
        }
        kc += FC_KC;
    } while (kc < K);
}

static void FC_FN(gemm_)(const T *Ap, const T *Bp, fc_idx K, fc_idx M, fc_idx N, T *C,
                         fc_idx ldc, const T *bias, int accumulate)
{
    FC_FN(gemm_driver_)(Ap, Bp, NULL, K, M, N, C, ldc, bias, accumulate);
}

static void FC_FN(gemm_rows_)(const T *Ap, const T *base, const fc_idx *koff, fc_idx K,
                              fc_idx M, fc_idx N, T *C, fc_idx ldc, const T *bias,
                              int accumulate)
{
    FC_FN(gemm_driver_)(Ap, base, koff, K, M, N, C, ldc, bias, accumulate);
}

#undef VL
#undef NR
