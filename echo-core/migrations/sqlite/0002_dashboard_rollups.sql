-- Dashboard aggregations (store::DashboardStore). 0001 is applied in the wild and never
-- edited; this adds the rollups the account-wide queries read, their indexes, and fills
-- the rollups from the samples already stored.

-- Serves: account_summary's runs by status -- SELECT status, count(*) FROM runs
--   WHERE account_id = ? GROUP BY status (covering: no table access).
CREATE INDEX runs_by_account ON runs (account_id, status);

-- Serves: account_summary's in-flight samples --
--   SELECT status, count(*) FROM samples WHERE account_id = ? AND status IN ('pending', 'leased')
-- Partial: only queued and running work is in it (finished samples are counted by the rollups).
CREATE INDEX samples_in_flight ON samples (account_id, status) WHERE status IN ('pending', 'leased');

-- Finished samples of each run counted per target and UTC day, kept by the store in the same
-- transaction as the state change they count (a completion, a cancellation, a lease expiring
-- on its last attempt). A sample reaches a final state once, so it is counted once; the rows
-- cascade with their run. Dashboards read these few rows instead of millions of samples.
CREATE TABLE sample_rollups (
    run_id        BLOB    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    account_id    BLOB    NOT NULL,
    provider      TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    -- Start of the UTC day (unix ms) the samples finished on.
    day           INTEGER NOT NULL,
    answered      INTEGER NOT NULL DEFAULT 0 CHECK (answered >= 0),
    failed        INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    cancelled     INTEGER NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    -- Summed cost of the answered samples that had a price, and how many had one.
    cost_nano_usd INTEGER NOT NULL DEFAULT 0,
    priced        INTEGER NOT NULL DEFAULT 0 CHECK (priced >= 0),
    -- Serves: the upsert of each counted change, and the FK cascade from runs.
    PRIMARY KEY (run_id, provider, model, day)
) STRICT, WITHOUT ROWID;

-- Serves: account_summary and visibility_by_target --
--   WHERE account_id = ? AND day >= ? GROUP BY provider, model
CREATE INDEX sample_rollups_by_account ON sample_rollups (account_id, day);

-- Per brand, the answered samples naming it, per run, target and UTC day (as above).
CREATE TABLE mention_rollups (
    run_id     BLOB    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    account_id BLOB    NOT NULL,
    provider   TEXT    NOT NULL,
    model      TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    brand      TEXT    NOT NULL,
    samples    INTEGER NOT NULL CHECK (samples >= 0),
    -- Serves: the upsert and the FK cascade from runs.
    PRIMARY KEY (run_id, provider, model, day, brand)
) STRICT, WITHOUT ROWID;

-- Serves: visibility_by_target -- WHERE account_id = ? AND day >= ? GROUP BY provider, model, brand
CREATE INDEX mention_rollups_by_account ON mention_rollups (account_id, day);

-- Backfill from what 0001-era databases hold. A finished sample's day is that of its
-- completed_at (set for succeeded, failed and cancelled samples).
INSERT INTO sample_rollups (run_id, account_id, provider, model, day, answered, failed, cancelled, cost_nano_usd, priced)
SELECT run_id, account_id, provider, model, (completed_at / 86400000) * 86400000,
       sum(status = 'succeeded'), sum(status = 'failed'), sum(status = 'cancelled'),
       coalesce(sum(CASE WHEN status = 'succeeded' THEN cost_nano_usd END), 0),
       count(CASE WHEN status = 'succeeded' THEN cost_nano_usd END)
FROM samples
WHERE status IN ('succeeded', 'failed', 'cancelled') AND completed_at IS NOT NULL
GROUP BY run_id, account_id, provider, model, (completed_at / 86400000) * 86400000;

INSERT INTO mention_rollups (run_id, account_id, provider, model, day, brand, samples)
SELECT s.run_id, s.account_id, s.provider, s.model, (s.completed_at / 86400000) * 86400000, m.brand, count(*)
FROM samples s JOIN mentions m ON m.sample_id = s.id
WHERE s.status = 'succeeded' AND s.completed_at IS NOT NULL
GROUP BY s.run_id, s.account_id, s.provider, s.model, (s.completed_at / 86400000) * 86400000, m.brand;
