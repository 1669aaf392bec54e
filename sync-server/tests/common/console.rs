//! The console side of the tests: a district of two communities with console passwords,
//! and a signed-in console client (cookie jar and CSRF token).

use super::*;
use gridwalk_core::sync::DocData;
use gridwalk_core::{DocId, Document};
use serde_json::{json, Value};
use std::collections::HashMap;

pub const PASSWORD: &str = "console-test-pw";

/// Two communities of one grid each, so that scope can be tested both ways.
pub async fn start_two() -> Harness {
    start_two_with(|_| {}).await
}

/// [`start_two`] with settings changed by `tweak`.
pub async fn start_two_with(tweak: impl FnOnce(&mut ServerConfig)) -> Harness {
    let Fresh { dir, server, pg } = spawn_fresh(tweak).await;
    let params = DemoParams {
        seed: 11,
        streets: 1,
        communities_per_street: 2,
        grids_per_community: 1,
        households: 8,
        visits_per_household: 1.0,
        issues_per_household: 0.5,
        now_ms: now_ms(),
    };
    let district = server.state.console.clone();
    let p = params.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let s = load_demo(&*district, &p, p.now_ms).expect("demo loads");
        for u in s.users.iter().filter(|u| u.role != "worker") {
            district
                .set_password(&u.username, PASSWORD)
                .expect("password");
        }
        s
    })
    .await
    .expect("join");
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

/// A signed-in console client: its own cookie jar and the CSRF token.
pub struct Console {
    pub http: reqwest::Client,
    pub url: String,
    pub csrf: String,
    pub cookie: String,
}

impl Console {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/console/api/{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("get")
    }
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/console/api/{path}", self.url))
            .header("x-csrf-token", &self.csrf)
            .header("cookie", &self.cookie)
            .json(&body)
            .send()
            .await
            .expect("post")
    }
    /// POST raw bytes (a file) with the session and CSRF token.
    pub async fn upload(
        &self,
        path: impl Into<String>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let path = path.into();
        self.http
            .post(format!("{}/console/api/{path}", self.url))
            .header("x-csrf-token", &self.csrf)
            .header("cookie", &self.cookie)
            .body(body)
            .send()
            .await
            .expect("upload")
    }
    pub async fn ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("json")
    }
}

pub async fn login_raw(h: &Harness, user: &str, pw: &str) -> (reqwest::Client, reqwest::Response) {
    login_raw_at(&h.url, user, pw).await
}

async fn login_raw_at(url: &str, user: &str, pw: &str) -> (reqwest::Client, reqwest::Response) {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/console/api/login"))
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .expect("login");
    (http, r)
}

pub async fn login(h: &Harness, user: &str) -> Console {
    login_at(&h.url, user).await
}

/// Sign in to the server at `url` with [`PASSWORD`].
pub async fn login_at(url: &str, user: &str) -> Console {
    let (http, r) = login_raw_at(url, user, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = cookie_of(&r);
    let v: Value = r.json().await.expect("json");
    Console {
        http,
        url: url.to_string(),
        csrf: v["csrf"].as_str().expect("csrf").into(),
        cookie,
    }
}

/// `name=value` of the session cookie a response sets.
pub fn cookie_of(r: &reqwest::Response) -> String {
    let set = r
        .headers()
        .get("set-cookie")
        .expect("set-cookie")
        .to_str()
        .expect("ascii");
    set.split(';').next().expect("pair").to_string()
}

/// Apply what a device pulled to its documents (a device without a store).
pub fn apply(pulled: Vec<gridwalk_core::sync::PulledDoc>, docs: &mut HashMap<Uuid, Document>) {
    for p in pulled {
        let doc = docs
            .entry(p.doc_id)
            .or_insert_with(|| Document::empty(p.kind, DocId(p.doc_id)));
        match p.data {
            DocData::Changes(c) => doc
                .apply_change_bytes(c.iter().map(|b| b.as_slice()))
                .expect("apply"),
            DocData::Snapshot(s) => doc.load_incremental(&s).expect("load"),
        }
    }
}
