from __future__ import annotations

import pytest

from headroom_ci.mining.observe import Observation
from headroom_ci.mining.observe import observe
from headroom_ci.mining.paths import repo_roots
from testing.builders import bash
from testing.builders import fail
from testing.builders import ok
from testing.builders import ROOT
from testing.builders import session
from testing.builders import Spec

NO_FASTAPI = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'fastapi'"


def _seen(*specs: Spec) -> list[tuple[str, str, str | None, str | None]]:
    s = session(*specs)
    return [(o.kind, o.key, o.fix, o.detail) for o in observe(s, roots=repo_roots(cwd=s.cwd))]


@pytest.mark.parametrize("specs, expected", [
    pytest.param([bash("python3 -m pytest", f"Exit code 1\n{NO_FASTAPI}", code=1), bash("uv run pytest -q", "3 passed")],
                 [("runner", "python3 -m pytest", "uv run pytest", "fastapi")], id="runner"),
    pytest.param([bash("python x.py", "Exit code 127\nbash: python: command not found", code=127),
                  bash("python3 x.py", "ok")],
                 [("runner", "python", "python3", "python")], id="program-not-found"),
    pytest.param([bash("docker-compose up -d", "Exit code 127\nbash: line 1: docker-compose: command not found", code=127),
                  bash("docker compose up -d", "Started")],
                 [("runner", "docker-compose", "docker compose", "docker-compose")], id="program-renamed"),
    pytest.param([bash("rg -n TODO src", "Exit code 127\nbash: rg: command not found", code=127),
                  bash("grep -rn 'def main' src", "src/a.py:3:def main")],
                 [("runner", "rg", "grep", "rg")], id="another-program-same-purpose"),
    pytest.param([bash("pytest -q", "Exit code 127\nbash: pytest: command not found", code=127),
                  bash("uv run pytest -q", "3 passed")],
                 [("runner", "pytest", "uv run pytest", "pytest")], id="tool-not-on-path"),
    pytest.param([bash("pip install -e .", "Exit code 1\nerror: externally-managed-environment", code=1),
                  bash("uv pip install -e .", "Installed 3 packages")],
                 [("runner", "pip install", "uv pip install", None)], id="same-command-under-uv"),
    pytest.param([bash("pytest", "Exit code 127\nbash: pytest: command not found", code=127), bash("ls", "src")],
                 [("command", "pytest", None, "pytest")], id="bare-program-is-not-replaced-by-any-command"),
    pytest.param([bash("cd web && npm test", 'Exit code 1\nnpm error Missing script: "test"', code=1),
                  ok("Read", "{}", file_path=f"{ROOT}/web/package.json"),
                  bash("cd web && npm run test:unit", "18 passed")],
                 [("alternative", "npm test", "npm run test:unit", "test")], id="missing-script"),
    pytest.param([fail("Read", "<tool_use_error>File does not exist.</tool_use_error>",
                       file_path=f"{ROOT}/services/api/models/user.py"),
                  ok("Glob", f"{ROOT}/services/api/app/models/user.py", pattern="**/user.py")],
                 [("path", "services/api/models/user.py", "services/api/app/models/user.py", None)], id="path-via-glob"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/src/app.py"),
                  ok("Read", "x", file_path=f"{ROOT}/app/src/app.py")],
                 [("path", "src/app.py", "app/src/app.py", None)], id="path-via-read"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/web/Button.tsx"),
                  ok("Glob", "web/legacy/Button.tsx\nweb/ui/Button.tsx", pattern="**/Button.tsx"),
                  ok("Read", "x", file_path=f"{ROOT}/web/ui/Button.tsx")],
                 [("path", "web/Button.tsx", "web/ui/Button.tsx", None)], id="path-the-agent-read-wins"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/web/api.ts"),
                  bash("find . -name api.ts", "./web/src/api.ts")],
                 [("path", "web/api.ts", "web/src/api.ts", None)], id="path-from-find"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/src/refunds.py"),
                  ok("Write", "created", file_path=f"{ROOT}/src/refunds.py", content="x"),
                  bash("git status --short", "?? src/refunds.py")],
                 [("path", "src/refunds.py", None, None)], id="git-status-is-not-a-listing"),
    pytest.param([fail("Read", "File content (52341 tokens) exceeds maximum allowed tokens (25000).",
                       file_path=f"{ROOT}/data/fixtures.json"),
                  ok("Read", "…", file_path=f"{ROOT}/data/fixtures.json", offset=1, limit=400)],
                 [("large_file", "data/fixtures.json", "paged", None)], id="too-large-then-paged"),
    pytest.param([ok("Grep", "No matches found", pattern="def create_order", path=f"{ROOT}/lib"),
                  ok("Grep", "src/shop/orders.py:12:def create_order", pattern="def create_order", path=f"{ROOT}/src")],
                 [("scope", "lib", "src", None)], id="empty-search-then-hit"),
    pytest.param([ok("Grep", "No files found", pattern="def apply_discount", path=f"{ROOT}/lib"),
                  ok("Grep", "src/shop/pricing.py", pattern="apply_discount", path=f"{ROOT}/src/shop")],
                 [("scope", "lib", "src/shop", None)], id="loosened-search"),
    pytest.param([bash("uv run pytest", "Exit code 1\nFAILED tests/test_a.py::test_card_declined - assert 1 == 2",
                       code=1)], [], id="declined-in-a-test-name-is-not-a-rejection"),
    pytest.param([bash("cat .env.prod", "Exit code 1\n(eval):1: permission denied: .env.prod", code=1)],
                 [("permission", ".env.prod", None, None)], id="permission-names-the-path"),
    pytest.param([bash("git commit -m \"$(cat <<'EOF'\nmsg\nEOF\n)\"",
                       "Exit code 1\n(eval):1: permission denied: /tmp/claude/zsh-heredoc-123", code=1)],
                 [("permission", "<<heredoc", None, None)], id="sandbox-refuses-a-heredoc-not-git"),
    pytest.param([bash("go vet ./... && \\\n  go test ./...", "Exit code 1\n(eval):1: permission denied: ", code=1)],
                 [("permission", "\\ line continuation", None, None)], id="line-continuation-is-the-construct"),
    pytest.param([bash("git push", "Exit code 128\nremote: Permission to acme/shop.git denied", code=128)],
                 [], id="permission-naming-nothing-is-no-rule"),
    pytest.param([fail("Read", "<tool_use_error>File does not exist. Did you mean .golangci.yaml?</tool_use_error>",
                       file_path=f"{ROOT}/.golangci.yml")],
                 [("path", ".golangci.yml", ".golangci.yaml", None)], id="the-errors-own-hint"),
    pytest.param([fail("Read", "File does not exist. Did you mean config.yaml?", file_path=f"{ROOT}/etc/config.yml")],
                 [("path", "etc/config.yml", "etc/config.yaml", None)], id="hint-in-the-same-folder"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/app/log/logging.py"),
                  ok("Read", "import logging", file_path=f"{ROOT}/app/log/logger.py")],
                 [("path", "app/log/logging.py", "app/log/logger.py", None)], id="renamed-in-the-same-folder"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/tests/common_test.go"),
                  ok("Read", "package tests", file_path=f"{ROOT}/tests/hooks_test.go")],
                 [("path", "tests/common_test.go", None, None)], id="a-shared-suffix-is-not-a-rename"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/app/log/logging.py"),
                  ok("Read", "x = 1", file_path=f"{ROOT}/app/log/handlers.py")],
                 [("path", "app/log/logging.py", None, None)], id="another-file-in-the-folder-is-not-the-fix"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/app/log/logging.py"),
                  ok("Glob", "app/log/handlers.py\napp/log/logger.py", pattern="app/log/*.py")],
                 [("path", "app/log/logging.py", "app/log/logger.py", None)], id="renamed-file-found-by-a-listing"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/src/shop/config.py"),
                  ok("Glob", "services/worker/config.py\nsrc/shop/core/config.py", pattern="**/config.py")],
                 [("path", "src/shop/config.py", "src/shop/core/config.py", None)], id="the-closest-of-two-listed"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/web/src/api.ts"),
                  ok("Glob", "web/src/mocks/api.ts\nweb/src/lib/api.ts", pattern="**/api.ts")],
                 [("path", "web/src/api.ts", None, None)], id="two-listed-as-close-is-no-answer"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/app/log/logging.py"),
                  ok("Glob", "app/log/handlers.py\napp/log/views.py", pattern="app/log/*.py")],
                 [("path", "app/log/logging.py", None, None)], id="a-listing-without-it-is-not-the-fix"),
    pytest.param([fail("Grep", "<tool_use_error>Path does not exist: lib/commands</tool_use_error>",
                       pattern="run", path=f"{ROOT}/lib/commands")],
                 [("path", "lib/commands", None, None)], id="search-in-a-missing-folder"),
    pytest.param([bash("gh pr diff 12 --stat", "Exit code 1\nunknown flag: --stat", code=1),
                  bash("gh pr diff 12 --name-only", "a.py\nb.py")],
                 [("variant", "gh pr diff --stat", "gh pr diff --name-only", None)], id="same-command-other-flags"),
    pytest.param([bash("git push", "Exit code 128\nfatal: The current branch x has no upstream branch.\n"
                       "    git push --set-upstream origin x", code=128),
                  bash("git push --set-upstream origin x", "ok")],
                 [("variant", "git push", "git push --set-upstream", None)], id="the-flag-the-error-names"),
    pytest.param([bash("git add .env", "Exit code 1\nThe following paths are ignored by one of your .gitignore files:\n"
                       ".env\nhint: Use -f if you really want to add them.", code=1),
                  bash("git add -f .env", "")],
                 [], id="a-forcing-hint-is-never-a-fix"),
    pytest.param([bash("git push", "Exit code 1\n ! [rejected] main -> main (fetch first)\nhint: Updates were rejected "
                       "because the remote contains work that you do not have locally.", code=1),
                  bash("git pull --rebase", "Successfully rebased"), bash("git push", "main -> main")],
                 [], id="the-remotes-state-is-no-prerequisite"),
    pytest.param([bash("gh api repos/o/r/pulls/3/comments/991", "Exit code 1\ngh: Not Found (HTTP 404)", code=1),
                  bash("gh api repos/o/r/pulls/comments/991", "{}")],
                 [("variant", "gh api repos/o/r/pulls/N/comments/N", "gh api repos/o/r/pulls/comments/N", None)],
                 id="an-api-path-that-answers-404"),
    pytest.param([bash("gh api repos/o/r/pulls/3/comments/991 -f body=x", "Exit code 1\ngh: Not Found (HTTP 404)",
                       code=1),
                  bash("gh api repos/o/r/pulls/3/comments --jq .[].id", "[1]")],
                 [], id="another-api-call-is-not-the-fix"),
    pytest.param([bash("go test ./... 2>&1 | grep -E '--- FAIL'", "Exit code 2\ngrep: unrecognized option `--- FAIL'",
                       code=2),
                  bash("go test ./... 2>&1 | grep FAIL", "ok")],
                 [], id="a-piped-programs-flag-is-not-the-commands"),
    pytest.param([bash("gh api repos/o/r/pulls/3/comments/991 --jq '{path: .path}'",
                       "Exit code 1\ngh: Not Found (HTTP 404)", code=1),
                  bash("gh api repos/o/r/pulls/comments/991 --jq '{path: .path}'", "{}")],
                 [("variant", "gh api repos/o/r/pulls/N/comments/N", "gh api repos/o/r/pulls/comments/N", None)],
                 id="an-api-path-with-a-jq-filter"),
    pytest.param([bash("gh api repos/o/r/pulls/3/comments -f body=x", "Exit code 1\ngh: Unprocessable (HTTP 422)",
                       code=1),
                  bash("gh api repos/o/r/pulls/3/comments -F body=x", "{}")],
                 [], id="another-flag-after-an-http-error-is-not-a-path-fix"),
    pytest.param([bash("gh api 'repos/o/r/pulls/3/comments/991?x=1'", "Exit code 1\ngh: Not Found (HTTP 404)", code=1),
                  bash("gh api 'repos/o/r/pulls/3/comments?per_page=100'", "{}")],
                 [("command", "gh api", None, None)], id="no-shape-to-tell-apart"),
    pytest.param([bash("cd web && npm ci", "added 3 packages"),
                  bash("cd web && npm test", "Exit code 1\n(eval):cd:1: no such file or directory: web", code=1)],
                 [("workdir", "cd", None, None)], id="the-shell-stayed-in-another-folder"),
    pytest.param([bash("cd web && npm test", "Exit code 1\n(eval):cd:1: no such file or directory: web", code=1)],
                 [("command", "npm test", None, None)], id="a-missing-folder-without-a-cd-before"),
    pytest.param([bash("mix test", "Exit code 1\nUnchecked dependencies for environment test:\n* jason (Hex package)\n"
                       "  the dependency is not available, run \"mix deps.get\"", code=1),
                  bash("mix deps.get", "Resolving Hex dependencies..."), bash("mix test", "12 tests, 0 failures")],
                 [("prerequisite", "mix test", "mix deps.get", None)], id="the-prerequisite-the-error-names"),
    pytest.param([bash("pytest -q", "Exit code 127\nbash: pytest: command not found", code=127),
                  bash("pip install pytest", "Successfully installed pytest"), bash("pytest -q", "3 passed")],
                 [("prerequisite", "pytest", "pip install", "pytest")], id="an-install-before-is-a-prerequisite"),
    pytest.param([bash("npm test", "Exit code 1\nCannot find module 'vitest'", code=1),
                  bash("npm install", "Exit code 1\nnpm ERR! network", code=1), bash("npm test", "12 passed")],
                 [("command", "npm install", None, None)], id="a-failed-install-between-is-no-prerequisite"),
    pytest.param([bash("go build ./...", "Exit code 1\nundefined: Foo", code=1), bash("git status", "clean"),
                  bash("go build ./...", "")],
                 [], id="an-unrelated-command-between-is-not-a-prerequisite"),
    pytest.param([bash("npm run build", "Exit code 1\nerror TS2304", code=1),
                  ok("Edit", "ok", file_path=f"{ROOT}/src/a.ts", old_string="a", new_string="b"),
                  bash("npm install", "added 1 package"), bash("npm run build", "done")],
                 [], id="an-edit-between-is-a-code-fix"),
    pytest.param([ok("Read", "x", file_path=f"{ROOT}/a.py"), bash("ls", "a.py"),
                  bash("cd web && npm test", "Exit code 1\n(eval):cd:1: no such file or directory: web", code=1)],
                 [("command", "npm test", None, None)], id="earlier-calls-without-a-cd"),
    pytest.param([bash("cd web && npm ci", "Exit code 1\nnpm ERR! network", code=1),
                  bash("cd web && npm test", "Exit code 1\n(eval):cd:1: no such file or directory: web", code=1)],
                 [("command", "npm ci", None, None), ("command", "npm test", None, None)],
                 id="a-failed-cd-moved-nothing"),
    pytest.param([bash(f"cd {ROOT} && ls", "a.py"),
                  bash("cd web && npm test", "Exit code 1\n(eval):cd:1: no such file or directory: web", code=1)],
                 [("command", "npm test", None, None)], id="a-cd-to-the-root-moved-nothing"),
    pytest.param([bash("make lint", "ok")] * 3, [], id="three-passing-runs-are-no-loop"),
    pytest.param([bash("curl -s https://x.example", "Exit code 28\ncurl: (28) Connection timed out", code=28)] * 3,
                 [], id="three-timeouts-are-no-loop"),
    pytest.param([fail("Skill", "<tool_use_error>Unknown skill: commit</tool_use_error>", skill="commit")],
                 [("skill", "commit", None, None)], id="unknown-skill"),
    pytest.param([fail("ExitPlanMode", "The user doesn't want to proceed with this tool use.", plan="do it")],
                 [], id="a-rejected-plan-is-not-a-preference"),
    pytest.param([fail("Edit", "The user doesn't want to proceed with this tool use.", file_path=f"{ROOT}/a.py")],
                 [], id="a-rejected-edit-is-review-not-a-preference"),
    pytest.param([ok("Grep", "No matches found", pattern="FooBar", path=f"{ROOT}/src", glob="*.tsx"),
                  ok("Grep", "lib/a.py:1:FooBar", pattern="FooBar", path=f"{ROOT}/lib")],
                 [], id="a-narrowed-search-is-not-scope-evidence"),
    pytest.param([ok("Grep", "No matches found", pattern="cart_total", path=f"{ROOT}/lib"),
                  ok("Grep", "src/cart.py:3:def cart()", pattern="cart", path=f"{ROOT}/src")],
                 [("scope", "lib", "src", None)], id="a-loosened-search-elsewhere-is-the-scope-fix"),
    pytest.param([ok("Grep", "No matches found", pattern="cart_total", path=f"{ROOT}/lib"),
                  ok("Grep", "src/cart.py:3:car = 1", pattern="car", path=f"{ROOT}/src")],
                 [("scope", "lib", None, None)], id="a-three-letter-search-is-another-search"),
    pytest.param([ok("Grep", "No matches found", pattern="FooBar", path=ROOT),
                  ok("Grep", "lib/a.py:1:FooBar", pattern="FooBar", path=f"{ROOT}/lib")],
                 [], id="never-against-the-root"),
    pytest.param([fail("Edit", "<tool_use_error>String to replace not found in file.</tool_use_error>",
                       file_path=f"{ROOT}/a.py")],
                 [], id="edit-mismatch-is-not-a-missing-file"),
    pytest.param([fail("Grep", "ENOENT: no such file or directory, posix_spawn '/opt/x/claude'", pattern="x",
                       path=f"{ROOT}/src")],
                 [], id="the-agents-own-tool-could-not-start"),
    pytest.param([fail("Bash", "The user doesn't want to proceed with this tool use.", command="rm -rf build")],
                 [("rejected", "rm", None, None)], id="rejection"),
    pytest.param([bash("make lint", "Exit code 2\nmake: *** No rule to make target 'lint'.  Stop.", code=2)] * 3
                 + [bash("uv run ruff check .", "All checks passed!")],
                 [("alternative", "make lint", "uv run ruff check", "lint")] * 3
                 + [("loop", "make lint", "uv run ruff check .", None)], id="retried-three-times"),
])
def test_learnings(specs: list[Spec], expected: list[tuple[str, str, str | None, str | None]]) -> None:
    assert _seen(*specs) == expected


