from __future__ import annotations

import pytest

from headroom_ci.learning.identity import Entry
from headroom_ci.learning.identity import failure_id
from headroom_ci.learning.identity import format_record
from headroom_ci.learning.identity import Item
from headroom_ci.learning.identity import parse_record
from headroom_ci.learning.identity import resolve
from headroom_ci.learning.identity import same_but_numbers
from headroom_ci.learning.identity import split_items
from headroom_ci.learning.identity import text_id

A, B, C = "a" * 16, "b" * 16, "c" * 16


@pytest.mark.parametrize("header, expected", [
    pytest.param("## H\n*x*\n<!-- headroom-ci:rules " + A + ".123456.abcdef ~" + B + "..fedcba ^" + C + ".. -->\n",
                 (Entry(A, "123456", "abcdef"), Entry(B, "", "fedcba", "removed"), Entry(C, "", "", "retired")),
                 id="all-states"),
    pytest.param("<!-- headroom-ci:rules =" + A + ".123456.abcdef -->", (Entry(A, "123456", "abcdef", edited=True),),
                 id="a-person-s-words"),
    pytest.param("<!-- headroom-ci:rules " + A + ".123456.abcdef junk " + B + ".zz.yy -->",
                 (Entry(A, "123456", "abcdef"),), id="unknown-tokens-ignored"),
    pytest.param("no record here", (), id="none"),
    pytest.param("<!-- headroom-ci:rules -->", (), id="empty"),
])
def test_parse_record(header: str, expected: tuple[Entry, ...]) -> None:
    assert parse_record(header) == expected


def test_format_record_round_trips() -> None:
    entries = (Entry(A, "123456", "abcdef"), Entry(B, "", "fedcba", "removed"), Entry(C, "", "", "retired"),
               Entry("d" * 16, "654321", "", edited=True))
    text = format_record(entries)
    assert text == (f"<!-- headroom-ci:rules {A}.123456.abcdef ~{B}..fedcba ^{C}.. ={'d' * 16}.654321. -->")
    assert parse_record(text) == entries
    assert format_record(()) == ""


def test_ids() -> None:
    assert text_id("- Use  `uv`\n") == text_id("- Use `uv`")
    assert failure_id("runner", "python3 -m pytest") == failure_id("alternative", "python3 -m pytest")
    assert failure_id("runner", "python3 -m pytest") != failure_id("path", "python3 -m pytest")
    assert same_but_numbers("- x (4 sessions, 3 CI runs).", "- x (12 sessions, 1,024 CI runs).")
    assert not same_but_numbers("- x (4 sessions).", "- y (4 sessions).")


def test_split_items_keeps_continuations_with_their_line() -> None:
    assert split_items("- one\n  more\n\n- two\nplain") == ["- one\n  more", "", "- two", "plain"]
    assert split_items("") == []


def _resolve(bodies: list[list[str]], record: list[Entry]) -> tuple[list[list[Item]], list[Entry]]:
    return resolve(bodies, record)


def test_resolve_tells_ours_reworded_and_people_s_lines() -> None:
    record = [Entry(A, text_id("- a"), "fa0000"), Entry(B, text_id("- b"), "fb0000"), Entry(C, text_id("- c"), "")]
    items, deleted = _resolve([["- a", "- B in other words", "", "- c"], ["- a person's line"]], record)
    # B's line is gone and an unclaimed line stands between A's and C's: that is B, reworded.
    assert items == [[Item("- a", Entry(A, text_id("- a"), "fa0000")),
                      Item("- B in other words", Entry(B, text_id("- B in other words"), "fb0000", edited=True), True),
                      Item(""),
                      Item("- c", Entry(C, text_id("- c"), ""))],
                     [Item("- a person's line")]]
    assert deleted == []


def test_resolve_a_deleted_rule_leaves_a_tombstone() -> None:
    record = [Entry(A, text_id("- a"), "fa0000"), Entry(B, text_id("- b"), "fb0000"), Entry(C, text_id("- c"), "")]
    items, deleted = _resolve([["- a", "- c"]], record)
    assert [i.entry.fingerprint if i.entry else None for i in items[0]] == [A, C]
    assert deleted == [Entry(B, "", "fb0000", "removed")]


def test_resolve_a_rule_recorded_as_a_person_s_words_stays_theirs() -> None:
    record = [Entry(A, text_id("- my words"), "fa0000", edited=True)]
    items, _ = _resolve([["- my words"]], record)
    assert items == [[Item("- my words", Entry(A, text_id("- my words"), "fa0000", edited=True), True)]]
