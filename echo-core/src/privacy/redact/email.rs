//! Email addresses: an address-shaped candidate whose domain ends in a real public suffix.
//!
//! The shape is deliberately loose (RFC 5322 allows far more than anyone writes in prose);
//! what makes a candidate an address is its domain: at least one label under a suffix the
//! Public Suffix List knows (`psl` crate, compiled from Mozilla's list). `name@host.local`,
//! `user@example.invalidtld` and `@handle`s are left alone; `a.b@mail.example.co.uk` and
//! `x@y.shop` are redacted.

use std::sync::LazyLock;

use regex::Regex;

/// local-part `@` label(.label)+ — letters (any script, for internationalized addresses),
/// digits and inner hyphens; the last label (the candidate TLD) letters only or an IDN
/// `xn--` label. `\b` on both sides keeps it from starting or ending inside a word.
static CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b[\p{L}\p{N}_%+\-](?:[\p{L}\p{N}._%+\-]{0,62}[\p{L}\p{N}_%+\-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?\.)+(?:\p{L}{2,63}|xn--[a-z0-9\-]{1,59})\b",
    )
    .expect("email pattern compiles")
});

/// Byte ranges of the email addresses in `text`.
pub fn find(text: &str) -> Vec<(usize, usize)> {
    CANDIDATE
        .find_iter(text)
        .filter(|m| {
            let (_, domain) = m.as_str().rsplit_once('@').unwrap_or(("", ""));
            has_public_suffix(domain)
        })
        .map(|m| (m.start(), m.end()))
        .collect()
}

/// True when `domain` is a registrable name (or below one) under a suffix on the Public
/// Suffix List: `example.com`, `mail.example.co.uk`; not `example.invalidtld`, not a bare
/// suffix such as `co.uk`.
pub fn has_public_suffix(domain: &str) -> bool {
    let domain = domain.to_lowercase();
    match psl::domain(domain.as_bytes()) {
        Some(registrable) => registrable.suffix().is_known(),
        None => false,
    }
}
