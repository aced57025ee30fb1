# Runtime switches of the kernel layer: which instruction-set table runs (the
# FMA peak the benchmark quotes is that table's), and OpenMP's team size.
# Included by _conv_kernels.pyx (one extension: the C kernels are linked once).

# ---------------------------------------------------------------- instruction sets

cdef const fc_isa *_table(str name):
    if name == "avx512":
        return &fc_isa_avx512
    if name == "avx2":
        return &fc_isa_avx2
    return &fc_isa_generic


def fma_peak_gflops(int nthreads, long iters=40_000_000):
    """FMA throughput (float32 GFLOP/s) of nthreads threads running the current
    instruction set's widest FMAs back to back (no memory traffic): the peak
    that the benchmark's "fraction of peak" refers to, measured in its run."""
    cdef double[::1] sink = np.zeros(max(nthreads, 1))
    cdef Py_ssize_t t
    import time
    start = time.perf_counter()
    with nogil:
        for t in prange(nthreads, schedule="static", num_threads=nthreads):
            sink[t] = fc_active.fma_burn(iters)
    elapsed = time.perf_counter() - start
    if not np.all(np.isfinite(np.asarray(sink))):
        raise RuntimeError("fma_burn returned a non-finite value")
    return nthreads * iters * 12.0 * fc_active.vl_f32 * 2 / elapsed / 1e9


def available_isas():
    """Instruction sets compiled in and supported by this CPU, best first."""
    names = []
    if fc_cpu_supports_avx512():
        names.append("avx512")
    if fc_cpu_supports_avx2():
        names.append("avx2")
    names.append("generic")
    return names


def set_isa(str name):
    """Select the instruction set used by every kernel (must be available)."""
    if name not in available_isas():
        raise ValueError(f"instruction set {name!r} is not available here; "
                         f"choose from {available_isas()}")
    fc_set_active(_table(name))


def current_isa():
    """Name of the instruction set in use."""
    return (<bytes>fc_active.name).decode()


# ---------------------------------------------------------------- threads

def openmp_enabled():
    """True if the kernels were compiled with OpenMP."""
    return bool(fc_omp_enabled())


def omp_max_threads():
    """OpenMP's current default team size (OMP_NUM_THREADS, threadpoolctl...)."""
    return fc_omp_get_max_threads()


def omp_set_num_threads(int n):
    """Set OpenMP's default team size for the calling thread."""
    fc_omp_set_num_threads(n)


# ---------------------------------------------------------------- Ctrl-C

def _watch_after_fork():
    """In a forked child, the thread that forked is Python's main thread."""
    import threading
    fc_watch_set_main(threading.get_ident())


track_main_thread(_watch_after_fork)


# ---------------------------------------------------------------- fault injection

def _fail_allocation(long after):
    """Tests only: make the kernels' workspace allocation after the next `after`
    ones fail (a negative value disarms it).  Returns nothing; see
    _allocation_failure_pending."""
    fc_fail_allocation(after)


def _allocation_failure_pending():
    """Tests only: allocations left before the injected failure; negative once it
    has fired (or when none is armed)."""
    return fc_allocation_failure_pending()
