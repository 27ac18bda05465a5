from __future__ import annotations

import dataclasses
import json
import re

import pytest

from headroom_ci.learning.efficacy import RuleEffect
from headroom_ci.github import body
from headroom_ci.github.body import Proposal
from headroom_ci.github.body import Suppressed
from headroom_ci.mining.findings import Evidence
from headroom_ci.mining.findings import Finding
from headroom_ci.mining.findings import RunRef
from headroom_ci.mining.findings import Stats
from headroom_ci.learning.plan import Plan
from headroom_ci.rules import Recommendation


def _evidence(run: str | None = "101", *, failing: str = "python3 -m pytest", error: str = "No module named 'x'",
              fixing: str | None = "uv run pytest", url: str | None = None) -> Evidence:
    return Evidence(session_id="s1", path="run/claude/s1.jsonl", agent="claude", run_id=run,
                    run_url=url if url is not None else (f"https://github.com/acme/shop/actions/runs/{run}" if run else None),
                    failing=failing, fixing=fixing, error=error)


def _finding(fid: str, evidence: tuple[Evidence, ...], *, wasted: int = 100, runs: int = 2) -> Finding:
    return Finding(id=fid, fingerprint=fid.lower() * 4, kind="runner", key="python3 -m pytest", fix="uv run pytest",
                   category="module_not_found", detail="x", sessions=3, runs=runs, occurrences=4, peak=1, fixes=3,
                   wasted_tokens=wasted, evidence=evidence)


def _rec(fp: str, section: str, content: str, fid: str, *, tokens: int = 61) -> Recommendation:
    return Recommendation(fingerprint=fp, section=section, content=content, target="context", tokens_saved=tokens,
                          evidence_count=3, finding_ids=(fid,))


ENV = _rec("c8508618d90c0c0f", "Environment", "- Run tests with `uv run pytest`, not `python3 -m pytest`.", "F1")
CMD = _rec("7c44f5d9df0cd819", "Command Patterns", "- Use `a | b` (pipes), not `c`.", "F2", tokens=1234)


def _proposal(*, findings: tuple[Finding, ...] | None = None, recs: tuple[Recommendation, ...] = (ENV, CMD),
              suppressed: tuple[Suppressed, ...] = (), remerged: tuple[str, ...] = ()) -> Proposal:
    findings = findings if findings is not None else (
        _finding("F1", (_evidence("101"), _evidence("102"), _evidence("101")), wasted=247),
        _finding("F2", (_evidence(None),), wasted=189, runs=0))
    plan = Plan(repo=".", targets=(), recommendations=recs, findings=findings, dropped=(),
                stats=Stats(sessions=4, tool_calls=28, failures=14, wasted_tokens=754), skipped=0)
    return Proposal(plan, recs, suppressed, ("AGENTS.md",), "headroom/learn", "main", remerged)


def test_the_description_has_what_why_rules_evidence_totals_chart_and_review() -> None:
    text = body.render(_proposal())
    lines = text.splitlines()
    assert lines[0] == "<!-- headroom-ci:fingerprints c8508618d90c0c0f 7c44f5d9df0cd819 -->"
    assert lines[1].startswith("Adds 2 rules in the headroom:learn block of `AGENTS.md`: ")
    assert "(14 of 28 tool calls failed in 4 sessions)" in lines[1]
    assert ("| added | Environment | Run tests with `uv run pytest`, not `python3 -m pytest`. | 3 | 2 | ~61/session | "
            "[102](https://github.com/acme/shop/actions/runs/102), [101](https://github.com/acme/shop/actions/runs/101) |"
            ) in lines
    assert "| added | Command Patterns | Use `a \\| b` (pipes), not `c`. | 3 | – | ~1,234/session | – |" in lines
    assert text.count("<details><summary>") == 2
    # Byte-identical evidence from three sessions is shown once, with every run it came from.
    assert ("claude in runs [102](https://github.com/acme/shop/actions/runs/102), "
            "[101](https://github.com/acme/shop/actions/runs/101) (×3, byte for byte), the failing call:\n"
            "<pre>python3 -m pytest</pre>\nthe error:\n<pre>No module named 'x'</pre>\n"
            "the fix that followed:\n<pre>uv run pytest</pre>") in text
    assert "| 4 | 28 | 14 | 50.0% | ~754 |" in lines
    chart = text[text.index("```mermaid"):]
    assert chart.splitlines()[:5] == ["```mermaid", "pie showData title Tokens spent on failed calls",
                                      '    "Environment" : 247', '    "Command Patterns" : 189',
                                      '    "No rule yet" : 318']
    assert "- **Reject**: close this pull request without merging" in text
    assert "`headroom/learn`" in text
    assert body.fingerprints_in(text) == ("c8508618d90c0c0f", "7c44f5d9df0cd819")


