from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from headroom_ci.main import main
from testing.examples import example_files
from testing.gitrepo import git

EXAMPLE_AGENTS = Path(__file__).resolve().parents[2] / "examples" / "repo" / "AGENTS.md"
BLOCK = """\
<!-- headroom:learn:start -->
## Headroom Learned Patterns
*Learned by `headroom-ci learn`, last changed on 2026-11-21: edit or delete rules freely, your changes are kept*
<!-- headroom-ci:rules c8508618d90c0c0f.7789d7.c67e81 7c44f5d9df0cd819.90fbeb.e12403 c04175d22367f213.8a2a31.3e2200 96906ef5e6d52c3c.5dc132.2618c8 -->

### Environment
*~61 tokens/session saved*
- Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is only in the uv environment.

### Command Patterns
*~164 tokens/session saved*
- Run tests with `npm run test:unit` in `web/`, not `npm test`: there is no `test` script.
- Lint with `uv run ruff check`, not `make lint`: there is no `lint` target; do not retry it.

### File Path Corrections
*~38 tokens/session saved*
- `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py`.

<!-- headroom:learn:end -->
"""


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795219200")  # 2026-11-21


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    sessions = tmp_path / "sessions"
    for rel, data in example_files().items():
        (sessions / rel).parent.mkdir(parents=True, exist_ok=True)
        (sessions / rel).write_bytes(data)
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(EXAMPLE_AGENTS, repo / "AGENTS.md")
    # The file the path rule names as the right one: without it the rule would be retired.
    (repo / "services/api/app/models").mkdir(parents=True)
    (repo / "services/api/app/models/user.py").write_text("")
    return sessions, repo


def _check_out(repo: Path) -> None:
    """The workspace as a clone's checkout (only one says what the repository lacks)."""
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "seed")


