"""`headroom-ci pr` end to end: real git repositories (a bare one standing in for GitHub's) and
the fake GitHub server, reached the way users reach GitHub: through the CLI's own flags."""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headroom_ci import gitops
from headroom_ci.learning.block import find_block
from headroom_ci.commands import pr as pr_cmd
from headroom_ci.errors import FatalError
from headroom_ci.github.body import fingerprints_in
from headroom_ci.github.pulls import ACTIONS_SETTING
from headroom_ci.main import main
from headroom_ci.learning.plan import to_dict
from testing.examples import example_files
from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN
from testing.fake_github import pulls as fake
from testing.gitrepo import git
from testing.gitrepo import GitFixture
from testing.gitrepo import HUMAN
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo

EXAMPLE_AGENTS = Path(__file__).resolve().parents[2] / "examples" / "repo" / "AGENTS.md"
ALL = ["c8508618d90c0c0f", "7c44f5d9df0cd819", "96906ef5e6d52c3c", "c04175d22367f213"]
LINT = "c04175d22367f213"  # the rule seen in 2 sessions only: gone with --min-sessions 3
NPM = "7c44f5d9df0cd819"  # 3 sessions of 2 CI runs: gone with --min-sessions 3 too (runs are counted)
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
ENV_ROW = ("| added | Environment | Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is only in the "
           "uv environment. | 4 | 3 | ~61/session | "
           "[103](https://github.com/acme/shop/actions/runs/103), [102](https://github.com/acme/shop/actions/runs/102), "
           "[101](https://github.com/acme/shop/actions/runs/101) |")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Plans `learn` made from the example sessions: all four rules, three, and none."""
    root = tmp_path_factory.mktemp("plans")
    sessions, repo = root / "sessions", root / "repo"
    for rel, data in example_files().items():
        (sessions / rel).parent.mkdir(parents=True, exist_ok=True)
        (sessions / rel).write_bytes(data)
    repo.mkdir()
    shutil.copy(EXAMPLE_AGENTS, repo / "AGENTS.md")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1795219200")  # 2026-11-21
        for name, min_sessions in (("four", 2), ("three", 3), ("none", 5)):
            out[name] = root / f"{name}.json"
            assert main(["learn", str(sessions), "--repo-path", str(repo), "--plan-out", str(out[name]),
                         "--min-sessions", str(min_sessions)]) == 0
    return out


@dataclass
class World:
    gh: FakeGitHub
    repo: GitFixture
    plans: dict[str, Path]
    env: dict[str, str]

    def pr(self, plan: str, *flags: str) -> str:
        """Runs `headroom-ci pr` as the CLI would; its output."""
        parser = argparse.ArgumentParser(prog="headroom-ci")
        pr_cmd.add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["pr", "--plan", str(self.plans.get(plan, plan)), "--repo-path", str(self.repo.work),
                                  *flags])
        out = io.StringIO()
        assert pr_cmd.from_args(args, out=out, env=self.env) == 0
        return out.getvalue()

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.gh.log if r.method != "GET"]

    def body(self, number: int = 1) -> str:
        return str(fake.pulls(self.gh)[number - 1]["body"])


@pytest.fixture
def world(tmp_path: Path, plans: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795219200")
    repo = make_repo(tmp_path / "git", {"AGENTS.md": EXAMPLE_AGENTS.read_text(), "src/app.py": "print()\n"})
    with FakeGitHub() as gh:
        fake.use_bare(gh, repo.bare)
        yield World(gh, repo, plans, {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/shop",
                                      "GITHUB_API_URL": gh.api_url})


def _outside_block(text: str) -> str:
    span = find_block(text, source="t")
    return text if span is None else text[: span[0]] + text[span[1]:]


def _assert_only_the_block_changed(world: World) -> None:
    repo = world.repo
    assert repo.changed("main", "headroom/learn") == ["AGENTS.md"]
    main_text, branch_text = repo.show("main", "AGENTS.md") or "", repo.show("headroom/learn", "AGENTS.md") or ""
    assert _outside_block(branch_text).rstrip("\n") == _outside_block(main_text).rstrip("\n")
    assert repo.authors("main", "headroom/learn") == [BOT_EMAIL]


# -- the six scenarios -------------------------------------------------------------------------

def test_a_first_run_creates_a_pull_request_touching_only_the_block(world: World, tmp_path: Path) -> None:
    main_sha = world.repo.sha("main")
    outputs = tmp_path / "outputs"
    world.env["GITHUB_OUTPUT"] = str(outputs)
    out = world.pr("four", "--labels", "agents,docs", "--reviewers", "dana", "--team-reviewers", "core",
                   "--assignees", "dana", "--draft")
    assert out == "pull-request-operation: created #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)\n"
    _assert_only_the_block_changed(world)
    plan = json.loads(world.plans["four"].read_text())
    assert world.repo.show("headroom/learn", "AGENTS.md") == plan["targets"][0]["new_content"]
    assert world.repo.sha("main") == main_sha
    assert world.writes() == [("POST", "/repos/acme/shop/pulls"), ("POST", "/repos/acme/shop/pulls/1/requested_reviewers"),
                              ("POST", "/repos/acme/shop/pulls/1/requested_reviewers"),
                              ("POST", "/repos/acme/shop/issues/1/assignees"), ("POST", "/repos/acme/shop/issues/1/labels")]
    stored = fake.pulls(world.gh)[0]
    assert (stored["title"], stored["draft"], stored["labels"], stored["reviewers"], stored["teams"]) == (
        "headroom-ci: add 4 rules in AGENTS.md", True, ["agents", "docs"], ["dana"], ["core"])
    assert fingerprints_in(world.body()) == tuple(ALL)
    assert ENV_ROW in world.body().splitlines()
    assert "pull-request-operation<<" in outputs.read_text() and "\ncreated\n" in outputs.read_text()
    message = git(world.repo.bare, "log", "-1", "--format=%B", "headroom/learn").splitlines()
    assert message[:4] == ["headroom-ci: add 4 rules in AGENTS.md", "",
                           "Rules in the headroom:learn block, learned from 4 agent sessions:",
                           "- added: [Environment] Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is "
                           "only in the uv environment."]


def test_a_second_run_with_the_same_plan_changes_nothing(world: World) -> None:
    world.pr("four", "--labels", "agents")
    branch, body = world.repo.sha("headroom/learn"), world.body()
    world.gh.log.clear()
    out = world.pr("four", "--labels", "agents")
    assert out == "pull-request-operation: unchanged #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)\n"
    assert (world.writes(), world.repo.sha("headroom/learn"), world.body()) == ([], branch, body)


def test_a_run_whose_rules_changed_updates_the_same_pull_request(world: World) -> None:
    world.pr("three")
    first = world.repo.sha("headroom/learn")
    assert LINT not in fingerprints_in(world.body())
    world.gh.log.clear()
    out = world.pr("four")
    assert out == "pull-request-operation: updated #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)\n"
    assert world.writes() == [("PATCH", "/repos/acme/shop/pulls/1")]
    assert len(fake.pulls(world.gh)) == 1
    assert fingerprints_in(world.body()) == tuple(ALL)
    assert world.repo.sha("headroom/learn") != first
    _assert_only_the_block_changed(world)
    assert fake.pulls(world.gh)[0]["title"] == "headroom-ci: add 4 rules in AGENTS.md"


def test_a_run_with_nothing_left_to_propose_closes_it(world: World) -> None:
    world.pr("four")
    world.gh.log.clear()
    out = world.pr("none")
    assert out == "pull-request-operation: closed #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)\n"
    assert world.writes() == [("POST", "/repos/acme/shop/issues/1/comments"), ("PATCH", "/repos/acme/shop/pulls/1")]
    assert fake.pulls(world.gh)[0]["state"] == "closed"
    assert fake.comments(world.gh, 1)[0].startswith("headroom-ci has nothing left to propose: `main` already has")
    assert world.repo.branches() == ["main"]
    # Closing it ourselves is not a rejection: the same rules are proposed again later.
    assert fingerprints_in(world.body()) == ()
    assert world.pr("four").startswith("pull-request-operation: created #2 ")
    assert fingerprints_in(world.body(2)) == tuple(ALL)


def test_a_branch_a_human_pushed_to_is_left_alone(world: World) -> None:
    world.pr("three")
    human = world.repo.push_files("headroom/learn", {"AGENTS.md": "# my own words\n"})
    world.gh.log.clear()
    for _ in range(2):
        out = world.pr("four")
        assert out.splitlines() == [
            "headroom/learn has commits not made by github-actions[bot]: left alone; delete the branch to get a "
            "fresh proposal",
            "pull-request-operation: skipped #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)"]
    assert world.repo.sha("headroom/learn") == human
    assert world.writes() == [("POST", "/repos/acme/shop/issues/1/comments")]  # one comment, not one a run
    assert fake.comments(world.gh, 1)[0].startswith("<!-- headroom-ci:human-edits -->\nSomeone other than")
    assert world.repo.authors("main", "headroom/learn") == [HUMAN[1], BOT_EMAIL]


def test_a_branch_of_the_former_bot_identity_is_still_headroom_s(world: World) -> None:
    world.pr("three", "--author-name", "headroom-ci[bot]", "--author-email", "headroom-ci@users.noreply.github.com")
    out = world.pr("four")
    assert out.splitlines()[-1] == \
        "pull-request-operation: updated #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)"
    assert world.repo.authors("main", "headroom/learn") == [BOT_EMAIL]   # rebuilt, not left alone


def test_a_proposal_closed_without_merging_is_not_proposed_again(world: World, tmp_path: Path) -> None:
    world.pr("three")
    fake.close_pull(world.gh, 1)  # the reviewer said no to these three rules
    world.env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary.md")
    out = world.pr("four")
    summary = (tmp_path / "summary.md").read_text().splitlines()
    assert summary[:3] == ["## headroom-ci pull request", "",
                           "Pull request [#2](https://github.com/acme/shop/pull/2) created (`headroom/learn` → `main`)"]
    assert summary[4].startswith("- not proposed again (closed without merging in #1): Run tests with `uv run pytest`")
    assert len(summary) == 6
    lines = out.splitlines()
    # --min-sessions 3 counts CI runs: the npm rule (3 sessions, 2 runs) was not in the closed proposal.
    assert lines[:2] == [f"not proposed again (closed without merging in #1): {r}" for r in (
        "- Run tests with `uv run pytest`, not `python3 -m pytest`: `fastapi` is only in the uv environment.",
        "- `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py`.")]
    assert lines[2] == "pull-request-operation: created #2 https://github.com/acme/shop/pull/2 (headroom/learn → main)"
    assert fingerprints_in(world.body(2)) == (NPM, LINT)
    assert "### Not proposed again" in world.body(2) and "(closed in #1)" in world.body(2)
    branch_text = world.repo.show("headroom/learn", "AGENTS.md") or ""
    assert "`make lint`" in branch_text and "uv run pytest" not in branch_text
    _assert_only_the_block_changed(world)
    # --include-rejected proposes them all again.
    assert world.pr("four", "--include-rejected").startswith("pull-request-operation: updated #2 ")
    assert fingerprints_in(world.body(2)) == tuple(ALL)


def test_when_every_rule_was_rejected_nothing_is_opened(world: World) -> None:
    world.pr("four")
    fake.close_pull(world.gh, 1)
    world.gh.log.clear()
    out = world.pr("four")
    assert out.splitlines()[-1] == "pull-request-operation: unchanged (headroom/learn → main)"
    assert (world.writes(), len(fake.pulls(world.gh))) == ([], 1)


# -- the base, the branch and the push -----------------------------------------------------------

def test_a_base_that_moved_since_the_plan_is_merged_into_not_overwritten(world: World) -> None:
    old = world.repo.show("main", "AGENTS.md") or ""
    newer = old.replace("## Working here\n", "## Working here\n\n- Use Python 3.12.\n") + (
        "\n<!-- headroom:learn:start -->\n## Headroom Learned Patterns\n\n### Permission Notes\n"
        "- `rm -rf /` is not permitted here.\n\n<!-- headroom:learn:end -->\n")
    world.repo.push_files("main", {"AGENTS.md": newer}, who=("Repo Owner", "owner@example.com"))
    out = world.pr("four")
    assert out.splitlines()[0] == ("note: AGENTS.md on main changed since the plan was made: its rules were merged "
                                   "into the current file")
    text = world.repo.show("headroom/learn", "AGENTS.md") or ""
    assert "- Use Python 3.12." in text and "`rm -rf /` is not permitted here." in text
    assert "### Environment" in text and "`make lint`" in text
    _assert_only_the_block_changed(world)
    assert "> The base moved since these rules were learned" in world.body()


def test_a_malformed_block_on_the_base_is_an_error_naming_the_line(world: World) -> None:
    old = world.repo.show("main", "AGENTS.md") or ""
    world.repo.push_files("main", {"AGENTS.md": old + "\n<!-- headroom:learn:start -->\n"})
    with pytest.raises(FatalError, match=r"^AGENTS.md on main:11: a start marker with no end marker after it"):
        world.pr("four")
    assert world.repo.branches() == ["main"]


def test_the_base_moving_elsewhere_does_not_rebuild_the_branch(world: World) -> None:
    world.pr("four")
    branch = world.repo.sha("headroom/learn")
    world.repo.push_files("main", {"src/app.py": "print('moved')\n"}, who=("Repo Owner", "owner@example.com"))
    world.gh.log.clear()
    assert world.pr("four").startswith("pull-request-operation: unchanged #1 ")
    assert (world.repo.sha("headroom/learn"), world.writes()) == (branch, [])


def test_a_shallow_checkout_works_like_a_full_one(world: World, tmp_path: Path) -> None:
    """actions/checkout clones at depth 1: the branch's own commits are still read right."""
    world.repo.push_files("main", {"src/app.py": "print(1)\n"})  # a human's commit is the branch's start
    world.pr("four")
    world.repo.push_files("main", {"src/app.py": "print(2)\n"})
    for n, plan in enumerate(("four", "three")):
        world.repo.work = tmp_path / f"shallow-{n}"
        git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{world.repo.bare}", str(world.repo.work))
        assert world.pr(plan).startswith(f"pull-request-operation: {('unchanged', 'updated')[n]} #1 ")
    _assert_only_the_block_changed(world)


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_a_merged_proposal_is_done(world: World, method: str) -> None:
    world.pr("four")
    fake.merge_pull(world.gh, 1, method=method)
    world.gh.log.clear()
    out = world.pr("four")
    assert out == "pull-request-operation: unchanged (headroom/learn → main)\n"
    assert world.writes() == []


