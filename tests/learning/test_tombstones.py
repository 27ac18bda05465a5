from __future__ import annotations

from typing import NamedTuple

from headroom_ci.learning.identity import Entry
from headroom_ci.learning.tombstones import from_history
from headroom_ci.learning.tombstones import record_of

A, B, C, D = "a" * 16, "b" * 16, "c" * 16, "d" * 16


class V(NamedTuple):
    text: str | None


def _block(record: str) -> str:
    return f"<!-- headroom:learn:start -->\n## H\n<!-- headroom-ci:rules {record} -->\n<!-- headroom:learn:end -->\n"


def test_record_of() -> None:
    assert record_of(_block(f"{A}.111111.fa0000")) == (Entry(A, "111111", "fa0000"),)
    assert record_of("<!-- headroom:learn:start -->\nno end") == ()  # malformed: no record, no error
    assert record_of(None) == () and record_of("# no block") == ()


def test_rules_gone_without_trace_are_tombstones_retired_ones_are_not() -> None:
    versions = [V(None), V(_block(f"{A}.111111.fa0000 {B}.222222.fb0000 {C}.333333.")),
                V(_block(f"{A}.111111.fa0000 {B}.222222.fb0000 ^{C}..")),
                V("<!-- headroom:learn:start -->\n<!-- headroom:learn:end -->\n"),  # a person emptied the block
                V(_block(f"{A}.111111.fa0000 {D}.444444.fd0000"))]
    current = (Entry(A, "111111", "fa0000"), Entry(D, "444444", "fd0000"))
    assert from_history(versions, current) == frozenset({B, "fb0000"})
    # A rule re-added under a new fingerprint (its fix changed) is alive through its failure.
    assert from_history(versions, current + (Entry("e" * 16, "555555", "fb0000"),)) == frozenset()
