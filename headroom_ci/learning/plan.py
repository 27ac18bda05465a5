"""The plan: what `learn` proposes, as data the `pr` step applies (pure)."""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields
from typing import Any
from typing import TypeVar

from headroom_ci.errors import FatalError
from headroom_ci.learning.efficacy import Counts
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import newest_first
from headroom_ci.mining.findings import RunRef
from headroom_ci.mining.findings import Stats
from headroom_ci.safety.redact import redact
from headroom_ci.rules import Recommendation
from headroom_ci.rules import SECTIONS

FORMAT = "headroom-ci-plan"
VERSION = 1


@dataclass(frozen=True)
class TargetChange:
    path: str             # repo-relative
    role: str             # "context" | "memory"
    base_sha256: str | None  # of the content the plan was made from; None: the file did not exist
    new_content: str | None  # None: unchanged


@dataclass(frozen=True)
class Dropped:
    fingerprint: str
    content: str
    reason: str


STATUSES = ("added", "reworded", "retired", "unchanged")
EFFECTS = ("working", "recurring", "no-data")


@dataclass(frozen=True)
class RuleChange:
    """What the plan does to one rule of a target: added, reworded, retired or unchanged."""
    path: str
    status: str
    fingerprint: str
    section: str
    content: str
    before: str | None = None  # reworded: the line it replaces
    reason: str | None = None  # retired: why


@dataclass(frozen=True)
class Plan:
    repo: str
    targets: tuple[TargetChange, ...]
    recommendations: tuple[Recommendation, ...]
    findings: tuple[Finding, ...]
    dropped: tuple[Dropped, ...]
    stats: Stats
    skipped: int
    llm: Mapping[str, Any] | None = None  # the LLM analyzer's usage and counts, when it ran
    changes: tuple[RuleChange, ...] = ()
    rules_in_effect: tuple[RuleEffect, ...] = ()

    @property
    def changed(self) -> bool:
        return any(t.new_content is not None for t in self.targets)


def sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "repo": plan.repo,
        "targets": [dataclasses.asdict(t) for t in plan.targets],
        # What came from transcripts or a model is uploaded and quoted: no credential goes with it.
        "recommendations": [_redacted(dataclasses.asdict(r)) for r in plan.recommendations],
        "findings": [_redacted(dataclasses.asdict(f)) for f in plan.findings],
        "dropped": [_redacted(dataclasses.asdict(d)) for d in plan.dropped],
        "stats": {
            "sessions": plan.stats.sessions, "tool_calls": plan.stats.tool_calls,
            "failures": plan.stats.failures, "failure_rate": round(plan.stats.failure_rate, 4),
            "wasted_tokens": plan.stats.wasted_tokens, "skipped": plan.skipped,
        },
        "llm": dict(plan.llm) if plan.llm is not None else None,
        "changes": [_redacted(dataclasses.asdict(c)) for c in plan.changes],
        "rules_in_effect": [_redacted(dataclasses.asdict(r)) for r in plan.rules_in_effect],
    }


def _redacted(value: Any) -> Any:
    """Every string in plain data (dicts, lists, tuples) redacted, the shape kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redacted(v) for v in value)
    return value


def findings_of(plan: Plan, rec: Recommendation) -> Sequence[Finding]:
    return [f for f in plan.findings if f.id in rec.finding_ids]


def runs_of(findings: Sequence[Finding]) -> tuple[RunRef, ...]:
    """Every CI run the findings were seen in, each once, newest first. A finding of a plan from before
    runs were recorded has only its examples' runs."""
    refs: dict[str, RunRef] = {}
    for f in findings:
        for r in f.runs_seen or (RunRef(e.run_id, e.run_url) for e in f.evidence if e.run_id):
            refs.setdefault(r.id, r)
    return newest_first(refs.values())


def run_count(findings: Sequence[Finding]) -> int:
    """How many CI runs the findings were seen in: the distinct ones when each finding lists them all."""
    if all(len(f.runs_seen) == f.runs for f in findings):
        return len(runs_of(findings))
    return sum(f.runs for f in findings)


class PlanError(FatalError):
    pass


