"""OpenCode: the events of `opencode run --format json`."""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from headroom_ci.sessions.build import as_dict
from headroom_ci.sessions.build import as_str
from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.build import TimeSpan
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Usage
from headroom_ci.sessions.opencode import add_tool
from headroom_ci.sessions.opencode import see_ms
from headroom_ci.sessions.opencode import tokens
from headroom_ci.sessions.types import Records
from headroom_ci.sessions.types import Resolve
from headroom_ci.sessions.types import SkipFn


def read_run_json(records: Records, *, path: str, skip: SkipFn, resolve: Resolve) -> list[Session]:
    """Events of one run; a session per sessionID, in order of appearance."""
    runs: dict[str | None, _Run] = {}
    for lineno, ev in records:
        part = ev.get("part")
        sid = as_str(ev.get("sessionID")) or as_str(as_dict(part).get("sessionID"))
        run = runs.setdefault(sid, _Run())
        see_ms(run.span, ev.get("timestamp"))
        kind = ev.get("type")
        if kind not in ("tool_use", "step_finish"):
            continue  # text, reasoning, step_start, error: nothing to count
        if not isinstance(part, dict):
            skip(lineno, f"{kind} event without a part")
        elif kind == "tool_use":
            run.tools[_part_key(part, run.tools)] = part  # a re-emitted part replaces the earlier one
        else:
            run.steps[_part_key(part, run.steps)] = tokens(part.get("tokens"))
    return [run.session(sid, path) for sid, run in runs.items()]


def _part_key(part: dict[str, Any], seen: dict[Hashable, Any]) -> Hashable:
    # A part without an id is its own part (a tuple key never equals a string id).
    return as_str(part.get("id")) or ("#", len(seen))


class _Run:
    def __init__(self) -> None:
        self.span = TimeSpan()
        self.tools: dict[Hashable, dict[str, Any]] = {}
        self.steps: dict[Hashable, Usage] = {}

    def session(self, sid: str | None, path: str) -> Session:
        calls = Calls()
        for part in self.tools.values():
            add_tool(calls, self.span, part)
        return Session(path=path, agent="opencode", format="opencode-run-json", session_id=sid,
                       tool_calls=calls.build(), usage=sum(self.steps.values(), Usage()),
                       started_at=self.span.first, ended_at=self.span.last)
