"""The handoff store's tables (both backends; ``{ts}`` is the timestamp type, ``{serial}`` an auto-increment key).

Everything about a ticket goes when the ticket goes (``HandoffStore._delete_where``): its follow-ups, outbox row,
contact (the encrypted way back to the person), replies and notes. The audit log and the staff accounts stay: the
audit log has its own retention (``bot.handoff.audit``) and holds no message text.
"""

# Tables keyed by ticket id that are deleted with their ticket.
TICKET_TABLES = ("handoff_messages", "handoff_outbox", "ticket_contacts", "ticket_replies", "ticket_notes")

# The audit log is append-only in the database too: run these one by one after DDL (PostgreSQL's function body holds
# semicolons, so they are not part of DDL, which that backend splits on ";").
APPEND_ONLY: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS audit_log_append_only BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ),
    "postgres": (
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE OR REPLACE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ),
}

SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGSERIAL PRIMARY KEY"}

DDL = """
CREATE TABLE IF NOT EXISTS handoff_tickets (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    urgency TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    transcript TEXT NOT NULL,
    status TEXT NOT NULL,
    claimed_by TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    claimed_at {ts},
    resolved_at {ts}
);
CREATE INDEX IF NOT EXISTS handoff_tickets_conversation
    ON handoff_tickets (conversation_id, created_at);
CREATE INDEX IF NOT EXISTS handoff_tickets_status ON handoff_tickets (status, created_at);
CREATE INDEX IF NOT EXISTS handoff_tickets_updated ON handoff_tickets (updated_at);
CREATE TABLE IF NOT EXISTS handoff_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_messages_ticket ON handoff_messages (ticket_id, created_at);
CREATE TABLE IF NOT EXISTS handoff_outbox (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {ts} NOT NULL,
    lease_token TEXT,
    lease_until {ts},
    sent_at {ts},
    last_error TEXT,
    created_at {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_outbox_ticket ON handoff_outbox (ticket_id);
CREATE INDEX IF NOT EXISTS handoff_outbox_due
    ON handoff_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS content_gaps (
    day TEXT NOT NULL,
    drug TEXT NOT NULL,
    aspect TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, drug, aspect, reason)
);
CREATE TABLE IF NOT EXISTS ticket_contacts (
    ticket_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at {ts} NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_replies (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    staff TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_id TEXT,
    error TEXT,
    created_at {ts} NOT NULL,
    read_at {ts}
);
CREATE INDEX IF NOT EXISTS ticket_replies_ticket ON ticket_replies (ticket_id, created_at);
CREATE INDEX IF NOT EXISTS ticket_replies_conversation ON ticket_replies (conversation_id, created_at);
CREATE TABLE IF NOT EXISTS ticket_notes (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    staff TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_notes_ticket ON ticket_notes (ticket_id, created_at);
CREATE TABLE IF NOT EXISTS staff_accounts (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    last_totp_step BIGINT NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until {ts},
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at {ts} NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id {serial},
    at {ts} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    ticket_id TEXT,
    remote TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE TABLE IF NOT EXISTS conversation_outcomes (
    day TEXT NOT NULL,
    outcome TEXT NOT NULL,
    conversation TEXT NOT NULL,
    PRIMARY KEY (day, outcome, conversation)
)
"""
