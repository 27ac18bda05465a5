from __future__ import annotations

import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.sessions import opencode
from headroom_ci.sessions import opencode_db
from headroom_ci.sessions import opencode_run
from headroom_ci.sessions import opencode_store
from headroom_ci.sessions.build import ms_to_iso
from headroom_ci.sessions.detect import sniff_record
from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage
from headroom_ci.sessions.types import SkipFn
from testing.opencode_fixtures import assistant_message
from testing.opencode_fixtures import completed
from testing.opencode_fixtures import errored
from testing.opencode_fixtures import jsonl
from testing.opencode_fixtures import PROJECT
from testing.opencode_fixtures import project
from testing.opencode_fixtures import run_event
from testing.opencode_fixtures import running
from testing.opencode_fixtures import running_db
from testing.opencode_fixtures import session
from testing.opencode_fixtures import step_finish
from testing.opencode_fixtures import Store
from testing.opencode_fixtures import T0
from testing.opencode_fixtures import text_part
from testing.opencode_fixtures import tokens
from testing.opencode_fixtures import tool_part
from testing.opencode_fixtures import user_message
from testing.opencode_fixtures import WORKTREE
from testing.opencode_fixtures import write_db
from testing.opencode_fixtures import write_storage

Skips = list[tuple[str, int | None, str]]


def _row(c: Any) -> tuple[Any, ...]:
    return (c.name, c.kind, c.is_error, c.exit_code, c.error_category, c.output)


@pytest.mark.parametrize(("tool", "state", "expected"), [
    pytest.param("read", completed({"filePath": "a.ts"}, "1: const a = 1", start=T0, end=T0 + 40),
                 ("read", "read", False, None, None, "1: const a = 1"), id="completed"),
    pytest.param("bash", completed({"command": "npm test"}, "Tests: 1 failed, 4 passed", start=T0, end=T0 + 40,
                                   metadata={"exit": 1, "output": "…", "description": "Run tests"}),
                 ("bash", "shell", True, 1, "test_failure", "Tests: 1 failed, 4 passed"), id="bash-exit-1"),
    pytest.param("bash", completed({"command": "ls"}, "a.ts", start=T0, end=T0 + 40, metadata={"exit": 0}),
                 ("bash", "shell", False, 0, None, "a.ts"), id="bash-exit-0"),
    pytest.param("bash", completed({"command": "x"}, "out", start=T0, end=T0 + 40, metadata={"exit": True}),
                 ("bash", "shell", False, None, None, "out"), id="bash-exit-not-a-number"),
    pytest.param("grep", completed({"pattern": "error"}, "src/a.ts:3: // error handling", start=T0, end=T0 + 40),
                 ("grep", "search", False, None, None, "src/a.ts:3: // error handling"), id="success-mentioning-error"),
    pytest.param("read", errored({"filePath": "x.ts"}, "File not found: /repo/x.ts", start=T0, end=T0 + 40,
                                 output="stale output a buggy reader would report"),
                 ("read", "read", True, None, "file_not_found", "File not found: /repo/x.ts"),
                 id="error-text-is-state-error"),
    pytest.param("edit", errored({"filePath": "a.ts"}, "The user rejected permission to use this specific tool call.",
                                 start=T0, end=T0 + 40),
                 ("edit", "edit", True, None, "user_rejected",
                  "The user rejected permission to use this specific tool call."), id="rejected"),
    pytest.param("bash", errored({"command": "sleep 99"}, "Tool execution aborted", start=T0, end=T0 + 40,
                                 metadata={"interrupted": True, "output": "partial"}),
                 ("bash", "shell", True, None, "interrupted", "Tool execution aborted"), id="interrupted"),
    pytest.param("read", completed({"filePath": "a.ts"}, {"content": "existing content"}, start=T0, end=T0 + 40),
                 ("read", "read", False, None, None, '{"content": "existing content"}'), id="object-output"),
    pytest.param("webfetch", completed({"url": "u"}, {"text": "page"}, start=T0, end=T0 + 40),
                 ("webfetch", "web", False, None, None, "page"), id="object-output-with-text"),
    pytest.param("task", running({"prompt": "explore"}, start=T0),
                 ("task", "agent", False, None, None, ""), id="never-finished"),
    pytest.param("bash", {"status": "completed", "metadata": "x", "time": "y", "input": [1], "output": 5},
                 ("bash", "shell", False, None, None, "5"), id="junk-state"),
])
def test_tool_part(tool: str, state: dict[str, Any], expected: tuple[Any, ...]) -> None:
    part = tool_part("prt_1", "msg_1", "ses_1", call_id="toolu_01", tool=tool, state=state)
    s = opencode.assemble(opencode.SessionInfo("ses_1"), [], [part], path="p", format="opencode-db")
    (c,) = s.tool_calls
    assert _row(c) == expected
    assert c.call_id == "toolu_01"


