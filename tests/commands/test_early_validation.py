"""Every bad argument, config value or environment of a command that talks to GitHub or a model
is refused before the first request: exit 1, one line, and the fakes saw nothing."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headroom_ci.main import main
from testing.examples import example_files
from testing.fake_github import actions as fake_actions
from testing.fake_github import FakeGitHub
from testing.fake_github import pulls as fake_pulls
from testing.fake_github import TOKEN
from testing.fake_openai import API_KEY
from testing.fake_openai import FakeOpenAI
from testing.gitrepo import GitFixture
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo

EXAMPLE_AGENTS = (Path(__file__).resolve().parents[2] / "examples" / "repo" / "AGENTS.md").read_text()
LONG_LABEL = "x" * 51


@dataclass
class World:
    gh: FakeGitHub
    llm: FakeOpenAI
    repo: GitFixture
    tmp: Path
    sessions: Path
    plan: Path

    def fill(self, text: str) -> str:
        return (text.replace("{work}", str(self.repo.work)).replace("{bare}", str(self.repo.bare))
                .replace("{tmp}", str(self.tmp)).replace("{sessions}", str(self.sessions))
                .replace("{plan}", str(self.plan)))

    def requests(self) -> int:
        return len(self.gh.requests()) + len(self.llm.requests)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for key in [k for k in __import__("os").environ if k.startswith(("GITHUB_", "HEADROOM_", "OPENAI_", "AZURE_"))]:
        monkeypatch.delenv(key)
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795219200")
    repo = make_repo(tmp_path / "git", {"AGENTS.md": EXAMPLE_AGENTS})
    (repo.work / "docs").mkdir()
    sessions = tmp_path / "sessions"
    for rel, data in example_files().items():
        (sessions / rel).parent.mkdir(parents=True, exist_ok=True)
        (sessions / rel).write_bytes(data)
    plan = tmp_path / "plan.json"
    assert main(["learn", str(sessions), "--repo-path", str(repo.work), "--plan-out", str(plan)]) == 0
    with FakeGitHub() as gh, FakeOpenAI() as llm:
        fake_pulls.use_bare(gh, repo.bare)
        state = fake_actions.of(gh)
        run = state.add_run(state.add_workflow("agent.yml"), created_at="2026-11-20T09:00:00Z")
        state.add_artifact(run, "agent-sessions-1-1-agent", data=fake_actions.zip_of(
            {rel.split("/", 1)[1]: data for rel, data in example_files().items() if rel.startswith("run-101/")}))
        for key, value in {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": gh.api_url,
                           "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": API_KEY,
                           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
                           "RUNNER_TEMP": str(tmp_path / "runner")}.items():
            monkeypatch.setenv(key, value)
        yield World(gh, llm, repo, tmp_path, sessions, plan)


# What each command is given when nothing is wrong: each of these reaches the fakes (checked below).
RUN = ["run", "--repo-path", "{work}"]
LEARN = ["learn", "{sessions}", "--repo-path", "{work}", "--analyzer", "llm", "--model", "gpt-test"]
PR = ["pr", "--plan", "{plan}", "--repo-path", "{work}"]
FETCH = ["fetch", "--out", "{tmp}/fetched", "--repo-path", "{work}"]
BASES = {"run": RUN, "learn": LEARN, "pr": PR, "fetch": FETCH}

NO_ORIGIN_ON_GITHUB = "the origin remote {bare} is not a GitHub repository's URL: pass --github-repo OWNER/NAME"
MISSING_OUTPUT = ("GITHUB_OUTPUT {tmp}/gone/output: cannot write there (no such folder {tmp}/gone): inside GitHub "
                  "Actions the runner sets it; elsewhere unset GITHUB_OUTPUT")
MISSING_SUMMARY = ("GITHUB_STEP_SUMMARY {tmp}/gone/summary: cannot write there (no such folder {tmp}/gone): inside "
                   "GitHub Actions the runner sets it; elsewhere unset GITHUB_STEP_SUMMARY")
PLAN_OUT_FOLDER = "--plan-out {work}/docs: is a folder: name a file such as {work}/docs/headroom-plan.json"
SINCE = ("--since 'yesterday': expected an age such as 14d, 36h or 2w, or a date such as 2026-11-01")
BAD_URL = ("--llm-base-url 'localhost:11434': not an http(s) URL: give one such as http://localhost:11434/v1")


def case(command: str, extra: list[str], env: dict[str, str | None], message: str, *, id: str,
         agents: bytes | None = None) -> object:
    """`agents`: what AGENTS.md holds instead of the example's text."""
    return pytest.param(command, extra, env, message, agents, id=f"{command}-{id}")


