"""Helpers the readers share: tolerant field access, a tool-call accumulator, times."""
from __future__ import annotations

from collections.abc import Hashable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from headroom_ci.sessions.kinds import error_category
from headroom_ci.sessions.kinds import tool_kind
from headroom_ci.sessions.model import cap_input
from headroom_ci.sessions.model import cap_output
from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import ToolCall
from headroom_ci.sessions.model import ToolKind
from headroom_ci.sessions.model import Usage


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def as_int(value: object) -> int:
    # bool is an int subclass; a transcript saying `true` for a count is noise.
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    if isinstance(value, float) and value == value and value >= 0:
        return int(value)
    return 0


def as_exit(value: object) -> int | None:
    """An exit code: any int, negative ones included (-1: killed), but not a bool."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text_of(content: object) -> str:
    """Tool output as text: a string, or the text of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "\n".join(parts)
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return text
    return ""


def iso_ms(ts: str | None) -> float | None:
    """Epoch milliseconds of an ISO-8601 timestamp; one without a zone is taken as UTC."""
    if not ts:
        return None
    try:
        # Python 3.10's fromisoformat rejects the "Z" suffix every agent writes.
        dt = datetime.fromisoformat(ts[:-1] + "+00:00" if ts.endswith("Z") else ts)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp() * 1000
    except (ValueError, OverflowError, OSError):
        return None


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_MS = 253402300800000  # year 10000


def epoch_ms(value: object) -> int | None:
    """A plausible epoch-milliseconds number (OpenCode's times), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(value) if 0 < value < _MAX_MS else None


def ms_to_iso(value: object) -> str | None:
    """Epoch milliseconds as "2026-01-16T11:01:02.345Z"."""
    ms = epoch_ms(value)
    if ms is None:
        return None
    dt = _EPOCH + timedelta(milliseconds=ms)
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def duration_ms(start: str | None, end: str | None) -> int | None:
    a, b = iso_ms(start), iso_ms(end)
    if a is None or b is None or b < a:
        return None
    return int(b - a)


class TimeSpan:
    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first: str | None = None
        self.last: str | None = None

    def see(self, ts: object) -> None:
        if not isinstance(ts, str) or not ts:
            return
        # ISO-8601 UTC strings of one writer order correctly as text.
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts


class _Pending:
    __slots__ = (
        "call_id", "name", "kind", "input", "output", "output_size", "is_error", "exit_code",
        "timestamp", "duration_ms", "category",
    )

    def __init__(self, call_id: str | None, name: str, kind: ToolKind,
                 input: Mapping[str, Any], timestamp: str | None) -> None:
        self.call_id = call_id
        self.name = name
        self.kind: ToolKind = kind
        self.input = input
        self.output = ""  # already capped
        self.output_size = 0
        self.is_error = False
        self.exit_code: int | None = None
        self.timestamp = timestamp
        self.duration_ms: int | None = None
        self.category: str | None = None


class Calls:
    """Tool calls in the order the agent issued them, results linked by a key:
    the call id, or a key of the reader's own for calls without a usable id."""

    def __init__(self) -> None:
        self._calls: list[_Pending] = []
        self._by_key: dict[Hashable, _Pending] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, Hashable) and key in self._by_key

    def kind(self, key: Hashable) -> ToolKind | None:
        pending = self._by_key.get(key)
        return pending.kind if pending is not None else None

    def start(self, *, call_id: str | None, name: str, input: Mapping[str, Any],
              timestamp: str | None = None, kind: ToolKind | None = None,
              key: Hashable | None = None) -> None:
        """`key` links the result when the reported `call_id` cannot (absent or reused)."""
        key = call_id if key is None else key
        if key is not None and key in self._by_key:
            return  # a replayed or re-appended record: the call was already counted
        pending = _Pending(call_id, name, kind or tool_kind(name), cap_input(input), timestamp)
        self._calls.append(pending)
        if key is not None:
            self._by_key[key] = pending

    def finish(self, key: Hashable | None, *, output: str | Clip | None = None,
               is_error: bool | None = None, exit_code: int | None = None,
               timestamp: str | None = None, category: str | None = None) -> bool:
        pending = self._by_key.get(key) if key is not None else None
        if pending is None:
            return False
        if output is not None:
            # Capped now: a long session holds a head and a tail per call, not every output.
            if isinstance(output, Clip):
                pending.output, pending.output_size = output.render()
            else:
                pending.output, pending.output_size = cap_output(output), len(output)
        if exit_code is not None:
            pending.exit_code = exit_code
        if is_error is not None:
            pending.is_error = is_error
        if category is not None:
            pending.category = category
        if timestamp is not None and pending.duration_ms is None:
            pending.duration_ms = duration_ms(pending.timestamp, timestamp)
        return True

    def build(self) -> tuple[ToolCall, ...]:
        out = []
        for index, p in enumerate(self._calls):
            category = None
            if p.is_error:
                category = p.category or error_category(
                    kind=p.kind, text=p.output, exit_code=p.exit_code)
            out.append(ToolCall(
                index=index, name=p.name, kind=p.kind, input=p.input,
                output=p.output, output_size=p.output_size,
                is_error=p.is_error, exit_code=p.exit_code, error_category=category,
                timestamp=p.timestamp, duration_ms=p.duration_ms, call_id=p.call_id,
            ))
        return tuple(out)


def usage_of(*, input: object = 0, output: object = 0, cache_read: object = 0,
             cache_creation: object = 0) -> Usage:
    return Usage(as_int(input), as_int(output), as_int(cache_read), as_int(cache_creation))


def usage_cached_inside(*, input: int, cached: int, output: int) -> Usage:
    """Usage from counters whose input includes the cached tokens (Codex, Gemini):
    the model's `input` is the uncached part."""
    return Usage(input=max(input - cached, 0), output=output, cache_read=cached)
