//! Extractor tests: the traps of issue 2 and more.

use super::*;
use crate::model::{BrandSpec, CaseRule};

fn extractor(brands: Vec<BrandSpec>) -> DictionaryExtractor {
    DictionaryExtractor::new(BrandCatalog::new(brands).expect("valid catalog")).expect("compiles")
}

/// (brand, count) pairs in rank order.
fn found(x: &DictionaryExtractor, text: &str) -> Vec<(String, u32)> {
    x.extract(text).into_iter().map(|m| (m.brand, m.count)).collect()
}

fn one(brand: &str, count: u32) -> Vec<(String, u32)> {
    vec![(brand.to_string(), count)]
}

/// The matched surface form of the single mention in `text`.
fn surface<'a>(x: &DictionaryExtractor, text: &'a str) -> &'a str {
    let m = x.extract(text);
    assert_eq!(m.len(), 1, "expected one mention in {text:?}, got {m:?}");
    &text[m[0].offset as usize..(m[0].offset + m[0].len) as usize]
}

#[test]
fn close_the_crm_is_not_close_the_word() {
    let x = extractor(vec![BrandSpec::new("Close").domains(["close.com"])]);
    assert!(
        x.extract("We are close to a decision; let's close the deal.")
            .is_empty()
    );
    assert!(x.extract("CLOSE").is_empty(), "common-word names need their exact case");
    assert_eq!(found(&x, "Close is a CRM built for inside sales."), one("Close", 1));
    assert_eq!(
        found(&x, "Close's calling features are close to perfect."),
        one("Close", 1)
    );
    assert_eq!(found(&x, "See close.com for pricing."), one("Close", 1));
}

#[test]
fn notion_the_app_is_not_a_notion() {
    let x = extractor(vec![BrandSpec::new("Notion")]);
    assert!(
        x.extract("I had a notion that this would work. Notions vary.")
            .is_empty()
    );
    assert_eq!(
        found(&x, "Notion is a flexible workspace; I use Notion daily."),
        one("Notion", 2)
    );
}

#[test]
fn you_com_is_not_you() {
    let x = extractor(vec![BrandSpec::new("You.com").domains(["you.com"])]);
    for text in [
        "you should try it",
        "You can search",
        "your YOU",
        "you.company",
        "you.com.au",
        "my-you.com",
        "xyou.com",
    ] {
        assert!(x.extract(text).is_empty(), "{text:?}");
    }
    for text in [
        "you.com",
        "Try You.com.",
        "https://you.com/search?q=x",
        "(you.com)",
        "see docs.you.com",
        "YOU.COM's",
    ] {
        assert_eq!(found(&x, text), one("You.com", 1), "{text:?}");
    }
}

#[test]
fn short_caps_alias_needs_exact_case_and_whole_word() {
    let x = extractor(vec![BrandSpec::new("LinkedIn").aliases(["LI"])]);
    for text in [
        "a tile floor",
        "Lithium batteries",
        "Li is a name",
        "li",
        "TILE",
        "LIGHT",
    ] {
        assert!(x.extract(text).is_empty(), "{text:?}");
    }
    assert_eq!(found(&x, "Post on LI, or LinkedIn's feed."), one("LinkedIn", 2));
}

#[test]
fn monday_com_is_not_on_monday() {
    let x = extractor(vec![BrandSpec::new("Monday.com").domains(["monday.com"])]);
    assert!(x.extract("Let's meet on Monday. monday morning.").is_empty());
    assert_eq!(surface(&x, "Try Monday.com today"), "Monday.com");
    assert_eq!(surface(&x, "use monday.com, it is fine"), "monday.com");
    assert_eq!(surface(&x, "Monday.com's boards"), "Monday.com");
    assert_eq!(surface(&x, "Ends with monday.com."), "monday.com");
}

#[test]
fn longest_form_wins_and_counts_once() {
    let x = extractor(vec![BrandSpec::new("HubSpot").aliases(["HubSpot CRM"])]);
    let m = x.extract("HubSpot CRM is free.");
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].count, m[0].offset, m[0].len), (1, 0, 11));
    assert_eq!(found(&x, "HubSpot CRM and hubspot"), one("HubSpot", 2));
}

