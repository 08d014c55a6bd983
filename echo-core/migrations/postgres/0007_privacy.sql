-- Privacy (issue 6): consent records carry their policy version and who recorded them and
-- can no longer be deleted while their account lives; per-account privacy settings (PII
-- redaction); the retention sweep's index. Mirrors migrations/sqlite/0007_privacy.sql.

-- The version of the policy a consent decision was made on, and who recorded it (the
-- principal's actor). Rows written before this migration have ''.
ALTER TABLE consents ADD COLUMN policy_version text NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN recorded_by text NOT NULL DEFAULT '';

-- Serves: the latest record of a purpose (the consent gate before a run starts) --
--   WHERE account_id = $1 AND subject = $2 AND purpose = $3 ORDER BY at DESC, id DESC LIMIT 1
-- (read backwards; id breaks ties within one millisecond), and an account's history --
--   WHERE account_id = $1 ORDER BY at, id (small: sorted after the index range).
-- Replaces consents_lookup, which lacked the id tie-breaker.
CREATE INDEX consents_by_purpose ON consents (account_id, subject, purpose, at, id);
DROP INDEX consents_lookup;

-- Consents are append-only (consents_no_update refuses edits). Deletes are refused too while
-- the account they concern is active or blocked: proof of consent may only go when the
-- account itself is being erased (any other status) or is gone.
CREATE FUNCTION echo_consents_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE id = OLD.account_id AND status IN ('active', 'blocked')) THEN
        RAISE EXCEPTION 'consents is append-only: records are deleted only when their account is erased'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION echo_consents_guard_delete();

-- Per-account privacy settings; no row means the defaults (no redaction).
CREATE TABLE account_privacy (
    account_id    uuid    NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    -- Replace emails, phone numbers and card numbers in answers before they are stored.
    redact_pii    boolean NOT NULL,
    -- ISO 3166-1 alpha-2 codes whose national phone formats are recognized.
    phone_regions text[]  NOT NULL DEFAULT '{}',
    updated_at    bigint  NOT NULL
);

-- Serves: the retention sweep --
--   WHERE anonymized_at IS NULL AND completed_at < $1 ORDER BY completed_at LIMIT $2
-- Partial: anonymized samples (the old majority, eventually) and unfinished ones are not in
-- it. Replaces samples_retention (keyed on raw_answer IS NOT NULL), which missed samples
-- whose raw response or quoted citation text outlived the answer.
CREATE INDEX samples_retention_due ON samples (completed_at)
    WHERE anonymized_at IS NULL AND completed_at IS NOT NULL;
DROP INDEX samples_retention;
