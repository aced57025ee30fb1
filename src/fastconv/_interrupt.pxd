# Ctrl-C inside long kernels: the Cython side of fc_interrupt.h, the one home of
# the check.  A driver starts a watch (GIL held), polls it before each work item
# (any thread, GIL released), and after each parallel region, GIL held again,
# calls watch_raise first: the handler's exception (KeyboardInterrupt, or what a
# custom handler raised) then propagates once the driver's workspace is freed.
# Each module that cimports this calls track_main_thread at import (see there).

cdef extern from "fc_interrupt.h" nogil:
    ctypedef struct fc_watch:
        int stop
        int armed
    void fc_watch_start(fc_watch *w)
    int fc_watch_poll(fc_watch *w)
    int fc_watch_stopped(const fc_watch *w)
    void fc_watch_set_main(unsigned long ident)


cdef inline int watch_raise(const fc_watch *w) except -1:
    """-1, the exception a signal handler raised during the call being set, if
    the watch stopped; else 0.  Call it before anything else that may run Python
    code once the GIL is back (an exception is pending)."""
    return -1 if fc_watch_stopped(w) else 0


cdef inline int track_main_thread(object after_fork) except -1:
    """Record Python's main thread (the one whose calls are watched) now, and
    in a forked child (whose main thread is the one that forked): after_fork,
    a def of the module that calls fc_watch_set_main(threading.get_ident())."""
    import os
    import threading
    fc_watch_set_main(threading.main_thread().ident)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)
    return 0
