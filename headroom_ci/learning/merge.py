"""Rules merged into the block one by one, never section by section (pure, str → str).

Rules in effect stay (a rule whose failure stopped is working, not stale); new rules are added at
the end of their section; lines people wrote, and rules they reworded, stay as they wrote them; a
rule a person deleted is not added again; a retired rule goes, with its reason. The file is
rewritten only when a line a reader sees changes, so new evidence alone changes nothing.
"""
from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Literal

from headroom_ci.learning import block
from headroom_ci.learning.block import Section
from headroom_ci.learning.identity import Entry
from headroom_ci.learning.identity import format_record
from headroom_ci.learning.identity import Item
from headroom_ci.learning.identity import parse_record
from headroom_ci.learning.identity import resolve
from headroom_ci.learning.identity import same_but_numbers
from headroom_ci.learning.identity import split_items
from headroom_ci.learning.identity import text_id

Status = Literal["added", "reworded", "retired", "unchanged"]


@dataclass(frozen=True)
class Rule:
    """What the merge needs of a proposed rule."""
    fingerprint: str
    failure: str        # failure_id of what it prevents, "" when unknown
    section: str
    content: str        # one markdown line
    tokens_saved: int = 0


@dataclass(frozen=True)
class InEffect:
    fingerprint: str
    failure: str
    section: str
    content: str        # as it stands in the file
    reworded: bool      # a person reworded it


@dataclass(frozen=True)
class Change:
    status: Status
    fingerprint: str
    section: str
    content: str               # the line now (for retired: the line removed)
    before: str | None = None  # reworded: the line it replaces
    reason: str | None = None  # retired: why


@dataclass(frozen=True)
class Current:
    """The block of a file as the merge sees it."""
    text: str | None
    sections: tuple[Section, ...]
    items: tuple[tuple[Item, ...], ...]
    record: tuple[Entry, ...]     # as the header holds it
    removed: tuple[Entry, ...]    # tombstones: recorded as removed, or deleted since recorded

    @property
    def in_effect(self) -> tuple[InEffect, ...]:
        return tuple(InEffect(i.entry.fingerprint, i.entry.failure, s.name, i.text, i.reworded)
                     for s, items in zip(self.sections, self.items, strict=True) for i in items if i.entry is not None)


@dataclass(frozen=True)
class Merged:
    text: str | None                 # the new file text; None when nothing a reader sees changes
    changes: tuple[Change, ...]      # of the rules this merge was given, and those it retired
    held_back: tuple[Rule, ...]      # not added: a person deleted them from the block


def read(text: str | None, *, source: str) -> Current:
    span = block.find_block(text, source=source) if text is not None else None
    if text is None or span is None:
        return Current(text, (), (), (), ())
    sections = tuple(block.parse_block(text, source=source) or ())
    record = parse_record(block.header_of(text, span))
    items, deleted = resolve([split_items(s.body) for s in sections], record)
    removed = tuple(e for e in record if e.state == "removed") + tuple(deleted)
    return Current(text, sections, tuple(tuple(i) for i in items), record, removed)


def _find(names: list[str], items: list[list[Item]], rule: Rule) -> tuple[int, int] | None:
    """Where the rule stands in the block: by identity, else (a block written before identities
    were recorded) as a line of its section that differs from it only in numbers."""
    for s, section in enumerate(items):
        for i, item in enumerate(section):
            e = item.entry
            if e is not None and (e.fingerprint == rule.fingerprint or (rule.failure and e.failure == rule.failure)):
                return s, i
    for s, section in enumerate(items):
        if names[s] != rule.section:
            continue
        for i, item in enumerate(section):
            if item.entry is None and item.text.strip() and same_but_numbers(item.text, rule.content):
                items[s][i] = Item(item.text, Entry(rule.fingerprint, text_id(item.text), rule.failure))
                return s, i
    return None


