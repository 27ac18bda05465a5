"""Five weekly runs of learn and pr on one repository: rules last, people's edits hold, proof per rule.

A real git repository (a bare one standing in for GitHub's) and the fake GitHub; each week reads
the last two weeks of CI runs, as a weekly workflow with a two-week window does.
1. three rules proposed and merged, one reworded by the reviewer on the branch;
2. new counts, same rules: no file change, no pull request, the rewording kept; before/after
   figures per rule (`working` for the failure that stopped, `recurring` for one that goes on);
3. a person deletes a rule on main: held back, with the reason, though its failure recurs; a rule
   whose failure is no longer seen at all stays;
4. the script a rule recommends leaves package.json: a pull request retires it, with the reason;
5. nothing left to propose; every byte outside the block (BOM, CRLF, no final newline) as it was.
"""
from __future__ import annotations

import argparse
import io
import json
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

from headroom_ci.commands import pr as pr_cmd
from headroom_ci.learning.block import find_block
from headroom_ci.main import main
from testing.builders import ROOT
from testing.claude_fixtures import assistant_lines
from testing.claude_fixtures import tool_result
from testing.claude_fixtures import tool_use
from testing.claude_fixtures import user_line
from testing.claude_fixtures import write_jsonl
from testing.fake_github import FakeGitHub
from testing.fake_github import TOKEN
from testing.fake_github import pulls as fake
from testing.gitrepo import git
from testing.gitrepo import isolated_env
from testing.gitrepo import make_repo

# (failing command, its error, the command that worked)
FAILURES = {
    "pytest": ("python3 -m pytest tests/", "Exit code 1\nModuleNotFoundError: No module named 'fastapi'",
               "uv run pytest tests/"),
    "npm": ("npm test", 'Exit code 1\nnpm error Missing script: "test"', "npm run test:unit"),
    "lint": ("rg TODO src", "Exit code 127\n/bin/bash: line 1: rg: command not found", "grep -rn TODO src"),
}
BEFORE = "\ufeff# Shop\r\n\r\nRead CONTRIBUTING first.\r\n\r\n"
AFTER = "\r\n\r\nFooter without a final newline"
EMPTY_BLOCK = "<!-- headroom:learn:start -->\r\n## Headroom Learned Patterns\r\n<!-- headroom:learn:end -->"
PACKAGE = {"scripts": {"test:unit": "vitest", "build": "vite build"}}


def _session(folder: Path, run: str, when: datetime, failing: tuple[str, ...]) -> None:
    at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    (folder / run).mkdir(parents=True)
    (folder / run / "manifest.json").write_text(json.dumps({
        "format": "headroom-ci-bundle", "version": 1, "repository": "acme/shop",
        "run": {"id": run, "attempt": 1, "url": f"https://github.com/acme/shop/actions/runs/{run}",
                "workflow": "agent.yml", "branch": "main", "created_at": at}}))
    lines: list[dict[str, object]] = []
    for n, name in enumerate(failing):
        bad, error, good = FAILURES[name]
        lines += assistant_lines(f"m{n}a", [tool_use(f"t{n}a", "Bash", command=bad)], ts=at, session_id=run, cwd=ROOT)
        lines.append(user_line([tool_result(f"t{n}a", error, is_error=True)], ts=at, session_id=run, cwd=ROOT))
        lines += assistant_lines(f"m{n}b", [tool_use(f"t{n}b", "Bash", command=good)], ts=at, session_id=run, cwd=ROOT)
        lines.append(user_line([tool_result(f"t{n}b", "ok")], ts=at, session_id=run, cwd=ROOT))
    if not failing:
        lines += assistant_lines("m", [tool_use("t", "Bash", command="uv run pytest tests/")], ts=at, session_id=run,
                                 cwd=ROOT)
        lines.append(user_line([tool_result("t", "ok")], ts=at, session_id=run, cwd=ROOT))
    write_jsonl(folder / run / "claude" / f"{run}.jsonl", lines)


def _outside(text: str) -> str:
    span = find_block(text, source="AGENTS.md")
    assert span is not None
    return text[: span[0]] + text[span[1]:]


