//! Base URLs of provider APIs.

/// Accepts an absolute `http(s)` URL with a host and drops trailing slashes, so
/// `{base}/<endpoint>` is well formed whether or not the user typed one. `field`
/// names the setting or environment variable in the error; `example` shows a good value.
pub fn normalize_base_url(raw: &str, field: &str, example: &str) -> crate::Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| {
        crate::Error::invalid(
            field,
            format!("`{trimmed}` is not a valid URL ({e}); use something like {example}"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(crate::Error::invalid(
            field,
            format!("`{trimmed}` must be an http:// or https:// URL with a host, like {example}"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(crate::Error::invalid(
            field,
            format!("`{trimmed}` must not carry a query or fragment; endpoint paths are appended to it"),
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized_or_refused() {
        assert_eq!(
            normalize_base_url(" https://api.example.com/v1/ ", "f", "x").unwrap(),
            "https://api.example.com/v1"
        );
        for bad in [
            "not a url",
            "ftp://example.com",
            "https://example.com/v1?key=1",
            "https://example.com/#x",
        ] {
            let err = normalize_base_url(bad, "openai.base_url", "https://api.openai.com/v1").unwrap_err();
            assert_eq!(err.field(), Some("openai.base_url"), "{bad}");
        }
    }
}
