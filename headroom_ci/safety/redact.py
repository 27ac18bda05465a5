"""Secrets out of text before it leaves the process that read it (pure: str in, str out).

Agent transcripts hold credentials (tokens echoed by ``env``, keys in files the agent read,
passwords in URLs). Everything headroom-ci writes or sends passes through here first: the
collect bundle, LLM digests, plan.json, pull-request text, the job summary, log lines.

API
---
``redact(text) -> str``
    The built-in table only (what ``headroom_ci.safety.text.redact`` was).
``scan(text) -> list[Redaction]``
    ``Redaction(kind, start, end)`` spans, in text order, of what ``redact`` replaces.
``Redactor.from_config(patterns=(), literals=(), env=None) -> Redactor``
    Build once (it compiles one scanner), then call many times; frozen, thread-safe.

    - ``patterns``: regexes from the config file, kind ``custom``. A group named ``value``
      limits the redaction to that group. Each one costs a pass over the text, so a pattern
      that starts with a literal (``acme_[0-9a-f]{32}``) is much faster than one that does not.
    - ``literals``: exact strings from the config file (at least 4 characters), kind
      ``literal``.
    - ``env``: a mapping such as ``os.environ``: the value of every variable whose *name*
      looks secret (see ``secret_env``) is redacted as kind ``env:<NAME>``.
``Redactor.redact(text, counts=None) -> str``
    Each secret replaced by ``[REDACTED:<kind>]``, the text around it kept. ``counts`` (a
    ``collections.Counter``), when given, is incremented per kind: collect can total a whole
    bundle without scanning twice.
``Redactor.scan(text) -> list[Redaction]``
``secret_env(env) -> list[tuple[str, str]]``
    ``(name, value)`` of the variables ``from_config(env=…)`` takes.

Guarantees: idempotent (``redact(redact(x)) == redact(x)``; a ``[REDACTED:…]`` marker never
matches, and nothing is matched inside one); overlapping detections are merged into one span
(the kind of the earliest table entry wins), so no part of any detected secret survives; JSON
text stays valid JSON (a span never starts or ends inside a ``\\`` escape, the marker has no
quote or backslash), so collect can redact raw JSONL lines.

How it is fast (``benchmarks/redact_bench.py``): Python's ``re`` is quick only when a pattern
starts with a literal or a small character set; an alternation of many patterns, or a
case-insensitive keyword search, runs at a few MB/s. So every rule names *anchors*: literal
strings one of which starts every match (``ghp_``, ``AKIA``, ``-----BEGIN``, ``Token``, ...).
All anchors of all rules, and every literal, go into one regex in which each branch starts
with the anchor's rarest character and checks the characters before it with a fixed-width
lookbehind: the regex engine then skips, in C, every position holding none of those few rare
characters. Only where an anchor occurs is the rule's own pattern tried (``match`` at that
position). Literals need no second step. With the built-in table this runs well above 50 MB/s
on transcript text, and hundreds of literals cost little more.

Why not a library: detect-secrets (Yelp) is the well-known one. It is a line-by-line scanner
for repositories, built from plugins and heuristic filters; it reports which line holds a
secret rather than where the secret is (so redacting needs a second search), it has no rules
for Anthropic, Google API keys, Azure connection strings, URL credentials or Authorization
headers, its last release is 1.5.0 (May 2024), and over transcript text it ran at about
0.2 MB/s with many false positives from its entropy plugins. Aho-Corasick (pyahocorasick,
ahocorasick-rs) or RE2 would match literals faster than ``re`` alone, but the rare-character
scanner above reaches the target with the standard library, so no compiled dependency is added.
"""
from __future__ import annotations

import base64
import bisect
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import NamedTuple

MARKER_PREFIX = "[REDACTED:"
_MARKER = re.compile(r"\[REDACTED:[^\]\s]{1,80}\]")
MIN_LITERAL = 4      # shorter config literals would redact ordinary words
MIN_ENV_VALUE = 8    # shorter env values are flags, ports, names, not credentials


class Redaction(NamedTuple):
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Rule:
    """One entry of the table.

    ``pattern`` is tried with ``match`` at ``back`` characters before each occurrence of one of
    ``anchors``, never searched: every match must begin at an anchor (or exactly ``back``
    characters before one). A group named ``value`` is what is redacted, else the whole match.
    ``accept`` rejects matches the regex alone cannot tell apart (entropy, placeholders).
    ``guard``, a regex that must match right after the anchor for the pattern to have a chance,
    is checked by the scanner itself, in C: anchors as common as "token" (every usage record
    of a transcript has input_tokens) then cost nothing where no value follows them.
    ``exact`` is False where the extent of the value is a guess (a generic assignment): such a
    span is used only where no exact one overlaps it, never to widen one.
    """
    kind: str
    anchors: tuple[str, ...]
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None
    back: int = 0
    guard: str = ""
    exact: bool = True


