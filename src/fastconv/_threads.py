"""Old import path of the thread switches, now in fastconv._config (kept for code
written against it while other branches merge; remove when nothing imports it)."""

from fastconv._config import available_cores, get_num_threads, set_num_threads  # noqa: F401
