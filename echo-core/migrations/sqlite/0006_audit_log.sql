-- The audit trail (issue 6): replaces the placeholder `audit_events` of 0001, which no code
-- wrote, with the hash-chained table, its head and its retention checkpoints.
-- See docs/audit.md for the chain: hash = SHA-256(prev_hash || canonical JSON of the body).

DROP TRIGGER audit_events_no_update;
DROP INDEX audit_events_by_account;
DROP INDEX audit_events_by_time;
DROP TABLE audit_events;

CREATE TABLE audit_events (
    -- Assigned by the appender (head.seq + 1) inside the write transaction: gap-free.
    seq             INTEGER NOT NULL PRIMARY KEY,
    -- NULL for events about no account. No FK: the trail must outlive an erased account.
    account_id      BLOB,
    at              INTEGER NOT NULL,
    -- api_key | host | admin | system, and the key id / component name.
    actor           TEXT    NOT NULL,
    actor_id        TEXT,
    action          TEXT    NOT NULL,
    target_type     TEXT,
    target_id       TEXT,
    result          TEXT    NOT NULL DEFAULT 'success',
    error_kind      TEXT,
    request_id      TEXT,
    correlation_id  TEXT,
    -- JSON object.
    details         TEXT    NOT NULL DEFAULT '{}',
    -- Erasable personal data: not hashed into the chain; their salted digest is.
    ip              TEXT,
    user_agent      TEXT,
    personal_salt   BLOB,
    personal_digest BLOB,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL
) STRICT;

-- Serves: an account's trail -- WHERE account_id = ? [AND action = ?] [AND at ...] AND seq > ? ORDER BY seq.
CREATE INDEX audit_events_by_account ON audit_events (account_id, seq);
-- Serves: retention -- SELECT MIN(seq) ... WHERE at >= ?; time-range queries.
CREATE INDEX audit_events_by_time ON audit_events (at);

-- Events are never edited, except that erasure may clear the personal columns (ip,
-- user agent, salt) and nothing else. Retention deletes whole old prefixes.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (
    NEW.ip IS NULL AND NEW.user_agent IS NULL AND NEW.personal_salt IS NULL
    AND NEW.seq IS OLD.seq AND NEW.account_id IS OLD.account_id AND NEW.at IS OLD.at
    AND NEW.actor IS OLD.actor AND NEW.actor_id IS OLD.actor_id AND NEW.action IS OLD.action
    AND NEW.target_type IS OLD.target_type AND NEW.target_id IS OLD.target_id
    AND NEW.result IS OLD.result AND NEW.error_kind IS OLD.error_kind
    AND NEW.request_id IS OLD.request_id AND NEW.correlation_id IS OLD.correlation_id
    AND NEW.details IS OLD.details AND NEW.personal_digest IS OLD.personal_digest
    AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (only erasure may clear ip, user_agent and personal_salt)');
END;

-- The newest event: one row, read and advanced by every append in its write transaction,
-- so verification can tell a truncated chain from a complete one.
CREATE TABLE audit_chain_head (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    hash       BLOB    NOT NULL,
    updated_at INTEGER
) STRICT;
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Where verification starts after retention: the seq and hash of the last purged event.
CREATE TABLE audit_checkpoints (
    seq           INTEGER NOT NULL PRIMARY KEY,
    hash          BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    purged_before INTEGER NOT NULL
) STRICT;
