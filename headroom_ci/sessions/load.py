"""The edge of session reading: paths, folders, archives and files in; sessions out."""
from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import extract_zip
from headroom_ci.sessions import claude
from headroom_ci.sessions import codex
from headroom_ci.sessions import gemini
from headroom_ci.sessions import opencode
from headroom_ci.sessions.detect import DOCUMENT_FORMATS
from headroom_ci.sessions.detect import sniff_document
from headroom_ci.sessions.detect import sniff_record
from headroom_ci.sessions.jsonl import BOM
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import Decode
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions.jsonl import Skip as SkipFn
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip

# Whole-document formats (pretty-printed JSON) must be held in memory to parse.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
# Only these endings are opened when walking a folder; a file named on the
# command line is always opened and sniffed.
TRANSCRIPT_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson", ".log", ".db", ".zip"})
_SNIFF_RECORDS = 5
_BUFFER = 1 << 20
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ZIP_MAGIC = b"PK\x03\x04"


LineReader = Callable[..., list[Session]]

LINE_READERS: dict[str, LineReader] = {
    "claude-jsonl": claude.read_jsonl,
    "claude-stream-json": claude.read_stream,
    "codex-rollout": codex.read_rollout,
    "codex-rollout-bare": codex.read_bare,
    "codex-exec-json": codex.read_exec_json,
    "gemini-chat-jsonl": gemini.read_chat,
    "gemini-stream-json": gemini.read_stream,
    "opencode-run-json": opencode.read_run_json,
}
# Formats whose hot path decodes only the fields the reader uses.
LINE_DECODERS: dict[str, Decode] = {"claude-jsonl": claude.decode_line}
DOCUMENT_READERS: dict[str, Callable[..., list[Session]]] = {
    "claude-json": claude.read_document,
    "claude-messages": claude.read_document,
    "codex-rollout-json": codex.read_document,
    "gemini-chat-json": gemini.read_chat_document,
    "gemini-json": gemini.read_headless_json,
}


@dataclass(frozen=True)
class ReadResult:
    sessions: tuple[Session, ...]
    skipped: tuple[Skip, ...]


def read_paths(paths: Iterable[str | os.PathLike[str]], *, max_line: int = MAX_LINE_BYTES) -> ReadResult:
    sessions: list[Session] = []
    skipped: list[Skip] = []
    for item in iter_paths(paths, max_line=max_line):
        if isinstance(item, Session):
            sessions.append(item)
        else:
            skipped.append(item)
    return ReadResult(tuple(sessions), tuple(skipped))


