//! The HTTP surface against a real server: health, metrics, enrollment, bad input,
//! revocation, the admin API.

mod common;

use common::*;
use gridwalk_core::sync::{encode, GridCursor};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_unknown_routes() {
    let h = start().await;
    let resp = h.admin_get("/healthz", None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("text"), "ok");

    // Only with the metrics token.
    for wrong in [None, Some(ADMIN_TOKEN)] {
        let (status, v) = error_of(h.admin_get("/metrics", wrong).await).await;
        assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    }
    let resp = h.admin_get("/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    for series in [
        "gridwalk_sync_requests_total",
        "gridwalk_sync_errors_total{code=\"unauthorized\"}",
        "gridwalk_sync_bytes_in_total",
        "gridwalk_sync_bytes_out_total",
        "gridwalk_sync_duration_seconds_sum",
        "gridwalk_sync_duration_seconds_count",
        "gridwalk_changes_pushed_total",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }

    let (status, v) = error_of(h.admin_get("/nope", None).await).await;
    assert_eq!((status, v["error"].as_str()), (404, Some("not_found")));
    let (status, _) = error_of(h.admin_get("/api/v1/sync", None).await).await;
    assert_eq!(status, 405);

    // Graceful shutdown returns, and the port stops answering.
    let url = h.url.clone();
    let Harness { server, http, .. } = h;
    server.shutdown().await.expect("graceful shutdown");
    assert!(http.get(format!("{url}/healthz")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_code_works_once() {
    let h = start().await;
    let worker = h.summary.first_worker().expect("a worker").clone();
    let code = h.code_for(&worker.username);

    let resp = h.enroll_raw(&code).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["user_id"].as_str(), Some(worker.user_id.as_str()));
    assert!(v["token"].as_str().is_some_and(|t| t.len() >= 32));
    assert_eq!(v["grids"], serde_json::json!(worker.grids));
    assert_eq!(v["area"]["grids"].as_array().map(Vec::len), Some(2));

    // The same code again (typed in lower case with spaces: still the same code).
    let retyped = code.to_lowercase().replace('-', " ");
    let (status, used) = error_of(h.enroll_raw(&retyped).await).await;
    assert_eq!(
        (status, used["error"].as_str()),
        (401, Some("unauthorized"))
    );
    // A used code and an unknown one get the same answer: a guesser learns nothing.
    let (status, unknown) = error_of(h.enroll_raw("NOPE-NOPE-NOPE").await).await;
    assert_eq!(status, 401);
    assert_eq!(used, unknown);

    let resp = h
        .http
        .post(format!("{}/api/v1/enroll", h.url))
        .body("{not json")
        .send()
        .await
        .expect("send");
    let (status, v) = error_of(resp).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_request")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sync_bodies_get_clear_errors_and_change_nothing() {
    let h = start().await;
    let worker = h.summary.first_worker().expect("a worker").username.clone();
    let dev = h.enroll(&worker).await;
    let before = h.fingerprint();

    // No token, a wrong token.
    let (status, v) = error_of(h.post_sync(None, encode(&request(vec![]))).await).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    let (status, v) = error_of(
        h.post_sync(Some("0123abcd"), encode(&request(vec![])))
            .await,
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));

    // Garbage.
    let (status, v) = error_of(
        h.post_sync(Some(&dev.token), b"hello, server".to_vec())
            .await,
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_request")));
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("not zstd")),
        "{v}"
    );
    let (status, _) = error_of(h.post_sync(Some(&dev.token), vec![]).await).await;
    assert_eq!(status, 400);

    // Truncated at every length of a real request.
    let mut req = request(dev.fresh_cursors());
    req.push = vec![gridwalk_core::sync::DocChanges {
        doc_id: uuid::Uuid::now_v7(),
        kind: gridwalk_core::DocKind::Household,
        changes: vec![serde_bytes::ByteBuf::from(vec![7u8; 300])],
    }];
    let full = encode(&req);
    for cut in [1, full.len() / 3, full.len() / 2, full.len() - 1] {
        let (status, v) = error_of(h.post_sync(Some(&dev.token), full[..cut].to_vec()).await).await;
        assert_eq!(status, 400, "cut at {cut}: {v}");
    }

    // A valid zstd frame around something that is not a request.
    let not_request = encode(&(gridwalk_core::sync::PROTOCOL_VERSION, "x"));
    let (status, v) = error_of(h.post_sync(Some(&dev.token), not_request).await).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_request")));
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a valid sync message")),
        "{v}"
    );

    // Garbage inside valid zstd is not "protocol version 70" (its first byte).
    let garbage =
        zstd::bulk::compress(&[70u8, 0xff, 0xff, 0xff, 0x13, 0x37, 9, 9], 3).expect("compress");
    let (status, v) = error_of(h.post_sync(Some(&dev.token), garbage).await).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("bad_request")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a valid sync message")),
        "{v}"
    );
    // Bytes after the zstd frame: a second frame, or junk.
    let ok = encode(&request(dev.fresh_cursors()));
    for tail in [ok.clone(), b"junk".to_vec()] {
        let mut body = ok.clone();
        body.extend_from_slice(&tail);
        let (status, v) = error_of(h.post_sync(Some(&dev.token), body).await).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("bad_request")),
            "{v}"
        );
        assert!(
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("follow its zstd frame")),
            "{v}"
        );
    }

    // Another protocol version.
    let mut old = request(vec![]);
    old.protocol = 999;
    let (status, v) = error_of(h.post_sync(Some(&dev.token), encode(&old)).await).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("unsupported_protocol"))
    );

    // Oversized as sent (the test server allows 256 KiB), and a decompression bomb.
    let big: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (status, v) = error_of(h.post_sync(Some(&dev.token), big).await).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("262144")),
        "{v}"
    );
    let bomb = encode(&vec![0u8; 4 << 20]);
    assert!(bomb.len() < 4096);
    let (status, _) = error_of(h.post_sync(Some(&dev.token), bomb).await).await;
    assert_eq!(status, 413);

    assert_eq!(h.fingerprint(), before);

    // Failed syncs after authentication are in the sync log with their error.
    let resp = h
        .admin_get(
            &format!("/api/v1/sync-log?device_id={}&limit=100", dev.device_id),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let rows: Vec<Value> = resp.json().await.expect("json");
    // 10 bad bodies, plus garbage in zstd and two bodies with bytes after the frame.
    assert_eq!(rows.len(), 13, "{rows:#?}");
    assert!(rows
        .iter()
        .all(|r| r["errors"].as_array().is_some_and(|e| e.len() == 1)));
    assert!(rows
        .iter()
        .any(|r| r["errors"][0]["code"] == "payload_too_large"));

    let metrics = h
        .admin_get("/metrics", Some(METRICS_TOKEN))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("gridwalk_sync_errors_total{code=\"payload_too_large\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gridwalk_sync_errors_total{code=\"unauthorized\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gridwalk_sync_requests_total 15"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_is_refused_and_told_to_wipe() {
    let h = start().await;
    let worker = h.summary.first_worker().expect("a worker").username.clone();
    let dev = h.enroll(&worker).await;
    let first = h.sync(&dev, &request(dev.fresh_cursors())).await;
    assert!(!first.pulled.is_empty());

    // Admin API: token required.
    let (status, _) = error_of(h.admin_get("/api/v1/devices", None).await).await;
    assert_eq!(status, 401);
    let (status, _) = error_of(
        h.admin_get("/api/v1/devices", Some("wrong-token-wrong-token"))
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let devices: Vec<Value> = h
        .admin_get("/api/v1/devices", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(devices.len(), 1);
    assert!(devices[0]["last_sync_at"].is_i64());

    let resp = h
        .http
        .post(format!("{}/api/v1/devices/{}/revoke", h.url, dev.device_id))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    let resp = h
        .http
        .post(format!(
            "{}/api/v1/devices/{}/revoke",
            h.url,
            uuid::Uuid::now_v7()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("revoke");
    assert_eq!(error_of(resp).await.0, 404);

    let cursors: Vec<GridCursor> = first.cursors.clone();
    let (status, v) = error_of(
        h.post_sync(Some(&dev.token), encode(&request(cursors)))
            .await,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(v["error"], "device_revoked");
    assert_eq!(v["wipe"], true);

    let log: Vec<Value> = h
        .admin_get("/api/v1/sync-log?limit=5", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(log.len(), 1, "only the successful sync is logged: {log:#?}");
    assert!(log[0]["bytes_out"].as_i64().is_some_and(|b| b > 0));
    assert_eq!(log[0]["docs_out"].as_i64(), Some(first.pulled.len() as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_is_off_without_a_token() {
    let h = start_with(|c| c.admin_token = None).await;
    let (status, v) = error_of(h.admin_get("/api/v1/sync-log", Some(ADMIN_TOKEN)).await).await;
    assert_eq!((status, v["error"].as_str()), (403, Some("forbidden")));
    let (status, _) = error_of(h.admin_get("/api/v1/devices", None).await).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_missing_files_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = gridwalk_server::ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.tls = Some(gridwalk_server::TlsConfig {
        cert: dir.path().join("missing-cert.pem"),
        key: dir.path().join("missing-key.pem"),
    });
    let err = gridwalk_server::spawn(config).await.err().expect("refused");
    assert!(err.to_string().contains("missing-cert.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_a_certificate() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = gridwalk_server::ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.tls = Some(gridwalk_server::TlsConfig {
        cert: fixtures.join("localhost.cert.pem"),
        key: fixtures.join("localhost.key.pem"),
    });
    let server = gridwalk_server::spawn(config).await.expect("starts");
    assert!(server.url().starts_with("https://"));
    let pem = std::fs::read(fixtures.join("localhost.cert.pem")).expect("cert");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .build()
        .expect("client");
    let url = format!("https://localhost:{}/healthz", server.addr.port());
    let resp = client.get(&url).send().await.expect("https request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("text"), "ok");
    server.shutdown().await.expect("graceful shutdown");
}
