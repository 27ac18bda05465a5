"""Findings + the current context files → the plan: screened rules merged into the block (pure)."""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import NamedTuple

from headroom_ci.learning.block import block_tokens
from headroom_ci.learning.block import merge
from headroom_ci.learning.block import parse_block
from headroom_ci.learning.block import Section
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import Stats
from headroom_ci.learning.plan import Dropped
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import sha256
from headroom_ci.learning.plan import TargetChange
from headroom_ci.rules import Recommendation
from headroom_ci.rules import recommend
from headroom_ci.rules import SECTIONS
from headroom_ci.screen import screen


class TargetFile(NamedTuple):
    path: str          # repo-relative, as shown and as named in errors
    text: str | None   # None: the file does not exist yet


def sections_of(recs: Sequence[Recommendation]) -> list[Section]:
    out = []
    for name in SECTIONS:
        mine = [r for r in recs if r.section == name]
        if mine:
            out.append(Section(name, "\n".join(r.content for r in mine), sum(r.tokens_saved for r in mine)))
    return out


def _unsafe(rec: Recommendation) -> str | None:
    # A rule about a value redaction removed says nothing an agent could follow.
    kinds = {p.kind for p in screen(rec.content)} | ({"redacted-value"} if "[REDACTED:" in rec.content else set())
    return "; ".join(sorted(kinds)) if kinds else None


def _fit(target: TargetFile, recs: list[Recommendation], *, date: str,
         max_tokens: int) -> tuple[str | None, list[Recommendation], list[Recommendation]]:
    """The new text and the rules kept; the lowest-ranked rules go until the block fits."""
    kept = list(recs)
    dropped: list[Recommendation] = []
    while True:
        new = merge(target.text, sections_of(kept), date=date, source=target.path)
        current = new if new is not None else target.text
        sections = parse_block(current, source=target.path) if current is not None else None
        if not kept or block_tokens(sections or []) <= max_tokens:
            return new, kept, dropped
        dropped.insert(0, kept.pop())


def propose(findings: Sequence[Finding], stats: Stats, *, repo: str, targets: Mapping[str, TargetFile],
            date: str, max_tokens: int, skipped: int,
            candidates: Sequence[Recommendation] | None = None,
            rejected: Sequence[Dropped] = ()) -> Plan:
    """`targets` maps a role ("context", and "memory" when a memory file is given) to its file.
    `candidates` are rules from another analyzer (the LLM's), ranked, in place of the
    deterministic ones; `rejected` are what that analyzer's own screening dropped."""
    recs: list[Recommendation] = []
    dropped: list[Dropped] = list(rejected)
    for rec in (recommend(findings) if candidates is None else candidates):
        reason = _unsafe(rec)
        if reason:
            dropped.append(Dropped(rec.fingerprint, rec.content, f"unsafe: {reason}"))
        elif rec.target not in targets:
            dropped.append(Dropped(rec.fingerprint, rec.content, f"no {rec.target} file given"))
        else:
            recs.append(rec)
    changes = []
    written: list[Recommendation] = []
    for role, target in targets.items():
        new, kept, over = _fit(target, [r for r in recs if r.target == role], date=date, max_tokens=max_tokens)
        written += kept
        dropped += [Dropped(r.fingerprint, r.content, f"over the block budget of {max_tokens} tokens")
                    for r in over]
        changes.append(TargetChange(target.path, role, sha256(target.text), new))
    return Plan(repo=repo, targets=tuple(changes), recommendations=tuple(written),
                findings=tuple(f for f in findings if any(f.id in r.finding_ids for r in written)),
                dropped=tuple(dropped), stats=stats, skipped=skipped)
