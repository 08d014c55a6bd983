//! The fixed vocabulary simulated answers are written from, and the whole-word helpers
//! that keep it free of brand names.
//!
//! The ground truth depends on one invariant: **the text names exactly the chosen brands**.
//! So every phrase that contains a configured surface form (as whole words, any case) is
//! dropped from the vocabulary when the provider is built.

use std::collections::HashSet;

use super::BrandBehavior;
use crate::{Error, Result};

/// Openings for list-shaped answers (they introduce what follows).
const INTROS_LIST: &[&str] = &[
    "There is no single best option, but these come up most often:",
    "Here are solid options to consider:",
    "The right choice depends on your budget, your workflow and how much setup you can handle. Good candidates:",
    "Great question! A few tools stand out:",
    "Based on features, pricing and ease of use, here is a shortlist:",
    "It depends on your priorities, but these are worth evaluating:",
    "Here is a quick rundown of the strongest options:",
];

/// Openings for prose answers.
const INTROS_PROSE: &[&str] = &[
    "The right choice depends on your budget and on how your team sells.",
    "There is no universal answer, but a few tools are consistently recommended.",
    "Short answer: it depends on how your team works day to day.",
    "Good question, and the honest answer is that several tools would serve you well.",
    "Most teams in your position pick from a small set of well-known tools.",
];

/// Noun phrases for features ("{f}").
const FEATURES: &[&str] = &[
    "a generous free tier",
    "clean pipeline views",
    "reliable email sync",
    "solid reporting",
    "a short learning curve",
    "flexible custom fields",
    "good mobile apps",
    "built-in workflow automation",
    "a large integration marketplace",
    "transparent pricing",
    "fast onboarding",
    "strong marketing tools",
    "a well-documented API",
    "granular permissions",
    "a modern, fast interface",
    "useful templates",
    "built-in calling",
    "email sequences",
    "shared inboxes",
    "solid forecasting",
    "AI-assisted summaries",
    "lead scoring",
    "a tidy contact timeline",
    "responsive support",
];

/// Short nouns that follow a possessive ("{b}'s {n}").
const FEATURE_NOUNS: &[&str] = &[
    "free tier",
    "pipeline view",
    "automation builder",
    "email integration",
    "reporting",
    "mobile app",
    "API",
    "onboarding",
    "interface",
    "integration marketplace",
    "pricing",
    "data model",
    "forecasting",
];

/// Who a tool suits ("{a}").
const AUDIENCES: &[&str] = &[
    "small teams",
    "early-stage startups",
    "founder-led sales",
    "growing sales teams",
    "inbound-heavy teams",
    "outbound teams",
    "larger organisations",
    "teams on a tight budget",
    "agencies",
    "B2B teams",
    "remote teams",
    "teams that want to move fast",
    "companies with complex processes",
];

/// Descriptions after a list item's name.
const ITEM_LEADS: &[&str] = &[
    "Best for {a}, with {f} and {f2}.",
    "A strong pick for {a}; it offers {f}.",
    "Known for {f} and {f2}.",
    "Great if you want {f} without much setup.",
    "Popular with {a} thanks to {f}.",
    "Offers {f}, {f2} and a reasonable price for {a}.",
    "Well suited to {a} who need {f}.",
    "Worth a look for {f}.",
];

/// Second mentions, as possessives ("{b}" is the plain name).
const POSSESSIVES: &[&str] = &[
    "{b}'s {n} is a genuine strength.",
    "Many reviewers single out {b}'s {n}.",
    "{b}'s {n} keeps improving, too.",
];

/// Sentences that introduce a brand in prose ("{b}" is the first mention).
const PROSE_FIRST: &[&str] = &[
    "{b} is a strong choice for {a}, mainly because of {f}.",
    "For {a}, {b} offers {f} and {f2}.",
    "Consider {b} if you want {f}.",
    "{b}'s {n} is hard to beat, and it adds {f}.",
    "{b} tends to suit {a}: expect {f} and {f2}.",
    "Another option is {b}, which offers {f}.",
    "{b} deserves a mention for {f}.",
];

/// Drawbacks, added after some descriptions.
const CAVEATS: &[&str] = &[
    "Pricing climbs quickly as you add seats.",
    "Advanced features sit behind the higher tiers.",
    "Setup takes some time to get right.",
    "Reporting is basic on the entry plan.",
    "Customisation can feel limited.",
    "It can be more than a small team needs.",
    "The interface takes a little getting used to.",
    "Some integrations cost extra.",
];

/// How a domain is written after a first mention ("{d}").
const DOMAIN_WRAPPERS: &[&str] = &["({d})", "(see {d})", "(details at {d})"];

/// Separators between a list item's name and its description.
const ITEM_SEPARATORS: &[&str] = &[" — ", ": ", " – ", " - "];

