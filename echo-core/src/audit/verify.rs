//! Checking the chain: every remaining event, in seq order, from the latest checkpoint.
//!
//! Each row must (1) follow its predecessor without a gap (`seq = previous + 1`), (2) name
//! the predecessor's hash as `prev_hash`, (3) have personal columns that still match their
//! digest (or be erased: no salt, no values), (4) hash to its stored `hash`, and be
//! readable. The last row must be the stored chain head (else the end was cut off or
//! rows were added behind the head's back) and, when the host passes an anchor it kept
//! outside the database, the anchored event must still carry the anchored hash.
//!
//! What it detects: editing any column of any row (hash or digest), inserting a row
//! (gap, duplicate or broken link), deleting a row in the middle (gap), deleting the last
//! rows (head), reordering (seq is hashed). What it cannot detect alone: an attacker with
//! database write access who rewrites the whole chain from some point *and* the head —
//! that is what the external anchor ([`super::AuditHead`]) is for.

use serde::{Deserialize, Serialize};

use super::chain::{self, AuditHead};
use super::event::StoredAuditRow;

/// What is wrong at the first broken event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChainProblem {
    /// The seq does not follow the previous one: events were deleted or inserted.
    Gap { expected: i64 },
    /// `prev_hash` is not the previous event's hash: an event was replaced or inserted.
    PrevHashMismatch,
    /// The stored hash does not match the content: the event was edited.
    HashMismatch,
    /// ip / user agent were changed (they no longer match the hashed digest).
    PersonalDataAltered,
    /// The row cannot be read as an event (an unknown actor kind or result).
    Unreadable { reason: String },
    /// The chain ends before the stored head: the newest events were deleted.
    Truncated { head_seq: i64 },
    /// The chain's end does not match the stored head (rows added or head rewritten).
    HeadMismatch { head_seq: i64 },
    /// The event the host anchored is missing or has another hash.
    AnchorMismatch { anchor_seq: i64 },
}

/// The first broken event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub problem: ChainProblem,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            ChainProblem::Gap { expected } => write!(f, "event {} follows a gap (expected seq {expected})", self.seq),
            ChainProblem::PrevHashMismatch => write!(f, "event {} does not link to the previous event", self.seq),
            ChainProblem::HashMismatch => write!(f, "event {} was altered (its hash does not match)", self.seq),
            ChainProblem::PersonalDataAltered => {
                write!(f, "event {}'s ip / user agent were altered", self.seq)
            }
            ChainProblem::Unreadable { reason } => write!(f, "event {} is unreadable: {reason}", self.seq),
            ChainProblem::Truncated { head_seq } => write!(
                f,
                "the chain ends at {} but its head is {head_seq}: the newest events were deleted",
                self.seq
            ),
            ChainProblem::HeadMismatch { head_seq } => {
                write!(
                    f,
                    "the chain ends at {} but does not match its head ({head_seq})",
                    self.seq
                )
            }
            ChainProblem::AnchorMismatch { anchor_seq } => {
                write!(f, "the anchored event {anchor_seq} is missing or was altered")
            }
        }
    }
}

/// The outcome of [`Echo::verify_audit_chain`](crate::engine::Echo::verify_audit_chain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Whether every check passed.
    pub ok: bool,
    /// Events read (up to and including the first broken one).
    pub events_checked: u64,
    /// The checkpoint verification started from (`None`: from the first event ever).
    pub from_checkpoint: Option<i64>,
    /// The last event checked and its hash.
    pub last_seq: i64,
    pub last_hash: String,
    pub first_broken: Option<BrokenLink>,
}

/// Checks rows one at a time, so a chain of any length is verified in pages.
#[derive(Debug)]
pub struct Verifier {
    from_checkpoint: Option<i64>,
    expected_seq: i64,
    prev_hash: Vec<u8>,
    checked: u64,
    anchor: Option<AuditHead>,
    anchor_seen: bool,
    broken: Option<BrokenLink>,
}

