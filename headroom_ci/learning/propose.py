"""Findings + the current context files → the plan: screened rules merged into the block (pure)."""
from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import NamedTuple

from headroom_ci.learning import merge
from headroom_ci.learning.block import tokens_of
from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.learning.identity import failure_id
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import Stats
from headroom_ci.learning.plan import Dropped
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import sha256
from headroom_ci.learning.plan import TargetChange
from headroom_ci.rules import Recommendation
from headroom_ci.rules import recommend
from headroom_ci.rules import SECTIONS
from headroom_ci.safety import rule as safety
from headroom_ci.safety.commands import Facts


class TargetFile(NamedTuple):
    path: str          # repo-relative, as shown and as named in errors
    text: str | None   # None: the file does not exist yet


@dataclass(frozen=True)
class Lifecycle:
    """What learn found out about the rules already in a target's block."""
    retire: Mapping[str, str] = field(default_factory=dict)  # fingerprint → reason
    reword: frozenset[str] = frozenset()       # rules in effect whose failure recurs: may take new words
    tombstones: frozenset[str] = frozenset()   # removed according to the file's history
    effects: tuple[RuleEffect, ...] = ()
    contradicts: Callable[[str], str | None] = lambda content: None  # why the repository says a rule is wrong


def _states(target: TargetFile) -> dict[str, str]:
    """fingerprint → state of every rule the block records (in effect, retired, ...)."""
    return {e.fingerprint: e.state for e in merge.read(target.text, source=target.path).record}


def rule_of(rec: Recommendation, findings: Sequence[Finding]) -> merge.Rule:
    cited = [f for f in findings if f.id in rec.finding_ids]
    failure = failure_id(cited[0].kind, cited[0].key) if cited else ""
    return merge.Rule(rec.fingerprint, failure, rec.section, rule_text(rec.content), rec.tokens_saved)


def rules_of(recs: Sequence[Recommendation], findings: Sequence[Finding]) -> list[merge.Rule]:
    """The rules to merge, in headroom's section order (which new sections take), by rank within one.
    learn and pr both merge through this, so pr's re-merge gives learn's text."""
    ordered = sorted(recs, key=lambda r: SECTIONS.index(r.section) if r.section in SECTIONS else len(SECTIONS))
    return [rule_of(r, findings) for r in ordered]


def rule_text(content: str) -> str:
    """A rule's line as written into the block (one line; the block's own sanitizing applies)."""
    return " ".join(content.split())


def _unsafe(rec: Recommendation, facts: Facts) -> str | None:
    # The one safety screen, for the deterministic rules and the model's alike.
    problems = safety.problems(rec.content, facts)
    return "; ".join(problems) if problems else None


def _fit(target: TargetFile, recs: list[Recommendation], findings: Sequence[Finding], *, date: str,
         max_tokens: int, life: Lifecycle,
         revive: bool) -> tuple[merge.Merged, list[Recommendation], list[Recommendation]]:
    """The merge and the rules kept; the lowest-ranked new rules go until the block fits (rules in
    effect stay whatever the budget: taking them out is a person's call)."""
    kept = list(recs)
    dropped: list[Recommendation] = []
    current = merge.read(target.text, source=target.path)
    while True:
        merged = merge.merge(current, rules_of(kept, findings), date=date, source=target.path,
                             retire=life.retire, reword=life.reword, tombstones=life.tombstones,
                             revive={r.fingerprint for r in kept} if revive else ())
        added = {c.fingerprint for c in merged.changes if c.status == "added"}
        text = merged.text if merged.text is not None else target.text
        if not added or tokens_of(text, source=target.path) <= max_tokens:
            return merged, kept, dropped
        last = max(i for i, r in enumerate(kept) if r.fingerprint in added)
        dropped.insert(0, kept.pop(last))


def propose(findings: Sequence[Finding], stats: Stats, *, repo: str, targets: Mapping[str, TargetFile],
            date: str, max_tokens: int, skipped: int,
            candidates: Sequence[Recommendation] | None = None,
            rejected: Sequence[Dropped] = (), lifecycles: Mapping[str, Lifecycle] | None = None,
            include_removed: bool = False, facts: Facts = Facts()) -> Plan:
    """`targets` maps a role ("context", and "memory" when a memory file is given) to its file.
    `candidates` are rules from another analyzer (the LLM's), ranked, in place of the
    deterministic ones; `rejected` are what that analyzer's own screening dropped; `facts` are
    what the repository names (packages, URLs), which a rule's commands may use."""
    recs: list[Recommendation] = []
    dropped: list[Dropped] = list(rejected)
    states = {role: _states(target) for role, target in targets.items()}
    for rec in (recommend(findings) if candidates is None else candidates):
        reason = _unsafe(rec, facts)
        state = states.get(rec.target, {}).get(rec.fingerprint)
        # A rule in effect is the retirement's to judge; a new or retired one the repository contradicts
        # is kept out (else it is added now and retired by the same test on the next run).
        why = None if state not in (None, "retired") else (
            (lifecycles or {}).get(rec.target, Lifecycle()).contradicts(rec.content))
        if reason:
            dropped.append(Dropped(rec.fingerprint, rec.content, f"unsafe: {reason}"))
        elif rec.target not in targets:
            dropped.append(Dropped(rec.fingerprint, rec.content, f"no {rec.target} file given"))
        elif why:
            dropped.append(Dropped(rec.fingerprint, rec.content, f"retired, and the repository still contradicts it: "
                                   f"{why}" if state == "retired" else f"the repository contradicts it: {why}"))
        else:
            recs.append(rec)
    targets_out = []
    written: list[Recommendation] = []
    changes: list[RuleChange] = []
    effects: list[RuleEffect] = []
    for role, target in targets.items():
        life = (lifecycles or {}).get(role, Lifecycle())
        merged, kept, over = _fit(target, [r for r in recs if r.target == role], findings, date=date,
                                  max_tokens=max_tokens, life=life, revive=include_removed)
        held = {r.fingerprint for r in merged.held_back}
        written += [r for r in kept if r.fingerprint not in held]
        dropped += [Dropped(r.fingerprint, r.content, f"removed from {target.path} on the base branch: not proposed "
                            "again (--include-rejected proposes it)") for r in kept if r.fingerprint in held]
        dropped += [Dropped(r.fingerprint, r.content, f"over the block budget of {max_tokens} tokens")
                    for r in over]
        changes += [RuleChange(target.path, c.status, c.fingerprint, c.section, c.content, c.before, c.reason)
                    for c in merged.changes]
        effects += life.effects
        targets_out.append(TargetChange(target.path, role, sha256(target.text), merged.text))
    return Plan(repo=repo, targets=tuple(targets_out), recommendations=tuple(written),
                findings=tuple(f for f in findings if any(f.id in r.finding_ids for r in written)),
                dropped=tuple(dropped), stats=stats, skipped=skipped, changes=tuple(changes),
                rules_in_effect=tuple(effects))