def test_tool_part_times() -> None:
    part = tool_part("prt_1", "msg_1", "ses_1", call_id="c", tool="bash",
                     state=completed({"command": "make"}, "", start=T0, end=T0 + 2500, metadata={"exit": 0}))
    (c,) = opencode.assemble(opencode.SessionInfo("ses_1"), [], [part], path="p", format="f").tool_calls
    assert (c.timestamp, c.duration_ms) == ("2026-01-16T11:01:22.345Z", 2500)


def _store() -> Store:
    a, b = "ses_01A", "ses_01B"
    bash = completed({"command": "npm test"}, "Tests: 1 failed, 4 passed", start=T0 + 1100, end=T0 + 3600,
                     metadata={"exit": 1})
    return Store(
        projects=[project()],
        sessions=[session(a, directory="/work/app"), session(b, directory=None, parent=a, created=T0 + 4000)],
        messages=[
            user_message("msg_01", a, at=T0),
            # Each assistant message's `tokens` is the sum of its step-finish parts.
            assistant_message("msg_02", a, at=T0 + 1000, toks=tokens(1000, 200, reasoning=50, read=5000, write=300)),
            assistant_message("msg_03", a, at=T0 + 5000, toks=tokens(700, 150, read=6000)),
            assistant_message("msg_04", a, at=T0 + 9000, toks=tokens(10, 5), model="claude-opus-4-1"),
            assistant_message("msg_05", b, at=T0 + 4000, toks=tokens(0, 0)),
        ],
        parts=[
            text_part("prt_01", "msg_01", a, "run the tests"),
            tool_part("prt_02", "msg_02", a, call_id="toolu_1", tool="bash", state=bash),
            tool_part("prt_03", "msg_02", a, call_id="toolu_2", tool="read",
                      state=errored({"filePath": "x.ts"}, "File not found: /repo/x.ts", start=T0 + 3700,
                                    end=T0 + 3710)),
            step_finish("prt_04", "msg_02", a, tokens(1000, 200, reasoning=50, read=5000, write=300)),
            tool_part("prt_05", "msg_03", a, call_id="toolu_3", tool="grep",
                      state=completed({"pattern": "error"}, "src/a.ts:3: // error", start=T0 + 5100, end=T0 + 5200)),
            step_finish("prt_06", "msg_03", a, tokens(500, 100, read=6000)),
            step_finish("prt_07", "msg_03", a, tokens(200, 50)),
            tool_part("prt_08", "msg_05", b, call_id="toolu_1", tool="webfetch",
                      state=completed({"url": "https://x"}, {"content": "page"}, start=T0 + 4100, end=T0 + 4300)),
            tool_part("prt_09", "msg_05", b, call_id="toolu_2", tool="task", state=running({}, start=T0 + 4400)),
        ])


def _check_store(sessions: list[Session], path_a: str, path_b: str, fmt: str) -> None:
    a, b = sessions
    assert (a.agent, a.format, a.path, a.session_id, a.cwd, a.model) == (
        "opencode", fmt, path_a, "ses_01A", "/work/app", "claude-opus-4-1")
    assert (a.subagent, a.parent_id, a.git_branch) == (False, None, None)
    assert (a.started_at, a.ended_at) == ("2026-01-16T11:01:22.345Z", "2026-01-16T11:01:36.345Z")
    # Step-finish parts counted (not their message totals too); msg_04 has none, so its own tokens.
    assert a.usage == Usage(input=1710, output=405, cache_read=11000, cache_creation=300)
    assert [(c.index, c.call_id, *_row(c), c.duration_ms) for c in a.tool_calls] == [
        (0, "toolu_1", "bash", "shell", True, 1, "test_failure", "Tests: 1 failed, 4 passed", 2500),
        (1, "toolu_2", "read", "read", True, None, "file_not_found", "File not found: /repo/x.ts", 10),
        (2, "toolu_3", "grep", "search", False, None, None, "src/a.ts:3: // error", 100),
    ]
    assert (b.path, b.session_id, b.subagent, b.parent_id, b.cwd) == (path_b, "ses_01B", True, "ses_01A", WORKTREE)
    # The same callIDs in another session are other calls.
    assert [(c.call_id, c.name, c.is_error, c.output) for c in b.tool_calls] == [
        ("toolu_1", "webfetch", False, '{"content": "page"}'), ("toolu_2", "task", False, "")]
    assert (b.usage, b.started_at, b.ended_at) == (Usage(), "2026-01-16T11:01:26.345Z", "2026-01-16T11:01:31.345Z")


