//! Payment card numbers: 13 to 19 digits (optionally grouped by single spaces or hyphens)
//! whose first digit is a card network's (2–6: Mastercard, Amex/Diners/JCB, Visa,
//! Mastercard, Discover/UnionPay) and whose last digit is the Luhn check digit.
//!
//! The Luhn check is what separates a card number from any long number: a random digit
//! string passes one time in ten, so together with the length and the first digit an
//! order number or an ISBN is rarely taken for a card.

use std::sync::LazyLock;

use regex::Regex;

/// A digit, then 12 to 18 more, each optionally after one space or hyphen; not inside a
/// longer run of digits or a word.
static CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ \-]?\d){12,18}\b").expect("card pattern compiles"));

/// Byte ranges of the card numbers in `text`.
pub fn find(text: &str) -> Vec<(usize, usize)> {
    CANDIDATE
        .find_iter(text)
        .filter(|m| {
            // A `+` before it makes it an international phone number, not a card.
            let before = text[..m.start()].chars().next_back();
            before != Some('+') && is_card_number(m.as_str())
        })
        .map(|m| (m.start(), m.end()))
        .collect()
}

/// True for 13–19 digits (separators ignored) starting with 2–6 and passing the Luhn check.
pub fn is_card_number(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    (13..=19).contains(&digits.len()) && (2..=6).contains(&digits[0]) && luhn_valid(&digits)
}

/// The Luhn (mod 10) check: doubling every second digit from the right, the sum of all
/// digits (a doubled digit above 9 counts as the sum of its digits) is a multiple of 10.
pub fn luhn_valid(digits: &[u32]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}
