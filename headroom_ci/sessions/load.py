"""The edge of session reading: paths, folders, archives and files in; sessions out."""
from __future__ import annotations

import dataclasses
import errno
import itertools
import os
import re
import stat
import sys
import tempfile
import threading
from collections import Counter
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import BinaryIO
from typing import TYPE_CHECKING

import msgspec

from headroom_ci.archive import ArchiveError
from headroom_ci.archive import Budget
from headroom_ci.archive import extract_zip
from headroom_ci.archive import Limits
from headroom_ci.sessions import claude
from headroom_ci.sessions import codex
from headroom_ci.sessions import codex_exec
from headroom_ci.sessions import gemini
from headroom_ci.sessions import normalized
from headroom_ci.sessions import opencode_run
from headroom_ci.sessions.detect import DOCUMENT_FORMATS
from headroom_ci.sessions.detect import sniff_document
from headroom_ci.sessions.detect import sniff_record
from headroom_ci.sessions.jsonl import BOM
from headroom_ci.sessions.jsonl import DECODE_ERRORS
from headroom_ci.sessions.jsonl import decode_json
from headroom_ci.sessions.jsonl import decode_lines
from headroom_ci.sessions.jsonl import iter_lines
from headroom_ci.sessions.jsonl import MAX_LINE_BYTES
from headroom_ci.sessions.jsonl import why_undecodable
from headroom_ci.sessions.bundle import is_bundle
from headroom_ci.sessions.bundle import MANIFEST
from headroom_ci.sessions.bundle import RAW_DIR
from headroom_ci.sessions.bundle import run_of
from headroom_ci.sessions.model import Run
from headroom_ci.sessions.model import Session
from headroom_ci.sessions.model import Skip
from headroom_ci.sessions.opencode_db import read_db_file
from headroom_ci.sessions.opencode_store import is_storage_root
from headroom_ci.sessions.opencode_store import read_storage
from headroom_ci.sessions.opencode_store import STORAGE_FOLDERS
from headroom_ci.sessions.persisted import resolver
from headroom_ci.sessions.types import Decode
from headroom_ci.sessions.types import DocumentReader
from headroom_ci.sessions.types import LineReader
from headroom_ci.sessions.types import SkipFn

if TYPE_CHECKING:
    from concurrent.futures import Future
    from concurrent.futures import ProcessPoolExecutor

# Whole-document formats (pretty-printed JSON) must be held in memory to parse.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# Only these endings are opened when walking a folder; a file named on the
# command line is always opened and sniffed.
TRANSCRIPT_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson", ".log", ".db", ".zip"})
# Per file, the first skips are reported one by one; the rest are counted in one summary.
MAX_SKIPS_PER_FILE = 100
_MAX_REASONS = 20
_SNIFF_RECORDS = 5
_BUFFER = 1 << 20
_MANIFEST_MAX = 1 << 20
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ZIP_MAGIC = b"PK\x03\x04"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_OPENS_ARRAY = re.compile(rb"[ \t\r\n]*\[")
# With more than one job, files go to the worker processes in batches of about this many bytes:
# a task costs a fraction of a millisecond, so a batch of small files shares one. A batch still
# short of it when its sessions are due is read here, so a few small files start no worker.
BATCH_BYTES = 1024 * 1024
# Batches handed to a worker and not yet collected, per worker: one being decoded, two queued,
# so a worker is not left idle while this process reads a large file itself, which it does
# when every worker has its share.
_AHEAD_PER_JOB = 3
# Sessions and skips read here, waiting behind a file still being decoded elsewhere, at most.
_MAX_WAITING = 64


@dataclass(frozen=True, slots=True)
class LineFormat:
    """How one line-based format is read: the decoder of its lines, and its reader."""

    read: LineReader
    decode: Decode = decode_json  # typed decoders skip the fields the reader does not use