# ── building blocks ────────────────────────────────────────────────────────────────────────────

# A token starts at a boundary: not after a letter, digit, underscore or hyphen, except the
# letter of a JSON escape (`\nghp_…` in a raw JSONL line is a token after a newline). Besides
# precision, this keeps the scan linear: in "sk-sk-sk-…" only the first anchor is tried.
# Open-ended repeats are capped (at _CAP characters) for the same reason.
_B = r"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrt]))"
_CAP = "1024"
# For prefixes no word ends in (ghp_, hf_, hvs.): a token glued to a name by - or _
# (MY_TOKEN_ghp_…, x-hf_…) is still a token; only a letter or digit before it makes a word.
_BP = r"(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))"
# Base64url / base62 token characters.
_TOK = r"[A-Za-z0-9_-]"
# Placeholders and references are not secrets: $VAR, ${{ secrets.X }}, <token>, ***, [REDACTED:…].
_NOT_PLACEHOLDER = r"(?![$<{*\[%])"
# An optional quote, possibly escaped once or more (JSON inside JSON: \" or \\\").
_Q = r"(?:\\{0,8}[\"'])?"
# `name = value`, `name: value`, `"name": "value"`.
_ASSIGN = _Q + r"\s*[:=]\s*" + _Q


def _variants(*words: str) -> tuple[str, ...]:
    """How code spells a keyword: snake, kebab, joined, UPPER, Capitalized, camelCase, PascalCase."""
    out: list[str] = []
    for sep in ("_", "-", ""):
        out += [sep.join(words), sep.join(words).upper(), sep.join(w.capitalize() for w in words)]
    if len(words) > 1:
        out.append(words[0] + "".join(w.capitalize() for w in words[1:]))
    return tuple(dict.fromkeys(out))


_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w.@+-]*(?:/[\w.@+-]*)*")
# A type or class name: PascalCase or camelCase words of 3+ letters, no digits (token:
# RegistryToken, apiKey: ApiKeyConfig). About 5 in 10,000 random 12–16 character values have
# this shape, far fewer longer ones.
_CASED_WORDS = re.compile(r"(?:[A-Z][a-z]{2,}|[a-z]{3,})(?:[A-Z][a-z]{2,})+|(?:[A-Z][a-z]{2,}){2,}")
# Bits per character. Random base62 of 12+ characters scores ≥ 3.4; words and repeated
# characters score lower (a 12-letter word has at most 3.58, usually ~3.0).
ENTROPY_THRESHOLD = 3.4


