/* The only place that talks to OpenMP: stand-ins when it is absent, so a
 * compiler without OpenMP still builds fastconv (serially). */
#ifndef FASTCONV_OPENMP_H
#define FASTCONV_OPENMP_H

#if defined(_OPENMP)
#include <omp.h>
static inline int fc_omp_enabled(void) { return 1; }
static inline int fc_omp_get_max_threads(void) { return omp_get_max_threads(); }
static inline void fc_omp_set_num_threads(int n) { omp_set_num_threads(n); }
static inline int fc_omp_get_thread_num(void) { return omp_get_thread_num(); }
static inline int fc_omp_get_num_threads(void) { return omp_get_num_threads(); }
/* Every thread of the team waits here for the others (Cython's prange inside
 * a parallel block ends without a barrier: "omp for nowait"). */
static inline void fc_omp_barrier(void)
{
#pragma omp barrier
}
#else
static inline int fc_omp_enabled(void) { return 0; }
static inline int fc_omp_get_max_threads(void) { return 1; }
static inline void fc_omp_set_num_threads(int n) { (void)n; }
static inline int fc_omp_get_thread_num(void) { return 0; }
static inline int fc_omp_get_num_threads(void) { return 1; }
static inline void fc_omp_barrier(void) {}
#endif

/* Work shared inside a team: a counter that hands out items (relaxed: an item
 * is only an index) and a flag published with release / read with acquire
 * semantics (what its owner wrote before setting it is visible after). */
#if defined(__GNUC__) || defined(__clang__)
static inline long long fc_claim(long long *next)
{
    return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
}
static inline void fc_publish(long long *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELEASE); }
static inline int fc_published(long long *flag)
{
    return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}
#elif defined(_MSC_VER)
#include <intrin.h>
static inline long long fc_claim(long long *next) { return _InterlockedExchangeAdd64(next, 1); }
static inline void fc_publish(long long *flag) { _InterlockedExchange64(flag, 1); }
static inline int fc_published(long long *flag)
{
    return _InterlockedCompareExchange64(flag, 0, 0) != 0;
}
#else
#error "fastconv needs GCC/Clang atomics or MSVC interlocked intrinsics"
#endif

/* The pause of a spin-wait (it eases the waiting thread's load on the core and
 * on the memory system). */
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
static inline void fc_cpu_relax(void) { _mm_pause(); }
#else
static inline void fc_cpu_relax(void) {}
#endif

#endif