LINE_FORMATS: dict[str, LineFormat] = {
    "claude-jsonl": LineFormat(claude.read_jsonl, claude.decode_line),
    "claude-stream-json": LineFormat(claude.read_stream, claude.decode_event),
    "codex-rollout": LineFormat(codex.read_rollout),
    "codex-rollout-bare": LineFormat(codex.read_bare),
    "codex-exec-json": LineFormat(codex_exec.read_exec_json),
    "gemini-chat-jsonl": LineFormat(gemini.read_chat),
    "gemini-stream-json": LineFormat(gemini.read_stream),
    "opencode-run-json": LineFormat(opencode_run.read_run_json),
    normalized.HEADER: LineFormat(normalized.read_normalized),
}
DOCUMENT_READERS: dict[str, DocumentReader] = {
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


def read_paths(paths: Iterable[str | os.PathLike[str]], *, max_line: int = MAX_LINE_BYTES,
               jobs: int | None = None) -> ReadResult:
    sessions: list[Session] = []
    skipped: list[Skip] = []
    for item in iter_paths(paths, max_line=max_line, jobs=jobs):
        if isinstance(item, Session):
            sessions.append(item)
        else:
            skipped.append(item)
    return ReadResult(tuple(sessions), tuple(skipped))


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def iter_paths(paths: Iterable[str | os.PathLike[str]], *, max_line: int = MAX_LINE_BYTES,
               jobs: int | None = None, batch_bytes: int = BATCH_BYTES) -> Iterator[Session | Skip]:
    """Sessions and skips, a file at a time, so callers can aggregate in bounded memory.

    A file is read once per call, however many of the paths lead to it. `jobs` processes read
    (by default one per CPU): this one and `jobs - 1` workers, to which files are handed in
    batches of `batch_bytes` while this one reads the next; what comes out, and its order, is
    the same whatever the number.
    """
    jobs = default_jobs() if jobs is None else jobs
    walk = _Walk(max_line, _Pool(jobs - 1, max_line, batch_bytes) if jobs > 1 else None)
    try:
        yield from _collect(_walk_paths(paths, walk), walk)
    finally:
        walk.close()


def _walk_paths(paths: Iterable[str | os.PathLike[str]], walk: _Walk) -> Iterator[Item]:
    for raw in paths:
        path = Path(raw)
        try:
            st = path.stat()
        except OSError as exc:
            missing = exc.errno in (errno.ENOENT, errno.ENOTDIR)
            yield Skip(str(path), None, "no such file or folder" if missing else f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _read_dir(path, display=str(path), walk=walk, in_archive=False)
        else:
            yield from _read_file(path, display=str(path), walk=walk, in_archive=False, walked=False)


class _Walk:
    """One iter_paths call: what was already read, the extraction budget all its archives
    share, and the worker processes, if any."""

    def __init__(self, max_line: int, pool: _Pool | None = None) -> None:
        self.max_line = max_line
        self.seen: set[tuple[int, int]] = set()
        self.budget = Budget(Limits().max_total_bytes)
        self.pool = pool

    def first_time(self, st: os.stat_result) -> bool:
        if st.st_ino == 0:  # a file system without inode numbers: nothing to compare
            return True
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


# -- reading in worker processes --------------------------------------------------------------

class _Batch:
    """Files decoded by one worker task, or here when the batch is due before it is full."""

    __slots__ = ("pool", "args", "bytes", "future", "results", "collected")

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.args: list[_DecodeArgs] = []
        self.bytes = 0
        self.future: Future[list[_Decoded]] | None = None
        self.results: list[list[Session | Skip]] | None = None
        self.collected = 0

    def done(self) -> bool:
        return self.results is not None or (self.future is not None and self.future.done())

    def result(self, index: int) -> list[Session | Skip]:
        if self.results is None:
            self.results = self._results()
        self.collected += 1
        if self.collected == len(self.args) and self.future is not None:
            self.pool.out -= 1
        items, self.results[index] = self.results[index], []  # let the caller's copy be the only one
        return items

    def _results(self) -> list[list[Session | Skip]]:
        if self.future is None:  # due before it was full: cheaper to read here than to ship
            self.pool.drop(self)
            return [_unpack(_decode_file(*args, pack=False)) for args in self.args]
        from concurrent.futures.process import BrokenProcessPool
        try:
            return [_unpack(decoded) for decoded in self.future.result()]
        except (BrokenProcessPool, msgspec.DecodeError):
            # A worker died (killed, out of memory), or sent what does not decode as the model
            # (a bug): this process reads the files instead.
            return [_unpack(_decode_file(*args, pack=False)) for args in self.args]


class _Later:
    """What a file gives, decoded in a batch: its sessions and skips once collected, each
    passed through `then` (the walk's bookkeeping, such as the run of a bundle)."""

    __slots__ = ("batch", "index", "then")

    def __init__(self, batch: _Batch, index: int,
                 then: tuple[Callable[[Session | Skip], Session | Skip], ...] = ()) -> None:
        self.batch = batch
        self.index = index
        self.then = then

    def map(self, fn: Callable[[Session | Skip], Session | Skip]) -> _Later:
        return _Later(self.batch, self.index, (*self.then, fn))

    def done(self) -> bool:
        return self.batch.done()

    def result(self) -> list[Session | Skip]:
        items = self.batch.result(self.index)
        for fn in self.then:
            items = [fn(item) for item in items]
        return items


# (path, display, max_line, walked, (st_dev, st_ino) as the walk saw it)
_DecodeArgs = tuple[str, str, int, bool, tuple[int, int]]
# A file's sessions (msgpack, which decodes into the model several times faster than a
# pickle of the dataclasses; or the list, when something in them is not msgpack), its skips.
_Decoded = tuple[bytes | list[Session], list[Skip]]
_pack = msgspec.msgpack.Encoder().encode
_unpack_sessions = msgspec.msgpack.Decoder(list[Session]).decode


def _unpack(decoded: _Decoded) -> list[Session | Skip]:
    sessions, skips = decoded
    return [*(_unpack_sessions(sessions) if isinstance(sessions, bytes) else sessions), *skips]


Item = Session | Skip | _Later


class _Pool:
    """Worker processes, started when the first batch is full."""

    def __init__(self, workers: int, max_line: int, batch_bytes: int = BATCH_BYTES) -> None:
        self.workers = workers
        self.max_line = max_line
        self.batch_bytes = batch_bytes
        self.out = 0  # batches handed out and not yet collected
        self.open: _Batch | None = None  # the batch being filled
        self._executor: ProcessPoolExecutor | None = None

    def has_room(self) -> bool:
        return self.out < _AHEAD_PER_JOB * self.workers

    def add(self, path: Path, *, display: str, walked: bool, st: os.stat_result) -> _Later:
        batch = self.open = self.open or _Batch(self)
        batch.args.append((str(path), display, self.max_line, walked, (st.st_dev, st.st_ino)))
        batch.bytes += st.st_size
        if batch.bytes >= self.batch_bytes:
            self._submit(batch)
        return _Later(batch, len(batch.args) - 1)

    def _submit(self, batch: _Batch) -> None:
        if self._executor is None:
            self._executor = _executor(self.workers)
        batch.future = self._executor.submit(_decode_files, batch.args)
        self.out += 1
        self.open = None

    def drop(self, batch: _Batch) -> None:
        if self.open is batch:
            self.open = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _decode_files(args: list[_DecodeArgs]) -> list[_Decoded]:
    """A worker's task."""
    return [_decode_file(*a) for a in args]


def _executor(jobs: int) -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    methods = multiprocessing.get_all_start_methods()
    # fork starts a worker in milliseconds with every module already imported; it is safe
    # only while this process runs no other thread, and on Linux (macOS system libraries may
    # not survive it). Otherwise a fresh interpreter per worker.
    if "fork" in methods and sys.platform.startswith("linux") and threading.active_count() == 1:
        method = "fork"
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    context = multiprocessing.get_context(method)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init)


def _worker_init() -> None:
    import signal
    # Ctrl-C reaches the whole process group: the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _decode_file(path: str, display: str, max_line: int, walked: bool, ident: tuple[int, int], *,
                 pack: bool = True) -> _Decoded:
    """One transcript file's sessions, then its skips, as _read_file gives them: in a worker
    (packed for the trip back), or here when a batch is due unsent or a worker failed."""
    skips = _Skips()
    skip = skips.at(display)
    sessions: list[Session] = []
    try:
        fd = os.open(path, _OPEN_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if walked else 0))
        with os.fdopen(fd, "rb", buffering=_BUFFER) as fh:
            st = os.fstat(fh.fileno())
            if (st.st_dev, st.st_ino) != ident:
                skip(None, "cannot read: replaced while it was being read")
            else:
                sessions = _read_json_file(fh, path=Path(path), display=display, skip=skip, max_line=max_line)
    except OSError as exc:
        skip(None, f"cannot read: {exc.strerror or exc}")
    if pack:
        try:
            return _pack(sessions), list(skips)
        except (TypeError, ValueError, OverflowError):  # a lone surrogate, an int past 64 bits
            pass
    return sessions, list(skips)


