-- Indexes for the dashboard aggregations (store::DashboardStore). 0001 is applied in the
-- wild and never edited; this adds what the account-wide queries need.

-- Serves: account_summary's runs by status -- SELECT status, count(*) FROM runs
--   WHERE account_id = ? GROUP BY status (covering: no table access).
CREATE INDEX runs_by_account ON runs (account_id, status);

-- Serves: account_summary's samples by status with the cost sum --
--   SELECT status, count(*), sum(cost_nano_usd) FROM samples WHERE account_id = ? GROUP BY status
-- and visibility_by_target's answered samples --
--   WHERE account_id = ? AND status = 'succeeded' AND completed_at >= ? GROUP BY provider, model
-- Covering (every column those queries read is in the index), so neither touches the table.
CREATE INDEX samples_by_account ON samples (account_id, status, completed_at, provider, model, cost_nano_usd);
