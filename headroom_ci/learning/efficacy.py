"""Did a rule help? Runs with its failure before and after it reached the base branch (pure)."""
from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from typing import Literal

from headroom_ci.learning.identity import failure_id
from headroom_ci.learning.merge import InEffect
from headroom_ci.learning.tombstones import record_of
from headroom_ci.mining.observe import observe
from headroom_ci.mining.paths import repo_roots
from headroom_ci.sessions.model import Session

Status = Literal["working", "recurring", "no-data"]


@dataclass(frozen=True)
class Counts:
    runs: int
    failed: int


@dataclass(frozen=True)
class RuleEffect:
    fingerprint: str
    section: str
    content: str
    since: str | None   # ISO date it reached the base branch
    before: Counts
    after: Counts
    status: Status




def parse_time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class RunLog:
    """Per CI run: when it ran and which of `failures` its sessions had (sessions without a run or
    a time are not counted; with no failures to look for, sessions are not looked into)."""

    def __init__(self, *, repo_path: str | None, failures: frozenset[str] | None = None) -> None:
        self.repo_path = repo_path
        self.wanted = failures  # None: every failure
        self.runs: dict[str, tuple[datetime, set[str]]] = {}

    def add(self, session: Session) -> None:
        run = session.run
        when = parse_time(run.created_at if run else None) or parse_time(session.started_at)
        if run is None or when is None:
            return
        at, failures = self.runs.setdefault(run.id, (when, set()))
        if when < at:
            self.runs[run.id] = (when, failures)
        if self.wanted is not None and not self.wanted:
            return
        roots = repo_roots(cwd=session.cwd, repo_path=self.repo_path)
        seen = {failure_id(o.kind, o.key) for o in observe(session, roots=roots)}
        failures.update(seen if self.wanted is None else seen & self.wanted)


def since_dates(versions: Iterable[tuple[str | None, str | None]]) -> dict[str, str]:
    """Fingerprint → when it first stood in the block, from (committed_at, text) oldest first; a
    version whose time is None (a shallow clone's oldest) says a rule is older than we can tell."""
    since: dict[str, str | None] = {}
    for when, text in versions:
        for e in record_of(text):
            if e.state == "active":
                since.setdefault(e.fingerprint, when)
    return {fp: when for fp, when in since.items() if when is not None}


def last_seen(runs: Mapping[str, tuple[datetime, set[str]]]) -> dict[str, datetime]:
    """Failure id → the time of the last run that had it."""
    seen: dict[str, datetime] = {}
    for when, failures in runs.values():
        for f in failures:
            seen[f] = max(seen.get(f, when), when)
    return seen


def measure(rules: Sequence[InEffect], since: Mapping[str, str],
            runs: Mapping[str, tuple[datetime, set[str]]]) -> list[RuleEffect]:
    out = []
    for rule in rules:
        at = parse_time(since.get(rule.fingerprint))
        before = [f for when, f in runs.values() if at is not None and when < at]
        after = [f for when, f in runs.values() if at is not None and when >= at]
        b = Counts(len(before), sum(1 for f in before if rule.failure in f)) if rule.failure else Counts(len(before), 0)
        a = Counts(len(after), sum(1 for f in after if rule.failure in f)) if rule.failure else Counts(len(after), 0)
        status: Status = ("no-data" if at is None or not rule.failure or a.runs == 0
                          else "recurring" if a.failed else "working")
        out.append(RuleEffect(rule.fingerprint, rule.section, rule.content,
                              at.date().isoformat() if at else None, b, a, status))
    return out
