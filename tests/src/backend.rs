//! The district a test server runs on: SQLite in a temporary directory, or, when
//! `GRIDWALK_TEST_DATABASE` names a PostgreSQL server, a fresh database on it that is
//! dropped at the end. The tests reach it through the backend-neutral traits the server
//! itself holds (`ConsoleBackend`, `DistrictStore`, `BlobStore`); only counting rows and
//! opening a second instance know which backend it is.

use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_postgres::{PgBlobs, PgDistrict};
use gridwalk_district_sqlite::blobs::{BlobStore, SqliteBlobs};
use gridwalk_district_sqlite::{ConsoleBackend, DistrictStore, SqliteDistrict, UserUpdate};
use gridwalk_server::{AppState, ServerConfig};
use std::path::Path;
use std::sync::Arc;

/// Connections a test server's PostgreSQL pool may hold.
const PG_CONNECTIONS: u32 = 8;

/// The environment variable a child server process reads its database URL from (its
/// data directory comes in a variable of the test's own).
pub const CHILD_DATABASE_ENV: &str = "GRIDWALK_CHILD_DATABASE";

/// One backend's store.
pub enum Backend {
    Sqlite(Arc<SqliteDistrict>),
    Postgres(Arc<PgDistrict>),
}

/// A district for one test. Fields drop in order: the stores' pools before the database.
pub struct TestDistrict {
    pub backend: Backend,
    /// The store as the console and admin see it, on either backend.
    pub console: Arc<dyn ConsoleBackend>,
    /// The data directory (the SQLite store; on PostgreSQL only the server's own files).
    pub dir: tempfile::TempDir,
    db: Option<TestDatabase>,
}

impl TestDistrict {
    /// SQLite, or PostgreSQL when `GRIDWALK_TEST_DATABASE` is set.
    pub fn open() -> TestDistrict {
        let dir = tempfile::tempdir().expect("tempdir");
        match TestDatabase::from_env("gw_e2e").expect("test database") {
            Some(db) => {
                let d = Arc::new(PgDistrict::open(db.url(), PG_CONNECTIONS).expect("PG district"));
                TestDistrict {
                    console: d.clone(),
                    backend: Backend::Postgres(d),
                    dir,
                    db: Some(db),
                }
            }
            None => {
                let d = Arc::new(SqliteDistrict::open(dir.path()).expect("district"));
                TestDistrict {
                    console: d.clone(),
                    backend: Backend::Sqlite(d),
                    dir,
                    db: None,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.db.is_some()
    }

    /// The test database's URL on PostgreSQL.
    pub fn database_url(&self) -> Option<&str> {
        self.db.as_ref().map(|d| d.url())
    }

    /// The sync half of the store.
    pub fn store(&self) -> Arc<dyn DistrictStore> {
        self.console.clone()
    }

    /// A server's configuration on this district (port 0).
    pub fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(self.dir.path());
        config.addr = "127.0.0.1:0".parse().expect("addr");
        config.database_url = self.database_url().map(str::to_string);
        config
    }

    /// A server's state on this very store instance.
    pub fn state(&self, config: ServerConfig) -> AppState {
        match &self.backend {
            Backend::Sqlite(d) => AppState::new(d.clone(), config),
            Backend::Postgres(d) => AppState::postgres(d.clone(), config),
        }
    }

    /// A worker scoped to `grids` (no area tree needed: the row is written as is).
    pub fn worker(&self, name: &str, grids: &[&str]) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let user = UserUpdate {
            username: name.into(),
            display_name: name.into(),
            role: "worker".into(),
            grids: grids.iter().map(|g| g.to_string()).collect(),
            areas: vec![],
            password: None,
        };
        self.console
            .write_user(false, &id, &user, None, crate::NOW)
            .expect("user");
        id
    }

    /// A one-time enrollment code for `user_id`, valid an hour.
    pub fn enrollment_code(&self, user_id: &str) -> String {
        self.console
            .create_enrollment(user_id, 3_600_000, gridwalk_server::now_ms())
            .expect("code")
    }

    /// `SELECT count(*) …` (a test's own statement) on the backend's database.
    pub fn count(&self, sql: &str) -> i64 {
        match &self.backend {
            Backend::Sqlite(d) => d
                .with_reader(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
                .expect("count"),
            Backend::Postgres(_) => {
                let url = self.database_url().expect("url");
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                c.query_one(sql, &[]).expect("count").get(0)
            }
        }
    }

    /// The backend's photo bytes with a device quota.
    pub fn blobs(&self, quota: u64) -> Arc<dyn BlobStore> {
        match &self.backend {
            Backend::Sqlite(d) => Arc::new(SqliteBlobs::beside(d.path(), quota)),
            Backend::Postgres(d) => Arc::new(PgBlobs::new(d, quota)),
        }
    }

    /// Every blob stored, with its size.
    pub fn stored_blobs(&self) -> Vec<(String, u64)> {
        match &self.backend {
            Backend::Sqlite(d) => SqliteBlobs::beside(d.path(), 0).stored(),
            Backend::Postgres(d) => PgBlobs::new(d, 0).stored(),
        }
        .expect("blobs")
    }

    /// What a child server process needs to serve this district: the data directory in
    /// `dir_env`, the database in [`CHILD_DATABASE_ENV`].
    pub fn child_env(&self, dir_env: &str) -> Vec<(String, String)> {
        let mut env = vec![(dir_env.to_string(), path_str(self.dir.path()))];
        if let Some(url) = self.database_url() {
            env.push((CHILD_DATABASE_ENV.into(), url.into()));
        }
        env
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// In a child server process: its configuration from [`TestDistrict::child_env`], or
/// `None` when this process is no child (the variable `dir_env` is not set).
pub fn child_config(dir_env: &str) -> Option<ServerConfig> {
    let dir = std::env::var(dir_env).ok()?;
    let mut config = ServerConfig::new(dir);
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.database_url = std::env::var(CHILD_DATABASE_ENV).ok();
    Some(config)
}
