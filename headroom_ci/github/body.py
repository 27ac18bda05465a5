"""The pull request's title, description, commit message and comments (pure: plan data → text).

Everything that comes from a transcript (commands, errors, run ids, URLs) is untrusted: it is
shown HTML-escaped inside <pre>, or cell-escaped in the table, so it can neither break the
markdown, nor hide itself in an HTML comment, nor forge the fingerprints comment we read back.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import newest_first
from headroom_ci.mining.findings import RunRef
from headroom_ci.learning.plan import findings_of
from headroom_ci.learning.plan import Plan
from headroom_ci.learning.plan import RuleChange
from headroom_ci.learning.plan import run_count
from headroom_ci.learning.plan import runs_of
from headroom_ci.safety import inert
from headroom_ci.since import age
from headroom_ci.safety.redact import redact
from headroom_ci.rules import Recommendation
from headroom_ci.rules import SECTIONS

MAX_BODY = 65_536  # GitHub's limit for a pull request body
_BUDGET = MAX_BODY - 1_536  # headroom for counting differences (GitHub may count UTF-16 units)
FINGERPRINTS = "headroom-ci:fingerprints"
HUMAN_EDITS = "<!-- headroom-ci:human-edits -->"
_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}")
_LEDGER = re.compile(r"\A\ufeff?\s*<!-- headroom-ci:fingerprints((?: [0-9a-f]{8,64})*) ?-->")
_RUN_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9._~/%+-]*")
_RUN_ID = re.compile(r"[\w.-]{1,40}")
# Detail per level: (examples per rule, characters per field, run links per rule; None: all). The
# body is rendered at the first level that fits GitHub's limit, so a huge error output costs detail,
# not the PR; every run stays linked unless even the bare table is too long for them.
_LEVELS = ((5, 2_000, None), (3, 600, None), (1, 200, None), (0, 0, None), (0, 0, 200), (0, 0, 50), (0, 0, 10))
IN_ROW = 5  # run links a rule's row shows before the rest are folded away


@dataclass(frozen=True)
class Suppressed:
    recommendation: Recommendation
    pull_number: int  # the pull request that was closed without merging


@dataclass(frozen=True)
class Footer:
    """Where the proposal came from, for the description's last line."""
    version: str = ""
    learn_run: str | None = None        # the URL of the workflow run that learned and proposed
    since: str | None = None            # the window of runs read (14d, a date)
    workflows: tuple[str, ...] = ()     # the workflows read; () when every one was
    config: str | None = None           # the config file read


@dataclass(frozen=True)
class Proposal:
    plan: Plan
    proposed: tuple[Recommendation, ...]
    suppressed: tuple[Suppressed, ...]
    paths: tuple[str, ...]      # files the branch changes
    branch: str
    base: str
    remerged: tuple[str, ...] = ()  # files whose base moved since the plan: rules merged onto the newer text
    changes: tuple[RuleChange, ...] = ()  # what the branch does to each rule, as merged onto the base
    footer: Footer | None = None

    @property
    def added(self) -> tuple[Recommendation, ...]:
        """The rules this pull request adds: all a close without merging rejects."""
        new = {c.fingerprint for c in self.changes if c.status == "added"}
        return tuple(r for r in self.proposed if r.fingerprint in new)


def fingerprints_in(body: str | None) -> tuple[str, ...]:
    """The fingerprints of the hidden comment a body of ours starts with; () for anything else.

    Only the very start of the body counts: text quoted further down (a transcript, a reply)
    can never add a fingerprint.
    """
    m = _LEDGER.match(body or "")
    return tuple(m.group(1).split()) if m else ()


def ledger_comment(recs: Sequence[Recommendation]) -> str:
    prints = [r.fingerprint for r in recs if _FINGERPRINT.fullmatch(r.fingerprint)]
    return f"<!-- {FINGERPRINTS}{''.join(' ' + p for p in prints)} -->"


def withdrawn(body: str | None) -> str:
    """The body with its fingerprints emptied: a proposal we close ourselves is not a rejection."""
    text = body or ""
    m = _LEDGER.match(text)
    return f"<!-- {FINGERPRINTS} -->" + (text[m.end():] if m else "\n" + text)