def test_the_same_input_gives_the_same_text() -> None:
    assert body.render(_proposal()) == body.render(_proposal())


def test_untrusted_text_cannot_hide_break_out_or_forge_fingerprints() -> None:
    nasty = "<!-- headroom-ci:fingerprints deadbeefdeadbeef --> </pre><script>x</script> | `"
    findings = (_finding("F1", (_evidence("101", failing=nasty, error=nasty, fixing=nasty,
                                          url="javascript:alert(1)"),)),
                _finding("F2", (_evidence("../../x y", url="https://evil.example/a b"),)))
    rec = _rec("c8508618d90c0c0f", "Environment", "- Use `x<!--y-->` | not z", "F1")
    text = body.render(_proposal(findings=findings, recs=(rec, CMD)))
    assert "<!--" not in text.split("\n", 1)[1]  # only our own comment, on the first line
    assert "<script>" not in text and "</pre><script>" not in text
    assert "&lt;!-- headroom-ci:fingerprints deadbeefdeadbeef --&gt; &lt;/pre&gt;&lt;script&gt;" in text
    assert "javascript:" not in text and "evil.example" not in text
    assert "| Use `x&lt;!--y--&gt;` \\| not z |" in text
    assert "| 101 |" in text  # a run whose URL is not plain https is shown without a link
    assert body.fingerprints_in(text) == ("c8508618d90c0c0f", "7c44f5d9df0cd819")


@pytest.mark.parametrize("text, expected", [
    ("<!-- headroom-ci:fingerprints aaaaaaaa bbbbbbbbbbbbbbbb -->\nbody", ("aaaaaaaa", "bbbbbbbbbbbbbbbb")),
    ("\ufeff  <!-- headroom-ci:fingerprints aaaaaaaa -->", ("aaaaaaaa",)),
    ("<!-- headroom-ci:fingerprints -->\nwithdrawn", ()),
    ("intro\n<!-- headroom-ci:fingerprints aaaaaaaa -->", ()),   # not at the start: quoted, not ours
    ("<!-- headroom-ci:fingerprints AAAAAAAA -->", ()),
    ("<!-- headroom-ci:fingerprints aaaaaaaa; rm -rf -->", ()),
    ("", ()),
    (None, ()),
])
def test_fingerprints_in(text: str | None, expected: tuple[str, ...]) -> None:
    assert body.fingerprints_in(text) == expected


def test_withdrawn_empties_the_fingerprints_and_keeps_the_rest() -> None:
    text = body.render(_proposal())
    out = body.withdrawn(text)
    assert (body.fingerprints_in(out), out.split("\n", 1)[1]) == ((), text.split("\n", 1)[1])
    assert body.withdrawn("edited by hand") == "<!-- headroom-ci:fingerprints -->\nedited by hand"


def test_suppressed_rules_and_a_moved_base_are_explained() -> None:
    text = body.render(_proposal(recs=(ENV,), suppressed=(Suppressed(CMD, 7),), remerged=("AGENTS.md",)))
    assert body.fingerprints_in(text) == ("c8508618d90c0c0f",)
    assert "### Not proposed again" in text
    assert "- Use `a \\| b` (pipes), not `c`. (closed in #7)" in text
    assert "> The base moved since these rules were learned: they were merged into the current `AGENTS.md` of `main`" in text


@pytest.mark.parametrize("rules, size, examples, cut, note", [
    (2, 100, 3, False, False),      # everything fits: every example, whole
    (2, 30_000, 3, True, False),    # long outputs are cut in the middle; every example stays
    (60, 30_000, 1, True, True),    # many rules: one short example each, and a note says so
    (200, 30_000, 0, False, True),  # more still: the table and totals only
])
def test_the_description_stays_under_githubs_limit(rules: int, size: int, examples: int, cut: bool,
                                                   note: bool) -> None:
    big = "E" * size
    findings = tuple(_finding(f"F{i}", tuple(_evidence(str(100 + j), error=big, failing=f"python3 -m pytest t{j}")
                                             for j in range(3)))
                     for i in range(rules))
    recs = tuple(_rec(f"{i:016x}", "Environment", f"- Rule {i}.", f"F{i}") for i in range(rules))
    text = body.render(_proposal(findings=findings, recs=recs))
    assert len(text) <= body.MAX_BODY
    assert text.count(", the failing call:") == examples * rules
    assert ("characters cut" in text, "Evidence shortened" in text) == (cut, note)
    assert body.fingerprints_in(text) == tuple(r.fingerprint for r in recs)
    assert f"| added | Environment | Rule {rules - 1}. | 3 | 2 | ~61/session |" in text
    assert "| 4 | 28 | 14 | 50.0% | ~754 |" in text


