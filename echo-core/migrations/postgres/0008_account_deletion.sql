-- Account deletion and erasure (issue 6, GDPR): the bookkeeping of an erasure in progress.
-- Mirrors migrations/sqlite/0008_account_deletion.sql (see there for the lifecycle).
--
-- A deletion request is a row of `deletion_requests` (0001): `pending` from the request
-- until the grace period ends (`execute_after` is the deadline), then `completed` once the
-- maintenance sweep has erased the account, or `cancelled`. The request row has no foreign
-- key to the account and outlives it: it is the tombstone that records the erasure. While a
-- request is pending the account's status is 'deleting' (0001's name for "deletion pending").

-- At most one pending request per account (a concurrent second request -> Conflict).
CREATE UNIQUE INDEX deletion_requests_one_pending ON deletion_requests (account_id) WHERE status = 'pending';

-- Who cancelled a request and when (NULL unless status = 'cancelled').
ALTER TABLE deletion_requests ADD COLUMN cancelled_at bigint;
ALTER TABLE deletion_requests ADD COLUMN cancelled_by text;

-- Rows erased so far per table, written in the same transaction as each erasure batch, so
-- the counts are exact even when the sweep crashes between batches and resumes.
CREATE TABLE erasure_progress (
    request_id   uuid    NOT NULL REFERENCES deletion_requests (id) ON DELETE CASCADE,
    table_name   text    NOT NULL,
    rows_deleted bigint  NOT NULL DEFAULT 0 CHECK (rows_deleted >= 0),
    -- Serves: the per-batch upsert, reading a request's counts, and the FK cascade.
    PRIMARY KEY (request_id, table_name)
);