def shannon_entropy(value: str) -> float:
    """Average information per character, in bits."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def looks_random(value: str) -> bool:
    """Whether an assigned value is credential-like rather than an id, a digest, a path or a word.

    Identifiers that mix case and digits (ProductionDbPassword2024) count as random: telling
    them from random strings by their "words" misjudged about one short random value in a
    thousand, and a redactor had better hide an identifier than show a password."""
    if _HEX.fullmatch(value) and len(value) >= 40:
        return False  # commit ids and sha256 digests; shorter hex (32: API keys) is kept
    if _UUID.fullmatch(value) or _DOTTED_NAME.fullmatch(value) or _PATH.fullmatch(value):
        return False  # ids, code that reads a secret (process.env.API_KEY), file paths
    if _CASED_WORDS.fullmatch(value):
        return False  # a type annotation or a class name
    classes = sum(any(f(c) for c in value) for f in (str.islower, str.isupper, str.isdigit))
    return classes >= 2 and shannon_entropy(value) >= ENTROPY_THRESHOLD


# A name that goes on past the keyword to say what the value is about rather than the secret
# itself: secret_name, token_type, SharedAccessKeyName, password_file, api_key_id, token_url.
_ABOUT = re.compile(r"(?i)s?[_.-]?(?:name|id|type|kind|path|file|dir|url|uri|arn|len|length|size|count|ttl|expiry"
                    r"|expires|expiration|prefix|suffix|header|field|env|var|version|policy|rule|ref)s?")


def _assignment_is_secret(m: re.Match[str]) -> bool:
    if _ABOUT.fullmatch(m.group("rest")):
        return False
    if not looks_random(m.group("value")):
        return False
    if m.group("op").strip():
        return True
    # `name value` with only a space between: a command-line flag (--password VALUE), never prose.
    start = m.start()
    while start > 0 and (m.string[start - 1].isalnum() or m.string[start - 1] in "_.-"):
        start -= 1
    return m.string.startswith("-", start)


# ── the table ────────────────────────────────────────────────────────────────────────────────────
# Most specific first: overlapping detections merge and take the kind of the earliest entry
# (a ghp_ token after "token=" is a github-token, not a secret-assignment). Formats are the
# vendors' documented ones; "gitleaks" refers to gitleaks' rule of the same vendor
# (cmd/generate/config/rules/*.go), used as a cross-check.

_GENERIC_KEYWORDS = (
    r"passw(?:or)?d|passphrase|pwd|secret|token|credentials?"
    r"|api[_-]?key|access[_-]?key|private[_-]?key|account[_-]?key"
)
# What follows the keyword in a generic assignment, up to the value's first 12 characters.
# The name may go on after the keyword (token_value, SECRET_KEY), for at most 64 characters.
_GENERIC_TAIL = (r"(?P<rest>[\w.-]{0,64}?)" + _Q + r"(?P<op>\s{0,16}[:=]\s{0,16}|\s{1,16})" + _Q + _NOT_PLACEHOLDER
                 + r"(?P<value>[A-Za-z0-9_+/=.~!@#^-]{12,%s})" % _CAP)

RULES: tuple[Rule, ...] = (
    # PEM / OpenSSH / PGP / PKCS#8 (also ENCRYPTED) private keys, the whole block, across real
    # line breaks or JSON-escaped ones (a service-account JSON's "private_key": "-----BEGIN
    # PRIVATE KEY-----\nMII…"). RFC 7468 labels; RFC 4880 §6.2 armor. Without an END line
    # within 20,000 characters (a truncated output), the key-looking lines after the header.
    Rule("private-key", ("-----BEGIN ",), re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:(?:(?!-----BEGIN )[\s\S]){0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"|(?:(?:\s|\\[rn])+(?:[A-Za-z][A-Za-z-]*:[ \t][^\r\n\\\"']*|[A-Za-z0-9+/=]{16,}|=[A-Za-z0-9+/]{4}))*)")),
    # GitHub (github.blog/changelog 2021-03-31 "Authentication token format updates"): ghp_
    # personal, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server (Actions' GITHUB_TOKEN),
    # ghr_ refresh, then 36 base62, "up to 255"; fine-grained PATs github_pat_ + 22 + _ + 59.
    Rule("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), re.compile(
        _BP + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})(?![A-Za-z0-9_])")),
    # GitLab personal/project/group access tokens (docs.gitlab.com "Token prefixes"): glpat-
    # + 20 characters (newer ones longer, with a .01. routing part).
    Rule("gitlab-token", ("glpat-",), re.compile(_BP + r"glpat-[A-Za-z0-9_.-]{20,%s}" % _CAP)),
    # AWS access key ids (IAM user guide, "Understanding unique ID prefixes"): AKIA long-term,
    # ASIA STS temporary, ABIA/ACCA service-specific; 16 more upper-case letters and digits.
    Rule("aws-access-key-id", ("AKIA", "ASIA", "ABIA", "ACCA"), re.compile(
        _BP + r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    # AWS secret access keys: 40 base64 characters, recognisable only by their name
    # (credentials file aws_secret_access_key, env AWS_SECRET_ACCESS_KEY, STS/CLI JSON
    # "SecretAccessKey"). gitleaks aws_secret.go.
    Rule("aws-secret-key", _variants("secret", "access", "key"), re.compile(
        r"(?i)secret[_-]?access[_-]?key" + _ASSIGN + r"(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")),
    # Google API keys (cloud.google.com/docs/authentication/api-keys): AIza + 35 base64url.
    # Service-account keys are the private-key block above.
    Rule("google-api-key", ("AIza",), re.compile(_B + r"AIza" + _TOK + r"{35}(?!" + _TOK + ")")),
    # Google OAuth 2.0 access tokens (gcloud auth print-access-token): ya29. + base64url.
    Rule("google-oauth-token", ("ya29.",), re.compile(_B + r"ya29\.[A-Za-z0-9_-]{20,%s}" % _CAP)),
    # Azure Storage account keys in connection strings (learn.microsoft.com "Configure Azure
    # Storage connection strings": DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…):
    # the key is 64 bytes of base64. The rest of the connection string stays readable.
    Rule("azure-storage-key", ("AccountKey=",), re.compile(r"AccountKey=(?P<value>[A-Za-z0-9+/]{20,%s}={0,2})" % _CAP)),
    # Service Bus / Event Hubs / IoT Hub connection strings: SharedAccessKey=<base64 key>.
    Rule("azure-shared-access-key", ("SharedAccessKey=",), re.compile(
        r"SharedAccessKey=(?P<value>[A-Za-z0-9+/]{20,%s}={0,2})" % _CAP)),
    # Shared access signatures (learn.microsoft.com "Create a service SAS"): the sig= query
    # parameter is a base64 HMAC-SHA256, URL-encoded; the other parameters are not secret.
    Rule("azure-sas-signature", ("sig=",), re.compile(
        r"(?<=[?&;])sig=(?P<value>[A-Za-z0-9%%+/=]{16,%s})" % _CAP)),
    # Azure AD (Entra ID) client secrets: 3 characters, a digit, "Q~", 31–34 more (gitleaks
    # azure.go, azure-ad-client-secret).
    Rule("azure-ad-client-secret", ("Q~",), re.compile(
        r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"), back=4),
    # Anthropic (docs.anthropic.com; gitleaks anthropic.go): sk-ant-api03-…, sk-ant-admin01-…,
    # Claude Code's OAuth sk-ant-oat01-…; before OpenAI, whose sk- prefix it shares.
    Rule("anthropic-key", ("sk-ant-",), re.compile(_BP + r"sk-ant-" + _TOK + r"{20,%s}" % _CAP)),
    # OpenAI (platform.openai.com API keys): legacy sk-…, sk-proj-…, sk-svcacct-…, sk-admin-….
    # Random base62 always mixes digits and capitals, which hyphenated words after "sk-"
    # (sk-learn-…) do not: the lookaheads require both.
    Rule("openai-key", ("sk-",), re.compile(
        _B + r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?(?=" + _TOK + r"{0,%s}?\d)(?=" % _CAP + _TOK
        + r"{0,%s}?[A-Z])" % _CAP + _TOK + r"{20,%s}" % _CAP)),
    # HashiCorp Vault (developer.hashicorp.com/vault/docs/concepts/tokens, "Token prefixes"):
    # hvs. service, hvb. batch, hvr. recovery tokens, then base62/base64url (90+ characters for
    # service tokens; 24 is the floor here).
    Rule("vault-token", ("hvs.", "hvb.", "hvr."), re.compile(_BP + r"hv[sbr]\.[A-Za-z0-9_-]{24,%s}" % _CAP)),
    # Hugging Face user access tokens (huggingface.co/docs/hub/security-tokens): hf_ + 34 letters
    # and digits (gitleaks huggingface.go).
    Rule("huggingface-token", ("hf_",), re.compile(_BP + r"hf_[A-Za-z0-9]{30,%s}(?![A-Za-z0-9])" % _CAP)),
    # DigitalOcean (docs.digitalocean.com, "Personal access tokens"; gitleaks digitalocean.go):
    # dop_v1_ personal, doo_v1_ OAuth, dor_v1_ refresh, then 64 lower-case hex.
    Rule("digitalocean-token", ("dop_v1_", "doo_v1_", "dor_v1_"), re.compile(
        _BP + r"do[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9])")),
    # Slack (api.slack.com/authentication/token-types): xoxb- bot, xoxp- user, xoxa-/xoxr-
    # (refresh), xoxo-, xoxs-, and xapp- app-level tokens.
    Rule("slack-token", ("xoxa-", "xoxb-", "xoxo-", "xoxp-", "xoxr-", "xoxs-", "xapp-"), re.compile(
        _BP + r"(?:xox[abposr]-[A-Za-z0-9-]{10,%s}|xapp-\d-[A-Za-z0-9-]{10,%s})" % (_CAP, _CAP))),
    # Slack incoming webhooks (api.slack.com/messaging/webhooks):
    # https://hooks.slack.com/services/T…/B…/<secret>; the path is the credential.
    Rule("slack-webhook", ("hooks.slack.com/",), re.compile(
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<value>[A-Za-z0-9_/+-]{16,%s})" % _CAP)),
    # Stripe (docs.stripe.com/keys): secret sk_live_/sk_test_, restricted rk_live_/rk_test_,
    # webhook signing secrets whsec_. Test keys too: they still open an account.
    Rule("stripe-key", ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"), re.compile(
        _BP + r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,%s}|whsec_[A-Za-z0-9]{24,%s})" % (_CAP, _CAP))),
    # Twilio (twilio.com/docs/glossary/what-is-a-sid): AC account SIDs and SK API-key SIDs,
    # two letters + 32 lower-case hex. The auth token (32 hex) is caught by its assignment below.
    Rule("twilio-sid", ("AC", "SK"), re.compile(_B + r"(?:AC|SK)[0-9a-f]{32}(?![0-9A-Za-z])")),
    # SendGrid (docs.sendgrid.com API keys): SG. + 22 + . + 43 base64url.
    Rule("sendgrid-key", ("SG.",), re.compile(_B + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")),
    # npm access tokens (github.blog 2021-09-23 "npm has a new access token format"): npm_ +
    # 36 base62.
    Rule("npm-token", ("npm_",), re.compile(_BP + r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    # .npmrc credentials (docs.npmjs.com/cli/configuring-npm/npmrc "Auth related configuration"):
    # //registry/:_authToken=…, :_auth=base64, :_password=base64 (legacy tokens are UUIDs, so
    # only the context tells).
    Rule("npmrc-auth", (":_auth", ":_password"), re.compile(
        r":_(?:authToken|auth|password)\s*=\s*" + _NOT_PLACEHOLDER + r"(?P<value>[^\s'\"\\]{8,%s})" % _CAP)),
    # PyPI API tokens (pypi.org/help/#apitoken): pypi- + a base64url macaroon, which always
    # starts "AgE" (pypi.org: AgEIcHlwaS5vcmc…, test.pypi.org: AgENdGVzdC5weXBpLm9yZw…).
    Rule("pypi-token", ("pypi-AgE",), re.compile(_BP + r"pypi-AgE[A-Za-z0-9_-]{50,%s}" % _CAP)),
    # JWT (RFC 7519): base64url JSON header and payload ('{"' encodes to eyJ), then a signature
    # (empty for alg=none).
    Rule("jwt", ("eyJ",), re.compile(_B + r"eyJ" + _TOK + r"{5,%s}\.eyJ" % _CAP + _TOK + r"{5,%s}\." % _CAP
                                     + _TOK + r"{0,%s}" % _CAP)),
    # scheme://user:password@host (RFC 3986 §3.2.1 userinfo): the password is the secret. It
    # may contain '@' (the last one before the host ends it); a reference ($PGPASSWORD) is not.
    Rule("url-credentials", ("://",), re.compile(
        r"(?<=[A-Za-z0-9])://[^\s:/@'\"`<>\\]*:" + _NOT_PLACEHOLDER
        + r"(?P<value>[^\s/'\"`<>\\]{1,%s})@(?=[^\s/@'\"`<>\\])" % _CAP)),
    # HTTP Authorization (RFC 9110 §11.6.2) with a literal credential: Bearer (RFC 6750) and
    # GitHub's "token" scheme; Basic carries base64(user:password) (RFC 7617).
    Rule("bearer-token", ("uthorization", "UTHORIZATION"), re.compile(
        r"(?i)uthorization" + _ASSIGN + r"\s*(?:bearer|token)\s+" + _NOT_PLACEHOLDER
        + r"(?P<value>[A-Za-z0-9._~+/=-]{8,%s})" % _CAP)),
    Rule("basic-auth", ("uthorization", "UTHORIZATION"), re.compile(
        r"(?i)uthorization" + _ASSIGN + r"\s*basic\s+" + _NOT_PLACEHOLDER + r"(?P<value>[A-Za-z0-9+/=]{8,%s})" % _CAP)),
    # Passwords on a command line, by the program's own syntax: curl/wget/httpie `-u user:password`
    # (curl.se/docs/manpage.html#-u; a uid:gid of digits, as in `docker run -u 1000:1000`, is
    # not one), the MySQL/MariaDB clients' `-pPASSWORD` (glued to -p; a lone -p prompts),
    # `sshpass -p PASSWORD`, and `docker|podman|helm registry|oras login -p|--password PASSWORD`.
    Rule("cli-user-password", ("-u", "--user"), re.compile(
        r"(?:-u|--user)(?:\s+|=)?['\"]?[^\s:'\"@/]{1,64}:" + _NOT_PLACEHOLDER + r"(?P<value>[^\s'\"@]{1,%s})" % _CAP),
        accept=lambda m: not m.group("value").isdigit(), guard=r"(?:\s+|=)?['\"]?[^\s:'\"@/]{1,64}:[^\s'\"]"),
    Rule("mysql-password", ("mysql", "mariadb"), re.compile(
        r"(?:mysql|mariadb)[\w-]*[^\n|;&]{0,200}?\s-p" + _NOT_PLACEHOLDER + r"(?P<value>[^\s'\"]{1,%s})" % _CAP)),
    Rule("sshpass-password", ("sshpass",), re.compile(
        r"sshpass\s+(?:-[a-oq-zA-Z]\S*\s+)*-p\s*['\"]?" + _NOT_PLACEHOLDER + r"(?P<value>[^\s'\"]{1,%s})" % _CAP)),
    Rule("registry-login-password", ("docker login", "podman login", "registry login", "oras login",
                                     "buildah login", "skopeo login"), re.compile(
        r"(?:docker|podman|registry|oras|buildah|skopeo) login\b[^\n|;&]{0,200}?\s(?:-p|--password)(?:\s+|=)['\"]?"
        + _NOT_PLACEHOLDER + r"(?P<value>[^\s'\"]{1,%s})" % _CAP)),
    # password= / secret: / token= / api_key= / --password VALUE … with a literal value, kept
    # only when the value looks random (looks_random): git SHAs, UUIDs, words, paths and code
    # references are not. The match starts at the keyword, which may end a longer name
    # (GITHUB_TOKEN=, client_secret:).
    Rule("secret-assignment", tuple(dict.fromkeys(
        v for words in (("password",), ("passwd",), ("passphrase",), ("pwd",), ("secret",), ("token",),
                        ("credential",), ("api", "key"), ("access", "key"), ("private", "key"),
                        ("account", "key"))
        for v in _variants(*words))), re.compile(
        r"(?i)(?:" + _GENERIC_KEYWORDS + r")" + _GENERIC_TAIL), accept=_assignment_is_secret, exact=False,
        guard=re.sub(r"\(\?P<\w+>", "(?:", _GENERIC_TAIL).replace("{12,%s}" % _CAP, "{12}")),
)

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((r.kind, r.pattern) for r in RULES)


# ── environment ────────────────────────────────────────────────────────────────────────────────

_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PWD|CREDENTIAL|CREDS|APIKEY|API_KEY|PRIVATE|COOKIE|SESSION|SIGNATURE|AUTH"
    r"|(?:^|_)(?:KEY|PASS|SAS|PAT|DSN)(?:_|$)|CONN(?:ECTION)?_?STR")
# A name that says its value is where or what, not the secret itself: SSH_AUTH_SOCK,
# ACTIONS_ID_TOKEN_REQUEST_URL, GOOGLE_APPLICATION_CREDENTIALS (a path), AWS_ACCESS_KEY_ID.
_NOT_SECRET_SUFFIX = re.compile(
    r"_(?:URL|URI|HOST|HOSTNAME|PORT|PATH|DIR|FILE|SOCK|SOCKET|ADDRESS|TYPE|NAME|ID|USER|USERNAME"
    r"|MODE|REGION|VERSION|EXPIRES|EXPIRATION|SCOPE|SCOPES|PROVIDER|METHOD|ENDPOINT|DOMAIN"
    r"|ENABLED|TIMEOUT|LENGTH|MANAGER)$")
_NOT_SECRET_VALUE = re.compile(r"(?i)true|false|yes|no|on|off|null|none|[-+]?\d+(?:\.\d+)?|(?:~|\.{1,2})?/\S*")


def secret_env(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, value) of the variables whose name looks secret and whose value could be one."""
    out = []
    for name, value in sorted(env.items()):
        upper = name.upper()
        if not _SECRET_NAME.search(upper) or _NOT_SECRET_SUFFIX.search(upper):
            continue
        value = value.strip()
        if len(value) < MIN_ENV_VALUE or _NOT_SECRET_VALUE.fullmatch(value):
            continue
        out.append((name, value))
    return out