def iter_paths(paths: Iterable[str | os.PathLike[str]], *,
               max_line: int = MAX_LINE_BYTES) -> Iterator[Session | Skip]:
    """Sessions and skips, a file at a time, so callers can aggregate in bounded memory."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _read_dir(path, display=str(path), max_line=max_line)
        elif path.is_file():
            yield from _read_file(path, display=str(path), max_line=max_line)
        else:
            yield Skip(str(path), None, "no such file or folder")


class _Skips(list[Skip]):
    """The skips of one file (or one storage tree), reported after its sessions."""

    def at(self, path: str) -> SkipFn:
        def skip(line: int | None, reason: str) -> None:
            self.append(Skip(path, line, reason))
        return skip


def _read_dir(root: Path, *, display: str, max_line: int) -> Iterator[Session | Skip]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        shown = os.path.join(display, os.path.relpath(dirpath, root)) if here != root else display
        if opencode.is_storage_root(here):
            skips = _Skips()
            yield from opencode.read_storage(here, display=shown, skip=skips.at)
            yield from skips
            dirnames.clear()
            continue
        dirnames.sort()
        for name in sorted(filenames):
            file = here / name
            if file.suffix.lower() not in TRANSCRIPT_SUFFIXES or file.is_symlink():
                continue
            yield from _read_file(file, display=os.path.join(shown, name), max_line=max_line)


def _read_file(path: Path, *, display: str, max_line: int) -> Iterator[Session | Skip]:
    skips = _Skips()
    sessions: list[Session] = []
    try:
        # A large buffer: readline assembles long transcript lines from it
        # instead of from many 8 KiB reads.
        with open(path, "rb", buffering=_BUFFER) as fh:
            head = fh.read(len(_SQLITE_MAGIC))
            if head.startswith(_ZIP_MAGIC):
                yield from _read_zip(path, display=display, max_line=max_line)
                return
            if head == _SQLITE_MAGIC:
                sessions = _read_sqlite(path, display=display, skip=skips.at(display))
            else:
                fh.seek(0)
                sessions = _read_json_file(fh, path=path, display=display, skip=skips.at(display),
                                           max_line=max_line)
    except OSError as exc:
        skips.at(display)(None, f"cannot read: {exc.strerror or exc}")
    yield from sessions
    yield from skips


def _read_zip(path: Path, *, display: str, max_line: int) -> Iterator[Session | Skip]:
    with tempfile.TemporaryDirectory(prefix="headroom-ci-") as tmp:
        try:
            extract_zip(path, Path(tmp))
        except ArchiveError as exc:
            yield Skip(display, None, str(exc))
            return
        yield from _read_dir(Path(tmp), display=display, max_line=max_line)


def _read_sqlite(path: Path, *, display: str, skip: SkipFn) -> list[Session]:
    try:
        # Read only, and immutable so a database another process holds is not locked.
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        skip(None, f"cannot open SQLite database: {exc}")
        return []
    try:
        return opencode.read_db(conn, display=display, skip=skip)
    except sqlite3.Error as exc:
        skip(None, f"not an OpenCode database: {exc}")
        return []
    finally:
        conn.close()


def _read_json_file(fh: BinaryIO, *, path: Path, display: str, skip: SkipFn, max_line: int) -> list[Session]:
    fmt, pretty = _sniff(fh, max_line=max_line)
    fh.seek(0)
    if fmt is None and not pretty:
        skip(None, "not a recognized transcript")
        return []
    if pretty or fmt in DOCUMENT_FORMATS:
        return _read_document(fh, path=path, display=display, skip=skip)
    assert fmt is not None
    records = decode_lines(iter_lines(fh, max_line=max_line), skip=skip, max_line=max_line,
                           decode=LINE_DECODERS.get(fmt, decode_json))
    return LINE_READERS[fmt](records, path=display, skip=skip, resolve=_persisted_resolver(path))


def _sniff(fh: BinaryIO, *, max_line: int) -> tuple[str | None, bool]:
    """(line format, looks like one pretty-printed document)."""
    seen = 0
    for _, raw in iter_lines(fh, max_line=max_line):
        if raw is None:
            seen += 1
            continue
        if raw.isspace():
            continue
        stripped = raw.strip()
        if seen == 0 and stripped in (b"{", b"["):
            return None, True
        seen += 1
        try:
            obj = decode_json(raw)
        except DECODE_ERRORS:
            obj = None
        if isinstance(obj, dict):
            fmt = sniff_record(obj)
            if fmt is not None:
                return fmt, False
        elif isinstance(obj, list):
            return None, True
        if seen >= _SNIFF_RECORDS:
            break
    return None, False


def _read_document(fh: BinaryIO, *, path: Path, display: str, skip: SkipFn) -> list[Session]:
    data = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        skip(None, f"JSON document larger than {MAX_DOCUMENT_BYTES} bytes")
        return []
    try:
        doc = decode_json(data.removeprefix(BOM))
    except DECODE_ERRORS as exc:
        skip(None, f"invalid JSON document: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}")
        return []
    fmt = sniff_document(doc)
    if fmt is None:
        skip(None, "not a recognized transcript")
        return []
    return DOCUMENT_READERS[fmt](doc, format=fmt, path=display, skip=skip, resolve=_persisted_resolver(path))


def _persisted_resolver(transcript: Path) -> Callable[[str], str | None]:
    """Finds a Claude `<persisted-output>` file: beside the transcript first, as written second."""
    def resolve(pointer: str) -> str | None:
        p = Path(pointer)
        candidates = [
            transcript.parent / transcript.stem / "tool-results" / p.name,
            transcript.parent.parent / "tool-results" / p.name,  # from <sid>/subagents/
        ]
        if p.is_absolute():
            candidates.append(p)
        for candidate in candidates:
            try:
                with open(candidate, "rb") as fh:
                    return fh.read(MAX_LINE_BYTES).decode("utf-8", "replace")
            except OSError:
                continue
        return None
    return resolve
