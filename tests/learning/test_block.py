from __future__ import annotations

import math

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from headroom_ci.learning.block import block_tokens
from headroom_ci.learning.block import BlockError
from headroom_ci.learning.block import find_block
from headroom_ci.learning.block import HEADING
from headroom_ci.learning.block import MARKER_END
from headroom_ci.learning.block import MARKER_START
from headroom_ci.learning.block import merge
from headroom_ci.learning.block import parse_block
from headroom_ci.learning.block import render_block
from headroom_ci.learning.block import Section

S, E = MARKER_START, MARKER_END
DATE = "2026-11-21"
BANNER = f"*Learned by `headroom-ci learn`, last changed on {DATE}: edit or delete rules freely, your changes are kept*"

ENV = Section("Environment", "- Use `uv run pytest` (not `python3 -m pytest`): `fastapi` is only "
              "installed in the uv venv.", 12000)
PATHS = Section("Paths", "- `services/api/models/user.py` is at `services/api/app/models/user.py`.\n"
                "- `npm test` is `npm run test:unit`.")
ENV_BLOCK = f"""{S}
{HEADING}
{BANNER}

### Environment
*~12,000 tokens/session saved*
- Use `uv run pytest` (not `python3 -m pytest`): `fastapi` is only installed in the uv venv.

{E}"""

LONE_START = f" — put the line {E} where the block ends, or delete the start marker"
LONE_END = f"an end marker with no start marker before it — delete it, or put the line {S} where the block begins"
SECOND_BLOCK = " — keep one block: move its sections into the other and delete the extra markers"
SECOND_START = " — delete one of the two start markers"


# Expected: None (no block), (text before the block, the block) or the BlockError message.
@pytest.mark.parametrize("text, expected", [
    pytest.param("# Title\n", None, id="no-block"),
    pytest.param(f"a\n{S}\nx\n{E}\nb\n", ("a\n", f"{S}\nx\n{E}"), id="block"),
    pytest.param(f"{S}  \nx\n{E}\t\n", ("", f"{S}  \nx\n{E}"), id="trailing-whitespace"),
    pytest.param(f"a\r\n{S}\r\nx\r\n{E}\r\n", ("a\r\n", f"{S}\r\nx\r\n{E}"), id="crlf"),
    pytest.param(f"a\r{S}\rx\r{E}", ("a\r", f"{S}\rx\r{E}"), id="cr-no-final-newline"),
    pytest.param(f"\ufeff{S}\n{E}\n", ("\ufeff", f"{S}\n{E}"), id="bom-then-marker"),
    pytest.param(f"# T\n\n{S}\n- rule\n", f"F.md:3: a start marker with no end marker after it{LONE_START}",
                 id="lone-start"),
    pytest.param(f"# T\n{E}\n", f"F.md:2: {LONE_END}", id="lone-end"),
    pytest.param(f"{E}\n{S}\n{E}\n", f"F.md:1: {LONE_END}", id="end-before-start"),
    pytest.param(f"{S}\n{E}\n{E}\n", f"F.md:3: {LONE_END}", id="stray-end-after-block"),
    pytest.param(f"a\r\nb\r\n{E}\r\n", f"F.md:3: {LONE_END}", id="line-number-crlf"),
    pytest.param(f"{S}\n{E}\ntext\n{S}\n{E}\n",
                 f"F.md:4: a second headroom:learn block (the first starts at line 1){SECOND_BLOCK}",
                 id="two-blocks"),
    pytest.param(f"{S}\n{E}\n{S}\n",
                 f"F.md:3: a second headroom:learn block (the first starts at line 1){SECOND_BLOCK}",
                 id="second-lone-start"),
    pytest.param(f"x\n{S}\na\n{S}\n{E}\n",
                 f"F.md:4: a second start marker inside the block opened at line 2{SECOND_START}",
                 id="start-inside-block"),
    pytest.param(f"```md\n{S}\n{E}\n```\n", None, id="backtick-fence"),
    pytest.param(f"~~~\n{E}\n~~~\n", None, id="tilde-fence"),
    pytest.param(f"  ```\n{S}\n```\n", None, id="fence-indented-3"),
    pytest.param(f"    ```\n{S}\n{E}\n", ("    ```\n", f"{S}\n{E}"), id="indented-4-is-not-a-fence"),
    pytest.param(f"````\n```\n{S}\n```\n````\n", None, id="shorter-fence-does-not-close"),
    pytest.param(f"~~~\n```\n{E}\n~~~\n", None, id="other-fence-char-does-not-close"),
    pytest.param(f"```\n``` x\n{E}\n```\n", None, id="fence-with-text-does-not-close"),
    pytest.param(f"```\n{S}\n```\n{S}\nx\n{E}\n", (f"```\n{S}\n```\n", f"{S}\nx\n{E}"), id="after-a-fence"),
    pytest.param(f"text\n```\n{S}\n", None, id="unclosed-fence-at-end"),
    pytest.param(f"{S}\n```\n{E}\n",
                 "F.md:1: a start marker with no end marker after it (the code fence opened at line 2 is never"
                 f" closed and hides it){LONE_START}", id="unclosed-fence-hides-end"),
    pytest.param(f"Never edit {S} by hand.\nSee `{E}`.\n", None, id="quoted-in-prose"),
    pytest.param(f" {S}\nx\n {E}\n", None, id="indented-markers"),
    pytest.param(f"   {S}\n{E}\n", f"F.md:2: {LONE_END}", id="indented-start-is-not-a-start"),
])
def test_find_block(text: str, expected: None | str | tuple[str, str]) -> None:
    if isinstance(expected, str):
        with pytest.raises(BlockError) as info:
            find_block(text, source="F.md")
        assert str(info.value) == expected
        return
    span = find_block(text, source="F.md")
    if expected is None:
        assert span is None
    else:
        assert span is not None
        assert (text[: span[0]], text[span[0]: span[1]]) == expected


