//! The text of an API key: generation, parsing and hashing.
//!
//! ```text
//! echo_live_ 4kZ9v...(27 base62 chars)... 0a1B2c
//! └ prefix ┘ └──────── random body ────────┘ └ CRC32 ┘
//! ```
//!
//! - **Prefix** `echo_live_` or `echo_test_`: says which environment the key belongs to and
//!   lets secret scanners (GitHub's, gitleaks, trufflehog) recognise a leaked key with a
//!   simple pattern: `echo_(live|test)_[0-9A-Za-z]{33}`.
//! - **Body**: 27 characters drawn uniformly from the 62 base62 characters by a CSPRNG
//!   (`rand::rng()`, ChaCha12 seeded from the operating system): 27 · log2(62) ≈ 160.8
//!   bits. The display prefix shows the first 4 of them, so ≈ 137 bits stay secret, above
//!   the 128 the design asks for.
//! - **Checksum**: CRC32 of everything before it, as 6 base62 digits (62^6 > 2^32). It is
//!   not a security feature: it lets [`parse`] reject a mistyped or truncated key without a
//!   database round trip, and lets scanners drop false positives.
//!
//! Only the SHA-256 of the whole key ([`KeyHash`]) is stored. SHA-256 rather than a slow
//! password hash (bcrypt, argon2) because the input is a 160-bit random secret, not a
//! human-chosen password: brute force over 2^160 is out of reach at any hash speed, and a
//! fast, unsalted hash is what makes the lookup a single indexed equality query instead of
//! a comparison against every stored key.

use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthFailure;

/// Prefix of live keys.
pub const LIVE_PREFIX: &str = "echo_live_";
/// Prefix of test keys.
pub const TEST_PREFIX: &str = "echo_test_";
/// Length of either prefix.
const PREFIX_LEN: usize = 10;
/// Random base62 characters after the prefix.
pub const BODY_LEN: usize = 27;
/// Base62 digits of the CRC32 checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Length of a whole key.
pub const KEY_LEN: usize = PREFIX_LEN + BODY_LEN + CHECKSUM_LEN;
/// Body characters shown in the display prefix.
const DISPLAY_BODY_CHARS: usize = 4;

/// Digits of base62, in value order.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which environment a key belongs to, written into its prefix. Echo treats both the same;
/// the host decides what a test key may do (e.g. only simulated providers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyEnvironment {
    /// `echo_live_...`
    #[default]
    Live,
    /// `echo_test_...`
    Test,
}

impl KeyEnvironment {
    /// The key prefix of this environment.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyEnvironment::Live => LIVE_PREFIX,
            KeyEnvironment::Test => TEST_PREFIX,
        }
    }

    /// `live` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyEnvironment::Live => "live",
            KeyEnvironment::Test => "test",
        }
    }

    /// The environment whose prefix `text` starts with.
    pub fn of_prefix(text: &str) -> Option<Self> {
        if text.starts_with(LIVE_PREFIX) {
            Some(KeyEnvironment::Live)
        } else if text.starts_with(TEST_PREFIX) {
            Some(KeyEnvironment::Test)
        } else {
            None
        }
    }
}

/// SHA-256 of a whole key's text: what the store keeps and looks keys up by.
///
/// Not secret in the way the key is (it cannot be turned back into a key), but still not
/// printed: `Debug` shows only that it is a hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// The hash of `key` (the exact text, as [`parse`] accepted it).
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    /// Wraps stored bytes; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Equality in time independent of where the hashes differ.
    pub fn ct_eq(&self, other: &KeyHash) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(sha256)")
    }
}

/// A freshly generated key: the plaintext (shown once) and what is stored.
pub struct GeneratedKey {
    /// The whole key. `SecretString` never prints its content (`Debug` redacts it).
    pub secret: SecretString,
    /// What the store keeps.
    pub hash: KeyHash,
    /// Prefix plus the first body characters and an ellipsis, e.g. `echo_live_4kZ9…`: enough
    /// for a person to tell their keys apart, too little to matter to an attacker.
    pub display_prefix: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// Generates a new key of `environment` from the thread's CSPRNG.
pub fn generate(environment: KeyEnvironment) -> GeneratedKey {
    let mut text = String::with_capacity(KEY_LEN);
    text.push_str(environment.prefix());
    // `Alphanumeric` draws uniformly from [0-9A-Za-z] (rejection sampling, no modulo bias).
    text.extend(rand::rng().sample_iter(Alphanumeric).take(BODY_LEN).map(char::from));
    let checksum = checksum(text.as_bytes());
    text.push_str(std::str::from_utf8(&checksum).expect("base62 digits are ASCII"));
    debug_assert_eq!(text.len(), KEY_LEN);
    let display_prefix = format!("{}…", &text[..PREFIX_LEN + DISPLAY_BODY_CHARS]);
    let hash = KeyHash::of(&text);
    GeneratedKey {
        secret: SecretString::from(text),
        hash,
        display_prefix,
    }
}

/// A presented key that passed the format and checksum checks. `Debug` does not print it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    pub environment: KeyEnvironment,
    text: &'a str,
}

impl ParsedKey<'_> {
    /// The SHA-256 the store looks the key up by.
    pub fn hash(&self) -> KeyHash {
        KeyHash::of(self.text)
    }
}

impl std::fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedKey")
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

