from __future__ import annotations

from headroom_ci.learning.block import parse_block
from headroom_ci.learning.propose import Lifecycle
from headroom_ci.learning.propose import propose
from headroom_ci.learning.propose import TargetFile
from headroom_ci.mining.findings import Stats
from headroom_ci.rules import Recommendation


def _rec(fp: str, section: str, content: str) -> Recommendation:
    return Recommendation(fingerprint=fp, section=section, content=content, target="context", tokens_saved=10,
                          evidence_count=2, finding_ids=())


PATH = _rec("a" * 16, "File Path Corrections", "- `a.py` does not exist: the file is `src/a.py`.")
ENV = _rec("b" * 16, "Environment", "- Use `uv run pytest`, not `pytest`.")
CMD = _rec("c" * 16, "Command Patterns", "- Run tests with `npm run test:unit`, not `npm test`.")


def _plan(text: str | None, recs: list[Recommendation], **kw: object):  # type: ignore[no-untyped-def]
    return propose([], Stats(2, 4, 2, 100), repo=".", targets={"context": TargetFile("AGENTS.md", text)},
                   date="2026-11-21", max_tokens=1500, skipped=0, candidates=recs, **kw)  # type: ignore[arg-type]


def test_new_sections_come_in_headroom_s_order_whatever_the_rank() -> None:
    plan = _plan(None, [PATH, CMD, ENV])
    new = plan.targets[0].new_content
    assert new is not None
    assert [s.name for s in parse_block(new, source="AGENTS.md") or []] == [
        "Environment", "Command Patterns", "File Path Corrections"]
    assert [(c.status, c.fingerprint) for c in plan.changes] == [
        ("added", ENV.fingerprint), ("added", CMD.fingerprint), ("added", PATH.fingerprint)]


def test_over_budget_only_new_rules_go_lowest_ranked_first() -> None:
    first = _plan(None, [ENV]).targets[0].new_content
    plan = propose([], Stats(2, 4, 2, 100), repo=".", targets={"context": TargetFile("AGENTS.md", first)},
                   date="2026-11-21", max_tokens=1, skipped=0, candidates=[ENV, CMD, PATH])
    assert plan.targets[0].new_content is None  # the rule in effect stays, though the block is over budget
    assert [(d.fingerprint, d.reason) for d in plan.dropped] == [
        (CMD.fingerprint, "over the block budget of 1 tokens"), (PATH.fingerprint, "over the block budget of 1 tokens")]


def test_retired_and_still_contradicted_is_left_out() -> None:
    retire = Lifecycle(retire={PATH.fingerprint: "`src/a.py` no longer exists"},
                       contradicts=lambda content: "`src/a.py` no longer exists" if "src/a.py" in content else None)
    first = _plan(None, [PATH, ENV]).targets[0].new_content
    plan = _plan(first, [PATH, ENV], lifecycles={"context": retire})
    assert [(c.status, c.reason) for c in plan.changes] == [("unchanged", None), ("retired", "`src/a.py` no longer exists")]
    again = _plan(plan.targets[0].new_content, [PATH, ENV], lifecycles={"context": retire})
    assert again.targets[0].new_content is None
    assert [d.reason for d in again.dropped] == ["retired, and the repository still contradicts it: `src/a.py` no longer exists"]


def test_a_new_rule_the_repository_contradicts_is_not_added() -> None:
    # Added now and retired on the next run by the same test: kept out from the start.
    life = Lifecycle(contradicts=lambda content: "`src/a.py` no longer exists" if "src/a.py" in content else None)
    plan = _plan(None, [PATH, ENV], lifecycles={"context": life})
    assert [(c.status, c.fingerprint) for c in plan.changes] == [("added", ENV.fingerprint)]
    assert [(d.fingerprint, d.reason) for d in plan.dropped] == [
        (PATH.fingerprint, "the repository contradicts it: `src/a.py` no longer exists")]
    # A rule already in the block is the retirement's to judge, not dropped here.
    kept = _plan(_plan(None, [PATH, ENV]).targets[0].new_content, [PATH, ENV], lifecycles={"context": life})
    assert [(c.status, c.fingerprint) for c in kept.changes] == [
        ("unchanged", ENV.fingerprint), ("unchanged", PATH.fingerprint)]
