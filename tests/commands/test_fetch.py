from __future__ import annotations

import argparse
import io
import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.commands.fetch import add_parser
from headroom_ci.commands.fetch import DiskBudget
from headroom_ci.commands.fetch import fetch
from headroom_ci.commands.fetch import FetchResult
from headroom_ci.commands.fetch import FetchSettings
from headroom_ci.commands.fetch import from_args
from headroom_ci.commands.fetch import INDEX
from headroom_ci.commands.fetch import index_text
from headroom_ci.commands.fetch import IndexEntry
from headroom_ci.commands.fetch import parse_index
from headroom_ci.commands.fetch import plan
from headroom_ci.errors import UsageError
from headroom_ci.github import artifacts as artifacts_module
from headroom_ci.github.artifacts import ArtifactInfo
from headroom_ci.github.artifacts import Query
from headroom_ci.github.artifacts import RunInfo
from headroom_ci.github.client import GitHubError
from headroom_ci.github.client import GitHubSettings
from headroom_ci.github.client import RateLimitWaitError
from headroom_ci.sessions.bundle import manifest
from headroom_ci.sessions.load import read_paths
from headroom_ci.sessions.model import Run
from testing.examples import example_files
from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN
from testing.fake_github import actions as fake_actions
from testing.fake_github.actions import zip_of

EXAMPLES = example_files()
CLAUDE_A, CLAUDE_B, CODEX, GEMINI = (next(k for k in EXAMPLES if k.startswith(p)) for p in (
    "run-101/claude/", "run-102/claude/", "run-102/codex/", "run-103/gemini/"))
COLLECTED = manifest(repository="acme/shop", run=Run("501", workflow="Agent", attempt=1),
                     extra={"collector": "headroom-ci collect"})
