"""The plan: what `learn` proposes, as data the `pr` step applies (pure)."""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import Stats
from headroom_ci.rules import Recommendation

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


@dataclass(frozen=True)
class Plan:
    repo: str
    targets: tuple[TargetChange, ...]
    recommendations: tuple[Recommendation, ...]
    findings: tuple[Finding, ...]
    dropped: tuple[Dropped, ...]
    stats: Stats
    skipped: int

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
        "recommendations": [dataclasses.asdict(r) for r in plan.recommendations],
        "findings": [dataclasses.asdict(f) for f in plan.findings],
        "dropped": [dataclasses.asdict(d) for d in plan.dropped],
        "stats": {
            "sessions": plan.stats.sessions, "tool_calls": plan.stats.tool_calls,
            "failures": plan.stats.failures, "failure_rate": round(plan.stats.failure_rate, 4),
            "wasted_tokens": plan.stats.wasted_tokens, "skipped": plan.skipped,
        },
    }


def findings_of(plan: Plan, rec: Recommendation) -> Sequence[Finding]:
    return [f for f in plan.findings if f.id in rec.finding_ids]
