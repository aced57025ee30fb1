# The one Cython declaration of the C layer (fc_kernels.h): the geometry struct,
# the instruction-set table of kernels, scratch memory, and the fused float/double
# helpers that call the active table's kernel.  Every kernel module cimports it;
# adding a kernel means one line in FC_DECLARE_KERNELS, one in the table's
# initialiser (fc_isa_template.h), one here and one helper below.

from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "fc_kernels.h" nogil:
    ctypedef Py_ssize_t fc_idx

    ctypedef struct fc_geom:
        fc_idx C
        fc_idx in_ "in"[3]
        fc_idx k[3]
        fc_idx out[3]
        fc_idx stride[3]
        fc_idx dilation[3]
        fc_idx lo[3]
        fc_idx ext[3]
        int mode
        fc_idx split[3]
        fc_idx pext[3]

    ctypedef struct fc_isa:
        const char *name
        int mr_f32, nr_f32, mr_f64, nr_f64
        int vl_f32, vl_f64
        int bm_f32, bm_f64
        void gemm_f32(const float *Ap, const float *Bp, fc_idx K, fc_idx M, fc_idx N,
                      float *C, fc_idx ldc, const float *bias, int accumulate) noexcept nogil
        void gemm_rows_f32(const float *Ap, const float *base, const fc_idx *koff, fc_idx K,
                           fc_idx M, fc_idx N, float *C, fc_idx ldc, const float *bias,
                           const fc_geom *vg, fc_idx v0, float *work, const void *pf,
                           fc_idx pfbytes) noexcept nogil
        void gemm_stream_f32(const float *Ap, const float *base, const fc_idx *koff, fc_idx K,
                             fc_idx M, fc_idx N, float *C, fc_idx ldc,
                             const float *bias) noexcept nogil
        void gemm_bcast_f32(const float *Wp, const float *base, const fc_idx *koff, fc_idx K,
                            fc_idx M, fc_idx N, float *C, fc_idx ldc, const float *bias,
                            const fc_geom *vg, fc_idx v0, const void *pf,
                            fc_idx pfbytes) noexcept nogil
        void pad_image_f32(const float *x, const fc_geom *g, float padval,
                           float *dst) noexcept nogil
        void dw_forward_f32(const float *pad, const fc_geom *g, const fc_idx *koff,
                            const float *w, const float *bias, fc_idx M, float *y,
                            const void *pf, fc_idx pfbytes) noexcept nogil
        void dw_forward_vgrid_f32(const float *pad, const fc_geom *g, const fc_idx *koff,
                                  const float *w, const float *bias, fc_idx M, float *y,
                                  const void *pf, fc_idx pfbytes) noexcept nogil
        void dw_forward3_f32(const float *x, const fc_geom *g, const float *w, const float *bias,
                             fc_idx M, float *y, const void *pf, fc_idx pfbytes) noexcept nogil
        void dw_input_grad_f32(const float *gy, const fc_geom *g, const float *w, fc_idx M,
                               float *dpad, float *dx) noexcept nogil
        void dw_weight_grad_f32(const float *gy, const float *pad, const fc_geom *g, fc_idx M,
                                double *acc) noexcept nogil
        void wino_in_f32(const float *pad, fc_idx vol, fc_idx cs, fc_idx sl, fc_idx Q2,
                         fc_idx C, fc_idx TH, fc_idx TW, fc_idx PT, fc_idx t0, fc_idx nt,
                         float *V, fc_idx ldv, int nd) noexcept nogil
        int wino_gemm_out_f32(const float *Up, fc_idx ustride, const float *V, fc_idx ldv,
                              const fc_idx *koff, fc_idx K, fc_idx M, fc_idx TH, fc_idx TW,
                              fc_idx PT, const fc_idx *pl, fc_idx t0, fc_idx nt,
                              const float *bias, float *y, fc_idx ys0, fc_idx ys1, fc_idx ys2,
                              fc_idx P, float *blk, int nd) noexcept nogil
        void wino1_in_f32(const float *pad, fc_idx cs, fc_idx Q2, fc_idx C, fc_idx k,
                          fc_idx TW, fc_idx t0, fc_idx nt, float *V, fc_idx ldv) noexcept nogil
        int wino1_gemm_out_f32(const float *Up, fc_idx ustride, const float *V, fc_idx ldv,
                               const fc_idx *koff, fc_idx C, fc_idx k, fc_idx M, fc_idx TW,
                               const fc_idx *pl, fc_idx t0, fc_idx nt, const float *bias,
                               float *y, fc_idx ys2, fc_idx P) noexcept nogil
        void pack_gy_t_f32(const float *gy, fc_idx P, const fc_geom *g, fc_idx v0, fc_idx nv,
                           fc_idx M, fc_idx Mpad, float *dst) noexcept nogil
        void wgrad_t_f32(const float *gyT, fc_idx Mpad, fc_idx nv, const float *base,
                         const fc_idx *koff, fc_idx K, float *accT) noexcept nogil
        void col2im_f32(const float *col, fc_idx ldcol, const fc_geom *g, fc_idx p0,
                        fc_idx npix, float *dx) noexcept nogil
        void pack_a_f32(const float *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr,
                        float *dst) noexcept nogil
        void pack_b_f32(const float *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr,
                        float *dst) noexcept nogil
        void gemm_f64(const double *Ap, const double *Bp, fc_idx K, fc_idx M, fc_idx N,
                      double *C, fc_idx ldc, const double *bias, int accumulate) noexcept nogil
        void gemm_rows_f64(const double *Ap, const double *base, const fc_idx *koff,
                           fc_idx K, fc_idx M, fc_idx N, double *C, fc_idx ldc,
                           const double *bias, const fc_geom *vg, fc_idx v0,
                           double *work, const void *pf, fc_idx pfbytes) noexcept nogil
        void gemm_stream_f64(const double *Ap, const double *base, const fc_idx *koff, fc_idx K,
                             fc_idx M, fc_idx N, double *C, fc_idx ldc,
                             const double *bias) noexcept nogil
        void gemm_bcast_f64(const double *Wp, const double *base, const fc_idx *koff, fc_idx K,
                            fc_idx M, fc_idx N, double *C, fc_idx ldc, const double *bias,
                            const fc_geom *vg, fc_idx v0, const void *pf,
                            fc_idx pfbytes) noexcept nogil
        void pad_image_f64(const double *x, const fc_geom *g, double padval,
                           double *dst) noexcept nogil
        void dw_forward_f64(const double *pad, const fc_geom *g, const fc_idx *koff,
                            const double *w, const double *bias, fc_idx M, double *y,
                            const void *pf, fc_idx pfbytes) noexcept nogil
        void dw_forward_vgrid_f64(const double *pad, const fc_geom *g, const fc_idx *koff,
                                  const double *w, const double *bias, fc_idx M, double *y,
                                  const void *pf, fc_idx pfbytes) noexcept nogil
        void dw_forward3_f64(const double *x, const fc_geom *g, const double *w, const double *bias,
                             fc_idx M, double *y, const void *pf, fc_idx pfbytes) noexcept nogil
        void dw_input_grad_f64(const double *gy, const fc_geom *g, const double *w, fc_idx M,
                               double *dpad, double *dx) noexcept nogil
        void dw_weight_grad_f64(const double *gy, const double *pad, const fc_geom *g,
                                fc_idx M, double *acc) noexcept nogil
        void wino_in_f64(const double *pad, fc_idx vol, fc_idx cs, fc_idx sl, fc_idx Q2,
                         fc_idx C, fc_idx TH, fc_idx TW, fc_idx PT, fc_idx t0, fc_idx nt,
                         double *V, fc_idx ldv, int nd) noexcept nogil
        int wino_gemm_out_f64(const double *Up, fc_idx ustride, const double *V, fc_idx ldv,
                              const fc_idx *koff, fc_idx K, fc_idx M, fc_idx TH, fc_idx TW,
                              fc_idx PT, const fc_idx *pl, fc_idx t0, fc_idx nt,
                              const double *bias, double *y, fc_idx ys0, fc_idx ys1, fc_idx ys2,
                              fc_idx P, double *blk, int nd) noexcept nogil
        void wino1_in_f64(const double *pad, fc_idx cs, fc_idx Q2, fc_idx C, fc_idx k,
                          fc_idx TW, fc_idx t0, fc_idx nt, double *V, fc_idx ldv) noexcept nogil
        int wino1_gemm_out_f64(const double *Up, fc_idx ustride, const double *V, fc_idx ldv,
                               const fc_idx *koff, fc_idx C, fc_idx k, fc_idx M, fc_idx TW,
                               const fc_idx *pl, fc_idx t0, fc_idx nt, const double *bias,
                               double *y, fc_idx ys2, fc_idx P) noexcept nogil
        void pack_gy_t_f64(const double *gy, fc_idx P, const fc_geom *g, fc_idx v0, fc_idx nv,
                           fc_idx M, fc_idx Mpad, double *dst) noexcept nogil
        void wgrad_t_f64(const double *gyT, fc_idx Mpad, fc_idx nv, const double *base,
                         const fc_idx *koff, fc_idx K, double *accT) noexcept nogil
        void col2im_f64(const double *col, fc_idx ldcol, const fc_geom *g, fc_idx p0,
                        fc_idx npix, double *dx) noexcept nogil
        void pack_a_f64(const double *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs, int mr,
                        double *dst) noexcept nogil
        void pack_b_f64(const double *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs, int nr,
                        double *dst) noexcept nogil
        void pool_max_row_f32(const float **rows, const int64_t *rbase, int nrows, float *y,
                              int64_t *ind, fc_idx W, fc_idx oW, int k, int s,
                              int p) noexcept nogil
        void pool_avg_row_f32(const float **rows, int nrows, float *y, const float *div,
                              fc_idx W, fc_idx oW, int k, int s, int p) noexcept nogil
        double fma_burn(long iters) noexcept nogil

    const fc_isa fc_isa_avx512
    const fc_isa fc_isa_avx2
    const fc_isa fc_isa_generic
    int fc_cpu_supports_avx512()
    int fc_cpu_supports_avx2()
    enum: FC_DW_SLACK
    enum: FC_WINO_SLACK
    void *fc_malloc(size_t nbytes)
    void fc_free(void *p)
    void *fc_scratch(size_t nbytes)
    void fc_scratch_free(void *p)
    void fc_fail_allocation(long after)
    long fc_allocation_failure_pending()
    void fc_prefetch(const void *p, size_t nbytes)
    int fc_koff_threes(const fc_idx *koff, fc_idx K)
    fc_idx fc_src(const fc_geom *g, int a, fc_idx i)
    # the instruction set every kernel runs (fc_cpu.c; set_isa switches it)
    const fc_isa *fc_active
    void fc_set_active(const fc_isa *table)


