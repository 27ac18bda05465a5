from __future__ import annotations

import dataclasses
import json

import pytest

from headroom_ci.learning.efficacy import Counts
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.learning.plan import from_dict
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import PlanError
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import run_count
from headroom_ci.learning.plan import runs_of
from headroom_ci.learning.plan import TargetChange
from headroom_ci.learning.plan import to_dict
from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import RunRef
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


_URL = "https://github.com/acme/shop/actions/runs/"
_RUNS = tuple(RunRef(str(300 - i), f"{_URL}{300 - i}", f"2026-11-{20 - i:02d}T09:00:00Z" if i % 2 else None)
              for i in range(12))
SEEN = dataclasses.replace(PLAN, findings=(Finding(
    id="F-1", fingerprint="1" * 16, kind="runner", key="python3 -m pytest", fix="uv run pytest", category="exit_nonzero",
    detail=None, sessions=14, runs=12, occurrences=15, peak=1, fixes=12, wasted_tokens=900,
    evidence=(Evidence("s1", "s1.jsonl", "claude", "300", f"{_URL}300", "python3 -m pytest", "uv run pytest", "x"),),
    runs_seen=_RUNS),))


def test_every_run_of_a_finding_round_trips() -> None:
    doc = json.loads(json.dumps(to_dict(SEEN)))
    assert doc["findings"][0]["runs_seen"][:2] == [{"id": "300", "url": f"{_URL}300", "created_at": None},
                                                   {"id": "299", "url": f"{_URL}299", "created_at": "2026-11-19T09:00:00Z"}]
    assert from_dict(doc, source="plan.json") == SEEN
    del doc["findings"][0]["runs_seen"][1]["created_at"]   # optional, as when a run never said when it started
    assert from_dict(doc, source="plan.json").findings[0].runs_seen[1] == RunRef("299", f"{_URL}299")


def test_a_plan_from_before_runs_were_recorded_reads_with_its_examples_runs() -> None:
    doc = json.loads(json.dumps(to_dict(SEEN)))
    del doc["findings"][0]["runs_seen"]
    (f,) = from_dict(doc, source="plan.json").findings
    assert (f.runs_seen, f.runs) == ((), 12)
    assert runs_of([f]) == (RunRef("300", f"{_URL}300"),)
    assert run_count([f]) == 12   # the runs it counted, though only its example's run is known


@pytest.mark.parametrize("edit, message", [
    pytest.param(lambda d: d["findings"][0].update(runs_seen="300"),
                 "plan.json: malformed plan: findings[0]: runs_seen is not a list", id="not-a-list"),
    pytest.param(lambda d: d["findings"][0]["runs_seen"][2].update(id=300),
                 "plan.json: malformed plan: findings[0].runs_seen[2].id: expected str", id="id-typed"),
    pytest.param(lambda d: d["findings"][0]["runs_seen"][0].pop("url"),
                 "plan.json: malformed plan: findings[0].runs_seen[0]: missing 'url'", id="url-missing"),
    pytest.param(lambda d: d["findings"][0]["runs_seen"].append(["301"]),
                 "plan.json: malformed plan: findings[0].runs_seen[12]: expected an object", id="not-an-object"),
])
def test_malformed_runs_are_named(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(json.dumps(to_dict(SEEN)))
    edit(doc)
    with pytest.raises(PlanError) as err:
        from_dict(doc, source="plan.json")
    assert str(err.value) == message


@pytest.mark.parametrize("seen, runs, expected", [
    pytest.param([_RUNS[:3], _RUNS[2:5]], [3, 3], (_RUNS[1], _RUNS[3], _RUNS[0], _RUNS[2], _RUNS[4]),
                 id="shared-runs-once-known-starts-first"),
    pytest.param([(), ()], [0, 0], (), id="no-runs"),
])
def test_a_rules_runs_are_those_of_its_findings(seen: list[tuple[RunRef, ...]], runs: list[int],
                                               expected: tuple[RunRef, ...]) -> None:
    fs = [dataclasses.replace(SEEN.findings[0], id=f"F-{i}", runs_seen=s, runs=n, evidence=())
          for i, (s, n) in enumerate(zip(seen, runs, strict=True))]
    assert runs_of(fs) == expected
    assert run_count(fs) == len(expected)
