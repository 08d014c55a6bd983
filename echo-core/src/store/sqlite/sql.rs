//! The statements on the hot paths, as constants: the store runs exactly these, and the
//! EXPLAIN tests (`tests/sqlite_store.rs`) check their plans against the indexes of the
//! migration. Each names the index it is meant to use.
//!
//! Parameters are numbered (`?1`, `?2`...) so one value can appear twice. Times are unix
//! milliseconds, ids 16-byte blobs.

/// Columns of an experiment row, in the order `rows::experiment` reads them.
pub const EXPERIMENT_COLUMNS: &str = "id, account_id, spec, created_at, updated_at";

/// Columns of a run row.
pub const RUN_COLUMNS: &str = "id, account_id, experiment_id, spec, status, planned_samples, seed, created_at, started_at, finished_at, adaptive, correlation_id";

/// One keyset page of an account's experiments, newest first.
/// `?1` account, `(?2, ?3)` the cursor's (created_at, id) — the first page passes a key after
/// every real one —, `?4` limit. Index: `experiments_by_account`, no sort step.
pub const LIST_EXPERIMENTS: &str = "SELECT id, account_id, spec, created_at, updated_at FROM experiments \
     WHERE account_id = ?1 AND (created_at, id) < (?2, ?3) \
     ORDER BY created_at DESC, id DESC LIMIT ?4";

/// One keyset page of an experiment's runs, newest first.
/// `?1` account, `?2` experiment, `(?3, ?4)` cursor, `?5` limit. Index: `runs_by_experiment`.
pub const LIST_RUNS: &str = "SELECT id, account_id, experiment_id, spec, status, planned_samples, seed, \
            created_at, started_at, finished_at, adaptive, correlation_id FROM runs \
     WHERE experiment_id = ?2 AND account_id = ?1 AND (created_at, id) < (?3, ?4) \
     ORDER BY created_at DESC, id DESC LIMIT ?5";

/// Claim step 1: samples whose lease expired after their last allowed attempt fail for good.
/// `?1` now, `?2` max_attempts, `?3` run id or NULL for every run. Index: `samples_leased`.
pub const FAIL_EXHAUSTED_LEASES: &str = "UPDATE samples SET status = 'failed', \
        error_class = 'lease_expired', \
        error_message = 'lease expired after ' || attempt || ' attempts', \
        last_error_at = ?1, completed_at = ?1, lease_owner = NULL, lease_expires_at = NULL \
     WHERE status = 'leased' AND lease_expires_at < ?1 AND attempt >= ?2 AND (?3 IS NULL OR run_id = ?3)";

/// Claim step 1a, just before step 1 in the same write transaction and with the same
/// predicate: counts the samples step 1 is about to fail into `sample_rollups`.
/// `?1` now, `?2` max_attempts, `?3` run id or NULL, `?4` the UTC day of now.
/// Index: `samples_leased`.
pub const ROLLUP_EXHAUSTED_LEASES: &str = "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, failed) \
     SELECT run_id, account_id, provider, model, ?4, count(*) FROM samples \
     WHERE status = 'leased' AND lease_expires_at < ?1 AND attempt >= ?2 AND (?3 IS NULL OR run_id = ?3) \
     GROUP BY run_id, account_id, provider, model \
     ON CONFLICT (run_id, provider, model, day) DO UPDATE SET failed = failed + excluded.failed";

/// Claim step 2: take over expired leases, longest expired first.
/// `?1` owner, `?2` new expiry, `?3` now, `?4` run id or NULL, `?5` limit. Index: `samples_leased`.
pub const CLAIM_EXPIRED: &str = concat!(
    "UPDATE samples SET lease_owner = ?1, lease_expires_at = ?2, attempt = attempt + 1 \
     WHERE rowid IN (SELECT rowid FROM samples \
        WHERE status = 'leased' AND lease_expires_at < ?3 AND (?4 IS NULL OR run_id = ?4) \
        ORDER BY lease_expires_at LIMIT ?5) ",
    "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt"
);

