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
#else
static inline int fc_omp_enabled(void) { return 0; }
static inline int fc_omp_get_max_threads(void) { return 1; }
static inline void fc_omp_set_num_threads(int n) { (void)n; }
static inline int fc_omp_get_thread_num(void) { return 0; }
#endif

#endif
