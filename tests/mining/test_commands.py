from __future__ import annotations

import pytest

from headroom_ci.mining.commands import Command
from headroom_ci.mining.commands import parse_command


@pytest.mark.parametrize("cmd, expected", [
    pytest.param("python3 -m pytest tests/ -x", Command("python3 -m pytest", "pytest", "python3", "test", None), id="python-m"),
    pytest.param("uv run pytest tests/", Command("uv run pytest", "pytest", "uv", "test", None), id="uv-run"),
    pytest.param("uv run python -m pytest", Command("uv run python -m pytest", "pytest", "uv", "test", None), id="uv-run-python-m"),
    pytest.param("cd web && npm test", Command("npm test", "test", "npm", "test", "web"), id="cd-npm-test"),
    pytest.param("npm run test:unit -- --run", Command("npm run test:unit", "test:unit", "npm", "test", None), id="npm-run"),
    pytest.param("make lint", Command("make lint", "lint", "make", "lint", None), id="make-target"),
    pytest.param("uv run ruff check .", Command("uv run ruff check", "ruff check", "uv", "lint", None), id="ruff-check"),
    pytest.param("python manage.py test", Command("python manage.py", "manage.py", "python", "other", None), id="python-script"),
    pytest.param("FOO=1 timeout 30 pytest -q 2>&1 | tail -20", Command("pytest", "pytest", "pytest", "test", None), id="env-timeout-pipe"),
    pytest.param("source .venv/bin/activate && pytest", Command("pytest", "pytest", "pytest", "test", None), id="source-first"),
    pytest.param("npx vitest run", Command("npx vitest", "vitest", "npx", "test", None), id="npx"),
    pytest.param("cargo test --all", Command("cargo test", "cargo test", "cargo", "test", None), id="cargo"),
    pytest.param("sudo apt-get install -y jq", Command("apt-get install", "apt-get install", "apt-get", "install", None), id="sudo-apt"),
    pytest.param("mypy src", Command("mypy", "mypy", "mypy", "typecheck", None), id="mypy"),
    pytest.param("echo 'unbalanced", Command("", "", "", "other", None), id="unbalanced-quote-setup-only"),
    pytest.param("", Command("", "", "", "other", None), id="empty"),
    pytest.param("mkdir -p build/out", Command("mkdir", "mkdir", "mkdir", "other", None), id="mkdir-has-a-program"),
    pytest.param("go vet ./... && \\\n  go test ./...", Command("go vet", "go vet", "go", "other", None),
                 id="line-continuation"),
    pytest.param("TOKEN=$(curl -s https://x.example/t) && psql -c 'select 1'",
                 Command("psql", "psql", "psql", "other", None), id="assignment-from-a-substitution"),
    pytest.param("X=`date` make build", Command("make build", "build", "make", "build", None), id="backquotes"),
    pytest.param("git -C services/api status", Command("git status", "git status", "git", "other", "services/api"),
                 id="git-C"),
    pytest.param("git add -A && git commit -m \"$(cat <<'EOF'\nFix: add the install step; && rm -rf /\nEOF\n)\"",
                 Command("git add", "git add", "git", "other", None), id="heredoc-and-git-add-is-not-an-install"),
    pytest.param("cat <<EOF > notes.txt\nnpm install left-pad\nEOF\nnpm test",
                 Command("cat", "cat", "cat", "other", None), id="heredoc-body-is-not-a-command"),
    pytest.param("git grep -n TODO", Command("git grep", "git grep", "git", "search", None), id="git-grep"),
    pytest.param("pytest -q 2>&1 > out.txt", Command("pytest", "pytest", "pytest", "test", None), id="redirections"),
    pytest.param("# build first\nmake build", Command("make build", "build", "make", "build", None), id="comment-line"),
    pytest.param("mise exec -- golangci-lint run ./...",
                 Command("mise exec golangci-lint", "golangci-lint", "mise", "lint", None), id="mise-exec"),
    pytest.param("git -C services/api", Command("git", "git", "git", "other", "services/api"), id="git-C-alone"),
    pytest.param("python3 -m", Command("python3", "python3", "python3", "other", None), id="python-m-alone"),
    pytest.param("npm run", Command("npm run", "run", "npm", "other", None), id="npm-run-alone-lists-scripts"),
    pytest.param("(cd web && npm test)", Command("npm test", "test", "npm", "test", "web"), id="subshell"),
])
def test_parse_command(cmd: str, expected: Command) -> None:
    assert parse_command(cmd) == expected


@pytest.mark.parametrize("wrapper", ["poetry run", "pipenv run", "pdm run", "hatch run", "rye run", "bundle exec",
                                     "pnpm exec", "npm exec", "yarn exec", "mise exec", "mise x"])
def test_wrappers_run_the_tool_they_name(wrapper: str) -> None:
    assert parse_command(f"{wrapper} pytest -q tests/") == Command(
        f"{wrapper} pytest", "pytest", wrapper.split()[0], "test", None)


@pytest.mark.parametrize("cmd, expected", [
    pytest.param("bunx vitest run", Command("bunx vitest", "vitest", "bunx", "test", None), id="bunx"),
    pytest.param("pnpx vitest run", Command("pnpx vitest", "vitest", "pnpx", "test", None), id="pnpx"),
    pytest.param("uvx ruff check .", Command("uvx ruff check", "ruff check", "uvx", "lint", None), id="uvx"),
    pytest.param("uv run", Command("uv run", "uv run", "uv", "other", None), id="a-wrapper-with-nothing-to-run"),
])
def test_one_word_wrappers(cmd: str, expected: Command) -> None:
    assert parse_command(cmd) == expected
