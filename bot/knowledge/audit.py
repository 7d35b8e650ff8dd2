"""Lists facts whose review date is older than the window (KB_REVIEW_DAYS, default 365), for the clinicians
who own the content. `python -m bot.knowledge.audit [--days N] [--today YYYY-MM-DD]`; exits 1 when any is stale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from bot.knowledge.loader import default_knowledge_base
from bot.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=get_settings().kb_review_days)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    kb = default_knowledge_base()
    stale = kb.stale_facts(args.today, args.days)
    total = len(kb.facts())
    for ref in stale:
        print(f"{ref.fact.reviewed}  {ref.key:35}  {ref.fact.source}")
    print(f"{len(stale)} of {total} facts last reviewed more than {args.days} days before {args.today}.")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
