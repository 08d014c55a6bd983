-- Quota settlement: what a settled reservation charged.
--
-- A reservation holds `samples`; when its run settles, `samples_committed` of them (the
-- answered ones) move to the period's `samples_used` and the rest are given back. Keeping
-- the charged number on the reservation lets anyone re-add the books:
--   quota_periods.samples_used     = SUM(samples_committed) of its committed reservations
--   quota_periods.samples_reserved = SUM(samples)           of its held reservations
ALTER TABLE reservations ADD COLUMN samples_committed INTEGER CHECK (samples_committed >= 0);