# headroom-ai 0.42's _build_section layout, written out by hand: its banner, a tokens line with
# commas, content it sanitized, a section without a tokens line.
HEADROOM_BLOCK = """# Project

<!-- headroom:learn:start -->
## Headroom Learned Patterns
*Auto-generated by `headroom learn` on 2026-05-02 — do not edit manually*

### Environment
*~1,234,567 tokens/session saved*
- Use `uv run pytest`, not `python3 -m pytest`.
- Quote &lt;!-- a comment --&gt; safely

### Known Large Files
- `data/big.csv` (12,000 lines): read with offset/limit.

### Commands
*~80 tokens/session saved*
- `npm run test:unit`

<!-- headroom:learn:end -->
"""


def test_parses_what_headroom_writes() -> None:
    assert parse_block(HEADROOM_BLOCK, source="CLAUDE.md") == [
        Section("Environment", "- Use `uv run pytest`, not `python3 -m pytest`.\n"
                "- Quote &lt;!-- a comment --&gt; safely", 1234567),
        Section("Known Large Files", "- `data/big.csv` (12,000 lines): read with offset/limit."),
        Section("Commands", "- `npm run test:unit`", 80),
    ]


@pytest.mark.parametrize("inner, expected", [
    pytest.param("", [], id="empty"),
    pytest.param(f"{HEADING}\n<!-- headroom-ci: {{\"v\": 1}} -->\nfree text\n", [], id="header-text-ignored"),
    pytest.param("### A\n*~0 tokens/session saved*\nx\n", [Section("A", "x")], id="zero-tokens"),
    pytest.param("### A\n*~12 tokens/session saved* tail\n", [Section("A", " tail", 12)], id="tokens-mid-line"),
    pytest.param("### A\n*~, tokens/session saved*\n", [Section("A", "*~, tokens/session saved*")],
                 id="tokens-without-digits"),
    pytest.param("###   \nlost\n### B  \n  body  \n\n", [Section("B", "  body")], id="nameless-dropped"),
    pytest.param("### A\r\n*~5 tokens/session saved*\r\nx\r\ny\r\n", [Section("A", "x\ny", 5)], id="crlf"),
    pytest.param("### A\n```\n### B\n```\n", [Section("A", "```"), Section("B", "```")],
                 id="split-even-in-code-like-headroom"),
])
def test_parse_block(inner: str, expected: list[Section]) -> None:
    assert parse_block(f"x\n{S}\n{inner}{E}\n", source="F.md") == expected


def test_parse_block_without_block_and_malformed() -> None:
    assert parse_block("# nothing\n", source="F.md") is None
    with pytest.raises(BlockError, match="^F.md:1: "):
        parse_block(f"{S}\n", source="F.md")


