"""The local stack: a credential for the action server per run, private files for every process it starts."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from bot.ops.ports import free_port
from bot.ops.processes import stop_process_group
from bot.ops.stack import Ports, Stack


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def local_stack(tmp: Path, **env: str) -> Stack:
    paths = {
        "TRACKER_DB": str(tmp / "var" / "tracker.db"),
        "HANDOFF_DB_PATH": str(tmp / "var" / "handoff.sqlite"),
        "SMS_OPTOUT_DB": str(tmp / "var" / "sms_optout.sqlite"),
    }
    return Stack(ports=Ports(free_port(), free_port(), free_port()), env={**paths, **env}, log_dir=tmp / "log")


def test_the_stack_gives_both_processes_one_random_action_server_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    first, second = Stack(), Stack()
    token = first._env()["ACTION_SERVER_TOKEN"]
    assert len(token) >= 32 and first._env()["ACTION_SERVER_TOKEN"] == token  # kept across restarts
    assert second._env()["ACTION_SERVER_TOKEN"] != token
    assert token not in repr(first)
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "set-by-the-operator-123")
    assert Stack()._env()["ACTION_SERVER_TOKEN"] == "set-by-the-operator-123"


def test_the_stack_tightens_files_earlier_runs_left_readable(tmp_path: Path) -> None:
    stack = local_stack(tmp_path)
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    old = [var / "tracker.db", var / "tracker.db-wal", var / "handoff.sqlite", var / "sms_optout.sqlite"]
    for path in old:
        path.write_bytes(b"x")
        path.chmod(0o644)
    stack._private_files(stack._env())
    assert [mode(p) for p in old] == [0o600] * 4
    assert mode(tmp_path / "log") == 0o700


def test_what_a_started_process_writes_is_private(tmp_path: Path) -> None:
    stack = local_stack(tmp_path)
    # Any child: the stack's umask applies to whatever it runs; this one writes a file and a log line.
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('x'); print('started')"
    stack._spawn("probe", [sys.executable, "-c", script, str(tmp_path / "written.txt")])
    proc = stack.processes["probe"]
    assert proc.wait(timeout=60) == 0
    stop_process_group(proc)
    assert mode(tmp_path / "written.txt") == 0o600
    assert mode(tmp_path / "log" / "probe.log") == 0o600
    assert (tmp_path / "log" / "probe.log").read_text().strip() == "started"
