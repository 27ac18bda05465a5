from __future__ import annotations

import pytest

from headroom_ci.safety.text import redact
from headroom_ci.safety.text import hidden_unicode
from headroom_ci.safety.text import machine_paths
from headroom_ci.safety.text import mask
from headroom_ci.safety.text import Problem
from headroom_ci.safety.text import screen
from headroom_ci.safety.text import SECRET_PATTERNS
from headroom_ci.safety.text import secrets
from headroom_ci.safety.text import shannon_entropy

# Fake credentials are assembled from pieces so that this file does not itself look like it
# leaks one (to secret scanners, push protection, and this very module).
GITHUB_PAT = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GITHUB_FINE = "github" + "_pat_" + "11ABCDEFG0123456789abc_" + "x1Y2" * 15
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_STS = "ASIA" + "Y34FZKBOKMUTVV7A"
ANTHROPIC = "sk-ant" + "-api03-" + "Ab3_" * 10
OPENAI_PROJ = "sk-" + "proj-" + "Ab3x" * 12
OPENAI_LEGACY = "sk-" + "T3BlbkFJ" * 6
SLACK = "xox" + "b-1234567890-abcdefghij"
GOOGLE = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----"


@pytest.mark.parametrize("text, expected", [
    pytest.param("plain ascii, tabs\tand\r\nCRLF\n", [], id="plain"),
    pytest.param("é ❤️ 中文 — “quotes”", [], id="visible-non-ascii-and-emoji-variation-selector"),
    pytest.param("run `make\u202e test`", [Problem("bidi-control", 1, 10, "U+202E RIGHT-TO-LEFT OVERRIDE")],
                 id="bidi-override"),
    pytest.param("a\u2066b\u2069", [Problem("bidi-control", 1, 2, "U+2066 LEFT-TO-RIGHT ISOLATE"),
                                    Problem("bidi-control", 1, 4, "U+2069 POP DIRECTIONAL ISOLATE")], id="bidi-isolates"),
    pytest.param("x\u200fy", [Problem("bidi-control", 1, 2, "U+200F RIGHT-TO-LEFT MARK")], id="rtl-mark"),
    pytest.param("x\u061cy", [Problem("bidi-control", 1, 2, "U+061C ARABIC LETTER MARK")], id="arabic-letter-mark"),
    pytest.param("uv\u200brun", [Problem("zero-width", 1, 3, "U+200B ZERO WIDTH SPACE")], id="zero-width-space"),
    pytest.param("a\u200c\u200d\u2060b", [Problem("zero-width", 1, 2, "U+200C ZERO WIDTH NON-JOINER (+2 more)")],
                 id="zero-width-run-collapsed"),
    pytest.param("\ufeffstart", [], id="bom-at-start-is-allowed"),
    pytest.param("mid\ufeffdle", [Problem("zero-width", 1, 4, "U+FEFF ZERO WIDTH NO-BREAK SPACE")], id="bom-inside"),
    pytest.param("a\u180eb", [Problem("zero-width", 1, 2, "U+180E MONGOLIAN VOWEL SEPARATOR")], id="mongolian-vowel-separator"),
    pytest.param("soft\u00adhyphen", [Problem("invisible-char", 1, 5, "U+00AD SOFT HYPHEN")], id="other-format-char"),
    pytest.param("ok\U000e0049\U000e0047\U000e004e", [Problem("invisible-char", 1, 3, "U+E0049 TAG LATIN CAPITAL LETTER I (+2 more)")],
                 id="unicode-tags-smuggling"),
    pytest.param("esc\x1b[2J", [Problem("invisible-char", 1, 4, "U+001B")], id="terminal-escape"),
    pytest.param("a\u2028b", [Problem("invisible-char", 1, 2, "U+2028 LINE SEPARATOR")], id="line-separator"),
    pytest.param("a\U000e0100b", [Problem("invisible-char", 1, 2, "U+E0100 VARIATION SELECTOR-17")],
                 id="variation-selector-supplement"),
    pytest.param("one\ntwo\n  \u200b", [Problem("zero-width", 3, 3, "U+200B ZERO WIDTH SPACE")], id="line-and-column"),
    pytest.param("\u200b\u202e", [Problem("zero-width", 1, 1, "U+200B ZERO WIDTH SPACE"),
                                  Problem("bidi-control", 1, 2, "U+202E RIGHT-TO-LEFT OVERRIDE")], id="run-breaks-on-kind"),
])
def test_hidden_unicode(text: str, expected: list[Problem]) -> None:
    assert hidden_unicode(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("Open /home/alice/src/app.py.", [Problem("machine-path", 1, 6, "/home/alice/src/app.py")], id="linux-home"),
    pytest.param("cd /home/runner/work/shop/shop && make", [Problem("machine-path", 1, 4, "/home/runner/work/shop/shop")],
                 id="actions-runner"),
    pytest.param("`/Users/jane/code/x`", [Problem("machine-path", 1, 2, "/Users/jane/code/x")], id="macos-home"),
    pytest.param("see /root/.cache/pip", [Problem("machine-path", 1, 5, "/root/.cache/pip")], id="root-home"),
    pytest.param(r"C:\Users\bob\proj\a.py", [Problem("machine-path", 1, 1, r"C:\Users\bob\proj\a.py")], id="windows-home"),
    pytest.param(r'"C:\\Users\\bob\\x"', [Problem("machine-path", 1, 2, r"C:\\Users\\bob\\x")], id="windows-home-json-escaped"),
    pytest.param("/github/workspace/src", [Problem("machine-path", 1, 1, "/github/workspace/src")], id="container-workspace"),
    pytest.param("/private/var/folders/x1/abc/T/y", [Problem("machine-path", 1, 1, "/private/var/folders/x1/abc/T/y")],
                 id="macos-temp"),
    pytest.param("/tmp/tmpk3j2h1x9/out.txt", [Problem("machine-path", 1, 1, "/tmp/tmpk3j2h1x9/out.txt")], id="python-tempdir"),
    pytest.param("/tmp/pytest-of-alice/pytest-3", [Problem("machine-path", 1, 1, "/tmp/pytest-of-alice/pytest-3")],
                 id="pytest-tmp"),
    pytest.param("/tmp/build-a8f3k29xq/log", [Problem("machine-path", 1, 1, "/tmp/build-a8f3k29xq/log")], id="random-suffix"),
    pytest.param("file:///home/bob/x.html", [Problem("machine-path", 1, 8, "/home/bob/x.html")], id="file-url-has-no-host"),
    pytest.param("a\n  /home/al/x", [Problem("machine-path", 2, 3, "/home/al/x")], id="line-and-column"),
    pytest.param("/home/" + "a" * 80, [Problem("machine-path", 1, 1, "/home/" + "a" * 53 + "…")], id="long-path-shortened"),
    pytest.param("#!/usr/bin/env python3", [], id="usr-bin-env"),
    pytest.param("edit /etc/hosts, pipe to /dev/null", [], id="system-paths"),
    pytest.param("https://example.com/home/alice/x and https://h/Users/x", [], id="url-paths"),
    pytest.param("/tmp/build/out.txt and /tmp/cache", [], id="fixed-tmp-paths"),
    pytest.param("services/api/home/alice, ~/project, $HOME/home/x", [], id="relative-paths"),
    pytest.param("/rootfs and /homepage", [], id="prefix-is-not-enough"),
])
def test_machine_paths(text: str, expected: list[Problem]) -> None:
    assert machine_paths(text) == expected


