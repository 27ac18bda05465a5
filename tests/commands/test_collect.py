from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from headroom_ci import __version__
from headroom_ci.commands import collect as collect_command
from headroom_ci.main import main
from headroom_ci.sessions.load import read_paths
from testing import claude_fixtures as cl
from testing import codex_fixtures as cx
from testing import gemini_fixtures as gm
from testing import opencode_fixtures as oc
from testing.examples import example_files

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
TS = ("2026-11-21T10:00:00.000Z", "2026-11-21T10:00:01.000Z")
EXAMPLE_REPO = Path(__file__).resolve().parents[2] / "examples" / "repo"


@dataclass(frozen=True)
class Runner:
    """A GitHub-hosted runner's layout, in a temporary folder."""
    tmp: Path
    home: Path
    ws: Path       # GITHUB_WORKSPACE
    temp: Path     # RUNNER_TEMP

    @property
    def out(self) -> Path:
        return self.tmp / "bundle"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    for var in list(os.environ):
        if var.startswith(("GITHUB_", "RUNNER_")):
            monkeypatch.delenv(var)
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_HOME", "XDG_DATA_HOME", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(var, raising=False)
    r = Runner(tmp_path, tmp_path / "runner-home", tmp_path / "work" / "shop" / "shop", tmp_path / "temp")
    for folder in (r.home, r.ws, r.temp):
        folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(r.home))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(r.ws))
    monkeypatch.setenv("RUNNER_TEMP", str(r.temp))
    return r


