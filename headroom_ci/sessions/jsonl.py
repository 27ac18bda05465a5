"""Bounded line reading and tolerant JSON decoding for every line-based format."""
from __future__ import annotations

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
            skip(lineno, "expected a JSON object" if _not_an_object(exc) else f"invalid JSON: {short_error(exc)}")
            continue
        if not isinstance(obj, (dict, msgspec.Struct)):
            skip(lineno, "expected a JSON object")
            continue
        yield lineno, obj


def _not_an_object(exc: BaseException) -> bool:
    # A typed decoder meeting a top-level array, string or number. Other validation
    # errors (an out-of-range number such as 1e400, in any decoder) are invalid JSON.
    return isinstance(exc, msgspec.ValidationError) and str(exc).startswith("Expected `object`, got `") \
        and " - at `" not in str(exc)


def short_error(exc: BaseException) -> str:
    """One short line saying why JSON could not be decoded."""
    if isinstance(exc, UnicodeDecodeError):
        return "invalid UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
