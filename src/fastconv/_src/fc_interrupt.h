/* Ctrl-C (any Python signal handler that raises) honoured inside long kernels.
 *
 * A kernel runs with the GIL released, so Python's own check of pending
 * signals, between bytecodes, waits until the call returns.  Instead a driver
 * keeps one fc_watch per call (fc_watch_start, GIL held) and calls
 * fc_watch_poll before each work item, from any thread of its parallel
 * regions or outside them:
 *
 * - the calling thread (outside a region, or thread 0 of a team it starts:
 *   OpenMP makes the thread that meets a parallel construct the team's thread
 *   0) takes the GIL at most every FC_WATCH_PERIOD_MS and runs
 *   PyErr_CheckSignals, so the handlers run in the thread Python runs them in.
 *   If one raises (SIGINT's default handler raises KeyboardInterrupt), the
 *   exception stays set on that thread and the watch stops;
 * - other threads only read the stop flag (a plain load on x86);
 * - once stopped, fc_watch_poll returns 1 everywhere: the threads skip the work
 *   items left, the parallel regions end as usual (every barrier is met), the
 *   driver frees its workspace and returns the exception (watch_raise in
 *   _interrupt.pxd).  The output is then unfinished and discarded.
 *
 * Nothing here decides which thread computes what: the bits of a result that
 * runs to the end never depend on the watch.  Python runs signal handlers in
 * its main thread only, so a call from any other thread never takes the GIL
 * (fc_watch_start leaves its watch disarmed).  If another Python thread holds
 * the GIL, taking it waits for its switch interval (5 ms by default): the
 * period then stretches to 20 times the wait, so the waits cost at most ~5 %
 * of the calling thread's time, whatever the other threads do. */
#ifndef FASTCONV_INTERRUPT_H
#define FASTCONV_INTERRUPT_H

#include <Python.h>
#include "fc_openmp.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <time.h>
#endif

/* between two looks at the pending signals: the bound on the delay, plus the
 * work item each thread is in when it stops */
#define FC_WATCH_PERIOD_MS 20
/* the longest period, after waits for the GIL (see above) */
#define FC_WATCH_PERIOD_MAX_MS 250

typedef struct {
    int stop;          /* set once, by the calling thread: a handler raised */
    int armed;         /* the call runs in Python's main thread */
    long long due_ms;  /* the next look at the signals */
} fc_watch;

/* Python's main thread (the one that runs signal handlers), set at import and
 * after a fork by each module that includes this (static: one per module) */
static unsigned long fc_watch_main_ident = 0;

static inline void fc_watch_set_main(unsigned long ident) { fc_watch_main_ident = ident; }

/* A coarse monotonic clock in milliseconds: the period is tens of ms, and a
 * look at it must cost nothing next to a work item (a few ns: vDSO) */
static inline long long fc_watch_now_ms(void)
{
#if defined(_WIN32)
    return (long long)GetTickCount64();
#else
    struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

#if defined(__GNUC__) || defined(__clang__)
static inline int fc_watch_stopped(const fc_watch *w)
{
    return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
}
static inline void fc_watch_set_stop(fc_watch *w) { __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE); }
#elif defined(_MSC_VER)
#include <intrin.h>
static inline int fc_watch_stopped(const fc_watch *w)
{
    return _InterlockedCompareExchange((volatile long *)&w->stop, 0, 0) != 0;
}
static inline void fc_watch_set_stop(fc_watch *w) { _InterlockedExchange((volatile long *)&w->stop, 1); }
#else
#error "fastconv needs GCC/Clang atomics or MSVC interlocked intrinsics"
#endif

/* With the GIL held, at the start of a call. */
static inline void fc_watch_start(fc_watch *w)
{
    w->stop = 0;
    w->armed = PyThread_get_thread_ident() == fc_watch_main_ident;
    w->due_ms = w->armed ? fc_watch_now_ms() + FC_WATCH_PERIOD_MS : 0;
}

/* The calling thread's look at the signals (GIL released): 1 if a handler raised. */
static inline int fc_watch_check(fc_watch *w)
{
    long long t0 = fc_watch_now_ms(), wait, period;
    PyGILState_STATE s;
    int raised;
    if (t0 < w->due_ms)
        return 0;
    s = PyGILState_Ensure();
    wait = fc_watch_now_ms() - t0;
    raised = PyErr_CheckSignals() != 0;
    PyGILState_Release(s);
    period = 20 * wait > FC_WATCH_PERIOD_MS ? 20 * wait : FC_WATCH_PERIOD_MS;
    w->due_ms = fc_watch_now_ms() + (period < FC_WATCH_PERIOD_MAX_MS ? period
                                                                     : FC_WATCH_PERIOD_MAX_MS);
    if (raised)
        fc_watch_set_stop(w);
    return raised;
}

/* Before a work item, from any thread, GIL released: 1 = stop (skip the item). */
static inline int fc_watch_poll(fc_watch *w)
{
    if (!w->armed)
        return 0;
    if (fc_watch_stopped(w))
        return 1;
    if (fc_omp_get_thread_num() != 0)
        return 0;
    return fc_watch_check(w);
}

#endif
