//! Tricky cases of each detector, and the redactor's guarantees (same length, typed
//! placeholders, counts).

use super::*;

fn redactor() -> Redactor {
    Redactor::new(&["US".into(), "GB".into(), "DE".into(), "FR".into()]).expect("known regions")
}

fn found(text: &str) -> Vec<(&str, PiiKind)> {
    redactor()
        .find(text)
        .into_iter()
        .map(|s| (&text[s.start..s.end], s.kind))
        .collect()
}

// ---- emails ------------------------------------------------------------------------------

#[test]
fn emails_with_real_public_suffixes_are_found() {
    for (text, email) in [
        ("write to john.doe@example.com today", "john.doe@example.com"),
        ("Contact: Sales@Acme-Corp.CO.UK.", "Sales@Acme-Corp.CO.UK"),
        ("<jane+crm@mail.startup.io>", "jane+crm@mail.startup.io"),
        ("support@shop.berlin is open", "support@shop.berlin"),
        ("x_y@sub.domain.com.au, then", "x_y@sub.domain.com.au"),
    ] {
        assert_eq!(found(text), vec![(email, PiiKind::Email)], "{text}");
    }
}

#[test]
fn emails_without_a_real_tld_are_not_found() {
    for text in [
        "user@example.invalidtld",
        "admin@localhost",
        "root@server.local",
        "me@host.lan",
        "follow @acme on social media",
        "price is 5@3.50",
        "name@co.uk", // a bare public suffix is nobody's domain
        "the user@ symbol",
    ] {
        assert!(email::find(text).is_empty(), "{text}: {:?}", email::find(text));
    }
}

// ---- cards -------------------------------------------------------------------------------

