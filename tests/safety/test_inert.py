from __future__ import annotations

import pytest

from headroom_ci.safety.inert import code_block
from headroom_ci.safety.inert import code_span
from headroom_ci.safety.inert import log
from headroom_ci.safety.inert import markdown
from headroom_ci.safety.inert import pre


@pytest.mark.parametrize("text, expected", [
    pytest.param("uv run pytest", "`uv run pytest`", id="plain"),
    pytest.param("a `` b", "```a `` b```", id="double-backticks-inside"),
    pytest.param("`x`", "`` `x` ``", id="starts-and-ends-with-backtick"),
    pytest.param("a\nb   c", "`a b c`", id="one-line"),
    pytest.param("x" * 120, "`" + "x" * 99 + "…`", id="bounded"),
    pytest.param("", "` `", id="empty"),
])
def test_code_span_cannot_be_closed_from_inside(text: str, expected: str) -> None:
    assert code_span(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("ping @octocat about #12", "ping &#64;octocat about &#35;12", id="mention-and-reference"),
    pytest.param("<img src=x onerror=alert(1)></details>", "&lt;img src=x onerror=alert(1)&gt;&lt;/details&gt;",
                 id="html"),
    pytest.param("[click](https://evil.example) www.evil.example",
                 "\\[click\\](https&#58;//evil.example) www&#46;evil.example", id="link-and-autolink"),
    pytest.param("a | b `c` *d*", "a \\| b \\`c\\` \\*d\\*", id="table-code-emphasis"),
    pytest.param("line1\nline2", "line1 line2", id="one-line"),
])
def test_markdown_is_inert(text: str, expected: str) -> None:
    assert markdown(text) == expected


def test_log_neutralizes_runner_commands() -> None:
    assert log("##[set-output name=x]y\nok") == "#\u200b#[set-output name=x]y\nok"


@pytest.mark.parametrize("text, info, expected", [
    pytest.param("+ a\n", "diff", "```diff\n+ a\n```", id="plain"),
    pytest.param("+ ```\n+ x\n", "diff", "````diff\n+ ```\n+ x\n````", id="a-fence-inside"),
    pytest.param("no newline", "", "```\nno newline\n```", id="final-newline-added"),
])
def test_code_block_cannot_be_closed_from_inside(text: str, info: str, expected: str) -> None:
    assert code_block(text, info) == expected


def test_pre_escapes_html_mentions_and_references() -> None:
    assert pre("</pre><b>@octocat</b> fixes #12 & more") == \
        "&lt;/pre&gt;&lt;b&gt;&#64;octocat&lt;/b&gt; fixes &#35;12 &amp; more"
