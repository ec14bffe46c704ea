"""The grader's own folders (cache, backups), files written whole or not at all, and paths as a learner reads them."""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def cache_folder() -> Path:
    """The grader's own folder for what it keeps between runs, outside any learner's folder or repository."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pytorch-workflow-kit"


def backup_folder() -> Path:
    """Where a learner's file is kept before the grader ever writes over it (outside the learner's folder)."""
    return cache_folder() / "backups"


def keep_backup(data: bytes, name: str) -> Path:
    """Save ``data`` in the backup folder as a new file named after ``name``; return its path.

    The name starts with the time and a counter, and the file is created
    exclusively, so a backup never replaces an earlier one, even one made in
    the same second.
    """
    folder = backup_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for counter in itertools.count(1):
        backup = folder / f"{stamp}-{counter}-{name}"
        try:
            with backup.open("xb") as file:
                file.write(data)
        except FileExistsError:
            continue
        except BaseException:
            backup.unlink(missing_ok=True)  # half a backup would look like a whole one
            raise
        return backup


def read_or_none(path: Path) -> bytes | None:
    """The bytes of the file at ``path``; None where it cannot be read (missing, a folder, no permission)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


@contextmanager
def written_whole(path: Path, mode: str = "w", **open_args) -> Iterator:
    """Open a file that replaces ``path`` only once the ``with`` block ends well: a reader, an editor or a
    crash never sees half a file, and an interrupted write leaves the old one as it was.

    The new file has the permissions of the one it replaces (an ordinary file's, where there was none).
    """
    # The temporary file is in the same folder: os.replace is atomic only within one file system.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            permissions = path.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            permissions = 0o666 & ~umask  # not mkstemp's private ones
        os.fchmod(handle, permissions)
        with os.fdopen(handle, mode, **open_args) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def display_path(path: Path) -> str:
    """``path`` as a learner reads it: relative to the current folder when it is inside it, else absolute."""
    for inside, folder in ((path.resolve(), Path.cwd().resolve()), (Path(os.path.abspath(path)), Path.cwd())):
        try:
            return str(inside.relative_to(folder))
        except ValueError:
            pass
    return str(path.resolve())
