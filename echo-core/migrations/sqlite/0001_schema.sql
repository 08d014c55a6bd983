-- Echo schema for SQLite: every table of the design, so later features only add migrations.
--
-- Conventions
--   * Every table is STRICT: a value of the wrong type is an error, not a silent coercion.
--   * Ids are UUIDs (v7, time-ordered) stored as 16-byte BLOBs (sqlx binds uuid::Uuid that
--     way). Blobs compare with memcmp, so v7 ids sort by creation time.
--   * Timestamps are INTEGER unix epoch MILLISECONDS (UTC): comparisons are integer
--     comparisons, index friendly, and the precision matches what the store promises
--     (crate::store::truncate_to_millis). A NULL timestamp means "not yet / never".
--   * u64 quantities (seed, tokens) are stored as INTEGER (i64). The run seed is stored as
--     the i64 with the same bit pattern, so every u64 seed round-trips.
--   * JSON documents (experiment specs, scopes, audit details) are TEXT holding JSON.
--   * Tenant data carries account_id; every store query filters on it.
--   * Foreign keys are enforced (PRAGMA foreign_keys = ON on every connection) and cascade
--     accounts -> experiments -> runs -> samples -> mentions / citations, so deleting an
--     experiment (or erasing an account) removes everything below it in one statement.
--   * Each index names, in a comment, the query it serves.

-- Tenants.
CREATE TABLE accounts (
    id                    BLOB    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL,
    -- The host's own id for the tenant; UNIQUE so a host can map back (NULLs never collide).
    external_id           TEXT    UNIQUE,
    tier                  TEXT    NOT NULL,
    status                TEXT    NOT NULL DEFAULT 'active'
                                  CHECK (status IN ('active', 'blocked', 'deleting', 'deleted')),
    created_at            INTEGER NOT NULL,
    blocked_at            INTEGER,
    blocked_reason        TEXT,
    deletion_requested_at INTEGER,
    deleted_at            INTEGER
) STRICT;

-- API keys: only the SHA-256 of the secret is stored; `prefix` is what UIs display.
CREATE TABLE api_keys (
    id           BLOB    NOT NULL PRIMARY KEY,
    account_id   BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Serves: verify a presented key -- SELECT ... FROM api_keys WHERE key_hash = ?
    key_hash     BLOB    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    -- JSON array of scope names, e.g. ["experiments:read","runs:write"].
    scopes       TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
) STRICT;

-- Serves: list an account's keys -- WHERE account_id = ? ORDER BY created_at DESC, id DESC
CREATE INDEX api_keys_by_account ON api_keys (account_id, created_at DESC, id DESC);

CREATE TABLE experiments (
    id            BLOB    NOT NULL PRIMARY KEY,
    account_id    BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Copy of spec.name, kept in step with the spec, for listings without JSON parsing.
    name          TEXT    NOT NULL,
    -- The ExperimentSpec as JSON.
    spec          TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Recurring runs (scheduler): kind ('interval' | 'cron'), its expression, and the next
    -- due time; all NULL for an unscheduled experiment.
    schedule_kind TEXT    CHECK (schedule_kind IN ('interval', 'cron')),
    schedule_expr TEXT,
    next_run_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Serves: list_experiments keyset page --
--   WHERE account_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?
-- (the listing has no status filter; an archived-filter would add `status` after account_id).
CREATE INDEX experiments_by_account ON experiments (account_id, created_at DESC, id DESC);

-- Serves: scheduler due scan -- WHERE next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at
-- Partial: unscheduled experiments (the vast majority) are not in it.
CREATE INDEX experiments_due ON experiments (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE runs (
    id              BLOB    NOT NULL PRIMARY KEY,
    -- Denormalized from the experiment (no FK of its own: the experiment's cascades from the
    -- account, and enqueue_run checks that the experiment belongs to this account).
    account_id      BLOB    NOT NULL,
    experiment_id   BLOB    NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    -- Snapshot of the ExperimentSpec (JSON) at enqueue time.
    spec            TEXT    NOT NULL,
    status          TEXT    NOT NULL
                            CHECK (status IN ('pending', 'running', 'completed', 'partial', 'failed', 'cancelled')),
    planned_samples INTEGER NOT NULL CHECK (planned_samples >= 0),
    seed            INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    -- For scheduled runs: the due time (ms) this run fulfils; NULL for on-demand runs.
    scheduled_slot  INTEGER
) STRICT;

-- Serves: list_runs keyset page --
--   WHERE experiment_id = ? AND account_id = ? AND (created_at, id) < (?, ?)
--   ORDER BY created_at DESC, id DESC LIMIT ?
-- and delete_experiment's "any unfinished run?" check. experiment_id comes first so the same
-- index also serves the ON DELETE CASCADE from experiments (SQLite finds child rows by the FK
-- column alone, and would scan the table without a leftmost experiment_id).
CREATE INDEX runs_by_experiment ON runs (experiment_id, account_id, created_at DESC, id DESC);

-- Serves: the scheduler's idempotence -- at most one run per experiment and due slot, even
-- when two schedulers race.
CREATE UNIQUE INDEX runs_scheduled_slot ON runs (experiment_id, scheduled_slot) WHERE scheduled_slot IS NOT NULL;

-- One LLM call of a run; also the work queue (status pending -> leased -> succeeded | failed,
-- or cancelled).
CREATE TABLE samples (
    id               BLOB    NOT NULL PRIMARY KEY,
    run_id           BLOB    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    -- Denormalized from the run (no FK: the run cascades from its experiment and account).
    account_id       BLOB    NOT NULL,
    provider         TEXT    NOT NULL,
    model            TEXT    NOT NULL,
    prompt_index     INTEGER NOT NULL CHECK (prompt_index >= 0),
    repeat_index     INTEGER NOT NULL CHECK (repeat_index >= 0),
    status           TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'leased', 'succeeded', 'failed', 'cancelled')),
    -- Number of claims so far; completions are fenced by (lease_owner, attempt).
    attempt          INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    -- The answer; NULL until answered and again once erased by retention.
    raw_answer       TEXT,
    -- The provider's whole response body (JSON), for re-analysis of what the normalized
    -- columns do not hold; erased by retention together with raw_answer.
    raw_response     TEXT,
    answer_sha256    TEXT,
    served_model     TEXT,
    request_id       TEXT,
    finish_reason    TEXT,
    input_tokens     INTEGER,
    output_tokens    INTEGER,
    -- Cost in billionths of a US dollar (exact integer sums), when the pricing table knows the model.
    cost_nano_usd    INTEGER,
    latency_ms       INTEGER,
    -- The last failed attempt's error (kept after a later success, for diagnosis).
    error_class      TEXT,
    error_message    TEXT,
    last_error_at    INTEGER,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    anonymized_at    INTEGER,
    -- JSON describing PII redactions applied to raw_answer (privacy), NULL if none.
    redactions       TEXT,
    -- Serves: idempotent persistence on the natural key, and load_samples --
    --   WHERE run_id = ? ORDER BY provider, model, prompt_index, repeat_index (no sort step).
    UNIQUE (run_id, provider, model, prompt_index, repeat_index)
) STRICT;