SLIP = "member '../evil.jsonl' would be written outside the target folder"
BOMB = "member 'big.jsonl' expands past the size or compression-ratio limit (a zip bomb?)"
NOW = datetime(2026, 11, 8, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub(per_page_max=2) as fake:  # one server per module, reset per test
        yield fake


@pytest.fixture
def gh(server: FakeGitHub) -> FakeGitHub:
    """Eight runs of two workflows, listed two per page, with good, expired, gone and unsafe artifacts."""
    acts = fake_actions.of(server.reset())
    agent = acts.add_workflow("agent.yml", id=11)
    nightly = acts.add_workflow("nightly.yml", id=12)
    runs = {n: acts.add_run(wf, id=500 + n, created_at=f"2026-11-0{n}T08:00:00Z", branch=branch, conclusion=c,
                            attempt=2 if n == 8 else 1)
            for n, wf, branch, c in [(1, agent, "main", "success"), (2, agent, "main", "success"),
                                     (3, nightly, "main", "success"), (4, agent, "dev", "success"),
                                     (5, agent, "main", "success"), (6, agent, "main", "failure"),
                                     (7, nightly, "main", "success"), (8, agent, "main", "success")]}
    acts.add_artifact(runs[1], "agent-sessions-claude", id=601, data=zip_of(
        {"manifest.json": json.dumps(COLLECTED).encode(), "claude/a.jsonl": EXAMPLES[CLAUDE_A]}))
    acts.add_artifact(runs[1], "coverage", id=602, data=zip_of({"index.html": b"<html>"}))
    acts.add_artifact(runs[2], "agent-sessions-codex", id=603, data=zip_of({"codex/rollout.jsonl": EXAMPLES[CODEX]}))
    acts.add_artifact(runs[3], "agent-sessions-old", id=604, data=b"", expired=True)
    acts.add_artifact(runs[4], "agent-sessions-gone", id=605, data=zip_of({"x.jsonl": b"{}\n"}))
    acts.add_artifact(runs[5], "agent-sessions-bomb", id=606, data=zip_of({"big.jsonl": b"\0" * (4 << 20)}))
    acts.add_artifact(runs[6], "agent-sessions-slip", id=607,
                      data=zip_of({"ok.jsonl": b"{}\n", "../evil.jsonl": EXAMPLES[CLAUDE_B]}))
    acts.add_artifact(runs[7], "agent-sessions-gemini", id=608, data=zip_of({"gemini/s.jsonl": EXAMPLES[GEMINI]}))
    acts.add_artifact(runs[8], "agent-sessions-claude2", id=609, data=zip_of({"claude/b.jsonl": EXAMPLES[CLAUDE_B]}))
    # Listed as live, gone by the time it is downloaded.
    server.fail("GET", r"/actions/artifacts/605/zip$", status=410, body={"message": "Artifact has expired"})
    return server


def _settings(gh: FakeGitHub, out: Path, **query: object) -> FetchSettings:
    return FetchSettings(github=GitHubSettings(gh.full_name, TOKEN, gh.api_url), out=out,
                         query=Query(**query), per_page=2)  # type: ignore[arg-type]


def _fetch(gh: FakeGitHub, out: Path, env: dict[str, str] | None = None, **query: object) -> tuple[int, list[str]]:
    buf = io.StringIO()
    code = fetch(settings=_settings(gh, out, **query), out=buf, env=env or {})
    return code, buf.getvalue().splitlines()


def test_fetch_many_artifacts_with_expired_gone_bomb_and_slip(gh: FakeGitHub, tmp_path: Path) -> None:
    out = tmp_path / "bundles"
    code, lines = _fetch(gh, out)
    assert code == 0
    assert lines == [
        "downloaded agent-sessions-claude2 (run 508, agent.yml on main) → 508-609/, 1 file",
        "downloaded agent-sessions-gemini (run 507, nightly.yml on main) → 507-608/, 1 file",
        f"failed agent-sessions-slip (run 506, agent.yml on main): {SLIP}",
        f"failed agent-sessions-bomb (run 505, agent.yml on main): {BOMB}",
        "skipped agent-sessions-gone (run 504, agent.yml on dev): it expired after it was listed (410 Gone)",
        "skipped agent-sessions-old (run 503, nightly.yml on main): expired (past the repository's artifact retention)",
        "downloaded agent-sessions-codex (run 502, agent.yml on main) → 502-603/, 1 file",
        "downloaded agent-sessions-claude (run 501, agent.yml on main) → 501-601/, 2 files",
        f"fetch: acme/shop: 8 runs, 8 artifacts: 4 downloaded, 2 expired, 2 failed → {out}",
    ]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        INDEX, "501-601/claude/a.jsonl", "501-601/manifest.json", "502-603/codex/rollout.jsonl",
        "502-603/manifest.json", "507-608/gemini/s.jsonl", "507-608/manifest.json", "508-609/claude/b.jsonl",
        "508-609/manifest.json"]
    assert not (tmp_path / "evil.jsonl").exists() and not (out / "evil.jsonl").exists()

    # The collect manifest keeps its own fields; the run is as GitHub reported it.
    sha = {r.id: r.sha for r in fake_actions.of(gh).runs}
    assert json.loads((out / "501-601/manifest.json").read_text()) == {
        "format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop",
        "run": {"id": "501", "attempt": 1, "url": "https://github.com/acme/shop/actions/runs/501",
                "workflow": "agent.yml", "branch": "main", "sha": sha[501], "created_at": "2026-11-01T08:00:00Z"},
        "collector": "headroom-ci collect", "artifact": {"id": 601, "name": "agent-sessions-claude"}}

    # Sessions read from the folder carry the run they came from.
    result = read_paths([out])
    assert result.skipped == ()
    assert sorted((Path(s.path).relative_to(out).as_posix(), s.run) for s in result.sessions
                  if not s.subagent) == [
        ("501-601/claude/a.jsonl", Run("501", 1, "https://github.com/acme/shop/actions/runs/501", "agent.yml", "main",
                                       sha[501], "2026-11-01T08:00:00Z")),
        ("502-603/codex/rollout.jsonl", Run("502", 1, "https://github.com/acme/shop/actions/runs/502", "agent.yml",
                                            "main", sha[502], "2026-11-02T08:00:00Z")),
        ("507-608/gemini/s.jsonl", Run("507", 1, "https://github.com/acme/shop/actions/runs/507", "nightly.yml",
                                       "main", sha[507], "2026-11-07T08:00:00Z")),
        # Run 508 is on its second attempt and its artifact has no collect manifest: which attempt
        # made it is not known, so none is recorded (the latest would be a guess).
        ("508-609/claude/b.jsonl", Run("508", None, "https://github.com/acme/shop/actions/runs/508", "agent.yml",
                                       "main", sha[508], "2026-11-08T08:00:00Z")),
    ]

    # The token went to the API host only; blob storage never saw an Authorization header.
    blob = gh.requests("GET", r"^/blob/")
    assert sorted(r.path for r in blob) == [f"/blob/artifacts/{n}" for n in (601, 603, 606, 607, 608, 609)]
    assert [r for r in blob if "authorization" in r.headers or r.host != "blob"] == []
    assert {r.headers.get("authorization") for r in gh.log if r.host == "api"} <= {f"Bearer {TOKEN}", f"token {TOKEN}"}

    assert json.loads((out / INDEX).read_text())["artifacts"] == {
        "601": {"run": 501, "name": "agent-sessions-claude", "folder": "501-601"},
        "603": {"run": 502, "name": "agent-sessions-codex", "folder": "502-603"},
        "606": {"run": 505, "name": "agent-sessions-bomb", "folder": "505-606", "refused": BOMB},
        "607": {"run": 506, "name": "agent-sessions-slip", "folder": "506-607", "refused": SLIP},
        "608": {"run": 507, "name": "agent-sessions-gemini", "folder": "507-608"},
        "609": {"run": 508, "name": "agent-sessions-claude2", "folder": "508-609"},
    }

    # A second fetch downloads nothing: what it took or refused is in the index.
    fake_actions.of(gh).artifact("605").expired = True  # type: ignore[union-attr]  # the listing caught up
    gh.log.clear()
    code, lines = _fetch(gh, out)
    assert code == 0
    assert lines == [
        "skipped agent-sessions-claude2 (run 508, agent.yml on main): already fetched → 508-609/",
        "skipped agent-sessions-gemini (run 507, nightly.yml on main): already fetched → 507-608/",
        f"skipped agent-sessions-slip (run 506, agent.yml on main): refused by an earlier fetch: {SLIP}",
        f"skipped agent-sessions-bomb (run 505, agent.yml on main): refused by an earlier fetch: {BOMB}",
        "skipped agent-sessions-gone (run 504, agent.yml on dev): expired (past the repository's artifact retention)",
        "skipped agent-sessions-old (run 503, nightly.yml on main): expired (past the repository's artifact retention)",
        "skipped agent-sessions-codex (run 502, agent.yml on main): already fetched → 502-603/",
        "skipped agent-sessions-claude (run 501, agent.yml on main): already fetched → 501-601/",
        f"fetch: acme/shop: 8 runs, 8 artifacts: 0 downloaded, 6 seen before, 2 expired → {out}",
    ]
    assert gh.requests("GET", r"/zip$|^/blob/") == []


