"""The headroom:learn marker block in a context file: find, parse, render, merge (pure, str → str).

The block is the one headroom-ai 0.42 writes (headroom/learn/writer.py), and either tool reads
what the other wrote: a marker counts only as a whole unindented line outside fenced code, the
sections are split at every line starting with "### ", and everything we write is shaped so that
both parsers read back exactly the sections we meant (see `_clean_body`). Unlike headroom, a
malformed block is an error naming the line, never a guess.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

from headroom_ci.errors import FatalError

MARKER_START = "<!-- headroom:learn:start -->"
MARKER_END = "<!-- headroom:learn:end -->"
HEADING = "## Headroom Learned Patterns"
# Not "do not edit manually": reviewers are asked to reword rules, and the merge keeps their words.
_BANNER = "*Learned by `headroom-ci learn`, last changed on {date}: edit or delete rules freely, your changes are kept*"
# Ours, this one and the one before it, and headroom-ai's: the date the block last changed.
BANNER_DATE = re.compile(r"^\*(?:Auto-generated|Learned) by `headroom(?:-ci)? learn`[^*\n]*? on "
                         r"([0-9]{4}-[0-9]{2}-[0-9]{2})\b", re.M)

# What headroom writes: ASCII digits with thousands commas. (headroom reads `[\d,]+`, which a
# hand-edited "*~, tokens…*" would crash; we leave such a line in the body instead.)
_TOKENS_LINE = re.compile(r"\*~([0-9][0-9,]*) tokens/session saved\*\n?")
# Anything headroom's looser pattern would take for the tokens line, so bodies never start with it.
_TOKENS_LIKE = re.compile(r"\*~[\d,]+ tokens/session saved\*")
_BREAK = re.compile(r"\r\n|\r|\n")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Section:
    name: str
    body: str
    tokens_saved: int = 0


class BlockError(FatalError):
    pass


def _sanitize(text: str) -> str:
    # Same as headroom's sanitize_block_text: content can neither close our markers nor hide
    # itself in a comment, and a reviewer sees that something tried.
    return text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")


def _fence_run(bare: str) -> str | None:
    """The fence ("```", "~~~~", …) a line starts with, or None; headroom's rule, not CommonMark's."""
    stripped = bare.lstrip(" ")
    if len(bare) - len(stripped) > 3 or stripped[:3] not in ("```", "~~~"):
        return None
    return stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]


def _scan(text: str, *, skip_bom: bool) -> tuple[list[tuple[int, str]], tuple[int, str] | None]:
    """The lines outside fenced code as (offset, line stripped on the right), and the fence left
    open at the end as (offset, run), or None.

    Lines are split with str.splitlines like headroom, so both tools see the same lines (and the
    same fences) even in text with form feeds or U+2028.
    """
    prose: list[tuple[int, str]] = []
    fence: tuple[int, str] | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        # A BOM is an encoding mark, not content: a marker on the first line of such a file counts.
        skip = 1 if skip_bom and offset == 0 and line.startswith("\ufeff") else 0
        bare = line[skip:].rstrip()
        run = _fence_run(bare)
        if run is None:
            if fence is None:
                prose.append((offset + skip, bare))
        elif fence is None:
            fence = (offset + skip, run)
        elif run[0] == fence[1][0] and len(run) >= len(fence[1]) and bare.lstrip(" ") == run:
            fence = None
        offset += len(line)
    return prose, fence


def _line_of(text: str, offset: int) -> int:
    # Counted the way editors count, for the error message; splitlines would also count U+2028.
    return len(_BREAK.findall(text, 0, offset)) + 1


def _error(text: str, offset: int, source: str, message: str) -> BlockError:
    return BlockError(f"{source}:{_line_of(text, offset)}: {message}")


def find_block(text: str, *, source: str) -> tuple[int, int] | None:
    """(offset of the start-marker line, offset just after the end marker), or None."""
    prose, fence = _scan(text, skip_bom=True)
    start: int | None = None
    span: tuple[int, int] | None = None
    for offset, bare in prose:
        if bare == MARKER_START:
            if start is not None:
                raise _error(text, offset, source, (
                    f"a second start marker inside the block opened at line {_line_of(text, start)}"
                    " — delete one of the two start markers"))
            if span is not None:
                raise _error(text, offset, source, (
                    f"a second headroom:learn block (the first starts at line {_line_of(text, span[0])})"
                    " — keep one block: move its sections into the other and delete the extra markers"))
            start = offset
        elif bare == MARKER_END:
            if start is None:
                raise _error(text, offset, source, (
                    "an end marker with no start marker before it"
                    f" — delete it, or put the line {MARKER_START} where the block begins"))
            span = (start, offset + len(bare))
            start = None
    if start is not None:
        hint = ""
        if fence is not None and fence[0] > start:
            hint = f" (the code fence opened at line {_line_of(text, fence[0])} is never closed and hides it)"
        raise _error(text, start, source, (
            f"a start marker with no end marker after it{hint}"
            f" — put the line {MARKER_END} where the block ends, or delete the start marker"))
    return span


def parse_block(text: str, *, source: str) -> list[Section] | None:
    span = find_block(text, source=source)
    return None if span is None else _parse_span(text, span)


def _inner(text: str, span: tuple[int, int]) -> str:
    # headroom normalizes line breaks when it reads a file; so do we, inside the block only.
    return _BREAK.sub("\n", text[span[0] + len(MARKER_START): span[1] - len(MARKER_END)])


def header_of(text: str, span: tuple[int, int]) -> str:
    """The block's text before its first section: heading, banner, the rules record."""
    return ("\n" + _inner(text, span)).split("\n### ")[0]


