//! The statements on the hot paths, as constants: the store runs exactly these, and the
//! EXPLAIN tests (`tests/pg_query_plans.rs`) check their plans against the indexes of the
//! migration. Each names the index it is meant to use.
//!
//! Times are unix milliseconds (`bigint`), ids `uuid`. Multi-row statements take whole
//! columns as arrays (`$n::uuid[]`...) and expand them with `UNNEST`, so one statement text
//! (prepared once per connection) serves every batch size.
//!
//! Claims pick their rows as `id = ANY(ARRAY(SELECT id ... LIMIT $n FOR UPDATE SKIP LOCKED))`,
//! not `id IN (SELECT ...)`: a prepared statement soon runs a generic plan, which knows no
//! LIMIT value and estimates the sub-select at 10% of the queue, and then joins it by
//! hashing a sequential scan of `samples` (seen in `tests/pg_query_plans.rs`). The array is
//! computed once and its ids are probed through the primary key, whatever the estimate.

/// Columns of an experiment row, in the order `rows::experiment` reads them.
pub const EXPERIMENT_COLUMNS: &str = "id, account_id, spec, created_at, updated_at";

/// Columns of a run row.
pub const RUN_COLUMNS: &str = "id, account_id, experiment_id, spec, status, planned_samples, seed, created_at, started_at, finished_at, adaptive, correlation_id";

/// One keyset page of an account's experiments, newest first.
/// `$1` account, `($2, $3)` the cursor's (created_at, id) — the first page passes a key after
/// every real one —, `$4` limit. Index: `experiments_by_account`, scanned backward from the
/// cursor (the row comparison is an index condition), no sort step.
pub const LIST_EXPERIMENTS: &str = "SELECT id, account_id, spec, created_at, updated_at FROM experiments \
     WHERE account_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

/// One keyset page of an experiment's runs, newest first.
/// `$1` account, `$2` experiment, `($3, $4)` cursor, `$5` limit. Index: `runs_by_experiment`.
pub const LIST_RUNS: &str = "SELECT id, account_id, experiment_id, spec, status, planned_samples, seed, \
            created_at, started_at, finished_at, adaptive, correlation_id FROM runs \
     WHERE experiment_id = $2 AND account_id = $1 AND (created_at, id) < ($3, $4) \
     ORDER BY created_at DESC, id DESC LIMIT $5";

/// Claim step 1: samples whose lease expired after their last allowed attempt fail for good,
/// counted into `sample_rollups` in the same statement. `$1` now, `$2` max_attempts, `$3` run
/// id or NULL for every run, `$4` the UTC day of now. Returns how many failed.
/// Index: `samples_leased`. Rows another transaction holds (a claimer or a completion) are
/// skipped, not waited for.
pub const FAIL_EXHAUSTED_LEASES: &str = "WITH failed AS ( \
        UPDATE samples SET status = 'failed', \
            error_class = 'lease_expired', \
            error_message = 'lease expired after ' || attempt || ' attempts', \
            last_error_at = $1, completed_at = $1, lease_owner = NULL, lease_expires_at = NULL \
        WHERE id = ANY(ARRAY(SELECT id FROM samples \
            WHERE status = 'leased' AND lease_expires_at < $1 AND attempt >= $2 \
              AND ($3::uuid IS NULL OR run_id = $3) \
            FOR UPDATE SKIP LOCKED)) \
        RETURNING run_id, account_id, provider, model), \
     counted AS (SELECT run_id, account_id, provider, model, count(*) AS n FROM failed \
        GROUP BY run_id, account_id, provider, model), \
     rolled AS (INSERT INTO sample_rollups (run_id, account_id, provider, model, day, failed) \
        SELECT run_id, account_id, provider, model, $4, n FROM counted ORDER BY run_id, provider, model \
        ON CONFLICT (run_id, provider, model, day) DO UPDATE SET failed = sample_rollups.failed + excluded.failed) \
     SELECT coalesce(sum(n), 0)::bigint FROM counted";

