"""Moved to headroom_ci.learning.propose; this name stays for existing imports."""
from headroom_ci.learning.propose import *  # noqa: F401,F403
