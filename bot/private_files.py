"""Files the bot writes (conversation stores, tickets, logs, caches) are readable by its own user only.

The servers set the umask at start (`use_private_umask`); the local stack also sets it for every child and
tightens what earlier runs left behind (`private_dir`, `make_private`). SQLite creates a database's -wal and -shm
files with the database file's permissions, so a 0600 database keeps its journal files 0600 too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def use_private_umask() -> None:
    """New files of this process (and of the processes it starts) get no group or world permissions."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents 0700 (mkdir's parents=True would make those 0777 - umask)."""
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        missing.mkdir(mode=DIR_MODE, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def make_private(path: Path) -> None:
    """Make an existing file 0600, and an SQLite database's -wal, -shm and -journal files with it."""
    for candidate in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        if candidate.is_file():
            candidate.chmod(FILE_MODE)


def open_private(path: Path) -> BinaryIO:
    """Open `path` for appending, created 0600 (an existing file is made 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "ab")
