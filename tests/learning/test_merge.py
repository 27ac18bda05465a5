from __future__ import annotations

import pytest

from headroom_ci.learning.identity import text_id
from headroom_ci.learning.merge import Change
from headroom_ci.learning.merge import InEffect
from headroom_ci.learning.merge import merge
from headroom_ci.learning.merge import read
from headroom_ci.learning.merge import Rule

A = Rule("a" * 16, "fa0000", "Environment", "- Use `uv run pytest`, not `python3 -m pytest`.", 61)
B = Rule("b" * 16, "fb0000", "Command Patterns", "- Run tests with `npm run test:unit`, not `npm test`.", 20)
C = Rule("c" * 16, "fc0000", "Command Patterns", "- Search with `grep`, not `rg`.", 5)
HEAD = "\ufeff# Shop\r\n\r\nIntro.\r\n\r\n"
TAIL = "\r\n\r\nFooter, no final newline"
BANNER = ("*Learned by `headroom-ci learn`, last changed on {date}: edit or delete rules freely, your changes are "
          "kept*")


def _record(*tokens: str) -> str:
    return f"<!-- headroom-ci:rules {' '.join(tokens)} -->"


def _tok(rule: Rule, text: str | None = None, mark: str = "") -> str:
    if mark in ("~", "^"):
        return f"{mark}{rule.fingerprint}..{rule.failure}"
    return f"{mark}{rule.fingerprint}.{text_id(text or rule.content)}.{rule.failure}"


def _file(date: str, record: str, *sections: str) -> str:
    lines = ["<!-- headroom:learn:start -->", "## Headroom Learned Patterns", BANNER.format(date=date), record, ""]
    for s in sections:
        lines += [*s.split("\n"), ""]
    lines.append("<!-- headroom:learn:end -->")
    return HEAD + "\r\n".join(lines) + TAIL


WEEK1 = _file("2026-11-01", _record(_tok(A), _tok(B)),
              f"### Environment\n*~61 tokens/session saved*\n{A.content}",
              f"### Command Patterns\n*~20 tokens/session saved*\n{B.content}")


def _merge(text: str | None, rules: list[Rule], **kw: object) -> tuple[str | None, tuple[Change, ...], tuple[Rule, ...]]:
    m = merge(read(text, source="AGENTS.md"), rules, date="2026-11-08", source="AGENTS.md", **kw)  # type: ignore[arg-type]
    return m.text, m.changes, m.held_back


def test_first_merge_adds_rules_records_them_and_keeps_every_other_byte() -> None:
    text, changes, held = _merge(HEAD + "<!-- headroom:learn:start -->\r\n<!-- headroom:learn:end -->" + TAIL, [A, B])
    assert text == WEEK1.replace("2026-11-01", "2026-11-08")
    assert changes == (Change("added", A.fingerprint, A.section, A.content),
                       Change("added", B.fingerprint, B.section, B.content))
    assert held == ()


def test_new_evidence_changes_nothing() -> None:
    recounted = [Rule(A.fingerprint, A.failure, A.section, A.content.replace(".", " (9 sessions)."), 999), B]
    text, changes, _ = _merge(WEEK1, recounted)
    assert text is None
    assert [c.status for c in changes] == ["unchanged", "unchanged"]


def test_a_rule_whose_failure_stopped_stays() -> None:
    text, changes, _ = _merge(WEEK1, [B])  # A's failure no longer found: not proposed, not removed
    assert (text, changes) == (None, (Change("unchanged", B.fingerprint, B.section, B.content),))
    text, _, _ = _merge(WEEK1, [B, C])
    assert text is not None and A.content in text


def test_a_rule_is_found_by_its_failure_when_its_fix_changed() -> None:
    refixed = Rule("d" * 16, A.failure, A.section, "- Use `uv run python -m pytest`.", 61)
    assert _merge(WEEK1, [refixed])[:2] == (None, (Change("unchanged", refixed.fingerprint, A.section, A.content),))


def test_new_rule_goes_last_in_its_section_and_only_that_section_s_tokens_move() -> None:
    text, changes, _ = _merge(WEEK1, [A, B, C])
    assert text == _file("2026-11-08", _record(_tok(A), _tok(B), _tok(C)),
                         f"### Environment\n*~61 tokens/session saved*\n{A.content}",
                         f"### Command Patterns\n*~25 tokens/session saved*\n{B.content}\n{C.content}")
    assert [c.status for c in changes] == ["unchanged", "unchanged", "added"]


def test_a_person_s_lines_and_rewording_are_kept() -> None:
    mine = "- Never call bare `python`."
    edited = WEEK1.replace(A.content, "- Always `uv run pytest`; plain pytest lacks fastapi.\r\n" + mine)
    text, changes, held = _merge(edited, [A, B, C])
    assert text == _file("2026-11-08", _record(_tok(A, "- Always `uv run pytest`; plain pytest lacks fastapi.", "="),
                                               _tok(B), _tok(C)),
                         "### Environment\n*~61 tokens/session saved*\n- Always `uv run pytest`; plain pytest lacks "
                         f"fastapi.\n{mine}",
                         f"### Command Patterns\n*~25 tokens/session saved*\n{B.content}\n{C.content}")
    assert changes[0] == Change("unchanged", A.fingerprint, A.section,
                                "- Always `uv run pytest`; plain pytest lacks fastapi.")
    assert held == ()