def test_a_rejected_push_says_what_to_do_and_leaves_main(world: World) -> None:
    main_sha = world.repo.sha("main")
    world.repo.reject_pushes("error: GH006: Protected branch update failed for refs/heads/headroom/learn.")
    with pytest.raises(gitops.ProtectedBranchError, match="exclude it from the rule, or pass --branch"):
        world.pr("four")
    assert (world.repo.sha("main"), world.repo.branches(), world.writes()) == (main_sha, ["main"], [])


@pytest.mark.parametrize("branch, message", [
    ("main", "--branch main is the base branch: headroom-ci never pushes to the base"),
    ("bad..name", "--branch 'bad..name': not a valid branch name"),
])
def test_the_branch_must_be_a_branch_and_not_the_base(world: World, branch: str, message: str) -> None:
    with pytest.raises(FatalError, match=re.escape(message)):
        world.pr("four", f"--branch={branch}")
    assert world.writes() == []


def test_dry_run_of_a_close_writes_nothing(world: World) -> None:
    world.pr("four")
    world.gh.log.clear()
    assert world.pr("none", "--dry-run") == ("pull-request-operation: closed #1 https://github.com/acme/shop/pull/1 "
                                            "(headroom/learn → main) (dry run: nothing pushed, nothing changed on "
                                            "GitHub)\n")
    assert (world.writes(), fake.pulls(world.gh)[0]["state"]) == ([], "open")
    assert world.repo.branches() == ["headroom/learn", "main"]


