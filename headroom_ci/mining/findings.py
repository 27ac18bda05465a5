"""Observations of many sessions → findings: recurring failures with their fixes (pure)."""
from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import re
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from headroom_ci.mining.observe import call_tokens
from headroom_ci.mining.observe import is_empty_search
from headroom_ci.mining.observe import observe
from headroom_ci.mining.observe import Observation
from headroom_ci.mining.observe import touched
from headroom_ci.mining.repos import folder_of
from headroom_ci.mining.repos import NOT_A_REPOSITORY
from headroom_ci.mining.repos import repository_of
from headroom_ci.mining.repos import THIS
from headroom_ci.mining.paths import repo_roots
from headroom_ci.safety.redact import redact
from headroom_ci.sessions.model import Session

EVIDENCE_PER_FINDING = 5
# Kinds that are a learning without a fix: the failure itself is the fact.
_NO_FIX_NEEDED = frozenset({"permission", "rejected", "skill", "workdir", "folder"})
# A failing command is one cluster whatever fixed it; the fix decides what kind of rule it is.
_FAMILY = {"runner": "command", "alternative": "command", "prerequisite": "command"}


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


@dataclass(frozen=True, slots=True)
class RunRef:
    """A CI run a finding was seen in: one per distinct run, however often it failed there."""
    id: str
    url: str | None
    created_at: str | None = None


def newest_first(runs: Iterable[RunRef]) -> tuple[RunRef, ...]:
    """Runs that say when they started, newest first; then the others by id, highest first (GitHub's run
    ids grow with time). Stable whatever order the sessions were read in."""
    return tuple(sorted(runs, key=_age, reverse=True))


def _age(r: RunRef) -> tuple[bool, str, bool, int, str]:
    numeric = r.id.isascii() and r.id.isdigit()
    return r.created_at is not None, r.created_at or "", numeric, int(r.id) if numeric else 0, r.id


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
    evidence: tuple[Evidence, ...]  # a few examples (EVIDENCE_PER_FINDING), those with a fix first
    runs_seen: tuple[RunRef, ...] = ()  # every CI run it was seen in, newest first (len == runs)


@dataclass(frozen=True)
class Thresholds:
    # Counted in evidence units: distinct CI runs when runs are known, else sessions (a subagent
    # with its parent); see evidence_unit.
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
    units: set[str] = field(default_factory=set)  # what thresholds count: CI runs, else sessions
    occurrences: int = 0
    peak: int = 0
    wasted: int = 0
    fixes: dict[str, set[str]] = field(default_factory=dict)  # fix → the units it was seen in
    kinds: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    details: Counter[str] = field(default_factory=Counter)
    evidence: list[Evidence] = field(default_factory=list)  # fixed ones first, then the rest
    folders: set[str] = field(default_factory=set)  # path kinds: the folders the failing calls named


@dataclass
class _Repo:
    """What was mined from the sessions of one repository."""
    clusters: dict[tuple[str, str], _Cluster] = field(default_factory=dict)
    sessions: int = 0
    calls: int = 0
    failures: int = 0
    wasted: int = 0
    cwds: set[str] = field(default_factory=set)
    touched: dict[str, set[str]] = field(default_factory=dict)  # path → units some call used it without failing
    search_ok: dict[str, set[str]] = field(default_factory=dict)     # path → units a search found something
    search_empty: dict[str, set[str]] = field(default_factory=dict)  # path → units a search found nothing


def evidence_unit(session: Session) -> str:
    """Sessions of one CI run count once (two agents, or an agent and its subagents, steered by the
    same input are one piece of evidence); without runs, a subagent counts with its parent."""
    if session.run is not None:
        return f"run:{session.run.id}"
    return f"session:{session.parent_id if session.subagent and session.parent_id else session.session_id or session.path}"


def _outside(path: str) -> bool:
    """Not a path of the repository: another user's home, a temp folder, an absolute path."""
    return path.startswith(("/", "~", "<tmp>")) or bool(re.match(r"^[A-Za-z]:[\\/]", path))