/// Section headings of headed answers.
const HEADINGS_TOP: &[&str] = &[
    "## Top options",
    "## Recommended tools",
    "## The shortlist",
    "## What to consider",
];
const HEADINGS_END: &[&str] = &["## Bottom line", "## Verdict", "## How to choose", "## Summary"];

/// A sentence after a list naming the tail brands ("{list}").
const ALSO_MENTIONS: &[&str] = &[
    "Also worth a look: {list}.",
    "Honourable mentions: {list}.",
    "Other options include {list}.",
];

/// Closing sentences that name a brand again ("{b}", "{b2}").
const VERDICTS_ONE: &[&str] = &[
    "If I had to pick one, I would start with {b}.",
    "{b} remains the default recommendation for most teams.",
    "When in doubt, {b} is the safest place to start.",
];
const VERDICTS_TWO: &[&str] = &[
    "For most teams, {b} is the safest starting point, with {b2} as a strong alternative.",
    "If I had to narrow it down, I would trial {b} and {b2} side by side.",
];

/// Closings that name nobody.
const CLOSINGS: &[&str] = &[
    "Most of these offer a free trial, so test two or three with real data before you commit.",
    "Start from your must-have features and shortlist from there.",
    "Whatever you choose, keep the setup simple at first and add automation later.",
    "Check how each one handles data import before you migrate.",
    "Pricing changes often, so confirm current plans on each vendor's site.",
];

/// Bodies of answers that name no brand.
const NO_BRAND: &[&str] = &[
    "Focus on {f} and {f2}, and make sure the tool fits {a}.",
    "Make a list of must-haves, such as {f} and {f2}, then compare a few tools side by side.",
    "For {a}, the most important things are usually {f} and {f2}.",
];

/// The vocabulary usable with one brand configuration: the phrase lists above minus every
/// phrase that contains a configured surface form.
#[derive(Debug, Clone)]
pub(crate) struct Vocabulary {
    pub(super) intros_list: Vec<&'static str>,
    pub(super) intros_prose: Vec<&'static str>,
    pub(super) features: Vec<&'static str>,
    pub(super) feature_nouns: Vec<&'static str>,
    pub(super) audiences: Vec<&'static str>,
    pub(super) item_leads: Vec<&'static str>,
    pub(super) possessives: Vec<&'static str>,
    pub(super) prose_first: Vec<&'static str>,
    pub(super) caveats: Vec<&'static str>,
    pub(super) domain_wrappers: Vec<&'static str>,
    pub(super) item_separators: Vec<&'static str>,
    pub(super) headings_top: Vec<&'static str>,
    pub(super) headings_end: Vec<&'static str>,
    pub(super) also_mentions: Vec<&'static str>,
    pub(super) verdicts_one: Vec<&'static str>,
    pub(super) verdicts_two: Vec<&'static str>,
    pub(super) closings: Vec<&'static str>,
    pub(super) no_brand: Vec<&'static str>,
}

impl Vocabulary {
    /// Drops every phrase that contains a surface form of `brands` as whole words, in any
    /// case. Fails only if a whole phrase list would be empty (brands named after very
    /// common words such as "The").
    pub(crate) fn for_brands(brands: &[BrandBehavior]) -> Result<Self> {
        let forms: HashSet<String> = brands
            .iter()
            .flat_map(|b| b.surface_forms())
            .map(str::to_lowercase)
            .collect();
        let keep = |name: &str, pool: &[&'static str]| -> Result<Vec<&'static str>> {
            let kept: Vec<&'static str> = pool
                .iter()
                .copied()
                .filter(|phrase| {
                    let lower = phrase.to_lowercase();
                    !word_aligned_substrings(&lower).any(|part| forms.contains(part))
                })
                .collect();
            if kept.is_empty() {
                return Err(Error::invalid(
                    "brands",
                    format!(
                        "the brand names collide with every phrase of the simulator's {name} vocabulary; \
                         use more distinctive brand names or aliases"
                    ),
                ));
            }
            Ok(kept)
        };
        Ok(Self {
            intros_list: keep("intro", INTROS_LIST)?,
            intros_prose: keep("intro", INTROS_PROSE)?,
            features: keep("feature", FEATURES)?,
            feature_nouns: keep("feature", FEATURE_NOUNS)?,
            audiences: keep("audience", AUDIENCES)?,
            item_leads: keep("description", ITEM_LEADS)?,
            possessives: keep("description", POSSESSIVES)?,
            prose_first: keep("description", PROSE_FIRST)?,
            caveats: keep("caveat", CAVEATS)?,
            domain_wrappers: keep("domain", DOMAIN_WRAPPERS)?,
            item_separators: keep("separator", ITEM_SEPARATORS)?,
            headings_top: keep("heading", HEADINGS_TOP)?,
            headings_end: keep("heading", HEADINGS_END)?,
            also_mentions: keep("closing", ALSO_MENTIONS)?,
            verdicts_one: keep("closing", VERDICTS_ONE)?,
            verdicts_two: keep("closing", VERDICTS_TWO)?,
            closings: keep("closing", CLOSINGS)?,
            no_brand: keep("body", NO_BRAND)?,
        })
    }

    /// How many phrases survived filtering (tests check that the demo market loses none).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        [
            &self.intros_list,
            &self.intros_prose,
            &self.features,
            &self.feature_nouns,
            &self.audiences,
            &self.item_leads,
            &self.possessives,
            &self.prose_first,
            &self.caveats,
            &self.domain_wrappers,
            &self.item_separators,
            &self.headings_top,
            &self.headings_end,
            &self.also_mentions,
            &self.verdicts_one,
            &self.verdicts_two,
            &self.closings,
            &self.no_brand,
        ]
        .iter()
        .map(|p| p.len())
        .sum()
    }

    /// Size of the unfiltered vocabulary.
    #[cfg(test)]
    pub(crate) fn full_len() -> usize {
        [
            INTROS_LIST,
            INTROS_PROSE,
            FEATURES,
            FEATURE_NOUNS,
            AUDIENCES,
            ITEM_LEADS,
            POSSESSIVES,
            PROSE_FIRST,
            CAVEATS,
            DOMAIN_WRAPPERS,
            ITEM_SEPARATORS,
            HEADINGS_TOP,
            HEADINGS_END,
            ALSO_MENTIONS,
            VERDICTS_ONE,
            VERDICTS_TWO,
            CLOSINGS,
            NO_BRAND,
        ]
        .iter()
        .map(|p| p.len())
        .sum()
    }
}

