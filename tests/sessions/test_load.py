from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.archive import Limits
from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.load import ReadResult
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


# --- every file once, only regular files, archives one level deep -------------------------

@pytest.mark.parametrize("given", [
    pytest.param(lambda d: [d, d / f"{SID}.jsonl"], id="folder-and-its-file"),
    pytest.param(lambda d: [d / f"{SID}.jsonl", d / f"{SID}.jsonl"], id="same-path-twice"),
    pytest.param(lambda d: [d / f"{SID}.jsonl", d / "sub" / "hard-link.jsonl"], id="hard-link"),
    pytest.param(lambda d: [d, d / "sub"], id="folder-and-its-subfolder"),
])
def test_a_file_is_read_once_per_call(tmp_path: Path, given) -> None:  # type: ignore[no-untyped-def]
    path = _transcript(tmp_path / f"{SID}.jsonl", 2)
    (tmp_path / "sub").mkdir()
    os.link(path, tmp_path / "sub" / "hard-link.jsonl")
    result = read_paths(given(tmp_path))
    assert result.skipped == ()
    assert [len(s.tool_calls) for s in result.sessions] == [2]


@pytest.mark.parametrize("named", [
    pytest.param(False, id="in-a-walked-folder"),
    pytest.param(True, id="named-on-the-command-line"),
])
def test_named_pipe_is_skipped_not_waited_on(tmp_path: Path, named: bool) -> None:
    _transcript(tmp_path / "a.jsonl")
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)  # no writer: opening it for reading would block forever
    result = read_paths([fifo] if named else [tmp_path])
    assert [len(s.tool_calls) for s in result.sessions] == ([] if named else [1])
    assert result.skipped == (Skip(str(fifo), None, "not a regular file"),)


def test_unreadable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _transcript(tmp_path / "ok" / "a.jsonl")
    (tmp_path / "locked").mkdir()
    _transcript(tmp_path / "locked" / "b.jsonl")
    scandir = os.scandir

    def refuse(path: Any = ".") -> Any:  # as for a folder without read permission (root reads any)
        if os.fspath(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)
    monkeypatch.setattr(os, "scandir", refuse)
    result = read_paths([tmp_path])
    assert [s.path for s in result.sessions] == [str(tmp_path / "ok" / "a.jsonl")]
    assert result.skipped == (Skip(str(tmp_path / "locked"), None, "cannot read folder: Permission denied"),)


def _zip_of(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_inside_a_zip_is_not_opened(tmp_path: Path) -> None:
    transcript = _transcript(tmp_path / "t.jsonl").read_bytes()
    inner = _zip_of(tmp_path / "inner.zip", {"t.jsonl": transcript}).read_bytes()
    outer = _zip_of(tmp_path / "outer.zip", {"a/t.jsonl": transcript, "b/inner.zip": inner,
                                             "c/disguised.json": inner})
    result = read_paths([outer])
    assert [s.path for s in result.sessions] == [str(outer / "a" / "t.jsonl")]
    assert result.skipped == (Skip(str(outer / "b" / "inner.zip"), None, "nested archive not opened"),
                              Skip(str(outer / "c" / "disguised.json"), None, "nested archive not opened"))


def test_encrypted_zip_is_skipped(tmp_path: Path) -> None:
    raw = bytearray(_zip_of(tmp_path / "enc.zip", {"a.jsonl": b"{}\n"}).read_bytes())
    raw[6] |= 1
    raw[raw.find(b"PK\x01\x02") + 8] |= 1
    (tmp_path / "enc.zip").write_bytes(bytes(raw))
    archive = tmp_path / "enc.zip"
    assert read_paths([archive]) == ReadResult((), (Skip(str(archive), None, f"{archive}: member 'a.jsonl' is encrypted"),))


def test_zips_nested_400_deep_stop_at_the_first_level(tmp_path: Path) -> None:
    data, name = b"{}\n", "t.jsonl"
    for i in range(400):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"z{i}.zip"
    (tmp_path / "nested.zip").write_bytes(data)
    result = read_paths([tmp_path / "nested.zip"])
    assert result == ReadResult((), (Skip(str(tmp_path / "nested.zip" / "z398.zip"), None, "nested archive not opened"),))


def test_archives_of_one_call_share_one_size_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from headroom_ci.sessions import load
    monkeypatch.setattr(load, "Limits", lambda: Limits(max_total_bytes=2500))
    transcript = _transcript(tmp_path / "t.jsonl", 1).read_bytes()
    assert len(transcript) == 993  # two fit in the budget, the third does not
    for name in ("a.zip", "b.zip", "c.zip"):
        _zip_of(tmp_path / "in" / name, {"t.jsonl": transcript})
    result = read_paths([tmp_path / "in"])
    assert [s.path for s in result.sessions] == [str(tmp_path / "in" / "a.zip" / "t.jsonl"),
                                                 str(tmp_path / "in" / "b.zip" / "t.jsonl")]
    c = tmp_path / "in" / "c.zip"
    assert result.skipped == (Skip(str(c), None, f"{c}: member 't.jsonl' expands past the size or "
                                                 "compression-ratio limit (a zip bomb?)"),)


# --- bounded skips, one-line documents ------------------------------------------------------

def test_skips_past_the_first_hundred_are_summarized(tmp_path: Path) -> None:
    path = _transcript(tmp_path / "t.jsonl")  # lines 1-2
    with open(path, "ab") as fh:
        fh.write(b"{oops\n" * 120 + b"[1]\n" * 30 + (b"x" * 2000 + b"\n") * 5)
    result = read_paths([path], max_line=1024)
    assert [len(s.tool_calls) for s in result.sessions] == [1]
    assert result.skipped == (
        *(Skip(str(path), n, "invalid JSON: malformed at column 2")
          for n in range(3, 103)),
        Skip(str(path), None, "55 more lines skipped (reasons: expected a JSON object ×30, invalid JSON ×20, "
                              "line longer than 1024 bytes ×5)"),
    )


def _claude_array() -> list[dict[str, Any]]:
    return [
        {"type": "system", "subtype": "init", "session_id": "s", "cwd": "/w", "model": "m"},
        {"type": "assistant", "session_id": "s", "message": {"id": "m1", "content": [
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]}},
        {"type": "user", "session_id": "s", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "x" * 3000}]}},
        {"type": "result", "subtype": "success", "session_id": "s", "usage": {"input_tokens": 5}},
    ]