def _collect(items: Iterable[Item], walk: _Walk) -> Iterator[Session | Skip]:
    """`items` in order: what was read here as it comes, a file decoded elsewhere once done.
    Waits for the oldest such file only when too much is waiting behind it."""
    if walk.pool is None:
        yield from items  # type: ignore[misc]  # nothing is deferred without a pool
        return
    window: deque[Item] = deque()
    for item in items:
        window.append(item)
        while window:
            first = window[0]
            if isinstance(first, _Later) and not first.done() and len(window) <= _MAX_WAITING:
                break
            window.popleft()
            if isinstance(first, _Later):
                yield from first.result()
            else:
                yield first
    for item in window:
        if isinstance(item, _Later):
            yield from item.result()
        else:
            yield item


class _Skips:
    """The skips of one file (or one storage tree), reported after its sessions: the
    first MAX_SKIPS_PER_FILE of each path as they came, then one summary per path."""

    def __init__(self) -> None:
        self._kept: list[Skip] = []
        self._counts: dict[str, int] = {}
        self._more: dict[str, Counter[str]] = {}

    def at(self, path: str) -> SkipFn:
        def skip(line: int | None, reason: str) -> None:
            n = self._counts.get(path, 0)
            self._counts[path] = n + 1
            if n < MAX_SKIPS_PER_FILE:
                self._kept.append(Skip(path, line, reason))
                return
            reasons = self._more.setdefault(path, Counter())
            kind = "invalid JSON" if reason.startswith("invalid JSON:") else reason
            if kind not in reasons and len(reasons) >= _MAX_REASONS:
                kind = "other"
            reasons[kind] += 1
        return skip

    def __iter__(self) -> Iterator[Skip]:
        yield from self._kept
        for path, reasons in self._more.items():
            listed = ", ".join(f"{reason} ×{n}" for reason, n in reasons.most_common())
            yield Skip(path, None, f"{sum(reasons.values())} more lines skipped (reasons: {listed})")