# Not learnings: nothing is observed, or only a failure without a fix (which the fix threshold stops).
@pytest.mark.parametrize("specs", [
    pytest.param([bash("uv run pytest", "Exit code 1\n1 failed, 3 passed", code=1),
                  ok("Edit", "ok", file_path=f"{ROOT}/src/a.py"), bash("uv run pytest", "4 passed")],
                 id="test-fixed-by-editing-code"),
    pytest.param([bash("npm run build", "Exit code 2\nsrc/a.ts(3,1): error TS2322", code=2),
                  ok("Edit", "ok", file_path=f"{ROOT}/src/a.ts"), bash("npm run build", "built")],
                 id="build-fixed-by-editing-code"),
    pytest.param([bash("npm run build", "Exit code 2\nerror TS2322", code=2),
                  ok("Edit", "ok", file_path=f"{ROOT}/src/a.ts"), bash("npm run build:prod", "built")],
                 id="code-failure-then-edit-then-other-build"),  # seen, but without a fix
    pytest.param([bash("curl https://pypi.org", "Exit code 28\ncurl: (28) Connection timed out", code=28),
                  bash("uv pip install x", "ok")], id="timeout"),
    pytest.param([bash("pip install x", "Exit code 1\nECONNRESET", code=1), bash("uv pip install x", "ok")],
                 id="connection-reset"),
    pytest.param([fail("Read", "<tool_use_error>Sibling tool call errored</tool_use_error>", file_path="a")],
                 id="sibling"),
    pytest.param([bash("pytest", "Exit code 1\nModuleNotFoundError: No module named 'x'", code=1)], id="no-fix"),
    pytest.param([fail("Read", "File does not exist.", file_path=f"{ROOT}/NEW.md"),
                  ok("Write", "created", file_path=f"{ROOT}/NEW.md", content="x")], id="missing-file-then-created"),
    pytest.param([bash("ls nope", "Exit code 2\nls: cannot access 'nope'", code=2), bash("ls", "a b")],
                 id="unrelated-next-command"),
])
def test_not_learnings(specs: list[Spec]) -> None:
    assert [o for o in _seen(*specs) if o[2] is not None or o[0] in ("permission", "rejected", "loop")] == []