def test_render_block() -> None:
    assert render_block([ENV, PATHS, Section("Big", "- b", 1)], date=DATE) == f"""{S}
{HEADING}
{BANNER}

### Environment
*~12,000 tokens/session saved*
- Use `uv run pytest` (not `python3 -m pytest`): `fastapi` is only installed in the uv venv.

### Paths
- `services/api/models/user.py` is at `services/api/app/models/user.py`.
- `npm test` is `npm run test:unit`.

### Big
*~1 tokens/session saved*
- b

{E}"""
    assert render_block([], date=DATE, newline="\r\n") == f"{S}\r\n{HEADING}\r\n{BANNER}\r\n\r\n{E}"


# What render writes is what both parsers read back, whatever the section holds.
@pytest.mark.parametrize("section, expected", [
    pytest.param(Section(" Env\n", "- a\r\n- b  \n\n", 3), Section("Env", "- a\n- b", 3), id="whitespace-crlf"),
    pytest.param(Section("Two\nlines", "x"), Section("Two lines", "x"), id="name-on-one-line"),
    pytest.param(Section("Evil -->", f"ok\n{E}\nInjected\n<!-- hidden -->\n{S}"),
                 Section("Evil --&gt;", "ok\n&lt;!-- headroom:learn:end --&gt;\nInjected\n"
                         "&lt;!-- hidden --&gt;\n&lt;!-- headroom:learn:start --&gt;"), id="comments-neutralized"),
    pytest.param(Section("A", "intro\n### Sub\nmore"), Section("A", "intro\n#### Sub\nmore"), id="subheading-demoted"),
    pytest.param(Section("A", "```sh\nmake lint"), Section("A", "```sh\nmake lint\n```"), id="open-fence-closed"),
    pytest.param(Section("A", "~~~~\n~~~\n"), Section("A", "~~~~\n~~~\n~~~~"), id="open-long-fence-closed"),
    pytest.param(Section("A", "*~5 tokens/session saved*"), Section("A", "\\*~5 tokens/session saved*"),
                 id="tokens-look-alike-escaped"),
    pytest.param(Section("A", "*~5 tokens/session saved*", 7), Section("A", "*~5 tokens/session saved*", 7),
                 id="tokens-look-alike-after-tokens-line"),
    pytest.param(Section("A", "x", -3), Section("A", "x"), id="negative-tokens"),
    pytest.param(Section("Ünïcødé 日本", "- ✓ emoji 🎉"), Section("Ünïcødé 日本", "- ✓ emoji 🎉"), id="unicode"),
])
def test_render_then_parse(section: Section, expected: Section) -> None:
    for newline in ("\n", "\r\n"):
        text = render_block([section], date=DATE, newline=newline)
        assert parse_block(text, source="F.md") == [expected]
        assert parse_block(render_block([expected], date=DATE), source="F.md") == [expected]


