//! Shared helpers: a real server on 127.0.0.1:0 over a temporary data directory, or, when
//! `GRIDWALK_TEST_DATABASE` names a PostgreSQL server, over a fresh database made on it
//! for the test and dropped after it. The tests reach the store through the traits the
//! server itself holds ([`Harness::db`]), so one suite runs on both backends.
#![allow(dead_code)]

pub mod console;

use gridwalk_core::demo::{generate, DemoDistrict, DemoParams};
use gridwalk_core::sync::{
    decode_response, encode, GridCursor, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use gridwalk_core::Author;
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_sqlite::ConsoleBackend;
use gridwalk_server::{load_demo, now_ms, spawn, DemoSummary, RunningServer, ServerConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";
pub const SYNC_TYPE: &str = "application/x-gridwalk-sync";

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub server: RunningServer,
    pub url: String,
    pub http: reqwest::Client,
    pub demo: DemoDistrict,
    pub summary: DemoSummary,
    /// The test's PostgreSQL database (dropped last), if it runs on one.
    pub pg: PgGuard,
}

/// A test database, dropped on a thread of its own: the blocking client it drops with
/// must not run on the async runtime the test is on.
#[derive(Default)]
pub struct PgGuard(Option<TestDatabase>);

impl PgGuard {
    /// A fresh database when `GRIDWALK_TEST_DATABASE` is set (made off the runtime).
    pub async fn from_env() -> PgGuard {
        let db = tokio::task::spawn_blocking(|| TestDatabase::from_env("gw_server"))
            .await
            .expect("join")
            .expect("test database");
        PgGuard(db)
    }

    pub fn url(&self) -> Option<&str> {
        self.0.as_ref().map(|d| d.url())
    }
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            let _ = std::thread::spawn(move || drop(db)).join();
        }
    }
}

/// Is this run on PostgreSQL (`GRIDWALK_TEST_DATABASE` set)?
pub fn on_postgres() -> bool {
    std::env::var(gridwalk_district_postgres::testing::TEST_DATABASE_ENV)
        .is_ok_and(|v| !v.trim().is_empty())
}

/// A server on a fresh district (and its own database on PostgreSQL), nothing loaded.
pub struct Fresh {
    pub dir: tempfile::TempDir,
    pub server: RunningServer,
    pub pg: PgGuard,
}

/// The test configuration (tokens, small limits) changed by `tweak`, served on a fresh
/// district: SQLite in a temporary directory, or a fresh PostgreSQL database.
pub async fn spawn_fresh(tweak: impl FnOnce(&mut ServerConfig)) -> Fresh {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = PgGuard::from_env().await;
    let mut config = ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.metrics_token = Some(METRICS_TOKEN.into());
    config.database_url = pg.url().map(str::to_string);
    tweak(&mut config);
    let server = spawn(config).await.expect("server starts");
    Fresh { dir, server, pg }
}

impl Fresh {
    /// Run `f` on the server's store, on either backend (blocking calls: off the async
    /// workers; the test must run on the multi-threaded runtime).
    pub fn db<R>(&self, f: impl FnOnce(&dyn ConsoleBackend) -> R) -> R {
        let console = self.server.state.console.clone();
        tokio::task::block_in_place(move || f(console.as_ref()))
    }
}

/// A small district: one community with two grids, a handful of households.
pub fn demo_params() -> DemoParams {
    DemoParams {
        seed: 7,
        streets: 1,
        communities_per_street: 1,
        grids_per_community: 2,
        households: 6,
        visits_per_household: 1.0,
        issues_per_household: 0.5,
        now_ms: now_ms(),
    }
}

pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Harness {
    let Fresh { dir, server, pg } = spawn_fresh(|config| {
        config.max_body_bytes = 256 * 1024;
        config.max_decoded_bytes = 1024 * 1024;
        tweak(config);
    })
    .await;
    let params = demo_params();
    let district = server.state.console.clone();
    let p = params.clone();
    let summary = tokio::task::spawn_blocking(move || load_demo(&*district, &p, p.now_ms))
        .await
        .expect("join")
        .expect("demo loads");
    let demo = generate(&params);
    let url = server.url();
    Harness {
        dir,
        server,
        url,
        http: reqwest::Client::new(),
        demo,
        summary,
        pg,
    }
}

