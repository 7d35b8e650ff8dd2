"""Files the bot writes are its own user's only: 0700 folders, 0600 files, SQLite's side files included."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from bot.private_files import make_private, open_private, private_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_creates_missing_folders_and_tightens_an_existing_one(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # a login shell's usual umask
    try:
        new = private_dir(tmp_path / "a" / "var")
    finally:
        os.umask(previous)
    assert new.is_dir() and mode(new) == 0o700 and mode(tmp_path / "a") == 0o700
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    assert mode(private_dir(old)) == 0o700


def test_make_private_covers_the_database_and_its_wal_and_shm(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("INSERT INTO t VALUES ('x')")
    conn.commit()
    files = [db, tmp_path / "tracker.db-wal", tmp_path / "tracker.db-shm"]
    for path in files:
        path.chmod(0o644)
    make_private(db)
    assert [mode(p) for p in files] == [0o600] * 3
    make_private(tmp_path / "missing.db")  # nothing to do
    conn.close()


def test_open_private_creates_0600_and_tightens_an_old_log(tmp_path: Path) -> None:
    log = tmp_path / "actions.log"
    with open_private(log) as f:
        f.write(b"one\n")
    assert mode(log) == 0o600
    log.chmod(0o644)
    with open_private(log) as f:
        f.write(b"two\n")
    assert mode(log) == 0o600 and log.read_bytes() == b"one\ntwo\n"


def test_under_the_private_umask_sqlite_creates_0600_files(tmp_path: Path) -> None:
    # In a child process: the umask is process-wide.
    code = (
        "import sqlite3, sys; from bot.private_files import use_private_umask; use_private_umask(); "
        "c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); c.execute('CREATE TABLE t (x)'); "
        "c.execute('INSERT INTO t VALUES (1)'); c.commit(); open(sys.argv[1] + '.txt', 'w').close()"
    )
    db = tmp_path / "store.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, env=env)
    written = sorted(tmp_path.iterdir())
    assert written and all(mode(p) & 0o077 == 0 for p in written), {p.name: oct(mode(p)) for p in written}
