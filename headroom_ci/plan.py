"""Moved to headroom_ci.learning.plan; this name stays for existing imports."""
from headroom_ci.learning.plan import *  # noqa: F401,F403
