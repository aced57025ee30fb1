"""Old import path of the Winograd switch, now in fastconv._config (kept for code
written against it while other branches merge; remove when nothing imports it)."""

from fastconv._config import get_winograd, set_winograd  # noqa: F401
