//! The hash chain: how an event becomes a row whose hash covers it and its predecessor.
//!
//! ```text
//! hash(n) = SHA-256( hash(n-1) || canonical_json(body(n)) )      hash(0) = 32 zero bytes
//! ```
//!
//! `body(n)` holds every stored column except the personal ones (ip, user agent): in their
//! place it holds `personal_digest = SHA-256(salt || canonical_json({ip, user_agent}))`
//! with a random 16-byte salt per event. Erasure nulls ip, user agent and salt; the digest
//! stays, so the chain still verifies, and without the salt the digest cannot be matched
//! against guessed addresses (an IPv4 digest without salt would be reversed by trying all
//! 2^32 of them).
//!
//! Canonical JSON: object keys sorted byte-wise, no whitespace, serde_json's number and
//! string forms. The body carries a version (`"v":1`) so the format can evolve.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::event::{AuditRecord, StoredAuditRow};

/// The hash before the first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Version of the hashed body.
pub const BODY_VERSION: i64 = 1;

/// The canonical text of a JSON value: keys sorted, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// SHA-256(salt || canonical({ip, user_agent})).
pub fn personal_digest(salt: &[u8], ip: Option<&str>, user_agent: Option<&str>) -> Vec<u8> {
    let personal = serde_json::json!({ "ip": ip, "user_agent": user_agent });
    let mut h = Sha256::new();
    h.update(salt);
    h.update(canonical_json(&personal).as_bytes());
    h.finalize().to_vec()
}

/// The hashed body of a row (every column but ip, user agent, salt and the hashes).
pub fn body(row: &StoredAuditRow) -> Value {
    serde_json::json!({
        "v": BODY_VERSION,
        "seq": row.seq,
        "at": row.at_ms,
        "account_id": row.account_id.map(|a| a.0.to_string()),
        "actor": { "kind": row.actor_kind, "id": row.actor_id },
        "action": row.action,
        "target": { "type": row.target_type, "id": row.target_id },
        "result": row.result,
        "error_kind": row.error_kind,
        "request_id": row.request_id,
        "correlation_id": row.correlation_id,
        "personal_digest": row.personal_digest.as_ref().map(hex::encode),
        "details": row.details,
    })
}

/// hash = SHA-256(prev_hash || canonical(body)).
pub fn row_hash(row: &StoredAuditRow) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(&row.prev_hash);
    h.update(canonical_json(&body(row)).as_bytes());
    h.finalize().to_vec()
}

/// Turns a record into the row at `seq` after `prev_hash`: draws the salt, computes the
/// personal digest and the hash.
pub fn seal(record: &AuditRecord, seq: i64, prev_hash: &[u8]) -> StoredAuditRow {
    let request = record.request.normalized();
    let (salt, digest) = if request.has_personal_data() {
        let mut salt = vec![0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let digest = personal_digest(&salt, request.ip.as_deref(), request.user_agent.as_deref());
        (Some(salt), Some(digest))
    } else {
        (None, None)
    };
    let details = match &record.details {
        Value::Null => Value::Object(Default::default()),
        other => other.clone(),
    };
    let mut row = StoredAuditRow {
        seq,
        at_ms: record.occurred_at.timestamp_millis(),
        account_id: record.account_id,
        actor_kind: record.actor.kind.as_str().to_string(),
        actor_id: record.actor.id.clone(),
        action: record.action.as_str().to_string(),
        target_type: record.target.as_ref().map(|t| t.kind.clone()),
        target_id: record.target.as_ref().map(|t| t.id.clone()),
        result: record.result.as_str().to_string(),
        error_kind: record.error_kind.map(|k| k.as_str().to_string()),
        request_id: request.request_id,
        correlation_id: request.correlation_id,
        details,
        ip: request.ip,
        user_agent: request.user_agent,
        personal_salt: salt,
        personal_digest: digest,
        prev_hash: prev_hash.to_vec(),
        hash: Vec::new(),
    };
    row.hash = row_hash(&row);
    row
}

/// The newest event of the chain: what a host anchors outside the database (a log
/// shipped elsewhere, a ticket, a signed note) so that rewriting or truncating the whole
/// trail — which anyone with write access to the database could do — is detected by
/// [`verify`](super::verify) against the anchor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditHead {
    /// 0 before the first event.
    pub seq: i64,
    /// Hex SHA-256 of event `seq` (64 zeros before the first event).
    pub hash: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Where verification starts after retention removed older events: the last removed
/// event's seq and hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// The retention cutoff that produced it.
    pub purged_before: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditAction, AuditActor};
    use crate::auth::RequestContext;

    fn record() -> AuditRecord {
        AuditRecord {
            occurred_at: DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
            account_id: None,
            actor: AuditActor::system("test"),
            action: AuditAction::RunFinish,
            target: None,
            result: crate::audit::AuditResult::Success,
            error_kind: None,
            request: RequestContext {
                ip: Some("203.0.113.7".into()),
                user_agent: Some("curl/8".into()),
                request_id: Some("r1".into()),
                correlation_id: None,
            },
            details: serde_json::json!({"b": 1.5, "a": [true, null, "x\"y"]}),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_has_no_whitespace() {
        let v = serde_json::json!({"b": {"z": 1, "a": 2}, "a": [1, {"y": null, "x": "é"}]});
        assert_eq!(canonical_json(&v), r#"{"a":[1,{"x":"é","y":null}],"b":{"a":2,"z":1}}"#);
    }

    #[test]
    fn sealing_chains_and_salts() {
        let a = seal(&record(), 1, &GENESIS_HASH);
        let b = seal(&record(), 1, &GENESIS_HASH);
        // Same event, different salts: different digests and hashes, both valid.
        assert_ne!(a.personal_digest, b.personal_digest);
        assert_eq!(row_hash(&a), a.hash);
        let salt = a.personal_salt.clone().unwrap();
        assert_eq!(
            personal_digest(&salt, Some("203.0.113.7"), Some("curl/8")),
            a.personal_digest.clone().unwrap()
        );
        // The hash covers the predecessor and every body field.
        let next = seal(&record(), 2, &a.hash);
        let mut forged = next.clone();
        forged.prev_hash = b.hash.clone();
        assert_ne!(row_hash(&forged), next.hash);
        let mut forged = next.clone();
        forged.details = serde_json::json!({"b": 1.5});
        assert_ne!(row_hash(&forged), next.hash);
        // Personal columns are not in the body: erasing them keeps the hash.
        let mut erased = next.clone();
        erased.ip = None;
        erased.user_agent = None;
        erased.personal_salt = None;
        assert_eq!(row_hash(&erased), next.hash);
    }
}
