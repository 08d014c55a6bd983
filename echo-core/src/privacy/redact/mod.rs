//! PII redaction of answers before they are stored.
//!
//! A [`Redactor`] finds three kinds of personal data in an answer and replaces each with a
//! typed placeholder:
//!
//! | kind | found by | placeholder |
//! |---|---|---|
//! | email addresses | shape, then a real public suffix (the Public Suffix List, [`email`]) | `[EMAIL…]` |
//! | phone numbers | shape, then libphonenumber's metadata for the account's regions ([`phone`]) | `[PHONE…]` |
//! | payment card numbers | 13–19 digits, a card network's first digit, Luhn checksum ([`card`]) | `[CARD…]` |
//!
//! **Placeholders keep the byte length of what they replace** (`john@example.com` becomes
//! `[EMAIL_________]`, 16 bytes). Mentions are extracted from the original answer *before*
//! redaction, and their byte offsets then point at the same place in the stored text: a
//! brand right after an email keeps its offset, and stored mentions are exactly those of
//! the unredacted answer. (Shifting offsets instead would make a mention that lies inside
//! a redacted span — a brand in an email's domain — point at nothing.)
//!
//! Spans never overlap: cards are found first, then emails, then phone numbers, and a later
//! candidate overlapping an earlier span is dropped.

pub mod card;
pub mod email;
pub mod phone;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::Citation;

/// What kind of personal data a span holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    Card,
}

impl PiiKind {
    /// The word inside the placeholder.
    fn label(self) -> &'static str {
        match self {
            PiiKind::Email => "EMAIL",
            PiiKind::Phone => "PHONE",
            PiiKind::Card => "CARD",
        }
    }
}

/// A byte range of personal data in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiiSpan {
    pub start: usize,
    pub end: usize,
    pub kind: PiiKind,
}

/// How many spans of each kind were replaced; stored as JSON in `samples.redactions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionCounts {
    pub email: u32,
    pub phone: u32,
    pub card: u32,
}

impl RedactionCounts {
    /// Total spans replaced.
    pub fn total(&self) -> u32 {
        self.email + self.phone + self.card
    }

    fn add(&mut self, kind: PiiKind) {
        match kind {
            PiiKind::Email => self.email += 1,
            PiiKind::Phone => self.phone += 1,
            PiiKind::Card => self.card += 1,
        }
    }

    /// Adds another text's counts (an answer and its citations' quoted text).
    pub fn merge(&mut self, other: RedactionCounts) {
        self.email += other.email;
        self.phone += other.phone;
        self.card += other.card;
    }
}

/// A redacted text and what was replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with placeholders; exactly as many bytes as the original.
    pub text: String,
    pub counts: RedactionCounts,
}

/// Finds and replaces personal data. Cheap to share (`Arc`); the patterns are compiled once
/// per process.
#[derive(Debug, Clone)]
pub struct Redactor {
    phone: phone::PhoneFinder,
}

impl Redactor {
    /// A redactor that reads national phone numbers (without a `+` prefix) as numbers of the
    /// given regions (ISO 3166-1 alpha-2, e.g. `["US", "GB", "DE"]`). Numbers written with
    /// `+` and a country code are found whatever the regions. An unknown region is
    /// `InvalidInput`.
    pub fn new(phone_regions: &[String]) -> Result<Self> {
        Ok(Self {
            phone: phone::PhoneFinder::new(phone_regions)?,
        })
    }

    /// The personal data in `text`, in order, without overlaps.
    pub fn find(&self, text: &str) -> Vec<PiiSpan> {
        let mut spans: Vec<PiiSpan> = Vec::new();
        let take = |found: Vec<(usize, usize)>, kind: PiiKind, spans: &mut Vec<PiiSpan>| {
            for (start, end) in found {
                if !spans.iter().any(|s| start < s.end && s.start < end) {
                    spans.push(PiiSpan { start, end, kind });
                }
            }
        };
        take(card::find(text), PiiKind::Card, &mut spans);
        take(email::find(text), PiiKind::Email, &mut spans);
        take(self.phone.find(text), PiiKind::Phone, &mut spans);
        spans.sort_by_key(|s| s.start);
        spans
    }

    /// `text` with every span of personal data replaced by its placeholder.
    pub fn redact(&self, text: &str) -> Redacted {
        let spans = self.find(text);
        let mut counts = RedactionCounts::default();
        if spans.is_empty() {
            return Redacted {
                text: text.to_string(),
                counts,
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in spans {
            out.push_str(&text[at..span.start]);
            out.push_str(&placeholder(span.kind, span.end - span.start));
            counts.add(span.kind);
            at = span.end;
        }
        out.push_str(&text[at..]);
        debug_assert_eq!(out.len(), text.len());
        Redacted { text: out, counts }
    }
}

/// An answer as it is to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub text: String,
    pub raw_response: Option<String>,
    pub citations: Vec<Citation>,
    /// `Some` (possibly all zero) when the answer went through redaction.
    pub redactions: Option<RedactionCounts>,
}

/// Prepares an answer for storage. Without a redactor it is stored as received. With one,
/// the text and each citation's title and quoted text are redacted (the counts add up over
/// all of them), and the provider's raw response is **not stored**: it repeats the answer
/// text inside provider-specific JSON (escaped, sometimes split into chunks or annotations)
/// where a redaction could miss a copy, and everything reports need from it (usage, model,
/// finish reason, citations) is already kept in their own columns.
///
/// Call it after extracting mentions from the original text: placeholders keep byte
/// lengths, so the mentions' offsets stay valid in the stored text.
pub fn redact_answer(
    redactor: Option<&Redactor>,
    text: String,
    raw_response: Option<String>,
    citations: Vec<Citation>,
) -> StoredAnswer {
    let Some(redactor) = redactor else {
        return StoredAnswer {
            text,
            raw_response,
            citations,
            redactions: None,
        };
    };
    let answer = redactor.redact(&text);
    let mut counts = answer.counts;
    let mut redact_field = |field: Option<String>| {
        field.map(|t| {
            let r = redactor.redact(&t);
            counts.merge(r.counts);
            r.text
        })
    };
    let citations = citations
        .into_iter()
        .map(|c| Citation {
            title: redact_field(c.title),
            cited_text: redact_field(c.cited_text),
            ..c
        })
        .collect();
    StoredAnswer {
        text: answer.text,
        raw_response: None,
        citations,
        redactions: Some(counts),
    }
}

/// The placeholder of a `len`-byte span: `[EMAIL]`, padded inside the brackets with `_` to
/// `len` bytes (`[EMAIL___]`), or the label cut short when the span is shorter than the
/// plain placeholder (`[EMAI]` for a 6-byte address such as `a@b.io`). Always ASCII and
/// exactly `len` bytes, so offsets into the text stay valid.
pub fn placeholder(kind: PiiKind, len: usize) -> String {
    let label = kind.label();
    match len {
        0 => String::new(),
        1 => "_".into(),
        2 => "[]".into(),
        n if n < label.len() + 2 => format!("[{}]", &label[..n - 2]),
        n => format!("[{label}{}]", "_".repeat(n - 2 - label.len())),
    }
}

#[cfg(test)]
mod tests;