def test_five_weekly_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795219200")  # 2026-11-21
    repo = make_repo(tmp_path / "git", {"AGENTS.md": BEFORE + EMPTY_BLOCK + AFTER,
                                        "package.json": json.dumps(PACKAGE)})
    # Merges get the clock's time: week 1's runs lie before it, the later weeks' after it.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    week_runs: dict[int, list[tuple[datetime, tuple[str, ...]]]] = {1: [(now - timedelta(days=8), ("pytest", "npm", "lint")), (now - timedelta(days=7), ("pytest", "npm", "lint"))],
                 2: [(now + timedelta(days=1), ("npm", "lint")), (now + timedelta(days=2), ("npm", "lint"))],
                 3: [(now + timedelta(days=8), ("npm", "lint")), (now + timedelta(days=9), ("npm", "lint"))],
                 4: [(now + timedelta(days=15), ("lint",)), (now + timedelta(days=16), ("lint",))],
                 5: [(now + timedelta(days=22), ("lint",)), (now + timedelta(days=23), ())]}
    runs = tmp_path / "runs"
    for n, items in week_runs.items():
        for i, (when, failing) in enumerate(items):
            _session(runs / f"week{n}", f"{n}0{i}", when, failing)

    with FakeGitHub() as gh:
        fake.use_bare(gh, repo.bare)
        env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": gh.api_url}

        def week(n: int) -> tuple[dict[str, Any], str, str]:
            git(repo.work, "pull", "--quiet", "--ff-only", "origin", "main")
            plan = tmp_path / f"plan{n}.json"
            windows = [str(runs / f"week{w}") for w in (n - 1, n) if w >= 1]
            learned = io.StringIO()
            with monkeypatch.context() as mp:
                mp.setattr("sys.stdout", learned)
                assert main(["learn", *windows, "--repo-path", str(repo.work), "--plan-out", str(plan)]) == 0
            out = io.StringIO()
            args = ["pr", "--plan", str(plan), "--repo-path", str(repo.work)]
            parser = argparse.ArgumentParser(prog="headroom-ci")
            pr_cmd.add_parser(parser.add_subparsers(dest="command"))
            assert pr_cmd.from_args(parser.parse_args(args), out=out, env=env) == 0
            return json.loads(plan.read_text()), learned.getvalue(), out.getvalue()

        # Week 1: three rules proposed in one pull request; the reviewer rewords one on the branch and merges.
        plan, _, out = week(1)
        assert sorted(c["status"] for c in plan["changes"]) == ["added", "added", "added"]
        assert "pull-request-operation: created #1" in out
        assert fake.pulls(gh)[0]["title"] == "headroom-ci: add 3 rules in AGENTS.md"
        texts = {c["fingerprint"]: c["content"] for c in plan["changes"]}
        names = {"pytest": "`uv run pytest`", "npm": "`npm run test:unit`", "lint": "`grep"}
        by_cmd = {name: next(fp for fp, t in texts.items() if names[name] in t) for name in FAILURES}
        branch = repo.show("headroom/learn", "AGENTS.md") or ""
        reworded = "- Always run the tests with `uv run pytest`: only the uv environment has `fastapi`."
        repo.push_files("headroom/learn", {"AGENTS.md": branch.replace(texts[by_cmd["pytest"]], reworded)})
        fake.merge_pull(gh, 1)
        merged = repo.show("main", "AGENTS.md") or ""
        assert _outside(merged) == BEFORE + AFTER
        texts[by_cmd["pytest"]] = reworded

        # Week 2: new evidence (other counts, other runs) for rules in effect: nothing changes, no pull request.
        plan, learned, out = week(2)
        assert plan["targets"][0]["new_content"] is None
        assert "AGENTS.md: unchanged" in learned
        assert "pull-request-operation: unchanged" in out and len(fake.pulls(gh)) == 1
        assert reworded in (repo.show("main", "AGENTS.md") or "")  # the reviewer's words are not reverted
        effects = {r["fingerprint"]: r for r in plan["rules_in_effect"]}
        assert set(effects[by_cmd["pytest"]]) == {"fingerprint", "section", "content", "since", "before", "after", "status"}
        assert (effects[by_cmd["pytest"]]["before"], effects[by_cmd["pytest"]]["after"],
                effects[by_cmd["pytest"]]["status"]) == ({"runs": 2, "failed": 2}, {"runs": 2, "failed": 0}, "working")
        assert (effects[by_cmd["npm"]]["before"], effects[by_cmd["npm"]]["after"],
                effects[by_cmd["npm"]]["status"]) == ({"runs": 2, "failed": 2}, {"runs": 2, "failed": 2}, "recurring")
        # Since the merge of week 1 (committed at the clock's time, in the committer's offset).
        assert effects[by_cmd["pytest"]]["since"] in {(now + timedelta(days=d)).date().isoformat() for d in (-1, 0, 1)}

        # Week 3: a person deletes the lint rule on main; its failure goes on, and it is not proposed again.
        base = repo.show("main", "AGENTS.md") or ""
        lint_line = texts[by_cmd["lint"]]
        repo.push_files("main", {"AGENTS.md": base.replace(lint_line + "\r\n", "")}, message="drop the lint rule")
        plan, learned, out = week(3)
        assert plan["targets"][0]["new_content"] is None
        assert [d["reason"] for d in plan["dropped"] if d["fingerprint"] == by_cmd["lint"]] == [
            "removed from AGENTS.md on the base branch: not proposed again (--include-rejected proposes it)"]
        assert "pull-request-operation: unchanged" in out and len(fake.pulls(gh)) == 1
        # The pytest rule's failure has not been seen in this window at all: the rule stays.
        assert texts[by_cmd["pytest"]] in (repo.show("main", "AGENTS.md") or "")

        # Week 4: the script the npm rule recommends is gone: its removal is proposed, with the reason.
        repo.push_files("main", {"package.json": json.dumps({"scripts": {"test:ci": "vitest run"}})})
        plan, _, out = week(4)
        retired = [c for c in plan["changes"] if c["status"] == "retired"]
        assert [(c["fingerprint"], c["reason"]) for c in retired] == [
            (by_cmd["npm"], "package.json no longer defines the script `test:unit`")]
        assert "pull-request-operation: created #2" in out
        pull = fake.pulls(gh)[1]
        assert pull["title"] == "headroom-ci: retire 1 rule in AGENTS.md"
        assert "| retired: package.json no longer defines the script `test:unit` |" in pull["body"]
        fake.merge_pull(gh, 2)

        # Week 5: only the deleted rule's failure recurs: nothing to propose; what people kept is there.
        plan, _, out = week(5)
        assert plan["targets"][0]["new_content"] is None
        assert len(fake.pulls(gh)) == 2
        final = repo.show("main", "AGENTS.md") or ""
        assert _outside(final) == BEFORE + AFTER
        assert texts[by_cmd["pytest"]] in final
        assert texts[by_cmd["npm"]] not in final and lint_line not in final