# One positive and one negative example per pattern of the table.
SECRET_POSITIVES = [
    pytest.param(f"GH_TOKEN={GITHUB_PAT}", Problem("github-token", 1, 10, "ghp_…"), id="github-classic"),
    pytest.param(GITHUB_FINE, Problem("github-token", 1, 1, "gith…"), id="github-fine-grained"),
    pytest.param(f"key {AWS_KEY}", Problem("aws-access-key-id", 1, 5, "AKIA…"), id="aws-akia"),
    pytest.param(AWS_STS, Problem("aws-access-key-id", 1, 1, "ASIA…"), id="aws-asia"),
    pytest.param(PEM, Problem("private-key", 1, 1, "----…"), id="private-key-rsa"),
    pytest.param("-----BEGIN OPENSSH " "PRIVATE KEY-----", Problem("private-key", 1, 1, "----…"), id="private-key-openssh"),
    pytest.param(ANTHROPIC, Problem("anthropic-key", 1, 1, "sk-a…"), id="anthropic"),
    pytest.param(f"OPENAI_API_KEY='{OPENAI_PROJ}'", Problem("openai-key", 1, 17, "sk-p…"), id="openai-project"),
    pytest.param(OPENAI_LEGACY, Problem("openai-key", 1, 1, "sk-T…"), id="openai-legacy"),
    pytest.param(SLACK, Problem("slack-token", 1, 1, "xoxb…"), id="slack"),
    pytest.param(GOOGLE, Problem("google-api-key", 1, 1, "AIza…"), id="google"),
    pytest.param(f"cookie: {JWT}", Problem("jwt", 1, 9, "eyJh…"), id="jwt"),
    pytest.param("postgres://admin:hunter2pass@db.internal/x", Problem("url-credentials", 1, 18, "hu…"), id="url-credentials"),
    pytest.param("curl -H 'Authorization: Bearer abc123DEF456ghi789'", Problem("bearer-token", 1, 32, "abc1…"), id="bearer"),
    pytest.param("password=9f8Kq2LmZx7Tb3Vn", Problem("secret-assignment", 1, 10, "9f8K…"), id="password-assignment"),
    pytest.param("api_key: 'aB3dE6gH9jK2xY'", Problem("secret-assignment", 1, 11, "aB3…"), id="api-key-yaml"),
    pytest.param('"client_secret": "Zq8Rt4Wm2Np6Ks1V"', Problem("secret-assignment", 1, 19, "Zq8R…"), id="secret-json"),
]

