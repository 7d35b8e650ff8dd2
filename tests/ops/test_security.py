"""bot/ops/security.py: the allow-list's format and how findings are judged against it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ops.security import AllowListError, Report, check_audit, check_bandit, load_allow_list, parse_allow_list

REASON = "The vulnerable parser is never given untrusted input here."


def test_the_projects_allow_list_is_valid_and_every_entry_has_a_reason() -> None:
    allow = load_allow_list()
    assert set(allow.packages) == {".venv", ".venv-rasa"}
    assert allow.bandit and all(count >= 1 for count in allow.bandit.values())


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"pip-audit": {".venv": [{"id": "PYSEC-1", "package": "x"}]}}, "needs a reason"),
        ({"pip-audit": {".venv": [{"id": "PYSEC-1", "package": "x", "reason": "ok"}]}}, "needs a reason"),
        ({"pip-audit": {".venv": [{"package": "x", "reason": REASON}]}}, "needs an id"),
        ({"pip-audit": {".venv": [{"id": "PYSEC-1", "reason": REASON}]}}, "and a package"),
        ({"pip-audit": {".venv-other": []}}, "one list per environment"),
        ({"pip-audit": {".venv": ["PYSEC-1"]}}, "each entry is a mapping"),
        ({"bandit": [{"id": "B608", "file": "bot/x.py"}]}, "needs a reason"),
        ({"bandit": [{"id": "608", "file": "bot/x.py", "reason": REASON}]}, "bandit test id"),
        ({"bandit": [{"id": "B608", "reason": REASON}]}, "and a file"),
        ({"bandit": [{"id": "B608", "file": "bot/x.py", "count": 0, "reason": REASON}]}, "positive integer"),
        ({"safety": []}, "two sections"),
        ([], "two sections"),
    ],
)
def test_a_malformed_allow_list_is_refused(data: Any, problem: str) -> None:
    with pytest.raises(AllowListError, match=problem):
        parse_allow_list(data)


def audit(*deps: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(deps), "fixes": []}


def vulnerable(name: str, vuln_id: str, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    vuln = {"id": vuln_id, "aliases": list(aliases), "fix_versions": ["9.9"], "description": "..."}
    return {"name": name, "version": "1.0", "vulns": [vuln]}


def test_an_unaccepted_vulnerability_fails_and_an_accepted_one_passes_by_id_or_alias() -> None:
    allow = parse_allow_list(
        {"pip-audit": {".venv-rasa": [{"id": "CVE-2024-1", "package": "Sanic", "reason": REASON}]}}
    )
    report = Report([], [])
    result = audit(vulnerable("sanic", "PYSEC-2024-9", ("CVE-2024-1",)), vulnerable("jinja2", "GHSA-aaaa"))
    check_audit(".venv-rasa", result, allow.packages[".venv-rasa"], report)
    assert report.errors == [".venv-rasa: jinja2 1.0 has GHSA-aaaa (fixed in: 9.9)"]
    assert report.warnings == []


def test_the_same_id_in_another_package_or_environment_is_not_accepted() -> None:
    allow = parse_allow_list({"pip-audit": {".venv-rasa": [{"id": "PYSEC-1", "package": "sanic", "reason": REASON}]}})
    report = Report([], [])
    check_audit(".venv", audit(vulnerable("sanic", "PYSEC-1")), allow.packages[".venv"], report)
    check_audit(".venv-rasa", audit(vulnerable("aiohttp", "PYSEC-1")), allow.packages[".venv-rasa"], report)
    assert len(report.errors) == 2


def test_stale_entries_and_unaudited_packages_warn() -> None:
    allow = parse_allow_list({"pip-audit": {".venv": [{"id": "PYSEC-1", "package": "old", "reason": REASON}]}})
    report = Report([], [])
    skipped = {"name": "numpy", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    check_audit(
        ".venv", audit(skipped, {"name": "rich", "version": "13", "vulns": []}), allow.packages[".venv"], report
    )
    assert report.errors == []
    assert any("PYSEC-1 (old) no longer matches" in w for w in report.warnings)
    assert any("1 of 2 packages could not be audited" in w and "numpy" in w for w in report.warnings)


def finding(test_id: str, file: str, line: int) -> dict[str, Any]:
    return {"test_id": test_id, "filename": file, "line_number": line}


def test_bandit_findings_beyond_the_accepted_count_fail_and_fewer_warn() -> None:
    entries = [
        {"id": "B608", "file": "bot/store.py", "count": 2, "reason": REASON},
        {"id": "B101", "file": "bot/screen.py", "count": 2, "reason": REASON},
    ]
    allow = parse_allow_list({"bandit": entries})
    results = [finding("B608", "bot/store.py", n) for n in (3, 9, 12)] + [finding("B101", "bot/screen.py", 5)]
    results.append(finding("B301", "bot/new.py", 7))
    report = Report([], [])
    check_bandit({"results": results}, allow.bandit, report)
    assert report.errors == [
        "bandit: B301 in bot/new.py (lines 7): 1 found, 0 accepted",
        "bandit: B608 in bot/store.py (lines 3, 9, 12): 3 found, 2 accepted",
    ]
    assert report.warnings == ["bandit: allow-list entry B101 bot/screen.py accepts 2, found 1"]
