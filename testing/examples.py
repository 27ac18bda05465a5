"""The README's example sessions: three CI runs of agents on a small "shop" repository.

They fail the preventable ways agents do: `python3 -m pytest` where only `uv run`
has the dependencies, a model file read at a path it does not have, `npm test`
where the script is `test:unit`, and `make lint` retried. `python -m
testing.examples examples/sessions` writes them; a test keeps the committed
copies equal to this code.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from headroom_ci.sessions.bundle import manifest
from headroom_ci.sessions.model import Run
from testing import claude_fixtures as cl
from testing import codex_fixtures as cx
from testing import gemini_fixtures as gm
from testing.fake_github.actions import Actions
from testing.fake_github.actions import Workflow
from testing.fake_github.actions import zip_of

ROOT = "/home/runner/work/shop/shop"
NO_FASTAPI = ("Traceback (most recent call last):\n  File \"<frozen runpy>\", line 198, in _run_module_as_main\n"
              "ModuleNotFoundError: No module named 'fastapi'")
PASSED = "============================= 42 passed in 3.12s =============================="
NO_SCRIPT = ('npm error Missing script: "test"\nnpm error\nnpm error Did you mean one of these?\n'
             'npm error   npm run test:unit # run the "test:unit" package script')
NO_LINT = "make: *** No rule to make target 'lint'.  Stop."


def _dumps(records: Sequence[Any]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in records)


def claude_run(sid: str, day: int) -> list[dict[str, Any]]:
    def ts(s: int) -> str:
        return f"2026-11-{day:02d}T09:00:{s:02d}.000Z"

    def bash(i: int, cmd: str) -> dict[str, Any]:
        return cl.tool_use(f"toolu_{day}{i}", "Bash", command=cmd)

    env = {"session_id": sid, "cwd": ROOT, "branch": "main"}
    steps: list[tuple[dict[str, Any], str, bool | None]] = [
        (bash(1, "python3 -m pytest tests/"), f"Exit code 1\n{NO_FASTAPI}", True),
        (bash(2, "uv run pytest tests/"), PASSED, None),
        (cl.tool_use(f"toolu_{day}3", "Read", file_path=f"{ROOT}/services/api/models/user.py"),
         "<tool_use_error>File does not exist.</tool_use_error>", True),
        (cl.tool_use(f"toolu_{day}4", "Glob", pattern="**/user.py"), f"{ROOT}/services/api/app/models/user.py", None),
        (cl.tool_use(f"toolu_{day}5", "Read", file_path=f"{ROOT}/services/api/app/models/user.py"),
         "     1→from sqlalchemy import Column\n", None),
        (bash(6, "cd web && npm test"), f"Exit code 1\n{NO_SCRIPT}", True),
        (bash(7, "cd web && npm run test:unit"), "Tests  18 passed (18)", None),
    ]
    records: list[dict[str, Any]] = [cl.user_line("Fix the failing signup test", ts=ts(0), **env)]
    for n, (use, text, err) in enumerate(steps, 1):
        records += cl.assistant_lines(f"msg_{day}{n}", [use], ts=ts(2 * n), u=cl.usage(6, 90, 18000, 900), **env)
        records.append(cl.user_line([cl.tool_result(use["id"], text, is_error=err)], ts=ts(2 * n + 1), **env))
    return records


def codex_run() -> list[dict[str, Any]]:
    at = cx.at
    turn = cx.uuid7(1, 7)
    out: list[dict[str, Any]] = [
        cx.session_meta(ts=at(0), cwd=ROOT),
        cx.turn_context(ts=at(1), turn_id=turn),
        cx.task_started(ts=at(1), turn_id=turn),
    ]
    steps = [
        ("python3 -m pytest", NO_FASTAPI, 1), ("uv run pytest", PASSED, 0),
        ("npm test", NO_SCRIPT, 1), ("npm run test:unit", "Tests  18 passed (18)", 0),
        ("make lint", NO_LINT, 2), ("make lint", NO_LINT, 2), ("make lint", NO_LINT, 2),
        ("uv run ruff check .", "All checks passed!", 0),
    ]
    for n, (cmd, text, code) in enumerate(steps, 1):
        t = 10 * n
        call_id = f"call_ex{n:02d}"
        out.append(cx.response(cx.function_call(call_id, "exec_command", {"cmd": cmd, "workdir": ROOT}), ts=at(t)))
        out.append(cx.response(cx.function_output(call_id, cx.unified(text, exit_code=code)), ts=at(t + 2)))
        out.append(cx.exec_end(call_id, code, ts=at(t + 2), status="completed" if code == 0 else "failed"))
    out.append(cx.token_count(240_000, 200_000, 3_100, ts=at(100)))
    return out


def gemini_run() -> list[dict[str, Any]]:
    def ts(s: int) -> str:
        return f"2026-11-03T14:00:{s:02d}.000Z"

    calls = [
        gm.call("c1", "read_file", {"absolute_path": f"{ROOT}/services/api/models/user.py"}, ts=ts(2),
                status="error", error=f"File not found: {ROOT}/services/api/models/user.py"),
        gm.call("c2", "glob", {"pattern": "**/user.py"}, ts=ts(4),
                output=f"Found 1 file(s) matching \"**/user.py\":\n{ROOT}/services/api/app/models/user.py"),
        gm.call("c3", "run_shell_command", {"command": "python3 -m pytest"}, ts=ts(6),
                output=gm.shell_output(NO_FASTAPI, exit_code=1)),
        gm.call("c4", "run_shell_command", {"command": "uv run pytest"}, ts=ts(8),
                output=gm.shell_output(PASSED)),
        gm.call("c5", "run_shell_command", {"command": "make lint"}, ts=ts(8),
                output=gm.shell_output(NO_LINT, exit_code=2)),
        gm.call("c6", "run_shell_command", {"command": "uv run ruff check ."}, ts=ts(9),
                output=gm.shell_output("All checks passed!")),
    ]
    return [
        gm.meta("7c1d9e20-3b4a-4f5e-8a6b-9c0d1e2f3a4b", start=ts(0), updated=ts(9), directories=[ROOT]),
        gm.user("m1", "Make the user model tests pass", ts=ts(1)),
        gm.gemini("m2", ts=ts(9), calls=calls, toks=gm.tokens(52_000, 700, cached=40_000, thoughts=300)),
    ]


def _manifest(run_id: str, day: int) -> bytes:
    run = Run(run_id, attempt=1, url=f"https://github.com/acme/shop/actions/runs/{run_id}", workflow="agent.yml",
              branch="main", created_at=f"2026-11-{day:02d}T08:55:00Z")
    return json.dumps(manifest(repository="acme/shop", run=run), indent=2).encode() + b"\n"


EXAMPLE_REPO = Path(__file__).resolve().parents[1] / "examples" / "repo"


def example_repo() -> dict[str, str]:
    """The files of examples/repo, the repository the sessions ran in, by repo-relative path."""
    return {p.relative_to(EXAMPLE_REPO).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(EXAMPLE_REPO.rglob("*")) if p.is_file()}


def example_files() -> dict[str, bytes]:
    a, b = "0b6f2c9e-1d4a-4e8b-9f3c-5a7d2e1b8c40", "9e3a7d15-6c2b-4f0e-8d9a-1b4c7e2f5a63"
    return {
        "run-101/manifest.json": _manifest("101", 1),
        "run-102/manifest.json": _manifest("102", 2),
        "run-103/manifest.json": _manifest("103", 3),
        f"run-101/claude/{a}.jsonl": _dumps(claude_run(a, 1)),
        f"run-102/claude/{b}.jsonl": _dumps(claude_run(b, 2)),
        "run-102/codex/rollout-2026-11-02T08-00-00-example.jsonl": _dumps(codex_run()),
        "run-103/gemini/session-2026-11-03T14-00-7c1d9e20.jsonl": _dumps(gemini_run()),
    }


RUN_IDS = ("101", "102", "103")


def add_example_runs(acts: Actions, workflow: Workflow, created_at: Sequence[str], *, same_ids: bool = False,
                     extra: Callable[[str], dict[str, bytes]] = lambda run_id: {}, **run: Any) -> None:
    """The example sessions on the fake GitHub as three runs of `workflow` (created at `created_at`,
    with `run`'s fields), each with its collect artifact; `same_ids`: the runs get the examples' ids;
    `extra(run_id)`: more members for that run's artifact."""
    files = example_files()
    for run_id, when in zip(RUN_IDS, created_at, strict=True):
        made = acts.add_run(workflow, created_at=when, id=int(run_id) if same_ids else None, **run)
        members = {rel.split("/", 1)[1]: data for rel, data in files.items() if rel.startswith(f"run-{run_id}/")}
        acts.add_artifact(made, f"agent-sessions-{run_id}-1-agent", data=zip_of({**members, **extra(run_id)}))


def main(argv: Sequence[str] | None = None) -> int:
    (dest,) = argv if argv is not None else sys.argv[1:]
    for rel, data in example_files().items():
        path = Path(dest) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