pub async fn start() -> Harness {
    start_with(|_| {}).await
}

/// An enrolled device.
#[derive(Debug, Clone)]
pub struct Device {
    pub device_id: String,
    pub user_id: String,
    pub token: String,
    pub grids: Vec<String>,
}

impl Device {
    pub fn author(&self) -> Author {
        Author::new(
            Uuid::parse_str(&self.user_id).expect("user uuid"),
            Uuid::parse_str(&self.device_id).expect("device uuid"),
        )
    }

    pub fn fresh_cursors(&self) -> Vec<GridCursor> {
        self.grids.iter().map(GridCursor::fresh).collect()
    }
}

impl Harness {
    /// Run `f` on the server's store, on either backend (see [`Fresh::db`]).
    pub fn db<R>(&self, f: impl FnOnce(&dyn ConsoleBackend) -> R) -> R {
        let console = self.server.state.console.clone();
        tokio::task::block_in_place(move || f(console.as_ref()))
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.url().is_some()
    }

    /// The command line's flag and value naming this district (`--data DIR` or
    /// `--database URL`).
    pub fn place_args(&self) -> [std::ffi::OsString; 2] {
        match self.pg.url() {
            Some(url) => ["--database".into(), url.into()],
            None => ["--data".into(), self.dir.path().into()],
        }
    }

    /// A user's id by username.
    pub fn user_id(&self, username: &str) -> String {
        self.db(|d| user_id_in(d, username))
    }

    pub fn code_for(&self, username: &str) -> String {
        self.db(|d| {
            let id = user_id_in(d, username);
            d.create_enrollment(&id, 3_600_000, now_ms()).expect("code")
        })
    }

    /// `EditStore::edit_document` (typed, only changed fields written) on either backend.
    #[allow(clippy::too_many_arguments)]
    pub fn edit_document<T, F>(
        &self,
        kind: gridwalk_core::DocKind,
        id: gridwalk_core::DocId,
        actor: &gridwalk_core::authorize::Actor,
        author: Author,
        now_ms: i64,
        message: &str,
        mut edit: F,
    ) -> gridwalk_store::Result<Vec<String>>
    where
        T: autosurgeon::Hydrate + serde::Serialize,
        F: FnMut(&mut T) -> Result<(), gridwalk_core::CoreError>,
    {
        self.db(|d| {
            d.edit_document_with(kind, id, actor, now_ms, &mut |doc| {
                doc.edit(author, now_ms, message, &mut edit)
                    .map(|_| ())
                    .map_err(|source| gridwalk_store::StoreError::Doc {
                        doc_id: id.to_string(),
                        source,
                    })
            })
        })
    }

    /// `SELECT count(*) …` (a test's own statement) on the backend's database.
    pub fn count(&self, sql: &str) -> i64 {
        match (&self.server.state.district, self.pg.url()) {
            (Some(d), _) => tokio::task::block_in_place(|| {
                d.with_reader(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            })
            .expect("count"),
            (None, Some(url)) => tokio::task::block_in_place(|| {
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                c.query_one(sql, &[]).expect("count").get(0)
            }),
            (None, None) => unreachable!("a server on neither backend"),
        }
    }

    /// Run one statement (a test's own, values inline) on the backend's database, past
    /// the store: rows a test sets up that no API writes alone.
    pub fn execute(&self, sql: &str) {
        match (&self.server.state.district, self.pg.url()) {
            (Some(d), _) => tokio::task::block_in_place(|| {
                d.with_writer(|s| Ok(s.connection().execute(sql, [])?))
            })
            .map(|_| ())
            .expect("execute"),
            (None, Some(url)) => tokio::task::block_in_place(|| {
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                c.execute(sql, &[]).map(|_| ()).expect("execute")
            }),
            (None, None) => unreachable!("a server on neither backend"),
        }
    }

    /// A digest of every row the store holds but the sync log's (see [`store_fingerprint`]
    /// and [`pg_fingerprint`]).
    pub fn fingerprint(&self) -> String {
        match self.pg.url() {
            Some(url) => {
                let url = url.to_string();
                tokio::task::block_in_place(move || pg_fingerprint(&url))
            }
            None => store_fingerprint(&self.dir.path().join("district.sqlite")),
        }
    }

    pub async fn enroll_raw(&self, code: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/enroll", self.url))
            .json(&serde_json::json!({ "code": code, "device_name": "test phone" }))
            .send()
            .await
            .expect("enroll request")
    }

    pub async fn enroll(&self, username: &str) -> Device {
        let code = self.code_for(username);
        let resp = self.enroll_raw(&code).await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        Device {
            device_id: v["device_id"].as_str().expect("device_id").into(),
            user_id: v["user_id"].as_str().expect("user_id").into(),
            token: v["token"].as_str().expect("token").into(),
            grids: serde_json::from_value(v["grids"].clone()).expect("grids"),
        }
    }

    pub async fn post_sync(&self, token: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/api/v1/sync", self.url))
            .header("content-type", SYNC_TYPE)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("sync request")
    }

    /// A sync that must succeed.
    pub async fn sync(&self, device: &Device, req: &SyncRequest) -> SyncResponse {
        let resp = self.post_sync(Some(&device.token), encode(req)).await;
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let bytes = resp.bytes().await.expect("body");
        assert_eq!(
            status,
            200,
            "sync failed: {}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(ct.as_deref(), Some(SYNC_TYPE));
        decode_response(&bytes, 64 << 20).expect("response decodes")
    }

    pub async fn admin_get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("admin request")
    }
}

pub fn request(cursors: Vec<GridCursor>) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursors,
        push: vec![],
        max_pull_bytes: 8 << 20,
        want_digest: false,
        compare: vec![],
        handover: vec![],
    }
}

