//! How to open a PostgreSQL store: the server URL and the connection pool.

use std::time::Duration;

use crate::{Error, Result};

/// How to open a [`PgStore`](super::PgStore).
///
/// Pool sizing: each worker process holds at most `max_connections` connections; the
/// server's `max_connections` (100 by default) must cover every process's pool plus
/// administration. A worker needs few: claims and batched completions are short
/// statements, and provider calls never hold a connection.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// `postgres://user[:password]@host[:port]/database[?sslmode=...]`.
    pub url: String,
    /// Maximum pooled connections (default 10).
    pub max_connections: u32,
    /// Connections kept open even when idle (default 0).
    pub min_connections: u32,
    /// How long a caller waits for a pooled connection before failing (default 30 s).
    pub acquire_timeout: Duration,
    /// Idle connections above `min_connections` are closed after this long (default 10
    /// minutes; `None` keeps them).
    pub idle_timeout: Option<Duration>,
    /// Connections are recycled after this long (default 30 minutes; `None` keeps them),
    /// so a server-side memory leak or a fail-over does not pin old sessions forever.
    pub max_lifetime: Option<Duration>,
    /// Server-side `statement_timeout` of every connection (default `None`: the server's
    /// setting). A statement running longer is cancelled by the server.
    pub statement_timeout: Option<Duration>,
    /// `application_name` shown in `pg_stat_activity` (default `echo`).
    pub application_name: String,
}

impl PgConfig {
    /// The defaults for a server URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            statement_timeout: None,
            application_name: "echo".to_string(),
        }
    }

    /// Sets `max_connections`.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets `min_connections`.
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// Sets `acquire_timeout`.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets `statement_timeout`.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// Rejects settings the pool cannot honour, naming the field.
    pub fn validate(&self) -> Result<()> {
        let url = self.url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::invalid(
                "postgres.url",
                "must start with postgres:// or postgresql:// (e.g. postgres://user@127.0.0.1:5432/echo)",
            ));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid("postgres.max_connections", "must be at least 1"));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::invalid(
                "postgres.min_connections",
                format!(
                    "is {} but max_connections is {}; lower it or raise max_connections",
                    self.min_connections, self.max_connections
                ),
            ));
        }
        if self.acquire_timeout.is_zero() {
            return Err(Error::invalid(
                "postgres.acquire_timeout",
                "must be longer than zero (a caller would fail whenever every connection is busy)",
            ));
        }
        if self.idle_timeout.is_some_and(|d| d.is_zero()) {
            return Err(Error::invalid(
                "postgres.idle_timeout",
                "must be longer than zero; use None to keep idle connections",
            ));
        }
        if self.max_lifetime.is_some_and(|d| d.is_zero()) {
            return Err(Error::invalid(
                "postgres.max_lifetime",
                "must be longer than zero; use None to keep connections",
            ));
        }
        if let Some(t) = self.statement_timeout {
            if t.as_millis() == 0 {
                return Err(Error::invalid(
                    "postgres.statement_timeout",
                    "must be at least 1 ms (0 would disable the server's timeout); use None for the server's setting",
                ));
            }
        }
        if self.application_name.len() >= 64 {
            return Err(Error::invalid(
                "postgres.application_name",
                "must be shorter than 64 bytes (PostgreSQL truncates it)",
            ));
        }
        Ok(())
    }

    /// The URL without its password, for logs and error messages.
    pub fn redacted_url(&self) -> String {
        match url_password_span(&self.url) {
            Some((start, end)) => format!("{}***{}", &self.url[..start], &self.url[end..]),
            None => self.url.clone(),
        }
    }
}

/// Byte span of the password in `scheme://user:password@host...`, if there is one.
fn url_password_span(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((authority_start + colon + 1, authority_start + at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        PgConfig::new("postgres://postgres@127.0.0.1:5432/echo")
            .validate()
            .unwrap();
        PgConfig::new("postgresql://localhost/echo").validate().unwrap();
    }

    #[test]
    fn bad_settings_name_their_field() {
        let base = PgConfig::new("postgres://localhost/echo");
        let cases = [
            (PgConfig::new("mysql://localhost/echo"), "postgres.url"),
            (base.clone().max_connections(0), "postgres.max_connections"),
            (
                base.clone().max_connections(2).min_connections(3),
                "postgres.min_connections",
            ),
            (base.clone().acquire_timeout(Duration::ZERO), "postgres.acquire_timeout"),
            (
                PgConfig {
                    idle_timeout: Some(Duration::ZERO),
                    ..base.clone()
                },
                "postgres.idle_timeout",
            ),
            (
                PgConfig {
                    max_lifetime: Some(Duration::ZERO),
                    ..base.clone()
                },
                "postgres.max_lifetime",
            ),
            (
                base.clone().statement_timeout(Duration::from_micros(10)),
                "postgres.statement_timeout",
            ),
            (
                PgConfig {
                    application_name: "x".repeat(64),
                    ..base.clone()
                },
                "postgres.application_name",
            ),
        ];
        for (config, field) in cases {
            let err = config.validate().expect_err(field);
            assert_eq!(err.field(), Some(field), "{err}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        let c = PgConfig::new("postgres://echo:s3cr%40t@db.internal:5432/echo?sslmode=require");
        assert_eq!(
            c.redacted_url(),
            "postgres://echo:***@db.internal:5432/echo?sslmode=require"
        );
        let c = PgConfig::new("postgres://echo@db/echo");
        assert_eq!(c.redacted_url(), "postgres://echo@db/echo");
        let c = PgConfig::new("postgres://db/echo");
        assert_eq!(c.redacted_url(), "postgres://db/echo");
    }
}
