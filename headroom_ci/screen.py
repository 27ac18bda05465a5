"""Moved to headroom_ci.safety.text; kept so older imports keep working."""
from __future__ import annotations

from headroom_ci.safety.text import *  # noqa: F401,F403