def _read_dir(root: Path, *, display: str, walk: _Walk, in_archive: bool) -> Iterator[Item]:
    def shown(dirpath: str) -> str:
        rel = os.path.relpath(dirpath, root)
        return display if rel == "." else os.path.join(display, rel)

    errors: list[OSError] = []
    runs: dict[str, Run | None] = {}
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        yield from _folder_errors(errors, shown)
        here = Path(dirpath)
        dirnames.sort()
        # A bundle's manifest names the CI run of every session below it.
        manifest = _manifest(here) if MANIFEST in filenames else None
        # The outermost manifest names the run (fetch writes it from the API); one an artifact
        # carries inside itself may not say otherwise.
        run = runs[dirpath] = runs.get(os.path.dirname(dirpath)) or run_of(manifest)
        if is_bundle(manifest):
            # Its raw/ copies are the sessions of its normalized files again: read those once.
            dirnames[:] = [d for d in dirnames if d != RAW_DIR]
        found: Iterator[Item] = iter(())
        if is_storage_root(here):
            # Its session/message/part/project folders are one store; anything else in it is walked.
            dirnames[:] = [d for d in dirnames if d not in STORAGE_FOLDERS]
            found = _read_storage(here, display=shown(dirpath), walk=walk, in_archive=in_archive)
        files = (_read_file(here / name, display=os.path.join(shown(dirpath), name), walk=walk,
                            in_archive=in_archive, walked=True)
                 for name in sorted(filenames)
                 if Path(name).suffix.lower() in TRANSCRIPT_SUFFIXES and name != MANIFEST
                 and not (here / name).is_symlink())
        tag = _tagger(run)
        for item in itertools.chain(found, itertools.chain.from_iterable(files)):
            if tag is None:
                yield item
            elif isinstance(item, _Later):
                yield item.map(tag)
            else:
                yield tag(item)
    yield from _folder_errors(errors, shown)