/// Claim step 2: take over expired leases, longest expired first.
/// `$1` owner, `$2` new expiry, `$3` now, `$4` run id or NULL, `$5` limit, `$6` max_attempts
/// (a lease on its last attempt is step 1's, even if step 1 skipped it as locked).
/// Index: `samples_leased`.
pub const CLAIM_EXPIRED: &str = concat!(
    "UPDATE samples SET lease_owner = $1, lease_expires_at = $2, attempt = attempt + 1 \
     WHERE id = ANY(ARRAY(SELECT id FROM samples \
        WHERE status = 'leased' AND lease_expires_at < $3 AND attempt < $6 AND ($4::uuid IS NULL OR run_id = $4) \
        ORDER BY lease_expires_at LIMIT $5 FOR UPDATE SKIP LOCKED)) ",
    "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt"
);

/// Claim step 3 for one run: pending samples in enqueue (`seq`) order.
/// `$1` owner, `$2` expiry, `$3` run, `$4` limit. Index: `samples_pending` (equality on
/// run_id, then seq order: no sort, and the scan stops after `limit` unlocked entries).
pub const CLAIM_PENDING_FOR_RUN: &str = concat!(
    "UPDATE samples SET status = 'leased', lease_owner = $1, lease_expires_at = $2, attempt = attempt + 1 \
     WHERE id = ANY(ARRAY(SELECT id FROM samples WHERE run_id = $3 AND status = 'pending' \
        ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)) ",
    "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt"
);

/// Claim step 3 for any run (distributed workers): oldest run first (v7 run ids sort by
/// time), then enqueue order. `$1` owner, `$2` expiry, `$3` limit. Index: `samples_pending`,
/// read in order and stopped after `limit` unlocked entries.
pub const CLAIM_PENDING_ANY_RUN: &str = concat!(
    "UPDATE samples SET status = 'leased', lease_owner = $1, lease_expires_at = $2, attempt = attempt + 1 \
     WHERE id = ANY(ARRAY(SELECT id FROM samples WHERE status = 'pending' \
        ORDER BY run_id, seq LIMIT $3 FOR UPDATE SKIP LOCKED)) ",
    "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt"
);

/// Fenced successes, a batch in one statement. Columns as arrays: `$1` id, `$2` owner,
/// `$3` attempt, `$4` raw_answer, `$5` answer_sha256, `$6` served_model, `$7` request_id,
/// `$8` finish_reason, `$9` input_tokens, `$10` output_tokens, `$11` latency_ms,
/// `$12` completed_at, `$13` cost_nano_usd, `$14` raw_response, `$15` redactions (JSON text). Returns the fences applied, with each sample's run, account and target (for the rollups).
/// Index: primary key (one probe per element). The last error is kept for diagnosis.
pub const COMPLETE_SUCCEEDED: &str = "UPDATE samples s SET status = 'succeeded', raw_answer = u.raw_answer, \
        answer_sha256 = u.answer_sha256, served_model = u.served_model, request_id = u.request_id, \
        finish_reason = u.finish_reason, input_tokens = u.input_tokens, output_tokens = u.output_tokens, \
        latency_ms = u.latency_ms, completed_at = u.completed_at, cost_nano_usd = u.cost_nano_usd, \
        raw_response = u.raw_response, redactions = u.redactions::jsonb, lease_owner = NULL, lease_expires_at = NULL \
     FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
                 $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], \
                 $15::text[]) \
          AS u(id, owner, attempt, raw_answer, answer_sha256, served_model, request_id, finish_reason, \
               input_tokens, output_tokens, latency_ms, completed_at, cost_nano_usd, raw_response, redactions) \
     WHERE s.id = u.id AND s.status = 'leased' AND s.lease_owner = u.owner AND s.attempt = u.attempt \
     RETURNING s.id, u.owner, u.attempt, s.run_id, s.account_id, s.provider, s.model";

/// Fenced final failures. Arrays: `$1` id, `$2` owner, `$3` attempt, `$4` class, `$5` message,
/// `$6` at. Returns the fences applied, with each sample's run, account and target (for the rollups).
pub const COMPLETE_FAILED: &str = "UPDATE samples s SET status = 'failed', error_class = u.error_class, \
        error_message = u.error_message, last_error_at = u.at, completed_at = u.at, \
        lease_owner = NULL, lease_expires_at = NULL \
     FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) \
          AS u(id, owner, attempt, error_class, error_message, at) \
     WHERE s.id = u.id AND s.status = 'leased' AND s.lease_owner = u.owner AND s.attempt = u.attempt \
     RETURNING s.id, u.owner, u.attempt, s.run_id, s.account_id, s.provider, s.model";