_VERBS = (("added", "add", "adds"), ("reworded", "reword", "rewords"), ("retired", "retire", "retires"))


def _counted(p: Proposal) -> list[tuple[str, int]]:
    """(status, how many) for what the pull request does, in a fixed order; a plan from before
    changes were recorded counts all its rules as added."""
    if not p.changes:
        return [("added", len(p.proposed))] if p.proposed else []
    return [(status, n) for status, *_ in _VERBS if (n := sum(1 for c in p.changes if c.status == status))]


def _what(p: Proposal, *, third_person: bool) -> str:
    verbs = {status: (says if third_person else do) for status, do, says in _VERBS}
    parts = [f"{verbs[status]} {n} rule{'s' if n != 1 else ''}" for status, n in _counted(p)]
    if not parts:
        return "updates the rules" if third_person else "update the rules"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def title(p: Proposal) -> str:
    return f"headroom-ci: {_what(p, third_person=False)} in {', '.join(p.paths) or 'the context file'}"


def commit_message(p: Proposal) -> str:
    lines = [title(p), "", f"Rules in the headroom:learn block, learned from {p.plan.stats.sessions} agent sessions:"]
    if p.changes:
        lines += [f"- {c.status}: [{c.section}] {_one_line(c.content.removeprefix('- '))}"
                  + (f" ({_one_line(c.reason)})" if c.reason else "") for c in p.changes if c.status != "unchanged"]
    else:
        lines += [f"- [{r.section}] {_one_line(r.content.removeprefix('- '))}" for r in p.proposed]
    if p.suppressed:
        lines += ["", "Not proposed again (closed without merging): "
                  + ", ".join(sorted({s.recommendation.fingerprint for s in p.suppressed}))]
    return redact("\n".join(lines) + "\n")


def human_edits_comment(branch: str) -> str:
    return (f"{HUMAN_EDITS}\nSomeone other than headroom-ci pushed to `{_tick(branch)}`, so headroom-ci leaves this "
            "branch alone: it will not push over your commits or change this pull request.\n\n"
            "To get a fresh proposal instead, close this pull request and delete the branch; the next run "
            "opens a new one.")


def closed_comment(base: str) -> str:
    return (f"headroom-ci has nothing left to propose: `{_tick(base)}` already has these rules, or they are no "
            "longer supported by recent sessions. Closing this pull request and deleting its branch.")


def render(p: Proposal) -> str:
    """The description, under GitHub's 65,536 characters whatever the evidence holds."""
    for examples, chars, runs in _LEVELS:
        # Redacted before measuring: a marker is longer than some secrets it replaces.
        body = redact(_render(p, examples=examples, chars=chars, runs=runs,
                              shortened=(examples, chars) != _LEVELS[0][:2]))
        if _size(body) <= _BUDGET:
            return body
    # Even without any evidence it is too long (it cannot be, with the block's token budget, but a
    # plan is data): cut it, keeping the fingerprints comment at the top.
    note = "\n\n*(The description was cut to fit GitHub's limit; the full evidence is in plan.json.)*\n"
    while _size(body) + len(note) > _BUDGET:
        body = body[: -max(_size(body) + len(note) - _BUDGET, 1)]
    return body + note