def test_a_body_past_the_limit_even_without_evidence_is_cut_after_the_fingerprints() -> None:
    recs = tuple(_rec(f"{i:016x}", "Environment", "- " + "x" * 3_000, "F1") for i in range(40))
    text = body.render(_proposal(recs=recs))
    assert len(text) <= body.MAX_BODY
    assert text.endswith("the full evidence is in plan.json.)*\n")
    assert len(body.fingerprints_in(text)) == 40


def test_commit_message_lists_the_rules() -> None:
    msg = body.commit_message(_proposal(suppressed=(Suppressed(CMD, 7),)))
    assert msg.splitlines() == [
        "headroom-ci: add 2 rules in AGENTS.md", "",
        "Rules in the headroom:learn block, learned from 4 agent sessions:",
        "- [Environment] Run tests with `uv run pytest`, not `python3 -m pytest`.",
        "- [Command Patterns] Use `a | b` (pipes), not `c`.", "",
        "Not proposed again (closed without merging): 7c44f5d9df0cd819"]


def test_human_edits_comment_carries_its_marker() -> None:
    text = body.human_edits_comment("headroom/learn")
    assert text.startswith(body.HUMAN_EDITS + "\n")
    assert re.search(r"close this pull request and delete the branch", text)


def test_what_was_left_out_and_the_llm_usage_are_shown() -> None:
    from dataclasses import replace
    from headroom_ci.learning.plan import Dropped
    p = _proposal()
    plan = replace(p.plan, dropped=(
        Dropped("ff", "- Run `curl x | sh` first.", "LLM rule rejected: pipes the network into a shell"),
        Dropped("fe", "- Ping @octocat </details><img src=x> [here](https://x.example)", "LLM rule rejected: HTML")),
        llm={"model": "gpt-x", "input_tokens": 5120, "output_tokens": 310, "cost_usd": 0.0123})
    text = body.render(replace(p, plan=plan))
    # Rejected rules are shown inert: no live code span, mention, HTML, link or table break.
    assert ("<details><summary>Left out (2)</summary>\n\n"
            "- Run \\`curl x \\| sh\\` first. — LLM rule rejected: pipes the network into a shell\n"
            "- Ping &#64;octocat &lt;/details&gt;&lt;img src=x&gt; \\[here\\](https&#58;//x.example) — "
            "LLM rule rejected: HTML\n\n</details>") in text
    assert "*Rules phrased by `gpt-x`: 5,120 input and 310 output tokens, $0.0123.*" in text


def _changed(*changes: tuple[str, Recommendation], effects: tuple[RuleEffect, ...] = ()) -> Proposal:
    from headroom_ci.learning.plan import RuleChange
    p = _proposal()
    rows = tuple(RuleChange("AGENTS.md", status, r.fingerprint, r.section, r.content,
                            before="- Old words." if status == "reworded" else None,
                            reason="package.json no longer defines the script `test:unit`" if status == "retired" else None)
                 for status, r in changes)
    plan = dataclasses.replace(p.plan, rules_in_effect=effects)
    return Proposal(plan, p.proposed, (), p.paths, p.branch, p.base, changes=rows)


@pytest.mark.parametrize("changes, title, first", [
    pytest.param((("added", ENV), ("unchanged", CMD)), "headroom-ci: add 1 rule in AGENTS.md", "Adds 1 rule in",
                 id="one-added"),
    pytest.param((("retired", CMD), ("unchanged", ENV)), "headroom-ci: retire 1 rule in AGENTS.md",
                 "Retires 1 rule in the headroom:learn block of `AGENTS.md`: the repository no longer supports it "
                 "(the reason is in the table); the diff touches only the block.", id="retired-only"),
    pytest.param((("added", ENV), ("reworded", CMD)), "headroom-ci: add 1 rule and reword 1 rule in AGENTS.md",
                 "Adds 1 rule and rewords 1 rule in", id="added-and-reworded"),
    pytest.param((), "headroom-ci: add 2 rules in AGENTS.md", "Adds 2 rules in", id="a-plan-without-changes"),
])
def test_title_and_first_line_say_what_changed(changes: tuple[tuple[str, Recommendation], ...], title: str,
                                               first: str) -> None:
    p = _changed(*changes) if changes else _proposal()
    assert body.title(p) == title
    text = body.render(p)
    assert text.splitlines()[1].startswith(first)
    assert ("### Evidence" in text) == any(status in ("added", "reworded") for status, _ in changes or [("added", ENV)])


