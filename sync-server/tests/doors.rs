//! Limits on every door (issue 9 §4): body limits before authentication, stored string
//! limits, per-address rate limits, query parameters, the metrics token, symlinks in the
//! console's directory, and the CLI's password change ending console sessions.

mod common;

use common::console::*;
use common::*;
use serde_json::{json, Value};

fn admin_name(h: &Harness) -> String {
    h.summary
        .users
        .iter()
        .find(|u| u.role == "admin")
        .expect("an admin")
        .username
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_body_and_username_are_bounded() {
    let h = start_two().await;
    // 100 KB of login body (the limit is 8 KiB): refused as too large (413 JSON).
    let big = json!({"username": "u".repeat(100_000), "password": "x"}).to_string();
    let r = h
        .http
        .post(format!("{}/console/api/login", h.url))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    let (status, v) = error_of(r).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );

    // A username just under the body limit: refused before it is stored anywhere.
    let (_, r) = login_raw(&h, &"u".repeat(4000), "wrong password").await;
    let (status, v) = error_of(r).await;
    assert_eq!(status, 400, "{v}");
    let admin = login(&h, &admin_name(&h)).await;
    let audit = admin.ok("audit?kind=login_failed").await;
    let longest = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["username"].as_str())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest <= 64,
        "a {longest}-byte username reached the audit log"
    );

    // Other console JSON bodies: 64 KiB.
    let r = admin
        .post(
            "export",
            json!({"format": "csv", "reason": "x".repeat(100_000)}),
        )
        .await;
    let (status, _) = error_of(r).await;
    assert_eq!(status, 413);
    // Within the body limit, a reason for the append-only audit log is still bounded.
    let r = admin
        .post(
            "export",
            json!({"format": "csv", "full_pii": true, "reason": "x".repeat(600)}),
        )
        .await;
    let (status, v) = error_of(r).await;
    assert_eq!(status, 400, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_is_rate_limited_per_address() {
    let h = start_with(|c| c.enroll_per_minute = 3).await;
    for _ in 0..3 {
        let (status, _) = error_of(h.enroll_raw("NOPE-NOPE-NOPE").await).await;
        assert_eq!(status, 401);
    }
    // Even a valid code waits now.
    let worker = h.summary.first_worker().expect("worker").username.clone();
    let code = h.code_for(&worker);
    let (status, v) = error_of(h.enroll_raw(&code).await).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (429, Some("too_many_requests")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_address() {
    let h = start_two_with(|c| c.login_per_minute = 25).await;
    let mut codes = vec![];
    // 25 allowed at once, refilled one per 2.4 s: the 30th is refused within 12 s.
    for i in 0..30 {
        let (_, r) = login_raw(&h, &format!("nobody{i}"), "wrong password").await;
        let (status, v) = error_of(r).await;
        codes.push(format!(
            "{status} {}",
            v["error"].as_str().unwrap_or_default()
        ));
    }
    // The address lockout (20 failures) comes first, then the per-minute limit.
    assert_eq!(codes[0], "401 bad_credentials");
    assert_eq!(codes[20], "429 locked", "{codes:?}");
    assert_eq!(
        codes.last().map(String::as_str),
        Some("429 too_many_requests"),
        "{codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_parameters_are_validated_by_name() {
    let h = start_two().await;
    let c = login(&h, &admin_name(&h)).await;
    for (path, param) in [
        ("households?offset=9223372036854775808", "offset"),
        ("issues?offset=9223372036854775808", "offset"),
        ("visits?offset=9223372036854775808", "offset"),
        ("visits?limit=-1", "limit"),
        ("audit?before_id=x", "before_id"),
        ("indicators?from=99999999999999999", "from"),
        ("indicators?to=abc", "to"),
    ] {
        let (status, v) = error_of(c.get(path).await).await;
        assert_eq!(status, 400, "{path}: {v}");
        let m = v["message"].as_str().unwrap_or_default();
        assert!(
            m.contains(&format!("查询参数{param}")) && m.contains(&format!("parameter {param}")),
            "{path}: {m}"
        );
    }
    let long = format!("households?q={}", "a".repeat(5000));
    let (status, _) = error_of(c.get(&long).await).await;
    assert_eq!(status, 400);
    assert_eq!(c.get("households?offset=4000000000").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_without_a_token() {
    let h = start_with(|c| c.metrics_token = None).await;
    let (status, _) = error_of(h.admin_get("/metrics", None).await).await;
    assert_eq!(status, 404);
    let (status, _) = error_of(h.admin_get("/metrics", Some(METRICS_TOKEN)).await).await;
    assert_eq!(status, 404);
}

/// `gridwalk-server password set` (the CLI) ends the user's console sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_password_set_ends_console_sessions() {
    let h = start_two().await;
    let admin = admin_name(&h);
    let c = login(&h, &admin).await;
    assert_eq!(c.get("me").await.status(), 200);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .args(["password", "set"])
        .args(h.place_args())
        .env_remove("GRIDWALK_DATA")
        .env_remove("GRIDWALK_DATABASE_URL")
        .args(["--username", &admin, "--password", "a-new-password-1"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, v): (u16, Value) = error_of(c.get("me").await).await;
    assert_eq!(status, 401, "{v}");
}
