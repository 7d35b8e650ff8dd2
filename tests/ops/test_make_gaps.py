"""`make gaps` lists the unanswered questions per medicine, most asked first, within the window."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.handoff.gaps import Gap, record_gap
from bot.handoff.sqlite import SqliteHandoffStore
from bot.ops.gaps import format_gaps, main

ROOT = Path(__file__).resolve().parents[2]


def fill(path: Path) -> None:
    store = SqliteHandoffStore(path)
    today = datetime.now(timezone.utc).date()
    for _ in range(4):
        record_gap(store, Gap("methotrexate", "alcohol", "not_covered"))
    record_gap(store, Gap("methotrexate", "vaccines", "not_covered"))
    for _ in range(2):
        record_gap(store, Gap("dupilumab", "costs and insurance", "not_covered"))
    record_gap(store, Gap(None, None, "out_of_scope"))
    record_gap(store, Gap("cyclosporine", "travel", "not_covered"), day=today - timedelta(days=40))


def test_make_gaps_prints_medicines_by_total_then_aspects_by_count(tmp_path: Path) -> None:
    db = tmp_path / "handoff.sqlite"
    fill(db)
    env = {**os.environ, "HANDOFF_DB_PATH": str(db), "DATABASE_URL": ""}
    out = subprocess.run(
        ["make", "-s", "gaps", "DAYS=30"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    lines = out.strip().splitlines()
    assert lines[0] == "Unanswered questions in the last 30 days, most asked first:"
    assert lines[1:] == [
        "methotrexate: 5",
        "       4  alcohol  [not_covered]",
        "       1  vaccines  [not_covered]",
        "dupilumab: 2",
        "       2  costs and insurance  [not_covered]",
        "(no medicine named): 1",
        "       1  (aspect unknown)  [out_of_scope]",
    ]  # cyclosporine's row is 40 days old


def test_the_default_window_is_90_days_and_an_empty_store_says_so(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "handoff.sqlite"
    monkeypatch.setenv("HANDOFF_DB_PATH", str(db))
    monkeypatch.setenv("DATABASE_URL", "")
    assert main([]) == 0
    assert capsys.readouterr().out.strip() == "No unanswered questions recorded in the last 90 days."
    fill(db)
    main([])
    assert "cyclosporine: 1" in capsys.readouterr().out
    assert format_gaps([], 7) == "No unanswered questions recorded in the last 7 days."
