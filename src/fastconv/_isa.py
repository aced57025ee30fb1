"""Old import path of the instruction-set switches, now in fastconv._config (kept
for code written against it while other branches merge; remove when nothing imports it)."""

from fastconv._config import (  # noqa: F401
    available_isas,
    config,
    current_isa,
    select_isa,
    show_config,
)
