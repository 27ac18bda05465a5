from __future__ import annotations

from headroom_ci.learning import render
from headroom_ci.learning.efficacy import Counts
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import TargetChange
from headroom_ci.mining.findings import Stats

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