class Miner:
    """Feed sessions one at a time (memory grows with patterns, not sessions); read findings.

    Sessions are kept apart by repository (see repos.py): findings are of the repository at
    repo_path when sessions of it were seen, else of the repository most sessions worked in; the
    others are set aside and listed by set_aside(). A session read twice, or split in two files
    (a resumed session), is one session: its calls are merged by tool-call id."""

    def __init__(self, *, repo_path: str | None = None) -> None:
        self.repo_path = repo_path
        self._repos: dict[str, _Repo] = {}
        self._calls_seen: dict[tuple[str, str, bool], set[str]] = {}
        # One ref per distinct CI run, shared by every finding seen in it (clusters keep only ids).
        self._runs: dict[str, RunRef] = {}

    def add(self, session: Session) -> None:
        key = (session.agent, session.session_id, session.subagent) if session.session_id else None
        if key is not None:
            seen = self._calls_seen.setdefault(key, set())
            ids = [c.call_id for c in session.tool_calls]
            if seen and all(i is not None for i in ids):
                fresh = tuple(c for c in session.tool_calls if c.call_id not in seen)
                if not fresh:
                    return  # the same session again
                session = dataclasses.replace(session, tool_calls=fresh)
                first = False
            else:
                first = not seen
            seen.update(i for i in ids if i is not None)
        else:
            first = True
        if session.run is not None:
            self._note_run(session.run.id, session.run.url, session.run.created_at)
        repo = self._repos.setdefault(repository_of(session.cwd), _Repo())
        self._add(repo, session, first=first)

    def _note_run(self, run_id: str, url: str | None, created_at: str | None) -> None:
        """The run's ref, completed by a later session of it that knows its URL or start when the first did not."""
        ref = self._runs.get(run_id)
        if ref is None or (ref.url is None and url) or (ref.created_at is None and created_at):
            self._runs[run_id] = RunRef(run_id, (ref.url if ref else None) or url,
                                        (ref.created_at if ref else None) or created_at)

    def _add(self, repo: _Repo, session: Session, *, first: bool) -> None:
        repo.sessions += 1 if first else 0
        repo.calls += len(session.tool_calls)
        folder = folder_of(session.cwd)
        if folder:
            repo.cwds.add(folder)
        for call in session.tool_calls:
            if call.is_error or is_empty_search(call):
                repo.failures += 1
                repo.wasted += call_tokens(call)
        roots = repo_roots(cwd=session.cwd, repo_path=self.repo_path)
        sid = session.session_id or session.path
        unit = evidence_unit(session)
        done = touched(session, roots=roots)
        for path in done.paths:
            repo.touched.setdefault(path, set()).add(unit)
        for path in done.searched_ok:
            repo.search_ok.setdefault(path, set()).add(unit)
        for path in done.searched_empty:
            repo.search_empty.setdefault(path, set()).add(unit)
        here: Counter[tuple[str, str]] = Counter()
        for obs in observe(session, roots=roots):
            family = _FAMILY.get(obs.kind, obs.kind)
            c = repo.clusters.setdefault((family, obs.key), _Cluster())
            c.kinds[obs.kind] += 1
            c.sessions.add(sid)
            c.units.add(unit)
            if session.run is not None:
                c.runs.add(session.run.id)
            c.occurrences += obs.occurrences
            c.wasted += obs.wasted_tokens
            c.categories[obs.category] += 1
            if obs.detail:
                c.details[obs.detail] += 1
            if obs.kind == "path":
                c.folders.add(obs.key)
            # A fix counts once per unit: three retries in one session are one fix seen.
            if obs.fix:
                c.fixes.setdefault(obs.fix, set()).add(unit)
            if here[(family, obs.key)] == 0:
                _keep_evidence(c.evidence, _evidence(session, obs))
            here[(family, obs.key)] += obs.occurrences
            c.peak = max(c.peak, here[(family, obs.key)])

    def _chosen(self) -> str | None:
        """The repository learned: the one at repo_path when its sessions are here, else the one with
        the most sessions. Sessions with no cwd (a CI bundle's) belong to it."""
        names = [n for n in self._repos if n not in (THIS, NOT_A_REPOSITORY)]
        if self.repo_path:
            mine = repository_of(self.repo_path)
            root = folder_of(self.repo_path)
            for n in names:
                if n == mine or (root and any(c == root or c.startswith(root + "/") for c in self._repos[n].cwds)):
                    return n
        if not names:
            return None

        def size(n: str) -> tuple[int, int, str]:
            group = self._group(n)
            return -sum(r.sessions for r in group), -sum(r.calls for r in group), n
        return min(names, key=size)

    def _group(self, chosen: str) -> list[_Repo]:
        """A repository's sessions, with those started in its subfolders (`web/`) and those of its
        checkouts under other names (by the files they used)."""
        roots = self._repos[chosen].cwds
        files = self._repos[chosen].touched
        return [self._repos[chosen]] + [
            r for n, r in self._repos.items() if n not in (THIS, chosen, NOT_A_REPOSITORY) and (
                (r.cwds and all(any(c.startswith(root + "/") for root in roots) for c in r.cwds))
                or _same_files(r.touched, files))]

    def _members(self) -> list[_Repo]:
        chosen = self._chosen()
        this = [self._repos[THIS]] if THIS in self._repos else []
        return this + (self._group(chosen) if chosen is not None else [])

    def set_aside(self) -> list[tuple[str, int]]:
        """(repository, sessions) of the sessions not learned from, most first."""
        kept = {id(r) for r in self._members()}
        return sorted(((n, r.sessions) for n, r in self._repos.items() if id(r) not in kept),
                      key=lambda t: (-t[1], t[0]))

    def stats(self) -> Stats:
        members = self._members()
        return Stats(sum(r.sessions for r in members), sum(r.calls for r in members),
                     sum(r.failures for r in members), sum(r.wasted for r in members))

    def findings(self, thresholds: Thresholds = Thresholds()) -> list[Finding]:
        members = self._members()
        repo = members[0] if len(members) == 1 else _merged(members)
        return _findings(repo, thresholds, runs=self._runs)


