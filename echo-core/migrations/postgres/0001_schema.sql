-- Echo schema for PostgreSQL: the same tables, constraints and cascades as
-- migrations/sqlite/0001_schema.sql, in native types, so later features only add migrations.
--
-- Conventions (and why they differ from, or match, SQLite)
--   * Ids are `uuid` (v7, time-ordered). PostgreSQL compares uuids byte by byte, exactly as
--     SQLite compares the 16-byte blobs and as Rust orders `uuid::Uuid`, so keyset cursors
--     and "oldest run first" mean the same thing on both backends.
--   * Timestamps are `bigint` unix epoch MILLISECONDS (UTC), not `timestamptz`: the store
--     promises millisecond precision (crate::store::truncate_to_millis) and `timestamptz`
--     keeps microseconds, so a value would only round-trip after truncation in every query;
--     the keyset cursor carries milliseconds, and with `bigint` the cursor, the comparisons
--     and the conversion code are identical to SQLite's. NULL means "not yet / never".
--   * Every integer is `bigint`: u32 quantities (prompt/repeat indexes, attempts, offsets)
--     do not all fit `integer`, and u64 ones (seed, tokens) need 64 bits; the run seed is stored as the i64 with the
--     same bit pattern, so every u64 seed round-trips. Costs are `bigint` nano-USD (exact sums).
--   * JSON documents we produce (experiment and run specs, audit and consent details) are
--     `jsonb`. The provider's raw response stays `text`: it is kept verbatim (jsonb would
--     reorder keys and drop duplicates) and a provider that sends a malformed body must not
--     make the whole completion batch fail.
--   * Hashes are `bytea` (api key and audit hashes). `answer_sha256` stays hex `text`, the
--     form the model carries.
--   * Target names (`provider`, `model`) use COLLATE "C": reports order samples by target
--     byte-wise, as Rust and SQLite do; a locale collation would order them differently.
--   * There is no rowid: `samples.seq` (an identity column) records enqueue order for claims.
--   * Tenant data carries account_id; every store query filters on it.
--   * Foreign keys cascade accounts -> experiments -> runs -> samples -> mentions / citations.
--     PostgreSQL does not index referencing columns by itself: every FK below is the leading
--     column of some index, so cascades never scan a child table.
--   * Each index names, in a comment, the query it serves.

-- Tenants.
CREATE TABLE accounts (
    id                    uuid    NOT NULL PRIMARY KEY,
    name                  text    NOT NULL,
    -- The host's own id for the tenant; UNIQUE so a host can map back (NULLs never collide).
    external_id           text    UNIQUE,
    tier                  text    NOT NULL,
    status                text    NOT NULL DEFAULT 'active'
                                  CHECK (status IN ('active', 'blocked', 'deleting', 'deleted')),
    created_at            bigint  NOT NULL,
    blocked_at            bigint,
    blocked_reason        text,
    deletion_requested_at bigint,
    deleted_at            bigint
);

