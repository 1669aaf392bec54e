//! Shared helpers: a real server on 127.0.0.1:0 over a temporary data directory.
#![allow(dead_code)]

pub mod console;

use gridwalk_core::demo::{generate, DemoDistrict, DemoParams};
use gridwalk_core::sync::{
    decode_response, encode, GridCursor, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use gridwalk_core::Author;
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
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.admin_token = Some(ADMIN_TOKEN.into());
    config.metrics_token = Some(METRICS_TOKEN.into());
    config.max_body_bytes = 256 * 1024;
    config.max_decoded_bytes = 1024 * 1024;
    tweak(&mut config);
    let server = spawn(config).await.expect("server starts");
    let params = demo_params();
    let district = server.district().clone();
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
    pub fn district_path(&self) -> std::path::PathBuf {
        self.dir.path().join("district.sqlite")
    }

    pub fn code_for(&self, username: &str) -> String {
        let d = self.server.district();
        let user = d
            .user_by_name(username)
            .expect("query")
            .expect("user exists");
        d.create_enrollment(&user.user_id, 3_600_000, now_ms())
            .expect("code")
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