def test_error_line_of_gemini_shell_output() -> None:
    s = session(fail("run_shell_command", "Output: bash: line 1: rg: command not found\nExit Code: 127\n"
                                          "Process Group PGID: 42", exit_code=127, command="rg x"))
    (obs,) = observe(s, roots=repo_roots(cwd=s.cwd))
    assert obs.error == "bash: line 1: rg: command not found"


def test_the_error_line_is_cut_at_160_characters() -> None:
    s = session(bash("make x", "Exit code 2\nmake: *** " + "y" * 300, code=2))
    (obs,) = observe(s, roots=repo_roots(cwd=s.cwd))
    assert obs.error == ("make: *** " + "y" * 300)[:160]


def test_evidence_is_repo_relative_and_measured() -> None:
    s = session(bash(f"python3 -m pytest {ROOT}/tests", f"Exit code 1\n{NO_FASTAPI}", code=1),
                bash(f"uv run pytest {ROOT}/tests", "3 passed"))
    (obs,) = observe(s, roots=repo_roots(cwd=s.cwd))
    assert obs == Observation(
        kind="runner", key="python3 -m pytest", fix="uv run pytest", category="module_not_found",
        failing="python3 -m pytest tests", fixing="uv run pytest tests",
        error="ModuleNotFoundError: No module named 'fastapi'", detail="fastapi",
        wasted_tokens=(len(f"Exit code 1\n{NO_FASTAPI}") + len(f"python3 -m pytest {ROOT}/tests")) // 4 + 10)