def base64_forms(value: str) -> list[str]:
    """What `value` looks like base64-encoded anywhere in a longer encoded text (an
    Authorization: Basic header of "user:<value>", a Kubernetes secret, a git extraheader):
    for each of the three alignments, the characters that depend on the value alone, in the
    standard and the URL-safe alphabet."""
    raw = value.encode()
    forms: list[str] = []
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        core = encoded[-(-8 * k // 6):(8 * (k + len(raw))) // 6]
        if len(core) >= MIN_ENV_VALUE:
            forms += [core, core.replace("+", "-").replace("/", "_")]
    return list(dict.fromkeys(forms))


def _literal_forms(value: str) -> list[str]:
    """The value as it appears in text: itself, JSON-escaped (raw JSONL), and each long line of
    a multi-line value (a key printed with `head`)."""
    forms = [value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
    if "\n" in value:
        forms += [line.strip() for line in value.splitlines() if len(line.strip()) >= 16]
    return list(dict.fromkeys(f for f in forms if f))


# ── the anchor scanner ──────────────────────────────────────────────────────────────────────────

# Printable ASCII from the rarest to the most frequent in agent transcripts (measured on
# benchmarks/corpus.py output: JSON envelopes, code, logs, prose). Only speed depends on it:
# each anchor is found through its rarest character. Characters not listed (non-ASCII) count
# as rarest.
_BY_RARITY = ("^|&\\'`~*<$@%?#!KXzY[]+GQH>JZWBOFVDjL;PUMAINCTRq{}SEx796835v42_b)(y0/wk1-g.=,hfpm:d"
              "\t\nulci\"aosntre ")
_RANK = {c: i for i, c in enumerate(_BY_RARITY)}


def _rank(ch: str) -> int:
    return _RANK.get(ch, -1)


def _pivots(anchors: Iterable[str]) -> dict[str, int]:
    """For each anchor, the index of the character the scanner looks for.

    The rarest character of each, then, a few times over, a character some other anchor already
    uses where there is one: the scan stops at fewer positions when the anchors share a few
    rare characters than when each brings its own.
    """
    pivots = {a: min(range(len(a)), key=lambda i: (_rank(a[i]), i)) for a in anchors}
    for _ in range(3):
        used = Counter(a[k] for a, k in pivots.items())
        for a in pivots:
            used[a[pivots[a]]] -= 1
            k = min(range(len(a)), key=lambda i: (used[a[i]] <= 0, _rank(a[i]), i))
            pivots[a] = k
            used[a[k]] += 1
    return pivots


class _Anchors:
    """Every occurrence of any of many strings, in one regex scan plus a dict look-up per hit.

    Each anchor is looked for through one of its characters, its pivot, chosen rare: the regex
    is an alternation of pivot characters, each followed by the alternation of the rest of its
    anchors (`suffix(?<=whole anchor)`), so Python's engine skips in C every position that holds
    no pivot character, and at one that does, tries only the anchors of that character. A
    position can hold several anchors aligned on the same pivot: the one the regex reports and
    every other compatible with it there (agreeing on their overlap) are checked, and the search
    resumes one character later, so overlapping anchors are all found.
    """

    def __init__(self, anchors: Iterable[str], guards: Mapping[str, str] | None = None) -> None:
        guards = guards or {}
        pivots = _pivots(dict.fromkeys(a for a in anchors if a))
        by_char: dict[str, list[tuple[str, int]]] = {}
        for a, k in sorted(pivots.items(), key=lambda ak: -len(ak[0])):
            by_char.setdefault(a[k], []).append((a, k))
        groups = []
        for ch, members in by_char.items():
            alts = [re.escape(a[k + 1:]) + (f"(?<={re.escape(a)})" if k else "")
                    + (f"(?={guards[a]})" if guards.get(a) else "") for a, k in members]
            groups.append(re.escape(ch) + (alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"))
        self._regex = re.compile("|".join(groups)) if groups else None
        # For each reported text (pivot + suffix): the anchors to check at that position.
        self._candidates: dict[str, tuple[tuple[str, int], ...]] = {}
        for a, k in pivots.items():
            suffix = a[k:]
            seen = dict.fromkeys(self._candidates.get(suffix, ()))
            for b, j in by_char[a[k]]:
                if _aligned(a, k, b, j):
                    seen[(b, j)] = None
            self._candidates[suffix] = tuple(seen)

    def find(self, text: str) -> Iterable[tuple[str, int]]:
        """(anchor, start) for every occurrence, overlapping ones included."""
        regex = self._regex
        if regex is None:
            return
        candidates = self._candidates
        search = regex.search
        startswith = text.startswith
        m = search(text)
        while m is not None:
            p = m.start()
            for anchor, k in candidates[m.group()]:
                if p >= k and startswith(anchor, p - k):
                    yield anchor, p - k
            m = search(text, p + 1)


def _aligned(a: str, k: int, b: str, j: int) -> bool:
    """Whether a (pivot k) and b (pivot j) can both occur with their pivots at one position."""
    sa, sb, pa, pb = a[k:], b[j:], a[:k], b[:j]
    return (sa.startswith(sb) or sb.startswith(sa)) and (pa.endswith(pb) or pb.endswith(pa))


# ── the redactor ───────────────────────────────────────────────────────────────────────────────

# What one anchor occurrence means: (priority, kind, rule or None for a literal).
_Handler = tuple[int, str, "Rule | None"]


@dataclass(frozen=True)
class Redactor:
    """The table, config patterns and literals, compiled into one scanner: build once (with
    from_config), then redact any number of texts. ``Redactor()`` is the built-in table alone."""
    rules: tuple[Rule, ...] = RULES
    patterns: tuple[re.Pattern[str], ...] = ()
    literals: tuple[tuple[str, str], ...] = ()  # (kind, value), in priority order
    _anchors: _Anchors = field(init=False, repr=False, compare=False)
    _handlers: dict[str, tuple[_Handler, ...]] = field(init=False, repr=False, compare=False)
    _inexact: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        handlers: dict[str, list[_Handler]] = {}
        for priority, rule in enumerate(self.rules):
            for anchor in rule.anchors:
                handlers.setdefault(anchor, []).append((priority, rule.kind, rule))
        base = len(self.rules) + 1  # config patterns rank between the table and the literals
        for i, (kind, value) in enumerate(self.literals):
            for form in _literal_forms(value):
                handlers.setdefault(form, []).append((base + i, kind, None))
        object.__setattr__(self, "_handlers", {a: tuple(h) for a, h in handlers.items()})
        object.__setattr__(self, "_inexact", frozenset(i for i, r in enumerate(self.rules) if not r.exact))
        # An anchor's guard holds only if every owner of the anchor has one.
        guards = {a: "|".join(dict.fromkeys(r.guard for _, _, r in hs if r is not None))
                  for a, hs in handlers.items() if all(r is not None and r.guard for _, _, r in hs)}
        object.__setattr__(self, "_anchors", _Anchors(handlers, guards))

    @classmethod
    def from_config(cls, patterns: Sequence[str] = (), literals: Sequence[str] = (),
                    env: Mapping[str, str] | None = None) -> Redactor:
        """The built-in table plus the config file's patterns and literals and, with `env`, the
        values of its secret-looking variables. ValueError for a pattern that does not compile or
        matches the empty string, and for a literal shorter than MIN_LITERAL."""
        compiled = []
        for p in patterns:
            try:
                rx = re.compile(p)
            except re.error as exc:
                raise ValueError(f"redaction pattern {p!r} is not a valid regular expression: {exc}") from None
            if rx.fullmatch(""):
                raise ValueError(f"redaction pattern {p!r} matches the empty string")
            compiled.append(rx)
        lits: list[tuple[str, str]] = []
        for value in literals:
            if len(value) < MIN_LITERAL:
                raise ValueError(f"redaction literal {value[:1]!r}… is shorter than {MIN_LITERAL} characters")
            lits.append(("literal", value))
        if env is not None:
            for name, value in secret_env(env):
                lits += [(f"env:{name}", form) for form in (value, *base64_forms(value))]
        # Longest first: where one literal contains another, the longer names the span.
        lits.sort(key=lambda kv: -len(kv[1]))
        return cls(patterns=tuple(compiled), literals=tuple(lits))

    def scan(self, text: str) -> list[Redaction]:
        """The spans to redact, in text order, non-overlapping."""
        found: list[tuple[int, int, int, str]] = []  # (priority, start, end, kind)
        handlers = self._handlers
        tried: set[tuple[int, int]] = set()
        for anchor, start in self._anchors.find(text):
            for priority, kind, rule in handlers[anchor]:
                if rule is None:
                    found.append((priority, start, start + len(anchor), kind))
                    continue
                at = start - rule.back
                if at < 0 or (priority, at) in tried:
                    continue
                tried.add((priority, at))
                m = rule.pattern.match(text, at)
                if m is None or (rule.accept is not None and not rule.accept(m)):
                    continue
                group = "value" if "value" in rule.pattern.groupindex and m.start("value") >= 0 else 0
                found.append((priority, m.start(group), m.end(group), kind))
        for rx in self.patterns:
            group_of = "value" if "value" in rx.groupindex else 0
            for m in rx.finditer(text):
                s, e = m.span(group_of)
                if e > s:
                    found.append((len(self.rules), s, e, "custom"))
        if not found:
            return []
        return _merge(found, _markers(text), self._inexact)

    def redact(self, text: str, counts: Counter[str] | None = None) -> str:
        """`text` with each secret replaced by `[REDACTED:<kind>]`."""
        # Again until nothing changes (at most a few rounds, and a second scan only for text
        # that had a secret): a guess that lost to an exact match may stand on its own once the
        # exact one is replaced, and redact(redact(x)) must equal redact(x).
        for _ in range(_MAX_ROUNDS):
            spans = self.scan(text)
            if not spans:
                break
            text = _replace(text, spans, counts)
        return text


_MAX_ROUNDS = 8


def _replace(text: str, spans: list[Redaction], counts: Counter[str] | None) -> str:
    out: list[str] = []
    last = 0
    for kind, start, end in spans:
        start, end = _outside_escapes(text, max(start, last), end)
        if start < last:
            start = last
        out += [text[last:start], f"{MARKER_PREFIX}{kind}]"]
        last = end
        if counts is not None:
            counts[kind] += 1
    out.append(text[last:])
    return "".join(out)


def _markers(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _MARKER.finditer(text)] if MARKER_PREFIX in text else []


def _merge(found: list[tuple[int, int, int, str]], markers: list[tuple[int, int]],
           inexact: frozenset[int]) -> list[Redaction]:
    """Overlapping spans become one, named by the highest-priority (lowest) among them, so no
    part of any detected secret survives. Spans overlapping an existing marker are dropped (so
    redacting twice changes nothing), and inexact spans overlapping an exact one."""
    if markers:
        found = [f for f in found if not _overlaps(markers, f[1], f[2])]
    exact = _union([f for f in found if f[0] not in inexact])
    if not any(f[0] in inexact for f in found):
        return [Redaction(kind, start, end) for _, start, end, kind in exact]
    taken = [(f[1], f[2]) for f in exact]
    guesses = [f for f in found if f[0] in inexact and not _overlaps(taken, f[1], f[2])]
    return [Redaction(kind, start, end) for _, start, end, kind in _union(exact + guesses)]


def _union(found: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
    found = sorted(found, key=lambda f: (f[1], f[2]))
    out: list[tuple[int, int, int, str]] = []
    for priority, start, end, kind in found:
        if out and start < out[-1][2]:  # overlaps the current cluster
            best, s0, e0, k0 = out[-1]
            out[-1] = (priority, s0, max(e0, end), kind) if priority < best else (best, s0, max(e0, end), k0)
        else:
            out.append((priority, start, end, kind))
    return out


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `spans` (sorted, disjoint)."""
    i = bisect.bisect_right(spans, (start, 1 << 62))
    return (i > 0 and spans[i - 1][1] > start) or (i < len(spans) and spans[i][0] < end)


def _outside_escapes(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span so it neither starts after nor ends on the backslash of an escape: in a raw
    JSON line, `\\` + `[REDACTED…` or a dangling `\\` before `"` would break the JSON."""
    run = 0
    while start - run > 0 and text[start - run - 1] == "\\":
        run += 1
    if run % 2:
        start -= 1
    run = 0
    while end - run > start and text[end - run - 1] == "\\":
        run += 1
    if run % 2 and end < len(text):
        end += 1
    return start, end


DEFAULT = Redactor()


def scan(text: str) -> list[Redaction]:
    """What the built-in table finds in `text`."""
    return DEFAULT.scan(text)


def redact(text: str) -> str:
    """Each secret-looking value replaced by `[REDACTED:<kind>]`, the text around it kept."""
    return DEFAULT.redact(text)
