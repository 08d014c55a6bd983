//! Surface forms: the strings of a brand that are looked for in answers, and the rules
//! (case, word boundaries, plurals) that decide whether a candidate in the text counts.
//!
//! These rules are shared by the catalog (validation, normalization) and the extractor
//! (compilation, verification), and documented for users in `docs/metrics.md`.

use crate::model::CaseRule;

use super::common_words::is_common_word;

/// Where a surface form comes from in a [`BrandSpec`](crate::model::BrandSpec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormKind {
    Name,
    Alias,
    Domain,
}

/// A word character for boundary checks: any Unicode alphanumeric, plus `_`, so "Zoë"
/// is one word and "tile" is never split into "ti" + "le".
///
/// Dashes, curly quotes and other General Punctuation (U+2000–U+206F), frequent in LLM
/// answers, are answered without the Unicode table lookup.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    !('\u{2000}'..='\u{206F}').contains(&c) && c.is_alphanumeric()
}

/// Whether `form` is a short all-caps alias such as "LI", "HP" or "IBM": at most three
/// letters, all uppercase. Such forms are abbreviations that must match exactly, or "li"
/// and "hp" in ordinary text would be counted.
pub(crate) fn is_short_caps(form: &str) -> bool {
    let mut letters = 0;
    for c in form.chars() {
        if c.is_alphabetic() {
            if !c.is_uppercase() {
                return false;
            }
            letters += 1;
        }
    }
    (1..=3).contains(&letters)
}

/// Whether a name or alias must appear in an answer with exactly the capitalisation
/// given. Domains are never case-sensitive: DNS is not.
pub(crate) fn requires_exact_case(form: &str, kind: FormKind, rule: CaseRule) -> bool {
    if kind == FormKind::Domain {
        return false;
    }
    match rule {
        CaseRule::Sensitive => true,
        CaseRule::Insensitive => false,
        CaseRule::Auto => is_short_caps(form) || is_common_word(&form.to_lowercase()),
    }
}

/// Whether a form is written like a domain ("you.com", "Monday.com"): it then gets the
/// domain boundary rules (a preceding `-` or a following `.label` means another domain).
pub(crate) fn is_domain_like(form: &str) -> bool {
    !form.chars().any(char::is_whitespace) && valid_domain(&form.to_lowercase())
}

/// Whether the form also counts when followed by a plural `s` ("two Salesforces"):
/// names and aliases of at least four characters, ending in a lowercase letter other
/// than `s`, that are neither domains, abbreviations nor ordinary words ("Apples" at
/// the start of a sentence is fruit, so common-word forms get no plural).
pub(crate) fn allows_plural(form: &str, kind: FormKind) -> bool {
    if kind == FormKind::Domain || is_domain_like(form) || is_short_caps(form) {
        return false;
    }
    let Some(last) = form.chars().next_back() else {
        return false;
    };
    form.chars().count() >= 4 && last.is_lowercase() && last != 's' && !is_common_word(&form.to_lowercase())
}

/// Normalizes a domain as given by a user: trims, lowercases, drops a scheme, a path, a
/// port, a leading `www.` and a trailing dot. Returns `None` when the result does not
/// look like a domain.
pub(crate) fn normalize_domain(raw: &str) -> Option<String> {
    let lower = raw.trim().to_lowercase();
    let rest = lower.split_once("://").map(|(_, r)| r).unwrap_or(&lower);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    valid_domain(host).then(|| host.to_string())
}

/// Syntax check of a lowercased host name: at least two labels, each non-empty, made of
/// letters, digits and inner hyphens, the last one starting with a letter.
fn valid_domain(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .and_then(|l| l.chars().next())
            .is_some_and(char::is_alphabetic)
}

/// Case variants under which a case-insensitive form is compiled. The automaton folds
/// ASCII case itself; non-ASCII letters ("ë", "É") need their lower- and uppercase
/// spellings added explicitly so "Zoë", "zoë" and "ZOË" all match.
pub(crate) fn case_variants(form: &str) -> Vec<String> {
    let mut out = vec![form.to_string()];
    if !form.is_ascii() {
        for v in [form.to_lowercase(), form.to_uppercase()] {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_chars() {
        for c in ['a', 'Z', '7', '_', 'é', 'ë', 'ß', 'Ж', '中', '²'] {
            assert!(is_word_char(c), "{c:?}");
        }
        for c in [' ', '.', '-', '\'', '’', '–', '—', '…', '\u{00A0}', '€'] {
            assert!(!is_word_char(c), "{c:?}");
        }
    }

    #[test]
    fn short_caps() {
        assert!(is_short_caps("LI"));
        assert!(is_short_caps("HP"));
        assert!(is_short_caps("IBM"));
        assert!(is_short_caps("3M"));
        assert!(!is_short_caps("Li"));
        assert!(!is_short_caps("SAP AG"), "five letters is not short");
        assert!(!is_short_caps("123"), "no letter");
    }

    #[test]
    fn exact_case_rules() {
        assert!(requires_exact_case("Close", FormKind::Name, CaseRule::Auto));
        assert!(requires_exact_case("Notion", FormKind::Alias, CaseRule::Auto));
        assert!(requires_exact_case("LI", FormKind::Alias, CaseRule::Auto));
        assert!(!requires_exact_case("HubSpot", FormKind::Name, CaseRule::Auto));
        assert!(!requires_exact_case("Monday.com", FormKind::Name, CaseRule::Auto));
        assert!(!requires_exact_case("Close", FormKind::Name, CaseRule::Insensitive));
        assert!(requires_exact_case("HubSpot", FormKind::Name, CaseRule::Sensitive));
        assert!(!requires_exact_case("close.com", FormKind::Domain, CaseRule::Sensitive));
    }

    #[test]
    fn plurals() {
        assert!(allows_plural("Salesforce", FormKind::Name));
        assert!(!allows_plural("Apple", FormKind::Name), "common word");
        assert!(!allows_plural("Zendesks", FormKind::Name), "ends in s");
        assert!(!allows_plural("SAP", FormKind::Name), "abbreviation");
        assert!(!allows_plural("Box", FormKind::Name));
        assert!(!allows_plural("you.com", FormKind::Domain));
        assert!(!allows_plural("Monday.com", FormKind::Name), "domain-like");
    }

    #[test]
    fn domains_normalize() {
        assert_eq!(
            normalize_domain(" https://WWW.HubSpot.com/crm ").as_deref(),
            Some("hubspot.com")
        );
        assert_eq!(normalize_domain("you.com.").as_deref(), Some("you.com"));
        assert_eq!(normalize_domain("société.fr").as_deref(), Some("société.fr"));
        assert_eq!(normalize_domain("hubspot"), None);
        assert_eq!(normalize_domain("hub spot.com"), None);
        assert_eq!(normalize_domain("a..com"), None);
        assert_eq!(normalize_domain("example.123"), None);
    }

    #[test]
    fn variants_cover_non_ascii_case() {
        assert_eq!(case_variants("HubSpot"), vec!["HubSpot"]);
        // "zoë" differs from "Zoë" only in ASCII case, which the automaton folds itself.
        assert_eq!(case_variants("Zoë"), vec!["Zoë", "ZOË"]);
        assert_eq!(case_variants("ÉCOLE"), vec!["ÉCOLE", "école"]);
    }
}
