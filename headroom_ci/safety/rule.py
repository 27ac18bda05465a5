"""The one safety screen every rule passes before it reaches a block, a plan, a PR or a summary
(pure): the deterministic learner's, the model's and the lines people edit (`check`).

A rule must be plain text in a small alphabet (what is not ASCII is refused: confusable
letters, invisible and blank-looking characters, other scripts), carry no markup, secret or
machine path, tell the agent nothing dangerous, and quote commands only as the allowlist in
headroom_ci.safety.commands admits them. Screening reads the text after NFKC and confusable
folding, so a fullwidth or Cyrillic spelling is refused for what it spells too.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from headroom_ci.safety import commands
from headroom_ci.safety.commands import Facts
from headroom_ci.safety.text import hidden_unicode
from headroom_ci.safety.text import machine_paths
from headroom_ci.safety.text import secrets

# Checked before any regular expression runs: a rule is one line of a context file.
MAX_RULE_CHARS = 1000
# Typography a rule may use besides printable ASCII.
_TYPOGRAPHY = frozenset("—–…×→←’‘“”")
# Letters of other scripts that render as Latin ones (Unicode confusables, the common ones):
# folded before the danger patterns run, so "Ѕkip the tests" reads as what it looks like.
_CONFUSABLES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјорсуххѕԁԛԝɡΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοντρυ",
    "ABESIJKMHOPCTXYaeijopcyxxsdqwgABEZHIKMNOPTYXaovtpu",
)

CODE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_AI = r"(?:ai|a\.i\.|llm|assistant|language model|model|agent|bot|claude|codex|gemini|copilot|cursor)s?"
_INJECTION = (
    _rx(r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,30}\b(?:previous|prior|above|earlier|preceding|all|"
        r"any|your|other|the)\b[^.\n]{0,20}\b(?:instructions?|rules|prompts?|messages|guidelines|directions)\b"),
    _rx(r"\bsystem\s+prompt\b"),
    _rx(r"\b(?:new|updated|additional|hidden|secret|special)\s+instructions?\b"),
    _rx(r"\bnote\s+(?:to|for)\s+(?:the\s+|any\s+)?" + _AI + r"\b"),
    _rx(r"\b" + _AI + r"\b[^.\n]{0,30}\b(?:must|should|shall|needs? to|are required to|are instructed to|have to)\b"
        r"[^.\n]{0,30}\b(?:add|write|insert|append|include|put|record)\b"),
    _rx(r"\b(?:add|write|insert|append|put|include|record)\b[^.\n]{0,40}\b(?:agents|claude|gemini|memory|"
        r"copilot-instructions)\.md\b"),
    _rx(r"\b(?:add|write|insert|append)\s+(?:this|the\s+following|these)\s+(?:rules?|lines?|instructions?|notes?)\b"),
    _rx(r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?INST\]|</?(?:system|instructions?)>"),
)


def looks_like_injection(text: str) -> bool:
    """Whether text addresses an AI with instructions, as prompt injection does."""
    return any(p.search(text[:MAX_RULE_CHARS * 4]) for p in _INJECTION)


_NEGATED = re.compile(r"(?:\bnever|\bnot|n't|\bno)\s+(?:ever\s+)?$", re.IGNORECASE)
_CHECKS = (r"(?:tests?|test\s+suites?|checks?|ci|hooks?|pre-commit|lint(?:ing|ers?|s)?|type[- ]?check(?:s|ing|ers?)?|"
           r"mypy|eslint|ruff|flake8|pylint|security|verification|validation|sandbox(?:ing)?|safety|guardrails?|"
           r"code\s+review|reviews?|signing|assertions?|warnings?|errors?|failures?)")
_SKIP = _rx(r"\b(?:skip(?:ping)?|bypass(?:ing)?|disabl(?:e|ing)|turn(?:ing)?\s+off|deactivat(?:e|ing)|"
            r"suppress(?:ing)?|silenc(?:e|ing)|comment(?:ing)?\s+out|ignor(?:e|ing)|mut(?:e|ing)|delet(?:e|ing)|"
            r"remov(?:e|ing)|drop(?:ping)?|weaken(?:ing)?|loosen(?:ing)?|relax(?:ing)?|omit(?:ting)?|xfail)\b"
            r"[^.;:\n]{0,30}?\b(?:" + _CHECKS + r"|jobs?|workflows?|files?|runs?|pytest|jest|vitest|rspec|mocha|"
            r"go\s+test|cargo\s+test)\b|\bcomment\w*\b[^.;:\n]{0,30}\bout\b")
# "Don't run the tests", "no need to wait for review".
_NOT_CHECKING = _rx(r"\b(?:do\s+not|don't|never|no\s+need\s+to|without)\s+(?:run(?:ning)?|execut(?:e|ing)|wait(?:ing)?"
                    r"\s+for|check(?:ing)?|open(?:ing)?)\b[^.;\n]{0,20}\b(?:tests?|checks?|ci|linters?|hooks?|reviews?|"
                    r"pull\s+requests?|prs?)\b")
_MASKING = _rx(r"--no-verify\b|\|\|\s*(?:true|:|exit\s+0)(?![\w-])|\bcontinue-on-error\b|\ballow[_-]failures?\b|"
               r"--dangerously-skip-permissions|--yolo\b|pytest\.mark\.(?:skip|xfail)|@(?:unittest\.)?skip\b|"
               r"\b(?:it|describe|test)\.skip\(|\bxit\(|type:\s*ignore|\bnoqa\b|eslint-disable|@ts-(?:ignore|nocheck)|"
               r"\bnosec\b|\bSKIP=\w")
_SECRET_NOUN = (r"(?:\b(?:secrets?|credentials?|passwords?|api[ _-]?keys?|private\s+keys?|ssh\s+keys?|"
                r"(?:access|auth|api|bearer|github|gh|npm|pypi|secret|session|personal\s+access)[ _-]?tokens?|"
                r"env(?:ironment)?\s+(?:variables|vars)|cookies?)\b|\.env\b)")
_EXFILTRATION = (
    _rx(r"\b(?:send|post|upload|exfiltrat\w*|leak|forward|share|e-?mail|transmit|expose|publish|show|print|paste|"
        r"log|echo|display|reveal|output|dump|include|commit|add|attach|copy)\b[^;\n]{0,40}?" + _SECRET_NOUN),
    _rx(r"\b(?:value|contents?)\s+of\s+(?:the\s+)?\$?[A-Z][A-Z0-9_]*(?:TOKEN|SECRET|KEY|PASSWORD)\b"),
    _rx(r"\bprintenv\b|\benv\s*\||\bset\s*\||\becho\s+[\"']?\$\{?\w*(?:TOKEN|SECRET|PASSW(?:OR)?D|KEY)\b"),
    _rx(r"(?:~|\$HOME|\$\{HOME\})/\.(?:ssh|aws|gnupg|netrc|npmrc|pypirc|docker/config)|\bid_(?:rsa|ed25519|ecdsa)\b|"
        r"\bcat\s+\S*\.env\b"),
    re.compile(r"\$\{\{\s*secrets\.|\$\{?[A-Z][A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|ACCESS_KEY)\b"),
)
_CREDENTIALS = (
    _rx(r"\b(?:change|rotate|reset|replace|regenerate|revoke|overwrite|modify|set|export|update|edit|remove|"
        r"delete)\b[^.;\n]{0,30}\b(?:credentials?|passwords?|api[ _-]?keys?|(?:access|auth|api|bearer|github|gh|"
        r"npm|pypi|deploy|personal\s+access)[ _-]?tokens?|ssh\s+keys?|deploy\s+keys?|secrets?|authorized_keys|"
        r"known_hosts)\b"),
)
_PERMISSIONS = _rx(r"\b(?:answer|say|reply)\s+yes\b|\ballowedTools\b|\bBash\(\*\)|\bauto-?approv\w*|"
                  r"\bsandbox\w*\b[^.;\n]{0,20}\b(?:off|disabled?|false|none)\b|\.(?:claude|codex|gemini)/|"
                  r"\bsettings\.json\b|\bpermission\s+(?:mode|prompts?)\b")
_BRANCH_POLICY = (
    _rx(r"\b(?:push|commit|merge)\w*\b[^.;\n]{0,30}\b(?:directly|straight)\b[^.;\n]{0,20}\b(?:to|into|on)\b"
        r"[^.;\n]{0,12}\b(?:main|master|trunk|default\s+branch|production|release)\b"),
    _rx(r"\bforce[- ]?push\w*\b|\bpush\b[^.;\n]{0,20}--force\b"),
    _rx(r"\bcommit\w*\s+(?:directly\s+)?(?:to|on|into)\s+(?:the\s+)?(?:main|master|trunk|default\s+branch)\b"),
    _rx(r"\b(?:merge|approve)\w*\s+(?:your|its|their|the\s+agent's)\s+own\b|\bwithout\s+(?:a\s+|any\s+)?"
        r"(?:waiting\s+for\s+)?(?:reviews?|approvals?|pull\s+requests?)\b"),
)
_FETCH = r"(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)"
_RUNNER = (r"(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?(?:(?:ba|z|k|c|tc|da|fi|a)?sh|python[\d.]*|perl|"
           r"ruby|node|php|pwsh|powershell|iex|invoke-expression|source)\b")
_PIPE_TO_SHELL = (
    _rx(r"\b" + _FETCH + r"\b[^\n]*?\|\s*" + _RUNNER),
    _rx(r"\b(?:(?:ba|z|k)?sh|source)\s+<\(\s*" + _FETCH + r"\b"),
    _rx(r"\$\(\s*" + _FETCH + r"\b"),
    _rx(r"\biex\s*\(|\binvoke-expression\b"),
)
_MARKUP = (
    (re.compile(r"<!--|-->"), "an HTML comment"),
    (_rx(r"headroom:learn"), "marker text"),
    (re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)"), "a markdown link"),
    (re.compile(r"<\s*/?\s*[A-Za-z][\w:-]*(?:\s[^<>]*)?/?\s*>"), "HTML"),
    (re.compile(r"(?<![\w.`/-])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\b"), "an @mention"),
    (re.compile(r"^\s*(?:::|##\[)|\n\s*(?:::|##\[)"), "a workflow command"),
    (re.compile(r"&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{1,31});"), "an HTML entity"),
    (re.compile(r"\\[!-/:-@\[-`{-~]"), "a markdown escape"),
    (re.compile(r"[\[\]]"), "brackets (a markdown link)"),
    (re.compile(r"(?<![\w.-])[\w.-]+/[\w.-]+#\d|(?<![\w&])#\d|\bGH-\d|\b[\w.+-]+@[\w-]+\.[\w.-]+"),
     "a reference or an address GitHub links"),
)
_URL = _rx(r"\b[a-z][a-z0-9+.-]*://[^\s`<>\"')\]]+|\bwww\.[^\s`<>\"')\]]+|\b(?:javascript|data|vbscript):(?!\s)|"
          r"(?<![\w:/])//[\w-]+\.[\w.-]+[^\s`<>\"')\]]*")
_INSTALL_WORDS = _rx(r"\b(?:install|installing|add|adding)\b")


def fold(text: str) -> str:
    """The text as it reads: NFKC, then common confusable letters as the Latin ones they mimic."""
    return unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)


def code_spans(text: str) -> list[str]:
    return [m.group(2).strip() for m in CODE.finditer(text)]


def _first(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    return next((m for p in patterns for m in [p.search(text)] if m), None)


def _skip_instruction(text: str) -> re.Match[str] | None:
    # "Do not skip tests" is a fine rule; "skip the tests" is not.
    for m in _SKIP.finditer(text):
        if not _NEGATED.search(text[max(0, m.start() - 12): m.start()]):
            return m
    return None


def danger(text: str) -> list[str]:
    """What in `text` tells an agent to do something harmful (the prose half of the screen)."""
    out = []
    if (m := _skip_instruction(text)) or (m := _MASKING.search(text)):
        out.append(f"tells the agent to disable a check or skip tests ({m.group(0).strip()!r})")
    if m := _first(_EXFILTRATION, text):
        out.append(f"could send out or expose secrets ({m.group(0).strip()!r})")
    if m := _first(_CREDENTIALS, text):
        out.append(f"touches credentials ({m.group(0).strip()!r})")
    if m := _NOT_CHECKING.search(text):
        out.append(f"tells the agent to skip a check or a review ({m.group(0).strip()!r})")
    if m := _PERMISSIONS.search(text):
        out.append(f"changes what the agent is allowed to do ({m.group(0).strip()!r})")
    if m := _first(_PIPE_TO_SHELL, text):
        out.append(f"pipes a download into a shell ({m.group(0).strip()!r})")
    if m := _first(_BRANCH_POLICY, text):
        out.append(f"changes how code reaches a branch ({m.group(0).strip()!r})")
    if looks_like_injection(text):
        out.append("reads like an instruction to an AI (prompt injection)")
    return out


def _alphabet(text: str) -> list[str]:
    # Invisible and control characters are the hidden-unicode check's to report.
    odd = dict.fromkeys(ch for ch in text if not (" " <= ch <= "~") and ch not in _TYPOGRAPHY
                        and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    if not odd:
        return []
    names = [f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip() for ch in list(odd)[:3]]
    return ["characters outside the rule alphabet: " + ", ".join(names) + (" …" if len(odd) > 3 else "")]


def problems(content: str, facts: Facts = Facts()) -> list[str]:
    """Every reason `content` (one bullet line) may not be a rule; empty when it may."""
    if len(content) > MAX_RULE_CHARS:
        return [f"longer than {MAX_RULE_CHARS} characters"]
    out = _alphabet(content)
    if any(ch in content for ch in "\r\n"):
        out.append("more than one line")
    if hidden := hidden_unicode(content):
        out.append("hidden unicode: " + ", ".join(p.text for p in hidden))
    text = fold(content)
    if machine_paths(text):
        out.append("an absolute machine path")
    if found := secrets(text):
        out.append("a secret-looking string (" + ", ".join(sorted({p.kind for p in found})) + ")")
    if "[REDACTED:" in text:
        out.append("names a redacted value")
    if "`" in CODE.sub(" ", text):
        out.append("an unclosed code span")
    prose = CODE.sub(" ", text)
    out += [f"contains {what}" for pattern, what in _MARKUP if pattern.search(prose)]
    out += [f"a URL the repository does not name ({u})" for m in _URL.finditer(prose)
            for u in [m.group(0).rstrip(".,;:")] if u not in facts.names][:3]
    out += danger(text)
    spans = code_spans(text)
    for span in spans:
        out += [f"{why}: `{span[:60]}`" for why in commands.problems(span, facts)]
    if _INSTALL_WORDS.search(prose):
        out += [f"installs a package the repository does not name ({s})" for s in spans
                if " " not in s and "/" not in s and not s.startswith("-") and s not in facts.names
                and re.fullmatch(r"[A-Za-z0-9@][\w.@-]*", s)][:3]
    return list(dict.fromkeys(out))