def _storage(root: Path, skips: Skips | None = None) -> list[Session]:
    got: Skips = [] if skips is None else skips

    def factory(path: str) -> SkipFn:
        return lambda line, reason: got.append((path, line, reason))
    return opencode_store.read_storage(root, display="art/storage", skip=factory)


def _db(path: Path, skips: list[tuple[int | None, str]] | None = None) -> list[Session]:
    got = [] if skips is None else skips
    return opencode_db.read_db_file(path, display="art/opencode.db", skip=lambda line, reason: got.append((line, reason)))


def test_storage_tree(tmp_path: Path) -> None:
    root = write_storage(tmp_path / "storage", _store())
    assert opencode_store.is_storage_root(root)
    skips: Skips = []
    sessions = _storage(root, skips)
    assert skips == []
    _check_store(sessions, "art/storage/session/4b0ea68d7af9a6031a7ffda7ad66e0cb83315750/ses_01A.json",
                 "art/storage/session/4b0ea68d7af9a6031a7ffda7ad66e0cb83315750/ses_01B.json", "opencode-storage")


def test_database(tmp_path: Path) -> None:
    skips: list[tuple[int | None, str]] = []
    with running_db(tmp_path / "opencode.db", _store()) as path:
        # Everything is still in opencode.db-wal: a reader that ignores the WAL sees no tables.
        with closing(sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)) as frozen:
            assert frozen.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
        sessions = _db(path, skips)
    assert skips == []
    _check_store(sessions, "art/opencode.db", "art/opencode.db", "opencode-db")


@pytest.mark.parametrize("hold", [
    pytest.param("cannot-open-in-place", id="read-only-folder"),
    pytest.param("exclusive-lock", id="locked-by-a-writer"),
])
def test_database_read_from_a_copy_when_not_readable_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hold: str) -> None:
    skips: list[tuple[int | None, str]] = []
    if hold == "cannot-open-in-place":
        # As in a read-only folder without the -shm file (root cannot make one here).
        connect = opencode_db._connect

        def refuse_in_place(path: Path) -> sqlite3.Connection:
            if path.parent == tmp_path:
                raise sqlite3.OperationalError("unable to open database file")
            return connect(path)
        monkeypatch.setattr(opencode_db, "_connect", refuse_in_place)
        with running_db(tmp_path / "opencode.db", _store()) as path:
            sessions = _db(path, skips)
    else:
        path = write_db(tmp_path / "opencode.db", _store())
        with closing(sqlite3.connect(path, isolation_level=None)) as writer:
            writer.execute("BEGIN EXCLUSIVE")
            sessions = _db(path, skips)
    assert skips == []
    _check_store(sessions, "art/opencode.db", "art/opencode.db", "opencode-db")


def test_database_with_older_schema(tmp_path: Path) -> None:
    a, b = _db(write_db(tmp_path / "opencode.db", _store(), old_schema=True))
    # No parent_id column: nothing says B is a subagent. Parts reach sessions through messages.
    assert [(s.session_id, s.subagent, len(s.tool_calls), s.errors) for s in (a, b)] == [
        ("ses_01A", False, 3, 2), ("ses_01B", False, 2, 0)]
    assert a.usage == Usage(input=1710, output=405, cache_read=11000, cache_creation=300)


