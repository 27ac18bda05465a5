"""Moved to headroom_ci.learning.block; this name stays for existing imports."""
from headroom_ci.learning.block import *  # noqa: F401,F403