/// Error JSON of a failed response, with its status.
pub async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is not JSON: {text:?}"));
    assert!(v["error"].is_string(), "no error code in {v}");
    assert!(v["message"].is_string(), "no message in {v}");
    (status, v)
}

/// The id of the user named `username` (blocking: inside [`Harness::db`]).
pub fn user_id_in(d: &dyn ConsoleBackend, username: &str) -> String {
    d.user_rows()
        .expect("users")
        .into_iter()
        .find(|u| u.username == username)
        .unwrap_or_else(|| panic!("no user {username}"))
        .user_id
}

/// [`store_fingerprint`] on PostgreSQL: SHA-256 over every row (as text) of every table
/// in the schema but the sync log, devices without their last sync time.
pub fn pg_fingerprint(url: &str) -> String {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let tables: Vec<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
               AND table_name != 'sync_log'
             ORDER BY table_name",
            &[],
        )
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut hasher = Sha256::new();
    for t in tables {
        let sql = match t.as_str() {
            "devices" => "SELECT (device_id, user_id, name, token_hash, enrolled_at, \
                          revoked_at)::text FROM devices"
                .to_string(),
            _ => format!("SELECT t::text FROM \"{t}\" t"),
        };
        let mut rows: Vec<String> = c
            .query(&sql, &[])
            .expect("dump")
            .iter()
            .map(|r| r.get(0))
            .collect();
        rows.sort();
        hasher.update(t.as_bytes());
        for r in rows {
            hasher.update(r.as_bytes());
            hasher.update(b"\n");
        }
    }
    hex::encode(hasher.finalize())
}

/// SHA-256 over every row of every table but the sync log (and devices' last sync time),
/// read through a separate connection after a WAL checkpoint.
pub fn store_fingerprint(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("open");
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    tables.retain(|t| t != "sync_log");
    let mut hasher = Sha256::new();
    for t in tables {
        let sql = match t.as_str() {
            "devices" => "SELECT device_id, user_id, name, token_hash, enrolled_at, revoked_at \
                          FROM devices"
                .to_string(),
            "sqlite_sequence" => {
                "SELECT name, seq FROM sqlite_sequence WHERE name != 'sync_log'".to_string()
            }
            _ => format!("SELECT * FROM \"{t}\""),
        };
        let mut stmt = conn.prepare(&sql).expect("prepare dump");
        let cols = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut s = String::new();
                for i in 0..cols {
                    let v: rusqlite::types::Value = r.get(i)?;
                    s.push_str(&format!("{v:?}|"));
                }
                Ok(s)
            })
            .expect("query dump")
            .collect::<Result<_, _>>()
            .expect("dump rows");
        rows.sort();
        hasher.update(t.as_bytes());
        for r in rows {
            hasher.update(r.as_bytes());
            hasher.update(b"\n");
        }
    }
    hex::encode(hasher.finalize())
}