def _same_files(mine: Mapping[str, object], theirs: Mapping[str, object]) -> bool:
    """Another checkout of the repository (a worktree in a folder of another name): most of the
    repository-relative files its sessions used are files the repository's sessions used."""
    files = [p for p in mine if "/" in p and not _outside(p)]
    return len(files) >= 3 and 2 * sum(1 for p in files if p in theirs) > len(files)


def _merged(repos: list[_Repo]) -> _Repo:
    out = _Repo()
    for r in repos:
        for key, c in r.clusters.items():
            m = out.clusters.setdefault(key, _Cluster())
            m.sessions |= c.sessions
            m.runs |= c.runs
            m.units |= c.units
            m.occurrences += c.occurrences
            m.peak = max(m.peak, c.peak)
            m.wasted += c.wasted
            for fix, units in c.fixes.items():
                m.fixes.setdefault(fix, set()).update(units)
            m.kinds.update(c.kinds)
            m.categories.update(c.categories)
            m.details.update(c.details)
            for e in c.evidence:
                _keep_evidence(m.evidence, e)
            m.folders |= c.folders
        for path, units in r.touched.items():
            out.touched.setdefault(path, set()).update(units)
        for path, units in r.search_ok.items():
            out.search_ok.setdefault(path, set()).update(units)
        for path, units in r.search_empty.items():
            out.search_empty.setdefault(path, set()).update(units)
    return out