/// Fenced transient failures: back to pending, attempt kept. Parameters as [`COMPLETE_FAILED`].
pub const COMPLETE_RETRY: &str = "UPDATE samples s SET status = 'pending', error_class = u.error_class, \
        error_message = u.error_message, last_error_at = u.at, lease_owner = NULL, lease_expires_at = NULL \
     FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) \
          AS u(id, owner, attempt, error_class, error_message, at) \
     WHERE s.id = u.id AND s.status = 'leased' AND s.lease_owner = u.owner AND s.attempt = u.attempt \
     RETURNING s.id, u.owner, u.attempt, s.run_id, s.account_id, s.provider, s.model";

/// Removes the facts of re-delivered successes before their insert. `$1` sample ids.
pub const DELETE_MENTIONS: &str = "DELETE FROM mentions WHERE sample_id = ANY($1::uuid[])";
/// As [`DELETE_MENTIONS`].
pub const DELETE_CITATIONS: &str = "DELETE FROM citations WHERE sample_id = ANY($1::uuid[])";

/// Mentions of a batch. Arrays: sample_id, brand, byte_offset, byte_len, count, rank, list_index.
pub const INSERT_MENTIONS: &str = "INSERT INTO mentions (sample_id, brand, byte_offset, byte_len, count, rank, list_index) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])";

/// Citations of a batch. Arrays: sample_id, position, url, domain, title, cited_text.
pub const INSERT_CITATIONS: &str = "INSERT INTO citations (sample_id, position, url, domain, title, cited_text) \
     SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])";

/// A run's samples, in the order given (so `seq` is enqueue order). Arrays: `$1` id,
/// `$2` provider, `$3` model, `$4` prompt_index, `$5` repeat_index; scalars: `$6` run,
/// `$7` account, `$8` created_at.
pub const INSERT_SAMPLES: &str = "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, \
        repeat_index, created_at) \
     SELECT u.id, $6, $7, u.provider, u.model, u.prompt_index, u.repeat_index, $8 \
     FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY \
          AS u(id, provider, model, prompt_index, repeat_index, ord) \
     ORDER BY u.ord";

/// Cancels a run's pending samples and counts them into `sample_rollups`, in one statement.
/// `$1` account, `$2` run, `$3` now, `$4` the UTC day of now. Returns how many were cancelled.
/// Index: `samples_pending` (or `samples_by_run_status`).
pub const CANCEL_PENDING: &str = "WITH cancelled AS ( \
        UPDATE samples SET status = 'cancelled', completed_at = $3 \
        WHERE run_id = $2 AND account_id = $1 AND status = 'pending' \
        RETURNING run_id, account_id, provider, model), \
     counted AS (SELECT run_id, account_id, provider, model, count(*) AS n FROM cancelled \
        GROUP BY run_id, account_id, provider, model), \
     rolled AS (INSERT INTO sample_rollups (run_id, account_id, provider, model, day, cancelled) \
        SELECT run_id, account_id, provider, model, $4, n FROM counted ORDER BY run_id, provider, model \
        ON CONFLICT (run_id, provider, model, day) \
        DO UPDATE SET cancelled = sample_rollups.cancelled + excluded.cancelled) \
     SELECT coalesce(sum(n), 0)::bigint FROM counted";

/// Counts of a run's samples by status, in one query; the run row carries the tenant check
/// (no row at all: the run is not visible; a NULL status row: the run has no samples).
/// `$1` account, `$2` run. Index: `samples_by_run_status`.
pub const SAMPLE_COUNTS: &str = "SELECT s.status AS status, count(s.status) AS n \
     FROM runs r LEFT JOIN samples s ON s.run_id = r.id \
     WHERE r.id = $2 AND r.account_id = $1 GROUP BY s.status";

/// A run's samples in report order. `$1` account, `$2` run. Index: the natural key
/// `samples_natural_key (run_id, provider, model, prompt_index, repeat_index)`, so no sort
/// step (provider and model are COLLATE "C", the order Rust sorts targets in).
pub const LOAD_SAMPLES: &str = "SELECT id, run_id, provider, model, prompt_index, repeat_index, status, attempt, \
        raw_answer, answer_sha256, served_model, request_id, finish_reason, input_tokens, output_tokens, \
        latency_ms, cost_nano_usd, error_class, error_message, completed_at, anonymized_at, redactions::text AS redactions \
     FROM samples WHERE run_id = $2 AND account_id = $1 \
     ORDER BY provider, model, prompt_index, repeat_index";

