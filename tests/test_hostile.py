"""A hostile corpus through collect, fetch, learn and pr (issue 6): attacking archives, broken
transcripts, injected content, planted secrets and awkward context files. Every run ends in a
correct result or a clear error, writes nothing partial, and leaks no planted secret."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import subprocess
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import cast

import pytest

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import extract_zip
from headroom_ci.archive import Limits
from headroom_ci.learning.block import find_block
from headroom_ci.learning.block import MARKER_END
from headroom_ci.learning.block import MARKER_START
from headroom_ci.main import main
from headroom_ci.sessions.bundle import manifest
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Run
from testing import hostile as h
from testing.examples import add_example_runs
from testing.examples import example_files
from testing.examples import example_repo
from testing.fake_github import actions as fake_actions
from testing.fake_github import FakeGitHub
from testing.fake_github import pulls as fake_pulls
from testing.fake_github import TOKEN
from testing.gitrepo import GitFixture
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo

EXAMPLE_AGENTS = Path(__file__).resolve().parents[1] / "examples" / "repo" / "AGENTS.md"
EPOCH = "1795219200"  # 2026-11-21


@dataclass
class Step:
    code: int
    stdout: str
    stderr: str


@dataclass
class World:
    root: Path
    gh: FakeGitHub
    repo: GitFixture
    steps: dict[str, Step] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)   # every file an output, by a readable name
    pulls: list[dict[str, object]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    commit_message: str = ""
    agents_md: str = ""


def _run(name: str, argv: list[str], world: World) -> Step:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    world.steps[name] = Step(code, out.getvalue(), err.getvalue())
    return world.steps[name]


def _encoded(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


def _zip_folder(folder: Path) -> bytes:
    return fake_actions.zip_of({p.relative_to(folder).as_posix(): p.read_bytes()
                                for p in sorted(folder.rglob("*")) if p.is_file()})


def _collect(root: Path, world: World, mp: pytest.MonkeyPatch) -> bytes:
    """collect on a runner whose Claude project folder holds the hostile transcripts; the bundle zipped."""
    home, ws, temp = root / "runner-home", root / "work" / "shop" / "shop", root / "runner-temp"
    for folder in (home, ws, temp):
        folder.mkdir(parents=True)
    for var, value in {"HOME": str(home), "GITHUB_WORKSPACE": str(ws), "RUNNER_TEMP": str(temp),
                       "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "104", "GITHUB_RUN_ATTEMPT": "1",
                       "GITHUB_OUTPUT": str(root / "collect-output"),
                       "GITHUB_STEP_SUMMARY": str(root / "collect-summary.md")}.items():
        mp.setenv(var, value)
    project = home / ".claude" / "projects" / _encoded(ws)
    project.mkdir(parents=True)
    (project / "c0000000-0000-4000-8000-000000000001.jsonl").write_bytes(
        h.broken_transcript("c0000000-0000-4000-8000-000000000001", 4, root=str(ws)))
    (project / "c0000000-0000-4000-8000-000000000002.jsonl").write_bytes(
        h.dumps(h.hostile_claude("c0000000-0000-4000-8000-000000000002", 5, root=str(ws))))
    bundle = root / "bundle"
    _run("collect", ["collect", "--out", str(bundle), "--raw"], world)
    for p in sorted(bundle.rglob("*")):
        if p.is_file():
            world.files[f"bundle/{p.relative_to(bundle)}"] = p.read_bytes()
    for name in ("collect-output", "collect-summary.md"):
        if (root / name).exists():
            world.files[name] = (root / name).read_bytes()
    return _zip_folder(bundle)


ATTACKS: dict[str, bytes] = {}


def _attacks() -> dict[str, bytes]:
    if not ATTACKS:
        ATTACKS.update({
            "agent-sessions-slip": fake_actions.zip_of({"ok.jsonl": b"{}\n", "../evil.jsonl": b"{}\n"}),
            "agent-sessions-absolute": h.absolute_zip(),
            "agent-sessions-symlink": h.symlink_zip(),
            "agent-sessions-bomb": fake_actions.zip_of({"big.jsonl": b"\0" * (8 << 20)}),
            "agent-sessions-notzip": b"PK this is not a zip archive " + h.GH_TOKEN.encode(),
            "agent-sessions-empty": fake_actions.zip_of({}),
            "agent-sessions-many": h.many_files_zip(),
        })
    return ATTACKS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp, FakeGitHub() as gh:
        for var in list(os.environ):
            if var.startswith(("GITHUB_", "RUNNER_")):
                mp.delenv(var)
        for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_HOME", "XDG_DATA_HOME", "OPENAI_API_KEY"):
            mp.delenv(var, raising=False)
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        repo = make_repo(root / "git", example_repo())
        w = World(root, gh, repo)
        collected = _collect(root, w, mp)
        for var in ("GITHUB_WORKSPACE", "RUNNER_TEMP", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"):
            mp.delenv(var)
        for key, value in isolated_env(root / "git-home").items():
            mp.setenv(key, value)
        mp.setenv("GITHUB_OUTPUT", str(root / "output"))
        mp.setenv("GITHUB_STEP_SUMMARY", str(root / "summary.md"))

        fake_pulls.use_bare(gh, repo.bare)
        acts = fake_actions.of(gh)
        # an attacker's transcript rides along in a good artifact, never redacted by collect
        wf = acts.add_workflow("agent.yml")
        add_example_runs(acts, wf, [f"2026-11-{10 + day:02d}T09:00:00Z" for day in (1, 2, 3)], same_ids=True,
                         extra=lambda run_id: {f"claude/h{run_id}.jsonl": h.broken_transcript(f"h{run_id}",
                                                                                          int(run_id) - 100)})
        run = acts.add_run(wf, id=104, created_at="2026-11-14T09:00:00Z")
        acts.add_artifact(run, "agent-sessions-collected", data=collected)
        for n, (name, data) in enumerate(_attacks().items()):
            run = acts.add_run(wf, id=110 + n, created_at=f"2026-11-15T{n:02d}:00:00Z")
            acts.add_artifact(run, name, data=data)

        api = ["--github-repo", "acme/shop", "--token", TOKEN, "--api-url", gh.api_url]
        fetched, plan = root / "fetched", root / "plan.json"
        _run("fetch", ["fetch", "--out", str(fetched), "--since", "2026-11-01", *api], w)
        _run("learn", ["learn", str(fetched), "--repo-path", str(repo.work), "--plan-out", str(plan)], w)
        _run("learn-json", ["learn", str(fetched), "--repo-path", str(repo.work), "--format", "json"], w)
        _run("learn-markdown", ["learn", str(fetched), "--repo-path", str(repo.work), "--format", "markdown"], w)
        _run("pr", ["pr", "--plan", str(plan), "--repo-path", str(repo.work), *api], w)

        for p in [fetched / ".headroom-fetch-index", *sorted(fetched.glob("*/manifest.json")), plan,
                  root / "output", root / "summary.md"]:
            if p.exists():
                w.files[str(p.relative_to(root))] = p.read_bytes()
        w.pulls = fake_pulls.pulls(gh)
        w.comments = [c for pr in w.pulls for c in fake_pulls.comments(gh, int(str(pr["number"])))]
        if repo.sha("headroom/learn"):
            w.commit_message = subprocess.run(["git", "log", "-1", "--format=%B", "headroom/learn", "--"],
                                              cwd=repo.bare, capture_output=True, text=True, check=True).stdout
            w.agents_md = repo.show("headroom/learn", "AGENTS.md") or ""
        yield w


def _outputs(w: World) -> dict[str, str]:
    """Every output of the pipeline, as text, by where it came from."""
    out: dict[str, str] = {}
    for name, step in w.steps.items():
        out[f"{name} stdout"], out[f"{name} stderr"] = step.stdout, step.stderr
    for name, data in w.files.items():
        out[name] = data.decode("utf-8", errors="replace")
    for pr in w.pulls:
        out[f"pull #{pr['number']}"] = json.dumps(pr, ensure_ascii=False, default=str)
    out["comments"] = "\n".join(w.comments)
    out["commit message"], out["branch AGENTS.md"] = w.commit_message, w.agents_md
    return out


def _block(text: str) -> str:
    span = find_block(text, source="AGENTS.md")
    assert span is not None
    return text[span[0]:span[1]]


def _body(w: World) -> str:
    (pr,) = w.pulls
    return str(pr["body"])


def _plan(w: World) -> dict[str, object]:
    doc: dict[str, object] = json.loads(w.files["plan.json"])
    return doc


# -- the whole pipeline completes ------------------------------------------------------------------
def test_every_step_completed(world: World) -> None:
    assert {name: step.code for name, step in world.steps.items()} == {
        "collect": 0, "fetch": 0, "learn": 0, "learn-json": 0, "learn-markdown": 0, "pr": 0}
    assert world.steps["pr"].stdout == ("pull-request-operation: created #1 https://github.com/acme/shop/pull/1 "
                                        "(headroom/learn → main)\n")
    assert world.repo.changed("main", "headroom/learn") == ["AGENTS.md"]


@pytest.mark.parametrize("secret", h.SECRETS, ids=["ghp", "ghp-in-path", "aws-id", "aws-secret", "ssh-1", "ssh-2",
                                                    "url-password"])
def test_no_planted_secret_in_any_output(world: World, secret: str) -> None:
    outputs = _outputs(world)
    assert len(outputs) > 20  # the grep covers every step, the bundle, the plan, the outputs and the PR
    # ...and the secret really was in the corpus: in the attacker's artifact and in collect's input
    assert secret.encode() in (world.root / "fetched" / "101-1002" / "claude" / "h101.jsonl").read_bytes()
    project = next((world.root / "runner-home" / ".claude" / "projects").iterdir())
    assert all(secret.encode() in p.read_bytes() for p in project.iterdir())
    assert [name for name, text in outputs.items() if secret in text] == []


# -- archives ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "line"), [
    pytest.param("agent-sessions-slip", "failed agent-sessions-slip (run 110, agent.yml on main): member "
                 "'../evil.jsonl' would be written outside the target folder", id="zip-slip"),
    pytest.param("agent-sessions-absolute", "failed agent-sessions-absolute (run 111, agent.yml on main): member "
                 "'/tmp/headroom-evil.jsonl' would be written outside the target folder", id="absolute-path"),
    pytest.param("agent-sessions-symlink", "failed agent-sessions-symlink (run 112, agent.yml on main): member "
                 "'claude/link.jsonl' is a symbolic link", id="symlink"),
    pytest.param("agent-sessions-bomb", "failed agent-sessions-bomb (run 113, agent.yml on main): member "
                 "'big.jsonl' expands past the size or compression-ratio limit (a zip bomb?)", id="ratio-bomb"),
    pytest.param("agent-sessions-notzip", "failed agent-sessions-notzip (run 114, agent.yml on main): not a "
                 "readable zip archive (File is not a zip file)", id="not-a-zip"),
    pytest.param("agent-sessions-empty", "downloaded agent-sessions-empty (run 115, agent.yml on main) → "
                 "115-1011/, 0 files", id="empty"),
    pytest.param("agent-sessions-many", "downloaded agent-sessions-many (run 116, agent.yml on main) → "
                 "116-1012/, 10000 files", id="10000-tiny-files"),
])
def test_fetch_names_each_bad_archive(world: World, name: str, line: str) -> None:
    assert line in world.steps["fetch"].stdout.splitlines()


def test_refused_archives_leave_nothing_behind(world: World) -> None:
    fetched = world.root / "fetched"
    assert sorted(p.name for p in fetched.iterdir()) == [
        ".headroom-fetch-index", "101-1002", "102-1003", "103-1004", "104-1005", "115-1011", "116-1012"]
    assert not Path("/tmp/headroom-evil.jsonl").exists() and not (world.root / "evil.jsonl").exists()
    assert len(list((fetched / "116-1012" / "tiny").iterdir())) == 10_000
    leftovers = [p for p in world.root.rglob("*") if p.name.startswith((".extracting-", ".fetch-", ".bundle."))
                 or p.name.endswith(".tmp")]
    assert leftovers == []
    assert world.steps["fetch"].stdout.splitlines()[-1].startswith(
        "fetch: acme/shop: 11 runs, 11 artifacts: 6 downloaded, 5 failed → ")


@pytest.mark.parametrize(("members", "limits", "message"), [
    pytest.param([("big.jsonl", os.urandom(3 << 20))], Limits(max_total_bytes=2 << 20),
                 "member 'big.jsonl' expands past the size or compression-ratio limit (a zip bomb?)", id="size"),
    pytest.param([("z.jsonl", b"\0" * (2 << 20))], Limits(),
                 "member 'z.jsonl' expands past the size or compression-ratio limit (a zip bomb?)", id="ratio"),
    pytest.param([(f"{i}.jsonl", b"{}") for i in range(11)], Limits(max_files=10),
                 "11 files, more than the limit of 10", id="count"),
])
def test_extract_zip_refuses_bombs_and_writes_nothing(tmp_path: Path, members: list[tuple[str, bytes]],
                                                      limits: Limits, message: str) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(h.zip_members([(n, d) for n, d in members]))
    with pytest.raises(ArchiveError) as err:
        extract_zip(archive, tmp_path / "out", limits=limits)
    assert str(err.value) == f"{archive}: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


@pytest.mark.parametrize(("data", "reason"), [
    # not a zip at all: the format is recognized from the content, never from the name
    pytest.param(b"", "not a recognized transcript", id="empty-file"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a recognized transcript", id="png-named-zip"),
    pytest.param(h.symlink_zip(), "is a symbolic link", id="symlink"),
    pytest.param(h.absolute_zip(), "would be written outside the target folder", id="absolute"),
])
def test_learn_reads_past_a_bad_zip_argument(tmp_path: Path, data: bytes, reason: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "sessions.zip"
    bad.write_bytes(data)
    good = tmp_path / "good"
    for rel, blob in example_files().items():
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        (good / rel).write_bytes(blob)
    result = read_paths([bad, good])
    assert len(result.sessions) == 4
    assert [(s.path, reason in s.reason) for s in result.skipped] == [(str(bad), True)]


# -- transcripts -------------------------------------------------------------------------------------
def test_collect_skips_broken_lines_and_keeps_the_sessions(world: World) -> None:
    manifest = json.loads(world.files["bundle/manifest.json"])
    assert sorted((s["agent"], s["session_id"]) for s in manifest["sessions"]) == [
        ("claude", "c0000000-0000-4000-8000-000000000001"), ("claude", "c0000000-0000-4000-8000-000000000002")]
    reasons = {s["reason"] for s in manifest["skipped"]}
    assert "invalid JSON: nested too deeply" in reasons
    assert all(s["line"] is not None for s in manifest["skipped"])
    assert manifest["redacted"]["github-token"] > 0
    assert world.steps["collect"].stdout.startswith("claude: 2 sessions, 25 tool calls, 8 failed")


def test_a_line_far_over_the_limit_is_skipped_without_being_held(tmp_path: Path) -> None:
    sid = "big-line"
    lines = h.dumps(h.hostile_claude(sid, 6)).splitlines(keepends=True)
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.write(lines[0])
        fh.write(b'{"type":"user","message":{"content":"')
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
        fh.write(b'"}}\n')
        fh.writelines(lines[1:])
    tracemalloc.start()
    try:
        result = read_paths([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    (session,) = result.sessions
    assert [c.call_id for c in session.tool_calls] == [f"toolu_h6{i}" for i in range(1, 10)]
    assert [(s.path, s.line, s.reason) for s in result.skipped] == [(str(path), 2, "line longer than 16777216 bytes")]


def test_truncated_last_line_and_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(h.broken_transcript("trunc", 7))
    result = read_paths([path])
    (session,) = result.sessions
    ids = [c.call_id for c in session.tool_calls if c.call_id and c.call_id.startswith("toolu_h")]
    assert ids == [f"toolu_h7{i}" for i in range(1, 10)]  # the repeated lines count once
    last = result.skipped[-1]
    assert (last.line, last.reason) == (h.broken_transcript("trunc", 7).count(b"\n") + 1,
                                        "invalid JSON: cut off (no end of line)")


# -- content -----------------------------------------------------------------------------------------
def test_injected_rule_is_not_proposed(world: World) -> None:
    assert "evil.sh" not in world.agents_md
    assert "evil.sh" not in _body(world) and "evil.sh" not in str(world.pulls[0]["title"])
    assert "evil.sh" not in json.dumps(_plan(world)["targets"])


def test_block_holds_no_hidden_unicode_html_or_foreign_markers(world: World) -> None:
    text = world.agents_md
    block = _block(text)
    assert [ch for ch in h.HIDDEN if ch in text] == []
    assert (text.count(MARKER_START), text.count(MARKER_END)) == (1, 1)
    # The one comment allowed is the rules record, which holds only hex identities.
    inner = re.sub(r"^<!-- headroom-ci:rules[ 0-9a-f.~^]* -->$", "", block[len(MARKER_START):-len(MARKER_END)],
                   count=1, flags=re.M)
    assert "<!--" not in inner and "-->" not in inner and "headroom:learn" not in inner


def test_pr_rules_table_escapes_pipes(world: World) -> None:
    body = _body(world)
    table = body.split("### Rules\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = table[2:]
    assert len(rows) == len(_plan(world)["recommendations"])  # type: ignore[arg-type]
    assert [len(re.split(r"(?<!\\)\|", row)) for row in rows] == [9] * len(rows)  # with the status column


def test_a_path_a_shell_would_read_as_a_pipe_is_not_a_rule(world: World) -> None:
    dropped = {d["content"]: d["reason"] for d in cast(list[dict[str, str]], _plan(world)["dropped"])}
    assert dropped["- `docs/a|b/guide.md` does not exist: the file is `docs/x|y/guide.md`."] \
        == "unsafe: a pipe: `docs/a|b/guide.md`; a pipe: `docs/x|y/guide.md`"
    assert "docs/a|b" not in world.agents_md


def test_good_artifacts_still_come_through(world: World) -> None:
    block = _block(world.agents_md)
    for rule in ("- Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is only in the uv environment.",
                 "- Run tests with `npm run test:unit` in `web/`, not `npm test`: there is no `test` script.",
                 "- `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py`."):
        assert rule in block
    assert world.agents_md.startswith(EXAMPLE_AGENTS.read_text())
    stats = _plan(world)["stats"]
    assert isinstance(stats, dict) and stats["sessions"] == 9


def test_no_rule_names_a_redacted_value(world: World) -> None:
    assert "[REDACTED:" not in _block(world.agents_md)


# -- context files -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sessions")
    for rel, data in example_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _learn_apply(sessions: Path, repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        code = main(["learn", str(sessions), "--repo-path", str(repo), "--apply"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("content", "line"), [
    pytest.param(f"# x\n\n{MARKER_START}\n- a rule\n", 3, id="lone-start"),
    pytest.param(f"# x\n{MARKER_END}\n", 2, id="lone-end"),
    pytest.param(f"# x\n{MARKER_START}\n- a\n{MARKER_END}\n\n{MARKER_START}\n- b\n{MARKER_END}\n", 6, id="two-blocks"),
    pytest.param(f"# x\r\n{MARKER_START}\r\n{MARKER_START}\r\n{MARKER_END}\r\n", 3, id="nested-start-crlf"),
])
def test_malformed_block_stops_with_file_and_line(tmp_path: Path, sessions: Path, content: str, line: int,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "AGENTS.md").write_bytes(content.encode())
    code, out, err = _learn_apply(sessions, tmp_path, capsys)
    assert code == 1
    assert re.search(rf"AGENTS\.md:{line}:", out + err), out + err
    assert (tmp_path / "AGENTS.md").read_bytes() == content.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AGENTS.md"]


FENCED = f"# x\n\n```md\n{MARKER_START}\n- example\n{MARKER_END}\n```\n\n~~~\n{MARKER_END}\n~~~\n"


@pytest.mark.parametrize(("original", "newline"), [
    pytest.param(FENCED, "\n", id="markers-in-fences"),
    pytest.param(FENCED.replace("\n", "\r\n"), "\r\n", id="fences-crlf"),
    pytest.param("\ufeff# shop\r\n\r\nRules.\r\n", "\r\n", id="bom-crlf"),
    pytest.param("\ufeff# shop", "\n", id="bom-no-final-newline"),
])
def test_block_is_appended_and_bytes_outside_are_kept(tmp_path: Path, sessions: Path, original: str, newline: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    agents = tmp_path / "AGENTS.md"
    agents.write_bytes(original.encode())
    code, out, err = _learn_apply(sessions, tmp_path, capsys)
    assert (code, err) == (0, "")
    written = agents.read_bytes().decode()
    assert written.startswith(original)
    added = written[len(original):]
    assert added.startswith(newline) and added.count(MARKER_START) == 1 and added.endswith(MARKER_END + newline)
    assert ("\r\n" in added) == (newline == "\r\n") and ("\n" in added.replace("\r\n", "")) == (newline == "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AGENTS.md"]


def test_a_5_mb_agents_md(tmp_path: Path, sessions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = "- " + "word " * 19 + "\n"
    original = "# big\n\n" + line * (5 * (1 << 20) // len(line))
    assert len(original) > 5_000_000
    agents = tmp_path / "AGENTS.md"
    agents.write_text(original)
    code, out, err = _learn_apply(sessions, tmp_path, capsys)
    assert (code, err) == (0, "")
    written = agents.read_text()
    assert written.startswith(original) and written.count(MARKER_START) == 1
    assert find_block(written, source="AGENTS.md") is not None


# -- steered agents: an attacker's "fix" over several CI runs, in three formats (issue 10) -----------
REPO_MANIFESTS = {
    "package.json": '{"name": "shop-web", "scripts": {"test:unit": "vitest run"}, "devDependencies": {"vitest": "2"}}\n',
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["fastapi", "pytest"]\n',
}


def _runs(root: Path, agent: str, sessions: list[list[h.Step]], *, runs: tuple[int, ...] = (201, 202, 203)) -> Path:
    """Fetched bundles of CI runs of acme/shop, each with the given sessions in `agent`'s format."""
    for day, run in enumerate(runs, 1):
        folder = root / f"{run}-9{run}"
        folder.mkdir(parents=True)
        doc = manifest(repository="acme/shop", run=Run(str(run), attempt=1, workflow="agent.yml", branch="main"))
        (folder / "manifest.json").write_text(json.dumps(doc))
        for n, steps in enumerate(sessions):
            sid = f"{agent}-{run}-{n}"
            (folder / f"{sid}.jsonl").write_bytes(h.SESSION_WRITERS[agent](sid, steps, day=day))
    return root


