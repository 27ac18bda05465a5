"""Bounded line reading and tolerant JSON decoding for every line-based format."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from typing import BinaryIO

import msgspec

from headroom_ci.sessions.types import Decode
from headroom_ci.sessions.types import SkipFn

# A transcript line larger than this is skipped without being held in memory.
# Claude and Codex lines carry whole tool outputs; 16 MiB is far above any seen.
MAX_LINE_BYTES = 16 * 1024 * 1024
_DRAIN = 1 << 20
BOM = b"\xef\xbb\xbf"

DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError)

decode_json: Decode = msgspec.json.Decoder().decode


def iter_lines(fh: BinaryIO, *, max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; None for a line over `max_line`, which is drained."""
    readline = fh.readline
    limit = max_line + 1
    lineno = 0
    while True:
        line = readline(limit)
        if not line:
            return
        lineno += 1
        if lineno == 1:
            line = line.removeprefix(BOM)
        if len(line) == limit and not line.endswith(b"\n"):
            while True:
                rest = readline(_DRAIN)
                if not rest or rest.endswith(b"\n"):
                    break
            yield lineno, None
            continue
        yield lineno, line


def decode_lines(lines: Iterator[tuple[int, bytes | None]], *, skip: SkipFn,
                 decode: Decode = decode_json, max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, Any]]:
    """Decoded JSON objects (dicts, or Structs of a typed decoder); blank lines pass
    silently, bad ones are skipped and reported. Readers get objects only."""
    for lineno, raw in lines:
        if raw is None:
            skip(lineno, f"line longer than {max_line} bytes")
            continue
        if raw.isspace():
            continue
        try:
            obj = decode(raw)
        except DECODE_ERRORS as exc:
            skip(lineno, why_undecodable(raw, exc))
            continue
        if not isinstance(obj, (dict, msgspec.Struct)):
            skip(lineno, "expected a JSON object")
            continue
        yield lineno, obj


def why_undecodable(data: bytes, exc: BaseException, *, line: bool = True) -> str:
    """Why `data` could not be decoded, in our own words: never a library's message, which
    changes between releases. Runs only on the error path, so it may decode twice."""
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid JSON: invalid UTF-8"
    try:
        value = json.loads(text)
    except RecursionError:
        return "invalid JSON: nested too deeply"
    except json.JSONDecodeError as err:
        if line and not text.endswith("\n"):
            # Only a file's last line lacks one: the writer stopped mid-line.
            return "invalid JSON: cut off (no end of line)"
        where = f"column {err.colno}" if line else f"line {err.lineno} column {err.colno}"
        return f"invalid JSON: malformed at {where}"
    if not isinstance(value, dict):
        return "expected a JSON object"
    # Valid JSON the strict decoder refused: a number out of range or a field of the wrong type.
    return "invalid JSON: a value out of range or of the wrong type"