def _parse_span(text: str, span: tuple[int, int]) -> list[Section]:
    inner = _inner(text, span)
    sections: list[Section] = []
    # The text before the first "### " (heading, banner, any metadata) is not a section.
    for part in ("\n" + inner).split("\n### ")[1:]:
        heading, _, body = part.partition("\n")
        name = heading.strip()
        if not name:
            continue  # headroom drops a nameless section with its body; reading it differently would diverge
        tokens = 0
        if match := _TOKENS_LINE.match(body):
            tokens = int(match.group(1).replace(",", ""))
            body = body[match.end():]
        sections.append(Section(name, body.rstrip(), tokens))
    return sections


def _clean_name(name: str) -> str:
    clean = _sanitize(" ".join(name.splitlines())).strip()
    if not clean:
        raise ValueError(f"section name {name!r} is empty")
    return clean


def _clean_body(body: str, tokens_saved: int) -> str:
    """The body as both parsers will read it back, so a merge compares like with like."""
    lines = _sanitize(_BREAK.sub("\n", body)).split("\n")
    # Both parsers start a new section at every line starting with "### ": demote a body's own.
    text = "\n".join("#" + line if line.startswith("### ") else line for line in lines).rstrip()
    if tokens_saved <= 0 and _TOKENS_LIKE.match(text):
        text = "\\" + text  # the backslash keeps it from being read as the tokens line
    # An unclosed fence would hide the end marker from both parsers: close it where the body ends.
    _, fence = _scan(text, skip_bom=False)
    return text if fence is None else f"{text}\n{fence[1]}"


def as_written(line: str) -> str:
    """A rule's line as the block will hold it (and read it back)."""
    return _clean_body(" ".join(line.split()), 0)


def canonical(section: Section) -> Section:
    """The section as it reads back once written."""
    return _canonical(section)


def _canonical(section: Section) -> Section:
    tokens = max(section.tokens_saved, 0)
    return Section(_clean_name(section.name), _clean_body(section.body, tokens), tokens)


def _canonical_all(sections: Iterable[Section]) -> list[Section]:
    clean = [_canonical(s) for s in sections]
    names = [s.name for s in clean]
    if dups := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"more than one section named {dups[0]!r}")
    return clean