def test_dry_run_prints_rules_and_diff_and_writes_nothing(workspace: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    before = (repo / "AGENTS.md").read_bytes()
    assert main(["learn", str(sessions), "--repo-path", str(repo)]) == 0
    out = capsys.readouterr().out
    assert (repo / "AGENTS.md").read_bytes() == before
    assert out.startswith("headroom-ci learn: 4 sessions, 28 tool calls, 14 failures (50.0%), "
                          "~754 tokens spent on failed calls\n\n4 rules:\n")
    added = [line[1:] for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert "\n".join(added) + "\n" == "\n" + BLOCK
    assert out.endswith("Dry run: nothing written (--apply writes the change).\n")


def test_apply_twice_changes_the_file_once(workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    agents = repo / "AGENTS.md"
    original = agents.read_text()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    assert agents.read_text() == original + "\n" + BLOCK
    stat = agents.stat()
    capsys.readouterr()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    assert agents.read_text() == original + "\n" + BLOCK
    assert agents.stat().st_mtime_ns == stat.st_mtime_ns
    assert "AGENTS.md: unchanged" in capsys.readouterr().out


def test_crlf_and_bom_survive(workspace: tuple[Path, Path]) -> None:
    sessions, repo = workspace
    agents = repo / "AGENTS.md"
    original = "\ufeff# shop\r\n\r\nRules.\r\n"
    agents.write_bytes(original.encode())
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    written = agents.read_bytes().decode()
    assert written.startswith(original)
    assert written[len(original):] == "\r\n" + BLOCK.replace("\n", "\r\n")


def test_plan_out(workspace: tuple[Path, Path], tmp_path: Path) -> None:
    sessions, repo = workspace
    plan_path = tmp_path / "plan.json"
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--plan-out", str(plan_path),
                 "--format", "json"]) == 0
    plan = json.loads(plan_path.read_text())
    assert (plan["format"], plan["version"]) == ("headroom-ci-plan", 1)
    (target,) = plan["targets"]
    original = EXAMPLE_AGENTS.read_text()
    assert target["path"] == "AGENTS.md" and target["role"] == "context"
    assert target["new_content"] == original + "\n" + BLOCK
    assert target["base_sha256"] == hashlib.sha256(original.encode()).hexdigest()
    assert [(r["section"], r["fingerprint"]) for r in plan["recommendations"]] == [
        ("Environment", "c8508618d90c0c0f"), ("Command Patterns", "7c44f5d9df0cd819"),
        ("File Path Corrections", "96906ef5e6d52c3c"), ("Command Patterns", "c04175d22367f213")]
    assert plan["stats"] == {"sessions": 4, "tool_calls": 28, "failures": 14, "failure_rate": 0.5,
                             "wasted_tokens": 754, "skipped": 0}
    runs = {e["run_id"]: e["run_url"] for f in plan["findings"] for e in f["evidence"]}
    assert runs == {r: f"https://github.com/acme/shop/actions/runs/{r}" for r in ("101", "102", "103")}
    assert all(f["evidence"] for f in plan["findings"])


def test_budget_drops_the_lowest_ranked_rules(workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--max-block-tokens", "120"]) == 0
    out = capsys.readouterr().out
    assert "1 rules:" in out
    assert out.count("reason: over the block budget of 120 tokens") == 3


def test_malformed_block_stops_the_run(workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    agents = repo / "AGENTS.md"
    agents.write_text("# shop\n\n<!-- headroom:learn:start -->\n## Headroom Learned Patterns\n")
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("headroom-ci: error: AGENTS.md:3: ")
    assert agents.read_text() == "# shop\n\n<!-- headroom:learn:start -->\n## Headroom Learned Patterns\n"


def test_no_local_sessions_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    assert main(["learn", "--repo-path", str(tmp_path)]) == 1
    home = tmp_path / "home"
    assert capsys.readouterr().err == (f"headroom-ci: error: no agent sessions found for {tmp_path.resolve()} "
                                       f"(looked in claude {home}/.claude, gemini {home}/.gemini, codex {home}/.codex, "
                                       f"opencode {home}/.local/share/opencode): pass transcript files or folders\n")


def test_learn_from_a_subfolder_reads_the_git_repository(workspace: tuple[Path, Path],
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    (repo / ".git").mkdir()
    monkeypatch.chdir(repo / "services/api")
    assert main(["learn", str(sessions), "--apply"]) == 0
    assert (repo / "AGENTS.md").read_text() == EXAMPLE_AGENTS.read_text() + "\n" + BLOCK
    assert not (repo / "services/api/AGENTS.md").exists()


def test_local_claude_sessions_of_the_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from testing.examples import claude_run
    from testing.claude_fixtures import write_jsonl
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    # Claude names the folder after the cwd, every non-alphanumeric character a dash.
    folder = tmp_path / "claude" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(repo.resolve()))
    other = tmp_path / "claude" / "projects" / "-somewhere-else"
    for i, sid in enumerate(["a1", "b2"]):
        records = [dict(r, cwd=str(repo.resolve())) for r in claude_run(sid, i + 1)]
        write_jsonl(folder / f"{sid}.jsonl", records)
        write_jsonl(other / f"{sid}x.jsonl", claude_run(sid + "x", i + 1))
    assert main(["learn", "--repo-path", str(repo)]) == 0
    assert capsys.readouterr().out.startswith("headroom-ci learn: 2 sessions, 14 tool calls, 6 failures")


def test_markdown_format(workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    runs = ", ".join(f"[{r}](https://github.com/acme/shop/actions/runs/{r})" for r in ("103", "102", "101"))
    assert out.splitlines()[:7] == [
        "## headroom-ci learn",
        "",
        "4 sessions, 28 tool calls, 14 failures (50.0%), ~754 tokens spent on failed calls",
        "",
        "| section | rule | sessions | runs | tokens/session | CI runs |",
        "|---|---|---|---|---|---|",
        "| Environment | Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is only in the uv "
        f"environment. | 4 | 3 | 61 | {runs} |",
    ]
    assert "```diff\n--- a/AGENTS.md\n+++ b/AGENTS.md\n" in out


def test_rejections_go_to_the_memory_file_only_when_one_is_given(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from testing.builders import ROOT
    from testing.claude_fixtures import assistant_lines, tool_result, tool_use, user_line, write_jsonl
    for sid in ("a", "b"):
        write_jsonl(tmp_path / "s" / f"{sid}.jsonl", [
            *assistant_lines(f"m{sid}", [tool_use(f"t{sid}", "Bash", command="git push --force")],
                             ts="2026-11-21T10:00:00Z", session_id=sid, cwd=ROOT),
            user_line([tool_result(f"t{sid}", "The user doesn't want to proceed with this tool use.", is_error=True)],
                      ts="2026-11-21T10:00:01Z", session_id=sid, cwd=ROOT)])
    repo = tmp_path / "repo"
    repo.mkdir()
    assert main(["learn", str(tmp_path / "s"), "--repo-path", str(repo), "--apply"]) == 0
    assert "reason: no memory file given" in capsys.readouterr().out
    assert not (repo / "AGENTS.md").exists()
    assert main(["learn", str(tmp_path / "s"), "--repo-path", str(repo), "--apply",
                 "--memory-target", "MEMORY.md"]) == 0
    assert not (repo / "AGENTS.md").exists()
    assert (repo / "MEMORY.md").read_text().splitlines()[5:8] == [
        "### User Preferences", "*~27 tokens/session saved*",
        "- Ask before running `git push`: the user has refused it."]


def test_outputs_and_summary_in_actions(workspace: tuple[Path, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--plan-out", str(tmp_path / "plan.json")]) == 0
    found = re.findall(r"^(\S+)<<(ghadelimiter_\w+)\n(.*?)\n\2$", (tmp_path / "output").read_text(), re.M | re.S)
    assert [(name, value) for name, _, value in found] == [
        ("sessions", "4"), ("failures", "14"), ("recommendations", "4"), ("plan-path", str(tmp_path / "plan.json"))]
    assert (tmp_path / "summary.md").read_text().startswith("## headroom-ci learn\n\n4 sessions, 28 tool calls")
    capsys.readouterr()


def test_a_deleted_rule_is_held_back_unless_include_rejected(workspace: tuple[Path, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    agents = repo / "AGENTS.md"
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    lint = next(line for line in agents.read_text().splitlines() if line.startswith("- Lint with"))
    agents.write_text(agents.read_text().replace(lint + "\n", ""))
    edited = agents.read_bytes()
    capsys.readouterr()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    out = capsys.readouterr().out
    assert agents.read_bytes() == edited
    assert f"  {lint}\n    reason: removed from AGENTS.md on the base branch: not proposed again " \
           "(--include-rejected proposes it)\n" in out
    assert "AGENTS.md: unchanged" in out
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply", "--include-rejected"]) == 0
    assert lint in agents.read_text()
    assert f"AGENTS.md: added: {lint.removeprefix('- ')}" in capsys.readouterr().out


def test_a_rule_the_repository_contradicts_is_retired_with_its_reason(workspace: tuple[Path, Path],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    _check_out(repo)
    agents = repo / "AGENTS.md"
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    path_rule = next(line for line in agents.read_text().splitlines() if "does not exist" in line)
    (repo / "services/api/app/models/user.py").unlink()
    capsys.readouterr()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply", "--plan-out", str(repo / "plan.json")]) == 0
    out = capsys.readouterr().out
    assert path_rule not in agents.read_text()
    assert (f"AGENTS.md: retired: {path_rule.removeprefix('- ')} (because `services/api/app/models/user.py` no "
            "longer exists)") in out
    plan = json.loads((repo / "plan.json").read_text())
    assert [(c["status"], c["reason"]) for c in plan["changes"] if c["status"] != "unchanged"] == [
        ("retired", "`services/api/app/models/user.py` no longer exists")]
    assert [r["status"] for r in plan["rules_in_effect"]] == ["no-data"] * 4  # not committed: no date, no figures
    # Its failure is still in the sessions, but it is not proposed again while the repository says no.
    written = agents.read_bytes()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    assert agents.read_bytes() == written
    assert (f"  {path_rule}\n    reason: retired, and the repository still contradicts it: "
            "`services/api/app/models/user.py` no longer exists\n") in capsys.readouterr().out
    # Once the file is back, the rule is proposed again.
    (repo / "services/api/app/models/user.py").write_text("")
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    assert path_rule in agents.read_text()


def test_a_rule_the_repository_already_contradicts_is_not_added(workspace: tuple[Path, Path],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    _check_out(repo)
    (repo / "services/api/app/models/user.py").unlink()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    out = capsys.readouterr().out
    assert "does not exist" not in (repo / "AGENTS.md").read_text()
    assert ("  - `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py`.\n"
            "    reason: the repository contradicts it: `services/api/app/models/user.py` no longer exists\n") in out
    written = (repo / "AGENTS.md").read_bytes()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    assert (repo / "AGENTS.md").read_bytes() == written  # and nothing flips on the next run


def test_a_folder_that_is_no_checkout_contradicts_nothing(tmp_path: Path, workspace: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # Not a git checkout (a learn job without actions/checkout; gitops.is_full_checkout says which are):
    # no facts, so a rule is neither kept out nor retired for a path the folder lacks.
    sessions, _ = workspace
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "AGENTS.md").write_text("# shop\n")
    for _ in range(2):
        assert main(["learn", str(sessions), "--repo-path", str(bare), "--apply"]) == 0
    out = capsys.readouterr().out
    assert "the file is `services/api/app/models/user.py`" in (bare / "AGENTS.md").read_text()
    assert "contradicts" not in out and "retired" not in out


def test_the_config_file_sets_the_lifecycle_options(tmp_path: Path) -> None:
    from headroom_ci import config
    from headroom_ci.main import _parser
    (tmp_path / config.DEFAULT_PATH).parent.mkdir(parents=True)
    (tmp_path / config.DEFAULT_PATH).write_text("retire-after: 45\ninclude-rejected: true\n")
    argv = ["learn", "--repo-path", str(tmp_path)]
    parser = _parser()
    args = config.reparse(parser, parser.parse_args(argv), argv, env={})
    assert (args.retire_after, args.include_rejected) == (45, True)


def test_apply_through_a_symlinked_context_file_writes_the_file_it_names(
        workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    (repo / "AGENTS.md").rename(repo / "CLAUDE.md")
    (repo / "AGENTS.md").symlink_to("CLAUDE.md")
    original = (repo / "CLAUDE.md").read_text()
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 0
    assert (repo / "AGENTS.md").is_symlink() and str((repo / "AGENTS.md").readlink()) == "CLAUDE.md"
    assert (repo / "CLAUDE.md").read_text() == original + "\n" + BLOCK
    out = capsys.readouterr().out
    assert "--- a/CLAUDE.md" in out and out.endswith("\nWritten: CLAUDE.md.\n")


@pytest.mark.parametrize("target, link, expected", [
    pytest.param("../outside.md", None, "--target ../outside.md: outside the repository {repo}: "
                 "name a file inside it", id="parent"),
    pytest.param("/etc/passwd", None, "--target /etc/passwd: outside the repository {repo}: name a file inside it",
                 id="absolute"),
    pytest.param(None, "../outside.md", "AGENTS.md: outside the repository {repo} (a link to {outside}): "
                 "name a file inside it", id="default-links-out"),
    pytest.param(None, "AGENTS.md", "AGENTS.md: a link in a loop of links: point it at a file",
                 id="a-link-to-itself"),
    pytest.param("GEMINI.md", "fifo", "{repo}/GEMINI.md: cannot read: not a regular file", id="a-fifo"),
    pytest.param("docs", None, "--target docs: is a folder: name a markdown file such as docs/AGENTS.md",
                 id="folder"),
])
def test_a_target_outside_the_repository_is_refused_before_reading(
        workspace: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        target: str | None, link: str | None, expected: str) -> None:
    sessions, repo = workspace
    outside = tmp_path / "outside.md"
    outside.write_text("# outside\n")
    (repo / "docs").mkdir()
    if link == "fifo":
        os.mkfifo(repo / "GEMINI.md")  # reading it would wait for a writer forever
    elif link:
        (repo / "AGENTS.md").unlink()
        (repo / "AGENTS.md").symlink_to(link)
    args = ["learn", str(sessions), "--repo-path", str(repo), "--apply"] + (["--target", target] if target else [])
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", "headroom-ci: error: " + expected.format(repo=repo.resolve(), outside=outside.resolve())
                          + "\n")
    assert outside.read_text() == "# outside\n"


def test_plan_out_says_where_the_plan_went(workspace: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    plan_path = tmp_path / "plan.json"
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--plan-out", str(plan_path)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\nDry run: the context file is unchanged (--apply writes the change); "
                        f"`headroom-ci pr --plan {plan_path}` proposes it.\nPlan written to {plan_path}.\n")
    assert "nothing written" not in out and plan_path.is_file()


@pytest.mark.parametrize("data, expected", [
    pytest.param(b"# shop\n\ncaf\xe9\n", "AGENTS.md:3:4: byte 0xe9 is not valid UTF-8: save the file as UTF-8",
                 id="latin-1"),
    pytest.param("# shop\n\ncafé\n".encode("utf-16"), "AGENTS.md: UTF-16 text, not UTF-8: save the file as UTF-8",
                 id="utf-16"),
    pytest.param("# shop\n".encode("utf-16-le"), "AGENTS.md: UTF-16 text, not UTF-8: save the file as UTF-8",
                 id="utf-16-without-bom-valid-utf8"),
    pytest.param(b"# shop\n" + b"x" * 70 + b"\nab\x00c\n", "AGENTS.md:3:3: a NUL byte: not a text file: save the file "
                 "as UTF-8", id="a-nul-byte"),
])
def test_a_context_file_that_is_not_utf8_is_named_precisely(workspace: tuple[Path, Path], data: bytes,
                                                            expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    (repo / "AGENTS.md").write_bytes(data)
    assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply"]) == 1
    assert capsys.readouterr().err == f"headroom-ci: error: {repo.resolve()}/{expected}\n"
    assert (repo / "AGENTS.md").read_bytes() == data


def test_a_github_output_that_cannot_be_written_is_an_error_line(workspace: tuple[Path, Path], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sessions, repo = workspace
    missing = tmp_path / "no-such-folder" / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(missing))
    assert main(["learn", str(sessions), "--repo-path", str(repo)]) == 1
    assert capsys.readouterr().err == (f"headroom-ci: error: GITHUB_OUTPUT {missing}: cannot write there "
                                       f"(no such folder {missing.parent}): inside GitHub Actions the runner sets "
                                       "it; elsewhere unset GITHUB_OUTPUT\n")


@pytest.mark.parametrize("umask, mode", [pytest.param(0o022, 0o644, id="022"), pytest.param(0o002, 0o664, id="002")])
def test_new_files_get_the_umasks_mode(workspace: tuple[Path, Path], tmp_path: Path, umask: int, mode: int) -> None:
    import os
    sessions, repo = workspace
    (repo / "AGENTS.md").unlink()
    old = os.umask(umask)
    try:
        assert main(["learn", str(sessions), "--repo-path", str(repo), "--apply",
                     "--plan-out", str(tmp_path / "plan.json")]) == 0
    finally:
        os.umask(old)
    assert [(repo / "AGENTS.md").stat().st_mode & 0o777, (tmp_path / "plan.json").stat().st_mode & 0o777] == [mode] * 2
