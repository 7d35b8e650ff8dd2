"""`make security`: a dependency audit (pip-audit) of both environments and a static check (bandit).

Every accepted finding is listed in security/allow.yml with an id and a reason. The run fails on a
finding the list does not accept (or when a file has more bandit findings of a kind than accepted), and
warns about entries that no longer match anything. Packages pip-audit could not look up (its
vulnerability service unreachable) are reported; with --strict they fail the run too.
"""

from __future__ import annotations

import argparse
import json
import subprocess  # nosec B404  # runs pip-audit and bandit from this environment, fixed argument lists
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.constants import ROOT

ALLOW_LIST = ROOT / "security" / "allow.yml"
ENVIRONMENTS = {".venv": "python3.11", ".venv-rasa": "python3.10"}
BANDIT_TARGETS = ("bot", "actions")


class AllowListError(ValueError):
    """The allow-list is malformed; the message names the entry."""


@dataclass(frozen=True)
class AllowList:
    packages: dict[str, dict[tuple[str, str], str]]  # environment -> (package, vuln id) -> reason
    bandit: dict[tuple[str, str], int]  # (test id, file) -> accepted findings


@dataclass
class Report:
    errors: list[str]
    warnings: list[str]


def _reason(entry: Any, where: str) -> str:
    if not isinstance(entry, dict):
        raise AllowListError(f"{where}: each entry is a mapping")
    reason = entry.get("reason")
    if not isinstance(reason, str) or len(reason.strip()) < 10:
        raise AllowListError(f"{where}: every entry needs a reason (a sentence, not a word)")
    return reason


def parse_allow_list(data: Any) -> AllowList:
    if not isinstance(data, dict) or set(data) - {"pip-audit", "bandit"}:
        raise AllowListError("the allow-list has two sections: pip-audit and bandit")
    packages: dict[str, dict[tuple[str, str], str]] = {env: {} for env in ENVIRONMENTS}
    audit = data.get("pip-audit") or {}
    if not isinstance(audit, dict) or set(audit) - set(ENVIRONMENTS):
        raise AllowListError(f"pip-audit: one list per environment ({', '.join(ENVIRONMENTS)})")
    for env, entries in audit.items():
        for n, entry in enumerate(entries or [], 1):
            where = f"pip-audit/{env} entry {n}"
            reason = _reason(entry, where)
            if not entry.get("id") or not entry.get("package"):
                raise AllowListError(f"{where}: needs an id (e.g. PYSEC-2023-1, GHSA-...) and a package")
            packages[env][(str(entry["package"]).lower(), str(entry["id"]))] = reason
    bandit: dict[tuple[str, str], int] = {}
    for n, entry in enumerate(data.get("bandit") or [], 1):
        where = f"bandit entry {n}"
        _reason(entry, where)
        count = entry.get("count", 1)
        if not str(entry.get("id", "")).startswith("B") or not entry.get("file"):
            raise AllowListError(f"{where}: needs a bandit test id (B608) and a file")
        if not isinstance(count, int) or count < 1:
            raise AllowListError(f"{where}: count must be a positive integer")
        bandit[(str(entry["id"]), str(entry["file"]))] = count
    return AllowList(packages, bandit)


def load_allow_list(path: Path = ALLOW_LIST) -> AllowList:
    return parse_allow_list(yaml.safe_load(path.read_text(encoding="utf-8")))


def check_audit(env: str, audit: dict[str, Any], allowed: dict[tuple[str, str], str], report: Report) -> None:
    """Judge one pip-audit JSON report (`-f json`) against the environment's accepted findings."""
    matched: set[tuple[str, str]] = set()
    skipped: list[str] = []
    dependencies = audit.get("dependencies", [])
    for dep in dependencies:
        name = str(dep["name"]).lower()
        if "skip_reason" in dep:
            skipped.append(name)
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            hit = next(((name, i) for i in ids if (name, i) in allowed), None)
            if hit:
                matched.add(hit)
            else:
                fix = ", ".join(vuln.get("fix_versions", [])) or "none yet"
                report.errors.append(f"{env}: {name} {dep.get('version')} has {vuln['id']} (fixed in: {fix})")
    for package, vuln_id in sorted(set(allowed) - matched):
        report.warnings.append(f"{env}: allow-list entry {vuln_id} ({package}) no longer matches a finding")
    if skipped:
        report.warnings.append(
            f"{env}: {len(skipped)} of {len(dependencies)} packages could not be audited "
            f"(vulnerability service unreachable or package unknown), e.g. {', '.join(skipped[:5])}"
        )


def check_bandit(result: dict[str, Any], allowed: dict[tuple[str, str], int], report: Report) -> None:
    """Judge bandit's JSON report against the accepted (test id, file) counts."""
    results = result.get("results", [])
    keys = [(str(r["test_id"]), Path(r["filename"]).as_posix()) for r in results]
    found = Counter(keys)
    for key, n in sorted(found.items()):
        accepted = allowed.get(key, 0)
        if n > accepted:
            test_id, file = key
            lines = [str(r["line_number"]) for r, k in zip(results, keys, strict=True) if k == key]
            report.errors.append(
                f"bandit: {test_id} in {file} (lines {', '.join(lines)}): {n} found, {accepted} accepted"
            )
    for key, accepted in sorted(allowed.items()):
        if found.get(key, 0) < accepted:
            report.warnings.append(
                f"bandit: allow-list entry {key[0]} {key[1]} accepts {accepted}, found {found.get(key, 0)}"
            )


def _json_of(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # nosec B603
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}") from None
    return data


def run_pip_audit(env: str, service: str) -> dict[str, Any]:
    site = ROOT / env / "lib" / ENVIRONMENTS[env] / "site-packages"
    if not site.is_dir():
        raise SystemExit(f"{site} is missing: run `make setup` first")
    tool = str(Path(sys.executable).with_name("pip-audit"))
    return _json_of([tool, "--path", str(site), "-s", service, "-f", "json", "--progress-spinner", "off"])


def run_bandit() -> dict[str, Any]:
    tool = str(Path(sys.executable).with_name("bandit"))
    return _json_of([tool, "-q", "-r", *BANDIT_TARGETS, "-c", "pyproject.toml", "-f", "json"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi", help="pip-audit's vulnerability service")
    parser.add_argument("--strict", action="store_true", help="also fail when packages could not be audited")
    args = parser.parse_args(argv)
    allow = load_allow_list()
    report = Report([], [])
    for env in ENVIRONMENTS:
        check_audit(env, run_pip_audit(env, args.service), allow.packages[env], report)
    check_bandit(run_bandit(), allow.bandit, report)
    unaudited = [w for w in report.warnings if "could not be audited" in w]
    for line in report.warnings:
        print(f"WARNING {line}")
    for line in report.errors:
        print(f"ERROR {line}")
    failed = bool(report.errors) or (args.strict and bool(unaudited))
    print("security: " + ("FAILED" if failed else "ok") + f" ({len(report.errors)} findings not accepted)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