CASES = [
    # run: the pull request's settings
    case("run", ["--labels", f"agents,{LONG_LABEL}"], {},
         f"--labels '{LONG_LABEL}': longer than the 50 characters GitHub allows a label", id="labels"),
    case("run", ["--reviewers", "@dana"], {},
         "--reviewers '@dana': not a GitHub user name (write it without the @: dana)", id="reviewers-at"),
    case("run", ["--reviewers", "acme/reviewers"], {},
         "--reviewers 'acme/reviewers': not a GitHub user name (a team goes in --team-reviewers, as its slug)",
         id="reviewers-team"),
    case("run", ["--team-reviewers", "acme/reviewers"], {},
         "--team-reviewers 'acme/reviewers': not a GitHub team name (give its slug without the organization: "
         "reviewers)", id="team-reviewers-org"),
    case("run", ["--assignees", "dana smith"], {},
         "--assignees 'dana smith': not a GitHub user name (letters, digits and hyphens only)", id="assignees"),
    case("run", ["--base", "main..x"], {}, "--base 'main..x': not a valid branch name", id="base-invalid"),
    case("run", ["--base", "release"], {}, "the base branch release does not exist on origin: pass --base",
         id="base-missing"),
    case("run", ["--base", "main", "--branch", "main"], {},
         "--branch main is the base branch: headroom-ci never pushes to the base", id="branch-is-base"),
    case("run", ["--branch", "bad..name"], {}, "--branch 'bad..name': not a valid branch name", id="branch-invalid"),
    case("run", [], {"GITHUB_REPOSITORY": None}, NO_ORIGIN_ON_GITHUB, id="origin-not-github"),
    case("run", ["--repo-path", "{tmp}/none"], {}, "--repo-path {tmp}/none: no such folder", id="repo-path"),
    case("run", ["--remote", "upstream"], {},
         "{work}: no git remote 'upstream': run inside a clone of the repository", id="remote"),
    case("run", ["--dry-run"], {"GITHUB_REPOSITORY": None}, NO_ORIGIN_ON_GITHUB, id="dry-run-origin-not-github"),
    case("run", [], {"GITHUB_OUTPUT": "{tmp}/gone/output"}, MISSING_OUTPUT, id="github-output"),
    # run: the fetch's and learn's settings
    case("run", ["--since", "yesterday"], {}, SINCE, id="since"),
    case("run", [], {"HEADROOM_CI_MAX_BLOCK_TOKENS": "0"},
         "HEADROOM_CI_MAX_BLOCK_TOKENS: max-block-tokens: expected a whole number ≥ 1, got '0'", id="max-block-tokens"),
    case("run", ["--target", "../outside.md"], {},
         "--target ../outside.md: outside the repository {work}: name a file inside it", id="target-outside"),
    case("run", ["--memory-target", "docs"], {},
         "--memory-target docs: is a folder: name a markdown file such as docs/AGENTS.md", id="memory-target-folder"),
    case("run", ["--plan-out", "{work}/docs"], {}, PLAN_OUT_FOLDER, id="plan-out-folder"),
    case("run", ["--analyzer", "llm"], {}, "the llm analyzer needs a model: pass --model NAME or set model in the config (the model, or the Azure "
                 "deployment)",
         id="llm-no-model"),
    case("run", ["--dry-run", "--analyzer", "llm", "--model", "m", "--llm-base-url", "localhost:11434"], {}, BAD_URL,
         id="llm-base-url"),
    case("run", [], {}, "{work}/AGENTS.md: UTF-16 text, not UTF-8: save the file as UTF-8", id="target-utf16",
         agents="# shop\n".encode("utf-16")),
    case("run", [], {}, "AGENTS.md:3: a start marker with no end marker after it — put the line "
         "<!-- headroom:learn:end --> where the block ends, or delete the start marker", id="target-broken-block", agents=b"# shop\n\n<!-- headroom:learn:start -->\n- a rule\n"),
    case("run", ["--sessions-path", "{tmp}/none"], {}, "--sessions-path {tmp}/none: no such folder", id="sessions-path"),
    case("run", [], {"HEADROOM_CI_INCLUDE_FORK_RUNS": "maybe"},
         "HEADROOM_CI_INCLUDE_FORK_RUNS: include-fork-runs: expected true or false, got 'maybe'", id="include-fork-runs"),
    # learn with the LLM analyzer
    case("learn", ["--llm-base-url", "localhost:11434"], {}, BAD_URL, id="llm-base-url"),
    case("learn", [], {"OPENAI_BASE_URL": "ftp://models.example.com"},
         "OPENAI_BASE_URL 'ftp://models.example.com': not an http(s) URL: give one such as http://localhost:11434/v1",
         id="openai-base-url"),
    case("learn", ["--llm-price-in", "2.5"], {},
         "--llm-price-in and --llm-price-out go together: give both to get the cost", id="price"),
    case("learn", [], {"OPENAI_API_KEY": None},
         "the llm analyzer needs an API key: set OPENAI_API_KEY or pass --llm-api-key (a local endpoint such as Ollama "
         "or vLLM accepts any value)", id="no-key"),
    case("learn", ["--target", "/etc/passwd"], {},
         "--target /etc/passwd: outside the repository {work}: name a file inside it", id="target-absolute"),
    case("learn", ["--plan-out", "{work}/docs"], {}, PLAN_OUT_FOLDER, id="plan-out-folder"),
    case("learn", ["--plan-out", "{work}/AGENTS.md/plan.json"], {},
         "--plan-out {work}/AGENTS.md/plan.json: {work}/AGENTS.md is a file, not a folder", id="plan-out-under-a-file"),
    case("learn", [], {"GITHUB_STEP_SUMMARY": "{tmp}/gone/summary"}, MISSING_SUMMARY, id="step-summary"),
    # pr
    case("pr", ["--plan", "{tmp}/nope.json"], {},
         "{tmp}/nope.json: no such plan file: write one with headroom-ci learn --plan-out {tmp}/nope.json",
         id="plan-missing"),
    case("pr", ["--plan", "{work}/AGENTS.md"], {}, "", id="plan-malformed"),
    case("pr", ["--labels", LONG_LABEL], {},
         f"--labels '{LONG_LABEL}': longer than the 50 characters GitHub allows a label", id="labels"),
    case("pr", ["--reviewers", "@dana"], {},
         "--reviewers '@dana': not a GitHub user name (write it without the @: dana)", id="reviewers"),
    case("pr", ["--base", "main..x"], {}, "--base 'main..x': not a valid branch name", id="base-invalid"),
    case("pr", ["--base", "release"], {}, "the base branch release does not exist on origin: pass --base",
         id="base-missing"),
    case("pr", ["--base", "headroom/learn"], {},
         "--branch headroom/learn is the base branch: headroom-ci never pushes to the base", id="branch-is-base"),
    case("pr", [], {"GITHUB_REPOSITORY": None}, NO_ORIGIN_ON_GITHUB, id="origin-not-github"),
    case("pr", ["--repo-path", "{tmp}/none"], {}, "--repo-path {tmp}/none: no such folder", id="repo-path"),
    case("pr", [], {"GITHUB_OUTPUT": "{tmp}/gone/output"}, MISSING_OUTPUT, id="github-output"),
    case("pr", [], {"HEADROOM_CI_DRAFT": "yes"}, "HEADROOM_CI_DRAFT: draft: expected true or false, got 'yes'",
         id="draft"),
    # fetch
    case("fetch", ["--since", "yesterday"], {}, SINCE, id="since"),
    case("fetch", [], {"GITHUB_REPOSITORY": None}, NO_ORIGIN_ON_GITHUB, id="origin-not-github"),
]