-- API keys: only the SHA-256 of the secret is stored; `prefix` is what UIs display.
CREATE TABLE api_keys (
    id           uuid    NOT NULL PRIMARY KEY,
    account_id   uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Serves: verify a presented key -- SELECT ... FROM api_keys WHERE key_hash = $1
    -- (the UNIQUE constraint's index, api_keys_key_hash_key).
    key_hash     bytea   NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    prefix       text    NOT NULL,
    name         text    NOT NULL,
    -- Scope names, e.g. {experiments:read,runs:write}.
    scopes       text[]  NOT NULL DEFAULT '{}',
    created_at   bigint  NOT NULL,
    expires_at   bigint,
    revoked_at   bigint,
    last_used_at bigint
);

-- Serves: list an account's keys -- WHERE account_id = $1 ORDER BY created_at DESC, id DESC
-- (read backwards), and the FK cascade from accounts.
CREATE INDEX api_keys_by_account ON api_keys (account_id, created_at, id);

CREATE TABLE experiments (
    id            uuid    NOT NULL PRIMARY KEY,
    account_id    uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Copy of spec.name, kept in step with the spec, for listings without JSON parsing.
    name          text    NOT NULL,
    -- The ExperimentSpec.
    spec          jsonb   NOT NULL,
    status        text    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Recurring runs (scheduler): kind ('interval' | 'cron'), its expression, and the next
    -- due time; all NULL for an unscheduled experiment.
    schedule_kind text    CHECK (schedule_kind IN ('interval', 'cron')),
    schedule_expr text,
    next_run_at   bigint,
    created_at    bigint  NOT NULL,
    updated_at    bigint  NOT NULL
);

-- Serves: list_experiments keyset page --
--   WHERE account_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4
-- read backwards from the cursor (the row comparison is an index condition: no filter step,
-- no sort), and the FK cascade from accounts.
CREATE INDEX experiments_by_account ON experiments (account_id, created_at, id);

-- Serves: scheduler due scan -- WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at
-- Partial: unscheduled experiments (the vast majority) are not in it.
CREATE INDEX experiments_due ON experiments (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE runs (
    id              uuid    NOT NULL PRIMARY KEY,
    -- Denormalized from the experiment (no FK of its own: the experiment's cascades from the
    -- account, and enqueue_run checks that the experiment belongs to this account).
    account_id      uuid    NOT NULL,
    experiment_id   uuid    NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    -- Snapshot of the ExperimentSpec at enqueue time.
    spec            jsonb   NOT NULL,
    status          text    NOT NULL
                            CHECK (status IN ('pending', 'running', 'completed', 'partial', 'failed', 'cancelled')),
    planned_samples bigint  NOT NULL CHECK (planned_samples >= 0),
    seed            bigint  NOT NULL,
    created_at      bigint  NOT NULL,
    started_at      bigint,
    finished_at     bigint,
    -- For scheduled runs: the due time (ms) this run fulfils; NULL for on-demand runs.
    scheduled_slot  bigint
);

-- Serves: list_runs keyset page --
--   WHERE experiment_id = $2 AND account_id = $1 AND (created_at, id) < ($3, $4)
--   ORDER BY created_at DESC, id DESC LIMIT $5
-- and delete_experiment's "any unfinished run?" check, and the FK cascade from experiments.
CREATE INDEX runs_by_experiment ON runs (experiment_id, account_id, created_at, id);

-- Serves: the dashboard's runs by status of an account -- WHERE account_id = $1 GROUP BY status.
CREATE INDEX runs_by_account ON runs (account_id, status);

-- Serves: the scheduler's idempotence -- at most one run per experiment and due slot, even
-- when two schedulers race.
CREATE UNIQUE INDEX runs_scheduled_slot ON runs (experiment_id, scheduled_slot) WHERE scheduled_slot IS NOT NULL;

-- One LLM call of a run; also the work queue (status pending -> leased -> succeeded | failed,
-- or cancelled).
CREATE TABLE samples (
    id               uuid    NOT NULL PRIMARY KEY,
    -- Enqueue order (PostgreSQL has no rowid): claims take pending samples in this order.
    seq              bigint  GENERATED ALWAYS AS IDENTITY,
    run_id           uuid    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    -- Denormalized from the run (no FK: the run cascades from its experiment and account).
    account_id       uuid    NOT NULL,
    provider         text    COLLATE "C" NOT NULL,
    model            text    COLLATE "C" NOT NULL,
    prompt_index     bigint  NOT NULL CHECK (prompt_index >= 0),
    repeat_index     bigint  NOT NULL CHECK (repeat_index >= 0),
    status           text    NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'leased', 'succeeded', 'failed', 'cancelled')),
    -- Number of claims so far; completions are fenced by (lease_owner, attempt).
    attempt          bigint  NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    lease_owner      text,
    lease_expires_at bigint,
    -- The answer; NULL until answered and again once erased by retention.
    raw_answer       text,
    -- The provider's whole response body, verbatim (see the header), for re-analysis;
    -- erased by retention together with raw_answer.
    raw_response     text,
    answer_sha256    text,
    served_model     text,
    request_id       text,
    finish_reason    text,
    input_tokens     bigint,
    output_tokens    bigint,
    -- Cost in billionths of a US dollar (exact integer sums), when the pricing table knows the model.
    cost_nano_usd    bigint,
    latency_ms       bigint,
    -- The last failed attempt's error (kept after a later success, for diagnosis).
    error_class      text,
    error_message    text,
    last_error_at    bigint,
    created_at       bigint  NOT NULL,
    completed_at     bigint,
    anonymized_at    bigint,
    -- Describes PII redactions applied to raw_answer (privacy), NULL if none.
    redactions       jsonb,
    -- Serves: idempotent persistence on the natural key, load_samples --
    --   WHERE run_id = $2 AND account_id = $1 ORDER BY provider, model, prompt_index, repeat_index
    -- (index order, no sort step), and the FK cascade from runs.
    CONSTRAINT samples_natural_key UNIQUE (run_id, provider, model, prompt_index, repeat_index)
);