def test_the_ledger_holds_only_the_rules_the_pull_request_adds() -> None:
    p = _changed(("added", ENV), ("unchanged", CMD))
    assert body.fingerprints_in(body.render(p)) == (ENV.fingerprint,)
    assert body.fingerprints_in(body.render(_changed(("retired", CMD), ("unchanged", ENV)))) == ()


def test_status_column_rewording_retirement_and_rules_in_effect() -> None:
    from headroom_ci.learning.efficacy import Counts
    from headroom_ci.learning.efficacy import RuleEffect
    effects = (RuleEffect(ENV.fingerprint, "Environment", ENV.content, "2026-11-08", Counts(3, 3), Counts(4, 0), "working"),
               RuleEffect(CMD.fingerprint, "Command Patterns", CMD.content, "2026-11-08", Counts(3, 2), Counts(4, 1),
                          "recurring"))
    lines = body.render(_changed(("reworded", ENV), ("retired", CMD), effects=effects)).splitlines()
    rules = lines[lines.index("### Rules") + 2:]
    assert rules[:4] == [
        "| Status | Section | Rule | Sessions | Runs | Est. tokens saved | Evidence |", "|---|---|---|---:|---:|---:|---|",
        "| reworded | Environment | Old words. → Run tests with `uv run pytest`, not `python3 -m pytest`. | 3 | 2 | "
        "~61/session | [102](https://github.com/acme/shop/actions/runs/102), "
        "[101](https://github.com/acme/shop/actions/runs/101) |",
        "| retired: package.json no longer defines the script `test:unit` | Command Patterns | Use `a \\| b` (pipes), "
        "not `c`. | – | – | – | – |"]
    table = lines[lines.index("### Rules in effect") + 1:]
    assert table[:7] == [
        "", "CI runs whose sessions had the rule's failure, before and after the rule reached the base branch:", "",
        "| Rule | In effect since | Before | After | Status |", "|---|---|---:|---:|---|",
        "| Run tests with `uv run pytest`, not `python3 -m pytest`. | 2026-11-08 | 3/3 | 0/4 | working |",
        "| Use `a \\| b` (pipes), not `c`. | 2026-11-08 | 2/3 | 1/4 | recurring ⚠ still failing: reword it or move it |"]
    message = body.commit_message(_changed(("reworded", ENV), ("retired", CMD)))
    assert message.splitlines()[3:] == [
        "- reworded: [Environment] Run tests with `uv run pytest`, not `python3 -m pytest`.",
        "- retired: [Command Patterns] Use `a | b` (pipes), not `c`. (package.json no longer defines the script "
        "`test:unit`)"]


def test_different_evidence_is_not_collapsed() -> None:
    findings = (_finding("F1", (_evidence("101"), _evidence("102", error="No module named 'y'"))),
                _finding("F2", (_evidence(None),)))
    text = body.render(_proposal(findings=findings))
    assert text.count("claude in run [10") == 2 and "×" not in text


@pytest.mark.parametrize("footer, line", [
    pytest.param(body.Footer(version="0.4.0", learn_run="https://github.com/acme/shop/actions/runs/9001", since="14d",
                             workflows=("agent.yml",), config=".github/headroom-learn.yml"),
                 "<sub>headroom-ci 0.4.0 · learned from the runs of `agent.yml` in the last 14 days · config "
                 "`.github/headroom-learn.yml` · [the run that proposed this](https://github.com/acme/shop/actions/runs/9001)"
                 " · to pause: disable the workflow that runs headroom-ci (`gh workflow disable`), or set "
                 "`dry-run: true` in `.github/headroom-learn.yml`</sub>", id="everything"),
    pytest.param(body.Footer(version="0.4.0", learn_run="javascript:alert(1)"),
                 "<sub>headroom-ci 0.4.0 · learned from the runs of any workflow · to pause: disable the workflow "
                 "that runs headroom-ci (`gh workflow disable`), or set `dry-run: true` in "
                 "`.github/headroom-learn.yml`</sub>", id="bare-and-no-bad-link"),
])
def test_the_footer_says_where_the_proposal_came_from_and_how_to_pause(footer: body.Footer, line: str) -> None:
    text = body.render(dataclasses.replace(_proposal(), footer=footer))
    assert text.endswith("\n---\n\n" + line + "\n")