def test_a_folder_removed_by_hand_is_fetched_again(gh: FakeGitHub, tmp_path: Path) -> None:
    _fetch(gh, tmp_path, max_runs=2)
    shutil.rmtree(tmp_path / "507-608")
    gh.log.clear()
    code, lines = _fetch(gh, tmp_path, max_runs=2)
    assert (code, lines[:2]) == (0, [
        "skipped agent-sessions-claude2 (run 508, agent.yml on main): already fetched → 508-609/",
        "downloaded agent-sessions-gemini (run 507, nightly.yml on main) → 507-608/, 1 file"])
    assert [r.path for r in gh.requests("GET", r"^/blob/")] == ["/blob/artifacts/608"]


def test_an_unreadable_index_starts_over(gh: FakeGitHub, tmp_path: Path) -> None:
    _fetch(gh, tmp_path, max_runs=1)
    (tmp_path / INDEX).write_text("{not json")
    code, lines = _fetch(gh, tmp_path, max_runs=1)
    assert (code, lines) == (0, [
        f"fetch: {tmp_path / INDEX} is not a fetch index; starting a new one",
        "downloaded agent-sessions-claude2 (run 508, agent.yml on main) → 508-609/, 1 file",
        f"fetch: acme/shop: 1 run, 1 artifact: 1 downloaded → {tmp_path}"])
    assert sorted(p.name for p in (tmp_path / "508-609").rglob("*")) == ["b.jsonl", "claude", "manifest.json"]


