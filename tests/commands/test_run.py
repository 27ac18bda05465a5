"""`headroom-ci run` end to end: artifacts on the fake GitHub, a real repository, one pull request."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headroom_ci.learning.block import find_block
from headroom_ci.main import _parser
from headroom_ci.commands import run as run_cmd
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

EXAMPLE_AGENTS = Path(__file__).resolve().parents[2] / "examples" / "repo" / "AGENTS.md"


@dataclass
class World:
    gh: FakeGitHub
    repo: GitFixture
    env: dict[str, str]
    tmp: Path

    def run(self, *flags: str) -> str:
        args = _parser().parse_args(["run", "--repo-path", str(self.repo.work), *flags])
        out = io.StringIO()
        assert run_cmd.run(args, out=out, env=self.env) == 0
        return out.getvalue()

    def outputs(self) -> dict[str, str]:
        text = (self.tmp / "output").read_text()
        return {name: value for name, _, value in re.findall(r"^(\S+)<<(ghadelimiter_\w+)\n(.*?)\n\2$", text, re.M | re.S)}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795219200")
    repo = make_repo(tmp_path / "git", example_repo())
    with FakeGitHub() as gh:
        fake_pulls.use_bare(gh, repo.bare)
        state = fake_actions.of(gh)
        add_example_runs(state, state.add_workflow("agent.yml"),
                         [f"2026-11-{10 + day:02d}T09:00:00Z" for day in (1, 2, 3)])
        env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": gh.api_url,
               "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "output"),
               "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "RUNNER_TEMP": str(tmp_path / "runner")}
        yield World(gh, repo, env, tmp_path)


def test_fetch_learn_and_open_one_pull_request(world: World) -> None:
    out = world.run("--since", "2026-11-01", "--labels", "agents")
    assert out.rstrip("\n").endswith(
        "pull-request-operation: created #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)")
    assert world.outputs() == {
        "sessions": "4", "failures": "14", "recommendations": "4",
        "plan-path": str(world.tmp / "runner" / "headroom-plan.json"),
        "pull-request-operation": "created", "pull-request-number": "1",
        "pull-request-url": "https://github.com/acme/shop/pull/1", "pull-request-branch": "headroom/learn"}
    assert world.repo.changed("main", "headroom/learn") == ["AGENTS.md"]
    text = world.repo.show("headroom/learn", "AGENTS.md") or ""
    span = find_block(text, source="AGENTS.md")
    assert span is not None and text[:span[0]].rstrip("\n") == EXAMPLE_AGENTS.read_text().rstrip("\n")
    assert "::group::fetch" in out and "::group::pull request" in out
    summary = (world.tmp / "summary.md").read_text()
    assert summary.startswith("## headroom-ci learn\n\n4 sessions, 28 tool calls")
    assert "Pull request [#1](https://github.com/acme/shop/pull/1) created (`headroom/learn` → `main`)" in summary
    # The blob host never saw the token.
    assert all("authorization" not in r.headers for r in world.gh.requests() if r.host == "blob")

    # The same run again changes nothing.
    again = world.run("--since", "2026-11-01", "--labels", "agents")
    assert again.rstrip("\n").endswith("pull-request-operation: unchanged #1 https://github.com/acme/shop/pull/1 "
                                       "(headroom/learn → main)")


def test_dry_run_writes_the_plan_and_opens_nothing(world: World) -> None:
    out = world.run("--since", "2026-11-01", "--dry-run")
    plan = world.tmp / "runner" / "headroom-plan.json"
    assert out.endswith(f"dry run: no pull request was opened or changed; the plan is {plan} "
                        f"(`headroom-ci pr --plan {plan}` proposes it)\n")
    assert "--apply" not in out  # run has no such flag
    assert (world.tmp / "runner" / "headroom-plan.json").is_file()
    assert fake_pulls.pulls(world.gh) == []
    assert world.repo.branches() == ["main"]
    assert world.outputs()["pull-request-operation"] == "skipped"


@pytest.mark.parametrize(("out", "env", "expected"), [
    pytest.param("bundles", {"RUNNER_TEMP": "/rt", "HOME": "/h"}, "bundles", id="out"),
    pytest.param(None, {"RUNNER_TEMP": "/rt", "HOME": "/h"}, "/rt/headroom-sessions", id="actions"),
    pytest.param(None, {"XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/c/headroom-ci/acme/shop/sessions", id="xdg"),
    pytest.param(None, {"HOME": "/h"}, "/h/.cache/headroom-ci/acme/shop/sessions", id="home"),
])
def test_where_fetched_sessions_go(out: str | None, env: dict[str, str], expected: str) -> None:
    assert run_cmd.sessions_dir(out=out, repository="acme/shop", env=env) == Path(expected)


def test_on_a_machine_a_second_run_downloads_nothing_and_reads_only_its_window(world: World) -> None:
    del world.env["RUNNER_TEMP"], world.env["GITHUB_ACTIONS"]
    world.env["XDG_CACHE_HOME"] = str(world.tmp / "cache")
    sessions = world.tmp / "cache" / "headroom-ci" / "acme" / "shop" / "sessions"
    first = world.run("--since", "2026-11-01", "--dry-run")
    assert first.count("downloaded ") == 3
    assert first.endswith(f"the plan is {sessions.parent / 'headroom-plan.json'} (`headroom-ci pr --plan "
                          f"{sessions.parent / 'headroom-plan.json'}` proposes it)\n")
    # An older bundle left in the folder is outside the next run's window: not read.
    (sessions / "1-2").mkdir()
    (sessions / "1-2" / "old.jsonl").write_bytes(next(iter(example_files().values())))
    again = world.run("--since", "2026-11-12", "--dry-run")
    assert "downloaded " not in again and again.count("skipped ") == 2
    # Runs 102 and 103 hold 3 of the 4 sessions; the whole folder would be 5.
    # A window with no run reads nothing at all: not the cached bundles, not this machine's own sessions.
    empty = world.run("--since", "2026-11-20", "--dry-run")
    assert [line.split(",")[0] for line in (first + again + empty).splitlines()
            if line.startswith("headroom-ci learn: ")] == [
        "headroom-ci learn: 4 sessions", "headroom-ci learn: 3 sessions", "headroom-ci learn: 0 sessions"]


def test_local_sessions_folder_skips_fetching(world: World, tmp_path: Path) -> None:
    local = tmp_path / "local"
    for rel, data in example_files().items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_bytes(data)
    out = world.run("--sessions-path", str(local))
    assert "pull-request-operation: created #1" in out
    assert world.gh.requests(path=r"/actions/") == []


@pytest.mark.parametrize("change, message", [
    pytest.param({"GITHUB_REPOSITORY": None}, "the origin remote {bare} is not a GitHub repository's URL: "
                 "pass --github-repo OWNER/NAME", id="origin-not-on-github"),
    pytest.param({"GITHUB_TOKEN": None, "PATH": ""}, "no token: pass --github-token, set GITHUB_TOKEN or GH_TOKEN, or log in "
                 "with `gh auth login` (in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})", id="no-token"),
])
def test_the_pull_requests_settings_are_checked_before_any_fetch(world: World, change: dict[str, str | None],
                                                                  message: str) -> None:
    from headroom_ci.errors import FatalError
    for key, value in change.items():
        if value is None:
            world.env.pop(key, None)
        else:
            world.env[key] = value
    args = _parser().parse_args(["run", "--repo-path", str(world.repo.work)])
    with pytest.raises(FatalError) as exc:
        run_cmd.run(args, out=io.StringIO(), env=world.env)
    assert str(exc.value) == message.replace("{bare}", str(world.repo.bare))
    assert world.gh.log == []
    assert not (world.tmp / "runner").exists()


def test_the_description_ends_with_where_it_came_from(world: World) -> None:
    from headroom_ci import __version__
    world.env.update({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "9001"})
    world.run("--since", "2026-11-01", "--workflow", "agent.yml")
    body = str(fake_pulls.pulls(world.gh)[0]["body"])
    assert body.endswith(
        f"\n---\n\n<sub>headroom-ci {__version__} · learned from the runs of `agent.yml` since 2026-11-01 · "
        "[the run that proposed this](https://github.com/acme/shop/actions/runs/9001) · to pause: disable the "
        "workflow that runs headroom-ci (`gh workflow disable`), or set `dry-run: true` in "
        "`.github/headroom-learn.yml`</sub>\n")
