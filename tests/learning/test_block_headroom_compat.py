"""headroom-ai reads the blocks we write, and we read the blocks it writes.

headroom-ai is too heavy to be a test dependency, so its real writer runs in a subprocess of the
Python named by HEADROOM_AI_PYTHON (a venv with `pip install headroom-ai`); requests and answers
travel as JSON over stdin/stdout.
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
from typing import Any

import pytest

from headroom_ci.learning.block import find_block
from headroom_ci.learning.block import MARKER_END
from headroom_ci.learning.block import MARKER_START
from headroom_ci.learning.block import merge
from headroom_ci.learning.block import parse_block
from headroom_ci.learning.block import render_block
from headroom_ci.learning.block import Section

PYTHON = os.environ.get("HEADROOM_AI_PYTHON")
# CI sets it: there the compatibility tests fail, never skip, when headroom-ai is missing.
REQUIRED = bool(os.environ.get("HEADROOM_AI_REQUIRED"))
pytestmark = pytest.mark.skipif(
    not PYTHON and not REQUIRED, reason="HEADROOM_AI_PYTHON is not set: point it at a Python where `pip install headroom-ai` "
                       "was done to check the marker block against headroom-ai's own writer")

S, E = MARKER_START, MARKER_END
DATE = "2026-11-21"

# Each request: {"op": "read" | "build" | "merge", "text": file content or null, "sections": [...]}.
# "read" goes through headroom's own file reading, which normalizes line breaks.
_HEADROOM_SCRIPT = r"""
import json, pathlib, sys, tempfile
from headroom.learn import writer
from headroom.learn.models import Recommendation, RecommendationTarget

def recs(items):
    return [Recommendation(target=RecommendationTarget.CONTEXT_FILE, section=i["name"], content=i["body"],
                           estimated_tokens_saved=i["tokens_saved"]) for i in items]

def dump(rs):
    return [{"name": r.section, "body": r.content, "tokens_saved": r.estimated_tokens_saved} for r in rs]

def handle(req, path):
    if path.exists():
        path.unlink()
    if req.get("text") is not None:
        path.write_bytes(req["text"].encode("utf-8"))
    if req["op"] == "read":
        text = writer._read_text_tolerant(path)
        span = writer._find_managed_block(text)
        return {"block": text[span[0]:span[1]] if span else None,
                "sections": dump(writer._parse_prior_recommendations(text))}
    if req["op"] == "build":
        return {"text": writer._build_section(recs(req["sections"]))}
    if req["op"] == "merge":
        return {"text": writer._merge_into_file(path, recs(req["sections"]))}
    raise ValueError(req["op"])

with tempfile.TemporaryDirectory() as tmp:
    path = pathlib.Path(tmp) / "CONTEXT.md"
    json.dump([handle(req, path) for req in json.load(sys.stdin)], sys.stdout)
