"""One typed settings object, read from the environment (secrets come only from there)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    clinic_name: str
    clinic_phone: str
    # Weekday numbers (Mon=0) and local opening hours, e.g. "0-4 08:00-17:00".
    clinic_hours: str
    clinic_timezone: str
    staff_token: str
    staff_webhook_url: str
    database_url: str  # PostgreSQL URL for the handoff store; empty means SQLite
    handoff_db_path: Path
    kb_review_days: int
    retention_days: int
    cache_dir: Path
    encoder_threads: int  # ONNX Runtime threads per process

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            clinic_name=env("CLINIC_NAME", "the eczema clinic"),
            clinic_phone=env("CLINIC_PHONE", "555-0100"),
            clinic_hours=env("CLINIC_HOURS", "0-4 08:00-17:00"),
            clinic_timezone=env("CLINIC_TIMEZONE", "America/Los_Angeles"),
            staff_token=env("STAFF_TOKEN", ""),
            staff_webhook_url=env("STAFF_WEBHOOK_URL", ""),
            database_url=env("DATABASE_URL", ""),
            handoff_db_path=Path(env("HANDOFF_DB_PATH", str(ROOT / "var" / "handoff.sqlite"))),
            kb_review_days=_int("KB_REVIEW_DAYS", 365),
            retention_days=_int("RETENTION_DAYS", 90),
            cache_dir=Path(env("BOT_CACHE_DIR", str(ROOT / "var" / "cache"))),
            encoder_threads=max(1, _int("ENCODER_THREADS", 1)),
        )
