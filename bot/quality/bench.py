"""`make bench`: a benchmark, not a test. Prints latency, throughput, memory and start-up figures of this bot
against a bare `rasa init` bot served by the same Rasa install, measured in the same run, and their ratios.

Targets on the 2-core machines (issue 6): our p50 at most 1.3x the bare bot's, our throughput at least 0.8x,
action-server p95 at most 25 ms per answer. The long-conversation curve: one conversation of 200 turns, the p50
of turns 76-100 at most 1.3x that of turns 1-25. Results go to var/bench.json.

`python -m bot.quality.bench --only curve` runs only the curve (and updates only its entry in var/bench.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bot.constants import ROOT
from bot.ops.ports import free_port
from bot.ops.processes import stop_process_group, wait_for
from bot.ops.stack import RASA, Ports, Stack
from bot.settings import child_environ

# Message and the reply kind it must get: a fast wrong reply (e.g. the fail-safe one) must not count as speed.
OURS = {
    "what are the side effects of methotrexate?": "answer",
    "how is dupixent given": "answer",
    "which eczema medicines are shots?": "answer",  # across medicines
    "what are the side effects": "clarify",
    "my son has a fever on methotrexate": "handoff",
    "hi": "chitchat",
}
BARE = ["hello", "I am sad", "yes", "great", "bye", "are you a bot?"]
BARE_DIR = ROOT / "var" / "bench" / "bare"
CURVE_TURNS = 200
CURVE_BLOCKS = ((1, 25), (76, 100), (176, 200))


def our_kind(messages: list[dict[str, Any]]) -> str | None:
    kinds = [m["custom"].get("kind") for m in messages if isinstance(m.get("custom"), dict)]
    return kinds[-1] if kinds else None


def check_ours(message: str, reply: list[dict[str, Any]]) -> None:
    if our_kind(reply) != OURS[message]:
        raise RuntimeError(f"{message!r} got {reply!r}, not a {OURS[message]} reply")


def check_bare(message: str, reply: list[dict[str, Any]]) -> None:
    if not any(m.get("text") for m in reply):
        raise RuntimeError(f"the bare bot gave no text for {message!r}: {reply!r}")


def _group_pids(pid: int) -> list[int]:
    """The process and the others of its process group (its workers); [] once it is gone."""
    try:
        children = subprocess.run(["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True).stdout
    except ProcessLookupError:
        return []
    return [int(p) for p in children.split()] or [pid]


def _cpu_ms(pids: list[int]) -> float:
    """CPU time (user + system) these processes and their process groups have used, in ms."""
    ticks = 0
    for p in (q for pid in pids for q in _group_pids(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = _group_pids(pid)
    if not pids:
        return 0.0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return round(total / 1024, 1)


def load(
    url: str,
    messages: list[str],
    concurrency: int,
    requests_total: int,
    check: Callable[[str, Any], None],
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Send `requests_total` turns (fresh sender each) with `concurrency` workers; latency and throughput.
    Every reply is checked, so the figures are of real answers."""

    def one(i: int) -> float:
        message = messages[i % len(messages)]
        start = time.perf_counter()
        body = {"sender": f"bench-{uuid.uuid4().hex}", "message": message}
        resp = requests.post(url, json=body, headers=headers, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        resp.raise_for_status()
        check(message, resp.json())
        return elapsed

    for i in range(len(messages)):  # warm caches and code paths
        one(i)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(one, range(requests_total)))
    elapsed = time.perf_counter() - start
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "throughput_rps": round(requests_total / elapsed, 2),
    }


def action_latency(rounds: int = 50) -> dict[str, float]:
    """Time of the assistant's work per answer inside the action server process (no HTTP)."""
    from bot.conversation.assistant import Turn
    from bot.conversation.service import get_assistant, warm_up

    warm_up()
    assistant = get_assistant()
    turns = [
        Turn("what are the side effects of methotrexate?", intent="ask_side_effects", confidence=0.95),
        Turn("how is dupixent given", intent="ask_administration", confidence=0.95),
        Turn("does cellcept need labs", intent="ask_monitoring", confidence=0.95),
    ]
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        assistant.respond(turns[i % len(turns)])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}