def _tagger(run: Run | None) -> Callable[[Session | Skip], Session | Skip] | None:
    """Gives the sessions of a bundle the CI run its manifest names."""
    if run is None:
        return None

    def tag(item: Session | Skip) -> Session | Skip:
        return dataclasses.replace(item, run=run) if isinstance(item, Session) and not item.run else item
    return tag


def _manifest(folder: Path) -> Any:
    try:
        with open(folder / MANIFEST, "rb") as fh:
            return decode_json(fh.read(_MANIFEST_MAX))
    except (OSError, *DECODE_ERRORS):
        return None


def _folder_errors(errors: list[OSError], shown: Callable[[str], str]) -> Iterator[Skip]:
    for exc in errors:
        yield Skip(shown(str(exc.filename)), None, f"cannot read folder: {exc.strerror or exc}")
    errors.clear()


def _read_storage(root: Path, *, display: str, walk: _Walk, in_archive: bool) -> Iterator[Session | Skip]:
    try:
        if not in_archive and not walk.first_time(root.stat()):
            return  # already read in this call, under another path
    except OSError:
        pass
    skips = _Skips()
    yield from read_storage(root, display=display, skip=skips.at)
    yield from skips


def _read_file(path: Path, *, display: str, walk: _Walk, in_archive: bool,
               walked: bool) -> Iterator[Item]:
    skips = _Skips()
    skip = skips.at(display)
    sessions: list[Session] = []
    kind = "json"
    later: _Later | None = None
    try:
        # Non-blocking: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, _OPEN_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if walked else 0))
        # A large buffer: readline assembles long transcript lines from it
        # instead of from many 8 KiB reads.
        with os.fdopen(fd, "rb", buffering=_BUFFER) as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                yield Skip(display, None, "not a regular file")
                return
            # Extracted files live in temporary folders whose inode numbers are reused:
            # only the archive itself is compared.
            if not in_archive and not walk.first_time(st):
                return  # already read in this call, under another path
            # Unbuffered: a file handed to a worker is not read here beyond its first bytes.
            head = os.read(fh.fileno(), len(_SQLITE_MAGIC))
            if head.startswith(_ZIP_MAGIC):
                kind = "zip"
            elif head == _SQLITE_MAGIC:
                kind = "sqlite"
            elif walk.pool is not None and walk.pool.has_room():
                later = walk.pool.add(path, display=display, walked=walked, st=st)
            else:
                fh.seek(0)
                sessions = _read_json_file(fh, path=path, display=display, skip=skip, max_line=walk.max_line)
    except OSError as exc:
        skip(None, f"cannot read: {exc.strerror or exc}")
    if kind == "zip":
        yield from _read_zip(path, display=display, walk=walk, in_archive=in_archive)
        return
    if later is not None:
        yield later
        return
    if kind == "sqlite":
        sessions = read_db_file(path, display=display, skip=skip)
    yield from sessions
    yield from skips


