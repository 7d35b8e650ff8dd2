"""Starts and stops the local stack: action server, staff inbox and Rasa server.

Used by `make run` (foreground until Ctrl-C), by tests and by the evaluation and benchmark tools.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bot.settings import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PYTHON = ROOT / ".venv" / "bin" / "python"
MODEL = ROOT / "models" / "eczema.tar.gz"


@dataclass
class Ports:
    rasa: int = 5005
    actions: int = 5055
    staff: int = 8000


@dataclass
class Stack:
    ports: Ports = field(default_factory=Ports)
    env: dict[str, str] = field(default_factory=dict)
    endpoints: Path = ROOT / "endpoints.yml"
    log_dir: Path = ROOT / "var" / "log"
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def staff_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.staff}"

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = str(ROOT)
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["ACTION_PORT"] = str(self.ports.actions)
        env["ACTION_SERVER_URL"] = f"http://127.0.0.1:{self.ports.actions}/webhook"
        env["STAFF_PORT"] = str(self.ports.staff)
        env.setdefault("WIDGET_BOT_URL", self.rasa_url)
        env.setdefault("TRACKER_DB", str(ROOT / "var" / "tracker.db"))
        return env

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_actions(self) -> None:
        self._spawn("actions", [str(PYTHON), "-m", "bot.action_server"])

    def start_staff(self) -> None:
        self._spawn("staff", [str(PYTHON), "-m", "bot.staff"])

    def start_rasa(self) -> None:
        self._spawn(
            "rasa",
            [
                str(RASA), "run", "--model", str(MODEL), "--endpoints", str(self.endpoints),
                "--credentials", str(ROOT / "credentials.yml"), "--interface", "127.0.0.1",
                "--port", str(self.ports.rasa), "--cors", f"http://127.0.0.1:{self.ports.staff}",
            ],
        )

    def start(self, timeout: float = 240.0) -> None:
        self.start_actions()
        self.start_staff()
        self.start_rasa()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 240.0) -> None:
        checks = {
            "actions": f"http://127.0.0.1:{self.ports.actions}/health",
            "staff": f"{self.staff_url}/healthz",
            "rasa": f"{self.rasa_url}/webhooks/rest/",
        }
        for name, url in checks.items():
            if name in self.processes:
                wait_for(url, timeout, self.processes[name], self.log_dir / f"{name}.log")

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.processes):
            proc = self.processes.pop(key, None)
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Poll `url` until it answers 200, the process dies, or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"process for {url} exited with {proc.returncode}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


@contextmanager
def running(stack: Stack | None = None, timeout: float = 240.0) -> Iterator[Stack]:
    stack = stack or Stack()
    try:
        stack.start(timeout)
        yield stack
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the bot locally until Ctrl-C.")
    parser.parse_args(argv)
    stack = Stack()
    if not os.environ.get("STAFF_TOKEN"):
        import secrets

        stack.env["STAFF_TOKEN"] = secrets.token_urlsafe(16)
        print(f"STAFF_TOKEN was not set; this run's staff token is: {stack.env['STAFF_TOKEN']}")
    print("Starting the action server, the staff inbox and Rasa (logs in var/log/) ...", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stack.start()
        print(
            f"""
Ready.
  Chat (REST):   curl -s -XPOST {stack.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
                   -d '{{"sender": "me", "message": "what are the side effects of methotrexate?"}}'
  Terminal chat: make chat           (in another terminal)
  Demo portal:   {stack.staff_url}/
  Staff inbox:   {stack.staff_url}/staff
Press Ctrl-C to stop.""",
            flush=True,
        )
        # A process that exits is reported, the others keep serving (Rasa answers with the clinic phone and
        # 911 guidance while the action server is down).
        reported: set[str] = set()
        while any(p.poll() is None for p in stack.processes.values()):
            for name, proc in stack.processes.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    print(f"warning: {name} exited with code {proc.returncode}; see var/log/{name}.log", file=sys.stderr)
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...")
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
