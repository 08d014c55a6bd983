//! Sources cited by simulated answers: the named brands' own sites and a few neutral review
//! and discussion sites, so citation-share reports have something realistic to count.

use rand::Rng;
use rand::seq::SliceRandom;

use super::BrandBehavior;
use crate::model::Citation;

/// Neutral sites and the kind of page cited there. `{slug}` is a named brand's slug.
const REVIEW_PAGES: &[(&str, &str)] = &[
    ("https://www.g2.com/products/{slug}/reviews", "{name} Reviews | G2"),
    (
        "https://www.capterra.com/p/{slug}/reviews/",
        "{name} Reviews & Ratings | Capterra",
    ),
];
const NEUTRAL_PAGES: &[(&str, &str)] = &[
    (
        "https://www.reddit.com/r/sales/comments/{id}/which_tool_does_your_team_actually_use/",
        "Which tool does your team actually use?",
    ),
    (
        "https://www.forbes.com/advisor/business/software/",
        "Best Software For Small Business — Forbes Advisor",
    ),
    (
        "https://www.techradar.com/best/business-software",
        "The best business software of the year | TechRadar",
    ),
];
const BRAND_PAGES: &[(&str, &str)] = &[
    ("https://www.{domain}/pricing", "{name} pricing"),
    ("https://www.{domain}/", "{name}"),
    ("https://www.{domain}/features", "{name} features"),
];

/// One to four distinct citations about the answer's brands (`named`, in answer order).
pub(crate) fn cite<R: Rng + ?Sized>(rng: &mut R, named: &[&BrandBehavior]) -> Vec<Citation> {
    let mut candidates: Vec<(String, String)> = Vec::new();
    for brand in named {
        let slug = slug(&brand.name);
        if let Some(domain) = &brand.domain {
            let (url, title) = BRAND_PAGES[rng.random_range(0..BRAND_PAGES.len())];
            candidates.push((url.replace("{domain}", domain), title.replace("{name}", &brand.name)));
        }
        let (url, title) = REVIEW_PAGES[rng.random_range(0..REVIEW_PAGES.len())];
        candidates.push((url.replace("{slug}", &slug), title.replace("{name}", &brand.name)));
    }
    for (url, title) in NEUTRAL_PAGES {
        let id = format!("{:06x}", rng.random_range(0..0x100_0000u32));
        candidates.push((url.replace("{id}", &id), title.to_string()));
    }
    candidates.shuffle(rng);
    let n = rng.random_range(1..=4usize).min(candidates.len());
    candidates.truncate(n);
    candidates
        .into_iter()
        .map(|(url, title)| Citation::from_url(url, Some(title)))
        .collect()
}

/// "Zoho CRM" → "zoho-crm", "monday.com" → "monday-com".
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Zoho CRM"), "zoho-crm");
        assert_eq!(slug("monday.com"), "monday-com");
        assert_eq!(slug("  Société Générale "), "société-générale");
    }

    #[test]
    fn citations_are_distinct_and_bounded() {
        let hubspot = BrandBehavior::new("HubSpot", 1.0).domain("hubspot.com");
        let attio = BrandBehavior::new("Attio", 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let cites = cite(&mut rng, &[&hubspot, &attio]);
            assert!((1..=4).contains(&cites.len()));
            let mut urls: Vec<&str> = cites.iter().map(|c| c.url.as_str()).collect();
            urls.sort_unstable();
            urls.dedup();
            assert_eq!(urls.len(), cites.len());
            for c in &cites {
                assert!(!c.domain.starts_with("www."), "{}", c.domain);
                assert!(
                    [
                        "hubspot.com",
                        "g2.com",
                        "capterra.com",
                        "reddit.com",
                        "forbes.com",
                        "techradar.com"
                    ]
                    .contains(&c.domain.as_str()),
                    "{}",
                    c.domain
                );
            }
        }
        // With no brand named, only neutral sites are cited.
        let cites = cite(&mut rng, &[]);
        assert!(!cites.is_empty());
    }
}