/// Every mention of a run's samples (assembled per sample in memory). `$1` account, `$2` run.
/// Plan: the run's samples by index, then each sample's mentions by primary key.
pub const LOAD_MENTIONS: &str = "SELECT m.sample_id AS sample_id, m.brand AS brand, m.byte_offset AS byte_offset, \
        m.byte_len AS byte_len, m.count AS count, m.rank AS rank, m.list_index AS list_index \
     FROM samples s JOIN mentions m ON m.sample_id = s.id \
     WHERE s.run_id = $2 AND s.account_id = $1";

/// Every citation of a run's samples. `$1` account, `$2` run. Plan as [`LOAD_MENTIONS`].
pub const LOAD_CITATIONS: &str = "SELECT c.sample_id AS sample_id, c.position AS position, c.url AS url, \
        c.domain AS domain, c.title AS title, c.cited_text AS cited_text \
     FROM samples s JOIN citations c ON c.sample_id = s.id \
     WHERE s.run_id = $2 AND s.account_id = $1";

/// One sample's raw provider response. `$1` account, `$2` sample id. Index: primary key.
pub const RAW_RESPONSE: &str = "SELECT raw_response FROM samples WHERE id = $2 AND account_id = $1";

/// An account's totals in one statement (one snapshot): whether the account exists, its
/// runs by status, its in-flight samples by status, and its finished samples with their
/// cost from the rollups. Rows: (kind, status, count, cost in nano-USD, priced samples).
/// `$1` account. Indexes: `accounts_pkey`, `runs_by_account`, `samples_in_flight`,
/// `sample_rollups_by_account`.
pub const ACCOUNT_SUMMARY: &str = "SELECT 'account' AS kind, NULL::text AS status, count(*) AS n, \
            NULL::bigint AS cost_nano_usd, 0::bigint AS priced FROM accounts WHERE id = $1 \
     UNION ALL SELECT 'run', status, count(*), NULL, 0 FROM runs WHERE account_id = $1 GROUP BY status \
     UNION ALL SELECT 'sample', status, count(*), NULL, 0 FROM samples \
        WHERE account_id = $1 AND status IN ('pending', 'leased') GROUP BY status \
     UNION ALL SELECT 'sample', 'succeeded', coalesce(sum(answered), 0)::bigint, \
            coalesce(sum(cost_nano_usd), 0)::bigint, coalesce(sum(priced), 0)::bigint \
        FROM sample_rollups WHERE account_id = $1 \
     UNION ALL SELECT 'sample', 'failed', coalesce(sum(failed), 0)::bigint, NULL, 0 \
        FROM sample_rollups WHERE account_id = $1 \
     UNION ALL SELECT 'sample', 'cancelled', coalesce(sum(cancelled), 0)::bigint, NULL, 0 \
        FROM sample_rollups WHERE account_id = $1";

/// Visibility per target from the rollups: answered samples per (provider, model), and per
/// brand the answered samples naming it. `$1` account, `$2` first UTC day counted (ms;
/// `i64::MIN` for all time). Ordered by provider, model, brand; a target whose answers name
/// no brand has one row with a NULL brand; a target without answers has none.
/// Indexes: `sample_rollups_by_account`, `mention_rollups_by_account`.
pub const VISIBILITY_BY_TARGET: &str = "WITH answered AS ( \
        SELECT provider, model, sum(answered) AS n FROM sample_rollups \
        WHERE account_id = $1 AND day >= $2 GROUP BY provider, model HAVING sum(answered) > 0), \
     named AS ( \
        SELECT provider, model, brand, sum(samples) AS n FROM mention_rollups \
        WHERE account_id = $1 AND day >= $2 GROUP BY provider, model, brand) \
     SELECT a.provider AS provider, a.model AS model, a.n::bigint AS answered, n.brand AS brand, \
            n.n::bigint AS mentioned \
     FROM answered a LEFT JOIN named n ON n.provider = a.provider AND n.model = a.model \
     ORDER BY a.provider, a.model, n.brand";

/// Columns of an API key row, in the order `keys::record` reads them.
pub const API_KEY_COLUMNS: &str =
    "id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, revoked_at, last_used_at";

