# The one door to OpenMP for every kernel module: fc_openmp.h compiles to
# serial stand-ins when the compiler has no OpenMP.
cdef extern from "fc_openmp.h" nogil:
    int fc_omp_enabled()
    int fc_omp_get_max_threads()
    void fc_omp_set_num_threads(int n)
    int fc_omp_get_thread_num()
    int fc_omp_get_num_threads()
    void fc_omp_barrier()
    long long fc_claim(long long *next)
    void fc_publish(long long *flag)
    int fc_published(long long *flag)
    void fc_cpu_relax()
