"""`make gaps`: the questions the handouts didn't answer, counted per medicine and aspect (last N days, default 90).

Reads the content-gap counts the action server keeps in the handoff store (no message text is kept). An empty
medicine means none was named; an empty aspect means the bot could not tell what was asked.
"""

from __future__ import annotations

import argparse
import sys

from bot.handoff.gaps import DEFAULT_DAYS, GapCount, by_medicine, top_gaps
from bot.handoff.store import open_store
from bot.settings import get_settings


def format_gaps(counts: list[GapCount], days: int) -> str:
    if not counts:
        return f"No unanswered questions recorded in the last {days} days."
    lines = [f"Unanswered questions in the last {days} days, most asked first:"]
    for drug, total, rows in by_medicine(counts):
        lines.append(f"{drug or '(no medicine named)'}: {total}")
        for row in rows:
            lines.append(f"  {row.count:6d}  {row.aspect or '(aspect unknown)'}  [{row.reason}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--limit", type=int, default=200, help="at most this many (medicine, aspect, reason) rows")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be >= 1")
    counts = top_gaps(open_store(get_settings()), args.days, args.limit)
    print(format_gaps(counts, args.days))
    return 0


if __name__ == "__main__":
    sys.exit(main())