def test_exit_1_when_every_download_fails(gh: FakeGitHub, tmp_path: Path) -> None:
    code, lines = _fetch(gh, tmp_path, glob="agent-sessions-bomb")
    assert (code, lines) == (1, [
        f"failed agent-sessions-bomb (run 505, agent.yml on main): {BOMB}",
        f"fetch: acme/shop: 1 run, 1 artifact: 0 downloaded, 1 failed → {tmp_path}",
        "fetch: every download failed (see above)"])


@pytest.mark.parametrize(("query", "warning"), [
    pytest.param({"glob": "nothing-*"},
                 "no artifact named 'nothing-*', so no sessions; the artifacts there: agent-sessions-claude2, "
                 "agent-sessions-gemini, agent-sessions-slip, agent-sessions-bomb, agent-sessions-gone, "
                 "agent-sessions-old, agent-sessions-codex, coverage, agent-sessions-claude: check artifact-pattern",
                 id="a-wrong-pattern-names-what-was-there"),
    pytest.param({"glob": "agent-sessions"},
                 "no artifact named 'agent-sessions', so no sessions: check artifact-pattern, and that the agent job "
                 "runs headroom/learn-action/collect", id="a-wrong-exact-name"),
    pytest.param({"since": datetime(2030, 1, 1, tzinfo=timezone.utc)},
                 "no artifact at all since 2030-01-01T00:00:00Z, so no sessions: check since, and that the agent "
                 "job runs headroom/learn-action/collect", id="an-empty-window"),
    pytest.param({"branch": "release"},
                 "8 runs with artifacts named 'agent-sessions-*' were left out by the filters, so no sessions: check "
                 "branch and status; runs of forks and of events outsiders can set off are read only with "
                 "include-fork-runs", id="filtered-out"),
    pytest.param({"glob": "agent-sessions-codex", "status": "failure"},
                 "1 run with artifacts named 'agent-sessions-codex' was left out by the filters, so no sessions: "
                 "check branch and status; runs of forks and of events outsiders can set off are read only with "
                 "include-fork-runs", id="one-filtered-out"),
    pytest.param({"workflows": ("agent.yml",), "glob": "nothing-*"},
                 "no artifact named 'nothing-*' in 6 runs, so no sessions; their artifacts: agent-sessions-claude2, "
                 "agent-sessions-slip, agent-sessions-bomb, agent-sessions-gone, agent-sessions-codex, "
                 "agent-sessions-claude, coverage: check artifact-pattern", id="a-workflow-s-runs-named-nothing"),
    pytest.param({"workflows": ("agent.yml", "12"), "since": datetime(2030, 1, 1, tzinfo=timezone.utc)},
                 "no run of agent.yml, 12 since 2030-01-01T00:00:00Z matched, so no sessions: check the workflows, "
                 "since and branch settings", id="a-workflow-without-runs"),
])
def test_nothing_to_fetch_is_a_warning_naming_what_was_there(gh: FakeGitHub, tmp_path: Path, query: dict[str, Any],
                                                             warning: str) -> None:
    assert _fetch(gh, tmp_path, **query) == (0, [f"warning: fetch: acme/shop: {warning}"])
    code, lines = _fetch(gh, tmp_path, env={"GITHUB_ACTIONS": "true"}, **query)
    assert code == 0 and lines[0].startswith("::warning title=headroom-ci fetch::fetch: acme/shop: ")


def test_a_listing_cut_short_says_so(gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts_module, "MAX_LISTED_ARTIFACTS", 2)
    assert _fetch(gh, tmp_path, glob="nothing-*") == (0, [
        "warning: fetch: acme/shop: no artifact named 'nothing-*', so no sessions; the artifacts there: "
        "agent-sessions-claude2, agent-sessions-gemini: check artifact-pattern (read the newest 2 artifacts only: "
        "narrow it with since or workflows)"])