/// Authentication's one lookup. `$1` the SHA-256 of the presented key. Index: the UNIQUE
/// constraint's `api_keys_key_hash_key` (equality, at most one row).
pub const FIND_API_KEY_BY_HASH: &str = "SELECT id, account_id, key_hash, prefix, name, scopes, created_at, \
        expires_at, revoked_at, last_used_at FROM api_keys WHERE key_hash = $1";

/// One keyset page of an account's keys, newest first. `$1` account, `($2, $3)` cursor,
/// `$4` limit. Index: `api_keys_by_account`, read backwards (no sort step).
pub const LIST_API_KEYS: &str = "SELECT id, account_id, key_hash, prefix, name, scopes, created_at, \
        expires_at, revoked_at, last_used_at FROM api_keys \
     WHERE account_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

/// Revokes one key of an account; a second revocation keeps the first instant.
/// `$1` account, `$2` key id, `$3` now. Index: primary key.
pub const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) \
     WHERE id = $2 AND account_id = $1 \
     RETURNING id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, revoked_at, last_used_at";

/// Moves `last_used_at` forward for a batch, in one statement: `$1` accounts, `$2` key ids,
/// `$3` instants (parallel arrays). Duplicate keys in a batch collapse to their latest use;
/// a row changes only if the key belongs to that account and the use is newer. Index:
/// primary key, one probe per touch.
pub const TOUCH_API_KEYS: &str = "UPDATE api_keys k SET last_used_at = t.at \
     FROM (SELECT account_id, id, max(at) AS at \
           FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[]) AS u(account_id, id, at) \
           GROUP BY account_id, id) t \
     WHERE k.id = t.id AND k.account_id = t.account_id AND (k.last_used_at IS NULL OR k.last_used_at < t.at)";
/// Adds a batch's deltas to `sample_rollups`. Arrays, sorted by key: `$1` run, `$2` account,
/// `$3` provider, `$4` model, `$5` day, `$6` answered, `$7` failed, `$8` cancelled,
/// `$9` cost_nano_usd, `$10` priced. Index: primary key.
pub const UPSERT_SAMPLE_ROLLUPS: &str = "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, \
        answered, failed, cancelled, cost_nano_usd, priced) \
     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], \
                          $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[]) \
     ON CONFLICT (run_id, provider, model, day) DO UPDATE SET \
        answered = sample_rollups.answered + excluded.answered, \
        failed = sample_rollups.failed + excluded.failed, \
        cancelled = sample_rollups.cancelled + excluded.cancelled, \
        cost_nano_usd = sample_rollups.cost_nano_usd + excluded.cost_nano_usd, \
        priced = sample_rollups.priced + excluded.priced";

/// Adds a batch's brand counts to `mention_rollups`. Arrays, sorted by key: `$1` run,
/// `$2` account, `$3` provider, `$4` model, `$5` day, `$6` brand, `$7` samples.
pub const UPSERT_MENTION_ROLLUPS: &str = "INSERT INTO mention_rollups (run_id, account_id, provider, model, day, \
        brand, samples) \
     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[]) \
     ON CONFLICT (run_id, provider, model, day, brand) DO UPDATE SET \
        samples = mention_rollups.samples + excluded.samples";
/// Columns of a reservation row, read by `quota::reservation`.
pub const RESERVATION_COLUMNS: &str =
    "id, account_id, period_start, samples, samples_committed, status, created_at, expires_at, settled_at";

/// Reserve step 1: lock the account row, the point where an account's reservations queue
/// up. `$1` account. Index: accounts primary key. No row: the account does not exist.
///
/// Why the account and not only the period row: READ COMMITTED takes a snapshot per
/// statement, and when the conditional UPDATE of [`QUOTA_RESERVE`] waits for a row lock,
/// PostgreSQL re-checks only that row's columns against its newest version
/// (EvalPlanQual); the count of held reservations in its WHERE keeps the snapshot from
/// before the wait and would miss a reservation committed meanwhile, letting two runs
/// pass a limit of one. Taking the lock in its own statement first means every later
/// statement of the transaction starts after the previous holder committed, and no
/// other reservation of the account can be inserted until we commit. The account (not
/// the period row) because the run count spans periods. `NO KEY UPDATE` does not block
/// the `KEY SHARE` locks of foreign-key checks, so inserts of the account's experiments,
/// runs and samples never wait for it.
pub const QUOTA_LOCK_ACCOUNT: &str = "SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE";