-- Serves: sample_counts -- SELECT status, count(*) WHERE run_id = ? GROUP BY status (covering),
-- and the run-scoped claim of pending samples --
--   WHERE run_id = ? AND status = 'pending' ORDER BY rowid LIMIT ? (equality on both columns,
--   so entries come out in rowid = enqueue order, covering: no table access),
-- and cancel_pending_samples -- WHERE run_id = ? AND status = 'pending'.
CREATE INDEX samples_by_run_status ON samples (run_id, status);

-- Serves: the claim of pending samples from ANY run (distributed workers) --
--   WHERE status = 'pending' ORDER BY run_id, rowid LIMIT ?
-- Run ids are v7 UUIDs, so this is "oldest run first, then enqueue order": the scan stops after
-- LIMIT entries. Partial: only pending samples are in it, so it shrinks as work completes.
CREATE INDEX samples_pending ON samples (run_id) WHERE status = 'pending';

-- Serves: lease expiry, for one run or for all --
--   WHERE status = 'leased' AND lease_expires_at < ? [AND run_id = ?] ORDER BY lease_expires_at
-- both for rescuing expired leases and for failing samples whose attempts are exhausted.
-- Partial: only samples in flight are in it (a few hundred), so it stays tiny.
CREATE INDEX samples_leased ON samples (lease_expires_at) WHERE status = 'leased';

-- Serves: retention sweep -- WHERE raw_answer IS NOT NULL AND completed_at < ? (erase old answers).
CREATE INDEX samples_retention ON samples (completed_at) WHERE raw_answer IS NOT NULL;

-- Brands named in an answer: one row per (sample, brand). WITHOUT ROWID: rows are small and
-- always read by sample, so clustering them on the primary key saves a lookup.
CREATE TABLE mentions (
    sample_id   BLOB    NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    brand       TEXT    NOT NULL,
    -- Byte offset / length of the first occurrence (named byte_* because OFFSET is an SQL keyword).
    byte_offset INTEGER NOT NULL CHECK (byte_offset >= 0),
    byte_len    INTEGER NOT NULL CHECK (byte_len >= 0),
    count       INTEGER NOT NULL CHECK (count >= 1),
    rank        INTEGER NOT NULL CHECK (rank >= 1),
    list_index  INTEGER,
    -- Serves: load a sample's mentions (join from samples), the delete-before-insert of a
    -- re-delivered success, and the FK cascade from samples.
    PRIMARY KEY (sample_id, brand)
) STRICT, WITHOUT ROWID;

-- Sources cited by an answer, in the provider's order.
CREATE TABLE citations (
    sample_id  BLOB    NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    url        TEXT    NOT NULL,
    domain     TEXT    NOT NULL,
    title      TEXT,
    cited_text TEXT,
    -- Serves: load a sample's citations in order, delete-before-insert, FK cascade.
    PRIMARY KEY (sample_id, position)
) STRICT, WITHOUT ROWID;