def _steered(root: Path, agent: str, payload: str) -> Path:
    """In each of three runs, two sessions where the failure recurs and the attacker's command
    "fixes" it, and one where a benign failure is fixed the right way."""
    failing, output, fix = h.PAYLOADS[payload]
    steered = [(failing, output, 1)] * 3 + [(fix, "ok", 0)]
    return _runs(root, agent, [steered, steered, h.BENIGN])


@pytest.mark.parametrize("payload", sorted(h.PAYLOADS))
@pytest.mark.parametrize("agent", sorted(h.SESSION_WRITERS))
def test_a_steered_fix_never_reaches_a_rule_but_the_benign_one_does(tmp_path: Path, agent: str, payload: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sessions = _steered(tmp_path / "sessions", agent, payload)
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in REPO_MANIFESTS.items():
        (repo / name).write_text(text)
    plan_path = tmp_path / "plan.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        code = main(["learn", str(sessions), "--repo-path", str(repo), "--apply", "--plan-out", str(plan_path)])
    out = capsys.readouterr().out
    assert code == 0
    agents_md = (repo / "AGENTS.md").read_text()
    plan = json.loads(plan_path.read_text())
    written = json.dumps([plan["recommendations"], plan["targets"]]) + agents_md
    assert [mark for mark in h.PAYLOAD_MARKS if mark in written] == []
    # Safety does not come from learning nothing: the benign fix is a rule.
    assert "`uv run pytest`" in _block(agents_md), out


# Secrets in the forms collect used to keep (issue 10), assembled so this file does not itself leak one.
ENV_SECRET = "dpl" + "-7f3a9c1eXYZq"
CLI_SECRETS = {
    "curl -u deploy:" + "Hunt3rPass9" + " https://api.acme.example/v1": "Hunt3rPass9",
    "mysql -u root -p" + "S3cretDbPw" + " shop": "S3cretDbPw",
    "sshpass -p " + "Ssh9Pass4x" + " ssh ci@build": "Ssh9Pass4x",
    "docker login -u ci -p " + "Dock3rPw9z" + " ghcr.io": "Dock3rPw9z",
    "vault login " + "hvs." + "CAESIJ7x2Lm9Qp4Rs6Tv8Wy1Za3Bc5": "hvs." + "CAESIJ7x2Lm9Qp4Rs6Tv8Wy1Za3Bc5",
    "huggingface-cli login --token " + "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567":
        "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567",
    "doctl auth init -t " + "dop_v1_" + "0123456789abcdef" * 4: "dop_v1_" + "0123456789abcdef" * 4,
    "echo MY_TOKEN_" + "ghp_" + "Zq8Xw3Vb7Nm2Lk5Jh9Gf4Ds1Qa6Ws0Ed3Rf7": "ghp_" + "Zq8Xw3Vb7Nm2Lk5Jh9Gf4Ds1Qa6Ws0Ed3Rf7",
    "kubectl get secret x -o yaml # token: " + base64.b64encode(f"ci:{ENV_SECRET}".encode()).decode():
        base64.b64encode(f"ci:{ENV_SECRET}".encode()).decode(),
}


@pytest.mark.parametrize("agent", sorted(h.SESSION_WRITERS))
def test_collect_redacts_command_line_passwords_and_encoded_job_secrets(tmp_path: Path, agent: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "work" / "shop" / "shop"
    ws.mkdir(parents=True)
    for var in [v for v in os.environ if v.startswith(("GITHUB_", "RUNNER_"))]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ws))
    monkeypatch.setenv("DEPLOY_TOKEN", ENV_SECRET)
    steps = [(cmd, f"ran {cmd}", 0) for cmd in CLI_SECRETS]
    transcript = tmp_path / "in" / f"{agent}.jsonl"
    transcript.parent.mkdir()
    transcript.write_bytes(h.SESSION_WRITERS[agent](f"{agent}-s1", steps, day=3, root=str(ws)))
    bundle = tmp_path / "bundle"
    assert main(["collect", "--out", str(bundle), "--raw", str(transcript)]) == 0
    data = b"".join(p.read_bytes() for p in bundle.rglob("*") if p.is_file())
    assert data.count(b"[REDACTED:") >= len(CLI_SECRETS)
    assert [s for s in CLI_SECRETS.values() if s.encode() in data] == []
    assert ENV_SECRET.encode() not in data


@pytest.mark.parametrize("agent", sorted(h.SESSION_WRITERS))
def test_workflow_commands_from_transcripts_never_run_in_the_job_log(tmp_path: Path, agent: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "::stop-commands::x\n::add-mask::hunter2\n##[set-output name=x]y\n::error::pwned"
    steps = [("python3 -m pytest", f"ModuleNotFoundError: No module named 'fastapi'\n{hostile}", 1),
             ("uv run pytest", "3 passed", 0)]
    sessions = _runs(tmp_path / "sessions", agent, [steps, steps])
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(REPO_MANIFESTS["pyproject.toml"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GITHUB_ACTIONS", "true")
        mp.delenv("GITHUB_OUTPUT", raising=False)
        mp.delenv("GITHUB_STEP_SUMMARY", raising=False)
        assert main(["learn", str(sessions), "--repo-path", str(repo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Everything printed, evidence from the transcripts included, sits inside one fence.
    assert any("No module named" in line for line in lines[1:-1])
    fence = lines[0].removeprefix("::stop-commands::")
    assert lines[0] != fence and lines[-1] == f"::{fence}::"
    assert [line for line in lines[1:-1] if line.startswith("##[")] == []