def test_database_bad_rows_are_reported(tmp_path: Path) -> None:
    path = write_db(tmp_path / "opencode.db", _store(), raw_rows=[
        ("message", ("msg_bad", "ses_01A", T0, T0, "{oops")),
        ("part", ("prt_bad", "msg_02", "ses_01A", T0, T0, "[1]")),
        ("message", ("msg_x", "ses_gone", T0, T0, "{}")),
        ("part", ("prt_blob", "msg_03", "ses_01A", T0, T0, json.dumps(
            {"type": "tool", "callID": "toolu_9", "tool": "glob",
             "state": completed({"pattern": "*"}, "a.ts", start=T0, end=T0 + 1)}).encode())),
    ])
    with sqlite3.connect(path) as conn:  # one undecodable text cell
        conn.execute("UPDATE session SET title = CAST(? AS TEXT) WHERE id = 'ses_01A'", (b"\xff\xfe broken",))
    skips: list[tuple[int | None, str]] = []
    a, b = _db(path, skips)
    assert skips == [
        (None, "message row 'msg_bad': data is not a JSON object"),
        (None, "part row 'prt_bad': data is not a JSON object"),
        (None, "1 message/part rows belong to no session"),
    ]
    assert [c.call_id for c in a.tool_calls] == ["toolu_1", "toolu_2", "toolu_3", "toolu_9"]


def test_database_without_project_table_is_read(tmp_path: Path) -> None:
    a, b = _db(write_db(tmp_path / "opencode.db", _store(), tables=["session", "message", "part"]))
    assert (a.cwd, b.cwd) == ("/work/app", None)


@pytest.mark.parametrize(("tables", "missing"), [
    pytest.param(["project", "session", "message"], "part", id="no-part"),
    pytest.param(["project", "message", "part"], "session", id="no-session"),
    pytest.param(["project", "session", "part"], "message", id="no-message"),
])
def test_database_missing_table_is_reported(tmp_path: Path, tables: list[str], missing: str) -> None:
    path = write_db(tmp_path / "opencode.db", _store(), tables=tables)
    with pytest.raises(sqlite3.Error):
        opencode_db.read_db(sqlite3.connect(path), display="d", skip=lambda line, reason: None)
    skips: list[tuple[int | None, str]] = []
    assert _db(path, skips) == []
    assert skips == [(None, f"not an OpenCode database: no such table: {missing}")]


def test_database_connection_is_left_as_found(tmp_path: Path) -> None:
    conn = sqlite3.connect(write_db(tmp_path / "opencode.db", _store()))
    try:
        opencode_db.read_db(conn, display="d", skip=lambda line, reason: None)
        assert conn.text_factory is str
    finally:
        conn.close()


def test_storage_bad_files_are_reported_with_their_own_path(tmp_path: Path) -> None:
    root = write_storage(tmp_path / "storage", _store())
    (root / "message" / "ses_01A" / "msg_09.json").write_text("{broken")
    (root / "part" / "msg_03" / "prt_99.json").write_text("[1, 2]")
    (root / "session" / "p2").mkdir()
    (root / "session" / "p2" / "noid.json").write_text(json.dumps({"title": "x"}))
    (root / "session" / "p2" / "escape.json").write_text(json.dumps({"id": "..", "projectID": "../.."}))
    skips: Skips = []
    sessions = _storage(root, skips)
    assert skips == [
        ("art/storage/message/ses_01A/msg_09.json", None, "invalid JSON"),
        ("art/storage/part/msg_03/prt_99.json", None, "expected a JSON object"),
        ("art/storage/session/p2/noid.json", None, "session file without an id"),
    ]
    assert [(s.session_id, len(s.tool_calls)) for s in sessions] == [("ses_01A", 3), ("ses_01B", 2), ("..", 0)]


@pytest.mark.parametrize(("files", "expected"), [
    pytest.param(["session/p/s.json", "message/s/m.json", "part/m/p.json", "project/p.json"], True, id="full"),
    pytest.param(["session/p/s.json", "message/s/m.json"], True, id="no-parts"),
    pytest.param(["session/p/s.json", "part/m/p.json"], False, id="no-messages"),
    pytest.param(["session/p/", "message/s/"], False, id="empty-folders"),
    pytest.param(["session/s.json", "message/m.json"], False, id="files-one-level-up"),
    pytest.param(["session/p/s.ts", "message/s/m.ts"], False, id="source-folders-named-session-and-message"),
    pytest.param([], False, id="empty"),
])
def test_is_storage_root(tmp_path: Path, files: list[str], expected: bool) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if not name.endswith("/"):
            (tmp_path / name).write_text("{}")
    assert opencode_store.is_storage_root(tmp_path) is expected


