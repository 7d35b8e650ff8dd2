"""End-to-end evaluation through the REST channel.

Sets, reported separately: the old set (tests/eval/*.yml and ../shared/eval/examples.yml when present), the two
halves of the independent public set (tests/eval/public/dev.yml, frozen.yml) and two dev-only probes
(urgency_probe.yml, answer_probe.yml), all but the old set scored by bot.quality.public_set. Each case goes to a
running bot (BOT_URL) or to one it starts; the reply to its last turn is scored; the report is printed and written
to var/eval-report.json.
Exits 1 when a gate of the old set fails: answer accuracy or out-of-scope handling below 95%, emergency/urgent
recall below 100%, false escalations above 5%, or any answer about the wrong medicine. The public set's targets
are reported, not gates; the frozen half's cases are neither printed nor written one by one.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from bot.constants import ROOT, URGENCY_RANK
from bot.quality import public_set
from bot.settings import get_settings

EVAL_DIR = ROOT / "tests" / "eval"
PUBLIC_SETS = {
    "public_dev": EVAL_DIR / "public" / "dev.yml",
    "public_frozen": EVAL_DIR / "public" / "frozen.yml",
    # dev-only, written after the urgency work of issue 12: fresh emergencies, lookalikes and routine situations
    "urgency_probe": EVAL_DIR / "public" / "urgency_probe.yml",
    # dev-only, written 2026-12-02 from the deck: in-domain questions and uncovered aspects, for answerability
    "answer_probe": EVAL_DIR / "public" / "answer_probe.yml",
    # dev-only, written 2026-12-02 (session 7) from the deck, all kinds; scored once before any change of that
    # session (README), then tuned on
    "fresh_probe": EVAL_DIR / "public" / "fresh_probe.yml",
    # dev-only, written 2026-12-02 (session 7) after the triage work of that session: 90 lookalikes, 40 emergencies,
    # 20 routine or urgent situations; scored once before any change it led to, then tuned on
    "triage_probe": EVAL_DIR / "public" / "triage_probe.yml",
    # dev-only, written 2026-12-02 (session 9) from the deck by a helper that read no code: 150 in-domain questions
    # naming their aspect mostly by an idea, 50 uncovered aspects; scored once before the change it led to
    "aspect_probe": EVAL_DIR / "public" / "aspect_probe.yml",
    # validation-only, written 2026-12-02 (session 9) from the deck by a helper that read no code: 130 in-domain
    # questions, 70 lookalikes; like the frozen half, scored as figures only (its cases are not printed)
    "holdout_probe": EVAL_DIR / "public" / "holdout_probe.yml",
    # dev-only, written 2026-12-03 (session 11) from the deck by a helper that read no code: 150 in-domain
    # questions, 50 uncovered aspects; scored as figures only on the tree before that session's change and after
    # the topic reader (README), then opened and tuned on
    "session11_probe": EVAL_DIR / "public" / "session11_probe.yml",
    # dev-only, written 2026-12-04 (session 13) from the deck by a helper that read no code: 160 in-domain
    # questions, 40 uncovered aspects; scored as figures only on the tree the session started from (README), then
    # opened
    "session13_probe": EVAL_DIR / "public" / "session13_probe.yml",
    # dev-only, written 2026-12-04 (session 14) from the deck by a helper that read no code: 150 in-domain
    # questions, 50 uncovered aspects; scored as figures only on the tree the session started from (README), then
    # opened
    "session14_probe": EVAL_DIR / "public" / "session14_probe.yml",
}
SET_NAMES = ("old", *PUBLIC_SETS)
# Sets scored as figures only: their cases are never printed or written to the report.
HIDDEN_SETS = frozenset({"public_frozen", "holdout_probe"})
SHARED_EXAMPLES = ROOT.parent / "shared" / "eval" / "examples.yml"
REPORT = ROOT / "var" / "eval-report.json"
EMERGENCY_WORDING = re.compile(r"911|emergency|poison control|988", re.IGNORECASE)


@dataclass
class Result:
    id: str
    file: str
    expect: str
    category: str
    urgency: str | None
    passed: bool
    kind: str | None
    got_urgency: str | None
    got_drug: str | None
    wrong_drug: bool
    latency_ms: float
    text: str
    problems: list[str] = field(default_factory=list)
    topic: str | None = None  # the answer's topic (custom "topic")
    emergency_wording: bool = False  # the first text sent is emergency wording (the disclaimer comes after it)


def load_cases(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in paths:
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append((path.name, case))
    return cases


def default_paths() -> list[Path]:
    paths = sorted(EVAL_DIR.glob("*.yml"))
    return paths + ([SHARED_EXAMPLES] if SHARED_EXAMPLES.exists() else [])


def send(url: str, sender: str, text: str, headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], float]:
    start = time.perf_counter()
    resp = requests.post(url, json={"sender": sender, "message": text}, headers=headers, timeout=60)
    elapsed = (time.perf_counter() - start) * 1000
    resp.raise_for_status()
    return resp.json(), elapsed


def score(file: str, case: dict[str, Any], messages: list[dict[str, Any]], latency: float) -> Result:
    customs = [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]
    texts = [m["text"] for m in messages if m.get("text")]
    text = " ".join(texts)
    kinds = [c.get("kind") for c in customs]
    main = next((c for c in customs if c.get("kind") in ("handoff", "answer")), customs[0] if customs else {})
    expect = case["expect"]
    problems: list[str] = []
    got_drug = main.get("drug") if main.get("kind") == "answer" else None
    wrong_drug = bool(case.get("drug") and main.get("kind") == "answer" and got_drug != case["drug"])
    if expect == "answer":
        if "answer" not in kinds and not (case.get("allow_handoff") and "handoff" in kinds):
            problems.append(f"expected an answer, got {kinds}")
        elif "answer" in kinds:
            problems += [f"missing /{rx}/" for rx in case.get("all", []) if not re.search(rx, text, re.IGNORECASE)]
        if wrong_drug:
            problems.append(f"answered about {got_drug}, expected {case['drug']}")
    elif expect == "handoff":
        if "handoff" not in kinds:
            problems.append(f"expected a handoff, got {kinds}")
        else:
            want = case.get("urgency")
            got = main.get("urgency")
            # urgency "any" (public set): scored only as reaching staff
            if isinstance(want, str) and want in URGENCY_RANK and URGENCY_RANK.get(got or "", -1) < URGENCY_RANK[want]:
                problems.append(f"urgency {got}, expected {want}")
            if want == "emergency" and not EMERGENCY_WORDING.search(text):
                problems.append("no emergency wording")
    elif expect == "no_answer":
        if "answer" in kinds:
            problems.append("answered, expected no answer")
    return Result(
        id=str(case["id"]),
        file=file,
        expect=expect,
        category=str(case.get("category") or expect),
        urgency=case.get("urgency"),
        passed=not problems,
        kind=main.get("kind"),
        got_urgency=main.get("urgency"),
        got_drug=got_drug,
        wrong_drug=wrong_drug,
        latency_ms=latency,
        text=text[:300],
        problems=problems,
        topic=main.get("topic") if main.get("kind") == "answer" else None,
        emergency_wording=bool(texts and EMERGENCY_WORDING.search(texts[0])),
    )


def run_cases(
    base_url: str, cases: list[tuple[str, dict[str, Any]]], headers: dict[str, str] | None = None
) -> list[Result]:
    """Every case through the REST channel; `headers` carry the REST key (default: REST_API_KEY)."""
    url = base_url.rstrip("/") + "/webhooks/rest/webhook"
    if headers is None:
        from bot.ops.stack import rest_headers

        headers = rest_headers()
    results = []
    for file, case in cases:
        sender = f"eval-{case['id']}-{uuid.uuid4().hex[:8]}"
        messages: list[dict[str, Any]] = []
        latency = 0.0
        for turn in case["turns"]:
            messages, latency = send(url, sender, turn, headers)
        results.append(score(file, case, messages, latency))
    return results


def _rate(results: list[Result]) -> float | None:
    return round(sum(r.passed for r in results) / len(results), 4) if results else None


def summarize(results: list[Result]) -> dict[str, Any]:
    answers = [r for r in results if r.expect == "answer"]
    no_answers = [r for r in results if r.expect == "no_answer"]
    handoffs = [r for r in results if r.expect == "handoff"]
    latencies = sorted(r.latency_ms for r in results) or [0.0]
    per_category: dict[str, float | None] = {}
    for category in sorted({r.category for r in results}):
        per_category[category] = _rate([r for r in results if r.category == category])
    recall = {u: _rate([r for r in handoffs if r.urgency == u]) for u in ("emergency", "urgent", "routine")}
    not_escalating = [r for r in results if r.expect in ("answer", "no_answer")]
    false_escalations = [r for r in not_escalating if r.kind == "handoff" and not (r.expect == "answer" and r.passed)]
    pairs: dict[str, list[bool]] = {}
    for r in results:
        if re.fullmatch(r".*-p\d+[ab]", r.id):
            pairs.setdefault(r.id[:-1], []).append(r.passed)
    return {
        "cases": len(results),
        "pairs_answered_alike": sum(len(set(v)) == 1 for v in pairs.values()),
        "pairs": len(pairs),
        "answer_accuracy": _rate(answers),
        "out_of_scope_handling": _rate(no_answers),
        "safety_recall": _rate(handoffs),
        "safety_recall_by_urgency": recall,
        "false_escalation_rate": round(len(false_escalations) / len(not_escalating), 4) if not_escalating else None,
        "wrong_medicine_answers": sum(r.wrong_drug for r in results),
        "per_category": per_category,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1),
        },
    }


def gates(summary: dict[str, Any]) -> list[str]:
    failed = []
    for key in ("answer_accuracy", "out_of_scope_handling"):
        if summary[key] is not None and summary[key] < 0.95:
            failed.append(f"{key} {summary[key]:.1%} < 95%")
    for urgency in ("emergency", "urgent"):
        value = summary["safety_recall_by_urgency"][urgency]
        if value is not None and value < 1.0:
            failed.append(f"{urgency} recall {value:.1%} < 100%")
    if summary["false_escalation_rate"] is not None and summary["false_escalation_rate"] > 0.05:
        failed.append(f"false escalations {summary['false_escalation_rate']:.1%} > 5%")
    if summary["wrong_medicine_answers"]:
        failed.append(f"{summary['wrong_medicine_answers']} answers about the wrong medicine")
    return failed


def evaluate(
    base_url: str,
    paths: list[Path],
    ready_seconds: dict[str, float] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, Any], list[Result]]:
    """The old set: its summary (what `gates` checks) and results; writes the report of this set alone."""
    results = run_cases(base_url, load_cases(paths), headers)
    summary = summarize(results)
    if ready_seconds:
        summary["ready_seconds"] = ready_seconds
    write_report(summary, results, {})
    return summary, results


def evaluate_public(base_url: str, name: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One half of the public set: its figures, the targets missed and (dev half only) the cases one by one."""
    path = PUBLIC_SETS[name]
    cases = [case for _, case in load_cases([path])]
    results = run_cases(base_url, [(path.name, case) for case in cases], headers)
    summary = public_set.summarize_public(cases, results)
    report: dict[str, Any] = {"summary": summary, "targets_missed": public_set.missed_targets(summary)}
    if name not in HIDDEN_SETS:
        scores = public_set.scores_of(cases, results)
        report["results"] = [{**asdict(s), "text": r.text} for s, r in zip(scores, results, strict=True)]
    return report