/// Claim step 3 for one run: pending samples in enqueue (rowid) order.
/// `?1` owner, `?2` expiry, `?3` run, `?4` limit. Index: `samples_by_run_status` or
/// `samples_pending` (equality on the leading columns, then rowid order: no sort, covering).
pub const CLAIM_PENDING_FOR_RUN: &str = concat!(
    "UPDATE samples SET status = 'leased', lease_owner = ?1, lease_expires_at = ?2, attempt = attempt + 1 \
     WHERE rowid IN (SELECT rowid FROM samples WHERE run_id = ?3 AND status = 'pending' ORDER BY rowid LIMIT ?4) ",
    "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt"
);

/// Claim step 3 for any run (distributed workers): oldest run first (v7 run ids sort by
/// time), then enqueue order. `?1` owner, `?2` expiry, `?3` limit. Index: `samples_pending`,
/// read in order and stopped after `limit` entries.
pub const CLAIM_PENDING_ANY_RUN: &str = concat!(
    "UPDATE samples SET status = 'leased', lease_owner = ?1, lease_expires_at = ?2, attempt = attempt + 1 \
     WHERE rowid IN (SELECT rowid FROM samples WHERE status = 'pending' ORDER BY run_id, rowid LIMIT ?3) ",
    "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt"
);

/// Fenced success. `?1`..`?9` answer columns, `?10` id, `?11` owner, `?12` attempt, `?13`
/// cost, `?14` raw response, `?15` redaction counts (JSON).
/// Returns the sample's run, account and target when applied (the rollup key).
/// Index: primary key. The last error (if an earlier attempt failed) is kept for diagnosis.
pub const COMPLETE_SUCCEEDED: &str = "UPDATE samples SET status = 'succeeded', raw_answer = ?1, answer_sha256 = ?2, \
        served_model = ?3, request_id = ?4, finish_reason = ?5, input_tokens = ?6, output_tokens = ?7, \
        latency_ms = ?8, completed_at = ?9, cost_nano_usd = ?13, raw_response = ?14, redactions = ?15, lease_owner = NULL, lease_expires_at = NULL \
     WHERE id = ?10 AND status = 'leased' AND lease_owner = ?11 AND attempt = ?12 \
     RETURNING run_id, account_id, provider, model";

/// Fenced final failure. `?1` class, `?2` message, `?3` at, `?4` id, `?5` owner, `?6` attempt.
pub const COMPLETE_FAILED: &str = "UPDATE samples SET status = 'failed', error_class = ?1, error_message = ?2, \
        last_error_at = ?3, completed_at = ?3, lease_owner = NULL, lease_expires_at = NULL \
     WHERE id = ?4 AND status = 'leased' AND lease_owner = ?5 AND attempt = ?6 \
     RETURNING run_id, account_id, provider, model";

/// Fenced transient failure: back to pending, attempt kept. Parameters as [`COMPLETE_FAILED`].
pub const COMPLETE_RETRY: &str = "UPDATE samples SET status = 'pending', error_class = ?1, error_message = ?2, \
        last_error_at = ?3, lease_owner = NULL, lease_expires_at = NULL \
     WHERE id = ?4 AND status = 'leased' AND lease_owner = ?5 AND attempt = ?6 \
     RETURNING run_id, account_id, provider, model";

/// Cancels a run's pending samples. `?1` account, `?2` run, `?3` now.
/// Index: `samples_by_run_status` (or `samples_pending`). In the run-scoped statements the
/// account is written `+account_id`: a filter on the run's rows, never the access path
/// (without it SQLite may pick `samples_by_account` and read every pending sample of the
/// account).
pub const CANCEL_PENDING: &str = "UPDATE samples SET status = 'cancelled', completed_at = ?3 \
     WHERE run_id = ?2 AND +account_id = ?1 AND status = 'pending'";

/// Counts a run's pending samples into `sample_rollups` as cancelled, just before
/// [`CANCEL_PENDING`] in the same write transaction. `?1` account, `?2` run, `?3` the UTC day
/// of now. Index: `samples_by_run_status` (or `samples_pending`).
pub const ROLLUP_CANCEL_PENDING: &str = "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, cancelled) \
     SELECT run_id, account_id, provider, model, ?3, count(*) FROM samples \
     WHERE run_id = ?2 AND +account_id = ?1 AND status = 'pending' \
     GROUP BY run_id, account_id, provider, model \
     ON CONFLICT (run_id, provider, model, day) DO UPDATE SET cancelled = cancelled + excluded.cancelled";

