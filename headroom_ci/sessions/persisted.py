"""Claude's saved tool outputs (`<persisted-output>` … `Full output saved to: <path>`).

The pointer comes from the transcript, which may be untrusted: it only supplies a
file name, looked up in the one folder Claude Code saves into, beside the transcript.
"""
from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from headroom_ci.sessions.model import Clip
from headroom_ci.sessions.model import OUTPUT_HEAD
from headroom_ci.sessions.model import OUTPUT_TAIL
from headroom_ci.sessions.types import Resolve

# Enough bytes for OUTPUT_HEAD / OUTPUT_TAIL characters of any UTF-8 text.
_HEAD_BYTES = 4 * OUTPUT_HEAD
_TAIL_BYTES = 4 * OUTPUT_TAIL
# Non-blocking: opening a FIFO must not wait for a writer (it is then refused by fstat).
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def resolver(transcript: Path) -> Resolve:
    """`<dir>/<stem>/tool-results/<name>` for a transcript `<dir>/<stem>.jsonl`;
    `<sid>/tool-results/<name>` for a subagent's `<sid>/subagents/[…/]agent-*.jsonl`."""
    folder = transcript.parent / transcript.stem
    for ancestor in list(transcript.parents)[:3]:
        if ancestor.name == "subagents":
            folder = ancestor.parent
            break

    def resolve(pointer: str) -> Clip | None:
        name = pointer.replace("\\", "/").rsplit("/", 1)[-1]
        if name in ("", ".", ".."):
            return None
        return _read_ends(folder / "tool-results" / name, inside=folder)
    return resolve


def _read_ends(path: Path, *, inside: Path) -> Clip | None:
    try:
        real = os.path.realpath(path)
        if not real.startswith(os.path.realpath(inside) + os.sep):
            return None  # a link out of the session's folder
        fd = os.open(real, _FLAGS)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None  # never a FIFO or a device
        size = st.st_size
        if size <= _HEAD_BYTES + _TAIL_BYTES:
            return Clip(_read(fd, _HEAD_BYTES + _TAIL_BYTES).decode("utf-8", "replace"))
        head = _read(fd, _HEAD_BYTES)
        os.lseek(fd, size - _TAIL_BYTES, os.SEEK_SET)
        tail = _read(fd, _TAIL_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    # The middle is never read: the length is the file's size in bytes.
    first = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    cut = 0
    while cut < 3 and cut < len(tail) and tail[cut] & 0xC0 == 0x80:
        cut += 1  # continuation bytes of a character that started before the tail
    return Clip.of_parts(first[:OUTPUT_HEAD], tail[cut:].decode("utf-8", "replace")[-OUTPUT_TAIL:], size)


def _read(fd: int, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = os.read(fd, n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
