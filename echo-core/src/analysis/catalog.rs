//! The brand catalog: validated brands, compiled once for extraction.
//!
//! Validation happens here, once, so the extractor and the metrics can trust that every
//! surface form identifies exactly one brand: an ambiguous catalog would silently credit
//! one brand's mentions to another.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::model::{BrandRole, BrandSpec};
use crate::{Error, Result};

use super::surface::normalize_domain;

/// A validated set of brands. Construction rejects blank names and any surface form
/// (name, alias or domain) claimed by two brands, naming the offending field.
///
/// The stored brands are normalized: names and aliases are trimmed, domains lowercased
/// without scheme, path or `www.`, and exact duplicates inside one brand are dropped.
#[derive(Debug, Clone)]
pub struct BrandCatalog {
    brands: Vec<BrandSpec>,
    /// Canonical name → index, exact spelling.
    by_name: HashMap<String, usize>,
    /// Lowercased canonical name → index.
    by_lower_name: HashMap<String, usize>,
    /// Normalized domain → index.
    by_domain: HashMap<String, usize>,
}

/// Who claimed a surface form first, for conflict messages.
struct Claim {
    brand: usize,
    field: String,
    shown: String,
}

impl BrandCatalog {
    /// Validates `brands`. Errors are `InvalidInput` with fields like `spec.brands[3].aliases[0]`.
    ///
    /// Rejected: a blank name, alias or domain; a domain that does not look like one; a
    /// name or alias without any letter or digit; the same name or alias
    /// (case-insensitively) or the same domain (after normalization) claimed by two brands,
    /// which includes two brands with the same name.
    pub fn new(brands: Vec<BrandSpec>) -> Result<Self> {
        let mut claims: HashMap<String, Claim> = HashMap::new();
        let mut normalized = Vec::with_capacity(brands.len());
        for (i, spec) in brands.into_iter().enumerate() {
            let name_field = format!("spec.brands[{i}].name");
            let name = check_text(&name_field, &spec.name)?;
            claim(&mut claims, i, name_field, name, name.to_lowercase(), "name")?;

            let mut aliases: Vec<String> = Vec::with_capacity(spec.aliases.len());
            for (j, alias) in spec.aliases.iter().enumerate() {
                let field = format!("spec.brands[{i}].aliases[{j}]");
                let alias = check_text(&field, alias)?;
                claim(&mut claims, i, field, alias, alias.to_lowercase(), "alias")?;
                if alias != name && !aliases.iter().any(|a| a == alias) {
                    aliases.push(alias.to_string());
                }
            }

            let mut domains: Vec<String> = Vec::with_capacity(spec.domains.len());
            for (j, raw) in spec.domains.iter().enumerate() {
                let field = format!("spec.brands[{i}].domains[{j}]");
                if raw.trim().is_empty() {
                    return Err(Error::invalid(
                        field,
                        "must not be blank; remove it or give a domain like example.com",
                    ));
                }
                let Some(domain) = normalize_domain(raw) else {
                    return Err(Error::invalid(
                        field,
                        format!("{raw:?} is not a domain; give a host name like example.com (no spaces)"),
                    ));
                };
                claim(&mut claims, i, field, raw.trim(), domain.clone(), "domain")?;
                if !domains.contains(&domain) {
                    domains.push(domain);
                }
            }

            normalized.push(BrandSpec {
                name: name.to_string(),
                aliases,
                domains,
                case: spec.case,
                role: spec.role,
            });
        }

        let by_name = normalized
            .iter()
            .enumerate()
            .map(|(i, b)| (b.name.clone(), i))
            .collect();
        let by_lower_name = normalized
            .iter()
            .enumerate()
            .map(|(i, b)| (b.name.to_lowercase(), i))
            .collect();
        let by_domain = normalized
            .iter()
            .enumerate()
            .flat_map(|(i, b)| b.domains.iter().map(move |d| (d.clone(), i)))
            .collect();
        Ok(Self {
            brands: normalized,
            by_name,
            by_lower_name,
            by_domain,
        })
    }