def curve(
    url: str, server_pids: list[int], turns: int = CURVE_TURNS, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """One conversation of `turns` turns cycling through OURS (context, clarify, a handoff and its follow-ups):
    the p50 of each block of CURVE_BLOCKS, the ratio of the middle block to the first, and the servers' CPU time
    per turn in each block (less sensitive than latency to other work on the machine). Every reply must have a
    kind, and from the second cycle on each message must get the kind it got in the cycle before (the first one
    differs: no context yet), so the conversation behaves the same at turn 200 as at turn 10."""
    messages = list(OURS)
    sender = f"bench-curve-{uuid.uuid4().hex}"
    latencies: list[float] = []
    cpu = [_cpu_ms(server_pids)]
    kinds: list[str | None] = []
    for i in range(turns):
        start = time.perf_counter()
        body = {"sender": sender, "message": messages[i % len(messages)]}
        resp = requests.post(url, json=body, headers=headers, timeout=60)
        latencies.append((time.perf_counter() - start) * 1000)
        cpu.append(_cpu_ms(server_pids))
        resp.raise_for_status()
        kinds.append(our_kind(resp.json()))
        expected = kinds[i - len(messages)] if i >= 2 * len(messages) else kinds[i]
        if kinds[i] is None or kinds[i] != expected:
            raise RuntimeError(f"turn {i + 1} ({messages[i % len(messages)]!r}) got {resp.json()!r}")
    blocks = {f"turns_{a}_{b}_p50_ms": round(statistics.median(latencies[a - 1 : b]), 1) for a, b in CURVE_BLOCKS}
    first, middle, _ = blocks.values()
    return {
        **blocks,
        "ratio_76_100_to_1_25": round(middle / first, 2),
        "server_cpu_ms_per_turn": {
            f"turns_{a}_{b}": round((cpu[b] - cpu[a - 1]) / (b - a + 1), 1) for a, b in CURVE_BLOCKS
        },
    }


def _server_pids(stack: Stack) -> list[int]:
    return [p.pid for name, p in stack.processes.items() if name != "staff"]


def run_curve() -> dict[str, Any]:
    stack = Stack(ports=Ports(free_port(), free_port(), free_port()), env={"STAFF_TOKEN": uuid.uuid4().hex})
    stack.start(timeout=300)
    try:
        return curve(f"{stack.rasa_url}/webhooks/rest/webhook", _server_pids(stack), headers=stack.rest_headers())
    finally:
        stack.stop()


def write_report(report: dict[str, Any]) -> None:
    out = ROOT / "var" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def bare_bot() -> tuple[subprocess.Popen[bytes], str, float]:
    """Train (once) and serve a bare `rasa init` bot; returns the process, its URL and its training time."""
    train_s = 0.0
    if not (BARE_DIR / "models").exists() or not any((BARE_DIR / "models").glob("*.tar.gz")):
        shutil.rmtree(BARE_DIR, ignore_errors=True)
        BARE_DIR.mkdir(parents=True)
        start = time.monotonic()
        subprocess.run([str(RASA), "init", "--no-prompt", "--init-dir", str(BARE_DIR)], check=True, capture_output=True)
        train_s = round(time.monotonic() - start, 1)
    port = free_port()
    with open(BARE_DIR / "rasa.log", "ab") as log:  # the child keeps its own handle
        proc = subprocess.Popen(
            [str(RASA), "run", "--interface", "127.0.0.1", "--port", str(port)],
            cwd=BARE_DIR,
            env=child_environ(RASA_TELEMETRY_ENABLED="false"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/webhooks/rest/", 300, proc)
    return proc, url, train_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", choices=["curve"], help="run only this part")
    args = parser.parse_args(argv)
    if args.only == "curve":
        path = ROOT / "var" / "bench.json"
        previous = json.loads(path.read_text()) if path.exists() else {}
        write_report({**previous, "curve": run_curve()})
        return 0
    report: dict[str, Any] = {}
    stack = Stack(ports=Ports(free_port(), free_port(), free_port()), env={"STAFF_TOKEN": uuid.uuid4().hex})
    stack.start(timeout=300)
    try:
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        auth = stack.rest_headers()
        report["ours"] = {f"c{c}": load(url, list(OURS), c, n, check_ours, auth) for c, n in ((1, 30), (8, 80))}
        report["curve"] = curve(url, _server_pids(stack), headers=auth)
        report["ours"]["rss_mb"] = {name: _rss_mb(p.pid) for name, p in stack.processes.items()}
        report["ours"]["ready_s"] = dict(stack.ready_seconds)
        stack.stop("actions")
        stack.start_actions()
        stack.wait_ready(120, names=("actions",))
        report["ours"]["actions_ready_cached_s"] = stack.ready_seconds["actions"]
    finally:
        stack.stop()
    proc, bare_url, train_s = bare_bot()
    try:
        bare = f"{bare_url}/webhooks/rest/webhook"
        report["bare"] = {f"c{c}": load(bare, BARE, c, n, check_bare) for c, n in ((1, 30), (8, 80))}
        report["bare"]["rss_mb"] = _rss_mb(proc.pid)
        if train_s:
            report["bare"]["train_s"] = train_s
    finally:
        stop_process_group(proc)
    report["action_server_answer"] = action_latency()
    start = time.monotonic()
    subprocess.run(
        [
            str(RASA),
            "train",
            "--force",
            "--out",
            str(ROOT / "var" / "bench" / "ours-model"),
            "--fixed-model-name",
            "bench",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env=child_environ(RASA_TELEMETRY_ENABLED="false"),
    )
    report["ours"]["train_s"] = round(time.monotonic() - start, 1)
    report["ratios"] = {
        f"c{c}": {
            "p50": round(report["ours"][f"c{c}"]["p50_ms"] / report["bare"][f"c{c}"]["p50_ms"], 2),
            "throughput": round(
                report["ours"][f"c{c}"]["throughput_rps"] / report["bare"][f"c{c}"]["throughput_rps"], 2
            ),
        }
        for c in (1, 8)
    }
    write_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
