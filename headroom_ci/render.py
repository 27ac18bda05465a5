"""Moved to headroom_ci.learning.render; this name stays for existing imports."""
from headroom_ci.learning.render import *  # noqa: F401,F403
