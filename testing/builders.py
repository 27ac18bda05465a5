"""Sessions built directly in the normalized model, for tests of what comes after reading."""
from __future__ import annotations

from typing import Any
from typing import NamedTuple

from headroom_ci.sessions.build import Calls
from headroom_ci.sessions.model import Run
from headroom_ci.sessions.model import Session

ROOT = "/home/runner/work/shop/shop"


class Spec(NamedTuple):
    name: str
    input: dict[str, Any]
    output: str
    is_error: bool
    exit_code: int | None


def ok(name: str, output: str = "", **input: Any) -> Spec:
    return Spec(name, input, output, False, 0 if name == "Bash" else None)


def fail(name: str, output: str, *, exit_code: int | None = None, **input: Any) -> Spec:
    return Spec(name, input, output, True, exit_code)


def bash(cmd: str, output: str = "", *, code: int = 0) -> Spec:
    return Spec("Bash", {"command": cmd}, output, code != 0, code)


def session(*specs: Spec, sid: str = "s1", cwd: str | None = ROOT, run: str | None = None,
            agent: str = "claude") -> Session:
    calls = Calls()
    for i, spec in enumerate(specs):
        calls.start(call_id=f"c{i}", name=spec.name, input=spec.input)
        calls.finish(f"c{i}", output=spec.output, is_error=spec.is_error, exit_code=spec.exit_code)
    return Session(path=f"{sid}.jsonl", agent=agent, format="claude-jsonl", session_id=sid,  # type: ignore[arg-type]
                   tool_calls=calls.build(), cwd=cwd, run=Run(run) if run else None)
