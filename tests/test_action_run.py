"""The real action files, run here the way a GitHub runner runs them (testing/action_runner.py).

The install step really builds a virtual environment under RUNNER_TEMP from the action's own
folder (a copy of this checkout, as the runner downloads it), with pip from PyPI: that is the
slow part, done once per module and shared through a link in every job's RUNNER_TEMP, where the
step finds it installed. Then the steps run against the fake GitHub server and a real bare
repository, and the tests read what a workflow would: the step outputs, the job summary, the
pull request and its branch.
"""
from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from headroom_ci.learning.block import find_block
from testing.action_runner import ActionError
from testing.action_runner import Artifacts
from testing.action_runner import Call
from testing.action_runner import checkout_from
from testing.action_runner import condition
from testing.action_runner import evaluate
from testing.action_runner import Job
from testing.action_runner import load_yaml
from testing.action_runner import parse_file_command
from testing.action_runner import Scope
from testing.action_runner import setup_python
from testing.action_runner import StandIn
from testing.action_runner import StepResult
from testing.examples import add_example_runs
from testing.examples import claude_run
from testing.examples import example_files
from testing.examples import example_repo
from testing.examples import ROOT
from testing.fake_github import actions as fake_actions
from testing.fake_github import FakeGitHub
from testing.fake_github import pulls as fake_pulls
from testing.fake_github import TOKEN
from testing.gitrepo import git
from testing.gitrepo import GitFixture
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_AGENTS = (REPO / "examples" / "repo" / "AGENTS.md").read_text()
VENV = "headroom-ci-venv"
PYTHON = os.path.realpath(sys.executable)   # what setup-python would give
# What the runner would not download with the action: caches, local environments, build output.
_NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", ".venv-lowest", ".ci-headroom-ai", "__pycache__", ".mypy_cache",
                                      ".pytest_cache", ".hypothesis", ".benchmarks", "*.egg-info", "build",
                                      "dist", "bench-out")
_DROP = ("GIT_", "GITHUB_", "RUNNER_", "HEADROOM_", "OPENAI_", "AZURE_", "VIRTUAL_ENV", "PYTHONPATH", "UV_",
         "CLAUDE_", "CODEX_", "GEMINI_", "CI")


def _tools_path(bin_dir: Path) -> str:
    """PATH for the runner: python3 is this interpreter, and no uv, so the install takes its pip branch."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "python3"
    if not link.exists():
        link.symlink_to(os.path.realpath(sys.executable))
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not shutil.which("uv", path=d)]
    return os.pathsep.join([str(bin_dir), *keep])


def runner_env(home: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
    env.update(isolated_env(home))
    env["PATH"] = _tools_path(bin_dir)
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env["SOURCE_DATE_EPOCH"] = "1795219200"   # the block's date
    return env


@pytest.fixture(scope="module")
def action_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action as the runner downloads it: the repository's files, at _actions/OWNER/REPO/REF."""
    dest = tmp_path_factory.mktemp("actions") / "headroom" / "learn-action" / "v1"
    shutil.copytree(REPO, dest, ignore=_NOT_SHIPPED)
    return dest


def _install(job: Job, action_dir: Path) -> StepResult:
    """The action's steps up to its install, run for real; the install step's result."""
    steps = load_yaml(action_dir / "action.yml")["runs"]["steps"]
    upto = next(n for n, step in enumerate(steps) if step.get("id") == "install")
    job.stand_ins = {"actions/setup-python": setup_python(PYTHON)}
    job.run_steps(steps[:upto + 1], inputs={}, env={}, action_path=action_dir, where="action.yml")
    return job.log[-1]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, action_dir: Path) -> Path:
    """action.yml's install step, run for real once: the virtual environment it builds."""
    root = tmp_path_factory.mktemp("install")
    job = Job(workspace=root / "workspace", temp=root / "temp", github={"token": TOKEN},
              env=runner_env(root / "home", root / "tools"))
    step = _install(job, action_dir)
    assert step.outcome == "success", step.stdout + step.stderr
    python = Path(step.outputs["python"])
    assert python.parent.parent.parent == root / "temp" and python.parent.parent.name.startswith(VENV + ".")
    assert job.added_path == [] and job.added_env == {}   # nothing for the caller's PATH
    done = subprocess.run([str(python), "-I", "-m", "headroom_ci", "--version"], capture_output=True, text=True,
                          cwd=root / "workspace")
    assert done.returncode == 0 and done.stdout.startswith("headroom-ci "), done.stderr
    return python.parent.parent


@dataclass
class World:
    gh: FakeGitHub
    repo: GitFixture
    tmp: Path
    action_dir: Path
    venv: Path
    env: dict[str, str]

    def job(self, name: str, *, workspace: Path | None = None, **github: Any) -> Job:
        """A fresh runner: its own RUNNER_TEMP (with the module's venv linked in) and workspace."""
        temp = self.tmp / name / "temp"
        temp.mkdir(parents=True)
        context = {"token": TOKEN, "repository": "acme/shop", "api_url": self.gh.api_url,
                   "server_url": "https://github.com", "run_id": "9001", "run_attempt": "1",
                   "ref": "refs/heads/main", "event_name": "workflow_dispatch", "workflow": "headroom learn",
                   "actor": "dana", "repository_owner": "acme", "job": name, **github}
        # The install was tested for real by the venv fixture: here it counts as done on this runner.
        done = {"python": {"python-path": PYTHON}, "install": {"python": str(self.venv / "bin" / "python")}}
        return Job(workspace=workspace or self.tmp / name / "workspace", temp=temp, github=context,
                   env=dict(self.env), done=done,
                   actions={"headroom/learn-action": self.action_dir, "headroom/learn-action/pr": self.action_dir / "pr",
                            "headroom/learn-action/collect": self.action_dir / "collect"})