-- Serves: sample_counts -- SELECT status, count(*) WHERE run_id = $2 GROUP BY status (an
-- index-only scan once vacuum has marked the pages visible), and cancel_pending_samples --
-- WHERE run_id = $2 AND status = 'pending'.
CREATE INDEX samples_by_run_status ON samples (run_id, status);

-- Serves: both claims of pending samples, in one index --
--   one run:  WHERE run_id = $3 AND status = 'pending' ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED
--   any run:  WHERE status = 'pending' ORDER BY run_id, seq LIMIT $3 FOR UPDATE SKIP LOCKED
-- Run ids are v7 UUIDs, so "any run" is oldest run first, then enqueue order, and the scan
-- stops after LIMIT entries. Partial: only pending samples are in it, so it shrinks as work
-- completes and claimers skipping each other's locked rows skip few entries.
CREATE INDEX samples_pending ON samples (run_id, seq) WHERE status = 'pending';

-- Serves: lease expiry, for one run or for all --
--   WHERE status = 'leased' AND lease_expires_at < $1 [AND run_id = $n] ORDER BY lease_expires_at
-- both for rescuing expired leases and for failing samples whose attempts are exhausted.
-- Partial: only samples in flight are in it (a few hundred), so it stays tiny.
CREATE INDEX samples_leased ON samples (lease_expires_at) WHERE status = 'leased';

-- Serves: retention sweep -- WHERE raw_answer IS NOT NULL AND completed_at < $1 (erase old answers).
CREATE INDEX samples_retention ON samples (completed_at) WHERE raw_answer IS NOT NULL;

-- Serves: the dashboard's in-flight samples of an account --
--   SELECT status, count(*) FROM samples WHERE account_id = $1 AND status IN ('pending', 'leased')
-- Partial: only queued and running work is in it (finished samples are counted by the rollups).
CREATE INDEX samples_in_flight ON samples (account_id, status) WHERE status IN ('pending', 'leased');

-- Brands named in an answer: one row per (sample, brand).
CREATE TABLE mentions (
    sample_id   uuid    NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    brand       text    COLLATE "C" NOT NULL,
    -- Byte offset / length of the first occurrence (named byte_* because OFFSET is an SQL keyword).
    byte_offset bigint  NOT NULL CHECK (byte_offset >= 0),
    byte_len    bigint  NOT NULL CHECK (byte_len >= 0),
    count       bigint  NOT NULL CHECK (count >= 1),
    rank        bigint  NOT NULL CHECK (rank >= 1),
    list_index  bigint,
    -- Serves: load a sample's mentions (join from samples), the delete-before-insert of a
    -- re-delivered success, and the FK cascade from samples.
    PRIMARY KEY (sample_id, brand)
);

-- Sources cited by an answer, in the provider's order.
CREATE TABLE citations (
    sample_id  uuid    NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
    position   bigint  NOT NULL CHECK (position >= 0),
    url        text    NOT NULL,
    domain     text    NOT NULL,
    title      text,
    cited_text text,
    -- Serves: load a sample's citations in order, delete-before-insert, FK cascade.
    PRIMARY KEY (sample_id, position)
);