def _read_zip(path: Path, *, display: str, walk: _Walk, in_archive: bool) -> Iterator[Session | Skip]:
    if in_archive:
        # Zips inside zips would multiply the extraction caps and the depth of recursion.
        yield Skip(display, None, "nested archive not opened")
        return
    with tempfile.TemporaryDirectory(prefix="headroom-ci-") as tmp:
        dest = Path(tmp) / "archive"
        try:
            extract_zip(path, dest, budget=walk.budget)
        except ArchiveError as exc:
            yield Skip(display, None, str(exc))
            return
        # Collected here: the extracted files must all be read before the folder is removed.
        yield from _collect(_read_dir(dest, display=display, walk=walk, in_archive=True), walk)


def _read_json_file(fh: BinaryIO, *, path: Path, display: str, skip: SkipFn, max_line: int) -> list[Session]:
    fmt, document = _sniff(fh, max_line=max_line)
    fh.seek(0)
    if document or fmt in DOCUMENT_FORMATS:
        return _read_document(fh, path=path, display=display, skip=skip)
    if fmt is None:
        skip(None, "not a recognized transcript")
        return []
    line = LINE_FORMATS[fmt]
    records = decode_lines(iter_lines(fh, max_line=max_line), skip=skip, max_line=max_line, decode=line.decode)
    return line.read(records, path=display, skip=skip, resolve=resolver(path))


def _sniff(fh: BinaryIO, *, max_line: int) -> tuple[str | None, bool]:
    """(line format, is one JSON document)."""
    opens_document = _first_byte(fh) in (b"[", b"{")
    fh.seek(0)
    seen = 0
    unknown_object = False
    for _, raw in iter_lines(fh, max_line=max_line):
        if raw is None:  # too long to sniff; a document if it is the whole file
            seen += 1
            unknown_object = unknown_object or (seen == 1 and opens_document)
        elif raw.isspace():
            continue
        else:
            if seen == 0 and raw.strip() in (b"{", b"["):
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
                unknown_object = unknown_object or seen == 1
            elif isinstance(obj, list):
                return None, True
        if seen >= _SNIFF_RECORDS:
            return None, False
    # A file of one record that no line format claims may be a one-line document
    # (a `{"session":…,"items":…}` rollout, a headless `-p` result).
    return None, seen == 1 and unknown_object


def _first_byte(fh: BinaryIO) -> bytes:
    start = fh.read(4096).removeprefix(BOM).lstrip()
    return start[:1]


def _read_document(fh: BinaryIO, *, path: Path, display: str, skip: SkipFn) -> list[Session]:
    data = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        skip(None, f"JSON document larger than {MAX_DOCUMENT_BYTES} bytes")
        return []
    data = data.removeprefix(BOM)
    resolve = resolver(path)
    if _OPENS_ARRAY.match(data):
        # An execution_file: decoded without the second copy of every tool output.
        events = claude.decode_messages(data)
        if events is not None:
            return claude.read_events(events, format="claude-messages", path=display, skip=skip, resolve=resolve)
    try:
        doc = decode_json(data)
    except DECODE_ERRORS as exc:
        skip(None, why_undecodable(data, exc, line=False).replace("invalid JSON", "invalid JSON document", 1))
        return []
    fmt = sniff_document(doc)
    if fmt is None:
        skip(None, "not a recognized transcript")
        return []
    return DOCUMENT_READERS[fmt](doc, format=fmt, path=display, skip=skip, resolve=resolve)