def test_a_rule_a_person_deleted_is_held_back_and_recorded_as_such() -> None:
    deleted = WEEK1.replace(B.content + "\r\n", "")
    assert _merge(deleted, [A, B]) == (None, (Change("unchanged", A.fingerprint, A.section, A.content),), (B,))
    text, changes, held = _merge(deleted, [A, B, C])
    assert held == (B,)
    assert text == _file("2026-11-08", _record(_tok(A), _tok(C), _tok(B, mark="~")),
                         f"### Environment\n*~61 tokens/session saved*\n{A.content}",
                         f"### Command Patterns\n*~25 tokens/session saved*\n{C.content}")
    # --include-rejected: added again, and recorded as in effect only
    text, changes, _ = _merge(text, [B], revive={B.fingerprint})
    assert changes == (Change("added", B.fingerprint, B.section, B.content),)
    assert text is not None and _record(_tok(A), _tok(C), _tok(B)) in text


def test_tombstones_from_history_hold_rules_back_by_fingerprint_or_failure() -> None:
    assert _merge(None, [A, C], tombstones={A.fingerprint, C.failure})[2] == (A, C)


def test_retire_removes_the_rule_with_its_reason() -> None:
    text, changes, _ = _merge(WEEK1, [A, B], retire={B.fingerprint: "package.json no longer defines the script `test:unit`"})
    assert text == _file("2026-11-08", _record(_tok(A), _tok(B, mark="^")),
                         f"### Environment\n*~61 tokens/session saved*\n{A.content}")
    assert changes == (Change("unchanged", A.fingerprint, A.section, A.content),
                       Change("retired", B.fingerprint, B.section, B.content,
                              reason="package.json no longer defines the script `test:unit`"))
    # A retired rule is not a tombstone: were it found again, it would be proposed again.
    assert _merge(text, [B])[1] == (Change("added", B.fingerprint, B.section, B.content),)


@pytest.mark.parametrize("new, expected", [
    pytest.param("- Run `npm run test:unit`: `npm test` has no script (4 sessions).", "reworded", id="new-words"),
    pytest.param("- Run tests with `npm run test:unit`, not `npm test` (9 sessions, 12 runs).", "unchanged",
                 id="new-counts-only"),
])
def test_reword_takes_new_words_for_a_recurring_rule(new: str, expected: str) -> None:
    old = "- Run tests with `npm run test:unit`, not `npm test` (4 sessions, 3 runs)."
    written, _, _ = _merge(None, [Rule(B.fingerprint, B.failure, B.section, old, 20)])
    text, changes, _ = _merge(written, [Rule(B.fingerprint, B.failure, B.section, new, 20)], reword={B.fingerprint})
    assert changes[0].status == expected
    if expected == "reworded":
        assert changes[0].before == old and text is not None and new in text and old not in text
    else:
        assert text is None


def test_reword_never_touches_a_person_s_words() -> None:
    edited = WEEK1.replace(B.content, "- Our own way to say it.")
    new = Rule(B.fingerprint, B.failure, B.section, "- Fresh words.", 20)
    assert _merge(edited, [new], reword={B.fingerprint})[:2] == (
        None, (Change("unchanged", B.fingerprint, B.section, "- Our own way to say it."),))


def test_a_block_written_before_identities_adopts_its_rules_by_their_words() -> None:
    old = WEEK1.replace(_record(_tok(A), _tok(B)) + "\r\n", "").replace(A.content, A.content.replace(".", " (4 sessions)."))
    recounted = Rule(A.fingerprint, A.failure, A.section, A.content.replace(".", " (7 sessions)."), 61)
    text, changes, _ = _merge(old, [recounted])
    assert text is None and changes[0].status == "unchanged"


def test_in_effect_lists_the_recorded_rules_as_they_stand() -> None:
    assert read(WEEK1.replace(A.content, "- Reworded."), source="AGENTS.md").in_effect == (
        InEffect(A.fingerprint, A.failure, A.section, "- Reworded.", True),
        InEffect(B.fingerprint, B.failure, B.section, B.content, False))


def test_a_rule_is_recorded_as_the_block_writes_it() -> None:
    odd = Rule("d" * 16, "fd0000", "Environment", "- Never  write `<!-- x -->`\n  here.", 1)
    text, changes, _ = _merge(None, [odd])
    assert changes == (Change("added", odd.fingerprint, odd.section, "- Never write `&lt;!-- x --&gt;` here."),)
    again = merge(read(text, source="AGENTS.md"), [odd], date="2026-11-15", source="AGENTS.md")
    assert (again.text, again.changes[0].status) == (None, "unchanged")
    assert read(text, source="AGENTS.md").in_effect[0].reworded is False
