from __future__ import annotations
# placeholder while the reader is written
def __getattr__(name):  # type: ignore[no-untyped-def]
    raise NotImplementedError(name)
