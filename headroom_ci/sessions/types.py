"""The signatures every reader shares: records in, skips reported, saved outputs looked up."""
from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from typing import Protocol

from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import Session

# (line number, decoded object) per record; the line is None for a record of a document.
Records = Iterable[tuple[int | None, Any]]
# Reports one record (line number or None) that was not read, and why.
SkipFn = Callable[[int | None, str], None]
# Finds the full text of a Claude `<persisted-output>` pointer, or None.
Resolve = Callable[[str], Clip | None]
# Decodes one line (or document) of bytes.
Decode = Callable[[bytes], Any]


class LineReader(Protocol):
    def __call__(self, records: Records, *, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]: ...


class DocumentReader(Protocol):
    def __call__(self, doc: Any, *, format: str, path: str, skip: SkipFn,
                 resolve: Resolve) -> list[Session]: ...
