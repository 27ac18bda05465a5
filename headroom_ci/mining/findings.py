"""Observations of many sessions → findings: recurring failures with their fixes (pure)."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from headroom_ci.mining.observe import call_tokens
from headroom_ci.mining.observe import is_empty_search
from headroom_ci.mining.observe import observe
from headroom_ci.mining.observe import Observation
from headroom_ci.mining.paths import repo_roots
from headroom_ci.safety.redact import redact
from headroom_ci.sessions.model import Session

EVIDENCE_PER_FINDING = 5
# Kinds that are a learning without a fix: the failure itself is the fact.
_NO_FIX_NEEDED = frozenset({"permission", "rejected"})
# A failing command is one cluster whatever fixed it; the fix decides what kind of rule it is.
_FAMILY = {"runner": "command", "alternative": "command"}


@dataclass(frozen=True)
class Evidence:
    session_id: str
    path: str
    agent: str
    run_id: str | None
    run_url: str | None
    failing: str
    fixing: str | None
    error: str


@dataclass(frozen=True)
class Finding:
    id: str
    fingerprint: str
    kind: str
    key: str
    fix: str | None
    category: str
    detail: str | None
    sessions: int
    runs: int
    occurrences: int
    peak: int  # the most occurrences in one session
    fixes: int
    wasted_tokens: int
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Thresholds:
    min_sessions: int = 2
    min_fixes: int = 2


@dataclass(frozen=True)
class Stats:
    sessions: int
    tool_calls: int
    failures: int
    wasted_tokens: int

    @property
    def failure_rate(self) -> float:
        return self.failures / self.tool_calls if self.tool_calls else 0.0


def fingerprint(kind: str, key: str, fix: str | None) -> str:
    """Stable across runs for the same finding: what failed and what fixed it, nothing else."""
    return hashlib.sha256(f"{kind}\0{key}\0{fix or ''}".encode()).hexdigest()[:16]


@dataclass
class _Cluster:
    sessions: set[str] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)
    occurrences: int = 0
    peak: int = 0
    wasted: int = 0
    fixes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    details: Counter[str] = field(default_factory=Counter)
    evidence: list[Evidence] = field(default_factory=list)  # fixed ones first, then the rest


class Miner:
    """Feed sessions one at a time (memory grows with patterns, not sessions); read findings."""

    def __init__(self, *, repo_path: str | None = None) -> None:
        self.repo_path = repo_path
        self._clusters: dict[tuple[str, str], _Cluster] = {}
        self._sessions = self._calls = self._failures = self._wasted = 0

    def add(self, session: Session) -> None:
        self._sessions += 1
        self._calls += len(session.tool_calls)
        for call in session.tool_calls:
            if call.is_error or is_empty_search(call):
                self._failures += 1
                self._wasted += call_tokens(call)
        roots = repo_roots(cwd=session.cwd, repo_path=self.repo_path)
        sid = session.session_id or session.path
        here: Counter[tuple[str, str]] = Counter()
        fixed: set[tuple[str, str, str]] = set()
        for obs in observe(session, roots=roots):
            family = _FAMILY.get(obs.kind, obs.kind)
            c = self._clusters.setdefault((family, obs.key), _Cluster())
            c.kinds[obs.kind] += 1
            c.sessions.add(sid)
            if session.run is not None:
                c.runs.add(session.run.id)
            c.occurrences += obs.occurrences
            c.wasted += obs.wasted_tokens
            c.categories[obs.category] += 1
            if obs.detail:
                c.details[obs.detail] += 1
            # A fix counts once per session: three retries in one session are one fix seen.
            if obs.fix and (obs.kind, obs.key, obs.fix) not in fixed:
                fixed.add((obs.kind, obs.key, obs.fix))
                c.fixes[obs.fix] += 1
            if here[(family, obs.key)] == 0:
                _keep_evidence(c.evidence, _evidence(session, obs))
            here[(family, obs.key)] += obs.occurrences
            c.peak = max(c.peak, here[(family, obs.key)])

    def stats(self) -> Stats:
        return Stats(self._sessions, self._calls, self._failures, self._wasted)

    def findings(self, thresholds: Thresholds = Thresholds()) -> list[Finding]:
        out = []
        for (family, key), c in self._clusters.items():
            if len(c.sessions) < thresholds.min_sessions:
                continue
            fix, fixes = min(c.fixes.items(), key=lambda kv: (-kv[1], kv[0])) if c.fixes else (None, 0)
            kind = _top(Counter({k: n for k, n in c.kinds.items() if k != "command"})) or family
            if kind not in _NO_FIX_NEEDED and fixes < thresholds.min_fixes:
                continue
            fp = fingerprint(kind, key, fix)
            out.append(Finding(
                id=f"F-{fp[:8]}", fingerprint=fp, kind=kind, key=key, fix=fix,
                category=_top(c.categories) or "tool_error", detail=_top(c.details),
                sessions=len(c.sessions), runs=len(c.runs), occurrences=c.occurrences, peak=c.peak, fixes=fixes,
                wasted_tokens=c.wasted, evidence=tuple(c.evidence),
            ))
        # Ranked: the most sessions, then the most waste; the fingerprint breaks ties stably.
        return sorted(out, key=lambda f: (-f.sessions, -f.wasted_tokens, f.fingerprint))


def _top(counter: Counter[str]) -> str | None:
    # Ties break alphabetically so the output never depends on input order.
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counter else None


def _keep_evidence(kept: list[Evidence], new: Evidence) -> None:
    """At most a few, those that show a fix first."""
    if len(kept) < EVIDENCE_PER_FINDING:
        kept.append(new)
    elif new.fixing is not None:
        for i in range(len(kept) - 1, -1, -1):
            if kept[i].fixing is None:
                kept[i] = new
                break
    kept.sort(key=lambda e: e.fixing is None)


def _evidence(session: Session, obs: Observation) -> Evidence:
    run = session.run
    # Evidence is quoted in plans and pull requests: no credential the transcript held goes with it.
    return Evidence(session_id=session.session_id or session.path, path=session.path, agent=session.agent,
                    run_id=run.id if run else None, run_url=run.url if run else None,
                    failing=redact(obs.failing), fixing=redact(obs.fixing) if obs.fixing else None,
                    error=redact(obs.error))
