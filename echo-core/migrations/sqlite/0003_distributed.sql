-- Distributed execution (issue 4): the index of the maintenance sweep that finalizes runs
-- left unfinalized by a crash.

-- Serves: unfinalized runs --
--   WHERE status IN ('pending', 'running') AND NOT EXISTS (...) ORDER BY created_at LIMIT ?
-- Partial: only unfinished runs (a handful) are in it, so the sweep never reads finished ones.
CREATE INDEX runs_unfinished ON runs (created_at) WHERE status IN ('pending', 'running');