#[test]
fn rejected_long_candidate_leaves_shorter_one() {
    let x = extractor(vec![
        BrandSpec::new("Google"),
        BrandSpec::new("Google Cloud"),
        BrandSpec::new("Cloudflare"),
    ]);
    assert_eq!(
        found(&x, "Google Cloudflare"),
        vec![("Google".to_string(), 1), ("Cloudflare".to_string(), 1)],
        "`Google Cloud` is rejected by the boundary before `flare`"
    );
    assert_eq!(
        found(&x, "Google Cloud, not Google"),
        vec![("Google Cloud".to_string(), 1), ("Google".to_string(), 1)]
    );
}

#[test]
fn rejected_case_leaves_shorter_one() {
    // Under `Sensitive` the long form fails on case; the shorter form at the same position
    // must still be found (a leftmost-longest automaton alone would hide it).
    let x = extractor(vec![
        BrandSpec::new("Apple")
            .aliases(["APPLE Music Hub"])
            .case(CaseRule::Sensitive),
    ]);
    assert_eq!(found(&x, "Apple Music Hub"), one("Apple", 1));
    assert_eq!(surface(&x, "APPLE Music Hub"), "APPLE Music Hub");
}

#[test]
fn non_ascii_names() {
    let x = extractor(vec![BrandSpec::new("Zoë"), BrandSpec::new("Société Générale")]);
    assert_eq!(surface(&x, "Zoë's app is neat"), "Zoë");
    assert_eq!(surface(&x, "ZOË"), "ZOË");
    assert_eq!(surface(&x, "(zoë)"), "zoë");
    assert!(x.extract("Zoëtrope and éZoë").is_empty(), "é and t are word characters");
    assert_eq!(surface(&x, "La Société Générale’s results"), "Société Générale");
    assert_eq!(surface(&x, "SOCIÉTÉ GÉNÉRALE"), "SOCIÉTÉ GÉNÉRALE");
    let text = "Über café: Société Générale, then Zoë.";
    let m = x.extract(text);
    assert_eq!(
        m[0].offset as usize,
        text.find("Société").expect("in text"),
        "offsets are bytes"
    );
    assert_eq!(m[0].len as usize, "Société Générale".len());
    assert_eq!(m[1].brand, "Zoë");
}

#[test]
fn apple_in_a_list_but_not_apple_pie() {
    let x = extractor(vec![BrandSpec::new("Apple"), BrandSpec::new("Samsung")]);
    assert!(x.extract("I baked an apple pie with apples.").is_empty());
    let text = "Best phones:\n\n1. **Samsung** – big screens\n2. **Apple** – iPhone\n";
    let m = x.extract(text);
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].brand.as_str(), m[0].rank, m[0].list_index),
        ("Samsung", 1, Some(1))
    );
    assert_eq!((m[1].brand.as_str(), m[1].rank, m[1].list_index), ("Apple", 2, Some(2)));
    // Accepted ambiguity: a capitalised common word at the start of a sentence counts.
    assert_eq!(found(&x, "Apple pie is tasty."), one("Apple", 1));
}

#[test]
fn possessives_and_plurals() {
    let x = extractor(vec![
        BrandSpec::new("Salesforce"),
        BrandSpec::new("Slack"),
        BrandSpec::new("SAP"),
    ]);
    let m = x.extract("Salesforce's CRM and Salesforce’s AI; two Salesforces.");
    assert_eq!(
        (m[0].count, m[0].len),
        (3, 10),
        "possessive suffix is not part of the surface"
    );
    for text in [
        "Salesforcesx",
        "Salesforce_api",
        "Salesforce2",
        "Slacks are trousers",
        "SAPs",
    ] {
        assert!(x.extract(text).is_empty(), "{text:?}");
    }
    assert_eq!(found(&x, "Slack's threads"), one("Slack", 1));
}