    /// The brands, in the order given.
    pub fn brands(&self) -> &[BrandSpec] {
        &self.brands
    }

    /// Number of brands.
    pub fn len(&self) -> usize {
        self.brands.len()
    }

    /// Whether the catalog has no brand.
    pub fn is_empty(&self) -> bool {
        self.brands.is_empty()
    }

    /// The brand at `index` (catalog order).
    pub fn get(&self, index: usize) -> Option<&BrandSpec> {
        self.brands.get(index)
    }

    /// Index of the brand whose canonical name is `name`: exact spelling first, then
    /// case-insensitively (names are unique case-insensitively).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name
            .get(name)
            .or_else(|| self.by_lower_name.get(&name.to_lowercase()))
            .copied()
    }

    /// The brand whose canonical name is `name` (see [`BrandCatalog::index_of`]).
    pub fn brand(&self, name: &str) -> Option<&BrandSpec> {
        self.index_of(name).map(|i| &self.brands[i])
    }

    /// Role of the brand named `name`, if it is in the catalog.
    pub fn role_of(&self, name: &str) -> Option<BrandRole> {
        self.brand(name).map(|b| b.role)
    }

    /// The brands with role [`BrandRole::Target`] (the user's own).
    pub fn targets(&self) -> impl Iterator<Item = &BrandSpec> {
        self.brands.iter().filter(|b| b.role == BrandRole::Target)
    }

    /// Index of the brand owning `domain` or one of its parent domains, so a citation of
    /// `docs.hubspot.com` is attributed to the brand with domain `hubspot.com`.
    pub fn index_of_domain(&self, domain: &str) -> Option<usize> {
        let domain = normalize_domain(domain)?;
        let mut rest = domain.as_str();
        loop {
            if let Some(&i) = self.by_domain.get(rest) {
                return Some(i);
            }
            rest = rest.split_once('.')?.1;
            if !rest.contains('.') {
                return None;
            }
        }
    }
}

/// Trims a name or alias and checks it can be found in text.
fn check_text<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "must not be blank"));
    }
    if !trimmed.chars().any(char::is_alphanumeric) {
        return Err(Error::invalid(
            field,
            format!("{value:?} has no letter or digit, so it cannot be found in text"),
        ));
    }
    Ok(trimmed)
}

