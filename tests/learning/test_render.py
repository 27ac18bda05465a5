from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from headroom_ci.learning import render
from headroom_ci.learning.efficacy import Counts
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import TargetChange
from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import RunRef
from headroom_ci.mining.findings import Stats
from headroom_ci.rules import Recommendation

PLAN = Plan(
    repo=".", targets=(TargetChange("AGENTS.md", "context", None, None),), recommendations=(), findings=(), dropped=(),
    stats=Stats(4, 20, 5, 300), skipped=0,
    changes=(RuleChange("AGENTS.md", "unchanged", "a" * 16, "Environment", "- Use `uv run pytest`."),
             RuleChange("AGENTS.md", "reworded", "b" * 16, "Command Patterns", "- Run `npm run test:unit` | not `npm test`.",
                        before="- Run tests with `npm run test:unit`."),
             RuleChange("AGENTS.md", "retired", "c" * 16, "Command Patterns", "- Lint with `make lint`.",
                        reason="Makefile no longer defines the target `lint`")),
    rules_in_effect=(RuleEffect("a" * 16, "Environment", "- Use `uv run pytest`.", "2026-11-08", Counts(3, 3),
                                Counts(4, 0), "working"),
                     RuleEffect("b" * 16, "Command Patterns", "- Run tests with `npm run test:unit`.", "2026-11-08",
                                Counts(3, 2), Counts(4, 1), "recurring")))


def test_text_lists_changes_and_rules_in_effect() -> None:
    out = render.text(PLAN, olds=[None], applied=False)
    assert out.split("\n\n", 2)[2] == (
        "Changes (2):\n"
        "  AGENTS.md: reworded: Run tests with `npm run test:unit`. → Run `npm run test:unit` | not `npm test`.\n"
        "  AGENTS.md: retired: Lint with `make lint`. (because Makefile no longer defines the target `lint`)\n\n"
        "Rules in effect (CI runs with the rule's failure, before / after it reached the base branch):\n"
        "  Use `uv run pytest`.\n    since 2026-11-08: before 3/3, after 0/4: working\n"
        "  Run tests with `npm run test:unit`.\n"
        "    since 2026-11-08: before 2/3, after 1/4: recurring: its failure goes on, reword it or move it\n\n"
        "AGENTS.md: unchanged\n")


def test_markdown_shows_them_as_tables() -> None:
    out = render.markdown(PLAN, olds=[None])
    assert out.split("\n\n", 3)[3] == (
        "| file | change |\n|---|---|\n"
        "| AGENTS.md | reworded: Run tests with `npm run test:unit`. → Run `npm run test:unit` \\| not `npm test`. |\n"
        "| AGENTS.md | retired: Lint with `make lint`. (because Makefile no longer defines the target `lint`) |\n\n"
        "**Rules in effect**: CI runs with the rule's failure, before and after it reached the base branch\n\n"
        "| rule | since | before | after | status |\n|---|---|---|---|---|\n"
        "| Use `uv run pytest`. | 2026-11-08 | 3/3 | 0/4 | working |\n"
        "| Run tests with `npm run test:unit`. | 2026-11-08 | 2/3 | 1/4 | "
        "recurring: its failure goes on, reword it or move it |\n")


_URL = "https://github.com/acme/shop/actions/runs/"


def _ran(fid: str, runs: Sequence[int], *, example: int | None = None) -> Finding:
    ev = (Evidence("s1", "s1.jsonl", "claude", str(example), f"{_URL}{example}", "python3 -m pytest", "uv run pytest",
                   "x"),) if example is not None else ()
    return Finding(id=fid, fingerprint=fid * 8, kind="runner", key="python3 -m pytest", fix="uv run pytest",
                   category="exit_nonzero", detail=None, sessions=len(runs), runs=len(runs), occurrences=len(runs), peak=1,
                   fixes=len(runs), wasted_tokens=10, evidence=ev,
                   runs_seen=tuple(RunRef(str(r), f"{_URL}{r}") for r in runs) if example is None else ())


@pytest.mark.parametrize("findings, runs, cell", [
    pytest.param([_ran("F1", range(107, 99, -1))], 8,
                 ", ".join(f"[{r}]({_URL}{r})" for r in range(107, 102, -1)) + " <details><summary>3 more</summary>"
                 + ", ".join(f"[{r}]({_URL}{r})" for r in range(102, 99, -1)) + "</details>", id="every-run"),
    pytest.param([_ran("F1", (103, 101)), _ran("F2", (102, 101))], 3,
                 f"[103]({_URL}103), [102]({_URL}102), [101]({_URL}101)", id="shared-runs-once"),
    pytest.param([_ran("F1", (103, 102, 101), example=102)], 3, f"[102]({_URL}102)", id="older-plan-its-examples"),
])
def test_the_job_summary_links_every_run_of_a_rule(findings: list[Finding], runs: int, cell: str) -> None:
    rec = Recommendation(fingerprint="d" * 16, section="Environment", content="- Use `uv run pytest`.",
                         target="context", tokens_saved=40, evidence_count=runs, finding_ids=tuple(f.id for f in findings))
    plan = dataclasses.replace(PLAN, recommendations=(rec,), findings=tuple(findings), changes=(), rules_in_effect=())
    lines = render.markdown(plan, olds=[None]).splitlines()
    assert lines[4:7] == ["| section | rule | sessions | runs | tokens/session | CI runs |", "|---|---|---|---|---|---|",
                          f"| Environment | Use `uv run pytest`. | {runs} | {runs} | 40 | {cell} |"]