def test_in_actions_the_lines_are_a_log_group(gh: FakeGitHub, tmp_path: Path) -> None:
    code, lines = _fetch(gh, tmp_path, env={"GITHUB_ACTIONS": "true"}, max_runs=2)
    assert (code, lines) == (0, [
        "::group::fetch",
        "downloaded agent-sessions-claude2 (run 508, agent.yml on main) → 508-609/, 1 file",
        "downloaded agent-sessions-gemini (run 507, nightly.yml on main) → 507-608/, 1 file",
        "::endgroup::",
        f"fetch: acme/shop: 2 runs, 2 artifacts: 2 downloaded → {tmp_path}"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_bar_with_only_notable_lines(gh: FakeGitHub, tmp_path: Path) -> None:
    term = _Terminal()
    assert fetch(settings=_settings(gh, tmp_path, max_runs=4), out=term, env={}) == 0
    text = term.getvalue()
    assert text.count("\n") == 3  # the two failures and the summary stay; the bar is redrawn in place
    assert "\r\x1b[K[######..................] 1/4 downloaded agent-sessions-claude2" in text
    assert f"\r\x1b[Kfailed agent-sessions-slip (run 506, agent.yml on main): {SLIP}\n" in text
    assert "\r\x1b[K[########################] 4/4 failed agent-sessions-bomb" in text
    assert text.endswith(f"\r\x1b[Kfetch: acme/shop: 4 runs, 4 artifacts: 2 downloaded, 2 failed → {tmp_path}\n")


def test_listing_failures_are_fatal(gh: FakeGitHub, tmp_path: Path) -> None:
    settings = FetchSettings(github=GitHubSettings(gh.full_name, "ghs_wrong", gh.api_url), out=tmp_path)
    with pytest.raises(GitHubError, match=r"^the token was refused while reading acme/shop \(401 Bad credentials\)"):
        fetch(settings=settings, out=io.StringIO(), env={})


# -- the index and the plan (pure) -----------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(None, {}, id="no-file"),
    pytest.param("{", None, id="not-json"),
    pytest.param('{"format": "other", "artifacts": {}}', None, id="other-format"),
    pytest.param('{"format": "headroom-ci-fetch-index", "artifacts": []}', None, id="wrong-shape"),
    pytest.param(json.dumps({"format": "headroom-ci-fetch-index", "version": 1, "artifacts": {
        "5": {"run": 1, "name": "a", "folder": "1-5"},
        "6": {"run": 1, "name": "b", "folder": "1-6", "refused": "bomb"},
        "x": {"run": 1, "name": "c", "folder": "1-7"},
        "8": {"run": "1", "name": "d", "folder": "1-8"}}}),
        {5: IndexEntry(1, "a", "1-5"), 6: IndexEntry(1, "b", "1-6", "bomb")}, id="bad-entries-dropped"),
])
def test_parse_index(text: str | None, expected: dict[int, IndexEntry] | None) -> None:
    assert parse_index(text) == expected


def test_index_text_round_trips() -> None:
    entries = {9: IndexEntry(2, "b", "2-9", "slip"), 5: IndexEntry(1, "a", "1-5")}
    text = index_text(entries)
    assert list(json.loads(text)["artifacts"]) == ["5", "9"]
    assert parse_index(text) == entries


def _art(art_id: int, *, expired: bool = False) -> ArtifactInfo:
    return ArtifactInfo(art_id, f"a{art_id}", 1, expired, "", RunInfo(1, NOW))


@pytest.mark.parametrize(("art", "entry", "exists", "expected"), [
    pytest.param(_art(5), None, False, "download", id="new"),
    pytest.param(_art(5, expired=True), None, False, "expired", id="expired"),
    pytest.param(_art(5), IndexEntry(1, "a5", "1-5"), True, "seen", id="seen"),
    pytest.param(_art(5), IndexEntry(1, "a5", "1-5"), False, "download", id="seen-but-removed"),
    pytest.param(_art(5), IndexEntry(1, "a5", "1-5", "bomb"), False, "seen", id="refused"),
])
def test_plan(art: ArtifactInfo, entry: IndexEntry | None, exists: bool, expected: str) -> None:
    (item,) = plan([art, art], {5: entry} if entry else {}, lambda folder: exists)
    assert (item.status if isinstance(item, FetchResult) else "download") == expected


# -- the command line ------------------------------------------------------------------------------
def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="headroom-ci")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["fetch", *argv])


