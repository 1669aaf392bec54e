//! A fresh database per test run: tests and benchmarks create one on the server named by
//! `GRIDWALK_TEST_DATABASE` (e.g. `postgres://postgres@127.0.0.1/test`) and drop it when
//! the [`TestDatabase`] is dropped.

use crate::{db, PgError, Result};
use postgres::NoTls;

/// The environment variable naming the PostgreSQL server the tests use.
pub const TEST_DATABASE_ENV: &str = "GRIDWALK_TEST_DATABASE";

/// A database made for one run, dropped (with its connections ended) on drop.
pub struct TestDatabase {
    admin: postgres::Config,
    name: String,
    url: String,
}

impl TestDatabase {
    /// The server from `GRIDWALK_TEST_DATABASE`, or `None` when it is not set.
    pub fn from_env(prefix: &str) -> Result<Option<TestDatabase>> {
        match std::env::var(TEST_DATABASE_ENV) {
            Ok(url) if !url.trim().is_empty() => TestDatabase::create(url.trim(), prefix).map(Some),
            _ => Ok(None),
        }
    }

    /// Create `<prefix>_<random>` on the server of `url` (whose database is only used to
    /// connect).
    pub fn create(url: &str, prefix: &str) -> Result<TestDatabase> {
        let admin: postgres::Config = url.parse().map_err(|e: postgres::Error| PgError::Url {
            url: crate::redact(url),
            reason: e.to_string(),
        })?;
        let safe: String = prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(30)
            .collect::<String>()
            .to_ascii_lowercase();
        let name = format!("{safe}_{}", uuid::Uuid::new_v4().simple());
        let mut client = admin.connect(NoTls).map_err(db)?;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(db)?;
        let base = match url.rfind('/') {
            Some(i) if i > url.find("://").map_or(0, |s| s + 2) => &url[..i],
            _ => url,
        };
        let base = base.split('?').next().unwrap_or(base);
        Ok(TestDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = self.admin.connect(NoTls).and_then(|mut c| {
            c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}
