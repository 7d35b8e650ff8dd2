"""Attack-style tests against the real local stack: the e2e `stack` fixture (on free ports, 127.0.0.1 only)."""

from __future__ import annotations

from tests.e2e.conftest import stack, twilio

__all__ = ["stack", "twilio"]