def test_storage_folder_is_walked_beyond_its_store(tmp_path: Path) -> None:
    # A folder whose session/ and message/ are not a store hides nothing; a store's
    # own folders are read once, as a store, and everything beside them is walked.
    app = tmp_path / "app"
    for name in ("session/index.ts", "message/index.ts"):
        (app / "src" / name).parent.mkdir(parents=True)
        (app / "src" / name).write_text("export {}")
    (app / "src" / "stream.jsonl").write_bytes(jsonl([
        run_event("step_finish", "ses_A", at=T0, part=step_finish("prt_1", "msg_1", "ses_A", tokens(3, 4)))]))
    store = write_storage(tmp_path / "storage", _store())
    (store / "run.jsonl").write_bytes(jsonl([
        run_event("step_finish", "ses_B", at=T0, part=step_finish("prt_1", "msg_1", "ses_B", tokens(5, 6)))]))
    (store / "snapshot" / "x").mkdir(parents=True)
    (store / "snapshot" / "x" / "run.jsonl").write_bytes((store / "run.jsonl").read_bytes())
    result = read_paths([tmp_path])
    assert result.skipped == ()
    assert [(s.format, s.session_id, s.path) for s in result.sessions] == [
        ("opencode-run-json", "ses_A", str(app / "src" / "stream.jsonl")),
        ("opencode-storage", "ses_01A", str(store / "session" / PROJECT / "ses_01A.json")),
        ("opencode-storage", "ses_01B", str(store / "session" / PROJECT / "ses_01B.json")),
        ("opencode-run-json", "ses_B", str(store / "run.jsonl")),
        ("opencode-run-json", "ses_B", str(store / "snapshot" / "x" / "run.jsonl")),
    ]


@pytest.mark.parametrize("message_id", [
    pytest.param(["msg_1"], id="list"),
    pytest.param({"id": "msg_1"}, id="object"),
    pytest.param(7, id="number"),
    pytest.param(None, id="null"),
])
def test_part_with_an_unusable_message_id_is_an_orphan_call(tmp_path: Path, message_id: Any) -> None:
    part = tool_part("prt_1", "msg_1", "ses_1", call_id="c1", tool="bash",
                     state=completed({"command": "ls"}, "a", start=T0, end=T0 + 5, metadata={"exit": 0}))
    part["messageID"] = message_id
    msg = assistant_message("msg_1", "ses_1", at=T0, toks=tokens(1, 1))
    s = opencode.assemble(opencode.SessionInfo("ses_1"), [msg], [part], path="p", format="opencode-db")
    assert [(c.call_id, c.name, c.is_error) for c in s.tool_calls] == [("c1", "bash", False)]
    # Through the storage tree, as a part file would carry it.
    root = tmp_path / "storage"
    for rel, rec in ((f"session/{PROJECT}/ses_1.json", session("ses_1")), ("message/ses_1/msg_1.json", msg),
                     ("part/msg_1/prt_1.json", part)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(rec))
    skips: Skips = []
    (s,) = _storage(root, skips)
    assert skips == []
    assert [(c.call_id, c.name) for c in s.tool_calls] == [("c1", "bash")]


# --- opencode run --format json -------------------------------------------------------

def _run(records: list[Any], skips: list[tuple[int | None, str]] | None = None) -> list[Session]:
    got = [] if skips is None else skips

    def skip(line: int | None, reason: str) -> None:
        got.append((line, reason))
    lines = decode_lines(iter_lines(io.BytesIO(jsonl(records))), skip=skip)
    return opencode_run.read_run_json(lines, path="run.jsonl", skip=skip, resolve=lambda p: None)