def merge(current: Current, rules: Sequence[Rule], *, date: str, source: str,
          retire: Mapping[str, str] | None = None, reword: Collection[str] = (),
          tombstones: Collection[str] = (), revive: Collection[str] = ()) -> Merged:
    """`retire`: fingerprint → reason, for rules in effect; `reword`: fingerprints of rules in
    effect whose line (still the tool's own words) takes the rule's new wording; `tombstones`:
    fingerprints or failure ids never to add again (beyond those the block itself records);
    `revive`: fingerprints to add even so (--include-rejected)."""
    retire = retire or {}
    names = [s.name for s in current.sections]
    items = [list(section) for section in current.items]
    dead = {e.fingerprint for e in current.removed} | {e.failure for e in current.removed if e.failure}
    dead |= set(tombstones)
    changes: list[Change] = []
    held: list[Rule] = []
    touched: set[str] = set()
    tokens = {s.name: s.tokens_saved for s in current.sections}
    for rule in rules:
        if rule.fingerprint in retire:
            continue
        rule = replace(rule, content=block.as_written(rule.content))  # so its line hash is the written line's
        where = _find(names, items, rule)
        if where is not None:
            s, i = where
            item = items[s][i]
            assert item.entry is not None
            # (New counts are not new words: a rule is reworded only when what it says changed.)
            if rule.fingerprint in reword and not item.reworded and not same_but_numbers(item.text, rule.content):
                items[s][i] = Item(rule.content, replace(item.entry, text=text_id(rule.content)))
                changes.append(Change("reworded", rule.fingerprint, names[s], rule.content, before=item.text))
                touched.add(names[s])
            else:
                changes.append(Change("unchanged", rule.fingerprint, names[s], item.text))
            continue
        if rule.fingerprint not in revive and (rule.fingerprint in dead or (rule.failure and rule.failure in dead)):
            held.append(rule)
            continue
        if rule.section not in names:
            names.append(rule.section)
            items.append([])
            tokens[rule.section] = 0
        s = names.index(rule.section)
        while items[s] and not items[s][-1].text.strip():
            items[s].pop()  # (trailing blank lines: the body is stripped when rendered anyway)
        items[s].append(Item(rule.content, Entry(rule.fingerprint, text_id(rule.content), rule.failure)))
        changes.append(Change("added", rule.fingerprint, rule.section, rule.content))
        touched.add(rule.section)
        tokens[rule.section] += max(rule.tokens_saved, 0)
    retired: list[Entry] = []
    for s, section in enumerate(items):
        for item in list(section):
            if item.entry is not None and item.entry.fingerprint in retire:
                section.remove(item)
                retired.append(replace(item.entry, text="", state="retired"))
                changes.append(Change("retired", item.entry.fingerprint, names[s], item.text,
                                      reason=retire[item.entry.fingerprint]))
                touched.add(names[s])
    sections = [Section(name, "\n".join(i.text for i in section), tokens[name])
                for name, section in zip(names, items, strict=True) if any(i.text.strip() for i in section)]
    visible = [Section(s.name, s.body, s.tokens_saved) for s in current.sections]
    if not touched or _same(current, sections, visible):
        return Merged(None, tuple(changes), tuple(held))
    entries = [i.entry for section in items for i in section if i.entry is not None]
    # In block order; then tombstones and retirements, each rule once (a revived rule is active again).
    seen = {e.fingerprint for e in entries}
    for e in [*current.record, *current.removed, *retired]:
        if e.state != "active" and e.fingerprint not in seen:
            seen.add(e.fingerprint)
            entries.append(e)
    record = format_record(entries)
    text = _write(current, sections, record=record, date=date, source=source)
    return Merged(text, tuple(changes), tuple(held))


def _same(current: Current, sections: list[Section], visible: list[Section]) -> bool:
    try:
        return [block.canonical(s) for s in sections] == [block.canonical(s) for s in visible]
    except ValueError:
        return False


def _write(current: Current, sections: list[Section], *, record: str, date: str, source: str) -> str:
    return block.replace_block(current.text, sections, date=date, source=source, record=record)