@contextmanager
def _world(tmp_path: Path, action_dir: Path, venv: Path, *, seeded: bool) -> Iterator[World]:
    repo = make_repo(tmp_path / "git", example_repo())
    env = runner_env(tmp_path / "home", tmp_path / "tools")
    with FakeGitHub() as gh:
        fake_pulls.use_bare(gh, repo.bare)
        state = fake_actions.of(gh)
        wf = state.add_workflow("agent.yml")
        if seeded:
            _seed(state, wf)
        yield World(gh, repo, tmp_path, action_dir, venv, env)


def _seed(state: fake_actions.Actions, wf: fake_actions.Workflow, **run: Any) -> None:
    """Three recent runs of `wf` (the examples learn from the last 14 days, as written), each with
    the example sessions of one run as its artifact."""
    now = datetime.now(timezone.utc)
    add_example_runs(state, wf, [_ago(now, days=days_ago) for days_ago in (3, 2, 1)], **run)


def _ago(now: datetime, **delta: float) -> str:
    return (now - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def world(tmp_path: Path, action_dir: Path, venv: Path) -> Iterator[World]:
    """Three runs of agent.yml on the fake, each with the example sessions as its artifact."""
    with _world(tmp_path, action_dir, venv, seeded=True) as w:
        yield w


@pytest.fixture
def new_world(tmp_path: Path, action_dir: Path, venv: Path) -> Iterator[World]:
    """No agent has run yet."""
    with _world(tmp_path, action_dir, venv, seeded=False) as w:
        yield w


def _logs(job: Job) -> str:
    return "\n".join(f"--- {s.name} ({s.outcome})\n{s.stdout}{s.stderr}" for s in job.log)


def assert_no_token_in_logs(job: Job) -> None:
    for step in job.log:
        shown = "\n".join(line for line in step.stdout.splitlines() if not line.startswith("::add-mask::"))
        assert TOKEN not in shown + step.stderr, f"the token reached the log of {step.name}"


def assert_only_the_block_changed(repo: GitFixture, branch: str) -> None:
    assert repo.changed("main", branch) == ["AGENTS.md"]
    text = repo.show(branch, "AGENTS.md") or ""
    span = find_block(text, source="AGENTS.md")
    assert span is not None
    assert (text[:span[0]] + text[span[1]:]).rstrip("\n") == EXAMPLE_AGENTS.rstrip("\n")


def test_the_action_fetches_learns_and_opens_one_pull_request(world: World) -> None:
    job = world.job("learn", workspace=world.repo.work)
    result = job.run_action(world.action_dir, inputs={"workflows": "agent.yml", "since": "7d",
                                                       "labels": "agents"})
    assert result.outcome == "success", _logs(job)
    assert result.outputs == {
        "pull-request-operation": "created", "pull-request-number": "1",
        "pull-request-url": "https://github.com/acme/shop/pull/1",
        "sessions": "4", "failures": "14", "recommendations": "4",
        "plan-path": str(job.temp / "headroom-plan.json"), "pull-request-branch": "headroom/learn"}
    # Every output the step writes is one the action declares.
    learn_step = next(step for step in job.log if step.id == "learn")
    assert set(learn_step.outputs) == set(result.outputs)
    assert job.summary.startswith("## headroom-ci learn\n\n4 sessions, 28 tool calls")
    assert "Pull request [#1](https://github.com/acme/shop/pull/1) created (`headroom/learn` → `main`)" in job.summary
    assert_only_the_block_changed(world.repo, "headroom/learn")
    (pull,) = fake_pulls.pulls(world.gh)
    assert (pull["head"], pull["base"], pull["labels"], pull["draft"]) == ("headroom/learn", "main", ["agents"], False)
    # Only workflow "agent.yml" was asked for, and the token reached the API only as the action passed it.
    assert world.gh.requests(path=r"/actions/workflows/agent\.yml$") and not world.gh.requests(path=r"/actions/runs$")
    assert all(r.headers.get("authorization") in (f"token {TOKEN}", f"Bearer {TOKEN}")
               for r in world.gh.requests() if r.host == "api")
    assert_no_token_in_logs(job)
    assert job.added_path == [] and job.added_env == {}


def test_without_workflows_busy_ci_does_not_crowd_the_agent_runs_out(world: World) -> None:
    # More newer runs of another workflow than fetch reads (its default max-runs is 50), none with sessions.
    ci = fake_actions.of(world.gh).add_workflow("ci.yml")
    now = datetime.now(timezone.utc)
    for n in range(80):
        run = fake_actions.of(world.gh).add_run(ci, created_at=_ago(now, minutes=n))
        if n % 20 == 0:
            fake_actions.of(world.gh).add_artifact(run, "coverage", data=fake_actions.zip_of({"index.html": b"<p>"}))
    job = world.job("learn", workspace=world.repo.work)
    result = job.run_action(world.action_dir, inputs={"dry-run": "true"})
    assert result.outcome == "success", _logs(job)
    assert (result.outputs["sessions"], result.outputs["recommendations"]) == ("4", "4")
    # Found by the artifacts' names: no run of ci.yml was read.
    assert not world.gh.requests(path=r"/actions/runs$") and len(world.gh.requests(path=r"/actions/runs/\d+$")) == 3


def test_a_wrong_artifact_pattern_warns_naming_what_was_there(world: World) -> None:
    job = world.job("learn", workspace=world.repo.work)
    result = job.run_action(world.action_dir, inputs={"dry-run": "true", "artifact-pattern": "sessions-*"})
    assert result.outcome == "success", _logs(job)
    assert result.outputs["sessions"] == "0"
    assert ("::warning title=headroom-ci fetch::fetch: acme/shop: no artifact named 'sessions-*' since " in _logs(job))
    assert ("so no sessions; the artifacts there: agent-sessions-103-1-agent, agent-sessions-102-1-agent, "
            "agent-sessions-101-1-agent: check artifact-pattern") in _logs(job)


def test_the_config_file_fills_what_the_inputs_leave_empty(world: World) -> None:
    world.repo.push_files("main", {".github/headroom-learn.yml": (
        "# settings for headroom/learn-action\nworkflows: [agent.yml]\nsince: 7d\n"
        "labels: [agents, from-config]\nbranch: headroom/from-config\ndraft: true\nmax-block-tokens: 1200\n")},
        message="configure headroom")
    git(world.repo.work, "pull", "--quiet", "--ff-only")
    job = world.job("learn", workspace=world.repo.work)
    result = job.run_action(world.action_dir, inputs={"branch": "headroom/from-input"})
    assert result.outcome == "success", _logs(job)
    assert result.outputs["pull-request-operation"] == "created"
    (pull,) = fake_pulls.pulls(world.gh)
    # The input wins over the file; the rest comes from the file.
    assert (pull["head"], pull["labels"], pull["draft"]) == ("headroom/from-input", ["agents", "from-config"], True)


def test_a_wrong_config_file_fails_the_step_naming_it(world: World) -> None:
    (world.repo.work / "headroom.yml").write_text("lables: agents\n")
    job = world.job("learn", workspace=world.repo.work)
    result = job.run_action(world.action_dir, inputs={"config": "headroom.yml"})
    assert result.outcome == "failure"
    learn = job.log[-1]
    assert "::error title=headroom-ci run::headroom.yml: lables: unknown setting (did you mean labels?)" in learn.stdout
    assert fake_pulls.pulls(world.gh) == []


def test_learn_only_then_apply_the_plan_in_a_second_job(world: World) -> None:
    """The two-job setup, through examples/learn-least-privilege.yml itself."""
    workflow = REPO / "examples" / "learn-least-privilege.yml"
    artifacts = Artifacts()
    stand_ins = {"actions/checkout": checkout_from(world.repo.bare), "actions/upload-artifact": artifacts.upload,
                 "actions/download-artifact": artifacts.download}
    learn = world.job("learn")
    learn.stand_ins = stand_ins
    first = learn.run_job(workflow, "learn")
    assert first.outcome == "success", _logs(learn)
    learned = first.context["learn"]["outputs"]
    assert (learned["pull-request-operation"], learned["recommendations"]) == ("skipped", "4")
    assert learned["plan-path"] == str(learn.temp / "headroom-plan.json")
    assert set(artifacts.stored) == {"headroom-plan"}
    assert list(artifacts.stored["headroom-plan"]) == ["headroom-plan.json"]
    assert "## headroom-ci learn\n\n4 sessions" in learn.summary
    # The read-only job says who applies its plan.
    assert ("**Dry run**: no pull request was opened or changed. The plan is "
            f"`{learn.temp / 'headroom-plan.json'}`: the propose job (headroom/learn-action/pr with this plan) "
            "applies it.") in learn.summary
    # Nothing was written on GitHub's side by the read-only job.
    assert fake_pulls.pulls(world.gh) == [] and world.repo.branches() == ["main"]
    assert world.gh.requests(method="POST") == [] and world.gh.requests(method="PATCH") == []

    seen = len(world.gh.requests())
    propose = world.job("propose")
    propose.stand_ins = stand_ins
    second = propose.run_job(workflow, "propose", needs={"learn": {"result": "success", "outputs": first.outputs}})
    assert second.outcome == "success", _logs(propose)
    assert second.context["pr"]["outputs"] == {"pull-request-operation": "created", "pull-request-number": "1",
                                               "pull-request-url": "https://github.com/acme/shop/pull/1",
                                               "pull-request-branch": "headroom/learn"}
    assert "Pull request [#1](https://github.com/acme/shop/pull/1) created" in propose.summary
    assert_only_the_block_changed(world.repo, "headroom/learn")
    # The second job never lists runs or downloads sessions.
    assert not any("/actions/" in r.path for r in world.gh.requests()[seen:])
    assert_no_token_in_logs(learn)
    assert_no_token_in_logs(propose)


def test_the_weekly_example_runs_as_written(world: World) -> None:
    job = world.job("weekly", event_name="schedule")
    job.stand_ins = {"actions/checkout": checkout_from(world.repo.bare)}
    result = job.run_job(REPO / "examples" / "learn-weekly.yml", "learn")
    assert result.outcome == "success", _logs(job)
    assert result.context["learn"]["outputs"]["pull-request-operation"] == "created"
    assert_only_the_block_changed(world.repo, "headroom/learn")


# -- the inputs that change what is learned -------------------------------------------------------------
def test_include_fork_runs_decides_whether_a_forks_sessions_are_read(new_world: World) -> None:
    """Runs of a fork's pull request, with sessions: skipped unless include-fork-runs is true."""
    state = fake_actions.of(new_world.gh)
    workflow = state.workflow("agent.yml")
    assert workflow is not None
    _seed(state, workflow, event="pull_request", head_repo="outsider/shop")
    seen = {}
    for value in ("", "false", "true"):
        job = new_world.job(f"learn-{value or 'unset'}", workspace=new_world.repo.work)
        result = job.run_action(new_world.action_dir, inputs={"include-fork-runs": value, "dry-run": "true"})
        assert result.outcome == "success", _logs(job)
        seen[value] = (result.outputs["sessions"], result.outputs["recommendations"])
    assert seen == {"": ("0", "0"), "false": ("0", "0"), "true": ("4", "4")}


def _commit_block_on_main(world: World, *, days_before: int) -> str:
    """The rules learn makes of the example sessions, merged into main `days_before` days before
    the block's date (SOURCE_DATE_EPOCH, 2026-11-21): the block in effect since then."""
    sessions = world.tmp / "block-sessions"
    for rel, data in example_files().items():
        (sessions / rel).parent.mkdir(parents=True, exist_ok=True)
        (sessions / rel).write_bytes(data)
    env = {**world.env, "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.com"}
    done = subprocess.run([sys.executable, "-m", "headroom_ci", "learn", str(sessions), "--repo-path",
                           str(world.repo.work), "--apply"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # (examples/repo, the checkout, holds the file the path rule names as the right one.)
    subprocess.run(["git", "add", "--all"], cwd=world.repo.work, env=env, check=True)
    when = (datetime(2026, 11, 21, 12, tzinfo=timezone.utc) - timedelta(days=days_before)).isoformat()
    for args in (["commit", "--quiet", "-am", "Adopt the learned rules"], ["push", "--quiet", "origin", "main"]):
        done = subprocess.run(["git", *args], cwd=world.repo.work, capture_output=True, text=True,
                              env={**env, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
        assert done.returncode == 0, done.stderr
    text = world.repo.show("main", "AGENTS.md") or ""
    assert text.count("\n- ") >= 4
    return text


@pytest.mark.parametrize(("retire_after", "operation"), [
    pytest.param("", "unchanged", id="unset-never"),
    pytest.param("30", "created", id="30-days-retires"),
    pytest.param("200", "unchanged", id="200-days-longer-than-the-rules-are-in-effect"),
])
def test_retire_after_proposes_removing_rules_whose_failure_stopped(new_world: World, retire_after: str,
                                                                     operation: str) -> None:
    """The block has been on main for 112 days, and no run since had any of its failures."""
    block = _commit_block_on_main(new_world, days_before=112)
    job = new_world.job("learn", workspace=new_world.repo.work)
    result = job.run_action(new_world.action_dir, inputs={"retire-after": retire_after})
    assert result.outcome == "success", _logs(job)
    assert (result.outputs["sessions"], result.outputs["pull-request-operation"]) == ("0", operation)
    if operation == "unchanged":
        assert fake_pulls.pulls(new_world.gh) == [] and new_world.repo.branches() == ["main"], \
            fake_pulls.pulls(new_world.gh)[0]["body"]
        return
    proposed = new_world.repo.show("headroom/learn", "AGENTS.md") or ""
    span = find_block(block, source="AGENTS.md")
    assert span is not None
    rules = [line for line in block[span[0]:span[1]].splitlines() if line.startswith("- ")]
    assert len(rules) == 4 and not any(rule in proposed for rule in rules)
    assert proposed.startswith(EXAMPLE_AGENTS.rstrip("\n"))   # the rest of the file as it was
    (pull,) = fake_pulls.pulls(new_world.gh)
    assert "not seen for 30 days or more (--retire-after 30)" in pull["body"]


def test_include_rejected_proposes_again_the_rules_of_a_pull_request_closed_unmerged(world: World) -> None:
    first = world.job("first", workspace=world.repo.work)
    result = first.run_action(world.action_dir, inputs={})
    assert result.outcome == "success", _logs(first)
    assert (result.outputs["pull-request-operation"], result.outputs["pull-request-number"]) == ("created", "1")
    fake_pulls.close_pull(world.gh, 1)   # the reviewer said no to these rules
    again = world.job("again", workspace=world.repo.work)
    result = again.run_action(world.action_dir, inputs={"include-rejected": "false"})
    assert result.outcome == "success", _logs(again)
    assert (result.outputs["pull-request-operation"], result.outputs["pull-request-number"]) == ("unchanged", "")
    assert "- not proposed again (closed without merging in #1): " in again.summary
    assert len(fake_pulls.pulls(world.gh)) == 1
    last = world.job("include", workspace=world.repo.work)
    result = last.run_action(world.action_dir, inputs={"include-rejected": "true"})
    assert result.outcome == "success", _logs(last)
    assert (result.outputs["pull-request-operation"], result.outputs["pull-request-number"]) == ("created", "2")
    assert "not proposed again" not in last.summary
    assert_only_the_block_changed(world.repo, "headroom/learn")


@pytest.mark.parametrize(("inputs", "line"), [
    pytest.param({"include-fork-runs": "yes"},
                 "HEADROOM_CI_INCLUDE_FORK_RUNS: include-fork-runs: expected true or false, got 'yes'", id="forks"),
    pytest.param({"retire-after": "0"},
                 "HEADROOM_CI_RETIRE_AFTER: retire-after: expected a whole number ≥ 1, got '0'", id="retire-zero"),
    pytest.param({"retire-after": "30d"},
                 "HEADROOM_CI_RETIRE_AFTER: retire-after: expected a whole number ≥ 1, got '30d'", id="retire-unit"),
    pytest.param({"include-rejected": "1"},
                 "HEADROOM_CI_INCLUDE_REJECTED: include-rejected: expected true or false, got '1'", id="rejected"),
])
def test_an_invalid_input_fails_the_step_with_one_line_naming_it(world: World, inputs: dict[str, str],
                                                                  line: str) -> None:
    job = world.job("learn", workspace=world.repo.work)
    result = job.run_action(world.action_dir, inputs=inputs)
    assert result.outcome == "failure"
    step = job.log[-1]
    shown = [out for out in step.stdout.splitlines() if not out.startswith("::add-mask::")]
    assert step.id == "learn" and shown == [f"::error title=headroom-ci run::{line}"]
    # (stderr is fenced with ::stop-commands::, as every message that may quote a value is)
    assert [out for out in step.stderr.splitlines() if not out.startswith("::")] == [f"headroom-ci: error: {line}"]
    assert world.gh.log == [] and fake_pulls.pulls(world.gh) == []


# -- the outputs the steps write and the outputs the actions declare ------------------------------------
def _functions() -> tuple[dict[str, ast.AST], dict[str, dict[str, str]]]:
    """Every top-level function of headroom_ci by its dotted name, and each module's imported names."""
    functions: dict[str, ast.AST] = {}
    names: dict[str, dict[str, str]] = {}
    for path in sorted((REPO / "headroom_ci").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
            elif isinstance(node, ast.Import):
                imported.update({a.asname or a.name: a.name for a in node.names})
        names[module] = imported
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions[f"{module}.{node.name}"] = node
    return functions, names


def _callee(func: ast.expr, module: str, functions: dict[str, ast.AST], imported: dict[str, str]) -> str | None:
    if isinstance(func, ast.Name):
        return f"{module}.{func.id}" if f"{module}.{func.id}" in functions else imported.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in imported:
        return f"{imported[func.value.id]}.{func.attr}"
    return None


def written_by(command: str) -> set[str]:
    """The output names `headroom-ci COMMAND` can write: the keys of each actions.set_outputs call
    in a function its from_args reaches, calls followed through the package."""
    functions, names = _functions()
    todo, seen, written = [f"headroom_ci.commands.{command}.from_args"], set(), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        module = name.rsplit(".", 1)[0]
        for node in ast.walk(functions[name]):
            if not isinstance(node, ast.Call):
                continue
            callee = _callee(node.func, module, functions, names[module])
            if callee == "headroom_ci.actions.set_outputs":
                keys = node.args[0] if node.args else None
                # A name the code makes up at run time could not be checked: every call spells its names.
                literal = [k.value for k in keys.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)] \
                    if isinstance(keys, ast.Dict) else []
                assert isinstance(keys, ast.Dict) and len(literal) == len(keys.keys), \
                    f"{name}: set_outputs without a literal mapping"
                written |= set(literal)
            elif callee is not None:
                todo.append(callee)
    assert seen, command
    return written


_SHELL_OUTPUT = re.compile(r'(?:echo|printf)\s+["\']([A-Za-z][\w-]*)=[^\n]*>>\s*"\$GITHUB_OUTPUT"')
_STEP_OUTPUT = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")


@pytest.mark.parametrize("action", ["action.yml", "pr/action.yml", "collect/action.yml"])
def test_every_output_a_step_writes_is_declared_or_used_and_every_one_declared_is_written(action: str) -> None:
    doc = load_yaml(REPO / action)
    steps = doc["runs"]["steps"]
    text = (REPO / action).read_text()
    declared = {m.groups() for out in doc["outputs"].values() for m in _STEP_OUTPUT.finditer(out["value"])}
    read = set(_STEP_OUTPUT.findall(text))
    commands = 0
    for n, step in enumerate(steps):
        if "run" not in step or "id" not in step:
            continue
        script = step["run"]
        writes = set(_SHELL_OUTPUT.findall(script))
        command = re.search(r"-m headroom_ci ([a-z]+)", script) or re.search(r"args=\(([a-z]+)", script)
        if command:
            commands += 1
            writes |= written_by(command[1])
        later = {name for sid, name in set(_STEP_OUTPUT.findall(yaml.safe_dump(steps[n + 1:]))) if sid == step["id"]}
        mine = {name for sid, name in declared if sid == step["id"]}
        # Nothing written and then dropped: each output is the action's, or a later step's input.
        assert writes <= mine | later, f"{action}: step {step['id']} writes undeclared {sorted(writes - mine - later)}"
        # Nothing declared or read that the step never writes.
        wanted = {name for sid, name in read if sid == step["id"]}
        assert wanted <= writes, f"{action}: step {step['id']} never writes {sorted(wanted - writes)}"
    assert commands == 1


# -- the runner itself -------------------------------------------------------------------------------------
def _scope(**contexts: Any) -> Scope:
    return Scope({"inputs": {"dry-run": "true", "name": ""}, "steps": {"a": {"outputs": {"x": "1"}}},
                  "github": {"token": "t"}, **contexts})


@pytest.mark.parametrize(("expression", "value"), [
    ("inputs.dry-run", "true"), ("inputs.dry-run == 'TRUE'", True), ("inputs.name || 'default'", "default"),
    ("inputs.name && 'x'", ""), ("steps.a.outputs.x != ''", True), ("steps.a.outputs.missing", None),
    ("!inputs.name", True), ("(inputs.name == '') && always()", True), ("'it''s'", "it's"), ("1 == '1'", True),
])
def test_expressions(expression: str, value: Any) -> None:
    assert evaluate(expression, _scope()) == value


@pytest.mark.parametrize("expression", ["inputs.nope", "steps.b.outputs.x", "secrets.X", "format('{0}', 1)",
                                        "inputs.name < 1", "github.event.pull_request['title']", "vars.A"])
def test_what_the_runner_does_not_know_is_an_error(expression: str) -> None:
    with pytest.raises(ActionError):
        evaluate(expression, _scope())


def test_conditions_imply_success_unless_they_name_a_status() -> None:
    failed = Scope({"steps": {}}, failed=True)
    assert not condition("true", failed) and not condition(None, failed)
    assert condition("${{ always() }}", failed) and condition("failure()", failed)


def test_file_commands_are_read_like_the_runners() -> None:
    text = "a=1\nb<<EOF\nline one\nline=two\nEOF\nc=x<<y\n"
    assert parse_file_command(text, source="out") == {"a": "1", "b": "line one\nline=two", "c": "x<<y"}
    with pytest.raises(ActionError, match="no closing"):
        parse_file_command("a<<EOF\nnever closed\n", source="out")


# -- collect ------------------------------------------------------------------------------------------------
def _claude_transcript(job: Job, sid: str, day: int) -> Path:
    """What Claude Code leaves on the runner: a project transcript of the workspace, under HOME."""
    workspace = job.workspace.resolve()
    folder = Path(job.env["HOME"]) / ".claude" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(workspace))
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r).replace(ROOT, str(workspace)) for r in claude_run(sid, day)]
    path = folder / f"{sid}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _claude_code_action(sid: str, day: int) -> StandIn:
    """anthropics/claude-code-action: the agent works, and leaves its transcript."""
    def run(call: Call) -> Mapping[str, str]:
        assert call.with_["prompt"] == "Fix the failing signup test"
        assert call.with_["anthropic_api_key"] == "sk-ant-test-key"
        _claude_transcript(call.job, sid, day)
        return {"conclusion": "success"}
    return run


def _bundle_checks(files: Mapping[str, bytes], *, workspace: Path, run_id: str) -> None:
    manifest = json.loads(files["manifest.json"])
    assert manifest["run"]["id"] == run_id, manifest["run"]
    sessions = [name for name in files if name.startswith("sessions/")]
    assert len(sessions) == 1 and sessions[0].startswith("sessions/claude-"), sorted(files)
    for name, data in files.items():   # repo-relative: the runner's path is gone everywhere
        assert str(workspace.resolve()).encode() not in data, name


def test_the_collect_action_bundles_and_uploads_the_jobs_sessions(new_world: World) -> None:
    job = new_world.job("agent", workspace=new_world.repo.work, run_id="4242")
    artifacts = Artifacts()
    job.stand_ins = {"actions/upload-artifact": artifacts.upload}
    sid = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    _claude_transcript(job, sid, 11)
    result = job.run_action(new_world.action_dir / "collect", inputs={})
    assert result.outcome == "success", _logs(job)
    name = result.outputs.pop("artifact-name")
    assert re.fullmatch(r"agent-sessions-4242-1-agent-[0-9a-f]{8}", name), name
    bundle = result.outputs.pop("bundle-path")
    assert result.outputs == {"sessions": "1", "tool-calls": "7", "errors": "3"}
    assert list(artifacts.stored) == [name] and Path(bundle).is_dir()
    _bundle_checks(artifacts.stored[name], workspace=job.workspace, run_id="4242")
    assert job.summary.strip() == f"**headroom-ci collect**: 1 session (claude 1), 0 secrets redacted → artifact `{name}`"
    assert job.added_path == []
    # A second collect in the same job (or another leg of a matrix) gets a name of its own.
    again = job.run_action(new_world.action_dir / "collect", inputs={})
    assert again.outcome == "success", _logs(job)
    assert len(artifacts.stored) == 2 and again.outputs["artifact-name"] != name


def test_a_failed_upload_is_a_warning_not_a_failed_job(new_world: World) -> None:
    job = new_world.job("agent", workspace=new_world.repo.work, run_id="4242")
    artifacts = Artifacts()
    job.stand_ins = {"actions/upload-artifact": artifacts.upload}
    _claude_transcript(job, "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", 11)
    artifacts.stored["taken"] = {}
    result = job.run_action(new_world.action_dir / "collect", inputs={"name": "taken"})   # 409 Conflict
    assert result.outcome == "success", _logs(job)
    assert result.outputs["artifact-name"] == ""
    assert [s.outcome for s in job.log if s.name == "Upload the sessions"] == ["failure"]
    assert any(s.stdout.startswith("::warning::the sessions could not be uploaded") for s in job.log)
    assert not job.failed


@pytest.mark.parametrize("raw", ["true", "false"])
def test_raw_copies_keep_their_dot_names(new_world: World, raw: str) -> None:
    job = new_world.job("agent", workspace=new_world.repo.work, run_id="4242")
    artifacts = Artifacts()
    job.stand_ins = {"actions/upload-artifact": artifacts.upload}
    # A transcript folder given in `paths`, with a dot folder in it, as agents' own folders are named.
    saved = _claude_transcript(job, "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", 11)
    (job.workspace / "agent-logs" / ".claude").mkdir(parents=True)
    saved.rename(job.workspace / "agent-logs" / ".claude" / saved.name)
    result = job.run_action(new_world.action_dir / "collect", inputs={"raw": raw, "paths": "agent-logs"})
    assert result.outcome == "success", _logs(job)
    calls = [s for s in job.log if s.name == "Upload the sessions"]
    assert [s.outcome for s in calls] == ["success"]
    (files,) = artifacts.stored.values()
    on_disk = sorted(p.relative_to(result.outputs["bundle-path"]).as_posix()
                     for p in Path(result.outputs["bundle-path"]).rglob("*") if p.is_file())
    dotted = [f for f in on_disk if any(part.startswith(".") for part in f.split("/"))]
    assert bool(dotted) == (raw == "true")   # raw/ keeps the transcript's own folders, .claude among them
    assert sorted(files) == on_disk          # and every file is uploaded


def test_collect_on_windows_warns_and_leaves_the_job_green(new_world: World) -> None:
    job = new_world.job("agent", workspace=new_world.repo.work)
    job.runner_context["os"] = "Windows"
    result = job.run_action(new_world.action_dir / "collect", inputs={})
    assert result.outcome == "success"
    assert job.log[0].stdout.startswith("::warning::headroom collect runs on Linux and macOS runners, not Windows")
    assert [s.outcome for s in job.log[1:]] == ["skipped"] * (len(job.log) - 1)


def test_collect_on_enterprise_server_leaves_the_upload_to_the_job(new_world: World) -> None:
    job = new_world.job("agent", workspace=new_world.repo.work, server_url="https://github.example.com")
    _claude_transcript(job, "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", 11)
    result = job.run_action(new_world.action_dir / "collect", inputs={})   # no upload-artifact stand-in: not used
    assert result.outcome == "success", _logs(job)
    assert Path(result.outputs["bundle-path"]).is_dir() and result.outputs["artifact-name"] == ""
    assert any(s.stdout.startswith("::warning::upload-artifact v4 does not run on GitHub Enterprise Server")
               for s in job.log)


@pytest.mark.parametrize("action", ["", "pr"])
def test_the_actions_refuse_windows_up_front(world: World, action: str) -> None:
    job = world.job("learn", workspace=world.repo.work)
    job.runner_context["os"] = "Windows"
    inputs = {"plan": "plan.json"} if action else {}
    result = job.run_action(world.action_dir / action if action else world.action_dir, inputs=inputs)
    assert result.outcome == "failure"
    assert job.log[0].stdout == ("::error::headroom-ci runs on Linux and macOS runners, not Windows: run this job "
                                 "on ubuntu-latest\n")
    assert [s.outcome for s in job.log[1:]] == ["skipped"] * (len(job.log) - 1)


def test_no_sessions_is_a_notice_and_no_upload(new_world: World) -> None:
    job = new_world.job("agent", workspace=new_world.repo.work)
    artifacts = Artifacts()
    job.stand_ins = {"actions/upload-artifact": artifacts.upload}
    result = job.run_action(new_world.action_dir / "collect", inputs={})
    assert result.outcome == "success", _logs(job)
    assert result.outputs["artifact-name"] == "" and result.outputs["sessions"] == "0"
    assert artifacts.stored == {}
    assert any("::notice" in s.stdout for s in job.log)


def _into_run(state: fake_actions.Actions, run: fake_actions.Run) -> Callable[[str, dict[str, bytes]], None]:
    """upload-artifact's other half: the artifact lands on the fake GitHub, in this workflow run."""
    def upload(name: str, files: dict[str, bytes]) -> None:
        state.add_artifact(run, name, data=fake_actions.zip_of(files))
    return upload


def test_agent_runs_with_collect_then_the_weekly_learn_opens_the_pull_request(new_world: World) -> None:
    """examples/agent-with-collect.yml three times, then examples/learn-weekly.yml: the whole loop."""
    state = fake_actions.of(new_world.gh)
    workflow = state.workflow("agent.yml")
    assert workflow is not None
    now = datetime.now(timezone.utc)
    sids = ("0b6f2c9e-1d4a-4e8b-9f3c-5a7d2e1b8c40", "9e3a7d15-6c2b-4f0e-8d9a-1b4c7e2f5a63",
            "7c1d9e20-3b4a-4f5e-8a6b-9c0d1e2f3a4b")
    for n, sid in enumerate(sids, 1):
        run = state.add_run(workflow, created_at=_ago(now, hours=10 - n), id=500 + n)
        job = new_world.job(f"agent-{n}", run_id=str(run.id), job="agent")
        job.env["HOME"] = str(new_world.tmp / f"agent-{n}" / "home")   # a fresh runner each time
        artifacts = Artifacts(on_upload=_into_run(state, run))
        job.stand_ins = {"actions/checkout": checkout_from(new_world.repo.bare),
                         "anthropics/claude-code-action": _claude_code_action(sid, n),
                         "actions/upload-artifact": artifacts.upload}
        result = job.run_job(REPO / "examples" / "agent-with-collect.yml", "agent",
                             secrets={"ANTHROPIC_API_KEY": "sk-ant-test-key"},
                             inputs={"task": "Fix the failing signup test"})
        assert result.outcome == "success", _logs(job)
        (name,) = artifacts.stored
        assert re.fullmatch(f"agent-sessions-{run.id}-1-agent-[0-9a-f]{{8}}", name), name
        _bundle_checks(artifacts.stored[name], workspace=job.workspace, run_id=str(run.id))

    learn = new_world.job("weekly", event_name="schedule")
    learn.stand_ins = {"actions/checkout": checkout_from(new_world.repo.bare)}
    result = learn.run_job(REPO / "examples" / "learn-weekly.yml", "learn")
    assert result.outcome == "success", _logs(learn)
    outputs = result.context["learn"]["outputs"]
    assert (outputs["pull-request-operation"], outputs["sessions"]) == ("created", "3")
    assert_only_the_block_changed(new_world.repo, "headroom/learn")
    assert "`uv run pytest`" in (new_world.repo.show("headroom/learn", "AGENTS.md") or "")


# -- the push uses the action's token ------------------------------------------------------------------
class _Recorder(BaseHTTPRequestHandler):
    seen: list[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).seen.append(self.headers.get_all("Authorization") or [])
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_git_authenticates_with_the_input_token_not_a_persisted_one(world: World) -> None:
    """actions/checkout persists its token as an extra header; the action replaces it with its own
    github-token input (an App token must push too, or the pull request's checks never start)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        git(world.repo.work, "config", f"http.{url}/.extraheader", "AUTHORIZATION: basic cGVyc2lzdGVk")
        job = world.job("auth", workspace=world.repo.work, server_url=url)
        # A stand-in for the program that only asks the server something through git.
        fake_python = job.temp / "fake-venv" / "bin" / "python"
        fake_python.parent.mkdir(parents=True)
        fake_python.write_text(f'#!/bin/sh\nenv > "{job.temp}/env"\ngit ls-remote "{url}/acme/shop.git" || true\n')
        fake_python.chmod(0o755)
        job.done = {**job.done, "install": {"python": str(fake_python)}}
        app_token = "ghs_appTokenForTheTest000000000000"
        result = job.run_action(world.action_dir, inputs={"github-token": app_token})
        assert result.outcome == "success", _logs(job)
    finally:
        server.shutdown()
        server.server_close()
    expected = "basic " + base64.b64encode(f"x-access-token:{app_token}".encode()).decode()
    assert _Recorder.seen and all(h == [expected] for h in _Recorder.seen), _Recorder.seen
    assert expected.removeprefix("basic ") in job.masks
    # Through GIT_CONFIG_PARAMETERS, which git reads since 1.7, not GIT_CONFIG_COUNT (git 2.31).
    env = (job.temp / "env").read_text()
    assert "GIT_CONFIG_PARAMETERS=" in env and "GIT_CONFIG_COUNT" not in env


@pytest.mark.parametrize("action", ["", "pr"])
def test_a_git_too_old_is_named_before_any_work(world: World, action: str) -> None:
    job = world.job("learn", workspace=world.repo.work)
    old = job.temp / "old-git"
    old.mkdir()
    (old / "git").write_text("#!/bin/sh\necho 'git version 2.17.1'\n")
    (old / "git").chmod(0o755)
    job.env["PATH"] = f"{old}{os.pathsep}{job.env['PATH']}"
    inputs = {"plan": "plan.json"} if action else {}
    result = job.run_action(world.action_dir / action if action else world.action_dir, inputs=inputs)
    assert result.outcome == "failure"
    assert job.log[0].stdout == "::error::git version 2.17.1 is too old: headroom-ci needs git 2.18 or later on the runner\n"
    assert fake_pulls.pulls(world.gh) == [] and world.gh.log == []


# -- the install ----------------------------------------------------------------------------------------------
def test_the_install_builds_a_new_environment_every_time(tmp_path: Path, action_dir: Path) -> None:
    """Whatever sits under RUNNER_TEMP already (an earlier step's venv, a planted one) is not used."""
    env = runner_env(tmp_path / "home", tmp_path / "tools")
    job = Job(workspace=tmp_path / "workspace", temp=tmp_path / "temp", github={"token": TOKEN}, env=env)
    planted = tmp_path / "temp" / VENV / "bin"
    planted.mkdir(parents=True)
    (planted / "headroom-ci").write_text("#!/bin/sh\necho planted\n")
    (planted / "python").write_text("#!/bin/sh\necho planted\n")
    step = _install(job, action_dir)
    assert step.outcome == "success", step.stdout + step.stderr
    python = Path(step.outputs["python"])
    assert python.parent != planted and python.is_file()
    frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True)
    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\", (action_dir / "action-requirements.txt").read_text(), re.M))
    installed = {name.lower().replace("_", "-"): version for name, version in
                 (line.split("==") for line in frozen.stdout.splitlines() if "==" in line)}
    assert {k: installed.get(k) for k in locked} == locked   # exactly the lock's versions


def test_a_tampered_lock_stops_the_install(tmp_path: Path, action_dir: Path) -> None:
    copy = tmp_path / "action"
    shutil.copytree(action_dir, copy)
    lock = copy / "action-requirements.txt"
    lock.write_text(re.sub(r"--hash=sha256:[0-9a-f]{64}", "--hash=sha256:" + "0" * 64, lock.read_text()))
    job = Job(workspace=tmp_path / "workspace", temp=tmp_path / "temp", github={"token": TOKEN},
              env=runner_env(tmp_path / "home", tmp_path / "tools"))
    step = _install(job, copy)
    assert step.outcome == "failure"
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in step.stderr


@pytest.mark.parametrize("with_uv", [pytest.param(False, id="pip"), pytest.param(True, id="uv")])
def test_collect_installs_only_what_it_imports_and_collects_with_it(new_world: World, with_uv: bool) -> None:
    """collect's own install (not the learn action's): msgspec at the lock's version, nothing else,
    and the collect step runs on it."""
    job = new_world.job("agent", workspace=new_world.repo.work, run_id="4242")
    if with_uv:
        uv = shutil.which("uv", path=str(Path(sys.executable).parent))
        assert uv, "the test extra installs uv"
        tools = new_world.tmp / "uv-tools"
        tools.mkdir()
        (tools / "uv").symlink_to(uv)
        job.env["PATH"] = f"{tools}{os.pathsep}{job.env['PATH']}"
    job.done = {}
    step = _install(job, new_world.action_dir / "collect")
    assert step.outcome == "success", step.stdout + step.stderr
    python = Path(step.outputs["python"])
    listed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout.split()
    locked = re.search(r"^msgspec==(\S+) ", (new_world.action_dir / "collect-requirements.txt").read_text(), re.M)
    assert locked and listed == [f"msgspec=={locked[1]}"]
    artifacts = Artifacts()
    job.stand_ins = {"actions/upload-artifact": artifacts.upload}
    job.done = {"python": {"python-path": PYTHON}, "install": {"python": str(python)}}
    _claude_transcript(job, "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", 11)
    result = job.run_action(new_world.action_dir / "collect", inputs={})
    assert result.outcome == "success", _logs(job)
    assert result.outputs["sessions"] == "1" and list(artifacts.stored) == [result.outputs["artifact-name"]]