/// Counts of a run's samples by status, in one query; the run row carries the tenant check
/// (no row at all: the run is not visible; a NULL status row: the run has no samples).
/// `?1` account, `?2` run. Index: `samples_by_run_status`, covering (no table access).
pub const SAMPLE_COUNTS: &str = "SELECT s.status AS status, count(s.status) AS n \
     FROM runs r LEFT JOIN samples s ON s.run_id = r.id \
     WHERE r.id = ?2 AND r.account_id = ?1 GROUP BY s.status";

/// A run's samples in report order. `?1` account, `?2` run. Index: the natural-key unique
/// index `(run_id, provider, model, prompt_index, repeat_index)`, so no sort step.
pub const LOAD_SAMPLES: &str = "SELECT id, run_id, provider, model, prompt_index, repeat_index, status, attempt, \
        raw_answer, answer_sha256, served_model, request_id, finish_reason, input_tokens, output_tokens, \
        latency_ms, cost_nano_usd, error_class, error_message, completed_at, anonymized_at, redactions \
     FROM samples WHERE run_id = ?2 AND +account_id = ?1 \
     ORDER BY provider, model, prompt_index, repeat_index";

/// Every mention of a run's samples (assembled per sample in memory). `?1` account, `?2` run.
/// Plan: the run's samples by index, then each sample's mentions by primary key.
pub const LOAD_MENTIONS: &str = "SELECT m.sample_id AS sample_id, m.brand AS brand, m.byte_offset AS byte_offset, \
        m.byte_len AS byte_len, m.count AS count, m.rank AS rank, m.list_index AS list_index \
     FROM samples s JOIN mentions m ON m.sample_id = s.id \
     WHERE s.run_id = ?2 AND +s.account_id = ?1";

/// Every citation of a run's samples. `?1` account, `?2` run. Plan as [`LOAD_MENTIONS`].
pub const LOAD_CITATIONS: &str = "SELECT c.sample_id AS sample_id, c.position AS position, c.url AS url, \
        c.domain AS domain, c.title AS title, c.cited_text AS cited_text \
     FROM samples s JOIN citations c ON c.sample_id = s.id \
     WHERE s.run_id = ?2 AND +s.account_id = ?1";

/// Columns of one enqueued sample row (multi-row INSERT, see `runs::enqueue`).
pub(super) const SAMPLE_INSERT_COLUMNS: &str =
    "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, repeat_index, created_at) VALUES ";
pub(super) const SAMPLE_INSERT_WIDTH: usize = 8;

/// Multi-row INSERT of mentions.
pub(super) const MENTION_INSERT_COLUMNS: &str =
    "INSERT INTO mentions (sample_id, brand, byte_offset, byte_len, count, rank, list_index) VALUES ";
pub(super) const MENTION_INSERT_WIDTH: usize = 7;

/// Multi-row INSERT of citations.
pub(super) const CITATION_INSERT_COLUMNS: &str =
    "INSERT INTO citations (sample_id, position, url, domain, title, cited_text) VALUES ";
pub(super) const CITATION_INSERT_WIDTH: usize = 6;

/// SQLite's limit on bound parameters per statement (since 3.32).
pub(super) const MAX_BOUND_PARAMETERS: usize = 32_766;

/// `prefix` followed by `rows` groups of `width` placeholders: `(?, ?, ?), (?, ?, ?)`.
pub(super) fn multi_row(prefix: &str, rows: usize, width: usize) -> String {
    let group = format!("({})", vec!["?"; width].join(", "));
    let mut sql = String::with_capacity(prefix.len() + rows * (group.len() + 2));
    sql.push_str(prefix);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&group);
    }
    sql
}

/// `prefix` followed by `(?, ?, ...)` with `n` placeholders, for `IN` lists.
pub(super) fn in_list(prefix: &str, n: usize) -> String {
    format!("{prefix}({})", vec!["?"; n].join(", "))
}

