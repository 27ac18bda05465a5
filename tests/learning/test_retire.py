from __future__ import annotations

from datetime import datetime
from datetime import timezone

import pytest

from headroom_ci.learning.merge import InEffect
from headroom_ci.learning.retire import contradicted
from headroom_ci.learning.retire import Facts
from headroom_ci.learning.retire import manifest_names
from headroom_ci.learning.retire import recommended
from headroom_ci.learning.retire import unseen

FP = "a" * 16
FILES = {"services/api/app/models/user.py", "docs/"}
MANIFESTS = {"package.json": frozenset({"test:unit", "build"}), "Makefile": frozenset({"check"}),
             "web/package.json": frozenset({"e2e"})}
FACTS = Facts(exists=lambda p: p in FILES, defined=MANIFESTS.get)


def _rule(content: str, section: str = "Command Patterns") -> InEffect:
    return InEffect(FP, "fa0000", section, content, False)


@pytest.mark.parametrize("content, reason", [
    pytest.param("- `services/api/models/user.py` does not exist: the file is `services/api/app/models/user.py`.",
                 None, id="path-rule-holds"),
    pytest.param("- `services/api/models/user.py` does not exist: the file is `services/api/models/account.py`.",
                 "`services/api/models/account.py` no longer exists", id="right-file-gone"),
    pytest.param("- `docs/` does not exist: the file is `services/api/app/models/user.py`.",
                 "`docs/` exists now", id="missing-path-exists"),
    pytest.param("- Run tests with `npm run test:unit`, not `npm test` (there is no `test` script).", None,
                 id="script-defined"),
    pytest.param("- Run tests with `npm run test:e2e`, not `npm test`.",
                 "package.json no longer defines the script `test:e2e`", id="script-gone"),
    pytest.param("- Run tests with `pnpm test:e2e`, not `npm test`.",
                 "package.json no longer defines the script `test:e2e`", id="pnpm-shorthand"),
    pytest.param("- Run tests with `npm run e2e` in `web/`, not `npm test`.", None, id="in-a-folder"),
    pytest.param("- Run tests with `npm run test:unit` in `web/`, not `npm test`.",
                 "web/package.json no longer defines the script `test:unit`", id="in-a-folder-gone"),
    pytest.param("- Run tests with `npm run e2e` in `app/`.", None, id="folder-without-manifest"),
    pytest.param("- Lint with `make lint`, not `ruff`.", "Makefile no longer defines the target `lint`",
                 id="make-target-gone"),
    pytest.param("- Lint with `make check`.", None, id="make-target-defined"),
    pytest.param("- Lint with `just lint`.", None, id="no-justfile-no-verdict"),
    pytest.param("- Install dependencies with `npm ci`.", None, id="npm-builtin"),
    pytest.param("- Use `uv run pytest`, not `python3 -m pytest`.", None, id="not-a-script-runner"),
    pytest.param("- A person's note without code.", None, id="no-code"),
])
def test_contradicted(content: str, reason: str | None) -> None:
    assert contradicted([_rule(content)], FACTS) == ({FP: reason} if reason else {})


@pytest.mark.parametrize("content, expected", [
    pytest.param("- Run `npm run --silent test:unit`.", ("npm", "test:unit", "package.json"), id="flags-skipped"),
    pytest.param("- Run ``make 'odd target'``.", ("make", "odd target", "Makefile"), id="double-ticks"),
    pytest.param("- Run `npm run`.", None, id="nothing-to-run"),
    pytest.param("- Run `make \"unclosed`.", None, id="unparseable"),
])
def test_recommended(content: str, expected: tuple[str, str, str] | None) -> None:
    assert recommended(content) == expected


@pytest.mark.parametrize("manifest, text, names", [
    pytest.param("package.json", '{"scripts": {"test:unit": "vitest", "build": "vite"}}', {"test:unit", "build"},
                 id="package-json"),
    pytest.param("package.json", "{not json", set(), id="package-json-broken"),
    pytest.param("package.json", '{"name": "x"}', set(), id="package-json-no-scripts"),
    pytest.param("Makefile", "VAR := 1\n.PHONY: lint\ncheck test: deps\n\t@true\nx = y\n%.o: %.c\n",
                 {".PHONY", "check", "test", "%.o"}, id="makefile"),
    pytest.param("justfile", "set shell := [\"bash\"]\n\nlint *args:\n  ruff\n@test:\n  pytest\n", {"lint", "test"},
                 id="justfile"),
    pytest.param("Taskfile.yml", "version: '3'\ntasks:\n  build:\n    cmds: [go build]\n  lint:\n", {"build", "lint"},
                 id="taskfile"),
])
def test_manifest_names(manifest: str, text: str, names: set[str]) -> None:
    assert manifest_names(manifest, text) == frozenset(names)


def test_unseen_for_retire_after() -> None:
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    rules = [InEffect("a" * 16, "fa0000", "X", "- a", False), InEffect("b" * 16, "fb0000", "X", "- b", False),
             InEffect("c" * 16, "fc0000", "X", "- c", False)]
    since = {"a" * 16: "2026-10-01T00:00:00Z", "b" * 16: "2026-10-01T00:00:00Z", "c" * 16: "2026-11-25T00:00:00Z"}
    seen = {"fb0000": datetime(2026, 11, 20, tzinfo=timezone.utc)}
    assert unseen(rules, since=since, last_seen=seen, now=now, days=30) == {
        "a" * 16: "its failure was not seen for 30 days or more (--retire-after 30)"}
