"""Untrusted text made inert where people and runners read it (pure).

Text from a transcript or a model is shown in AGENTS.md, the PR description and comments, the
job summary and the job log. There it must stay text: no code span it can close, no HTML, no
@mention that notifies someone, no #123 or link that points elsewhere, no workflow command.
"""
from __future__ import annotations

import re

MAX_CODE = 100

_LONGEST_TICKS = re.compile(r"`+")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_REFERENCE = re.compile(r"(?<![\w&])#(?=\d)")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\bwww\.")
_LOG_COMMAND = re.compile(r"##\[")


def code_span(text: str, *, limit: int = MAX_CODE) -> str:
    """An inline code span that no backtick inside can close: the fence is one backtick longer
    than the longest run inside, padded when the text starts or ends with one (CommonMark)."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    longest = max((len(m.group(0)) for m in _LONGEST_TICKS.finditer(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    if not text:
        return f"{fence} {fence}"
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str, info: str = "") -> str:
    """A fenced code block no line inside can close: the fence is longer than any run of
    backticks the text holds."""
    longest = max((len(m.group(0)) for m in _LONGEST_TICKS.finditer(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}"


def pre(text: str) -> str:
    """Text for an HTML <pre> block: escaped, and no @mention or #123 that GitHub would link."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _REFERENCE.sub("&#35;", _MENTION.sub("&#64;", text))


def markdown(text: str) -> str:
    """Untrusted text for markdown outside code: one line, HTML escaped, and nothing GitHub would
    turn into a mention, a reference, a link, an image, emphasis or a table cell break. Redact
    first: escaping changes what a secret looks like."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`*_\[\]|!~])", r"\\\1", text)
    text = _MENTION.sub("&#64;", text)
    text = _REFERENCE.sub("&#35;", text)
    text = _SCHEME.sub(r"\1&#58;", text)
    return _WWW.sub("www&#46;", text)


def log(text: str) -> str:
    """Text for the job log, besides the stop-commands fence the Actions module puts around it:
    the runner also acts on `##[command]` lines."""
    return _LOG_COMMAND.sub("#\u200b#[", text)