/// Splits `n` rows into chunk sizes that are powers of two no larger than `max` (itself a
/// power of two): a few large statements, and only log2(max) + 1 distinct statement texts,
/// so the per-connection statement cache keeps them all prepared.
pub(super) fn pow2_chunks(mut n: usize, max: usize) -> Vec<usize> {
    debug_assert!(max.is_power_of_two());
    let mut sizes = Vec::new();
    while n >= max {
        sizes.push(max);
        n -= max;
    }
    let mut bit = max >> 1;
    while n > 0 {
        if n & bit != 0 {
            sizes.push(bit);
            n -= bit;
        }
        bit >>= 1;
    }
    sizes
}

/// One sample's raw provider response. `?1` account, `?2` sample id. Index: primary key.
pub const RAW_RESPONSE: &str = "SELECT raw_response FROM samples WHERE id = ?2 AND account_id = ?1";

/// Columns of a reservation row, read by `quota::reservation`.
pub const RESERVATION_COLUMNS: &str =
    "id, account_id, period_start, samples, samples_committed, status, created_at, expires_at, settled_at";

/// Reserve step 1: the account's row for the period, if missing. `?1` account, `?2` period
/// start, `?3` period end, `?4` limit, `?5` now. Index: primary key.
pub const QUOTA_PERIOD_CREATE: &str = "INSERT INTO quota_periods \
        (account_id, period_start, period_end, samples_limit, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (account_id, period_start) DO NOTHING";

/// Reserve step 2: the check and the increment in ONE conditional statement — enough
/// samples left in the period, and fewer unexpired held reservations than the tier's
/// concurrency. `?1` account, `?2` period start, `?3` samples, `?4` limit, `?5` now, `?6`
/// max concurrent. Indexes: primary key; `reservations_by_account` for the count.
pub const QUOTA_RESERVE: &str = "UPDATE quota_periods \
     SET samples_reserved = samples_reserved + ?3, samples_limit = ?4, updated_at = ?5 \
     WHERE account_id = ?1 AND period_start = ?2 \
       AND samples_used + samples_reserved + ?3 <= ?4 \
       AND (SELECT count(*) FROM reservations \
            WHERE account_id = ?1 AND status = 'held' AND expires_at > ?5) < ?6";

/// Reserve step 3 (only after step 2 changed the row): the reservation. `?1` id, `?2`
/// account, `?3` period start, `?4` samples, `?5` now, `?6` expiry.
pub const RESERVATION_INSERT: &str = "INSERT INTO reservations \
        (id, account_id, period_start, samples, status, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, 'held', ?5, ?6)";

/// Unexpired held reservations of an account at `?2`. Index: `reservations_by_account`.
pub const QUOTA_ACTIVE_RESERVATIONS: &str =
    "SELECT count(*) FROM reservations WHERE account_id = ?1 AND status = 'held' AND expires_at > ?2";

/// Settle a HELD reservation, at most once (the status guard): charge `min(?3, samples)`.
/// `?1` id, `?2` account, `?3` committed, `?4` now. Returns what the period row needs.
pub const SETTLE_HELD: &str = "UPDATE reservations \
     SET status = CASE WHEN min(?3, samples) > 0 THEN 'committed' ELSE 'refunded' END, \
         samples_committed = min(?3, samples), settled_at = ?4 \
     WHERE id = ?1 AND account_id = ?2 AND status = 'held' \
     RETURNING period_start, samples, samples_committed";

/// Settle an EXPIRED reservation (its hold was already released): only the charge is left
/// to apply. Parameters as [`SETTLE_HELD`].
pub const SETTLE_EXPIRED: &str = "UPDATE reservations \
     SET status = CASE WHEN min(?3, samples) > 0 THEN 'committed' ELSE 'refunded' END, \
         samples_committed = min(?3, samples), settled_at = ?4 \
     WHERE id = ?1 AND account_id = ?2 AND status = 'expired' \
     RETURNING period_start, samples, samples_committed";

/// Apply a settlement to the period row. `?1` account, `?2` period start, `?3` samples no
/// longer reserved, `?4` samples charged, `?5` now. Index: primary key.
pub const QUOTA_APPLY: &str = "UPDATE quota_periods \
     SET samples_reserved = samples_reserved - ?3, samples_used = samples_used + ?4, updated_at = ?5 \
     WHERE account_id = ?1 AND period_start = ?2";