def write_report(summary: dict[str, Any], results: list[Result], public: dict[str, dict[str, Any]]) -> None:
    """var/eval-report.json: the old set's summary and results at the top (as before), every set under "sets"."""
    old = {"old": {"summary": summary, "gates_failed": gates(summary)}} if summary else {}
    report: dict[str, Any] = {"summary": summary, "results": [asdict(r) for r in results]} if summary else {}
    report["sets"] = {**old, **public}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))


def print_report(summary: dict[str, Any], results: list[Result]) -> None:
    for r in results:
        if not r.passed:
            print(f"FAIL {r.file}:{r.id} [{r.expect}] {'; '.join(r.problems)} :: {r.text[:160]!r}")
    print(json.dumps(summary, indent=2))


def print_public(name: str, report: dict[str, Any]) -> None:
    for case in report.get("results", []):
        if not case["passed"]:
            print(f"FAIL {name}:{case['id']} [{case['kind']}] {'; '.join(case['problems'])} :: {case['text'][:160]!r}")
    print(f"== {name}")
    print(json.dumps(report["summary"], indent=2))
    for line in report["targets_missed"]:
        print(f"TARGET MISSED ({name}, reported, not a gate): {line}")


def run(
    base_url: str,
    paths: list[Path],
    sets: list[str],
    ready: dict[str, float] | None = None,
    headers: dict[str, str] | None = None,
) -> list[str]:
    """Evaluate the chosen sets, print and write the report; returns the old set's failed gates."""
    summary: dict[str, Any] = {}
    results: list[Result] = []
    if "old" in sets:
        summary, results = evaluate(base_url, paths, ready, headers)
        print("== old")
        print_report(summary, results)
    public = {name: evaluate_public(base_url, name, headers) for name in PUBLIC_SETS if name in sets}
    for name, report in public.items():
        print_public(name, report)
    write_report(summary, results, public)
    return gates(summary) if summary else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="cases of the old set (default: all of it)")
    parser.add_argument("--url", default=get_settings().bot_url, help="a running bot (default: start one)")
    parser.add_argument("--sets", default=",".join(SET_NAMES), help=f"comma-separated, of {', '.join(SET_NAMES)}")
    args = parser.parse_args(argv)
    paths = args.paths or default_paths()
    sets = [s for s in args.sets.split(",") if s]
    if unknown := set(sets) - set(SET_NAMES):
        parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    if args.url:
        failed = run(args.url, paths, sets)
    else:
        from bot.ops.stack import running

        with running() as stack:
            failed = run(stack.rasa_url, paths, sets, stack.ready_seconds, stack.rest_headers())
    for line in failed:
        print(f"GATE FAILED: {line}")
    print(f"report: {REPORT.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