def _missing_folders(repo: _Repo, thresholds: Thresholds) -> dict[str, _Cluster]:
    """Folders every call under which failed, in several units and for several files: a folder
    that does not exist (or no longer does), not a file that moved."""
    by_folder: dict[str, _Cluster] = {}
    for (family, key), c in repo.clusters.items():
        if family != "path" or _outside(key):
            continue
        folders = {key.rsplit("/", 1)[0]} if "/" in key else set()
        if "." not in key.rsplit("/", 1)[-1]:
            folders.add(key)  # a search or listing of the folder itself
        for folder in folders:
            f = by_folder.setdefault(folder, _Cluster())
            f.units |= c.units
            f.sessions |= c.sessions
            f.runs |= c.runs
            f.occurrences += c.occurrences
            f.wasted += c.wasted
            f.folders.add(key)
            f.categories.update(c.categories)
            for fix, units in c.fixes.items():
                f.fixes.setdefault(posixpath.dirname(fix) or ".", set()).update(units)
            for e in c.evidence:
                _keep_evidence(f.evidence, e)
    out = {}
    for folder, f in by_folder.items():
        if len(f.units) < thresholds.min_sessions or len(f.folders) < 2:
            continue
        there = set().union(*(u for p, u in repo.touched.items() if p == folder or p.startswith(folder + "/")))
        if len(f.units) <= 2 * len(there):
            continue  # files there are read or found in many units: the folder exists
        f.fixes.pop(folder, None)
        out[folder] = f
    # The deepest missing folder names the mistake; its parents are missing only through it.
    return {k: v for k, v in out.items() if not any(o.startswith(k + "/") for o in out)}


def _findings(repo: _Repo, thresholds: Thresholds, *, runs: Mapping[str, RunRef]) -> list[Finding]:
    out = []
    missing = _missing_folders(repo, thresholds)
    clusters = [(("folder", k), c) for k, c in missing.items()] + list(repo.clusters.items())
    for (family, key), c in clusters:
        if len(c.units) < thresholds.min_sessions:
            continue
        if family in ("path", "scope", "large_file", "permission") and not key.startswith(("<<", "\\")) and (
                _outside(key) or any(key.startswith(m + "/") or key == m for m in missing)):
            continue  # outside the repository, or said by its missing folder's rule
        if family == "scope" and not _scope_holds(repo, key):
            continue
        c.fixes.pop(".", None)  # "search the whole repository" says nothing
        fixes = {fix: len(units) for fix, units in c.fixes.items()}
        fix, n_fixes = min(fixes.items(), key=lambda kv: (-kv[1], kv[0])) if fixes else (None, 0)
        kind = _top(Counter({k: n for k, n in c.kinds.items() if k != "command"})) or family
        if kind not in _NO_FIX_NEEDED and n_fixes < thresholds.min_fixes:
            continue
        if family == "command" and n_fixes and 3 * n_fixes < len(c.units):
            continue  # a command failing in many units and "fixed" in a few: chance, not a fact of the repository
        fp = fingerprint(kind, key, fix)
        out.append(Finding(
            id=f"F-{fp[:8]}", fingerprint=fp, kind=kind, key=key, fix=fix,
            category=_top(c.categories) or "tool_error", detail=_top(c.details),
            sessions=len(c.sessions), runs=len(c.runs), occurrences=c.occurrences, peak=c.peak, fixes=n_fixes,
            wasted_tokens=c.wasted, evidence=tuple(c.evidence),
            runs_seen=newest_first(runs.get(r) or RunRef(r, None) for r in c.runs),
        ))
    # Ranked: the most sessions, then the most waste; the fingerprint breaks ties stably.
    return sorted(out, key=lambda f: (-f.sessions, -f.wasted_tokens, f.fingerprint))


def _scope_holds(repo: _Repo, path: str) -> bool:
    """An empty search is evidence against a place only when searches there fail in most units
    (a symbol missing everywhere is not a wrong folder), never at the repository root."""
    if path in (".", "") or _outside(path):
        return False
    empty = len(repo.search_empty.get(path, ()))
    ok = len(repo.search_ok.get(path, ()))
    return empty > 2 * ok


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