/// Release held reservations past their expiry. `?1` now. Index: `reservations_held_expiry`.
pub const EXPIRE_RESERVATIONS: &str = "UPDATE reservations SET status = 'expired', settled_at = ?1 \
     WHERE status = 'held' AND expires_at < ?1 \
     RETURNING account_id, period_start, samples";

/// GCRA check-and-take in ONE statement: a new bucket starts at `now + increment`; an
/// existing one moves to `max(tat, now) + increment` only if that stays within the
/// tolerance, else it is left alone and nothing is returned (refused). `?1` key, `?2`
/// policy, `?3` now (µs), `?4` increment (µs), `?5` tolerance (µs). Index: primary key.
pub const RATE_LIMIT_TAKE: &str = "INSERT INTO rate_limits (key, policy, tat_us) VALUES (?1, ?2, ?3 + ?4) \
     ON CONFLICT (key, policy) DO UPDATE SET tat_us = max(tat_us, ?3) + ?4 \
     WHERE max(tat_us, ?3) + ?4 - ?5 <= ?3 \
     RETURNING tat_us";

/// A bucket's state, read after a refusal to say when to retry. `?1` key, `?2` policy.
pub const RATE_LIMIT_READ: &str = "SELECT tat_us FROM rate_limits WHERE key = ?1 AND policy = ?2";
/// An account's totals in one statement (one snapshot): whether the account exists, its
/// runs by status, its in-flight samples by status, and its finished samples with their
/// cost from the rollups. Rows: (kind, status, count, cost in nano-USD, priced samples).
/// `?1` account. Indexes: the accounts primary key, `runs_by_account`, `samples_in_flight`,
/// `sample_rollups_by_account`.
pub const ACCOUNT_SUMMARY: &str = "SELECT 'account' AS kind, NULL AS status, count(*) AS n, \
            NULL AS cost_nano_usd, 0 AS priced FROM accounts WHERE id = ?1 \
     UNION ALL SELECT 'run', status, count(*), NULL, 0 FROM runs WHERE account_id = ?1 GROUP BY status \
     UNION ALL SELECT 'sample', status, count(*), NULL, 0 FROM samples \
        WHERE account_id = ?1 AND status IN ('pending', 'leased') GROUP BY status \
     UNION ALL SELECT 'sample', 'succeeded', coalesce(sum(answered), 0), coalesce(sum(cost_nano_usd), 0), \
            coalesce(sum(priced), 0) FROM sample_rollups WHERE account_id = ?1 \
     UNION ALL SELECT 'sample', 'failed', coalesce(sum(failed), 0), NULL, 0 FROM sample_rollups WHERE account_id = ?1 \
     UNION ALL SELECT 'sample', 'cancelled', coalesce(sum(cancelled), 0), NULL, 0 \
        FROM sample_rollups WHERE account_id = ?1";

/// Visibility per target from the rollups: answered samples per (provider, model), and per
/// brand the answered samples naming it. `?1` account, `?2` first UTC day counted (ms;
/// `i64::MIN` for all time). Ordered by provider, model, brand; a target whose answers name
/// no brand has one row with a NULL brand; a target without answers has none.
/// Indexes: `sample_rollups_by_account`, `mention_rollups_by_account`.
pub const VISIBILITY_BY_TARGET: &str = "WITH answered AS ( \
        SELECT provider, model, sum(answered) AS n FROM sample_rollups \
        WHERE account_id = ?1 AND day >= ?2 GROUP BY provider, model HAVING sum(answered) > 0), \
     named AS ( \
        SELECT provider, model, brand, sum(samples) AS n FROM mention_rollups \
        WHERE account_id = ?1 AND day >= ?2 GROUP BY provider, model, brand) \
     SELECT a.provider AS provider, a.model AS model, a.n AS answered, n.brand AS brand, n.n AS mentioned \
     FROM answered a LEFT JOIN named n ON n.provider = a.provider AND n.model = a.model \
     ORDER BY a.provider, a.model, n.brand";

/// Columns of an API key row, in the order `keys::api_key` reads them.
pub const API_KEY_COLUMNS: &str =
    "id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, revoked_at, last_used_at";

/// Authentication's one lookup. `?1` the SHA-256 of the presented key. Index: the UNIQUE
/// constraint's `sqlite_autoindex_api_keys_2` (equality, at most one row; `_1` is the
/// primary key).
pub const FIND_API_KEY_BY_HASH: &str = "SELECT id, account_id, key_hash, prefix, name, scopes, created_at, \
        expires_at, revoked_at, last_used_at FROM api_keys WHERE key_hash = ?1";