def _cli(gh: FakeGitHub, out: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    buf = io.StringIO()
    flags = ("--github-repo", gh.full_name, "--token", TOKEN, "--api-url", gh.api_url) if env is None else ()
    code = from_args(_args("--out", str(out), *flags, *argv), out=buf, env=env or {}, now=NOW)
    return code, [line.split(" (run ")[0] for line in buf.getvalue().splitlines() if not line.startswith("fetch: ")]


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(("--workflow", "nightly.yml"),
                 ["downloaded agent-sessions-gemini", "skipped agent-sessions-old"], id="workflow-file"),
    pytest.param(("--workflow", "12"), ["downloaded agent-sessions-gemini", "skipped agent-sessions-old"],
                 id="workflow-id"),
    pytest.param(("--workflow", "nightly.yml,11", "--max-runs", "2"),
                 ["downloaded agent-sessions-claude2", "downloaded agent-sessions-gemini"], id="workflows-comma"),
    pytest.param(("--workflow", "nightly.yml", "--workflow", ".github/workflows/agent.yml", "--max-runs", "1"),
                 ["downloaded agent-sessions-claude2"], id="workflow-repeated"),
    pytest.param(("--branch-filter", "dev"), ["skipped agent-sessions-gone"], id="branch"),
    pytest.param(("--status", "failure"), ["failed agent-sessions-slip"], id="status"),
    pytest.param(("--since", "3d"), ["downloaded agent-sessions-claude2", "downloaded agent-sessions-gemini",
                                     "failed agent-sessions-slip"], id="since-age"),
    pytest.param(("--since", "2026-11-07"), ["downloaded agent-sessions-claude2", "downloaded agent-sessions-gemini"],
                 id="since-date"),
    pytest.param(("--artifact", "agent-sessions-c*"), ["downloaded agent-sessions-claude2",
                                                       "downloaded agent-sessions-codex",
                                                       "downloaded agent-sessions-claude"], id="artifact-glob"),
    pytest.param(("--artifact", "coverage", "--max-runs", "8", "--jobs", "1"), ["downloaded coverage"],
                 id="other-artifact"),
    pytest.param(("--max-runs", "1"), ["downloaded agent-sessions-claude2"], id="max-runs"),
])
def test_cli_filters(gh: FakeGitHub, tmp_path: Path, argv: tuple[str, ...], expected: list[str]) -> None:
    code, lines = _cli(gh, tmp_path, *argv)
    assert (code, lines) == (1 if expected == ["failed agent-sessions-slip"] else 0, expected)


def test_cli_takes_the_repository_token_and_api_url_from_the_environment(gh: FakeGitHub, tmp_path: Path) -> None:
    env = {"GITHUB_REPOSITORY": gh.full_name, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": gh.api_url}
    assert _cli(gh, tmp_path, "--max-runs", "1", env=env) == (0, ["downloaded agent-sessions-claude2"])


@pytest.mark.parametrize(("argv", "env", "error", "message"), [
    pytest.param(("--since", "soon"), None, UsageError,
                 "--since 'soon': expected an age such as 14d, 36h or 2w, or a date such as 2026-11-01", id="since"),
    pytest.param(("--github-repo", "acme/shop"), {}, GitHubError,
                 "no token: pass --github-token, set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login` "
                 "(in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})", id="no-token"),
])
def test_cli_usage_errors(gh: FakeGitHub, tmp_path: Path, argv: tuple[str, ...], env: dict[str, str] | None,
                          error: type[Exception], message: str) -> None:
    with pytest.raises(error) as exc:
        _cli(gh, tmp_path, *argv, env=env)
    assert str(exc.value) == message


def test_cli_rate_limit_cap(gh: FakeGitHub, tmp_path: Path) -> None:
    gh.fail("GET", r"/actions/artifacts$", status=403, headers={"Retry-After": "60"},
            body={"message": "You have exceeded a secondary rate limit."})
    with pytest.raises(RateLimitWaitError) as exc:
        _cli(gh, tmp_path, "--max-rate-limit-wait", "5")
    assert str(exc.value) == ("GitHub's rate limit asks to wait 60s more, past the cap of 5s of waiting per run: "
                              "try again after the limit resets, or raise the cap")


def test_cli_help_lists_every_flag() -> None:
    parser = argparse.ArgumentParser(prog="headroom-ci")
    add_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["fetch", "--out"])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {opt for a in sub.choices["fetch"]._actions for opt in a.option_strings}
    # The names of the action's inputs and config keys, and the former names, still accepted.
    assert flags == {"-h", "--help", "--out", "--github-repo", "--repo-path", "--github-token", "--api-url",
                     "--workflows", "--artifact-pattern", "--since", "--branch-filter", "--status", "--max-runs",
                     "--jobs", "--max-rate-limit-wait", "--include-fork-runs", "--max-disk-mb",
                     "--token", "--workflow", "--artifact"}
    shown = parser.format_help() + sub.choices["fetch"].format_help()
    assert not any(f"{old} " in shown for old in ("--token", "--workflow", "--artifact", "--branch"))


