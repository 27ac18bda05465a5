"""Reading and writing the user's files: exact bytes kept, nothing half written."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from headroom_ci.errors import FatalError


def read_text(path: Path) -> str | None:
    """The file's text with its line endings and BOM as they are; None when it does not exist."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise FatalError(f"{path}: not UTF-8 text (byte {exc.start}): fix or convert the file first") from None
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror or exc}") from None


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
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True
