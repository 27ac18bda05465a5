"""Precision and recall of headroom-ci's default (deterministic) rules on real transcripts.

For each PATH (a folder or a .zip of one project's transcripts) this runs `headroom-ci learn` as a
new user would, with default settings, against an empty git repository made in a temp folder, and
lists the rules the block would get with their evidence. With a labels file (default:
benchmarks/real_labels.json; a project is named by the stem of its PATH) each rule is judged:

  right      it matches a wanted or a right pattern of its project
  harmful    it matches a harmful pattern (must never be written)
  unjudged   it matches nothing: counted wrong until someone judges it in the labels file

  precision  right rules / rules          recall  wanted rules found / wanted rules

    python3 benchmarks/real_eval.py CORPUS/entire-cli.zip CORPUS/m-claude.zip
    python3 benchmarks/real_eval.py --json --labels my-labels.json CORPUS/*.zip
"""
from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.append(str(_REPO))

from headroom_ci.commands.learn import LearnSettings  # noqa: E402
from headroom_ci.commands.learn import make_plan  # noqa: E402
from headroom_ci.learning.plan import Plan  # noqa: E402

DEFAULT_LABELS = Path(__file__).resolve().parent / "real_labels.json"


@dataclass(frozen=True)
class Pattern:
    id: str
    text: str
    match: tuple[re.Pattern[str], ...]

    def hits(self, rule: str) -> bool:
        return any(m.search(rule) for m in self.match)


@dataclass(frozen=True)
class ProjectLabels:
    wanted: tuple[Pattern, ...] = ()
    right: tuple[Pattern, ...] = ()
    harmful: tuple[Pattern, ...] = ()


@dataclass
class Result:
    project: str
    sessions: int
    rules: list[dict[str, Any]] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    wanted: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def right(self) -> int:
        return sum(1 for r in self.rules if r["verdict"] == "right")

    @property
    def harmful(self) -> int:
        return sum(1 for r in self.rules if r["verdict"] == "harmful")

    @property
    def precision(self) -> float | None:
        return self.right / len(self.rules) if self.rules else None

    @property
    def recall(self) -> float | None:
        return len(self.found) / self.wanted if self.wanted else None


def _patterns(items: Sequence[dict[str, Any]], where: str) -> tuple[Pattern, ...]:
    out = []
    for item in items:
        try:
            out.append(Pattern(item["id"], item.get("rule") or item.get("note") or "",
                               tuple(re.compile(m, re.I) for m in item["match"])))
        except (KeyError, TypeError, re.error) as exc:
            raise SystemExit(f"{where}: bad label {item!r}: {exc}") from None
    return tuple(out)


def load_labels(path: Path) -> dict[str, ProjectLabels]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        projects = doc["projects"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"{path}: not a labels file: {exc}") from None
    return {name: ProjectLabels(*(_patterns(p.get(k, ()), f"{path}: {name}.{k}")
                                  for k in ("wanted", "right", "harmful")))
            for name, p in projects.items()}


def project_name(path: str) -> str:
    p = Path(path.rstrip("/"))
    return p.stem if p.suffix == ".zip" else p.name


def judge(project: str, plan: Plan, labels: ProjectLabels | None) -> Result:
    res = Result(project, plan.stats.sessions, wanted=len(labels.wanted) if labels else 0)
    by_id = {f.id: f for f in plan.findings}
    found: set[str] = set()
    for rec in plan.recommendations:
        text = rec.content
        verdict, why = "unjudged", ""
        if labels is not None:
            bad = next((p for p in labels.harmful if p.hits(text)), None)
            good = [p for p in (*labels.wanted, *labels.right) if p.hits(text)]
            if bad is not None:
                verdict, why = "harmful", bad.id
            elif good:
                verdict, why = "right", ",".join(p.id for p in good)
                found.update(p.id for p in good if p in labels.wanted)
        findings = [by_id[i] for i in rec.finding_ids if i in by_id]
        res.rules.append({
            "rule": text, "section": rec.section, "verdict": verdict, "label": why,
            "sessions": rec.evidence_count,
            "evidence": [f"{e.path}: {e.failing[:100]!r} -> {(e.fixing or '')[:80]!r}: {e.error[:100]}"
                         for f in findings for e in f.evidence[:3]],
        })
    res.found = sorted(found)
    return res


def evaluate(path: str, labels: dict[str, ProjectLabels] | None) -> Result:
    name = project_name(path)
    with tempfile.TemporaryDirectory(prefix="headroom-real-") as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True)
        notes = io.StringIO()
        learned = make_plan(LearnSettings(paths=(path,), repo_path=tmp), notes=notes)
    res = judge(name, learned.plan, labels.get(name) if labels is not None else None)
    res.notes = [ln for ln in notes.getvalue().splitlines() if ln]
    return res


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def report_text(results: Sequence[Result]) -> str:
    out = [f"{'project':<20} {'sessions':>8} {'rules':>5} {'right':>5} {'harmful':>7} {'precision':>9} "
           f"{'recall':>8}"]
    for r in results:
        recall = f"{len(r.found)}/{r.wanted}" if r.wanted else "-"
        out.append(f"{r.project:<20} {r.sessions:>8} {len(r.rules):>5} {r.right:>5} {r.harmful:>7} "
                   f"{_fmt(r.precision):>9} {recall:>8}")
    for r in results:
        out += ["", f"== {r.project}: wanted found {', '.join(r.found) or 'none'}"]
        out += [f"   note: {n}" for n in r.notes]
        for rule in r.rules:
            out.append(f"  [{rule['verdict']}{' ' + rule['label'] if rule['label'] else ''}] {rule['rule']}")
            out += [f"      {e}" for e in rule["evidence"]]
    return "\n".join(out) + "\n"


def report_json(results: Sequence[Result]) -> list[dict[str, Any]]:
    return [{"project": r.project, "sessions": r.sessions, "rules": r.rules, "right": r.right,
             "harmful": r.harmful, "precision": r.precision, "wanted": r.wanted, "found": r.found,
             "recall": r.recall, "notes": r.notes} for r in results]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Judge the rules headroom-ci learns from real transcripts.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a folder or .zip of one project's transcripts")
    p.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="judgments (default: %(default)s)")
    p.add_argument("--no-labels", action="store_true", help="list the rules without judging them")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    labels = None if args.no_labels else load_labels(args.labels)
    results = [evaluate(path, labels) for path in args.paths]
    sys.stdout.write(json.dumps(report_json(results), indent=2) + "\n" if args.json else report_text(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
