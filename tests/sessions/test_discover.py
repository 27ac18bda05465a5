from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from headroom_ci.sessions.discover import local_sessions
from headroom_ci.sessions.model import Session
from testing import codex_fixtures as cx
from testing import gemini_fixtures as gm
from testing.claude_fixtures import write_jsonl


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "home"


def _rollout(cwd: str, sid: str) -> list[dict[str, object]]:
    return [cx.session_meta(ts=cx.at(0), id=sid, cwd=cwd),
            cx.response(cx.function_call("c1", "exec_command", {"cmd": "ls"}), ts=cx.at(1)),
            cx.response(cx.function_output("c1", cx.unified("a", exit_code=0)), ts=cx.at(2))]


def test_codex_rollouts_of_the_repo_and_its_subfolders(home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "web").mkdir(parents=True)
    day = home / ".codex" / "sessions" / "2026" / "11" / "21"
    write_jsonl(day / "rollout-a.jsonl", _rollout(str(repo), "a"))
    write_jsonl(day / "rollout-b.jsonl", _rollout(str(repo / "web"), "b"))
    write_jsonl(day / "rollout-c.jsonl", _rollout(str(tmp_path / "elsewhere"), "c"))
    write_jsonl(home / ".codex" / "archived_sessions" / "rollout-d.jsonl", _rollout(str(repo), "d"))
    found = sorted(s.session_id or "" for s in local_sessions(repo) if isinstance(s, Session))
    assert found == ["a", "b", "d"]


@pytest.mark.parametrize("layout", [pytest.param("sha256", id="hashed-folder"), pytest.param("slug", id="slug-folder")])
def test_gemini_project_folder(home: Path, tmp_path: Path, layout: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    tmp = home / ".gemini" / "tmp"
    if layout == "sha256":
        folder = tmp / hashlib.sha256(str(repo.resolve()).encode()).hexdigest()
    else:
        folder = tmp / "repo-1"
        folder.mkdir(parents=True)
        (folder / ".project_root").write_text(str(repo.resolve()))
    write_jsonl(folder / "chats" / "session-2026-11-21T10-00-aaaaaaaa.jsonl",
                [gm.meta("g1"), gm.user("m1", "hi", ts="2026-11-21T10:00:00Z")])
    write_jsonl(tmp / "other" / "chats" / "session-2026-11-21T10-00-bbbbbbbb.jsonl",
                [gm.meta("g2"), gm.user("m1", "hi", ts="2026-11-21T10:00:00Z")])
    (tmp / "other" / ".project_root").write_text(str(tmp_path / "elsewhere"))
    assert [s.session_id for s in local_sessions(repo) if isinstance(s, Session)] == ["g1"]


def test_nothing_there(home: Path, tmp_path: Path) -> None:
    assert list(local_sessions(tmp_path)) == []