-- Monthly (or host-defined) quota windows per account.
CREATE TABLE quota_periods (
    account_id       BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    period_start     INTEGER NOT NULL,
    period_end       INTEGER NOT NULL,
    samples_limit    INTEGER NOT NULL,
    samples_used     INTEGER NOT NULL DEFAULT 0,
    samples_reserved INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL,
    -- Serves: current period of an account -- WHERE account_id = ? AND period_start <= ? ORDER BY period_start DESC.
    PRIMARY KEY (account_id, period_start),
    CHECK (period_end > period_start),
    CHECK (samples_used >= 0 AND samples_reserved >= 0)
) STRICT;

-- Samples reserved for a run before it spends anything; settled (committed / refunded) when
-- the run finishes, or released when the hold expires.
CREATE TABLE reservations (
    id           BLOB    NOT NULL PRIMARY KEY,
    account_id   BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    run_id       BLOB    REFERENCES runs (id) ON DELETE SET NULL,
    period_start INTEGER NOT NULL,
    samples      INTEGER NOT NULL CHECK (samples >= 0),
    status       TEXT    NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'committed', 'refunded', 'expired')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    settled_at   INTEGER
) STRICT;

-- Serves: an account's reservations -- WHERE account_id = ? AND status = 'held'.
CREATE INDEX reservations_by_account ON reservations (account_id, status);
-- Serves: expiring stale holds -- WHERE status = 'held' AND expires_at < ?
CREATE INDEX reservations_held_expiry ON reservations (expires_at) WHERE status = 'held';
-- Serves: settle a run's reservation -- WHERE run_id = ? (and ON DELETE SET NULL from runs).
CREATE INDEX reservations_by_run ON reservations (run_id) WHERE run_id IS NOT NULL;

-- GCRA rate-limit state: one theoretical arrival time per (key, policy).
CREATE TABLE rate_limits (
    key    TEXT    NOT NULL,
    policy TEXT    NOT NULL,
    -- Theoretical arrival time in unix MICROseconds: GCRA emission intervals at high rates are
    -- sub-millisecond, so this one column is finer than the millisecond convention (hence _us).
    tat_us INTEGER NOT NULL,
    PRIMARY KEY (key, policy)
) STRICT, WITHOUT ROWID;

-- The audit trail: an append-only hash chain (hash = H(prev_hash || event)).
CREATE TABLE audit_events (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    -- NULL for system events. No FK: the trail must outlive an erased account.
    account_id BLOB,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT,
    -- JSON object.
    details    TEXT    NOT NULL DEFAULT '{}',
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL UNIQUE
) STRICT;

-- Serves: an account's trail in time order -- WHERE account_id = ? AND at >= ? ORDER BY at.
CREATE INDEX audit_events_by_account ON audit_events (account_id, at);
-- Serves: audit retention -- DELETE ... WHERE at < ?
CREATE INDEX audit_events_by_time ON audit_events (at);

-- Audit events are never edited (retention may delete the oldest ones).
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- Consent records: append-only; a withdrawal is a new row with granted = 0.
CREATE TABLE consents (
    id         BLOB    NOT NULL PRIMARY KEY,
    -- No FK: proof of consent (or its withdrawal) must survive the account it concerns.
    account_id BLOB    NOT NULL,
    subject    TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
    at         INTEGER NOT NULL,
    source     TEXT,
    -- JSON object.
    details    TEXT    NOT NULL DEFAULT '{}'
) STRICT;

-- Serves: current consent -- WHERE account_id = ? AND subject = ? AND purpose = ? ORDER BY at DESC LIMIT 1.
CREATE INDEX consents_lookup ON consents (account_id, subject, purpose, at DESC);

CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
BEGIN
    SELECT RAISE(ABORT, 'consents is append-only: record a new consent instead');
END;

-- Right-to-erasure requests, executed after a grace period.
CREATE TABLE deletion_requests (
    id            BLOB    NOT NULL PRIMARY KEY,
    -- No FK: the request records the erasure of the very account it names.
    account_id    BLOB    NOT NULL,
    requested_by  TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    execute_after INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'cancelled')),
    completed_at  INTEGER,
    -- JSON object (what was erased, counts).
    details       TEXT    NOT NULL DEFAULT '{}'
) STRICT;

-- Serves: due erasures -- WHERE status = 'pending' AND execute_after <= ? ORDER BY execute_after.
CREATE INDEX deletion_requests_due ON deletion_requests (execute_after) WHERE status = 'pending';
-- Serves: an account's requests -- WHERE account_id = ?
CREATE INDEX deletion_requests_by_account ON deletion_requests (account_id);

-- Leader election for singletons (the scheduler): one row per role; the holder renews
-- `expires_at`, another process takes over once it has passed.
CREATE TABLE leader_leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