#[test]
fn luhn_valid_card_numbers_are_found_invalid_ones_are_not() {
    // Well-known test numbers (Visa, Mastercard, Amex, Discover), grouped or not.
    for card in [
        "4111 1111 1111 1111",
        "4111111111111111",
        "5555-5555-5555-4444",
        "3782 822463 10005",
        "6011 1111 1111 1117",
    ] {
        let text = format!("card {card} expires");
        assert_eq!(found(&text), vec![(card, PiiKind::Card)], "{text}");
    }
    // The same shapes with a wrong check digit, and Luhn-valid numbers of no card network
    // (first digit 0, 1, 7, 8, 9).
    for not_card in [
        "4111 1111 1111 1112",
        "5555-5555-5555-4445",
        "1234 5678 9012 3452",
        "7992 7398 713",
        "9999 9999 9999 9995",
    ] {
        assert!(card::find(not_card).is_empty(), "{not_card}");
    }
    assert!(card::luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
    assert!(!card::luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
}

// ---- phones ------------------------------------------------------------------------------

#[test]
fn phone_numbers_in_several_national_formats_are_found() {
    for phone in [
        "+1 415-555-2671",   // US, international
        "(415) 555-2671",    // US, national
        "415.555.2671",      // US, dotted
        "+44 20 7946 0958",  // UK, international
        "020 7946 0958",     // UK, national
        "07911 123456",      // UK mobile
        "+49 30 901820",     // Germany
        "030 901820",        // Germany, national
        "030/901820",        // Germany, slash
        "+33 1 42 68 53 00", // France
        "01 42 68 53 00",    // France, national
        "+81 3-1234-5678",   // Japan: any country with a `+`
    ] {
        let text = format!("Call {phone} for a demo.");
        assert_eq!(found(&text), vec![(phone, PiiKind::Phone)], "{text}");
    }
}

#[test]
fn prices_years_dates_and_versions_are_not_phone_numbers() {
    for text in [
        "It costs $1,299.99 per year",
        "It costs $1299 per year",
        "Pricing: 12.000.000 € for enterprises",
        "Founded in 2019, it grew in 2020 and 2021.",
        "From 2019-2024 revenue doubled",
        "Between 1999 2000 2001 and later",
        "Released on 2024-01-15 and 15.01.2024 and 01/15/2024",
        "Version 10.4.1234 is out",
        "The server is at 192.168.100.200",
        "Pi is 3.14159265 roughly",
        "Growth of 4155552671% is impossible",
        "Order 12345678 shipped",
        "ISBN 978-3-16-148410-0",
        "Top 10 CRMs: 1. Acme 2. Globex",
        "Rated 4.5/5 by 12,345 users",
        "It handles 1 000 000 contacts",
    ] {
        assert!(found(text).is_empty(), "{text}: {:?}", found(text));
    }
}

#[test]
fn two_numbers_separated_by_a_spaced_slash_are_two_numbers() {
    let text = "Tel. (415) 555-2671 / (415) 555-2672";
    assert_eq!(
        found(text),
        vec![("(415) 555-2671", PiiKind::Phone), ("(415) 555-2672", PiiKind::Phone)]
    );
}

#[test]
fn unknown_phone_regions_are_refused() {
    for bad in ["XX", "USA", "", "1"] {
        let err = Redactor::new(&[bad.to_string()]).unwrap_err();
        assert_eq!(err.field(), Some("privacy.phone_regions"), "{bad}");
    }
    assert!(Redactor::new(&["us".into()]).is_ok(), "case-insensitive");
}

// ---- the redactor ------------------------------------------------------------------------

#[test]
fn redaction_keeps_length_and_counts_by_kind() {
    let text = "Email john@example.com or jane@acme.io, call +1 415-555-2671, pay with 4111 1111 1111 1111. \
                Acme costs $1,299 since 2019.";
    let r = redactor().redact(text);
    assert_eq!(r.text.len(), text.len());
    assert_eq!(
        r.counts,
        RedactionCounts {
            email: 2,
            phone: 1,
            card: 1
        }
    );
    assert!(!r.text.contains("john@") && !r.text.contains("415-555") && !r.text.contains("4111"));
    // Each placeholder as long as what it replaced.
    assert!(
        r.text
            .starts_with("Email [EMAIL_________] or [EMAIL_____], call [PHONE________], pay with [CARD_____________]."),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("Acme costs $1,299 since 2019."),
        "untouched: {}",
        r.text
    );
}

#[test]
fn a_brand_right_after_an_email_keeps_its_offset() {
    let text = "Ask sales@globex.com Acme is cheaper.";
    let r = redactor().redact(text);
    let at = text.find("Acme").unwrap();
    assert_eq!(&r.text[at..at + 4], "Acme");
    assert!(r.text.starts_with("Ask [EMAIL"));
}

#[test]
fn multibyte_text_around_spans_stays_valid_utf8() {
    let text = "Schreiben Sie an müller@beispiel.de — oder rufen Sie 030 901820 an. Größe: 5 €";
    let r = redactor().redact(text);
    assert_eq!(r.text.len(), text.len());
    assert_eq!((r.counts.email, r.counts.phone), (1, 1), "{}", r.text);
    assert!(r.text.contains("Größe: 5 €"));
}

#[test]
fn placeholders_have_exactly_the_requested_length() {
    for kind in [PiiKind::Email, PiiKind::Phone, PiiKind::Card] {
        for len in 0..40 {
            let p = placeholder(kind, len);
            assert_eq!(p.len(), len, "{kind:?} {len}: {p}");
            assert!(p.is_ascii());
        }
    }
    assert_eq!(placeholder(PiiKind::Email, 7), "[EMAIL]");
    assert_eq!(placeholder(PiiKind::Email, 6), "[EMAI]");
    assert_eq!(placeholder(PiiKind::Card, 10), "[CARD____]");
}

#[test]
fn redact_answer_drops_the_raw_response_and_redacts_citations() {
    let citations = vec![Citation {
        url: "https://acme.com".into(),
        domain: "acme.com".into(),
        title: Some("Contact jane@acme.com".into()),
        cited_text: Some("call +44 20 7946 0958".into()),
    }];
    let stored = redact_answer(
        Some(&redactor()),
        "see bob@example.org".into(),
        Some("{\"text\":\"see bob@example.org\"}".into()),
        citations.clone(),
    );
    assert_eq!(stored.raw_response, None);
    assert_eq!(stored.citations[0].url, "https://acme.com");
    assert!(!stored.citations[0].title.as_deref().unwrap().contains("jane@"));
    assert!(!stored.citations[0].cited_text.as_deref().unwrap().contains("7946"));
    assert_eq!(
        stored.redactions,
        Some(RedactionCounts {
            email: 2,
            phone: 1,
            card: 0
        })
    );
    let kept = redact_answer(None, "see bob@example.org".into(), Some("{}".into()), citations.clone());
    assert_eq!(kept.text, "see bob@example.org");
    assert_eq!(kept.raw_response.as_deref(), Some("{}"));
    assert_eq!(kept.citations, citations);
    assert_eq!(kept.redactions, None);
}