/// Reserve step 2: the account's row for the period, if missing. `$1` account, `$2` period
/// start, `$3` period end, `$4` limit, `$5` now. Index: primary key.
pub const QUOTA_PERIOD_CREATE: &str = "INSERT INTO quota_periods \
        (account_id, period_start, period_end, samples_limit, updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (account_id, period_start) DO NOTHING";

/// Reserve step 3: the check and the increment in ONE conditional statement — enough
/// samples left in the period (written `used + reserved <= limit - n`, which cannot
/// overflow), and fewer unexpired held reservations than the tier's concurrency (exact
/// because of [`QUOTA_LOCK_ACCOUNT`]). `$1` account, `$2` period start, `$3` samples,
/// `$4` limit, `$5` now, `$6` max concurrent. Indexes: primary key;
/// `reservations_by_account` for the count.
pub const QUOTA_RESERVE: &str = "UPDATE quota_periods \
     SET samples_reserved = samples_reserved + $3, samples_limit = $4, updated_at = $5 \
     WHERE account_id = $1 AND period_start = $2 \
       AND samples_used + samples_reserved <= $4::bigint - $3::bigint \
       AND (SELECT count(*) FROM reservations \
            WHERE account_id = $1 AND status = 'held' AND expires_at > $5) < $6";

/// Reserve step 4 (only after step 3 changed the row): the reservation. `$1` id, `$2`
/// account, `$3` period start, `$4` samples, `$5` now, `$6` expiry.
pub const RESERVATION_INSERT: &str = "INSERT INTO reservations \
        (id, account_id, period_start, samples, status, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, 'held', $5, $6)";

/// A period's books. `$1` account, `$2` period start. Index: primary key.
pub const QUOTA_PERIOD_BOOKS: &str =
    "SELECT samples_used, samples_reserved FROM quota_periods WHERE account_id = $1 AND period_start = $2";

/// Unexpired held reservations of an account at `$2`. Index: `reservations_by_account`.
pub const QUOTA_ACTIVE_RESERVATIONS: &str =
    "SELECT count(*) FROM reservations WHERE account_id = $1 AND status = 'held' AND expires_at > $2";

/// Settle a HELD reservation, at most once (the status guard, re-checked on the newest row
/// version when two settlements race): charge `least($3, samples)`. `$1` id, `$2` account,
/// `$3` committed, `$4` now. Returns what the period row needs. Index: primary key.
pub const SETTLE_HELD: &str = "UPDATE reservations \
     SET status = CASE WHEN least($3, samples) > 0 THEN 'committed' ELSE 'refunded' END, \
         samples_committed = least($3, samples), settled_at = $4 \
     WHERE id = $1 AND account_id = $2 AND status = 'held' \
     RETURNING period_start, samples, samples_committed";

/// Settle an EXPIRED reservation (its hold was already released): only the charge is left
/// to apply. Parameters as [`SETTLE_HELD`].
pub const SETTLE_EXPIRED: &str = "UPDATE reservations \
     SET status = CASE WHEN least($3, samples) > 0 THEN 'committed' ELSE 'refunded' END, \
         samples_committed = least($3, samples), settled_at = $4 \
     WHERE id = $1 AND account_id = $2 AND status = 'expired' \
     RETURNING period_start, samples, samples_committed";

/// Apply a settlement to the period row. `$1` account, `$2` period start, `$3` samples no
/// longer reserved, `$4` samples charged, `$5` now. Index: primary key.
pub const QUOTA_APPLY: &str = "UPDATE quota_periods \
     SET samples_reserved = samples_reserved - $3, samples_used = samples_used + $4, updated_at = $5 \
     WHERE account_id = $1 AND period_start = $2";

/// Release held reservations past their expiry. `$1` now. Indexes: `reservations_held_expiry`
/// to find them, then the primary key per id (`= ANY(ARRAY(...))`, like the claims: an
/// `IN (subquery)` is planned as a hash join over a sequential scan of the whole table).
/// Rows another transaction holds (a settlement, or a concurrent sweep) are skipped, not
/// waited for: that transaction resolves them, and two sweeps cannot deadlock.
pub const EXPIRE_RESERVATIONS: &str = "UPDATE reservations SET status = 'expired', settled_at = $1 \
     WHERE id = ANY(ARRAY(SELECT id FROM reservations WHERE status = 'held' AND expires_at < $1 \
        FOR UPDATE SKIP LOCKED)) \
     RETURNING account_id, period_start, samples";