def render_block(sections: Sequence[Section], *, date: str, newline: str = "\n", record: str = "") -> str:
    if not _DATE.fullmatch(date):
        raise ValueError(f"date {date!r} is not YYYY-MM-DD")
    if newline not in ("\n", "\r\n", "\r"):
        raise ValueError(f"newline {newline!r} is not a line break")
    if "\n" in record or "-->" in record[:-3]:
        raise ValueError("the record is one HTML comment on one line")
    lines = [MARKER_START, HEADING, _BANNER.format(date=date), *([record] if record else []), ""]
    for s in _canonical_all(sections):
        lines.append(f"### {s.name}")
        if s.tokens_saved > 0:
            lines.append(f"*~{s.tokens_saved:,} tokens/session saved*")
        lines += [s.body, ""]
    lines.append(MARKER_END)
    # Canonical bodies hold only "\n", so one replace gives the whole block the file's style.
    return "\n".join(lines).replace("\n", newline)


def block_tokens(sections: Sequence[Section], record: str = "") -> int:
    # Every date is ten characters, so any valid one measures the same.
    return -(-len(render_block(sections, date="0000-00-00", record=record)) // 4)


def tokens_of(text: str | None, *, source: str) -> int:
    """The block of a file as agents load it, in tokens (4 characters each); 0 without one."""
    span = find_block(text, source=source) if text is not None else None
    return 0 if text is None or span is None else -(-(span[1] - span[0]) // 4)


def _merged(prior: list[Section], fresh: list[Section]) -> list[Section]:
    """Prior order kept, each section replaced by the fresh one of its name; new names last.

    Keeping the prior order keeps the pull request's diff to the sections that changed.
    """
    by_name = {s.name: s for s in fresh}
    merged: list[Section] = []
    placed: set[str] = set()
    for section in prior:
        name = _clean_name(section.name)
        if name not in by_name:
            merged.append(_canonical(section))  # carried forward (duplicates too: not ours to drop)
        elif name not in placed:
            merged.append(by_name[name])
            placed.add(name)
    return merged + [s for s in fresh if s.name not in placed]


def _append(text: str, block: str, newline: str) -> str:
    """`text` unchanged, then one blank line, then the block and a final line break."""
    if not text:
        return block + newline
    lines = _BREAK.split(text)
    ends_in_break = lines[-1] == ""
    glue = "" if ends_in_break else newline
    _, fence = _scan(text, skip_bom=True)
    if fence is not None:
        # It would swallow the block; CommonMark ends it at the end of the file anyway, so
        # closing it there changes nothing for the text above.
        glue += fence[1] + newline + newline
    elif not (ends_in_break and len(lines) > 1 and not lines[-2].strip()):
        glue += newline
    return text + glue + block + newline


def merge(text: str | None, sections: Sequence[Section], *, date: str, source: str) -> str | None:
    """The new file text, or None when the file would not change (so the date never moves)."""
    fresh = _canonical_all(sections)
    if text is None:
        return render_block(fresh, date=date) + "\n" if fresh else None
    span = find_block(text, source=source)
    if span is None:
        if not fresh:
            return None
        found = _BREAK.search(text)
        newline = found.group() if found else "\n"
        return _append(text, render_block(fresh, date=date, newline=newline), newline)
    prior = _parse_span(text, span)
    merged = _merged(prior, fresh)
    if merged == prior:
        return None
    found = _BREAK.search(text, span[0])  # the block keeps the line breaks it was written with
    newline = found.group() if found else "\n"
    return text[: span[0]] + render_block(merged, date=date, newline=newline) + text[span[1]:]


def replace_block(text: str | None, sections: Sequence[Section], *, date: str, source: str, record: str = "") -> str:
    """The file with its block made of `sections` (appended when it has none, created when None)."""
    fresh = _canonical_all(sections)
    if text is None:
        return render_block(fresh, date=date, record=record) + "\n"
    span = find_block(text, source=source)
    if span is None:
        found = _BREAK.search(text)
        newline = found.group() if found else "\n"
        return _append(text, render_block(fresh, date=date, newline=newline, record=record), newline)
    found = _BREAK.search(text, span[0])
    newline = found.group() if found else "\n"
    return text[: span[0]] + render_block(fresh, date=date, newline=newline, record=record) + text[span[1]:]
