"""Lists what the clinicians review that is older than the window (KB_REVIEW_DAYS, default 365): facts, the
medicines' safety properties and the safety screen's data (bot/safety/data, bot/nlp/data).
`python -m bot.knowledge.audit [--days N] [--today YYYY-MM-DD]`; exits 1 when any is stale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from bot.knowledge.loader import default_knowledge_base
from bot.safety.lexicon import check_all, safety_entries, stale_entries
from bot.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=get_settings().kb_review_days)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    window = f"last reviewed more than {args.days} days before {args.today}."
    kb = default_knowledge_base()
    stale = kb.stale_facts(args.today, args.days)
    total = len(kb.facts())
    for ref in stale:
        print(f"{ref.fact.reviewed}  {ref.key:35}  {ref.fact.source}")
    print(f"{len(stale)} of {total} facts {window}")
    stale_properties = kb.stale_safety(args.today, args.days)
    for prop in stale_properties:
        print(f"{prop.prop.reviewed}  {prop.key:35}  {prop.prop.source}")
    print(f"{len(stale_properties)} of {len(kb.safety_properties())} medicine safety properties {window}")
    check_all()  # a bad safety file fails here, like a bad knowledge-base file above
    stale_data = stale_entries(args.today, args.days)
    for entry in stale_data:
        print(f"{entry.reviewed}  {entry.file:35}  {entry.kind} {entry.name}")
    print(f"{len(stale_data)} of {len(safety_entries())} safety data entries {window}")
    return 1 if stale or stale_properties or stale_data else 0


if __name__ == "__main__":
    sys.exit(main())