_CHECKS = {"str": lambda v: isinstance(v, str), "str | None": lambda v: v is None or isinstance(v, str),
           "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
           "tuple[str, ...]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)}
T = TypeVar("T")


def _build(cls: type[T], data: object, where: str, **given: object) -> T:
    """Dataclass `cls` from `data`, its fields type-checked (lists become tuples); `given` fields
    are taken as they are."""
    if not isinstance(data, dict):
        raise PlanError(f"{where}: expected an object")
    values: dict[str, object] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in given:
            continue
        if f.name not in data:
            raise PlanError(f"{where}: missing {f.name!r}")
        if not _CHECKS.get(str(f.type), lambda v: True)(data[f.name]):
            raise PlanError(f"{where}.{f.name}: expected {f.type}")
        values[f.name] = tuple(data[f.name]) if isinstance(data[f.name], list) else data[f.name]
    return cls(**{**values, **given})


def _items(doc: dict[str, object], key: str, where: str) -> list[object]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise PlanError(f"{where}: {key} is not a list")
    return value


def from_dict(doc: object, *, source: str) -> Plan:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PlanError(f"{source}: not a headroom-ci plan (no \"format\": \"{FORMAT}\"): pass the file written by "
                        "headroom-ci learn --plan-out")
    if doc.get("version") != VERSION:
        raise PlanError(f"{source}: plan version {doc.get('version')!r}, this headroom-ci reads version {VERSION}: "
                        "use the same headroom-ci version for learn and pr")
    where = f"{source}: malformed plan"
    recs = tuple(_build(Recommendation, r, f"{where}: recommendations[{i}]")
                 for i, r in enumerate(_items(doc, "recommendations", where)))
    for i, rec in enumerate(recs):
        if rec.section not in SECTIONS:
            raise PlanError(f"{where}: recommendations[{i}].section {rec.section!r} is not one of {', '.join(SECTIONS)}")
    findings = []
    for i, f in enumerate(_items(doc, "findings", where)):
        at = f"{where}: findings[{i}]"
        evidence = _items(f if isinstance(f, dict) else {}, "evidence", at)
        runs = _items(f if isinstance(f, dict) else {}, "runs_seen", at)  # absent from older plans
        findings.append(_build(Finding, f, at, evidence=tuple(
            _build(Evidence, e, f"{at}.evidence[{j}]") for j, e in enumerate(evidence)), runs_seen=tuple(
            _build(RunRef, r, f"{at}.runs_seen[{j}]", **_optional(r, "created_at")) for j, r in enumerate(runs))))
    changes = tuple(_build(RuleChange, c, f"{where}: changes[{i}]", **_optional(c, "before", "reason"))
                    for i, c in enumerate(_items(doc, "changes", where)))
    for i, c in enumerate(changes):
        if c.status not in STATUSES:
            raise PlanError(f"{where}: changes[{i}].status {c.status!r} is not one of {', '.join(STATUSES)}")
    effects = []
    for i, r in enumerate(_items(doc, "rules_in_effect", where)):
        at = f"{where}: rules_in_effect[{i}]"
        counts = {k: _build(Counts, r.get(k) if isinstance(r, dict) else None, f"{at}.{k}")
                  for k in ("before", "after")}
        effect = _build(RuleEffect, r, at, **counts)
        if effect.status not in EFFECTS:
            raise PlanError(f"{at}.status {effect.status!r} is not one of {', '.join(EFFECTS)}")
        effects.append(effect)
    stats = doc.get("stats")
    skipped = stats.get("skipped", 0) if isinstance(stats, dict) else 0
    return Plan(repo=str(doc.get("repo", "")),
                targets=tuple(_build(TargetChange, t, f"{where}: targets[{i}]")
                              for i, t in enumerate(_items(doc, "targets", where))),
                recommendations=recs, findings=tuple(findings),
                dropped=tuple(_build(Dropped, d, f"{where}: dropped[{i}]")
                              for i, d in enumerate(_items(doc, "dropped", where))),
                stats=_build(Stats, stats, f"{where}: stats"), skipped=skipped if isinstance(skipped, int) else 0,
                llm=llm if isinstance(llm := doc.get("llm"), dict) else None,
                changes=changes, rules_in_effect=tuple(effects))


def _optional(data: object, *names: str) -> dict[str, object]:
    """Fields a plan may leave out, at their defaults when it does."""
    return {n: None for n in names if isinstance(data, dict) and n not in data}