/// One keyset page of an account's keys, newest first. `?1` account, `(?2, ?3)` cursor,
/// `?4` limit. Index: `api_keys_by_account`, no sort step.
pub const LIST_API_KEYS: &str = "SELECT id, account_id, key_hash, prefix, name, scopes, created_at, \
        expires_at, revoked_at, last_used_at FROM api_keys \
     WHERE account_id = ?1 AND (created_at, id) < (?2, ?3) \
     ORDER BY created_at DESC, id DESC LIMIT ?4";

/// Revokes one key of an account; a second revocation keeps the first instant.
/// `?1` account, `?2` key id, `?3` now. Index: primary key (`sqlite_autoindex_api_keys_1`).
pub const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3) \
     WHERE id = ?2 AND account_id = ?1 \
     RETURNING id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, revoked_at, last_used_at";

/// Moves one key's `last_used_at` forward. `?1` account, `?2` key id, `?3` instant.
/// Index: primary key (`sqlite_autoindex_api_keys_1`).
pub const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = ?3 \
     WHERE id = ?2 AND account_id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)";
/// Multi-row upsert of a batch's `sample_rollups` deltas (see `queue::write_rollup`).
pub(super) const SAMPLE_ROLLUP_UPSERT: (&str, &str) = (
    "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, answered, failed, cancelled, \
        cost_nano_usd, priced) VALUES ",
    " ON CONFLICT (run_id, provider, model, day) DO UPDATE SET answered = answered + excluded.answered, \
        failed = failed + excluded.failed, cancelled = cancelled + excluded.cancelled, \
        cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, priced = priced + excluded.priced",
);
pub(super) const SAMPLE_ROLLUP_WIDTH: usize = 10;

/// Multi-row upsert of a batch's `mention_rollups` deltas.
pub(super) const MENTION_ROLLUP_UPSERT: (&str, &str) = (
    "INSERT INTO mention_rollups (run_id, account_id, provider, model, day, brand, samples) VALUES ",
    " ON CONFLICT (run_id, provider, model, day, brand) DO UPDATE SET samples = samples + excluded.samples",
);
pub(super) const MENTION_ROLLUP_WIDTH: usize = 7;
/// Heartbeat of one held lease. `?1` new expiry, `?2` id, `?3` owner, `?4` attempt.
/// Index: primary key.
pub const EXTEND_LEASE: &str = "UPDATE samples SET lease_expires_at = ?1 \
     WHERE id = ?2 AND status = 'leased' AND lease_owner = ?3 AND attempt = ?4";

/// Hands one held lease back: pending again, the claim's attempt given back.
/// `?1` id, `?2` owner, `?3` attempt. Index: primary key.
pub const RELEASE_LEASE: &str = "UPDATE samples SET status = 'pending', lease_owner = NULL, \
        lease_expires_at = NULL, attempt = attempt - 1 \
     WHERE id = ?1 AND status = 'leased' AND lease_owner = ?2 AND attempt = ?3";

/// Maintenance: expired leases with attempts left return to pending, the expiry recorded as
/// the last error. `?1` now. Index: `samples_leased`. (Exhausted ones are failed first by
/// [`FAIL_EXHAUSTED_LEASES`] with a NULL run.)
pub const RETURN_EXPIRED_LEASES: &str = "UPDATE samples SET status = 'pending', lease_owner = NULL, \
        lease_expires_at = NULL, error_class = 'lease_expired', \
        error_message = 'lease expired on attempt ' || attempt || ' (the worker stopped responding)', \
        last_error_at = ?1 \
     WHERE status = 'leased' AND lease_expires_at < ?1";

/// The terminal transition of a run, made once: only a pending or running run moves.
/// `?1` account, `?2` run, `?3` status, `?4` now. Index: primary key.
pub const FINALIZE_RUN: &str = "UPDATE runs SET status = ?3, started_at = COALESCE(started_at, ?4), \
        finished_at = ?4 \
     WHERE id = ?2 AND account_id = ?1 AND status IN ('pending', 'running')";

