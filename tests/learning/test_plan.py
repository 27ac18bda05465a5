from __future__ import annotations

import json

import pytest

from headroom_ci.learning.efficacy import Counts
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.learning.plan import from_dict
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import PlanError
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import TargetChange
from headroom_ci.learning.plan import to_dict
from headroom_ci.mining.findings import Stats

PLAN = Plan(repo=".", targets=(TargetChange("AGENTS.md", "context", None, None),), recommendations=(), findings=(),
            dropped=(), stats=Stats(4, 20, 5, 300), skipped=0,
            changes=(RuleChange("AGENTS.md", "retired", "c" * 16, "Command Patterns", "- Lint with `make lint`.",
                                reason="Makefile no longer defines the target `lint`"),
                     RuleChange("AGENTS.md", "unchanged", "a" * 16, "Environment", "- Use `uv`.")),
            rules_in_effect=(RuleEffect("a" * 16, "Environment", "- Use `uv`.", "2026-11-08", Counts(3, 3), Counts(4, 0),
                                        "working"),))


def test_rules_in_effect_carry_exactly_the_fields_named() -> None:
    doc = json.loads(json.dumps(to_dict(PLAN)))
    assert doc["rules_in_effect"] == [{"fingerprint": "a" * 16, "section": "Environment", "content": "- Use `uv`.",
                                       "since": "2026-11-08", "before": {"runs": 3, "failed": 3},
                                       "after": {"runs": 4, "failed": 0}, "status": "working"}]
    assert doc["changes"][0] == {"path": "AGENTS.md", "status": "retired", "fingerprint": "c" * 16,
                                 "section": "Command Patterns", "content": "- Lint with `make lint`.", "before": None,
                                 "reason": "Makefile no longer defines the target `lint`"}
    assert from_dict(doc, source="plan.json") == PLAN


def test_a_plan_without_changes_or_rules_in_effect_still_reads() -> None:
    doc = to_dict(PLAN)
    del doc["changes"], doc["rules_in_effect"]
    assert from_dict(doc, source="plan.json").changes == ()
    doc = to_dict(PLAN)
    del doc["changes"][1]["before"], doc["changes"][1]["reason"]
    assert from_dict(doc, source="plan.json").changes[1] == PLAN.changes[1]


@pytest.mark.parametrize("edit, message", [
    pytest.param(lambda d: d["changes"][0].update(status="deleted"),
                 "plan.json: malformed plan: changes[0].status 'deleted' is not one of added, reworded, retired, "
                 "unchanged", id="unknown-status"),
    pytest.param(lambda d: d["rules_in_effect"][0]["before"].update(runs="3"),
                 "plan.json: malformed plan: rules_in_effect[0].before.runs: expected int", id="counts-typed"),
    pytest.param(lambda d: d["rules_in_effect"][0].pop("after"),
                 "plan.json: malformed plan: rules_in_effect[0].after: expected an object", id="counts-missing"),
    pytest.param(lambda d: d["rules_in_effect"][0].update(status="great"),
                 "plan.json: malformed plan: rules_in_effect[0].status 'great' is not one of working, recurring, no-data",
                 id="unknown-effect"),
    pytest.param(lambda d: d["rules_in_effect"][0].update(since=7),
                 "plan.json: malformed plan: rules_in_effect[0].since: expected str | None", id="since-typed"),
])
def test_malformed_lifecycle_fields_are_named(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(json.dumps(to_dict(PLAN)))
    edit(doc)
    with pytest.raises(PlanError) as err:
        from_dict(doc, source="plan.json")
    assert str(err.value) == message