def test_run_json() -> None:
    sid, child = "ses_01RUN", "ses_01SUB"
    bash = tool_part("prt_2", "msg_1", sid, call_id="call_a", tool="bash",
                     state=completed({"command": "make"}, "make: *** [all] Error 2", start=T0 + 100, end=T0 + 900,
                                     metadata={"exit": 2}))
    step = step_finish("prt_4", "msg_1", sid, tokens(800, 120, reasoning=30, read=2000, write=100))
    records = [
        run_event("step_start", sid, at=T0, part={"id": "prt_1", "type": "step-start"}),
        run_event("tool_use", sid, at=T0 + 900, part=bash),
        run_event("tool_use", sid, at=T0 + 1000, part=tool_part(
            "prt_3", "msg_1", sid, call_id="call_b", tool="read",
            state=errored({"filePath": "x"}, "File not found: x", start=T0 + 950, end=T0 + 960))),
        run_event("step_finish", sid, at=T0 + 1100, part=step),
        run_event("step_finish", sid, at=T0 + 1100, part=step),  # the same part again: counted once
        run_event("text", sid, at=T0 + 1200, part=text_part("prt_5", "msg_2", sid, "done")),
        run_event("tool_use", child, at=T0 + 1300, part=tool_part(
            "prt_6", "msg_3", child, call_id="call_a", tool="glob",
            state=completed({"pattern": "*.ts"}, "a.ts", start=T0 + 1250, end=T0 + 1260))),
        run_event("step_finish", sid, at=T0 + 1400, part=step_finish("prt_7", "msg_2", sid, tokens(100, 10))),
        run_event("error", sid, at=T0 + 1500, error={"name": "UnknownError", "data": {"message": "boom"}}),
    ]
    main, sub = _run(records)
    assert (main.format, main.session_id, main.model, main.cwd) == ("opencode-run-json", sid, None, None)
    assert (main.started_at, main.ended_at) == ("2026-01-16T11:01:22.345Z", "2026-01-16T11:01:23.845Z")
    assert main.usage == Usage(input=900, output=160, cache_read=2000, cache_creation=100)
    assert [(c.call_id, *_row(c), c.duration_ms) for c in main.tool_calls] == [
        ("call_a", "bash", "shell", True, 2, "exit_nonzero", "make: *** [all] Error 2", 800),
        ("call_b", "read", "read", True, None, "file_not_found", "File not found: x", 10),
    ]
    assert (sub.session_id, [c.name for c in sub.tool_calls], sub.usage) == (child, ["glob"], Usage())
    assert sniff_record(records[0]) == "opencode-run-json"


def test_run_json_bad_events() -> None:
    skips: list[tuple[int | None, str]] = []
    (s,) = _run([{"type": "tool_use", "sessionID": "ses_1", "timestamp": "soon", "part": "x"},
                 {"type": "step_finish", "sessionID": "ses_1"},
                 {"type": "tool_use", "sessionID": "ses_1", "timestamp": T0, "part": {"type": "tool", "state": 3}},
                 {"type": "step_finish", "sessionID": "ses_1", "part": {"tokens": {"input": "x", "output": 4}}},
                 {"type": None, "sessionID": "ses_1", "timestamp": -5}], skips)
    assert skips == [(1, "tool_use event without a part"), (2, "step_finish event without a part")]
    assert [(c.name, c.call_id, c.output) for c in s.tool_calls] == [("unknown", None, "")]
    assert (s.session_id, s.usage, s.started_at) == ("ses_1", Usage(output=4), "2026-01-16T11:01:22.345Z")
    assert _run([]) == []


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(T0, "2026-01-16T11:01:22.345Z", id="ms"),
    pytest.param(float(T0) + 0.9, "2026-01-16T11:01:22.345Z", id="float"),
    pytest.param(1, "1970-01-01T00:00:00.001Z", id="epoch"),
    pytest.param(0, None, id="zero"),
    pytest.param(-1, None, id="negative"),
    pytest.param(True, None, id="bool"),
    pytest.param("1768561282345", None, id="string"),
    pytest.param(float("nan"), None, id="nan"),
    pytest.param(10**20, None, id="absurd"),
])
def test_ms_to_iso(value: object, expected: str | None) -> None:
    assert ms_to_iso(value) == expected


def test_read_paths_finds_every_opencode_form(tmp_path: Path) -> None:
    write_storage(tmp_path / "home" / ".local" / "share" / "opencode" / "storage", _store())
    write_db(tmp_path / "home" / ".local" / "share" / "opencode" / "opencode.db", _store())
    sid = "ses_01RUN"
    (tmp_path / "run.jsonl").write_bytes(jsonl([
        run_event("step_start", sid, at=T0, part={"id": "prt_1", "type": "step-start"}),
        run_event("step_finish", sid, at=T0 + 10, part=step_finish("prt_2", "msg_1", sid, tokens(3, 4)))]))
    result = read_paths([tmp_path])
    assert result.skipped == ()
    assert [(s.format, s.session_id, len(s.tool_calls), s.errors, s.usage) for s in result.sessions] == [
        ("opencode-run-json", sid, 0, 0, Usage(input=3, output=4)),
        ("opencode-db", "ses_01A", 3, 2, Usage(input=1710, output=405, cache_read=11000, cache_creation=300)),
        ("opencode-db", "ses_01B", 2, 0, Usage()),
        ("opencode-storage", "ses_01A", 3, 2, Usage(input=1710, output=405, cache_read=11000, cache_creation=300)),
        ("opencode-storage", "ses_01B", 2, 0, Usage()),
    ]