def test_dry_run_writes_nothing(world: World) -> None:
    out = world.pr("four", "--dry-run", "--labels", "agents")
    assert out.startswith("title: headroom-ci: add 4 rules in AGENTS.md\n\n<!-- headroom-ci:fingerprints ")
    assert out.endswith("pull-request-operation: created (headroom/learn → main) "
                        "(dry run: nothing pushed, nothing changed on GitHub)\n")
    assert (world.writes(), world.repo.branches()) == ([], ["main"])


# -- GitHub's answers ------------------------------------------------------------------------------

def test_a_pull_request_opened_meanwhile_is_updated_not_duplicated(world: World) -> None:
    world.pr("three")
    # Both listings answer as if the pull request did not exist yet (another run is opening it).
    world.gh.fail("GET", r"/repos/acme/shop/pulls$", status=200, body=b"[]", times=2)
    out = world.pr("four")
    assert out.startswith("pull-request-operation: updated #1 ")
    assert [(r.method, r.path) for r in world.gh.log if r.method != "GET"][-2:] == [
        ("POST", "/repos/acme/shop/pulls"), ("PATCH", "/repos/acme/shop/pulls/1")]
    assert len(fake.pulls(world.gh)) == 1 and fingerprints_in(world.body()) == tuple(ALL)


