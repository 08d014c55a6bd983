-- The host's correlation id on the run (issue 6): the id the host passed with the request
-- that enqueued the run (RequestContext::correlation_id, or RunOptions::correlation_id),
-- kept so that every process executing the run -- the in-process executor, distributed
-- workers -- records it on the run's and samples' tracing spans. An opaque identifier, not
-- personal data; NULL when the host passed none (and for scheduled runs).
ALTER TABLE runs ADD COLUMN correlation_id TEXT;