impl Verifier {
    /// Starts after `checkpoint` (seq, hash), or at the genesis when `None`.
    pub fn new(checkpoint: Option<(i64, Vec<u8>)>, anchor: Option<AuditHead>) -> Self {
        let (from_checkpoint, seq, hash) = match checkpoint {
            Some((seq, hash)) => (Some(seq), seq, hash),
            None => (None, 0, chain::GENESIS_HASH.to_vec()),
        };
        Self {
            from_checkpoint,
            expected_seq: seq + 1,
            prev_hash: hash,
            checked: 0,
            anchor,
            anchor_seen: false,
            broken: None,
        }
    }

    /// The first seq still to read.
    pub fn next_seq(&self) -> i64 {
        self.expected_seq
    }

    /// Whether a break was found (reading further is pointless).
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Checks the next row. Returns `false` once the chain is broken.
    pub fn push(&mut self, row: &StoredAuditRow) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.checked += 1;
        let problem = self.check(row);
        if let Some(problem) = problem {
            self.broken = Some(BrokenLink { seq: row.seq, problem });
            return false;
        }
        if let Some(anchor) = &self.anchor
            && anchor.seq == row.seq
        {
            if hex::encode(&row.hash) != anchor.hash {
                self.broken = Some(BrokenLink {
                    seq: row.seq,
                    problem: ChainProblem::AnchorMismatch { anchor_seq: anchor.seq },
                });
                return false;
            }
            self.anchor_seen = true;
        }
        self.expected_seq = row.seq + 1;
        self.prev_hash = row.hash.clone();
        true
    }

    fn check(&self, row: &StoredAuditRow) -> Option<ChainProblem> {
        if row.seq != self.expected_seq {
            return Some(ChainProblem::Gap {
                expected: self.expected_seq,
            });
        }
        if row.prev_hash != self.prev_hash {
            return Some(ChainProblem::PrevHashMismatch);
        }
        match (&row.personal_salt, &row.personal_digest) {
            (Some(salt), Some(digest)) => {
                if &chain::personal_digest(salt, row.ip.as_deref(), row.user_agent.as_deref()) != digest {
                    return Some(ChainProblem::PersonalDataAltered);
                }
            }
            // No salt: nothing recorded, or erased. Values without a salt were added later.
            (None, _) => {
                if row.ip.is_some() || row.user_agent.is_some() {
                    return Some(ChainProblem::PersonalDataAltered);
                }
            }
            (Some(_), None) => return Some(ChainProblem::PersonalDataAltered),
        }
        if chain::row_hash(row) != row.hash {
            return Some(ChainProblem::HashMismatch);
        }
        if let Err(e) = row.to_event() {
            return Some(ChainProblem::Unreadable { reason: e.to_string() });
        }
        None
    }

    /// Ends verification against the stored head.
    pub fn finish(mut self, head: &AuditHead) -> AuditVerification {
        let last_seq = self.expected_seq - 1;
        if self.broken.is_none() {
            let last_hash = hex::encode(&self.prev_hash);
            if head.seq > last_seq {
                self.broken = Some(BrokenLink {
                    seq: last_seq,
                    problem: ChainProblem::Truncated { head_seq: head.seq },
                });
            } else if head.seq != last_seq || head.hash != last_hash {
                self.broken = Some(BrokenLink {
                    seq: last_seq,
                    problem: ChainProblem::HeadMismatch { head_seq: head.seq },
                });
            } else if let Some(anchor) = &self.anchor
                && !self.anchor_seen
                && anchor.seq > self.from_checkpoint.unwrap_or(0)
            {
                // The anchored event should have been read (it is after the checkpoint).
                self.broken = Some(BrokenLink {
                    seq: anchor.seq,
                    problem: ChainProblem::AnchorMismatch { anchor_seq: anchor.seq },
                });
            }
        }
        AuditVerification {
            ok: self.broken.is_none(),
            events_checked: self.checked,
            from_checkpoint: self.from_checkpoint,
            last_seq,
            last_hash: hex::encode(&self.prev_hash),
            first_broken: self.broken,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::audit::{AuditAction, AuditRecord, chain};

    fn rows(n: i64) -> Vec<StoredAuditRow> {
        let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let mut out: Vec<StoredAuditRow> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map(|r| r.hash.clone())
                .unwrap_or(chain::GENESIS_HASH.to_vec());
            out.push(chain::seal(
                &AuditRecord::system("t", None, AuditAction::RunFinish, at),
                seq,
                &prev,
            ));
        }
        out
    }

    fn head_of(row: &StoredAuditRow) -> AuditHead {
        AuditHead {
            seq: row.seq,
            hash: hex::encode(&row.hash),
            updated_at: None,
        }
    }

    fn run(rows: &[StoredAuditRow], head: &AuditHead, anchor: Option<AuditHead>) -> AuditVerification {
        let mut v = Verifier::new(None, anchor);
        for r in rows {
            if !v.push(r) {
                break;
            }
        }
        v.finish(head)
    }

    #[test]
    fn a_sound_chain_verifies_and_an_empty_one_too() {
        let r = rows(4);
        let v = run(&r, &head_of(&r[3]), None);
        assert!(v.ok, "{v:?}");
        assert_eq!((v.events_checked, v.last_seq), (4, 4));
        let genesis = AuditHead {
            seq: 0,
            hash: hex::encode(chain::GENESIS_HASH),
            updated_at: None,
        };
        assert!(run(&[], &genesis, None).ok);
    }

    #[test]
    fn a_well_forged_event_beyond_the_head_is_caught_by_the_head() {
        // Someone who knows the algorithm appends a correctly hashed event but cannot
        // advance the head in the same breath (or did not): the head disagrees.
        let r = rows(4);
        let v = run(&r, &head_of(&r[2]), None);
        assert_eq!(
            v.first_broken.unwrap().problem,
            ChainProblem::HeadMismatch { head_seq: 3 }
        );
    }

    #[test]
    fn a_cut_off_end_is_truncation() {
        let r = rows(4);
        let v = run(&r[..2], &head_of(&r[3]), None);
        let b = v.first_broken.unwrap();
        assert_eq!((b.seq, b.problem), (2, ChainProblem::Truncated { head_seq: 4 }));
    }

    #[test]
    fn a_rewritten_chain_with_its_head_is_caught_by_the_anchor() {
        let r = rows(4);
        let anchor = head_of(&r[2]);
        // Rewrite from event 2 on (different details), recomputing every hash and the head.
        let mut forged = r[..1].to_vec();
        for seq in 2..=4 {
            let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
            let rec = AuditRecord::system("t", None, AuditAction::RunFinish, at).detail("forged", true);
            let prev = forged.last().unwrap().hash.clone();
            forged.push(chain::seal(&rec, seq, &prev));
        }
        let head = head_of(&forged[3]);
        assert!(
            run(&forged, &head, None).ok,
            "without an anchor the rewrite is consistent"
        );
        let v = run(&forged, &head, Some(anchor.clone()));
        assert_eq!(
            v.first_broken.unwrap().problem,
            ChainProblem::AnchorMismatch { anchor_seq: 3 }
        );
        assert!(run(&r, &head_of(&r[3]), Some(anchor)).ok);
    }

    #[test]
    fn a_checkpoint_starts_the_chain_midway() {
        let r = rows(5);
        let mut v = Verifier::new(Some((2, r[1].hash.clone())), None);
        for row in &r[2..] {
            assert!(v.push(row));
        }
        let out = v.finish(&head_of(&r[4]));
        assert!(out.ok);
        assert_eq!((out.from_checkpoint, out.events_checked), (Some(2), 3));
        // A checkpoint that does not match the first remaining event.
        let mut v = Verifier::new(Some((2, r[0].hash.clone())), None);
        assert!(!v.push(&r[2]));
        assert_eq!(
            v.finish(&head_of(&r[4])).first_broken.unwrap().problem,
            ChainProblem::PrevHashMismatch
        );
    }
}