/// GCRA check-and-take in ONE statement: a new bucket starts at `now + increment`; an
/// existing one moves to `greatest(tat, now) + increment` only if that stays within the
/// tolerance, else it is left alone and nothing is returned (refused). `ON CONFLICT DO
/// UPDATE` locks the row and evaluates its WHERE on the newest version, so concurrent
/// callers are serialized per bucket. `$1` key, `$2` policy, `$3` now (µs), `$4` increment
/// (µs), `$5` tolerance (µs). Index: primary key.
pub const RATE_LIMIT_TAKE: &str = "INSERT INTO rate_limits AS b (key, policy, tat_us) VALUES ($1, $2, $3::bigint + $4::bigint) \
     ON CONFLICT (key, policy) DO UPDATE SET tat_us = greatest(b.tat_us, $3) + $4 \
     WHERE greatest(b.tat_us, $3) + $4 - $5 <= $3 \
     RETURNING tat_us";

/// A bucket's state, read after a refusal to say when to retry. `$1` key, `$2` policy.
pub const RATE_LIMIT_READ: &str = "SELECT tat_us FROM rate_limits WHERE key = $1 AND policy = $2";

/// Forget buckets that are full again (as good as no row). `$1` now (µs). Sequential scan:
/// a maintenance sweep over a table of one row per active key.
pub const RATE_LIMIT_PURGE: &str = "DELETE FROM rate_limits WHERE tat_us <= $1";

/// Heartbeat of a worker's held leases, a batch in one statement. Arrays: `$1` id, `$2`
/// owner, `$3` attempt; `$4` the new expiry. Returns the fences still held (extended).
/// Index: primary key (one probe per element).
pub const EXTEND_LEASES: &str = "UPDATE samples s SET lease_expires_at = $4 \
     FROM UNNEST($1::uuid[], $2::text[], $3::bigint[]) AS u(id, owner, attempt) \
     WHERE s.id = u.id AND s.status = 'leased' AND s.lease_owner = u.owner AND s.attempt = u.attempt \
     RETURNING s.id, u.owner, u.attempt";

/// Hands held leases back: pending again, the claim's attempt given back. Arrays as
/// [`EXTEND_LEASES`]. Returns the fences released. Index: primary key.
pub const RELEASE_LEASES: &str = "UPDATE samples s SET status = 'pending', lease_owner = NULL, \
        lease_expires_at = NULL, attempt = s.attempt - 1 \
     FROM UNNEST($1::uuid[], $2::text[], $3::bigint[]) AS u(id, owner, attempt) \
     WHERE s.id = u.id AND s.status = 'leased' AND s.lease_owner = u.owner AND s.attempt = u.attempt \
     RETURNING s.id, u.owner, u.attempt";

/// Maintenance: expired leases with attempts left return to pending, the expiry recorded as
/// the last error. `$1` now, `$2` max_attempts (exhausted ones are [`FAIL_EXHAUSTED_LEASES`]'s,
/// even if it skipped them as locked). Index: `samples_leased`. Rows another transaction
/// holds (a claimer taking them over, a completion) are skipped, not waited for.
pub const RETURN_EXPIRED_LEASES: &str = "UPDATE samples SET status = 'pending', lease_owner = NULL, \
        lease_expires_at = NULL, error_class = 'lease_expired', \
        error_message = 'lease expired on attempt ' || attempt || ' (the worker stopped responding)', \
        last_error_at = $1 \
     WHERE id = ANY(ARRAY(SELECT id FROM samples \
        WHERE status = 'leased' AND lease_expires_at < $1 AND attempt < $2 \
        FOR UPDATE SKIP LOCKED))";

/// Locks a run row of the account for its finalization: concurrent finalizers of one run
/// queue here, so the counts read next cannot be stale when the status is written. `FOR NO
/// KEY UPDATE` (the lock the status UPDATE takes anyway), not `FOR UPDATE`: completions and
/// enqueues take `KEY SHARE` on the run for their foreign keys, and must not wait for it.
/// `$1` account, `$2` run. Index: primary key.
pub const LOCK_RUN_FOR_FINALIZE: &str = "SELECT status FROM runs WHERE id = $2 AND account_id = $1 FOR NO KEY UPDATE";