@pytest.mark.parametrize(("data", "max_line", "expected"), [
    pytest.param(json.dumps({"session": {"id": "x", "timestamp": "2025-06-26T10:00:00Z"}, "items": [
        {"type": "function_call", "name": "shell", "call_id": "c", "arguments": "{}"}]}), MAX_LINE_BYTES,
        ("codex-rollout-json", "x", 1), id="codex-mid-2025-on-one-line"),
    pytest.param(json.dumps({"session_id": "x", "response": "ok", "stats": {"models": {"g": {"tokens": {"prompt": 10}}}}}),
                 MAX_LINE_BYTES, ("gemini-json", "x", 0), id="gemini-headless-on-one-line"),
    pytest.param(json.dumps(_claude_array()), 1024, ("claude-messages", "s", 1), id="array-longer-than-a-line"),
    pytest.param(json.dumps(_claude_array()[2]) + "\n", 1024, ("claude-messages", "s", 0),
                 id="object-longer-than-a-line"),
])
def test_one_line_documents(tmp_path: Path, data: str, max_line: int, expected: tuple[str, str, int]) -> None:
    path = tmp_path / "out.json"
    path.write_text(data)
    result = read_paths([path], max_line=max_line)
    assert result.skipped == ()
    assert [(s.format, s.session_id, len(s.tool_calls)) for s in result.sessions] == [expected]


def test_long_first_line_of_a_jsonl_file_is_skipped_not_read_as_a_document(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"type":"user","message":{"content":"' + b"A" * 2000 + b'"}}\n'
                     + _transcript(tmp_path / "x.jsonl").read_bytes())
    result = read_paths([path], max_line=1024)
    assert [(s.format, len(s.tool_calls)) for s in result.sessions] == [("claude-jsonl", 1)]
    assert result.skipped == (Skip(str(path), 1, "line longer than 1024 bytes"),)


@pytest.mark.parametrize(("data", "reason"), [
    pytest.param(json.dumps([{"type": ["x"]}]), "not a recognized transcript", id="unhashable-type-in-array"),
    pytest.param(json.dumps({"name": "pkg"}), "not a recognized transcript", id="unknown-one-line-object"),
    pytest.param("{" * 100 + "x", "not a recognized transcript", id="broken-one-line"),
])
def test_unrecognized_documents_are_skipped(tmp_path: Path, data: str, reason: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(data)
    assert read_paths([path]) == ReadResult((), (Skip(str(path), None, reason),))


def test_document_size_limit() -> None:
    from headroom_ci.sessions import load
    assert load.MAX_DOCUMENT_BYTES == 64 * 1024 * 1024


def test_a_bundle_manifest_names_the_run_of_the_sessions_below_it(tmp_path: Path) -> None:
    import json as _json
    from headroom_ci.sessions.bundle import manifest
    from headroom_ci.sessions.model import Run
    run = Run("4242", attempt=2, url="https://github.com/acme/shop/actions/runs/4242", sha="c0ffee")
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "manifest.json").write_text(_json.dumps(manifest(repository="acme/shop", run=run)))
    _transcript(tmp_path / "bundle" / "claude" / "a.jsonl")
    _transcript(tmp_path / "loose" / "b.jsonl")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "manifest.json").write_text('{"name": "not ours"}')
    _transcript(tmp_path / "other" / "c.jsonl")
    result = read_paths([tmp_path])
    assert [(Path(s.path).name, s.run) for s in result.sessions] == [("a.jsonl", run), ("b.jsonl", None),
                                                                       ("c.jsonl", None)]
    assert result.skipped == ()


def test_a_manifest_inside_an_artifact_cannot_rename_its_run(tmp_path: Path) -> None:
    # fetch writes the outer manifest from the API; one the artifact carries is the uploader's word.
    import json as _json
    from headroom_ci.sessions.bundle import manifest
    from headroom_ci.sessions.model import Run
    run = Run("4242", url="https://github.com/acme/shop/actions/runs/4242")
    forged = Run("1", url="https://evil.example/login/acme/shop/actions/runs/1")
    (tmp_path / "inner").mkdir(parents=True)
    (tmp_path / "manifest.json").write_text(_json.dumps(manifest(repository="acme/shop", run=run)))
    (tmp_path / "inner" / "manifest.json").write_text(_json.dumps(manifest(repository="acme/shop", run=forged)))
    _transcript(tmp_path / "inner" / "a.jsonl")
    assert [s.run for s in read_paths([tmp_path]).sessions] == [run]