-- Dashboard rollups: the finished samples of each run counted per target and UTC day, kept
-- by the store in the same transaction as the state change they count (a completion, a
-- cancellation, a lease expiring on its last attempt). A sample reaches a final state once,
-- so it is counted once; the rows cascade with their run. Dashboards read these few rows
-- instead of aggregating millions of samples and mentions.
CREATE TABLE sample_rollups (
    run_id        uuid    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    account_id    uuid    NOT NULL,
    provider      text    COLLATE "C" NOT NULL,
    model         text    COLLATE "C" NOT NULL,
    -- Start of the UTC day (unix ms) the samples finished on.
    day           bigint  NOT NULL,
    answered      bigint  NOT NULL DEFAULT 0 CHECK (answered >= 0),
    failed        bigint  NOT NULL DEFAULT 0 CHECK (failed >= 0),
    cancelled     bigint  NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    -- Summed cost of the answered samples that had a price, and how many had one.
    cost_nano_usd bigint  NOT NULL DEFAULT 0,
    priced        bigint  NOT NULL DEFAULT 0 CHECK (priced >= 0),
    -- Serves: the upsert of each counted change, and the FK cascade from runs.
    PRIMARY KEY (run_id, provider, model, day)
);

-- Serves: account_summary and visibility_by_target --
--   WHERE account_id = $1 AND day >= $2 GROUP BY provider, model
CREATE INDEX sample_rollups_by_account ON sample_rollups (account_id, day);

-- Per brand, the answered samples naming it, per run, target and UTC day (as above).
CREATE TABLE mention_rollups (
    run_id     uuid    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    account_id uuid    NOT NULL,
    provider   text    COLLATE "C" NOT NULL,
    model      text    COLLATE "C" NOT NULL,
    day        bigint  NOT NULL,
    brand      text    COLLATE "C" NOT NULL,
    samples    bigint  NOT NULL CHECK (samples >= 0),
    -- Serves: the upsert and the FK cascade from runs.
    PRIMARY KEY (run_id, provider, model, day, brand)
);

-- Serves: visibility_by_target -- WHERE account_id = $1 AND day >= $2 GROUP BY provider, model, brand
CREATE INDEX mention_rollups_by_account ON mention_rollups (account_id, day);

-- Monthly (or host-defined) quota windows per account.
CREATE TABLE quota_periods (
    account_id       uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    period_start     bigint  NOT NULL,
    period_end       bigint  NOT NULL,
    samples_limit    bigint  NOT NULL,
    samples_used     bigint  NOT NULL DEFAULT 0,
    samples_reserved bigint  NOT NULL DEFAULT 0,
    updated_at       bigint  NOT NULL,
    -- Serves: current period of an account -- WHERE account_id = $1 AND period_start <= $2
    -- ORDER BY period_start DESC LIMIT 1, and the FK cascade.
    PRIMARY KEY (account_id, period_start),
    CHECK (period_end > period_start),
    CHECK (samples_used >= 0 AND samples_reserved >= 0)
);

-- Samples reserved for a run before it spends anything; settled (committed / refunded) when
-- the run finishes, or released when the hold expires.
CREATE TABLE reservations (
    id           uuid    NOT NULL PRIMARY KEY,
    account_id   uuid    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    run_id       uuid    REFERENCES runs (id) ON DELETE SET NULL,
    period_start bigint  NOT NULL,
    samples      bigint  NOT NULL CHECK (samples >= 0),
    status       text    NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'committed', 'refunded', 'expired')),
    created_at   bigint  NOT NULL,
    expires_at   bigint  NOT NULL,
    settled_at   bigint
);

