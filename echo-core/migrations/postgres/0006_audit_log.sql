-- The audit trail (issue 6), as migrations/sqlite/0006: replaces the placeholder
-- `audit_events` of 0001, which no code wrote, with the hash-chained table, its head and
-- its retention checkpoints. See docs/audit.md.

DROP TABLE audit_events;

CREATE TABLE audit_events (
    -- Assigned by the appender (head.seq + 1) under the head row's lock: gap-free (an
    -- identity would leave gaps when a transaction rolls back).
    seq             bigint  NOT NULL PRIMARY KEY,
    -- NULL for events about no account. No FK: the trail must outlive an erased account.
    account_id      uuid,
    at              bigint  NOT NULL,
    actor           text    NOT NULL,
    actor_id        text,
    action          text    NOT NULL,
    target_type     text,
    target_id       text,
    result          text    NOT NULL DEFAULT 'success',
    error_kind      text,
    request_id      text,
    correlation_id  text,
    details         jsonb   NOT NULL DEFAULT '{}',
    -- Erasable personal data: not hashed into the chain; their salted digest is.
    ip              text,
    user_agent      text,
    personal_salt   bytea,
    personal_digest bytea,
    prev_hash       bytea   NOT NULL,
    hash            bytea   NOT NULL
);

-- Serves: an account's trail -- WHERE account_id = $1 [AND action = ...] [AND at ...] AND seq > $n ORDER BY seq.
CREATE INDEX audit_events_by_account ON audit_events (account_id, seq);
-- Serves: retention -- SELECT min(seq) ... WHERE at >= $1; time-range queries.
CREATE INDEX audit_events_by_time ON audit_events (at);

-- Events are never edited, except that erasure may clear the personal columns.
CREATE FUNCTION echo_audit_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ip IS NULL AND NEW.user_agent IS NULL AND NEW.personal_salt IS NULL
       AND (NEW.seq, NEW.account_id, NEW.at, NEW.actor, NEW.actor_id, NEW.action, NEW.target_type,
            NEW.target_id, NEW.result, NEW.error_kind, NEW.request_id, NEW.correlation_id,
            NEW.details, NEW.personal_digest, NEW.prev_hash, NEW.hash)
           IS NOT DISTINCT FROM
           (OLD.seq, OLD.account_id, OLD.at, OLD.actor, OLD.actor_id, OLD.action, OLD.target_type,
            OLD.target_id, OLD.result, OLD.error_kind, OLD.request_id, OLD.correlation_id,
            OLD.details, OLD.personal_digest, OLD.prev_hash, OLD.hash)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (only erasure may clear ip, user_agent and personal_salt)'
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION echo_audit_guard_update();

-- The newest event: one row, locked (FOR UPDATE) and advanced by every append, which
-- serializes appends across processes and lets verification detect truncation.
CREATE TABLE audit_chain_head (
    id         smallint NOT NULL PRIMARY KEY CHECK (id = 1),
    seq        bigint   NOT NULL,
    hash       bytea    NOT NULL,
    updated_at bigint
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Where verification starts after retention: the seq and hash of the last purged event.
CREATE TABLE audit_checkpoints (
    seq           bigint NOT NULL PRIMARY KEY,
    hash          bytea  NOT NULL,
    created_at    bigint NOT NULL,
    purged_before bigint NOT NULL
);