@pytest.mark.parametrize(("since", "said"), [
    pytest.param("1d", "in the last 1 day", id="a-day"),
    pytest.param("36h", "in the last 36 hours", id="hours"),
    pytest.param("2w", "in the last 2 weeks", id="weeks"),
    pytest.param("2026-11-01", "since 2026-11-01", id="a-date"),
])
def test_the_footer_says_the_window_in_words(since: str, said: str) -> None:
    assert body.footer_line(body.Footer(since=since)).startswith(f"<sub>headroom-ci · learned from the runs of any "
                                                                 f"workflow {said} · ")


def test_a_read_is_called_a_read_not_a_bare_path() -> None:
    read = _evidence("101", failing="services/api/models/user.py", error="File does not exist.",
                     fixing="services/api/app/models/user.py")
    finding = dataclasses.replace(_finding("F1", (read,)), kind="path")
    text = body.render(_proposal(findings=(finding, _finding("F2", (_evidence(None),)))))
    assert ("claude in run [101](https://github.com/acme/shop/actions/runs/101), the failing call, a read of the file:\n"
            "<pre>services/api/models/user.py</pre>\nthe error:\n<pre>File does not exist.</pre>\n"
            "the fix that followed, a read of:\n<pre>services/api/app/models/user.py</pre>") in text


def test_a_path_found_by_a_search_is_not_called_a_read() -> None:
    found = _evidence("101", failing="services/api/models/user.py", error="File not found.",
                      fixing="**/user.py in .")
    finding = dataclasses.replace(_finding("F1", (found,)), kind="path")
    text = body.render(_proposal(findings=(finding,)))
    assert "the error:\n<pre>File not found.</pre>\nthe fix that followed:\n<pre>**/user.py in .</pre>" in text


_URL = "https://github.com/acme/shop/actions/runs/"


def _seen(n: int, *, first: int = 1000) -> tuple[RunRef, ...]:
    return tuple(RunRef(str(first + n - 1 - i), f"{_URL}{first + n - 1 - i}") for i in range(n))


def _link(run: int) -> str:
    return f"[{run}]({_URL}{run})"


@pytest.mark.parametrize("runs, cell", [
    pytest.param(1, _link(1000), id="one"),
    pytest.param(5, ", ".join(_link(r) for r in range(1004, 999, -1)), id="as-many-as-a-row-shows"),
    pytest.param(12, ", ".join(_link(r) for r in range(1011, 1006, -1)) + " <details><summary>7 more</summary>"
                 + ", ".join(_link(r) for r in range(1006, 999, -1)) + "</details>", id="more-than-the-examples"),
    pytest.param(40, ", ".join(_link(r) for r in range(1039, 1034, -1)) + " <details><summary>35 more</summary>"
                 + ", ".join(_link(r) for r in range(1034, 999, -1)) + "</details>", id="many"),
])
def test_a_rules_row_links_every_run_it_was_learned_from(runs: int, cell: str) -> None:
    examples = tuple(_evidence(str(1000 + i)) for i in range(min(runs, 5)))
    f1 = dataclasses.replace(_finding("F1", examples, runs=runs), runs_seen=_seen(runs))
    text = body.render(_proposal(findings=(f1, _finding("F2", (_evidence(None),), runs=0))))
    assert (f"| added | Environment | Run tests with `uv run pytest`, not `python3 -m pytest`. | 3 | {runs} | "
            f"~61/session | {cell} |") in text.splitlines()
    assert all(_link(r) in text for r in range(1000, 1000 + runs))


def test_runs_shared_by_a_rules_findings_are_linked_once() -> None:
    rec = dataclasses.replace(ENV, finding_ids=("F1", "F3"))
    f1 = dataclasses.replace(_finding("F1", (_evidence("1000"),), runs=3), runs_seen=_seen(3))
    f3 = dataclasses.replace(_finding("F3", (_evidence("1002"),), runs=2), runs_seen=_seen(2, first=1002))
    text = body.render(_proposal(findings=(f1, f3, _finding("F2", (_evidence(None),), runs=0)), recs=(rec, CMD)))
    assert (f"| 3 | 4 | ~61/session | {_link(1003)}, {_link(1002)}, {_link(1001)}, {_link(1000)} |"
            ) in text