/// Runs left unfinalized: not terminal, no sample pending or leased. `?1` limit.
/// Index: `runs_unfinished` (partial: only unfinished runs), then `samples_by_run_status`
/// per run for the NOT EXISTS.
pub const UNFINALIZED_RUNS: &str = "SELECT r.id AS id, r.account_id AS account_id FROM runs r \
     WHERE r.status IN ('pending', 'running') \
       AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.run_id = r.id AND s.status IN ('pending', 'leased')) \
     ORDER BY r.created_at LIMIT ?1";

/// Sets or clears an experiment's schedule. `?1` account, `?2` experiment, `?3` kind,
/// `?4` expr, `?5` next_run_at (all NULL to clear). Index: primary key.
pub const SET_SCHEDULE: &str = "UPDATE experiments SET schedule_kind = ?3, schedule_expr = ?4, next_run_at = ?5 \
     WHERE id = ?2 AND account_id = ?1";

/// An experiment's schedule. `?1` account, `?2` experiment. Index: primary key.
pub const GET_SCHEDULE: &str = "SELECT schedule_kind, schedule_expr, next_run_at FROM experiments \
     WHERE id = ?2 AND account_id = ?1";

/// The scheduler's due scan. `?1` now, `?2` limit. Index: `experiments_due` (partial: only
/// scheduled experiments), read in order.
pub const DUE_SCHEDULES: &str = "SELECT id, account_id, schedule_kind, schedule_expr, next_run_at FROM experiments \
     WHERE next_run_at IS NOT NULL AND next_run_at <= ?1 ORDER BY next_run_at LIMIT ?2";

/// Compare-and-set of `next_run_at`: moves only from the value the scan saw.
/// `?1` account, `?2` experiment, `?3` expected, `?4` new. Index: primary key.
pub const ADVANCE_SCHEDULE: &str = "UPDATE experiments SET next_run_at = ?4 \
     WHERE id = ?2 AND account_id = ?1 AND next_run_at = ?3";

/// The run of one slot. `?1` account, `?2` experiment, `?3` slot. Index: `runs_scheduled_slot`.
pub const SCHEDULED_RUN: &str = "SELECT id FROM runs \
     WHERE experiment_id = ?2 AND scheduled_slot = ?3 AND account_id = ?1";

/// Takes or renews a leader lease: inserted when absent, taken over when expired or already
/// ours. `?1` name, `?2` owner, `?3` new expiry, `?4` now. Index: primary key.
pub const ACQUIRE_LEADER: &str = "INSERT INTO leader_leases (name, owner, expires_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
     WHERE leader_leases.owner = excluded.owner OR leader_leases.expires_at <= ?4";

/// Renews a leader lease we hold. `?1` name, `?2` owner, `?3` new expiry.
pub const RENEW_LEADER: &str = "UPDATE leader_leases SET expires_at = ?3 WHERE name = ?1 AND owner = ?2";

/// Gives a leader lease up. `?1` name, `?2` owner.
pub const RELEASE_LEADER: &str = "DELETE FROM leader_leases WHERE name = ?1 AND owner = ?2";

#[cfg(test)]
mod tests {
    use super::*;

    /// What a claim returns for each sample (read by `rows::task`); spelled out in each
    /// claim statement because `concat!` takes only literals, so this keeps them in step.
    const CLAIM_RETURNING: &str =
        "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt";

    #[test]
    fn claim_statements_return_the_task_columns() {
        for sql in [CLAIM_EXPIRED, CLAIM_PENDING_FOR_RUN, CLAIM_PENDING_ANY_RUN] {
            assert!(sql.ends_with(CLAIM_RETURNING), "{sql}");
        }
    }

    #[test]
    fn chunks_are_powers_of_two_summing_to_n() {
        for n in [0, 1, 2, 3, 255, 256, 257, 768, 1000, 5000] {
            let sizes = pow2_chunks(n, 512);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= 512));
        }
        assert_eq!(pow2_chunks(768, 512), vec![512, 256]);
    }

    #[test]
    fn placeholders() {
        assert_eq!(multi_row("V ", 2, 3), "V (?, ?, ?), (?, ?, ?)");
        assert_eq!(in_list("x IN ", 3), "x IN (?, ?, ?)");
    }
}
