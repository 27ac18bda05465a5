"""Which lines of the block are which rules: the record in the block's header (pure).

Each rule the tool writes is recorded in one HTML comment between the block's header and its
first section, where headroom-ai's parser never looks:

    <!-- headroom-ci:rules 1a2b3c4d5e6f7a8b.9f8e7d.c0ffee ~0011223344556677..abcdef -->

An entry is the rule's fingerprint, a short hash of its line as written, and a short hash of
the failure it prevents (what efficacy counts). `~` marks a rule a person deleted (a tombstone),
`^` one retired by a proposal, `=` one a person reworded (their words stay). The line hash tells
the tool's lines from lines people wrote or reworded; the fingerprint and failure hash survive
any rewording.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Literal

RECORD = "headroom-ci:rules"
_RECORD_LINE = re.compile(r"^<!-- headroom-ci:rules((?: \S+)*) ?-->$", re.M)
_ENTRY = re.compile(r"([~^=]?)([0-9a-f]{16})\.([0-9a-f]{6}|)\.([0-9a-f]{6}|)")
_NUMBER = re.compile(r"[0-9][0-9,.]*")
# A failing command is one failure whatever fixed it (as the miner clusters it).
_FAMILY = {"runner": "command", "alternative": "command"}
State = Literal["active", "removed", "retired"]
_MARK = {"active": "", "removed": "~", "retired": "^"}


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    text: str = ""      # hash of the line as it stands ("" once it is gone)
    failure: str = ""   # hash of what failed ("" when unknown)
    state: State = "active"
    edited: bool = False  # its line is in a person's words


@dataclass(frozen=True)
class Item:
    """One line of a section's body (with the indented lines that continue it)."""
    text: str
    entry: Entry | None = None  # None: a line a person wrote (or blank)
    reworded: bool = False      # the entry's line, as a person reworded it


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def text_id(line: str) -> str:
    return _hash(" ".join(line.split()))


def failure_id(kind: str, key: str) -> str:
    return _hash(f"{_FAMILY.get(kind, kind)}\0{key}")


def same_but_numbers(a: str, b: str) -> bool:
    """Lines that differ only in their counts: a rule written before its text was stable."""
    return _NUMBER.sub("#", " ".join(a.split())) == _NUMBER.sub("#", " ".join(b.split()))


def parse_record(header: str) -> tuple[Entry, ...]:
    m = _RECORD_LINE.search(header)
    if m is None:
        return ()
    entries = []
    for token in m.group(1).split():
        if e := _ENTRY.fullmatch(token):
            states: dict[str, State] = {"": "active", "=": "active", "~": "removed", "^": "retired"}
            state = states[e.group(1)]
            entries.append(Entry(e.group(2), e.group(3), e.group(4), state, edited=e.group(1) == "="))
    return tuple(entries)


def format_record(entries: Sequence[Entry]) -> str:
    if not entries:
        return ""
    tokens = []
    for e in entries:
        mark = "=" if e.edited and e.state == "active" else _MARK[e.state]
        tokens.append(f"{mark}{e.fingerprint}.{e.text if e.state == 'active' else ''}.{e.failure}")
    return f"<!-- {RECORD} {' '.join(tokens)} -->"


def split_items(body: str) -> list[str]:
    items: list[str] = []
    for line in body.split("\n"):
        if items and items[-1].strip() and line[:1] in (" ", "\t") and line.strip():
            items[-1] += "\n" + line
        else:
            items.append(line)
    return [] if items == [""] else items


def resolve(bodies: Sequence[Sequence[str]], record: Sequence[Entry]) -> tuple[list[list[Item]], list[Entry]]:
    """Each section's items with the entry each stands for, and the entries whose line a person
    deleted. A recorded line that changed is taken as reworded when a line no entry claims stands
    between the lines of its neighbours in the record; otherwise it was deleted."""
    flat = [(s, i, text) for s, items in enumerate(bodies) for i, text in enumerate(items)]
    active = [e for e in record if e.state == "active"]
    at: dict[int, int] = {}  # entry index → flat index
    used: set[int] = set()
    for k, e in enumerate(active):
        for j, (_, _, text) in enumerate(flat):
            if j not in used and text.strip() and text_id(text) == e.text:
                at[k] = j
                used.add(j)
                break
    deleted: list[Entry] = []
    for k, e in enumerate(active):
        if k in at:
            continue
        lo = max((at[m] for m in at if m < k), default=-1)
        hi = min((at[m] for m in at if m > k), default=len(flat))
        free = next((j for j in range(lo + 1, hi) if j not in used and flat[j][2].strip()), None)
        if free is None:
            deleted.append(replace(e, text="", state="removed"))
        else:
            at[k] = free
            used.add(free)
    owner = {j: active[k] for k, j in at.items()}
    verbatim = {j for k, j in at.items() if text_id(flat[j][2]) == active[k].text and not active[k].edited}
    out: list[list[Item]] = [[] for _ in bodies]
    for j, (s, _, text) in enumerate(flat):
        mine = owner.get(j)
        edited = mine is not None and j not in verbatim
        out[s].append(Item(text, replace(mine, text=text_id(text), edited=edited) if mine else None, edited))
    return out, deleted
