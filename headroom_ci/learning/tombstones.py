"""Rules a person removed, which are not proposed again (pure).

The block's own record marks a deleted rule (`~`) as soon as the tool merges into it again; the
file's history on the base branch also finds rules deleted with their record entry (a person who
cleaned up the comment too, or rewrote the block)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from headroom_ci.errors import FatalError
from headroom_ci.learning import block
from headroom_ci.learning.identity import Entry
from headroom_ci.learning.identity import parse_record


class Version(Protocol):
    @property
    def text(self) -> str | None: ...


def record_of(text: str | None) -> tuple[Entry, ...]:
    """The record of a file's block, () when it has none or its block is malformed."""
    if text is None:
        return ()
    try:
        span = block.find_block(text, source="history")
    except FatalError:
        return ()
    return () if span is None else parse_record(block.header_of(text, span))


def from_history(versions: Sequence[Version], current: Sequence[Entry]) -> frozenset[str]:
    """Fingerprints and failure ids of rules once recorded and now gone without trace (not
    retired by a proposal, not in the current record)."""
    seen: dict[str, Entry] = {}
    retired: set[str] = set()
    for version in versions:
        for e in record_of(version.text):
            seen.setdefault(e.fingerprint, e)
            if e.state == "retired":
                retired.add(e.fingerprint)
    now = {e.fingerprint for e in current} | {e.failure for e in current if e.failure}
    gone = [e for fp, e in seen.items() if fp not in now and fp not in retired and e.failure not in now]
    return frozenset({e.fingerprint for e in gone} | {e.failure for e in gone if e.failure})
