//! Facts extracted from answers: brand mentions and cited sources.

use serde::{Deserialize, Serialize};

/// One tracked brand named in one answer. Several surface forms of the same brand in an
/// answer collapse into one `Mention` with a `count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// Canonical brand name, as in the catalog.
    pub brand: String,
    /// Byte offset of the first occurrence in the answer text.
    pub offset: u32,
    /// Byte length of the first occurrence's surface form.
    pub len: u32,
    /// Number of occurrences in the answer.
    pub count: u32,
    /// 1-based order of first appearance among the tracked brands named in this answer.
    pub rank: u32,
    /// 1-based index of the list item holding the first occurrence, when it sits in a
    /// numbered or bulleted markdown list.
    pub list_index: Option<u32>,
}

/// A source the model cited for its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    pub url: String,
    /// Lowercased host without a leading `www.`.
    pub domain: String,
    pub title: Option<String>,
    /// The span of the answer the provider says this source supports, when given.
    pub cited_text: Option<String>,
}

impl Citation {
    /// A citation from a URL, deriving the domain.
    pub fn from_url(url: impl Into<String>, title: Option<String>) -> Self {
        let url = url.into();
        let domain = domain_of(&url);
        Self {
            url,
            domain,
            title,
            cited_text: None,
        }
    }
}

/// The registrable-looking host of a URL: lowercased, without scheme, port, path or `www.`.
pub fn domain_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    let host = host.split(':').next().unwrap_or("");
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host.strip_prefix("www.").map(str::to_string).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::domain_of;

    #[test]
    fn domains() {
        assert_eq!(domain_of("https://www.HubSpot.com/crm?x=1"), "hubspot.com");
        assert_eq!(domain_of("http://user@docs.example.org:8080/a"), "docs.example.org");
        assert_eq!(domain_of("example.com/path"), "example.com");
    }
}
