"""Reading and writing the user's files: exact bytes kept, nothing half written."""
from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from headroom_ci.errors import FatalError


def read_bytes(path: Path) -> bytes | None:
    """A regular file's bytes; None when it does not exist. A FIFO or a device (whose read would
    block or never end), a folder, or a file that cannot be read is a FatalError naming it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise FatalError(f"{path}: cannot read: not a regular file")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror or exc}") from None


class NotText(ValueError):
    """Bytes that are not UTF-8 text: where (":line:col" or "") and what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


def decode(data: bytes, *, bom: bool = False) -> str:
    """UTF-8 text, its line endings as they are (`bom`: a leading byte-order mark dropped); NotText for
    invalid UTF-8, UTF-16, or a NUL byte (valid UTF-8, but UTF-16 without a byte-order mark, or binary)."""
    try:
        text = data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        # exc.object is what was decoded (after any BOM), so offsets match the text.
        raise NotText(*_wrong_byte(bytes(exc.object), exc.start)) from None
    if "\0" in text:
        raw = text.encode("utf-8")
        raise NotText(*_wrong_byte(raw, raw.index(b"\0")))
    return text


def read_text(path: Path) -> str | None:
    """The file's text with its line endings and BOM as they are; None when it does not exist."""
    data = read_bytes(path)
    if data is None:
        return None
    try:
        return decode(data)
    except NotText as exc:
        raise FatalError(f"{path}{exc.where}: {exc.problem}: save the file as UTF-8") from None


def _wrong_byte(data: bytes, bad: int) -> tuple[str, str]:
    # UTF-16 (a byte-order mark, or NUL bytes at the start) is named as such, else the first bad byte.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:64]:
        return "", "UTF-16 text, not UTF-8"
    breaks = list(re.finditer(rb"\r\n|\r|\n", data[:bad]))
    line_start = breaks[-1].end() if breaks else 0
    # Columns count characters; the bytes before the first bad one decode.
    column = len(data[line_start:bad].decode("utf-8", "replace")) + 1
    what = "a NUL byte: not a text file" if data[bad] == 0 else f"byte 0x{data[bad]:02x} is not valid UTF-8"
    return f":{len(breaks) + 1}:{column}", what


def _umask() -> int:
    mask = os.umask(0o022)   # the only way to read it is to set it: put straight back
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> bool:
    """Writes `text` unless the file already holds it; a temp file renamed into place, so a
    crash leaves the old file or the new one, never half of one. Returns whether it wrote."""
    if read_text(path) == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        # mkstemp makes 0600: a file replaced keeps its mode, a new one gets what the umask allows.
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def read_manifests(repo: Path) -> dict[str, str]:
    """The repository's manifest files (what headroom_ci.safety.commands.facts_from reads), by name."""
    from headroom_ci.safety.commands import MANIFEST_PREFIXES
    from headroom_ci.safety.commands import MANIFESTS
    try:
        names = sorted(p.name for p in repo.iterdir()
                       if p.name in MANIFESTS or p.name.startswith(MANIFEST_PREFIXES))
    except OSError:
        return {}
    out: dict[str, str] = {}
    for name in names:
        path = repo / name
        if path.is_file() and not path.is_symlink():
            try:
                out[name] = path.read_bytes()[:1_000_000].decode("utf-8", "replace")
            except OSError:
                continue
    return out
