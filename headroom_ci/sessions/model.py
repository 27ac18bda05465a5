from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

Agent = Literal["claude", "codex", "gemini", "opencode"]
ToolKind = Literal[
    "shell", "read", "write", "edit", "search", "glob", "web", "agent", "mcp", "other",
]

# Outputs are kept for mining and evidence, not for replay: a head and a tail
# hold the error line and the summary of nearly every tool output.
OUTPUT_HEAD = 3072
OUTPUT_TAIL = 1024
# Long input strings (a Write's content, an Edit's old text, a patch) are cut:
# commands and paths, what mining needs, are short.
INPUT_CAP = 4096


@dataclass(frozen=True, slots=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_creation + other.cache_creation,
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    index: int
    name: str
    kind: ToolKind
    input: Mapping[str, Any]
    output: str
    output_size: int
    is_error: bool
    exit_code: int | None = None
    error_category: str | None = None
    timestamp: str | None = None
    duration_ms: int | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """The CI run a session came from, when it was read from a collected bundle."""

    id: str
    attempt: int | None = None
    url: str | None = None
    workflow: str | None = None
    branch: str | None = None
    sha: str | None = None
    created_at: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    path: str
    agent: Agent
    format: str
    session_id: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    cwd: str | None = None
    git_branch: str | None = None
    git_commit: str | None = None
    model: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    subagent: bool = False
    parent_id: str | None = None
    run: Run | None = None

    @property
    def errors(self) -> int:
        return sum(1 for c in self.tool_calls if c.is_error)


@dataclass(frozen=True, slots=True)
class Skip:
    """A file or line that was not read, and why."""

    path: str
    line: int | None
    reason: str


def cap_output(text: str) -> str:
    if len(text) <= OUTPUT_HEAD + OUTPUT_TAIL:
        return text
    return _omitted(text[:OUTPUT_HEAD], text[-OUTPUT_TAIL:], len(text))


def _omitted(head: str, tail: str, size: int) -> str:
    return f"{head}\n[… {size - len(head) - len(tail)} characters omitted …]\n{tail}"


_KEEP = OUTPUT_HEAD + OUTPUT_TAIL


class Clip:
    """Text built piece by piece, holding only what cap_output keeps: a head, a
    tail and the full length. Appending is linear in the appended text."""

    __slots__ = ("head", "tail", "size")

    def __init__(self, text: str = "") -> None:
        self.head = text[:_KEEP]  # the first _KEEP characters
        self.tail = text[-_KEEP:]  # the last _KEEP characters
        self.size = len(text)

    @classmethod
    def of_parts(cls, head: str, tail: str, size: int) -> Clip:
        """A text known only by its ends and length (a saved file read at both ends)."""
        clip = cls()
        clip.head, clip.tail, clip.size = head[:_KEEP], tail[-_KEEP:], size
        return clip

    def add(self, more: str | Clip) -> None:
        piece = more if isinstance(more, Clip) else Clip(more)
        if self.size < _KEEP:
            self.head = (self.head + piece.head)[:_KEEP]
        self.tail = piece.tail if piece.size >= _KEEP else (self.tail + piece.tail)[-_KEEP:]
        self.size += piece.size

    def render(self) -> tuple[str, int]:
        """(the text as cap_output would cut it, the full length)."""
        if self.size <= _KEEP:
            return self.head, self.size
        return _omitted(self.head[:OUTPUT_HEAD], self.tail[-OUTPUT_TAIL:], self.size), self.size


def cap_input(input: Mapping[str, Any]) -> Mapping[str, Any]:
    if all(not isinstance(v, str) or len(v) <= INPUT_CAP for v in input.values()):
        return input
    return {k: f"{v[:INPUT_CAP]}[… {len(v) - INPUT_CAP} characters omitted]"
            if isinstance(v, str) and len(v) > INPUT_CAP else v for k, v in input.items()}