cdef inline const floating *_cptr(const floating[::1] a) noexcept:
    """Address of a buffer's first element, NULL for an empty one (no bounds trap)."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline floating *_mptr(floating[::1] a) noexcept:
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline Py_ssize_t _round_up(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a + b - 1) // b * b


cdef inline void _gemm(const floating *Ap, const floating *Bp, fc_idx K, fc_idx M, fc_idx N,
                       floating *C, fc_idx ldc, const floating *bias,
                       int accumulate) noexcept nogil:
    if floating is float:
        fc_active.gemm_f32(Ap, Bp, K, M, N, C, ldc, bias, accumulate)
    else:
        fc_active.gemm_f64(Ap, Bp, K, M, N, C, ldc, bias, accumulate)


cdef inline void _gemm_rows(const floating *Ap, const floating *base, const fc_idx *koff,
                            fc_idx K, fc_idx M, fc_idx N, floating *C, fc_idx ldc,
                            const floating *bias, const fc_geom *vg,
                            fc_idx v0, floating *work, const void *pf,
                            fc_idx pfbytes) noexcept nogil:
    if floating is float:
        fc_active.gemm_rows_f32(Ap, base, koff, K, M, N, C, ldc, bias, vg, v0, work, pf, pfbytes)
    else:
        fc_active.gemm_rows_f64(Ap, base, koff, K, M, N, C, ldc, bias, vg, v0, work, pf, pfbytes)


cdef inline void _gemm_stream(const floating *Ap, const floating *base, const fc_idx *koff,
                              Py_ssize_t K, Py_ssize_t M, Py_ssize_t N, floating *C,
                              Py_ssize_t ldc, const floating *bias) noexcept nogil:
    if floating is float:
        fc_active.gemm_stream_f32(Ap, base, koff, K, M, N, C, ldc, bias)
    else:
        fc_active.gemm_stream_f64(Ap, base, koff, K, M, N, C, ldc, bias)


cdef inline void _gemm_bcast(const floating *Wp, const floating *base, const fc_idx *koff,
                             fc_idx K, fc_idx M, fc_idx N, floating *C, fc_idx ldc,
                             const floating *bias, const fc_geom *vg, fc_idx v0,
                             const void *pf, fc_idx pfbytes) noexcept nogil:
    if floating is float:
        fc_active.gemm_bcast_f32(Wp, base, koff, K, M, N, C, ldc, bias, vg, v0, pf, pfbytes)
    else:
        fc_active.gemm_bcast_f64(Wp, base, koff, K, M, N, C, ldc, bias, vg, v0, pf, pfbytes)


cdef inline void _pad_image(const floating *x, const fc_geom *g, floating padval,
                            floating *dst) noexcept nogil:
    if floating is float:
        fc_active.pad_image_f32(x, g, padval, dst)
    else:
        fc_active.pad_image_f64(x, g, padval, dst)


cdef inline void _dw_forward(const floating *pad, const fc_geom *g, const fc_idx *koff,
                             const floating *w, const floating *bias, fc_idx M, floating *y,
                             const void *pf, fc_idx pfbytes) noexcept nogil:
    if floating is float:
        fc_active.dw_forward_f32(pad, g, koff, w, bias, M, y, pf, pfbytes)
    else:
        fc_active.dw_forward_f64(pad, g, koff, w, bias, M, y, pf, pfbytes)


cdef inline void _dw_forward_vgrid(const floating *pad, const fc_geom *g, const fc_idx *koff,
                                   const floating *w, const floating *bias, fc_idx M,
                                   floating *y, const void *pf, fc_idx pfbytes) noexcept nogil:
    if floating is float:
        fc_active.dw_forward_vgrid_f32(pad, g, koff, w, bias, M, y, pf, pfbytes)
    else:
        fc_active.dw_forward_vgrid_f64(pad, g, koff, w, bias, M, y, pf, pfbytes)


cdef inline void _dw_forward3(const floating *x, const fc_geom *g, const floating *w,
                              const floating *bias, fc_idx M, floating *y, const void *pf,
                              fc_idx pfbytes) noexcept nogil:
    if floating is float:
        fc_active.dw_forward3_f32(x, g, w, bias, M, y, pf, pfbytes)
    else:
        fc_active.dw_forward3_f64(x, g, w, bias, M, y, pf, pfbytes)


cdef inline void _dw_input_grad(const floating *gy, const fc_geom *g, const floating *w,
                                fc_idx M, floating *dpad, floating *dx) noexcept nogil:
    if floating is float:
        fc_active.dw_input_grad_f32(gy, g, w, M, dpad, dx)
    else:
        fc_active.dw_input_grad_f64(gy, g, w, M, dpad, dx)


cdef inline void _dw_weight_grad(const floating *gy, const floating *pad, const fc_geom *g,
                                 fc_idx M, double *acc) noexcept nogil:
    if floating is float:
        fc_active.dw_weight_grad_f32(gy, pad, g, M, acc)
    else:
        fc_active.dw_weight_grad_f64(gy, pad, g, M, acc)


cdef inline void _pack_gy_t(const floating *gy, fc_idx P, const fc_geom *g, fc_idx v0,
                            fc_idx nv, fc_idx M, fc_idx Mpad, floating *dst) noexcept nogil:
    if floating is float:
        fc_active.pack_gy_t_f32(gy, P, g, v0, nv, M, Mpad, dst)
    else:
        fc_active.pack_gy_t_f64(gy, P, g, v0, nv, M, Mpad, dst)


cdef inline void _wgrad_t(const floating *gyT, fc_idx Mpad, fc_idx nv, const floating *base,
                          const fc_idx *koff, fc_idx K, floating *accT) noexcept nogil:
    if floating is float:
        fc_active.wgrad_t_f32(gyT, Mpad, nv, base, koff, K, accT)
    else:
        fc_active.wgrad_t_f64(gyT, Mpad, nv, base, koff, K, accT)


cdef inline void _col2im(const floating *col, fc_idx ldcol, const fc_geom *g, fc_idx p0,
                         fc_idx npix, floating *dx) noexcept nogil:
    if floating is float:
        fc_active.col2im_f32(col, ldcol, g, p0, npix, dx)
    else:
        fc_active.col2im_f64(col, ldcol, g, p0, npix, dx)


cdef inline void _pack_a(const floating *src, fc_idx M, fc_idx K, fc_idx rs, fc_idx cs,
                         int mr, floating *dst) noexcept nogil:
    if floating is float:
        fc_active.pack_a_f32(src, M, K, rs, cs, mr, dst)
    else:
        fc_active.pack_a_f64(src, M, K, rs, cs, mr, dst)


cdef inline void _pack_b(const floating *src, fc_idx K, fc_idx N, fc_idx rs, fc_idx cs,
                         int nr, floating *dst) noexcept nogil:
    if floating is float:
        fc_active.pack_b_f32(src, K, N, rs, cs, nr, dst)
    else:
        fc_active.pack_b_f64(src, K, N, rs, cs, nr, dst)


cdef inline void _block(floating *dummy, int *mr, int *nr) noexcept nogil:
    if floating is float:
        mr[0] = fc_active.mr_f32
        nr[0] = fc_active.nr_f32
    else:
        mr[0] = fc_active.mr_f64
        nr[0] = fc_active.nr_f64


cdef inline void _wino_in(const floating *pad, fc_idx vol, fc_idx cs, fc_idx sl, fc_idx Q2,
                          fc_idx C, fc_idx TH, fc_idx TW, fc_idx PT, fc_idx t0, fc_idx nt,
                          floating *V, fc_idx ldv, int nd) noexcept nogil:
    if floating is float:
        fc_active.wino_in_f32(pad, vol, cs, sl, Q2, C, TH, TW, PT, t0, nt, V, ldv, nd)
    else:
        fc_active.wino_in_f64(pad, vol, cs, sl, Q2, C, TH, TW, PT, t0, nt, V, ldv, nd)


cdef inline int _wino_gemm_out(const floating *Up, fc_idx ustride, const floating *V,
                               fc_idx ldv, const fc_idx *koff, fc_idx K, fc_idx M, fc_idx TH,
                               fc_idx TW, fc_idx PT, const fc_idx *pl, fc_idx t0, fc_idx nt,
                               const floating *bias, floating *y, fc_idx ys0, fc_idx ys1,
                               fc_idx ys2, fc_idx P, floating *blk, int nd) noexcept nogil:
    if floating is float:
        return fc_active.wino_gemm_out_f32(Up, ustride, V, ldv, koff, K, M, TH, TW, PT, pl,
                                           t0, nt, bias, y, ys0, ys1, ys2, P, blk, nd)
    else:
        return fc_active.wino_gemm_out_f64(Up, ustride, V, ldv, koff, K, M, TH, TW, PT, pl,
                                           t0, nt, bias, y, ys0, ys1, ys2, P, blk, nd)


cdef inline void _wino1_in(const floating *pad, fc_idx cs, fc_idx Q2, fc_idx C, fc_idx k,
                           fc_idx TW, fc_idx t0, fc_idx nt, floating *V,
                           fc_idx ldv) noexcept nogil:
    if floating is float:
        fc_active.wino1_in_f32(pad, cs, Q2, C, k, TW, t0, nt, V, ldv)
    else:
        fc_active.wino1_in_f64(pad, cs, Q2, C, k, TW, t0, nt, V, ldv)


cdef inline int _wino1_gemm_out(const floating *Up, fc_idx ustride, const floating *V,
                                fc_idx ldv, const fc_idx *koff, fc_idx C, fc_idx k, fc_idx M,
                                fc_idx TW, const fc_idx *pl, fc_idx t0, fc_idx nt,
                                const floating *bias, floating *y, fc_idx ys2,
                                fc_idx P) noexcept nogil:
    if floating is float:
        return fc_active.wino1_gemm_out_f32(Up, ustride, V, ldv, koff, C, k, M, TW, pl, t0,
                                            nt, bias, y, ys2, P)
    else:
        return fc_active.wino1_gemm_out_f64(Up, ustride, V, ldv, koff, C, k, M, TW, pl, t0,
                                            nt, bias, y, ys2, P)
