"""Moved to headroom_ci.safety.redact; kept so older imports keep working."""
from __future__ import annotations

from headroom_ci.safety.redact import *  # noqa: F401,F403
from headroom_ci.safety.redact import DEFAULT as DEFAULT  # noqa: F401
from headroom_ci.safety.redact import redact as redact  # noqa: F401
from headroom_ci.safety.redact import Redactor as Redactor  # noqa: F401