def test_a_hostile_run_in_the_runs_seen_is_not_linked() -> None:
    seen = (RunRef("1001", "javascript:alert(1)"), RunRef("../../x y", f"{_URL}1"),
            RunRef("1002", "https://evil.example/a b"), RunRef("1003", "http://plain.example/1"),
            RunRef("1000", f"{_URL}1000\n[x](https://evil.example)"), RunRef("999", f"{_URL}999"))
    f1 = dataclasses.replace(_finding("F1", (_evidence("999"),), runs=6), runs_seen=seen)
    text = body.render(_proposal(findings=(f1, _finding("F2", (_evidence(None),), runs=0))))
    assert (f"| 6 | ~61/session | 1003, 1002, 1001, 1000, {_link(999)} <details><summary>1 more</summary>"
            f"[run]({_URL}1)</details> |") in text
    assert "javascript:" not in text and "evil.example" not in text and "plain.example" not in text


@pytest.mark.parametrize("rules, runs, shown, note", [
    pytest.param(10, 60, 60, False, id="every-run-fits"),
    pytest.param(12, 900, 50, True, id="cut-to-the-newest-and-said-so"),
])
def test_run_links_stay_under_githubs_limit(rules: int, runs: int, shown: int, note: bool) -> None:
    findings = tuple(dataclasses.replace(_finding(f"F{i}", (_evidence("1000", error="E" * 3_000),), runs=runs),
                                         runs_seen=_seen(runs)) for i in range(rules))
    recs = tuple(_rec(f"{i:016x}", "Environment", f"- Rule {i}.", f"F{i}") for i in range(rules))
    text = body.render(_proposal(findings=findings, recs=recs))
    assert len(text) <= body.MAX_BODY
    rows = [line for line in text.splitlines() if line.startswith("| added |")]
    assert [row.count(f"]({_URL}") for row in rows] == [shown] * rules
    assert (f" and {runs - shown:,} more in plan.json |" in text) == note
    assert ("*(Run links cut to the newest 50 per rule to fit GitHub's size limit; every run is in plan.json.)*"
            in text) == note


def test_a_rule_learned_in_more_runs_than_its_examples_links_each_of_them_through_the_plan() -> None:
    from headroom_ci.learning.plan import from_dict
    from headroom_ci.learning.plan import to_dict
    from headroom_ci.learning.propose import propose
    from headroom_ci.learning.propose import TargetFile
    from headroom_ci.mining.findings import EVIDENCE_PER_FINDING
    from headroom_ci.mining.findings import Miner
    from headroom_ci.sessions.model import Run
    from testing.builders import bash
    from testing.builders import session
    miner = Miner()
    for i in range(9):   # read oldest last: the order of reading does not matter
        run = Run(str(2009 - i), url=f"{_URL}{2009 - i}", created_at=f"2026-11-{20 - i:02d}T09:00:00Z")
        miner.add(dataclasses.replace(session(
            bash("python3 -m pytest", "Exit code 1\nModuleNotFoundError: No module named 'fastapi'", code=1),
            bash("uv run pytest", "3 passed"), sid=f"s{i}"), run=run))
    (finding,) = miner.findings()
    assert len(finding.evidence) == EVIDENCE_PER_FINDING < finding.runs == 9
    plan = propose([finding], miner.stats(), repo=".", targets={"context": TargetFile("AGENTS.md", None)},
                   date="2026-11-21", max_tokens=2_000, skipped=0)
    plan = from_dict(json.loads(json.dumps(to_dict(plan))), source="plan.json")
    (rec,) = plan.recommendations
    text = body.render(Proposal(plan, plan.recommendations, (), ("AGENTS.md",), "headroom/learn", "main",
                                changes=plan.changes))
    (row,) = [line for line in text.splitlines() if line.startswith("| added |")]
    assert row.endswith(f"| 9 | 9 | ~{rec.tokens_saved:,}/session | "
                        + ", ".join(_link(r) for r in range(2009, 2004, -1)) + " <details><summary>4 more</summary>"
                        + ", ".join(_link(r) for r in range(2004, 2000, -1)) + "</details> |")