@pytest.mark.parametrize(("command", "extra", "env", "message", "agents"), CASES)
def test_a_bad_setting_fails_before_any_request(world: World, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], command: str, extra: list[str],
                                                env: dict[str, str | None], message: str, agents: bytes | None) -> None:
    if agents is not None:
        (world.repo.work / "AGENTS.md").write_bytes(agents)
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, world.fill(value))
    capsys.readouterr()
    assert main([world.fill(a) for a in BASES[command] + extra]) == 1
    err = capsys.readouterr().err
    if message:
        assert err == f"headroom-ci: error: {world.fill(message)}\n"
    else:   # the plan's reader names the file; the parser's own words are not ours to assert
        assert err.startswith(f"headroom-ci: error: {world.repo.work}/AGENTS.md: not a readable plan (")
        assert err.count("\n") == 1
    assert world.requests() == 0
    assert fake_pulls.pulls(world.gh) == [] and world.repo.branches() == ["main"]
    assert not (world.tmp / "runner").exists() and not (world.tmp / "output").exists()


@pytest.mark.parametrize("command", list(BASES))
def test_the_same_commands_do_reach_the_fakes_when_nothing_is_wrong(world: World, command: str) -> None:
    """So the table above is not passing for want of a server to call."""
    main([world.fill(a) for a in BASES[command]])
    assert world.requests() > 0


def test_collect_with_a_missing_github_output_folder_writes_no_bundle(
        world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(world.tmp / "gone" / "output"))
    capsys.readouterr()
    assert main(["collect", str(world.sessions / "run-101"), "--out", str(world.tmp / "bundle"),
                 "--workspace", str(world.repo.work)]) == 1
    assert capsys.readouterr().err == f"headroom-ci: error: {world.fill(MISSING_OUTPUT)}\n"
    assert not (world.tmp / "bundle").exists()