def _size(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _render(p: Proposal, *, examples: int, chars: int, runs: int | None, shortened: bool) -> str:
    s = p.plan.stats
    files = ", ".join(f"`{_tick(path)}`" for path in p.paths)
    what = _what(p, third_person=True)
    what = what[0].upper() + what[1:]
    if _evidenced(p):
        why = [f"{what} in the headroom:learn block of {files}: coding agents in CI kept failing the same "
               f"preventable ways ({s.failures} of {s.tool_calls} tool calls failed in {s.sessions} sessions).",
               "Each rule says what to do instead, learned from a failure that recurred across sessions and the fix "
               "that followed it; the diff touches only the block."]
    else:
        why = [f"{what} in the headroom:learn block of {files}: the repository no longer supports "
               f"{'them' if len([c for c in p.changes if c.status == 'retired']) > 1 else 'it'} (the reason is in "
               "the table); the diff touches only the block."]
    out = [ledger_comment(p.added if p.changes else p.proposed), *why, ""]
    if p.remerged:
        out += [f"> The base moved since these rules were learned: they were merged into the current "
                f"{', '.join(f'`{_tick(x)}`' for x in p.remerged)} of `{_tick(p.base)}`, keeping its newer content.", ""]
    out += _changes(p, runs=runs)
    if examples and _evidenced(p):
        out += ["", "### Evidence", ""]
        for i, rec in enumerate(_evidenced(p), 1):
            out += _details(p.plan, rec, i, examples=examples, chars=chars)
    if shortened:
        out += ["", "*(Evidence shortened to fit GitHub's size limit; the full evidence is in plan.json.)*"]
    if runs is not None and any(len(_links(runs_of(findings_of(p.plan, r)))) > runs for r in _evidenced(p)):
        out += ["", f"*(Run links cut to the newest {runs} per rule to fit GitHub's size limit; every run is in "
                    "plan.json.)*"]
    out += ["", "### Totals", "", "| Sessions | Tool calls | Failures | Failure rate | Tokens spent on failed calls |",
            "|---:|---:|---:|---:|---:|",
            f"| {s.sessions:,} | {s.tool_calls:,} | {s.failures:,} | {s.failure_rate:.1%} | ~{s.wasted_tokens:,} |"]
    out += _chart(p)
    out += efficacy_table(p.plan)
    if p.suppressed:
        out += ["", "### Not proposed again", "",
                "These rules were in a pull request that was closed without merging, so they are left out "
                "(`--include-rejected` proposes them anyway):", ""]
        out += [f"- {_cell(x.recommendation.content.removeprefix('- '))} (closed in #{x.pull_number})"
                for x in p.suppressed]
    if p.plan.dropped:
        # What was left out, the LLM's rejected rules among them, so a reviewer sees what was tried.
        out += ["", f"<details><summary>Left out ({len(p.plan.dropped)})</summary>", ""]
        out += [f"- {inert.markdown(redact(d.content.removeprefix('- ')))} — {inert.markdown(redact(d.reason))}"
                for d in p.plan.dropped]
        out += ["", "</details>"]
    if p.plan.llm:
        usage = p.plan.llm
        out += ["", f"*Rules phrased by `{_tick(str(usage.get('model', '?')))}`: "
                    f"{usage.get('input_tokens', 0):,} input and {usage.get('output_tokens', 0):,} output tokens"
                    + (f", ${usage['cost_usd']:.4f}" if isinstance(usage.get('cost_usd'), (int, float)) else "")
                    + ".*"]
    out += ["", "### How to review", "",
            "- **Accept**: merge this pull request.",
            f"- **Change**: edit the block in {files} on the branch `{_tick(p.branch)}`. headroom-ci never pushes "
            "over commits that are not its own; delete the branch to get a fresh proposal later.",
            "- **Reject**: close this pull request without merging; its rules will not be proposed again."]
    if p.footer is not None:
        out += ["", "---", "", footer_line(p.footer)]
    return "\n".join(out) + "\n"


def footer_line(f: Footer) -> str:
    parts = [f"headroom-ci {_tick(f.version)}" if f.version else "headroom-ci"]
    read = "learned from the runs" + (" of " + ", ".join(f"`{_tick(w)}`" for w in f.workflows) if f.workflows
                                      else " of any workflow")
    window = age(f.since or "")
    if window:
        read += f" in the last {window.words()}"
    elif f.since:
        read += f" since {_tick(f.since)}"
    parts.append(read)
    if f.config:
        parts.append(f"config `{_tick(f.config)}`")
    if f.learn_run and _RUN_URL.fullmatch(f.learn_run):
        parts.append(f"[the run that proposed this]({f.learn_run})")
    parts.append("to pause: disable the workflow that runs headroom-ci (`gh workflow disable`), or set "
                 "`dry-run: true` in `.github/headroom-learn.yml`")
    return "<sub>" + " · ".join(parts) + "</sub>"


def _evidenced(p: Proposal) -> tuple[Recommendation, ...]:
    """The rules whose evidence the description shows: those it adds or rewords."""
    if not p.changes:
        return p.proposed
    shown = {c.fingerprint for c in p.changes if c.status in ("added", "reworded")}
    return tuple(r for r in p.proposed if r.fingerprint in shown)


def _changes(p: Proposal, *, runs: int | None = None) -> list[str]:
    """Each rule's status, as Renovate shows a version going from one to the next."""
    out = ["### Rules", "", "| Status | Section | Rule | Sessions | Runs | Est. tokens saved | Evidence |",
           "|---|---|---|---:|---:|---:|---|"]
    by_print = {r.fingerprint: r for r in p.proposed}
    changes = p.changes or tuple(RuleChange("", "added", r.fingerprint, r.section, r.content) for r in p.proposed)
    order = {"added": 0, "reworded": 1, "retired": 2, "unchanged": 3}
    for c in sorted(changes, key=lambda c: order.get(c.status, 4)):
        rec = by_print.get(c.fingerprint)
        rule = rule_cell(c.content)
        if c.status == "reworded" and c.before is not None:
            rule = f"{rule_cell(c.before)} → {rule}"
        status = f"retired: {_cell(c.reason)}" if c.status == "retired" and c.reason else c.status
        if rec is None or c.status in ("retired", "unchanged"):
            out.append(f"| {status} | {_cell(c.section)} | {rule} | – | – | – | – |")
            continue
        fs = findings_of(p.plan, rec)
        out.append(f"| {status} | {_cell(c.section)} | {rule} | {rec.evidence_count} | "
                   f"{run_count(fs) or '–'} | ~{rec.tokens_saved:,}/session | "
                   f"{runs_cell(runs_of(fs), limit=runs) or '–'} |")
    return out


def rule_cell(content: str) -> str:
    """A rule's text in a table cell (the one place rule text enters the description's tables)."""
    return _cell(content.removeprefix("- "))


def efficacy_table(plan: Plan) -> list[str]:
    """The rules in effect: CI runs with their failure before and after each reached the base."""
    if not plan.rules_in_effect:
        return []
    out = ["", "### Rules in effect", "",
           "CI runs whose sessions had the rule's failure, before and after the rule reached the base branch:", "",
           "| Rule | In effect since | Before | After | Status |", "|---|---|---:|---:|---|"]
    for r in plan.rules_in_effect:
        flag = " ⚠ still failing: reword it or move it" if r.status == "recurring" else ""
        out.append(f"| {rule_cell(r.content)} | {r.since or '–'} | {r.before.failed}/{r.before.runs} | "
                   f"{r.after.failed}/{r.after.runs} | {r.status}{flag} |")
    return out


def _details(plan: Plan, rec: Recommendation, i: int, *, examples: int, chars: int) -> list[str]:
    # Only our own words in the summary: markdown is not rendered there, so a transcript's text
    # would lose the code span that keeps an @mention from notifying someone.
    out = [f"<details><summary>Rule {i} ({html.escape(rec.section, quote=False)}): the failing calls and the fix that followed</summary>", ""]
    shown = 0
    for f in findings_of(plan, rec):
        out.append(f"{f.occurrences} failures in {f.sessions} sessions, ~{f.wasted_tokens:,} tokens spent on them.")
        for same in _alike(f.evidence)[: max(examples - shown, 0)]:
            shown += 1
            e = same[0]
            runs = run_links(_runs_in(same))
            where = (f" in run{'s' if ', ' in runs else ''} {runs}" if runs else "")
            times = f" (×{len(same)}, byte for byte)" if len(same) > 1 else ""
            call, fix = _CALLS.get(f.kind, _CALLS[""])
            out += ["", re.sub(r"[^\w.-]", "", e.agent) + where + times
                    + f", {call}:", _pre(e.failing, chars), "the error:", _pre(e.error, chars)]
            if e.fixing:
                # A path's fix is a read, unless the agent found the file by a search (Gemini's glob).
                said = fix if f.kind != "path" or not re.search(r"[\s*?]", e.fixing) else _CALLS[""][1]
                out += [f"{said}:", _pre(e.fixing, chars)]
    return out + ["", "</details>", ""]


# What a finding's failing call and fix were, said in words: for a file read the call is a bare
# path, and "the failing call: services/x.py" would leave a reviewer guessing.
_CALLS = {
    "": ("the failing call", "the fix that followed"),
    "path": ("the failing call, a read of the file", "the fix that followed, a read of"),
    "large_file": ("the failing call, a read of the whole file", "the fix that followed"),
    "folder": ("the failing call, a look in the folder", "the fix that followed, a look in"),
    "scope": ("the failing call, a search", "the fix that followed, a search"),
}


def _alike(evidence: Sequence[Evidence]) -> list[list[Evidence]]:
    """The evidence grouped by what it shows (agent, call, error, fix), in first-seen order: the
    same failure in five runs is one example with its five runs, not five copies."""
    groups: dict[tuple[str, str, str, str | None], list[Evidence]] = {}
    for e in evidence:
        groups.setdefault((e.agent, e.failing, e.error, e.fixing), []).append(e)
    return list(groups.values())


def _chart(p: Proposal) -> list[str]:
    """A pie of the tokens failed calls cost, by the section of the rule that would prevent them."""
    waste = {name: 0 for name in SECTIONS}
    for rec in p.proposed:
        waste[rec.section] = waste.get(rec.section, 0) + sum(f.wasted_tokens for f in findings_of(p.plan, rec))
    slices = [(name, n) for name, n in waste.items() if n > 0]
    rest = p.plan.stats.wasted_tokens - sum(n for _, n in slices)
    if rest > 0:
        slices.append(("No rule yet", rest))
    if not slices:
        return []
    lines = ["", "```mermaid", "pie showData title Tokens spent on failed calls"]
    lines += [f'    "{re.sub(r"[^A-Za-z ]", "", name)}" : {n}' for name, n in slices]
    return lines + ["```"]


def run_links(runs: Sequence[RunRef]) -> str:
    """Markdown links to `runs`, each once; a URL that is not a plain https one is left out."""
    return ", ".join(_links(runs))


def runs_cell(runs: Sequence[RunRef], *, limit: int | None = None) -> str:
    """Every run of a rule for its table row: the newest IN_ROW as links, the rest folded under
    "N more"; past `limit` (a body at GitHub's size limit) the rest are counted, not linked."""
    links = _links(runs)
    cut = len(links) - limit if limit is not None and len(links) > limit else 0
    links = links[: len(links) - cut]
    shown = ", ".join(links[:IN_ROW])
    if len(links) > IN_ROW:
        shown += (f" <details><summary>{len(links) - IN_ROW} more</summary>"
                  f"{', '.join(links[IN_ROW:])}</details>")
    return shown + (f" and {cut:,} more in plan.json" if cut else "")


def _links(runs: Sequence[RunRef]) -> list[str]:
    # Ids and URLs come from transcripts' bundles: an id is shown only when it is a plain token,
    # a URL linked only when it is plain https, so neither can break out of the cell or the link.
    links: dict[str, str] = {}
    for r in runs:
        if not r.id:
            continue
        label = r.id if _RUN_ID.fullmatch(r.id) else "run"
        url = r.url if r.url and _RUN_URL.fullmatch(r.url) else None
        links.setdefault(f"{label}\0{url}", f"[{label}]({url})" if url else label)
    return list(links.values())


def _runs_in(evidence: Sequence[Evidence]) -> tuple[RunRef, ...]:
    return newest_first({e.run_id: RunRef(e.run_id, e.run_url) for e in reversed(evidence) if e.run_id}.values())


def _pre(text: str, chars: int) -> str:
    text = redact(text)  # before cutting: half a token would no longer be recognised
    if len(text) > chars:
        half = max(chars // 2, 1)
        text = f"{text[:half]}\n… [{len(text) - 2 * half:,} characters cut] …\n{text[-half:]}"
    return f"<pre>{inert.pre(text)}</pre>"


def _cell(text: str) -> str:
    """Safe inside a table cell: one line, pipes escaped, no HTML comment can open or close."""
    one = _one_line(text).replace("|", "\\|")
    return one.replace("<!--", "&lt;!--").replace("-->", "--&gt;")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tick(text: str) -> str:
    return _one_line(text).replace("`", "'")
