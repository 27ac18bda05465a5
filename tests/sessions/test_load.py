from __future__ import annotations

import json
import zipfile
from pathlib import Path

from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Skip
from testing.claude_fixtures import assistant_lines
from testing.claude_fixtures import SID
from testing.claude_fixtures import tool_result
from testing.claude_fixtures import tool_use
from testing.claude_fixtures import user_line
from testing.claude_fixtures import write_jsonl


def _transcript(path: Path, n_calls: int = 1) -> Path:
    records = []
    for i in range(n_calls):
        records += assistant_lines(f"msg_{i}", [tool_use(f"toolu_{i}", "Bash", command="ls")],
                                   ts=f"2026-03-01T10:00:0{i}Z")
        records.append(user_line([tool_result(f"toolu_{i}", "a.py")], ts=f"2026-03-01T10:00:0{i}Z"))
    return write_jsonl(path, records)


def test_folder_walk_reads_transcripts_and_reports_the_rest(tmp_path: Path) -> None:
    _transcript(tmp_path / "projects" / "-home-runner-work-shop-shop" / f"{SID}.jsonl", 2)
    (tmp_path / "projects" / "notes.md").write_text("# not read: not a transcript suffix")
    (tmp_path / "package.json").write_text(json.dumps({"name": "x"}, indent=2))
    (tmp_path / "logs.json").write_text(json.dumps([{"sessionId": "s", "messageId": 0, "type": "user",
                                                     "message": "hi", "timestamp": "t"}]))
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "binary.json").write_bytes(bytes(range(256)) * 8)
    result = read_paths([tmp_path])
    assert [(s.format, len(s.tool_calls)) for s in result.sessions] == [("claude-jsonl", 2)]
    assert result.sessions[0].path == str(tmp_path / "projects" / "-home-runner-work-shop-shop" / f"{SID}.jsonl")
    assert sorted(result.skipped, key=lambda k: k.path) == [
        Skip(str(tmp_path / "binary.json"), None, "not a recognized transcript"),
        Skip(str(tmp_path / "empty.jsonl"), None, "not a recognized transcript"),
        Skip(str(tmp_path / "logs.json"), None, "not a recognized transcript"),
        Skip(str(tmp_path / "package.json"), None, "not a recognized transcript"),
    ]


def test_zip_is_read_like_a_folder(tmp_path: Path) -> None:
    src = _transcript(tmp_path / "t.jsonl", 3)
    archive = tmp_path / "agent-sessions-1.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(src, f"claude/{SID}.jsonl")
    result = read_paths([archive])
    assert [(s.path, len(s.tool_calls)) for s in result.sessions] == [
        (str(archive / "claude" / f"{SID}.jsonl"), 3)]


def test_bad_zip_is_skipped_with_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = read_paths([bad])
    assert result.sessions == ()
    (skip,) = result.skipped
    assert skip.path == str(bad) and skip.reason.startswith(f"{bad}: not a readable zip archive")


def test_file_named_on_the_command_line_is_sniffed_whatever_its_name(tmp_path: Path) -> None:
    path = _transcript(tmp_path / "stdout.txt")
    assert [s.format for s in read_paths([path]).sessions] == ["claude-jsonl"]


def test_pretty_document_too_large_is_skipped(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from headroom_ci.sessions import load
    monkeypatch.setattr(load, "MAX_DOCUMENT_BYTES", 100)
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"sessionId": "s", "messages": [{"x": "y" * 200}]}, indent=2))
    assert read_paths([path]).skipped == (Skip(str(path), None, "JSON document larger than 100 bytes"),)


def test_large_single_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    path = _transcript(tmp_path / "t.jsonl", 2)
    with open(path, "ab") as fh:
        fh.write(b'{"type":"user","message":{"content":"' + b"A" * (50 * 1024 * 1024) + b'"}}\n')
    result = read_paths([path], max_line=1024 * 1024)
    assert [len(s.tool_calls) for s in result.sessions] == [2]
    assert result.skipped == (Skip(str(path), 5, "line longer than 1048576 bytes"),)