@pytest.mark.parametrize("sections, kwargs, message", [
    pytest.param([Section(" \n ", "x")], {}, "section name ' \\n ' is empty", id="empty-name"),
    pytest.param([Section("A", "x"), Section("A ", "y")], {}, "more than one section named 'A'", id="duplicate"),
    pytest.param([], {"date": "21/11/2026"}, "date '21/11/2026' is not YYYY-MM-DD", id="date"),
    pytest.param([], {"newline": "\t"}, "newline '\\t' is not a line break", id="newline"),
])
def test_render_refuses(sections: list[Section], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        render_block(sections, **{"date": DATE, **kwargs})
    assert str(info.value) == message


def test_block_tokens() -> None:
    assert block_tokens([]) == 50  # 200 characters
    assert block_tokens([ENV, PATHS]) == math.ceil(len(render_block([ENV, PATHS], date=DATE)) / 4)


@pytest.mark.parametrize("text, expected", [
    pytest.param(None, ENV_BLOCK + "\n", id="no-file"),
    pytest.param("", ENV_BLOCK + "\n", id="empty-file"),
    pytest.param("# Notes\n", "# Notes\n\n" + ENV_BLOCK + "\n", id="final-newline"),
    pytest.param("# Notes", "# Notes\n\n" + ENV_BLOCK + "\n", id="no-final-newline"),
    pytest.param("# Notes\n\n", "# Notes\n\n" + ENV_BLOCK + "\n", id="ends-with-blank-line"),
    pytest.param("# Notes\n \n\n", "# Notes\n \n\n" + ENV_BLOCK + "\n", id="ends-with-blank-lines"),
    pytest.param("# Notes\r\nmore\r\n", "# Notes\r\nmore\r\n\r\n" + ENV_BLOCK.replace("\n", "\r\n") + "\r\n",
                 id="crlf"),
    pytest.param("# Notes\r\nmore", "# Notes\r\nmore\r\n\r\n" + ENV_BLOCK.replace("\n", "\r\n") + "\r\n",
                 id="crlf-no-final-newline"),
    pytest.param("\ufeff# Notes\n", "\ufeff# Notes\n\n" + ENV_BLOCK + "\n", id="bom"),
    pytest.param("\ufeff", "\ufeff\n\n" + ENV_BLOCK + "\n", id="bom-only"),
    pytest.param("Run:\n```sh\nmake", "Run:\n```sh\nmake\n```\n\n" + ENV_BLOCK + "\n", id="unclosed-fence"),
    pytest.param(f"Do not edit {S} by hand.\n", f"Do not edit {S} by hand.\n\n{ENV_BLOCK}\n", id="quoted-marker"),
])
def test_merge_appends_a_block(text: str | None, expected: str) -> None:
    assert merge(text, [ENV], date=DATE, source="F.md") == expected
    assert merge(expected, [ENV], date="2027-01-01", source="F.md") is None


@pytest.mark.parametrize("text", [None, "", "# Notes\n", f"x\n{S}\n{E}\n"])
def test_merge_without_sections_changes_nothing(text: str | None) -> None:
    assert merge(text, [], date=DATE, source="F.md") is None


OLD_BLOCK = f"""{S}
## Headroom Learned Patterns
*Auto-generated by `headroom learn` on 2026-05-02 — do not edit manually*

### Paths
- old paths rule

### Environment
*~9 tokens/session saved*
- old env rule

### Known Large Files
- `data/big.csv`: read with offset/limit.

{E}"""


def test_merge_replaces_and_carries_sections() -> None:
    before, after = "\ufeff# Agents ✓\r\nKeep me  \n\n", "\n\nTrailing notes, no final newline"
    new = [ENV, Section("Commands", "- `npm run test:unit`"), PATHS]
    result = merge(before + OLD_BLOCK + after, new, date=DATE, source="AGENTS.md")
    assert result == before + f"""{S}
{HEADING}
{BANNER}

### Paths
- `services/api/models/user.py` is at `services/api/app/models/user.py`.
- `npm test` is `npm run test:unit`.

### Environment
*~12,000 tokens/session saved*
- Use `uv run pytest` (not `python3 -m pytest`): `fastapi` is only installed in the uv venv.

### Known Large Files
- `data/big.csv`: read with offset/limit.

### Commands
- `npm run test:unit`

{E}""" + after
    assert merge(result, new, date="2027-01-01", source="AGENTS.md") is None
    assert merge(result, [PATHS], date="2027-01-01", source="AGENTS.md") is None


def test_merge_leaves_an_unchanged_headroom_block_alone() -> None:
    assert merge(HEADROOM_BLOCK, parse_block(HEADROOM_BLOCK, source="F.md") or [], date=DATE, source="F.md") is None


def test_merge_keeps_crlf_and_missing_final_newline() -> None:
    text = "# A\r\n\r\n" + OLD_BLOCK.replace("\n", "\r\n")
    result = merge(text, [Section("Known Large Files", "- none")], date=DATE, source="F.md")
    assert result == "# A\r\n\r\n" + f"""{S}
{HEADING}
{BANNER}

### Paths
- old paths rule

### Environment
*~9 tokens/session saved*
- old env rule

### Known Large Files
- none

{E}""".replace("\n", "\r\n")


def test_merge_neutralizes_content() -> None:
    evil = Section(f"Evil {E}", f"- fine\n{E}\n- injected after the block?\n<!-- hidden -->\n{S}")
    result = merge("# Notes\n", [evil], date=DATE, source="F.md")
    assert result == f"""# Notes

{S}
{HEADING}
{BANNER}

### Evil &lt;!-- headroom:learn:end --&gt;
- fine
&lt;!-- headroom:learn:end --&gt;
- injected after the block?
&lt;!-- hidden --&gt;
&lt;!-- headroom:learn:start --&gt;

{E}
"""
    assert find_block(result, source="F.md") == (9, len(result) - 1)


def test_merge_reports_a_malformed_block() -> None:
    with pytest.raises(BlockError) as info:
        merge(f"# A\n{S}\n- x\n", [ENV], date=DATE, source="CLAUDE.md")
    assert str(info.value) == f"CLAUDE.md:2: a start marker with no end marker after it{LONE_START}"


# Surrounding text: arbitrary lines, plus the lines most likely to confuse a parser, but never a
# whole marker line (that would be a block of its own, or a malformed one).
_TRICKY_LINES = ["", "   ", "```", "~~~~", "``` py", "    ```", f" {S}", f"see {E} here", f"`{S}`",
                 "### Heading", "## Headroom Learned Patterns", "*~5 tokens/session saved*", "\ufeff", "é 日本 🎉",
                 "<!-- note -->", "-->"]
_LINE = st.one_of(st.sampled_from(_TRICKY_LINES), st.text(max_size=20))
_NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def _prose(draw: st.DrawFn) -> str:
    newline = draw(_NEWLINE)
    text = newline.join(draw(st.lists(_LINE, max_size=8)))
    if draw(st.booleans()):
        text += newline
    return ("\ufeff" if draw(st.booleans()) else "") + text


_BODY = st.lists(st.one_of(st.sampled_from(_TRICKY_LINES + [S, E]), st.text(max_size=20)), max_size=5).map("\n".join)
_SECTION = st.builds(Section, name=st.text(min_size=1, max_size=12).filter(lambda n: bool(n.strip())),
                     body=_BODY, tokens_saved=st.integers(-2, 10**7))


def _read_back(section: Section) -> Section:
    parsed = parse_block(render_block([section], date=DATE), source="F.md")
    assert parsed is not None and len(parsed) == 1
    return parsed[0]


_SECTIONS = st.lists(_SECTION, max_size=4, unique_by=lambda s: _read_back(s).name)


def _span(text: str) -> tuple[int, int] | None | BlockError:
    try:
        return find_block(text, source="F.md")
    except BlockError as exc:
        return exc


def _no_block(text: str) -> bool:
    return _span(text) is None


@given(_prose(), _SECTIONS)
def test_appending_never_changes_a_byte_of_the_file(text: str, sections: list[Section]) -> None:
    assume(_no_block(text))
    result = merge(text, sections, date=DATE, source="F.md")
    if not sections:
        assert result is None
        return
    assert result is not None and result.startswith(text)
    span = find_block(result, source="F.md")
    assert span is not None and span[0] >= len(text)
    assert result[span[1]:] in ("\n", "\r\n", "\r")
    assert parse_block(result, source="F.md") == [_read_back(s) for s in sections]


@given(_prose(), _prose(), _NEWLINE, _SECTIONS, _SECTIONS)
def test_replacing_never_changes_a_byte_outside_the_markers(
        before: str, after: str, newline: str, old: list[Section], new: list[Section]) -> None:
    if before and not before.endswith(("\n", "\r")):
        before += newline
    text = before + render_block(old, date="2020-01-01", newline=newline) + newline + after
    assume(_no_block(before) and _no_block(after))
    # (an unclosed fence in `before` would hide the block)
    assume(_span(text) == (len(before), len(text) - len(after) - len(newline)))
    result = merge(text, new, date=DATE, source="F.md")
    old_read, new_read = [_read_back(s) for s in old], [_read_back(s) for s in new]
    by_name, old_names = {s.name: s for s in new_read}, {s.name for s in old_read}
    expected = [by_name.get(s.name, s) for s in old_read] + [s for s in new_read if s.name not in old_names]
    if expected == old_read:
        assert result is None
        return
    assert result is not None
    span = find_block(result, source="F.md")
    assert span is not None
    assert result[: span[0]] == before
    assert result[span[1]:] == newline + after
    assert parse_block(result, source="F.md") == expected


@given(_prose(), _SECTIONS, _SECTIONS)
def test_merging_twice_changes_nothing(text: str, first: list[Section], second: list[Section]) -> None:
    assume(_no_block(text))
    once = merge(text, first, date="2020-01-01", source="F.md")
    current = text if once is None else once
    assert merge(current, first, date=DATE, source="F.md") is None
    twice = merge(current, second, date=DATE, source="F.md")
    if twice is not None:
        assert merge(twice, second, date="2030-12-31", source="F.md") is None
