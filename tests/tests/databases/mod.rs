//! The databases a multi-process test runs on, given by URL: always a fresh SQLite file
//! (WAL; several processes share it), and a fresh PostgreSQL database when the server is
//! reachable.
//!
//! PostgreSQL: `ECHO_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! names the server; each test creates its own uniquely named database and drops it at the
//! end. A missing server fails under `CI=true` and is loudly SKIPPED otherwise.
#![allow(dead_code)]

use echo_core::engine::Echo;
use sqlx::Connection;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// One database for one test.
pub struct TestDb {
    /// What the test passes to `EchoBuilder::database_url` and `--database-url`.
    pub url: String,
    /// `sqlite` or `postgres`, for messages.
    pub backend: &'static str,
    guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Drops a PostgreSQL database (SQLite files go with their temporary directory).
    pub async fn cleanup(self) {
        if let Guard::Postgres { admin_url, name } = self.guard {
            match sqlx::PgConnection::connect(&admin_url).await {
                Ok(mut admin) => {
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = sqlx::query(&drop).execute(&mut admin).await {
                        eprintln!("warning: could not drop test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("warning: could not connect to drop test database {name}: {e}"),
            }
        }
    }
}

/// A fresh SQLite file database.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("echo.db").display());
    TestDb {
        url,
        backend: "sqlite",
        guard: Guard::Sqlite(dir),
    }
}

/// A fresh PostgreSQL database named after `test`, or `None` (with a loud message) when
/// PostgreSQL cannot be used here.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let admin_url = std::env::var("ECHO_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL not reachable at {admin_url} under CI=true: {e}");
            }
            eprintln!("SKIPPED: PostgreSQL not reachable at {admin_url} ({e}); {test} ran on SQLite only");
            return None;
        }
    };
    // PostgreSQL truncates identifiers at 63 bytes: keep the unique suffix whole.
    let short: String = test.chars().take(24).collect();
    let name = format!("echo_{short}_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    drop(admin);
    let db = TestDb {
        url: with_database(&admin_url, &name),
        backend: "postgres",
        guard: Guard::Postgres { admin_url, name },
    };
    // Opening migrates it: a broken migration fails here, named as such.
    match Echo::builder().database_url(db.url.clone()).build().await {
        Ok(echo) => {
            echo.close().await;
            Some(db)
        }
        Err(e) => panic!("opening PostgreSQL database {}: {e}", db.url),
    }
}

/// Every database the test should run on.
pub async fn all(test: &str) -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres(test).await);
    dbs
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

#[test]
fn database_name_is_replaced() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