# -- transcripts of each agent ------------------------------------------------------------------
def encoded(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


def claude_lines(sid: str, cwd: Path | str, *, command: str = "ls", output: str = "ok",
                 agent_id: str | None = None) -> list[dict[str, Any]]:
    env: dict[str, Any] = {"session_id": sid, "cwd": str(cwd)}
    if agent_id is not None:
        env.update(sidechain=True, agent_id=agent_id)
    call = f"toolu_{agent_id or sid}"
    return [*cl.assistant_lines(f"msg_{agent_id or sid}", [cl.tool_use(call, "Bash", command=command)], ts=TS[0],
                                **env),
            cl.user_line([cl.tool_result(call, output)], ts=TS[1], **env)]


def execution_file(sid: str, cwd: Path) -> str:
    events = [cl.stream_init(session_id=sid, cwd=str(cwd)),
              cl.stream_assistant("msg_x", [cl.tool_use("toolu_x", "Bash", command="make lint")], session_id=sid),
              cl.stream_user([cl.tool_result("toolu_x", "Exit code 2\nNo rule to make target 'lint'", is_error=True)],
                             session_id=sid),
              cl.stream_result(cl.usage(), session_id=sid)]
    return json.dumps(events, indent=2)


def codex_rollout(sid: str, cwd: Path | str) -> list[dict[str, Any]]:
    return [cx.session_meta(ts=cx.at(0), id=sid, cwd=str(cwd)),
            cx.response(cx.function_call("c1", "exec_command", {"cmd": "ls"}), ts=cx.at(1)),
            cx.response(cx.function_output("c1", cx.unified("a", exit_code=0)), ts=cx.at(2))]


def gemini_chat(sid: str) -> list[dict[str, Any]]:
    return [gm.meta(sid), gm.gemini("m1", ts=TS[0], calls=[
        gm.call("c1", "run_shell_command", {"command": "ls"}, ts=TS[0], output=gm.shell_output("a"))])]


def opencode_store(sessions: dict[str, Path | str]) -> oc.Store:
    store = oc.Store(projects=[oc.project()])
    for n, (sid, directory) in enumerate(sessions.items()):
        mid = f"msg_{n}"
        store.sessions.append(oc.session(sid, directory=str(directory)))
        store.messages.append(oc.assistant_message(mid, sid, at=oc.T0, toks=oc.tokens(1, 2)))
        store.parts.append(oc.tool_part(f"prt_{n}", mid, sid, call_id=f"c{n}", tool="bash",
                                        state=oc.completed({"command": "ls"}, "a", start=oc.T0, end=oc.T0 + 5)))
    return store


def write(path: Path, data: str | bytes | list[dict[str, Any]]) -> Path:
    if isinstance(data, list):
        return cl.write_jsonl(path, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# -- running collect ----------------------------------------------------------------------------
def run_collect(r: Runner, *args: str) -> int:
    return main(["collect", "--out", str(r.out), *args])


def manifest_of(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return doc


def found(out: Path) -> list[tuple[str, str, str]]:
    return sorted((e["agent"], e["session_id"], e["source"]) for e in manifest_of(out)["sessions"])


def outputs_of(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name<<DELIMITER` blocks."""
    out: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        value = []
        for item in lines:
            if item == delimiter:
                break
            value.append(item)
        out[name] = "\n".join(value)
    return out


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


# Puts an agent's sessions where it leaves them; returns the PATH arguments to collect.
Plant = Callable[[Runner, pytest.MonkeyPatch], list[str]]


# -- where the sessions are -----------------------------------------------------------------------
def _claude_projects(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    projects = r.home / ".claude" / "projects"
    write(projects / encoded(r.ws) / "c-main.jsonl", claude_lines("c-main", r.ws))
    write(projects / encoded(r.ws) / "c-main" / "subagents" / "agent-sub21.jsonl",
          claude_lines("c-main", r.ws, agent_id="sub21"))
    write(projects / encoded(r.ws) / "agent-sub20.jsonl", claude_lines("c-main", r.ws, agent_id="sub20"))
    write(projects / (encoded(r.ws) + "-web") / "c-web.jsonl", claude_lines("c-web", r.ws / "web"))
    # A sibling checkout: its folder name starts like the workspace's, its cwd is elsewhere.
    write(projects / (encoded(r.ws) + "-old") / "c-old.jsonl", claude_lines("c-old", f"{r.ws}-old"))
    write(projects / "-srv-other" / "c-other.jsonl", claude_lines("c-other", "/srv/other"))
    return []


def _claude_config_dir(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    config = r.tmp / "claude-config"
    m.setenv("CLAUDE_CONFIG_DIR", str(config))
    write(config / "projects" / encoded(r.ws) / "c-1.jsonl", claude_lines("c-1", r.ws))
    write(r.home / ".claude" / "projects" / encoded(r.ws) / "c-2.jsonl", claude_lines("c-2", r.ws))
    return []


def _execution_file(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    write(r.temp / "claude-execution-output.json", execution_file("x-1", r.ws))
    return []


def _codex(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    codex = r.home / ".codex"
    write(codex / "sessions" / "2026" / "05" / "11" / "rollout-a.jsonl", codex_rollout("x-a", r.ws))
    write(codex / "archived_sessions" / "rollout-b.jsonl", codex_rollout("x-b", r.ws / "web"))
    write(codex / "sessions" / "2026" / "05" / "11" / "rollout-c.jsonl", codex_rollout("x-c", "/srv/other"))
    return []


def _codex_home(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    codex = r.tmp / "codex-home"
    m.setenv("CODEX_HOME", str(codex))
    write(codex / "sessions" / "rollout-a.jsonl", codex_rollout("x-a", r.ws))
    write(r.home / ".codex" / "sessions" / "rollout-b.jsonl", codex_rollout("x-b", r.ws))
    return []


def _gemini_hashed(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    tmp = r.home / ".gemini" / "tmp"
    folder = tmp / hashlib.sha256(str(r.ws.resolve()).encode()).hexdigest()
    write(folder / "chats" / "session-2026-11-21T10-00-aaaaaaaa.jsonl", gemini_chat("g-1"))
    write(tmp / hashlib.sha256(b"/srv/other").hexdigest() / "chats" / "session-2026-11-21T10-00-bbbbbbbb.jsonl",
          gemini_chat("g-2"))
    return []


def _gemini_slug(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    gemini = r.home / ".gemini"
    write(gemini / "projects.json", json.dumps({"projects": {str(r.ws.resolve()): "shop"}}))
    write(gemini / "tmp" / "shop" / "chats" / "session-2026-11-21T10-00-aaaaaaaa.jsonl", gemini_chat("g-1"))
    write(gemini / "tmp" / "shop-2" / ".project_root", str(r.ws.resolve()))
    write(gemini / "tmp" / "shop-2" / "chats" / "session-2026-11-21T11-00-cccccccc.jsonl", gemini_chat("g-3"))
    write(gemini / "tmp" / "other" / ".project_root", "/srv/other")
    write(gemini / "tmp" / "other" / "chats" / "session-2026-11-21T10-00-bbbbbbbb.jsonl", gemini_chat("g-2"))
    return []


def _opencode_db(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    data = r.home / ".local" / "share" / "opencode"
    data.mkdir(parents=True)
    oc.write_db(data / "opencode.db", opencode_store({"ses_a": r.ws, "ses_b": "/srv/other"}))
    return []


def _opencode_storage(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    data = r.tmp / "xdg"
    m.setenv("XDG_DATA_HOME", str(data))
    oc.write_storage(data / "opencode" / "storage", opencode_store({"ses_a": r.ws / "web", "ses_b": "/srv/other"}))
    return []


def _paths(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    # Named paths are taken whole, wherever their sessions ran.
    one = write(r.tmp / "logs" / "stream.jsonl", [
        cl.stream_init(session_id="p-file", cwd="/srv/other"),
        cl.stream_assistant("m1", [cl.tool_use("t1", "Bash", command="ls")], session_id="p-file"),
        cl.stream_user([cl.tool_result("t1", "a")], session_id="p-file")])
    folder = r.tmp / "more"
    write(folder / "nested" / "rollout.jsonl", codex_rollout("p-folder", "/srv/other"))
    archive = r.tmp / "sessions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/c.jsonl", b"".join(json.dumps(x).encode() + b"\n"
                                              for x in claude_lines("p-zip", "/srv/other")))
    return [str(one), str(folder), str(archive)]


@pytest.mark.parametrize("plant, expected", [
    pytest.param(_claude_projects, [("claude", "c-main", "claude/workspace"), ("claude", "c-web", "claude/workspace-web"),
                                     ("claude", "sub20", "claude/workspace"), ("claude", "sub21", "claude/workspace")],
                 id="claude-projects-with-subagents"),
    pytest.param(_claude_config_dir, [("claude", "c-1", "claude/workspace")], id="claude-config-dir"),
    pytest.param(_execution_file, [("claude", "x-1", "claude-code-action")], id="claude-code-action-execution-file"),
    pytest.param(_codex, [("codex", "x-a", "codex/sessions"), ("codex", "x-b", "codex/archived_sessions")],
                 id="codex-sessions-and-archived"),
    pytest.param(_codex_home, [("codex", "x-a", "codex/sessions")], id="codex-home"),
    pytest.param(_gemini_hashed, [("gemini", "g-1", "gemini/" + "{sha}" + "/chats")], id="gemini-hashed-folder"),
    pytest.param(_gemini_slug, [("gemini", "g-1", "gemini/shop/chats"), ("gemini", "g-3", "gemini/shop-2/chats")],
                 id="gemini-slug-folders"),
    pytest.param(_opencode_db, [("opencode", "ses_a", "opencode/opencode.db")], id="opencode-db"),
    pytest.param(_opencode_storage, [("opencode", "ses_a", "opencode/storage")], id="opencode-storage"),
    pytest.param(_paths, [("claude", "p-file", "paths/1-stream.jsonl"), ("claude", "p-zip", "paths/3-sessions.zip"),
                          ("codex", "p-folder", "paths/2-more")], id="named-paths"),
])
def test_each_source_and_only_the_workspaces_sessions(runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                                      plant: Plant,
                                                      expected: list[tuple[str, str, str]]) -> None:
    paths = plant(runner, monkeypatch)
    assert run_collect(runner, *paths) == 0
    sha = hashlib.sha256(str(runner.ws.resolve()).encode()).hexdigest()
    assert found(runner.out) == [(a, s, src.replace("{sha}", sha)) for a, s, src in expected]


# -- the manifest -------------------------------------------------------------------------------
ACTIONS_ENV = {
    "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_JOB": "agent",
    "GITHUB_WORKFLOW": "Agent", "GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/agent.yml@refs/heads/main",
    "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch",
    "GITHUB_SHA": "c8c252acd853de59c54b5c31374fec6028ee812e", "GITHUB_SERVER_URL": "https://github.com",
    "SOURCE_DATE_EPOCH": "1795219200",
}


def test_manifest(runner: Runner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for k, v in ACTIONS_ENV.items():
        monkeypatch.setenv(k, v)
    _claude_projects(runner, monkeypatch)
    _codex(runner, monkeypatch)
    _gemini_hashed(runner, monkeypatch)
    assert run_collect(runner) == 0
    doc = manifest_of(runner.out)
    sessions = doc.pop("sessions")
    assert doc == {
        "format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop",
        "run": {"id": "9001", "attempt": 2, "url": "https://github.com/acme/shop/actions/runs/9001",
                "workflow": "agent.yml", "branch": "main", "sha": "c8c252acd853de59c54b5c31374fec6028ee812e"},
        "job": "agent", "workflow": "Agent", "workflow_ref": "acme/shop/.github/workflows/agent.yml@refs/heads/main",
        "ref": "refs/heads/main", "collected_at": "2026-11-21T00:00:00Z",
        "collector": {"name": "headroom-ci", "version": __version__},
        "agents": {"claude": ["2.1.39"], "codex": ["0.125.0"], "gemini": []},
        "counts": {"sessions": 7, "tool_calls": 7, "errors": 0, "files": 7, "skipped": 0},
        "skipped": [], "redacted": {},
    }
    assert sessions[0] == {
        "file": "sessions/claude-sub20.jsonl", "agent": "claude", "format": "claude-jsonl", "session_id": "sub20",
        "subagent": True, "tool_calls": 1, "errors": 0, "source": "claude/workspace", "agent_version": "2.1.39",
        "duplicate": False}
    assert sorted(e["file"] for e in sessions) == [
        "sessions/claude-c-main.jsonl", "sessions/claude-c-web.jsonl", "sessions/claude-sub20.jsonl",
        "sessions/claude-sub21.jsonl", "sessions/codex-x-a.jsonl", "sessions/codex-x-b.jsonl",
        "sessions/gemini-g-1.jsonl"]
    assert capsys.readouterr().out == (
        "claude: 4 sessions, 4 tool calls, 0 failed (version 2.1.39)\n"
        "codex: 2 sessions, 2 tool calls, 0 failed (version 0.125.0)\n"
        "gemini: 1 session, 1 tool call, 0 failed\n"
        f"total: 7 sessions, 7 tool calls, 0 failed; 7 files in {runner.out}\n")
    # Read back, every session carries the run.
    back = read_paths([runner.out])
    assert back.skipped == ()
    assert {(s.run.id, s.run.attempt) if s.run else None for s in back.sessions} == {("9001", 2)}


def test_outside_actions_no_run_is_named(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    _execution_file(runner, monkeypatch)
    assert run_collect(runner, "--repository", "acme/shop") == 0
    doc = manifest_of(runner.out)
    assert (doc["repository"], "run" in doc, doc["job"], doc["collected_at"]) == (
        "acme/shop", False, None, "1970-01-01T00:00:00Z")


# -- redaction and repo-relative paths ----------------------------------------------------------
def test_secrets_and_runner_paths_never_reach_the_bundle(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(TOKEN) == 40
    # A secret the job holds in a variable, in no format the built-in table knows.
    monkeypatch.setenv("DEPLOY_PASSWORD", "correct horse battery staple")
    projects = runner.home / ".claude" / "projects" / encoded(runner.ws)
    write(projects / "s1.jsonl", [
        *cl.assistant_lines("m1", [cl.tool_use("t1", "Bash", command=f"curl -H 'Authorization: token {TOKEN}' api"),
                                   cl.tool_use("t2", "Read", file_path="/home/runner/work/shop/shop/x")],
                            ts=TS[0], session_id="s1", cwd=str(runner.ws)),
        cl.user_line([cl.tool_result("t1", f"Exit code 1\nbad credentials {TOKEN}", is_error=True),
                      cl.tool_result("t2", f"see {runner.ws}/src/app.py and /home/alice/notes; "
                                           "pw correct horse battery staple")],
                     ts=TS[1], session_id="s1", cwd=str(runner.ws)),
    ])
    assert run_collect(runner, "--raw") == 0
    header, *calls = [json.loads(line) for line in (runner.out / "sessions" / "claude-s1.jsonl").read_text().splitlines()]
    assert header["cwd"] == "."
    assert [(c["input"], c["output"]) for c in calls] == [
        ({"command": "curl -H 'Authorization: token [REDACTED:github-token]' api"},
         "Exit code 1\nbad credentials [REDACTED:github-token]"),
        ({"file_path": "x"}, "see src/app.py and ~/notes; pw [REDACTED:env:DEPLOY_PASSWORD]"),
    ]
    assert manifest_of(runner.out)["redacted"] == {"env:DEPLOY_PASSWORD": 1, "github-token": 2}
    summary = runner.temp / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert run_collect(runner, "--raw", "--artifact-name", "agent-sessions-1-1-agent-0a1b2c3d") == 0
    assert summary.read_text() == ("**headroom-ci collect**: 1 session (claude 1), 3 secrets redacted → "
                                   "artifact `agent-sessions-1-1-agent-0a1b2c3d`\n")
    everything = all_bytes(runner.out)
    assert TOKEN.encode() not in everything and b"battery" not in everything
    assert str(runner.ws).encode() not in everything and b"/home/runner" not in everything
    raw = (runner.out / "raw" / "claude" / "workspace" / "s1.jsonl").read_text()
    assert '"cwd":"."' in raw and "[REDACTED:github-token]" in raw and '"file_path":"x"' in raw


# -- --raw ---------------------------------------------------------------------------------------
def test_raw_keeps_line_based_originals(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _claude_projects(runner, monkeypatch)
    _execution_file(runner, monkeypatch)
    _opencode_db(runner, monkeypatch)
    long_line = json.dumps({"type": "summary", "summary": "x" * 5000}) + "\n"
    path = runner.home / ".claude" / "projects" / encoded(runner.ws) / "c-main.jsonl"
    path.write_text(long_line + path.read_text())
    monkeypatch.setattr(collect_command, "MAX_LINE_BYTES", 2000)
    assert run_collect(runner, "--raw") == 0
    raw = manifest_of(runner.out)["raw"]
    assert raw == {
        "files": ["raw/claude/workspace/agent-sub20.jsonl", "raw/claude/workspace/c-main.jsonl",
                  "raw/claude/workspace/c-main/subagents/agent-sub21.jsonl", "raw/claude/workspace-web/c-web.jsonl",
                  "raw/claude-code-action/claude-execution-output.json"],
        "not_copied": [{"file": "~/.local/share/opencode/opencode.db", "reason": "a SQLite database, not line-based"}],
        "lines_dropped": {"raw/claude/workspace/c-main.jsonl": 1},
    }
    kept = (runner.out / "raw/claude/workspace/c-main.jsonl").read_text().splitlines()
    assert kept[0] == "" and len(kept) == len(path.read_text().splitlines())
    assert json.loads((runner.out / "raw/claude-code-action/claude-execution-output.json").read_text())[0]["cwd"] == "."
    # The bundle reads as its normalized sessions only: raw/ holds the same sessions again.
    assert sorted(Path(s.path).parent.name for s in read_paths([runner.out]).sessions) == ["sessions"] * 6


def test_without_raw_only_normalized_sessions(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _codex(runner, monkeypatch)
    assert run_collect(runner) == 0
    assert sorted(p.relative_to(runner.out).as_posix() for p in runner.out.rglob("*") if p.is_file()) == [
        "manifest.json", "sessions/codex-x-a.jsonl", "sessions/codex-x-b.jsonl"]
    assert "raw" not in manifest_of(runner.out)


# -- the same session twice ----------------------------------------------------------------------
def test_execution_file_and_transcript_of_one_run_are_kept_and_counted_once(runner: Runner,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write(runner.home / ".claude" / "projects" / encoded(runner.ws) / "s1.jsonl", claude_lines("s1", runner.ws))
    write(runner.temp / "claude-execution-output.json", execution_file("s1", runner.ws))
    assert run_collect(runner) == 0
    doc = manifest_of(runner.out)
    assert [(e["file"], e["duplicate"]) for e in doc["sessions"]] == [
        ("sessions/claude-s1.jsonl", False), ("sessions/claude-s1-2.jsonl", True)]
    assert doc["counts"] == {"sessions": 1, "tool_calls": 1, "errors": 0, "files": 2, "skipped": 0}
    assert capsys.readouterr().out.startswith("claude: 1 session, 1 tool call, 0 failed (version 2.1.39)\n")


# -- nothing found, and the Actions outputs ----------------------------------------------------------
def test_empty_collection_is_a_notice(runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(runner.tmp / "output"))
    (runner.tmp / "output").write_text("")
    assert run_collect(runner) == 0
    assert capsys.readouterr().out == (
        f"::notice title=headroom-ci collect::no agent sessions found for {runner.ws}: nothing to upload "
        "(no agent's session folder exists on this machine)\n")
    assert outputs_of(runner.tmp / "output") == {"sessions": "0", "tool-calls": "0", "errors": "0", "bundle-path": ""}
    assert not runner.out.exists()


def test_outputs(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(runner.tmp / "output"))
    _execution_file(runner, monkeypatch)
    _codex(runner, monkeypatch)
    assert run_collect(runner) == 0
    assert outputs_of(runner.tmp / "output") == {"sessions": "3", "tool-calls": "3", "errors": "1",
                                                 "bundle-path": str(runner.out)}


def test_default_out_is_under_runner_temp(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _execution_file(runner, monkeypatch)
    assert main(["collect"]) == 0
    assert (runner.temp / "headroom-ci-bundle" / "manifest.json").is_file()


# -- where the bundle may go -------------------------------------------------------------------------
def _not_empty(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    write(r.out / "notes.txt", "mine")
    return []


def _inside_a_path(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    return [str(r.tmp)]


def _no_out(r: Runner, m: pytest.MonkeyPatch) -> list[str]:
    m.delenv("RUNNER_TEMP")
    return []


@pytest.mark.parametrize("setup, args, error", [
    pytest.param(_not_empty, ["--out", "{out}"],
                 "--out {out}: not empty, and not a bundle of an earlier collect: choose a new folder", id="not-empty"),
    pytest.param(_inside_a_path, ["--out", "{out}"],
                 "--out {out}: inside {tmp}, which is read: choose a folder outside it", id="inside-a-named-path"),
    pytest.param(_no_out, [], "--out DIR is required outside GitHub Actions (the default is under $RUNNER_TEMP)",
                 id="no-out-outside-actions"),
])
def test_where_the_bundle_may_not_go(runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], setup: Plant,
                                     args: list[str], error: str) -> None:
    _execution_file(runner, monkeypatch)
    paths = setup(runner, monkeypatch)
    fill = {"out": str(runner.out), "tmp": str(runner.tmp)}
    assert main(["collect", *(a.format(**fill) for a in args), *paths]) == 1
    assert capsys.readouterr().err == f"headroom-ci: error: {error.format(**fill)}\n"


def test_an_earlier_bundle_is_replaced(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _codex(runner, monkeypatch)
    assert run_collect(runner) == 0
    (runner.home / ".codex" / "archived_sessions" / "rollout-b.jsonl").unlink()
    assert run_collect(runner) == 0
    assert found(runner.out) == [("codex", "x-a", "codex/sessions")]
    assert sorted(p.name for p in runner.tmp.iterdir()) == ["bundle", "runner-home", "temp", "work"]  # no staging left


# -- learn reads the bundle as it reads the originals -------------------------------------------------------
def _plan(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["learn", str(path), "--repo-path", str(EXAMPLE_REPO), "--format", "json"]) == 0
    plan: dict[str, Any] = json.loads(capsys.readouterr().out)
    return plan


def test_learn_finds_the_same_rules_in_the_bundles(runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    originals = runner.tmp / "originals"
    for rel, data in example_files().items():
        write(originals / rel, data)
    for run_id in ("101", "102", "103"):
        monkeypatch.setenv("GITHUB_RUN_ID", run_id)
        assert main(["collect", str(originals / f"run-{run_id}"), "--repository", "acme/shop",
                     "--out", str(runner.tmp / "bundles" / run_id)]) == 0
    capsys.readouterr()
    before, after = _plan(originals, capsys), _plan(runner.tmp / "bundles", capsys)

    def rules(plan: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(r["section"], r["content"], r["fingerprint"], r["finding_ids"]) for r in plan["recommendations"]]

    def findings(plan: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(f["id"], f["kind"], f["key"], f["fix"], f["sessions"], f["runs"], f["fixes"], f["occurrences"])
                for f in plan["findings"]]

    assert rules(after) == rules(before) and len(rules(before)) == 4
    assert findings(after) == findings(before)


def test_workspace_flag_wins_over_github_workspace(runner: Runner) -> None:
    other = runner.tmp / "elsewhere"
    other.mkdir()
    projects = runner.home / ".claude" / "projects"
    write(projects / encoded(runner.ws) / "s1.jsonl", claude_lines("s1", runner.ws))
    write(projects / encoded(other) / "s2.jsonl", claude_lines("s2", other))
    assert run_collect(runner, "--workspace", str(other)) == 0
    assert found(runner.out) == [("claude", "s2", "claude/workspace")]


def test_a_named_path_that_is_not_there_is_a_warning(runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _execution_file(runner, monkeypatch)
    missing = runner.tmp / "claude-output.jsonl"
    assert run_collect(runner, str(missing)) == 0
    assert capsys.readouterr().out == (
        "claude: 1 session, 1 tool call, 1 failed (version 2.1.39)\n"
        f"total: 1 session, 1 tool call, 1 failed; 1 file in {runner.out}\n"
        f"::warning title=headroom-ci collect::{missing}: no such file or folder\n")
    assert manifest_of(runner.out)["skipped"] == [
        {"path": str(missing), "line": None, "reason": "no such file or folder"}]


def test_a_project_folder_linked_out_of_the_agent_folder_is_not_followed(runner: Runner) -> None:
    # The link is named like the workspace's project folder; its target holds another
    # repository's sessions (or anything else of the machine's).
    elsewhere = runner.tmp / "elsewhere"
    write(elsewhere / "secret-session.jsonl", claude_lines("c-leak", runner.ws, output="private"))
    projects = runner.home / ".claude" / "projects"
    projects.mkdir(parents=True)
    (projects / encoded(runner.ws)).symlink_to(elsewhere, target_is_directory=True)
    write(projects / (encoded(runner.ws) + "-web") / "c-web.jsonl", claude_lines("c-web", runner.ws / "web"))
    assert run_collect(runner) == 0
    doc = manifest_of(runner.out)
    assert found(runner.out) == [("claude", "c-web", "claude/workspace-web")]
    assert [s["reason"] for s in doc["skipped"]] == ["a link out of the agent's folder: not followed"]
    assert b"c-leak" not in all_bytes(runner.out)


def test_a_secret_in_a_session_id_reaches_no_file_name_or_manifest_entry(runner: Runner) -> None:
    sid = f"run-{TOKEN}"
    write(runner.home / ".claude" / "projects" / encoded(runner.ws) / "s.jsonl", claude_lines(sid, runner.ws))
    assert run_collect(runner, "--raw") == 0
    names = [str(p.relative_to(runner.out)) for p in runner.out.rglob("*")]
    assert not any(TOKEN in n for n in names)
    assert TOKEN.encode() not in all_bytes(runner.out)
    assert [e["file"] for e in manifest_of(runner.out)["sessions"]] == [
        "sessions/claude-run-[REDACTED_github-token].jsonl"]