@pytest.mark.parametrize("new, old", [
    pytest.param(["--workflows", "agent.yml", "--artifact-pattern", "x-*", "--github-token", "t"],
                 ["--workflow", "agent.yml", "--artifact", "x-*", "--token", "t"], id="fetch"),
])
def test_former_flag_names_still_work(new: list[str], old: list[str]) -> None:
    from headroom_ci.main import _parser
    parse = _parser().parse_args
    assert parse(["fetch", "--out", "o", *new]) == parse(["fetch", "--out", "o", *old])


def test_branch_is_not_a_fetch_flag(capsys: pytest.CaptureFixture[str]) -> None:
    # In pr and run, --branch is the proposal's branch: in fetch it would read as a filter.
    from headroom_ci.main import main
    with pytest.raises(SystemExit) as exc:
        main(["fetch", "--out", "o", "--branch", "dev"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.endswith("headroom-ci fetch: error: unrecognized arguments: --branch dev\n")


@pytest.fixture
def forks(server: FakeGitHub) -> FakeGitHub:
    """Runs of the repository's own and of outsiders: a fork's pull request on its own `main`,
    a comment-triggered run, a fork run of a pull_request_target workflow."""
    acts = fake_actions.of(server.reset())
    agent = acts.add_workflow("agent.yml", id=11)
    data = zip_of({"claude/a.jsonl": EXAMPLES[CLAUDE_A]})
    for n, event, head in [(1, "push", None), (2, "pull_request", "mallory/shop"), (3, "issue_comment", None),
                           (4, "pull_request_target", "mallory/shop"), (5, "schedule", None),
                           (6, "pull_request", "ACME/Shop")]:
        run = acts.add_run(agent, id=700 + n, created_at=f"2026-11-0{n}T08:00:00Z", event=event, head_repo=head)
        acts.add_artifact(run, f"agent-sessions-{n}-{event}", id=800 + n, data=data)
    return server


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param((), ["downloaded agent-sessions-6-pull_request", "downloaded agent-sessions-5-schedule",
                      "downloaded agent-sessions-1-push"], id="own-runs-only"),
    pytest.param(("--branch-filter", "main"), ["downloaded agent-sessions-6-pull_request",
                                        "downloaded agent-sessions-5-schedule", "downloaded agent-sessions-1-push"],
                 id="a-forks-main-is-not-main"),
    pytest.param(("--include-fork-runs",), [f"downloaded agent-sessions-{n}-{e}" for n, e in [
        (6, "pull_request"), (5, "schedule"), (4, "pull_request_target"), (3, "issue_comment"), (2, "pull_request"),
        (1, "push")]], id="with-forks"),
])
def test_fork_and_outsider_runs_are_left_out_by_default(forks: FakeGitHub, tmp_path: Path, argv: tuple[str, ...],
                                                         expected: list[str]) -> None:
    assert _cli(forks, tmp_path, *argv) == (0, expected)


def test_one_fetch_stays_within_its_disk_budget(gh: FakeGitHub, tmp_path: Path) -> None:
    buf = io.StringIO()
    code = from_args(_args("--out", str(tmp_path), "--github-repo", gh.full_name, "--token", TOKEN, "--api-url",
                           gh.api_url, "--max-disk-mb", "1", "--artifact", "agent-sessions-claude*"), out=buf, env={},
                     now=NOW)
    lines = [line for line in buf.getvalue().splitlines() if line.startswith("failed")]
    assert code == 1 and len(lines) == 2
    assert all(line.endswith(": over the disk budget of 1 MB for one fetch (--max-disk-mb)") for line in lines)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_disk_budget_reserves_and_gives_back() -> None:
    disk = DiskBudget(100)
    assert (disk.reserve(60), disk.reserve(60), disk.left) == (60, 40, 0)
    disk.release(25)
    assert (disk.reserve(10), disk.left) == (10, 15)
