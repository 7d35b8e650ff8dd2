"""Handoff to staff: tickets, their SQLite/PostgreSQL stores and spool, the notification outbox, clinic hours."""