/// Records that brand `brand` claims `key`; a claim by another brand is a conflict.
fn claim(
    claims: &mut HashMap<String, Claim>,
    brand: usize,
    field: String,
    shown: &str,
    key: String,
    what: &str,
) -> Result<()> {
    match claims.entry(key) {
        Entry::Vacant(v) => {
            v.insert(Claim {
                brand,
                field,
                shown: shown.to_string(),
            });
            Ok(())
        }
        Entry::Occupied(o) if o.get().brand == brand => Ok(()),
        Entry::Occupied(o) => {
            let first = o.get();
            let message = if what == "name" && first.field.ends_with(".name") {
                format!(
                    "duplicate brand name {shown:?}: {} is already {:?}; merge the two brands",
                    first.field, first.shown
                )
            } else {
                format!(
                    "{what} {shown:?} is already claimed by {} ({:?}); a name, alias or domain may identify only one \
                     brand (case-insensitively), so remove it from one of them",
                    first.field, first.shown
                )
            };
            Err(Error::invalid(field, message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn err(brands: Vec<BrandSpec>) -> Error {
        BrandCatalog::new(brands).expect_err("catalog must be rejected")
    }

    #[test]
    fn accepts_and_normalizes() {
        let cat = BrandCatalog::new(vec![
            BrandSpec::target(" HubSpot ")
                .aliases(["HubSpot CRM", "HubSpot CRM", "Hubspot", "HubSpot"])
                .domains(["https://www.HubSpot.com/", "hubspot.com"]),
            BrandSpec::new("Pipedrive"),
        ])
        .expect("valid catalog");
        assert_eq!(cat.len(), 2);
        assert!(!cat.is_empty());
        let h = &cat.brands()[0];
        assert_eq!(h.name, "HubSpot");
        assert_eq!(
            h.aliases,
            vec!["HubSpot CRM", "Hubspot"],
            "duplicates inside one brand are dropped"
        );
        assert_eq!(h.domains, vec!["hubspot.com"]);
        assert_eq!(cat.index_of("Pipedrive"), Some(1));
        assert_eq!(cat.index_of("pipedrive"), Some(1));
        assert_eq!(cat.index_of("Close"), None);
        assert_eq!(cat.role_of("HubSpot"), Some(BrandRole::Target));
        assert_eq!(cat.role_of("Pipedrive"), Some(BrandRole::Competitor));
        assert_eq!(cat.targets().count(), 1);
        assert_eq!(cat.index_of_domain("docs.hubspot.com"), Some(0));
        assert_eq!(cat.index_of_domain("WWW.HUBSPOT.COM"), Some(0));
        assert_eq!(cat.index_of_domain("nothubspot.com"), None);
        assert_eq!(cat.index_of_domain("com"), None);
    }

    #[test]
    fn blank_fields_are_named() {
        let e = err(vec![BrandSpec::new("A"), BrandSpec::new("B"), BrandSpec::new("  ")]);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some("spec.brands[2].name"));
        let e = err(vec![
            BrandSpec::new("A"),
            BrandSpec::new("B"),
            BrandSpec::new("C").aliases([""]),
        ]);
        assert_eq!(e.field(), Some("spec.brands[2].aliases[0]"));
        let e = err(vec![BrandSpec::new("A"), BrandSpec::new("B").domains(["b.com", " "])]);
        assert_eq!(e.field(), Some("spec.brands[1].domains[1]"));
        let e = err(vec![BrandSpec::new("A").aliases(["--"])]);
        assert_eq!(e.field(), Some("spec.brands[0].aliases[0]"));
    }

    #[test]
    fn bad_domain_is_rejected() {
        let e = err(vec![BrandSpec::new("A"), BrandSpec::new("B").domains(["not a domain"])]);
        assert_eq!(e.field(), Some("spec.brands[1].domains[0]"));
        assert!(e.to_string().contains("example.com"), "{e}");
    }

    #[test]
    fn alias_of_one_brand_and_name_of_another_conflict() {
        let e = err(vec![
            BrandSpec::new("Acme").aliases(["HubSpot"]),
            BrandSpec::new("hubspot"),
        ]);
        assert_eq!(e.field(), Some("spec.brands[1].name"));
        let msg = e.to_string();
        assert!(
            msg.contains("spec.brands[0].aliases[0]") && msg.contains("hubspot"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_names_conflict() {
        let e = err(vec![
            BrandSpec::new("Notion"),
            BrandSpec::new("Slack"),
            BrandSpec::new("NOTION"),
        ]);
        assert_eq!(e.field(), Some("spec.brands[2].name"));
        assert!(e.to_string().contains("duplicate brand name"), "{e}");
    }

    #[test]
    fn domains_conflict_after_normalization() {
        let e = err(vec![
            BrandSpec::new("You.com").domains(["you.com"]),
            BrandSpec::new("Other").domains(["WWW.YOU.COM"]),
        ]);
        assert_eq!(e.field(), Some("spec.brands[1].domains[0]"));
        // An alias spelled like another brand's domain would match the same text.
        let e = err(vec![
            BrandSpec::new("You.com").domains(["you.com"]),
            BrandSpec::new("Other").aliases(["You.com"]),
        ]);
        assert_eq!(e.field(), Some("spec.brands[1].aliases[0]"));
    }

    #[test]
    fn empty_catalog_is_valid() {
        let cat = BrandCatalog::new(Vec::new()).expect("empty catalog");
        assert!(cat.is_empty());
    }
}