#[test]
fn case_rules_are_per_brand() {
    let x = extractor(vec![
        BrandSpec::new("HubSpot").case(CaseRule::Sensitive),
        BrandSpec::new("Close").case(CaseRule::Insensitive),
    ]);
    assert!(x.extract("hubspot").is_empty());
    assert_eq!(found(&x, "HubSpot"), one("HubSpot", 1));
    assert_eq!(found(&x, "we close deals"), one("Close", 1));
    let auto = extractor(vec![BrandSpec::new("HubSpot")]);
    assert_eq!(found(&auto, "HUBSPOT and hubspot"), one("HubSpot", 2));
}

#[test]
fn rank_offset_count_and_list_index() {
    let x = extractor(vec![
        BrandSpec::target("Pipedrive"),
        BrandSpec::new("HubSpot")
            .aliases(["HubSpot CRM"])
            .domains(["hubspot.com"]),
        BrandSpec::new("Zoho CRM").aliases(["Zoho"]),
        BrandSpec::new("Freshsales"),
    ]);
    let text = "Here are options:\n\n\
                1. **HubSpot CRM** – free (hubspot.com)\n\
                2. **Zoho** – cheap\n   - HubSpot integrates too\n\
                3. **Pipedrive** – pipelines\n\n\
                Overall, Pipedrive and HubSpot lead.";
    let m = x.extract(text);
    let got: Vec<_> = m
        .iter()
        .map(|m| (m.brand.as_str(), m.rank, m.count, m.list_index))
        .collect();
    assert_eq!(
        got,
        vec![
            ("HubSpot", 1, 4, Some(1)),
            ("Zoho CRM", 2, 1, Some(2)),
            ("Pipedrive", 3, 2, Some(3))
        ]
    );
    assert_eq!(m[0].offset as usize, text.find("HubSpot CRM").expect("in text"));
    assert_eq!(m[0].len, 11);
    assert_eq!(&text[m[1].offset as usize..][..m[1].len as usize], "Zoho");
}

#[test]
fn nothing_to_find() {
    let x = extractor(vec![BrandSpec::new("HubSpot")]);
    assert!(x.extract("").is_empty());
    assert!(x.extract("No brands here at all.").is_empty());
    let empty = extractor(Vec::new());
    assert!(empty.extract("HubSpot").is_empty());
}

#[test]
fn forms_with_punctuation_edges() {
    let x = extractor(vec![
        BrandSpec::new("C++ Builder").aliases(["C++"]),
        BrandSpec::new(".NET"),
    ]);
    assert_eq!(
        found(&x, "I write C++, not .NET."),
        vec![("C++ Builder".to_string(), 1), (".NET".to_string(), 1)]
    );
    assert!(x.extract("XC++").is_empty(), "the left edge is a word character");
}

#[test]
fn case_variants_share_one_automaton_pattern() {
    let x = extractor(vec![BrandSpec::new("HubSpot").aliases(["Hubspot", "HUBSPOT"])]);
    assert_eq!(x.pattern_count(), 1, "the automaton folds ASCII case itself");
    assert_eq!(found(&x, "Hubspot HubSpot HUBSPOT hubspot"), one("HubSpot", 4));
    // Two exact forms with one text keep a rule each.
    let x = extractor(vec![BrandSpec::new("Apple").aliases(["APPLE"])]);
    assert_eq!(x.pattern_count(), 1);
    assert_eq!(found(&x, "APPLE and Apple, not apple"), one("Apple", 2));
}

#[test]
fn every_selected_match_is_a_word_start_or_symbol() {
    // A form starting with punctuation is tried mid-word too; one starting with a letter
    // is not ("xHubSpot"), and matches inside a selected match are not re-tried.
    let x = extractor(vec![
        BrandSpec::new("HubSpot").aliases(["HubSpot CRM"]),
        BrandSpec::new("CRM Pro"),
        BrandSpec::new("@acme"),
    ]);
    assert_eq!(found(&x, "xHubSpot"), Vec::<(String, u32)>::new());
    assert_eq!(
        found(&x, "HubSpot CRM Pro"),
        one("HubSpot", 1),
        "`CRM Pro` overlaps the selected match"
    );
    assert_eq!(found(&x, "ping me@acme today"), one("@acme", 1));
}