/// The terminal transition of a run, made once: only a pending or running run moves.
/// `$1` account, `$2` run, `$3` status, `$4` now. Index: primary key.
pub const FINALIZE_RUN: &str = "UPDATE runs SET status = $3, started_at = COALESCE(started_at, $4), \
        finished_at = $4 \
     WHERE id = $2 AND account_id = $1 AND status IN ('pending', 'running')";

/// Runs left unfinalized: not terminal, no sample pending or leased. `$1` limit.
/// Index: `runs_unfinished` (partial: only unfinished runs), then `samples_by_run_status`
/// per run for the NOT EXISTS.
pub const UNFINALIZED_RUNS: &str = "SELECT r.id AS id, r.account_id AS account_id FROM runs r \
     WHERE r.status IN ('pending', 'running') \
       AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.run_id = r.id AND s.status IN ('pending', 'leased')) \
     ORDER BY r.created_at LIMIT $1";

/// Sets or clears an experiment's schedule. `$1` account, `$2` experiment, `$3` kind,
/// `$4` expr, `$5` next_run_at (all NULL to clear). Index: primary key.
pub const SET_SCHEDULE: &str = "UPDATE experiments SET schedule_kind = $3, schedule_expr = $4, next_run_at = $5 \
     WHERE id = $2 AND account_id = $1";

/// An experiment's schedule. `$1` account, `$2` experiment. Index: primary key.
pub const GET_SCHEDULE: &str = "SELECT schedule_kind, schedule_expr, next_run_at FROM experiments \
     WHERE id = $2 AND account_id = $1";

/// The scheduler's due scan. `$1` now, `$2` limit. Index: `experiments_due` (partial: only
/// scheduled experiments), read in order.
pub const DUE_SCHEDULES: &str = "SELECT id, account_id, schedule_kind, schedule_expr, next_run_at FROM experiments \
     WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2";

/// Compare-and-set of `next_run_at`: moves only from the value the scan saw. The UPDATE
/// locks the row, so a racing scheduler waits, re-reads `next_run_at` and changes nothing.
/// `$1` account, `$2` experiment, `$3` expected, `$4` new. Index: primary key (or
/// `experiments_due` by the expected `next_run_at`: a handful of rows either way).
pub const ADVANCE_SCHEDULE: &str = "UPDATE experiments SET next_run_at = $4 \
     WHERE id = $2 AND account_id = $1 AND next_run_at = $3";

/// Whether an experiment is the account's. `$1` experiment, `$2` account. Index: primary key.
pub const EXPERIMENT_VISIBLE: &str = "SELECT 1 FROM experiments WHERE id = $1 AND account_id = $2";

/// The run of one slot. `$1` account, `$2` experiment, `$3` slot. Index: `runs_scheduled_slot`.
pub const SCHEDULED_RUN: &str = "SELECT id FROM runs \
     WHERE experiment_id = $2 AND scheduled_slot = $3 AND account_id = $1";

/// Takes or renews a leader lease: inserted when absent, taken over when expired or already
/// ours. The conflicting row is locked, so two contenders are serialized and the second
/// re-checks the condition against the first's write. `$1` name, `$2` owner, `$3` new
/// expiry, `$4` now. Index: primary key.
pub const ACQUIRE_LEADER: &str = "INSERT INTO leader_leases (name, owner, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
     WHERE leader_leases.owner = excluded.owner OR leader_leases.expires_at <= $4";

/// Renews a leader lease we hold. `$1` name, `$2` owner, `$3` new expiry.
pub const RENEW_LEADER: &str = "UPDATE leader_leases SET expires_at = $3 WHERE name = $1 AND owner = $2";

/// Gives a leader lease up. `$1` name, `$2` owner.
pub const RELEASE_LEADER: &str = "DELETE FROM leader_leases WHERE name = $1 AND owner = $2";

#[cfg(test)]
mod tests {
    use super::*;

    /// What a claim returns for each sample (read by `rows::task`).
    const CLAIM_RETURNING: &str =
        "RETURNING id, run_id, account_id, provider, model, prompt_index, repeat_index, attempt";

    #[test]
    fn claim_statements_return_the_task_columns() {
        for sql in [CLAIM_EXPIRED, CLAIM_PENDING_FOR_RUN, CLAIM_PENDING_ANY_RUN] {
            assert!(sql.ends_with(CLAIM_RETURNING), "{sql}");
            assert!(sql.contains("FOR UPDATE SKIP LOCKED"), "{sql}");
        }
    }
}