/// Whether `needle` occurs in `haystack` as whole words: no letter or digit right before
/// or after the occurrence. Case-sensitive; lowercase both sides for a case-blind test.
#[cfg(test)]
pub(crate) fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    haystack.match_indices(needle).any(|(start, m)| {
        let before = haystack[..start].chars().next_back();
        let after = haystack[start + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Every substring of `s` that starts and ends on a word boundary, i.e. every `needle` for
/// which `contains_word(s, needle)` holds at that place. Used to look phrases up in a set
/// of surface forms instead of scanning each phrase once per form.
pub(crate) fn word_aligned_substrings(s: &str) -> impl Iterator<Item = &str> {
    let boundaries: Vec<(usize, char)> = s.char_indices().collect();
    let starts: Vec<usize> = boundaries
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !boundaries[i - 1].1.is_alphanumeric())
        .map(|(_, (pos, _))| *pos)
        .collect();
    let ends: Vec<usize> = boundaries
        .iter()
        .filter(|(_, c)| !c.is_alphanumeric())
        .map(|(pos, _)| *pos)
        .chain(std::iter::once(s.len()))
        .collect();
    starts.into_iter().flat_map(move |start| {
        let ends = ends.clone();
        ends.into_iter()
            .filter(move |&end| end > start)
            .map(move |end| &s[start..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words() {
        assert!(contains_word("try Close today", "Close"));
        assert!(contains_word("Close's pricing", "Close"));
        assert!(contains_word("(see close.com)", "close.com"));
        assert!(!contains_word("closely watched", "close"));
        assert!(!contains_word("enclose", "close"));
        assert!(!contains_word("", "x"));
    }

    #[test]
    fn aligned_substrings_match_contains_word() {
        let s = "see hubspot.com, or Zoho CRM's tier";
        let parts: Vec<&str> = word_aligned_substrings(s).collect();
        for p in [
            "see",
            "hubspot",
            "hubspot.com",
            "com",
            "Zoho CRM",
            "Zoho CRM's",
            "s tier",
            "tier",
        ] {
            assert!(parts.contains(&p), "{p:?} missing from {parts:?}");
        }
        for p in ["ubspot", "hubspo", "Zoh"] {
            assert!(!parts.contains(&p), "{p:?} should not be aligned");
        }
        for p in &parts {
            assert!(contains_word(s, p), "{p:?}");
        }
    }

    #[test]
    fn vocabulary_drops_phrases_with_brand_forms() {
        let full = Vocabulary::for_brands(&[]).unwrap();
        assert_eq!(full.len(), Vocabulary::full_len());
        // "Pricing" is a word of several phrases: they must go, and nothing else.
        let vocab = Vocabulary::for_brands(&[BrandBehavior::new("Pricing", 0.5)]).unwrap();
        assert!(vocab.len() < full.len());
        assert!(vocab.caveats.iter().all(|c| !c.to_lowercase().contains("pricing")));
        assert!(vocab.features.iter().all(|c| !c.to_lowercase().contains("pricing")));
    }

    #[test]
    fn vocabulary_that_would_be_empty_is_an_error() {
        let err = Vocabulary::for_brands(&[BrandBehavior::new("see", 0.5).aliases(["details at", "d"])]).unwrap_err();
        assert_eq!(err.field(), Some("brands"));
    }
}
