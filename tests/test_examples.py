from __future__ import annotations

from pathlib import Path

from headroom_ci.sessions.load import read_paths
from testing.examples import example_files

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "sessions"


def test_committed_examples_match_their_generator() -> None:
    on_disk = {p.relative_to(EXAMPLES).as_posix(): p.read_bytes() for p in EXAMPLES.rglob("*") if p.is_file()}
    assert on_disk == example_files(), "run: python -m testing.examples examples/sessions"


def test_examples_read_cleanly() -> None:
    result = read_paths([EXAMPLES])
    assert result.skipped == ()
    assert [(s.agent, len(s.tool_calls), s.errors) for s in result.sessions] == [
        ("claude", 7, 3), ("claude", 7, 3), ("codex", 8, 5), ("gemini", 6, 3)]
    assert [s.run.id if s.run else None for s in result.sessions] == ["101", "102", "102", "103"]