SECRET_NEGATIVES = [
    pytest.param("ghp_short and github_pat_ in prose", id="github-too-short"),
    pytest.param("AKIA1234 and akiaiosfodnn7example", id="aws-too-short-or-lowercase"),
    pytest.param("-----BEGIN PUBLIC KEY----- -----BEGIN CERTIFICATE-----", id="public-key-and-certificate"),
    pytest.param("sk-ant-short", id="anthropic-too-short"),
    pytest.param("use sk-learn-and-pandas-for-everything; risk-assessment-framework-for-teams", id="openai-words-after-sk"),
    pytest.param("xoxo-hugs, xoxb-short", id="slack-too-short"),
    pytest.param("AIzaShort", id="google-too-short"),
    pytest.param("eyJhbGciOiJIUzI1NiJ9 alone", id="jwt-one-part"),
    pytest.param("https://user@host/x postgres://localhost:5432/db postgres://u:$PGPASSWORD@localhost",
                 id="url-without-password-or-with-reference"),
    pytest.param("Authorization: Bearer $TOKEN; Authorization: Bearer ${{ secrets.X }}; Bearer <token>",
                 id="bearer-reference"),
    pytest.param("token=deadbeefdeadbeefdeadbeefdeadbeefdeadbeef", id="assignment-git-sha"),
    pytest.param("secret: 123e4567-e89b-12d3-a456-426614174000", id="assignment-uuid"),
    pytest.param("password=correcthorsebatterystaple token=regenerate_when_expired", id="assignment-words"),
    pytest.param("API_KEY=process.env.API_KEY max_tokens=1500 token=${{ secrets.GITHUB_TOKEN }}",
                 id="assignment-code-references-and-numbers"),
    pytest.param("password=aaaaaaaaAAAA1111", id="assignment-low-entropy"),
]


