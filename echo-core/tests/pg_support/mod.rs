//! A private PostgreSQL database per test.
//!
//! Tests read the server from `ECHO_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), create a database with a unique name
//! (several test processes and several developers' runs share one server), and drop it when
//! the returned guard goes out of scope. When the server cannot be reached the test prints
//! a loud `SKIPPED` line and passes, except under `CI=true`, where a missing server is a
//! failure: CI must really exercise PostgreSQL.
#![allow(dead_code)] // each test crate uses a different subset

use std::time::Duration;

use echo_core::store::{PgConfig, PgStore};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server URL the tests use.
pub fn server_url() -> String {
    std::env::var("ECHO_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A database created for one test; dropped (`WITH (FORCE)`, so open connections do not
/// keep it alive) when the guard is dropped.
pub struct TestDb {
    /// URL of the test's own database.
    pub url: String,
    /// Its name (`echo_test_<uuid>`).
    pub name: String,
    admin: PgConnectOptions,
}

impl TestDb {
    /// Creates a fresh database, or `None` (after printing why) when the server is not
    /// reachable outside CI.
    pub async fn create(test: &str) -> Option<TestDb> {
        let url = server_url();
        let admin: PgConnectOptions = url.parse().expect("ECHO_TEST_PG_URL is not a PostgreSQL URL");
        let admin = admin.disable_statement_logging();
        let connect = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&admin)).await;
        let mut conn = match connect.map_err(|_| "timed out after 5 s".to_string()) {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return skip_or_panic(test, &url, &e.to_string()),
            Err(e) => return skip_or_panic(test, &url, &e),
        };
        let name = format!("echo_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        conn.close().await.ok();
        let db_url = admin.clone().database(&name).to_url_lossy().to_string();
        Some(TestDb {
            url: db_url,
            name,
            admin,
        })
    }

    /// The default store configuration for this database.
    pub fn config(&self) -> PgConfig {
        PgConfig::new(&self.url)
    }

    /// Opens (and migrates) a store on this database.
    pub async fn store(&self) -> PgStore {
        PgStore::open(self.config()).await.expect("open PostgreSQL store")
    }
}

/// Outside CI: prints the loud skip notice and returns `None`. Under `CI=true`: panics.
fn skip_or_panic(test: &str, url: &str, error: &str) -> Option<TestDb> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("PostgreSQL not reachable at {url} under CI=true: {error}");
    }
    // Written to the process's stderr directly: the test harness captures `eprintln!` of
    // passing tests, and a skip must be seen.
    let notice = format!(
        "\n*** SKIPPED: PostgreSQL not reachable at {url} ({error}); test {test} did not run. \
         Start a server or set ECHO_TEST_PG_URL. ***\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
    None
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside any runtime the test may have shut down: use a small one of our own.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async move {
                let mut conn = PgConnection::connect_with(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                Ok::<_, sqlx::Error>(())
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// Creates a test database and opens a store on it, or returns from the test (skipped)
/// when PostgreSQL is unreachable outside CI.
#[macro_export]
macro_rules! pg_store_or_skip {
    ($test:expr) => {{
        match $crate::pg_support::TestDb::create($test).await {
            Some(db) => {
                let store = db.store().await;
                (db, store)
            }
            None => return,
        }
    }};
}
