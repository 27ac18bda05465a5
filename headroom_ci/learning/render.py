"""A plan as text for a terminal or as markdown (pure)."""
from __future__ import annotations

import difflib
from collections.abc import Sequence

from headroom_ci.learning.plan import findings_of
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import run_count
from headroom_ci.learning.plan import runs_of
from headroom_ci.learning.plan import TargetChange
from headroom_ci.safety import inert
from headroom_ci.safety.redact import redact


def diff(change: TargetChange, old: str | None) -> str:
    if change.new_content is None:
        return ""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True), change.new_content.splitlines(keepends=True),
        fromfile=f"a/{change.path}" if old is not None else "/dev/null", tofile=f"b/{change.path}")
    return redact("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines))


def summary(plan: Plan) -> str:
    s = plan.stats
    return (f"{s.sessions} sessions, {s.tool_calls} tool calls, {s.failures} failures "
            f"({s.failure_rate:.1%}), ~{s.wasted_tokens:,} tokens spent on failed calls"
            + (f"; {plan.skipped} files or lines skipped" if plan.skipped else ""))


def _evidence_lines(plan: Plan, indent: str) -> list[str]:
    out = []
    for rec in plan.recommendations:
        out.append(f"{indent}[{rec.section}] {rec.content}")
        for f in findings_of(plan, rec):
            ex = f.evidence[0] if f.evidence else None
            line = f"{indent}    {f.id}: {f.sessions} sessions, {f.occurrences} failures, ~{f.wasted_tokens:,} tokens"
            if ex is not None:
                line += f"; e.g. `{ex.failing}` → {ex.error!r}" + (f" then `{ex.fixing}` worked" if ex.fixing else "")
            out.append(line)
    return out


def _change_line(c: RuleChange) -> str:
    """One rule's fate in a plan: `added`, `reworded: old → new`, `retired: reason`, `unchanged`."""
    rule = rule_text(c.content)
    if c.status == "reworded" and c.before is not None:
        return f"reworded: {rule_text(c.before)} → {rule}"
    if c.status == "retired":
        return f"retired: {rule} (because {c.reason or 'it was retired'})"
    return f"{c.status}: {rule}"


def rule_text(content: str) -> str:
    """A rule's text as shown in learn's output (the one place it enters it)."""
    return " ".join(content.removeprefix("- ").split())


def _effect_cells(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """(rule, since, before, after, status) per rule in effect; a recurring rule is flagged."""
    return [(rule_text(r.content), r.since or "-", f"{r.before.failed}/{r.before.runs}",
             f"{r.after.failed}/{r.after.runs}",
             r.status + (": its failure goes on, reword it or move it" if r.status == "recurring" else ""))
            for r in plan.rules_in_effect]


def text(plan: Plan, *, olds: Sequence[str | None], applied: bool, plan_out: str | None = None,
         closing: bool = True) -> str:
    """`closing`: end with what became of the plan (learn's; `run`, which has no --apply, says its own)."""
    out = [f"headroom-ci learn: {summary(plan)}"]
    if plan.recommendations:
        out.append(f"\n{len(plan.recommendations)} rules:")
        out += _evidence_lines(plan, "  ")
    else:
        out.append("\nNo recurring failure with a fix was found: nothing to propose.")
    if plan.dropped:
        out.append(f"\nLeft out ({len(plan.dropped)}):")
        out += [f"  {d.content}\n    reason: {d.reason}" for d in plan.dropped]
    changed = [c for c in plan.changes if c.status != "unchanged"]
    if changed:
        out.append(f"\nChanges ({len(changed)}):")
        out += [f"  {c.path}: {_change_line(c)}" for c in changed]
    if plan.rules_in_effect:
        out.append("\nRules in effect (CI runs with the rule's failure, before / after it reached the base branch):")
        out += [f"  {rule}\n    since {since}: before {before}, after {after}: {status}"
                for rule, since, before, after, status in _effect_cells(plan)]
    for change, old in zip(plan.targets, olds, strict=True):
        patch = diff(change, old)
        if patch:
            out += ["", patch.rstrip("\n")]
        else:
            out.append(f"\n{change.path}: unchanged")
    if not closing or not plan.changed:
        pass
    elif applied:
        out.append(f"\nWritten: {', '.join(c.path for c in plan.targets if c.new_content is not None)}.")
    elif plan_out:
        out.append(f"\nDry run: the context file is unchanged (--apply writes the change); "
                   f"`headroom-ci pr --plan {plan_out}` proposes it.")
    else:
        out.append("\nDry run: nothing written (--apply writes the change).")
    if plan_out:
        out.append(f"Plan written to {plan_out}.")
    return redact("\n".join(out) + "\n")


def markdown(plan: Plan, *, olds: Sequence[str | None]) -> str:
    from headroom_ci.github.body import runs_cell   # the same links as the pull request's
    out = ["## headroom-ci learn", "", summary(plan), ""]
    if plan.recommendations:
        out += ["| section | rule | sessions | runs | tokens/session | CI runs |", "|---|---|---|---|---|---|"]
        for rec in plan.recommendations:
            fs = findings_of(plan, rec)
            runs = run_count(fs)
            cell = _cell(rule_text(rec.content))
            links = runs_cell(runs_of(fs)) or "-"
            out.append(f"| {rec.section} | {cell} | {rec.evidence_count} | {runs or '-'} | {rec.tokens_saved:,} "
                       f"| {links} |")
    else:
        out.append("No recurring failure with a fix was found: nothing to propose.")
    changed = [c for c in plan.changes if c.status != "unchanged"]
    if changed:
        out += ["", "| file | change |", "|---|---|"]
        out += [f"| {_cell(c.path)} | {_cell(_change_line(c))} |" for c in changed]
    if plan.rules_in_effect:
        out += ["", "**Rules in effect**: CI runs with the rule's failure, before and after it reached the base branch",
                "", "| rule | since | before | after | status |", "|---|---|---|---|---|"]
        out += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in _effect_cells(plan)]
    if plan.dropped:
        out += ["", "<details><summary>Left out</summary>", ""]
        # Rules the screen refused, as they came: inert, or they would render as what they hold.
        out += [f"- {inert.markdown(redact(d.content.removeprefix('- ')))} — {inert.markdown(redact(d.reason))}" for d in plan.dropped]
        out += ["", "</details>"]
    for change, old in zip(plan.targets, olds, strict=True):
        patch = diff(change, old)
        if patch:
            out += ["", inert.code_block(patch, "diff")]
    return redact("\n".join(out) + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