def test_actions_not_permitted_to_create_pull_requests(world: World) -> None:
    world.gh.fail("POST", r"/pulls$", status=403, body={
        "message": "GitHub Actions is not permitted to create or approve pull requests.",
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"})
    with pytest.raises(FatalError) as err:
        world.pr("four")
    assert str(err.value) == "creating the pull request headroom/learn → main: " + ACTIONS_SETTING
    # Once the setting is on, the next run opens it from the branch already pushed.
    branch = world.repo.sha("headroom/learn")
    assert world.pr("four").startswith("pull-request-operation: created #1 ")
    assert world.repo.sha("headroom/learn") == branch


@pytest.mark.parametrize("method, path, status, headers", [
    ("GET", r"/pulls$", 502, {}),
    ("POST", r"/pulls$", 500, {}),
    ("POST", r"/pulls$", 403, {"Retry-After": "1"}),  # a secondary rate limit
])
def test_transient_failures_then_success(world: World, method: str, path: str, status: int,
                                         headers: dict[str, str]) -> None:
    world.gh.fail(method, path, status=status, headers=headers, body={"message": "You have exceeded a secondary rate "
                                                                                 "limit" if status == 403 else "Oops"})
    assert world.pr("four").startswith("pull-request-operation: created #1 ")
    assert len(fake.pulls(world.gh)) == 1


def test_a_5xx_after_the_pull_request_was_created_still_asks_reviewers(world: World, tmp_path: Path) -> None:
    world.env["GITHUB_OUTPUT"] = str(tmp_path / "outputs")
    world.gh.fail("POST", r"/pulls$", status=502, body={"message": "Server Error"}, after=True)
    out = world.pr("four", "--reviewers", "dana", "--team-reviewers", "core", "--assignees", "dana")
    assert out == "pull-request-operation: created #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)\n"
    stored = fake.pulls(world.gh)
    assert [(p["reviewers"], p["teams"], p["assignees"]) for p in stored] == [(["dana"], ["core"], ["dana"])]
    assert "pull-request-number<<" in (tmp_path / "outputs").read_text()


def test_labels_and_reviewers_that_fail_are_warnings(world: World, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    world.env["GITHUB_OUTPUT"] = str(outputs)
    world.gh.state.update(collaborators={"dana"}, teams=set())
    world.gh.fail("POST", r"/labels$", status=403, body={"message": "Resource not accessible by integration"})
    out = world.pr("four", "--labels", "agents", "--reviewers", "dana", "--team-reviewers", "core")
    assert out.splitlines() == [
        "warning: could not request team reviews from core on #1: Reviews may only be requested from collaborators. "
        "One or more of the users or teams you specified is not a collaborator of the acme/shop repository.",
        "warning: could not label #1 with agents: Resource not accessible by integration",
        "pull-request-operation: created #1 https://github.com/acme/shop/pull/1 (headroom/learn → main)"]
    assert fake.pulls(world.gh)[0]["reviewers"] == ["dana"]
    assert "\ncreated\n" in outputs.read_text()
    # The next run adds the label, and says nothing more.
    assert world.pr("four", "--labels", "AGENTS").startswith("pull-request-operation: updated #1 ")
    assert fake.pulls(world.gh)[0]["labels"] == ["AGENTS"]


def test_the_outputs_name_the_pull_request_even_when_a_later_call_fails(world: World, tmp_path: Path) -> None:
    world.pr("four")
    outputs = tmp_path / "outputs"
    world.env["GITHUB_OUTPUT"] = str(outputs)
    world.gh.fail("PATCH", r"/pulls/1$", status=422, body={"message": "Validation Failed"})
    with pytest.raises(FatalError):
        world.pr("three")
    text = outputs.read_text()
    assert "pull-request-number<<" in text and "\n1\n" in text
    assert "https://github.com/acme/shop/pull/1" in text


def test_no_token(world: World) -> None:
    del world.env["GITHUB_TOKEN"]
    with pytest.raises(FatalError, match="no token: pass --github-token, set GITHUB_TOKEN or GH_TOKEN"):
        world.pr("four")


# -- the plan file -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["four", "three", "none"])
def test_a_plan_reads_back_as_it_was_written(plans: dict[str, Path], name: str) -> None:
    doc = json.loads(plans[name].read_text())
    assert json.loads(json.dumps(to_dict(pr_cmd.load_plan(str(plans[name]))))) == {"llm": None, **doc}


def _edited(plans: dict[str, Path], tmp_path: Path, edit: str) -> str:
    doc = json.loads(plans["four"].read_text())
    if edit == "version":
        doc["version"] = 2
    elif edit == "format":
        doc["format"] = "something-else"
    elif edit == "missing":
        del doc["recommendations"][0]["fingerprint"]
    elif edit == "type":
        doc["findings"][0]["evidence"][0]["run_id"] = 101
    elif edit == "section":
        doc["recommendations"][0]["section"] = "Jokes"
    path = tmp_path / f"{edit}.json"
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.parametrize("edit, message", [
    ("version", r"plan version 2, this headroom-ci reads version 1: use the same headroom-ci version"),
    ("format", r'not a headroom-ci plan \(no "format": "headroom-ci-plan"\)'),
    ("missing", r"malformed plan: recommendations\[0\]: missing 'fingerprint'"),
    ("type", r"malformed plan: findings\[0\]\.evidence\[0\]\.run_id: expected str \| None"),
    ("section", r"malformed plan: recommendations\[0\]\.section 'Jokes' is not one of Environment, "),
])
def test_a_bad_plan_names_the_file(world: World, tmp_path: Path, edit: str, message: str) -> None:
    path = _edited(world.plans, tmp_path, edit)
    with pytest.raises(FatalError, match=f"^{path}: " + message):
        world.pr(path)


@pytest.mark.parametrize("content, message", [
    (None, "no such plan file: write one with headroom-ci learn --plan-out"),
    ("{not json", "not a readable plan"),
    (b'{"a": "caf\xe9"}', "byte 0xe9 is not valid UTF-8: write the plan again"),
    ("fifo", "cannot read: not a regular file: write the plan again"),
])
def test_an_unreadable_plan_names_the_file(world: World, tmp_path: Path, content: str | bytes | None,
                                           message: str) -> None:
    path = tmp_path / "plan.json"
    if content == "fifo":
        os.mkfifo(path)  # a read would wait for a writer forever
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(FatalError, match=f"^{path}(:1:11)?: {message}"):
        world.pr(str(path))


def test_a_plan_edited_to_touch_more_than_the_block_is_refused(world: World, tmp_path: Path) -> None:
    doc = json.loads(world.plans["four"].read_text())
    doc["targets"][0]["new_content"] = "# pwned\n" + doc["targets"][0]["new_content"]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FatalError, match="the new content of AGENTS.md is not the merge of the plan's rules"):
        world.pr(str(path))
    assert world.repo.branches() == ["main"]


@pytest.mark.parametrize("target", ["../outside.md", "/home/me/.claude/CLAUDE.md", ".github/workflows/ci.yml"])
def test_targets_outside_the_repository_or_not_markdown_are_left_out(world: World, tmp_path: Path,
                                                                     target: str) -> None:
    doc = json.loads(world.plans["four"].read_text())
    doc["targets"][0]["path"] = target
    path = tmp_path / "outside.json"
    path.write_text(json.dumps(doc))
    out = world.pr(str(path))
    assert out.splitlines() == [f"note: {target}: not a markdown file inside the repository, left out of the pull "
                                "request", "pull-request-operation: unchanged (headroom/learn → main)"]
    assert world.repo.branches() == ["main"]


def test_closing_a_pull_request_rejects_only_the_rules_it_added(world: World) -> None:
    world.pr("three")
    fake.merge_pull(world.gh, 1)
    out = world.pr("four")  # the base holds two of the four rules now: this one adds the other two only
    assert "pull-request-operation: created #2" in out
    assert fake.pulls(world.gh)[1]["title"] == "headroom-ci: add 2 rules in AGENTS.md"
    assert sorted(fingerprints_in(world.body(2))) == sorted((NPM, LINT))
    fake.close_pull(world.gh, 2)
    out = world.pr("four")
    assert sorted(line for line in out.splitlines() if line.startswith("not proposed again")) == [
        "not proposed again (closed without merging in #2): - Lint with `uv run ruff check`, not `make lint`: there "
        "is no `lint` target; do not retry it.",
        "not proposed again (closed without merging in #2): - Run tests with `npm run test:unit` in `web/`, not "
        "`npm test`: there is no `test` script."]
    assert "pull-request-operation: unchanged" in out and len(fake.pulls(world.gh)) == 2
    block = (world.repo.show("main", "AGENTS.md") or "")
    assert all(fp in block for fp in ALL if fp not in (LINT, NPM))  # merged rules stay recorded, never "rejected"