def test_retire_after_days_proposes_removing_rules_whose_failure_was_not_seen(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    repo = make_repo(tmp_path / "git", {"AGENTS.md": "# Shop\n"})
    now = datetime.now(timezone.utc).replace(microsecond=0)
    runs = tmp_path / "runs"
    for i, when in enumerate((now - timedelta(days=2), now - timedelta(days=1))):
        _session(runs / "old", f"10{i}", when, ("pytest", "npm"))
    assert main(["learn", str(runs / "old"), "--repo-path", str(repo.work), "--apply"]) == 0
    git(repo.work, "commit", "--quiet", "-am", "rules")
    texts = {line for line in (repo.work / "AGENTS.md").read_text().splitlines() if line.startswith("- ")}
    # Forty days on: the npm failure was seen last week, the pytest one not since the rules came in.
    later = now + timedelta(days=40)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    _session(runs / "new", "200", later - timedelta(days=7), ("npm",))
    plan = tmp_path / "plan.json"
    assert main(["learn", str(runs / "new"), "--repo-path", str(repo.work), "--plan-out", str(plan),
                 "--retire-after", "30"]) == 0
    retired = [(c["content"], c["reason"]) for c in json.loads(plan.read_text())["changes"] if c["status"] == "retired"]
    assert retired == [(next(t for t in texts if "uv run pytest" in t),
                        "its failure was not seen for 30 days or more (--retire-after 30)")]
    assert main(["learn", str(runs / "new"), "--repo-path", str(repo.work), "--plan-out", str(plan)]) == 0
    assert [c for c in json.loads(plan.read_text())["changes"] if c["status"] == "retired"] == []  # opt-in only
