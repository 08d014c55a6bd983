//! Phone numbers: a number-shaped candidate that libphonenumber's metadata (the
//! `phonenumber` crate, a port of Google's library) says is a valid number.
//!
//! libphonenumber validates a number but does not find numbers in prose, so finding is two
//! steps. First a loose pattern takes runs of digits with the punctuation people write
//! numbers with (`+`, spaces, `-`, `.`, `/`, parentheses), and shape rules drop what is
//! plainly something else: part of a word or a longer number, a price (`$`, `€`, a decimal
//! tail), a percentage, a date (`2024-01-15`, `15.01.2024`), a run of years
//! (`2019-2024`), an IPv4 address, a single decimal (`3.14159265`), or a bare digit run
//! shorter than ten digits (an order number is more likely than an unformatted local
//! phone number). Then the candidate must parse as a *valid* number: with a `+` (or an
//! international prefix) in any country, otherwise as a national number of one of the
//! account's regions. Validity is checked against the national numbering plans (length and
//! prefixes per number type), which is what rejects most digit runs that only look like
//! phone numbers.

use std::str::FromStr;
use std::sync::LazyLock;

use phonenumber::country;
use regex::Regex;

use crate::{Error, Result};

/// An optional `+` and `(`, then digits, each optionally after one separator: a space, `-`,
/// `.`, `/`, `)` (with an optional space) or a space and `(`. Spaced slashes and hyphens
/// (`415-555-2671 / 415-555-2672`) separate two numbers rather than groups of one.
static CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\(?\d(?:(?:[ \t]|[\-./]|\)[ \t]?|[ \t]\()?\d){5,19}").expect("phone pattern compiles")
});

/// `2024-01-15`, `15.01.2024`, `1/2/24`: dates, not numbers.
static DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$").expect("date pattern compiles"));

/// `192.168.10.1`.
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$").expect("ip pattern compiles"));

/// Phone numbers must have at least this many digits (the shortest national significant
/// numbers with an area code) and at most 15 (E.164).
const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 15;
/// A bare digit run (no `+`, no punctuation) needs this many digits to be taken for a phone
/// number.
const MIN_BARE_DIGITS: usize = 10;

/// Finds phone numbers, reading national numbers as numbers of its regions.
#[derive(Debug, Clone)]
pub struct PhoneFinder {
    regions: Vec<country::Id>,
}

impl PhoneFinder {
    /// `regions`: ISO 3166-1 alpha-2 codes (`US`, `GB`, ...), case-insensitive. An unknown
    /// code is `InvalidInput` naming it.
    pub fn new(regions: &[String]) -> Result<Self> {
        let regions = regions.iter().map(|r| parse_region(r)).collect::<Result<Vec<_>>>()?;
        Ok(Self { regions })
    }

    /// Byte ranges of the phone numbers in `text`.
    pub fn find(&self, text: &str) -> Vec<(usize, usize)> {
        CANDIDATE
            .find_iter(text)
            .filter(|m| shape_ok(text, m.start(), m.end()) && self.is_valid_number(m.as_str()))
            .map(|m| (m.start(), m.end()))
            .collect()
    }

    /// True when libphonenumber's metadata says `candidate` is a valid number: with a `+`
    /// anywhere, otherwise in one of the regions (a leading international prefix such as
    /// `00` or `011` is understood per region).
    pub fn is_valid_number(&self, candidate: &str) -> bool {
        if candidate.starts_with('+') {
            return phonenumber::parse(None, candidate).is_ok_and(|n| phonenumber::is_valid(&n));
        }
        self.regions
            .iter()
            .any(|region| phonenumber::parse(Some(*region), candidate).is_ok_and(|n| phonenumber::is_valid(&n)))
    }
}

/// Parses one region code.
pub fn parse_region(region: &str) -> Result<country::Id> {
    let code = region.trim().to_ascii_uppercase();
    if code.len() != 2 {
        return Err(Error::invalid(
            "privacy.phone_regions",
            format!("{region:?} is not a two-letter ISO 3166-1 region code (e.g. \"US\", \"GB\", \"DE\")"),
        ));
    }
    country::Id::from_str(&code).map_err(|_| {
        Error::invalid(
            "privacy.phone_regions",
            format!("{region:?} is not a region libphonenumber knows; use an ISO 3166-1 alpha-2 code such as \"US\""),
        )
    })
}

/// The shape rules of the module docs, on the candidate `text[start..end]`.
fn shape_ok(text: &str, start: usize, end: usize) -> bool {
    let candidate = &text[start..end];
    let before = text[..start].chars().next_back();
    let mut after = text[end..].chars();
    let next = after.next();
    let next2 = after.next();

    // Inside a word or a longer number, or after a currency sign / decimal point.
    if before.is_some_and(|c| c.is_alphanumeric() || "$€£¥₹.,-/_#@%&=".contains(c)) {
        return false;
    }
    // Followed by a word, a percentage, a decimal tail (`… 1.5`, `… 1,5`) or a currency.
    if next.is_some_and(|c| c.is_alphanumeric() || "%€$£_@".contains(c)) {
        return false;
    }
    if next.is_some_and(|c| ".,".contains(c)) && next2.is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }

    let digits = candidate.chars().filter(char::is_ascii_digit).count();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        return false;
    }
    let international = candidate.starts_with('+');
    let punctuation: Vec<char> = candidate.chars().filter(|c| !c.is_ascii_digit() && *c != '+').collect();
    if !international && punctuation.is_empty() && digits < MIN_BARE_DIGITS {
        return false;
    }
    if punctuation.len() == 1 && punctuation[0] == '.' {
        return false; // a decimal number
    }
    if parens_unbalanced(candidate) {
        return false;
    }
    let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    if DATE.is_match(&compact) || IPV4.is_match(&compact) {
        return false;
    }
    !is_run_of_years(candidate)
}

/// `2019-2024`, `1999 2000 2001`: every group of digits a plausible year.
fn is_run_of_years(candidate: &str) -> bool {
    let groups: Vec<&str> = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    groups.len() >= 2
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.parse::<u32>().is_ok_and(|y| (1800..=2100).contains(&y)))
}

fn parens_unbalanced(candidate: &str) -> bool {
    let mut depth = 0i32;
    for c in candidate.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => {}
        }
    }
    depth != 0
}