@pytest.mark.parametrize("text, expected", SECRET_POSITIVES)
def test_secret_found(text: str, expected: Problem) -> None:
    assert secrets(text) == [expected]


@pytest.mark.parametrize("text", SECRET_NEGATIVES)
def test_no_secret(text: str) -> None:
    assert secrets(text) == []


def test_every_example_is_a_pattern_of_the_table() -> None:
    # The table lives in headroom_ci.safety.redact; tests/safety/test_redact.py has an example of every entry.
    kinds = {p.values[1].kind for p in SECRET_POSITIVES}  # type: ignore[union-attr]
    assert kinds <= {kind for kind, _ in SECRET_PATTERNS}


def test_specific_pattern_wins_over_generic_assignment() -> None:
    assert secrets(f"token={GITHUB_PAT}") == [Problem("github-token", 1, 7, "ghp_…")]


def test_jwt_after_bearer_is_reported_once() -> None:
    # The JWT pattern comes first in the table, so the bearer match over the same text is dropped.
    assert secrets(f"Authorization: Bearer {JWT}") == [Problem("jwt", 1, 23, "eyJh…")]


def test_secrets_are_in_reading_order_with_lines() -> None:
    text = f"first {SLACK}\n\n  {GITHUB_PAT} then {AWS_KEY}\n"
    assert secrets(text) == [
        Problem("slack-token", 1, 7, "xoxb…"),
        Problem("github-token", 3, 3, "ghp_…"),
        Problem("aws-access-key-id", 3, 49, "AKIA…"),
    ]


def test_no_problem_text_contains_the_secret() -> None:
    text = "\n".join(str(p.values[0]) for p in SECRET_POSITIVES)
    for problem in secrets(text):
        assert len(problem.text.rstrip("…")) <= 4


@pytest.mark.parametrize("secret, masked", [
    pytest.param("ghp_0123456789abcdef", "ghp_…", id="long"),
    pytest.param("hunter22", "hu…", id="short-shows-a-quarter"),
    pytest.param("abc", "…", id="tiny-shows-nothing"),
])
def test_mask(secret: str, masked: str) -> None:
    assert mask(secret) == masked


@pytest.mark.parametrize("value, bits", [
    pytest.param("", 0.0, id="empty"),
    pytest.param("aaaa", 0.0, id="one-symbol"),
    pytest.param("abab", 1.0, id="two-symbols"),
    pytest.param("abcdefgh", 3.0, id="eight-distinct"),
])
def test_shannon_entropy(value: str, bits: float) -> None:
    assert shannon_entropy(value) == pytest.approx(bits)


def test_screen_combines_all_checks_in_reading_order() -> None:
    text = f"- Run from /home/alice/x\n- Token {GITHUB_PAT}\u200b\n"
    assert screen(text) == [
        Problem("machine-path", 1, 12, "/home/alice/x"),
        Problem("github-token", 2, 9, "ghp_…"),
        Problem("zero-width", 2, 49, "U+200B ZERO WIDTH SPACE"),
    ]


@pytest.mark.parametrize("text, expected", [
    pytest.param("nothing here", "nothing here", id="clean"),
    pytest.param("push with ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 now",
                 "push with [REDACTED:github-token] now", id="token-in-prose"),
    pytest.param("git clone https://bob:s3cr3tPassw0rd@example.com/r.git",
                 "git clone https://bob:[REDACTED:url-credentials]@example.com/r.git", id="url-credentials"),
    pytest.param("commit 3f1c2a9e5b7d4c1e9a2b0d6e8f7a1b2c3d4e5f6a", "commit 3f1c2a9e5b7d4c1e9a2b0d6e8f7a1b2c3d4e5f6a",
                 id="git-sha-kept"),
])
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
