"""Typed Cython drivers of the convolution and pooling kernels.

Each driver takes C-contiguous buffers (flattened), trusts its arguments (the
public layer in conv.py / grad.py / pool.py has checked everything) and runs one
OpenMP parallel loop over independent work items with the GIL released.  The work is
split in the same way for every thread count, so results are bit-identical for
any number of threads.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY, copysign
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

from fastconv import _alloc

from fastconv._fc cimport (FC_DW_SLACK, FC_WINO_SLACK, _block, _col2im, _cptr, _dw_forward,
                           _dw_forward3, _dw_forward_vgrid, _dw_input_grad, _dw_weight_grad,
                           _gemm, _gemm_bcast, _gemm_rows, _gemm_stream, _mptr, _pack_a, _pack_b,
                           _pack_gy_t, _pad_image, _round_up, _wgrad_t, _wino1_gemm_out,
                           _wino1_in, _wino_gemm_out, _wino_in, fc_active,
                           fc_allocation_failure_pending, fc_cpu_supports_avx2,
                           fc_cpu_supports_avx512, fc_fail_allocation, fc_free, fc_geom, fc_idx,
                           fc_isa, fc_isa_avx2, fc_isa_avx512, fc_isa_generic, fc_koff_threes,
                           fc_malloc, fc_prefetch, fc_scratch, fc_scratch_free,
                           fc_set_active, fc_src)
from fastconv._interrupt cimport (fc_watch, fc_watch_poll, fc_watch_set_main, fc_watch_start,
                                  track_main_thread, watch_raise)
from fastconv._openmp cimport (fc_claim, fc_cpu_relax, fc_omp_barrier, fc_omp_enabled,
                               fc_omp_get_max_threads,
                               fc_omp_get_num_threads, fc_omp_set_num_threads, fc_publish,
                               fc_published)

# The drivers, one file per job (textual includes: one extension module, so that
# every driver calls the same linked C tables; see _fc.pxd for the declarations).
include "_kernels/runtime.pxi"
include "_kernels/geometry.pxi"
include "_kernels/forward.pxi"
include "_kernels/backward.pxi"
include "_kernels/depthwise.pxi"
include "_kernels/winograd.pxi"
include "_kernels/pool_common.pxi"
include "_kernels/pool_max.pxi"
include "_kernels/pool_avg.pxi"
include "_kernels/buffers.pxi"
include "_kernels/pool_call.pxi"
include "_kernels/conv_call.pxi"
