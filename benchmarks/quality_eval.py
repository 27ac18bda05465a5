"""Precision and recall of headroom-ci's rules on a labeled corpus.

Builds a corpus with planted learnings and planted traps (benchmarks/labeled.py), runs the real
pipeline on it — `iter_paths` → `commands.learn.mine` → `Miner.findings(Thresholds())` →
`rules.recommend` — and scores the rules against the answer key:

  precision  rules that state a planted learning (right kind, key and fix) / all rules
  recall     planted learnings stated by a rule / all planted learnings

per kind and overall, with every false positive and every miss listed next to what the miner
saw. A retry loop of a command that has its own runner/alternative rule is folded into that rule
by `recommend`; such a loop counts as found when the miner found the loop and the command's
rule exists. See benchmarks/README.md.

    python3 benchmarks/quality_eval.py                       # 300 sessions over 30 runs, seed 7
    python3 benchmarks/quality_eval.py --seed 3 --sessions 600 --runs 60 --json
    python3 benchmarks/quality_eval.py --out quality-corpus   # keep the corpus and labels.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    # Run as a script, only benchmarks/ is on the path. Appended, so an installed
    # headroom_ci or one on PYTHONPATH still wins over the checkout.
    sys.path.append(str(_REPO))

from benchmarks.labeled import build  # noqa: E402
from benchmarks.labeled import KINDS  # noqa: E402
from benchmarks.labeled import Label  # noqa: E402
from benchmarks.labeled import Labels  # noqa: E402
from headroom_ci.commands.learn import mine  # noqa: E402
from headroom_ci.mining.findings import Finding  # noqa: E402
from headroom_ci.mining.findings import Miner  # noqa: E402
from headroom_ci.mining.findings import Thresholds  # noqa: E402
from headroom_ci.mining.signature import normalize  # noqa: E402
from headroom_ci.rules import Recommendation  # noqa: E402
from headroom_ci.rules import recommend  # noqa: E402
from headroom_ci.sessions.load import iter_paths  # noqa: E402

_COMMAND_KINDS = ("runner", "alternative")


# --------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class Mined:
    miner: Miner
    skipped: int
    findings: list[Finding]
    rules: list[Recommendation]
    seconds: float


def run_pipeline(labels: Labels) -> Mined:
    start = time.perf_counter()
    miner, skipped = mine(iter_paths(labels.run_dirs), repo_path=None)
    findings = miner.findings(Thresholds())
    rules = recommend(findings)
    return Mined(miner, skipped, findings, rules, time.perf_counter() - start)


# --------------------------------------------------------------------------- scoring


@dataclass
class KindScore:
    rules: int = 0
    correct: int = 0
    planted: int = 0
    found: int = 0

    @property
    def precision(self) -> float | None:
        return self.correct / self.rules if self.rules else None

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None


@dataclass
class Score:
    kinds: dict[str, KindScore] = field(default_factory=lambda: {k: KindScore() for k in KINDS})
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)  # loop labels found through their command's rule

    @property
    def total(self) -> KindScore:
        t = KindScore()
        for k in self.kinds.values():
            t.rules, t.correct, t.planted, t.found = (t.rules + k.rules, t.correct + k.correct,
                                                      t.planted + k.planted, t.found + k.found)
        return t


def _finding(f: Finding) -> dict[str, Any]:
    ev = [{"failing": e.failing, "fixing": e.fixing, "error": e.error, "agent": e.agent} for e in f.evidence[:3]]
    return {"id": f.id, "kind": f.kind, "key": f.key, "fix": f.fix, "category": f.category, "sessions": f.sessions,
            "runs": f.runs, "fixes": f.fixes, "occurrences": f.occurrences, "evidence": ev}


def _label(lb: Label) -> dict[str, Any]:
    return {"id": lb.id, "kind": lb.kind, "key": lb.key, "fix": lb.fix, "sessions": lb.sessions, "runs": lb.runs,
            "fixed": lb.fixed, "note": lb.note}


def _why_false(f: Finding, labels: Labels) -> str:
    """Which plant the rule came from: a learning mislabelled, a trap that fired, or nothing planted."""
    same = [lb for lb in labels.labels if lb.key == f.key or normalize(lb.key) == f.key]
    if same:
        lb = same[0]
        return (f"planted {lb.id} expects [{lb.kind}] {lb.key!r} -> {lb.fix!r}; "
                f"the miner says [{f.kind}] -> {f.fix!r}")
    for d in labels.distractors:
        if f.key in d.keys:
            return f"trap {d.id} ({d.kind}: {d.note}) fired"
    return "matches nothing planted (noise or two plants interfering)"


def _why_missed(lb: Label, loose: list[Finding]) -> str:
    """What the miner made of a planted learning, from its findings with no thresholds."""
    seen = [f for f in loose if f.key == lb.key]
    if not seen:
        return "no observation with this key"
    return "; ".join(f"[{f.kind}] fix {f.fix!r}: {f.sessions} sessions, fix seen in {f.fixes}" for f in seen)


def score(labels: Labels, mined: Mined) -> Score:
    s = Score()
    by_id = {f.id: f for f in mined.findings}
    ruled = [(r, by_id[r.finding_ids[0]]) for r in mined.rules]
    found: set[str] = set()
    for rule, f in ruled:
        k = s.kinds.setdefault(f.kind, KindScore())
        k.rules += 1
        # One rule can be the learning of several plants (two scripts run with `python`).
        hits = [lb.id for lb in labels.labels if lb.accepts(f.kind, f.key, f.fix)]
        if hits:
            k.correct += 1
            found.update(hits)
        else:
            s.false_positives.append({**_finding(f), "rule": rule.content, "why": _why_false(f, labels)})
    # recommend() drops a loop whose command has a runner/alternative rule and adds its count there.
    command_rules = {normalize(f.key) for _, f in ruled if f.kind in _COMMAND_KINDS}
    for f in mined.findings:
        if f.kind == "loop" and f.key in command_rules:
            hit = next((lb for lb in labels.labels if lb.accepts(f.kind, f.key, f.fix)), None)
            if hit is not None and hit.id not in found:
                found.add(hit.id)
                s.folded.append(hit.id)
    loose = mined.miner.findings(Thresholds(min_sessions=1, min_fixes=0))
    for lb in labels.labels:
        k = s.kinds.setdefault(lb.kind, KindScore())
        k.planted += 1
        if lb.id in found:
            k.found += 1
        else:
            s.misses.append({**_label(lb), "miner": _why_missed(lb, loose)})
    return s


# --------------------------------------------------------------------------- report


def _fmt(x: float | None) -> str:
    return "    -" if x is None else f"{x:.3f}"


def _table(s: Score) -> list[str]:
    lines = [f"{'kind':<12} {'rules':>5} {'correct':>7} {'precision':>9}   {'planted':>7} {'found':>5} {'recall':>6}"]
    for name, k in [*s.kinds.items(), ("overall", s.total)]:
        if name == "overall":
            lines.append("-" * len(lines[0]))
        lines.append(f"{name:<12} {k.rules:>5} {k.correct:>7} {_fmt(k.precision):>9}   {k.planted:>7} "
                     f"{k.found:>5} {_fmt(k.recall):>6}")
    return lines


def report_text(labels: Labels, mined: Mined, s: Score, *, built: float) -> str:
    fmts = ", ".join(f"{name} {n}" for name, n in labels.formats.items())
    stats = mined.miner.stats()
    traps: dict[str, int] = {}
    for d in labels.distractors:
        traps[d.kind] = traps.get(d.kind, 0) + 1
    out = [
        f"headroom-ci quality evaluation — seed {labels.seed}: {labels.sessions} sessions ({fmts}) in "
        f"{labels.runs} CI runs, {labels.tool_calls} tool calls",
        f"planted: {len(labels.labels)} learnings, {len(labels.distractors)} traps "
        f"({', '.join(f'{k} {n}' for k, n in traps.items())})",
        f"read {stats.sessions} sessions ({mined.skipped} skipped), {stats.failures} failed calls; "
        f"{len(mined.findings)} findings, {len(mined.rules)} rules; built in {built:.1f}s, read+mined in "
        f"{mined.seconds:.1f}s",
        "",
        *_table(s),
        "",
        f"precision {_fmt(s.total.precision)}   recall {_fmt(s.total.recall)}",
    ]
    if s.folded:
        out.append(f"loops folded into their command's rule (counted found): {', '.join(s.folded)}")
    out += ["", f"false positives ({len(s.false_positives)}):"]
    for fp in s.false_positives:
        out.append(f"  [{fp['kind']}] {fp['key']!r} -> {fp['fix']!r}  ({fp['sessions']} sessions, fix seen in "
                   f"{fp['fixes']}, {fp['category']})")
        out.append(f"      why: {fp['why']}")
        for e in fp["evidence"][:2]:
            out.append(f"      e.g. {e['agent']}: {e['failing']!r} -> {e['fixing']!r}: {e['error']}")
        out.append(f"      rule: {fp['rule']}")
    out += ["", f"misses ({len(s.misses)}):"]
    for m in s.misses:
        out.append(f"  [{m['kind']}] {m['id']}: {m['key']!r} -> {m['fix']!r}  (planted in {m['sessions']} sessions, "
                   f"{m['runs']} runs, fix in {m['fixed']}; {m['note']})")
        out.append(f"      miner: {m['miner']}")
    return "\n".join(out) + "\n"


def report_json(labels: Labels, mined: Mined, s: Score, *, built: float) -> dict[str, Any]:
    def kind(k: KindScore) -> dict[str, Any]:
        return {"rules": k.rules, "correct": k.correct, "precision": k.precision, "planted": k.planted,
                "found": k.found, "recall": k.recall}
    return {
        "seed": labels.seed, "sessions": labels.sessions, "runs": labels.runs, "formats": labels.formats,
        "tool_calls": labels.tool_calls, "learnings": len(labels.labels), "traps": len(labels.distractors),
        "findings": len(mined.findings), "rules": len(mined.rules), "skipped": mined.skipped,
        "precision": s.total.precision, "recall": s.total.recall,
        "per_kind": {name: kind(k) for name, k in s.kinds.items()},
        "folded_loops": s.folded, "false_positives": s.false_positives, "misses": s.misses,
        "seconds": {"build": round(built, 3), "read_and_mine": round(mined.seconds, 3)},
    }


# --------------------------------------------------------------------------- main


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Precision and recall of headroom-ci's rules on a labeled corpus.")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sessions", type=int, default=300)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--out", help="write the corpus (and labels.json) here and keep it: a new or empty folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--fail-under", type=float, default=None, metavar="X",
                   help="exit 1 when precision or recall is below X")
    return p.parse_args(argv)


def _evaluate(root: Path, args: argparse.Namespace) -> tuple[str, float | None, float | None]:
    start = time.perf_counter()
    labels = build(root, seed=args.seed, sessions=args.sessions, runs=args.runs)
    built = time.perf_counter() - start
    mined = run_pipeline(labels)
    s = score(labels, mined)
    text = (json.dumps(report_json(labels, mined, s, built=built), indent=2, ensure_ascii=False) + "\n"
            if args.json else report_text(labels, mined, s, built=built))
    return text, s.total.precision, s.total.recall


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    if args.out:
        root = Path(args.out)
        if root.exists() and any(root.iterdir()):
            print(f"--out {root}: not empty; give a new or empty folder", file=sys.stderr)
            return 2
        text, precision, recall = _evaluate(root, args)
    else:
        with tempfile.TemporaryDirectory(prefix="headroom-quality-") as tmp:
            text, precision, recall = _evaluate(Path(tmp), args)
    sys.stdout.write(text)
    if args.fail_under is not None and min(precision or 0.0, recall or 0.0) < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