-- Serves: an account's reservations -- WHERE account_id = $1 AND status = 'held'; FK cascade.
CREATE INDEX reservations_by_account ON reservations (account_id, status);
-- Serves: expiring stale holds -- WHERE status = 'held' AND expires_at < $1
CREATE INDEX reservations_held_expiry ON reservations (expires_at) WHERE status = 'held';
-- Serves: settle a run's reservation -- WHERE run_id = $1 (and ON DELETE SET NULL from runs:
-- `run_id = $1` implies `run_id IS NOT NULL`, so the partial index qualifies).
CREATE INDEX reservations_by_run ON reservations (run_id) WHERE run_id IS NOT NULL;

-- GCRA rate-limit state: one theoretical arrival time per (key, policy).
CREATE TABLE rate_limits (
    key    text    NOT NULL,
    policy text    NOT NULL,
    -- Theoretical arrival time in unix MICROseconds: GCRA emission intervals at high rates are
    -- sub-millisecond, so this one column is finer than the millisecond convention (hence _us).
    tat_us bigint  NOT NULL,
    PRIMARY KEY (key, policy)
);

-- The audit trail: an append-only hash chain (hash = H(prev_hash || event)).
CREATE TABLE audit_events (
    seq        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL for system events. No FK: the trail must outlive an erased account.
    account_id uuid,
    at         bigint  NOT NULL,
    actor      text    NOT NULL,
    action     text    NOT NULL,
    target     text,
    details    jsonb   NOT NULL DEFAULT '{}',
    prev_hash  bytea   NOT NULL,
    hash       bytea   NOT NULL UNIQUE
);

-- Serves: an account's trail in time order -- WHERE account_id = $1 AND at >= $2 ORDER BY at.
CREATE INDEX audit_events_by_account ON audit_events (account_id, at);
-- Serves: audit retention -- DELETE ... WHERE at < $1
CREATE INDEX audit_events_by_time ON audit_events (at);

-- Audit events are never edited (retention may delete the oldest ones).
CREATE FUNCTION echo_reject_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only%', TG_TABLE_NAME, coalesce(': ' || TG_ARGV[0], '')
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION echo_reject_update();

-- Consent records: append-only; a withdrawal is a new row with granted = false.
CREATE TABLE consents (
    id         uuid    NOT NULL PRIMARY KEY,
    -- No FK: proof of consent (or its withdrawal) must survive the account it concerns.
    account_id uuid    NOT NULL,
    subject    text    NOT NULL,
    purpose    text    NOT NULL,
    granted    boolean NOT NULL,
    at         bigint  NOT NULL,
    source     text,
    details    jsonb   NOT NULL DEFAULT '{}'
);

-- Serves: current consent -- WHERE account_id = $1 AND subject = $2 AND purpose = $3 ORDER BY at DESC LIMIT 1.
CREATE INDEX consents_lookup ON consents (account_id, subject, purpose, at);

CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
    FOR EACH ROW EXECUTE FUNCTION echo_reject_update('record a new consent instead');

-- Right-to-erasure requests, executed after a grace period.
CREATE TABLE deletion_requests (
    id            uuid    NOT NULL PRIMARY KEY,
    -- No FK: the request records the erasure of the very account it names.
    account_id    uuid    NOT NULL,
    requested_by  text    NOT NULL,
    requested_at  bigint  NOT NULL,
    execute_after bigint  NOT NULL,
    status        text    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'cancelled')),
    completed_at  bigint,
    -- What was erased, counts.
    details       jsonb   NOT NULL DEFAULT '{}'
);

-- Serves: due erasures -- WHERE status = 'pending' AND execute_after <= $1 ORDER BY execute_after.
CREATE INDEX deletion_requests_due ON deletion_requests (execute_after) WHERE status = 'pending';
-- Serves: an account's requests -- WHERE account_id = $1
CREATE INDEX deletion_requests_by_account ON deletion_requests (account_id);

-- Leader election for singletons (the scheduler): one row per role; the holder renews
-- `expires_at`, another process takes over once it has passed.
CREATE TABLE leader_leases (
    name       text    NOT NULL PRIMARY KEY,
    owner      text    NOT NULL,
    expires_at bigint  NOT NULL
);