/// Checks a presented key's shape and checksum, without any I/O. Surrounding whitespace
/// (a pasted newline) is ignored; anything else must match exactly.
///
/// Fails with [`AuthFailure::Malformed`] (wrong prefix, length or characters) or
/// [`AuthFailure::BadChecksum`].
pub fn parse(presented: &str) -> Result<ParsedKey<'_>, AuthFailure> {
    let text = presented.trim();
    // Length first: nothing longer than a key is ever scanned or hashed.
    if text.len() != KEY_LEN {
        return Err(AuthFailure::Malformed);
    }
    let environment = KeyEnvironment::of_prefix(text).ok_or(AuthFailure::Malformed)?;
    let bytes = text.as_bytes();
    if !bytes[PREFIX_LEN..].iter().all(u8::is_ascii_alphanumeric) {
        return Err(AuthFailure::Malformed);
    }
    let (head, given) = bytes.split_at(KEY_LEN - CHECKSUM_LEN);
    if checksum(head) != given {
        return Err(AuthFailure::BadChecksum);
    }
    Ok(ParsedKey { environment, text })
}

/// CRC32 of `head` as [`CHECKSUM_LEN`] base62 digits, most significant first, zero padded.
fn checksum(head: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(head);
    let mut digits = [b'0'; CHECKSUM_LEN];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn key(environment: KeyEnvironment) -> String {
        generate(environment).secret.expose_secret().to_string()
    }

    #[test]
    fn generated_keys_parse_and_have_the_documented_shape() {
        for env in [KeyEnvironment::Live, KeyEnvironment::Test] {
            let generated = generate(env);
            let text = generated.secret.expose_secret();
            assert_eq!(text.len(), KEY_LEN);
            assert!(text.starts_with(env.prefix()));
            assert!(text[PREFIX_LEN..].bytes().all(|b| b.is_ascii_alphanumeric()));
            let parsed = parse(text).expect("a generated key parses");
            assert_eq!(parsed.environment, env);
            assert_eq!(parsed.hash(), generated.hash);
            assert_eq!(generated.display_prefix, format!("{}…", &text[..14]));
        }
    }

    #[test]
    fn keys_are_distinct_and_use_the_whole_alphabet() {
        let keys: Vec<String> = (0..2000).map(|_| key(KeyEnvironment::Live)).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        // 2000 × 27 body characters: every one of the 62 appears (missing one has
        // probability ~ 62 · (61/62)^54000, i.e. never).
        let used: std::collections::HashSet<u8> = keys.iter().flat_map(|k| k.as_bytes()[10..37].to_vec()).collect();
        assert_eq!(used.len(), 62);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let k = key(KeyEnvironment::Test);
        let padded = format!("  {k}\n");
        let parsed = parse(&padded).unwrap();
        assert_eq!(parsed.hash(), KeyHash::of(&k));
    }

    #[test]
    fn malformed_keys_are_told_apart_from_bad_checksums() {
        let k = key(KeyEnvironment::Live);
        let malformed = [
            String::new(),
            "echo_live_".to_string(),
            k[..KEY_LEN - 1].to_string(),
            format!("{k}x"),
            k.replacen("echo_live_", "echo_prod_", 1),
            k.replacen("echo_live_", "ECHO_LIVE_", 1),
            format!("{}-{}", &k[..20], &k[21..]),
            format!("{}é{}", &k[..20], &k[22..]),
            "x".repeat(10_000),
        ];
        for bad in &malformed {
            assert_eq!(parse(bad).unwrap_err(), AuthFailure::Malformed, "{bad:?}");
        }
        // One character of the body changed: the checksum catches it.
        let mut bytes = k.clone().into_bytes();
        bytes[15] = if bytes[15] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(parse(&typo).unwrap_err(), AuthFailure::BadChecksum);
        // Two adjacent characters swapped.
        let mut bytes = k.clone().into_bytes();
        let (a, b) = (bytes[20], bytes[21]);
        if a != b {
            bytes.swap(20, 21);
            assert_eq!(
                parse(&String::from_utf8(bytes).unwrap()).unwrap_err(),
                AuthFailure::BadChecksum
            );
        }
        // The checksum itself altered.
        let mut bytes = k.into_bytes();
        bytes[KEY_LEN - 1] = if bytes[KEY_LEN - 1] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            parse(&String::from_utf8(bytes).unwrap()).unwrap_err(),
            AuthFailure::BadChecksum
        );
    }

    #[test]
    fn checksum_is_fixed_width_base62_of_crc32() {
        assert_eq!(&checksum(b""), b"000000"); // crc32("") = 0
        // crc32("echo") = 0x17043032 = 386150450 = [0, 26, 8, 15, 23, 4] in base 62: "0Q8FN4"
        assert_eq!(crc32fast::hash(b"echo"), 386_150_450);
        assert_eq!(&checksum(b"echo"), b"0Q8FN4");
        let c = checksum(b"echo");
        let value = c.iter().fold(0u64, |acc, d| {
            acc * 62 + BASE62.iter().position(|x| x == d).unwrap() as u64
        });
        assert_eq!(value, 386_150_450);
        assert_eq!(checksum(&[0xff; 64]).len(), CHECKSUM_LEN);
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let generated = generate(KeyEnvironment::Live);
        let text = generated.secret.expose_secret().to_string();
        let body = &text[14..];
        let parsed = parse(&text).unwrap();
        for printed in [
            format!("{generated:?}"),
            format!("{:?}", generated.secret),
            format!("{:?}", generated.hash),
            format!("{parsed:?}"),
        ] {
            assert!(!printed.contains(body), "{printed}");
        }
    }
}
