-- Distributed execution (issue 4): the index of the maintenance sweep that finalizes runs
-- left unfinalized by a crash. (Numbered 0003 like its SQLite twin; PostgreSQL has no 0002:
-- its 0001 already holds the dashboard rollups SQLite added in 0002.)

-- Serves: unfinalized runs --
--   WHERE status IN ('pending', 'running') AND NOT EXISTS (...) ORDER BY created_at LIMIT $1
-- Partial: only unfinished runs (a handful) are in it, so the sweep never reads finished ones.
CREATE INDEX runs_unfinished ON runs (created_at) WHERE status IN ('pending', 'running');