"""


def _headroom(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert PYTHON
    done = subprocess.run([PYTHON, "-I", "-c", _HEADROOM_SCRIPT], input=json.dumps(requests),
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def _as_json(sections: list[Section]) -> list[dict[str, Any]]:
    return [{"name": s.name, "body": s.body, "tokens_saved": s.tokens_saved} for s in sections]


def _from_json(items: list[dict[str, Any]]) -> list[Section]:
    return [Section(i["name"], i["body"], i["tokens_saved"]) for i in items]


def _lf(text: str) -> str:
    return re.sub(r"\r\n|\r", "\n", text)


ENV = Section("Environment", "- Use `uv run pytest`, not `python3 -m pytest`.", 12000)
PATHS = Section("Paths", "- `services/api/models/user.py` is at `services/api/app/models/user.py`.")
HOSTILE = [
    Section(f"Evil {E}", f"- ok\n{E}\n- after?\n<!-- hidden -->\n{S}"),
    Section("Sub", "intro\n### Not a section\n```sh\nmake lint"),
    Section("Look-alike", "*~5 tokens/session saved*\nbody"),
    Section("Two\nlines", "form\x0cfeed\u2028```\nline separator", 1_234_567),
    Section("Ünïcødé 日本", "- ✓ 🎉\r\n- crlf"),
]
# What headroom itself writes safely (it does not keep a name on one line, demote "### " in a body,
# or close a fence left open: with those its own reader loses the block).
HEADROOM_HOSTILE = [
    Section(f"Evil {E}", f"- ok\n{E}\n- after?\n<!-- hidden -->\n{S}", 1_234_567),
    Section("Ünïcødé 日本", "- ✓ 🎉\n```sh\nmake\n```"),
]
SURROUNDINGS = [
    pytest.param("", "", id="bare"),
    pytest.param("# Agents\n\nKeep me.\n", "", id="prose-before"),
    pytest.param(f"Never edit {S} by hand.\n```md\n{S}\n{E}\n```\n", f"\nSee `{E}`.\n", id="quoted-markers"),
    pytest.param("\ufeff# Agents\r\nCRLF\r\n", "\r\nafter\r\n", id="bom-crlf"),
]


@pytest.mark.parametrize("before, after", SURROUNDINGS)
def test_headroom_reads_what_we_write(before: str, after: str) -> None:
    texts = []
    for sections in ([ENV], [ENV, PATHS], HOSTILE):
        written = merge(before + after if before + after else None, sections, date=DATE, source="F.md")
        assert written is not None
        texts.append(written)
    answers = _headroom([{"op": "read", "text": text} for text in texts])
    for text, answer in zip(texts, answers, strict=True):
        span = find_block(text, source="F.md")
        assert span is not None
        assert answer["block"] == _lf(text[span[0]: span[1]])
        assert _from_json(answer["sections"]) == parse_block(text, source="F.md")
    assert _from_json(answers[1]["sections"]) == [ENV, PATHS]


def test_headroom_reads_our_blocks_whatever_they_hold() -> None:
    rng = random.Random(20261121)
    pieces = ["", " ", "```", "~~~~", "``` x", "    ```", "### h", "#### h", f"{S}", f"{E}", "<!--", "-->",
              "*~7 tokens/session saved*", "*~1,000 tokens/session saved*", "\r", "\r\n", "\u2028", "\x0c", "\x85",
              "é", "日本", "🎉", "\t", "-", "a"]

    def text(n: int) -> str:
        return "".join(rng.choice(pieces) + rng.choice(["", "\n"]) for _ in range(rng.randrange(n)))

    blocks, expected = [], []
    for _ in range(300):
        sections: dict[str, Section] = {}
        for _ in range(rng.randrange(4)):
            name = text(4) + rng.choice(["A", "b", "é"])
            section = Section(name, text(12), rng.choice([0, 0, 3, 12_345]))
            ours = parse_block(render_block([section], date=DATE), source="F.md")
            assert ours is not None
            sections.setdefault(ours[0].name, section)
        block = render_block(list(sections.values()), date=DATE, newline=rng.choice(["\n", "\r\n"]))
        blocks.append(f"prose\n\n{block}\n")
        expected.append(parse_block(blocks[-1], source="F.md"))
    answers = _headroom([{"op": "read", "text": b} for b in blocks])
    assert [_from_json(a["sections"]) for a in answers] == expected


def test_we_read_what_headroom_builds() -> None:
    cases = [[ENV], [ENV, PATHS], HEADROOM_HOSTILE, []]
    answers = _headroom([{"op": "build", "sections": _as_json(c)} for c in cases])
    built = [a["text"] for a in answers]
    assert built[0].startswith(f"{S}\n## Headroom Learned Patterns\n*Auto-generated by `headroom learn` on ")
    reads = _headroom([{"op": "read", "text": b} for b in built])
    for block, read in zip(built, reads, strict=True):
        assert find_block(block, source="F.md") == (0, len(block))
        assert parse_block(block, source="F.md") == _from_json(read["sections"])
    assert parse_block(built[0], source="F.md") == [ENV]
    assert parse_block(built[1], source="F.md") == [ENV, PATHS]
    assert parse_block(built[3], source="F.md") == []


def test_we_read_and_merge_what_headroom_merges() -> None:
    before, after = "# Agents\n\nKeep me.\n\n", "\nTrailing notes.\n"
    ours = merge(before + after, [ENV, PATHS], date=DATE, source="F.md")
    assert ours is not None
    commands = Section("Commands", "- `npm run test:unit`", 80)
    new_env = Section("Environment", "- Use `uv run python`.", 9000)
    answers = _headroom([
        {"op": "merge", "text": ours, "sections": _as_json([new_env, commands])},
        {"op": "merge", "text": before + after, "sections": _as_json([PATHS])},
        {"op": "merge", "text": None, "sections": _as_json(HEADROOM_HOSTILE)},
    ])
    theirs = answers[0]["text"]
    span, our_span = find_block(theirs, source="F.md"), find_block(ours, source="F.md")
    assert span is not None and our_span is not None
    assert (theirs[: span[0]], theirs[span[1]:]) == (ours[: our_span[0]], ours[our_span[1]:])
    # headroom puts the sections it produced first, then the ones it carried.
    assert parse_block(theirs, source="F.md") == [new_env, commands, PATHS]
    assert merge(theirs, [new_env, PATHS], date=DATE, source="F.md") is None
    mixed = merge(theirs, [ENV], date=DATE, source="F.md")
    assert mixed is not None and parse_block(mixed, source="F.md") == [ENV, commands, PATHS]

    appended = answers[1]["text"]
    assert appended.startswith((before + after).rstrip() + "\n\n" + S)
    assert parse_block(appended, source="F.md") == [PATHS]

    created = answers[2]["text"]
    read = _headroom([{"op": "read", "text": created}])[0]
    assert parse_block(created, source="F.md") == _from_json(read["sections"])
    assert merge(created, _from_json(read["sections"]), date=DATE, source="F.md") is None


def test_the_rules_record_is_invisible_to_headroom_and_survives_its_rewrite() -> None:
    from headroom_ci.learning import merge as rules
    a = rules.Rule("a" * 16, "fa0000", "Environment", "- Use `uv run pytest`, not `python3 -m pytest`.", 61)
    b = rules.Rule("b" * 16, "fb0000", "Command Patterns", "- Run tests with `npm run test:unit`, not `npm test`.", 20)
    ours = rules.merge(rules.read("# Agents\r\n", source="F.md"), [a, b], date=DATE, source="F.md").text
    assert ours is not None and "<!-- headroom-ci:rules " in ours
    read, = _headroom([{"op": "read", "text": ours}])
    assert _from_json(read["sections"]) == parse_block(ours, source="F.md") == [
        Section("Environment", a.content, 61), Section("Command Patterns", b.content, 20)]
    # headroom rewrites the block when it merges (dropping our record): our rules are still ours,
    # found by their words, and never added twice.
    theirs = _headroom([{"op": "merge", "text": ours, "sections": _as_json([Section("Search Scope", "- Search `src/`.")])}])
    text = theirs[0]["text"]
    assert "headroom-ci:rules" not in text
    merged = rules.merge(rules.read(text, source="F.md"), [a, b], date=DATE, source="F.md")
    assert (merged.text, [c.status for c in merged.changes]) == (None, ["unchanged", "unchanged"])


def test_headroom_ai_is_there() -> None:
    assert PYTHON and os.path.exists(PYTHON), (
        "HEADROOM_AI_REQUIRED is set but HEADROOM_AI_PYTHON names no Python with headroom-ai installed")
