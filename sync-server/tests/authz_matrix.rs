//! Who may call what: every route of the server × every role, with the expected status.
//!
//! The route list is read from the router's source (`.route(` calls in routes/mod.rs and
//! console/mod.rs), so a route added without a row here fails this test, and so does a
//! row whose route is gone.
//!
//! Roles: signed out; the worker of grid A and of grid B (device tokens); a supervisor of
//! community X (grid A) by grid, by community and by street (the street also holds
//! community Y with grid B); the admin (console session, admin and metrics tokens).
//! `{id}` is a document of grid B, outside community X, so scope shows as 404.

mod common;

use common::console::*;
use common::*;
use gridwalk_core::sync::{encode, GridCursor};
use gridwalk_district_sqlite::UserUpdate;
use reqwest::Method;
use std::collections::BTreeSet;

const ROLES: [&str; 7] = [
    "signed-out",
    "worker A",
    "worker B",
    "sup by grid",
    "sup by community",
    "sup by street",
    "admin",
];

/// (method, route as written in the router, expected status per role in [`ROLES`] order).
/// Authorised callers sending an empty `{}` body get 400 where the route needs fields.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, [u16; 7])] = &[
    ("GET", "/healthz", [200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/metrics", [401, 401, 401, 401, 401, 401, 200]),
    ("POST", "/api/v1/enroll", [401, 200, 200, 200, 200, 200, 200]),
    ("GET", "/api/v1/area", [401, 200, 200, 401, 401, 401, 401]),
    // A pull of grid A: worker B gets its own grid, nothing of A (checked below).
    ("POST", "/api/v1/sync", [401, 200, 200, 401, 401, 401, 401]),
    // The admin API takes the server's admin token, not a device's.
    ("GET", "/api/v1/sync-log", [401, 401, 401, 401, 401, 401, 200]),
    ("GET", "/api/v1/devices", [401, 401, 401, 401, 401, 401, 200]),
    ("POST", "/api/v1/devices/{id}/revoke", [401, 401, 401, 401, 401, 401, 404]),
    // A stored photo referenced by a document of grid B: worker B may read it (a PUT
    // without offset is a 400); worker A is out of scope; console sessions are no devices.
    ("HEAD", "/api/v1/blobs/{sha256}", [401, 403, 200, 401, 401, 401, 401]),
    ("PUT", "/api/v1/blobs/{sha256}", [401, 403, 400, 401, 401, 401, 401]),
    ("GET", "/api/v1/blobs/{sha256}", [401, 403, 200, 401, 401, 401, 401]),
    ("POST", "/console/api/login", [400, 401, 401, 200, 200, 200, 200]),
    ("GET", "/console/api/me", [401, 401, 401, 200, 200, 200, 200]),
    ("GET", "/console/api/config", [401, 401, 401, 200, 200, 200, 200]),
    ("GET", "/console/api/issues", [401, 401, 401, 200, 200, 200, 200]),
    ("GET", "/console/api/issues/{id}", [401, 401, 401, 404, 404, 200, 200]),
    ("POST", "/console/api/issues/{id}/action", [401, 401, 401, 400, 400, 400, 400]),
    // A supervisor's own photo for a step: out of scope is 404 before the bytes are read;
    // in scope, `{}` is no photo (422); the issue loop is not the admin's (403).
    ("POST", "/console/api/issues/{id}/photos", [401, 401, 401, 404, 404, 422, 403]),
    ("GET", "/console/api/visits", [401, 401, 401, 200, 200, 200, 200]),
    ("GET", "/console/api/visits/{id}", [401, 401, 401, 404, 404, 200, 200]),
    ("POST", "/console/api/visits/{id}/review", [401, 401, 401, 400, 400, 400, 400]),
    // The same photo of grid B, scoped like its issue (out of scope shows as 404).
    ("GET", "/console/api/photos/{sha256}", [401, 401, 401, 404, 404, 200, 200]),
    ("GET", "/console/api/devices", [401, 401, 401, 200, 200, 200, 200]),
    // The sync log of worker B's device (grid B).
    ("GET", "/console/api/sync-log", [401, 401, 401, 404, 404, 200, 200]),
    ("GET", "/console/api/households", [401, 401, 401, 200, 200, 200, 200]),
    ("GET", "/console/api/households/{id}", [401, 401, 401, 404, 404, 200, 200]),
    ("POST", "/console/api/households/{id}/resolve", [401, 401, 401, 400, 400, 400, 400]),
    ("GET", "/console/api/indicators", [401, 401, 401, 200, 200, 200, 200]),
    ("POST", "/console/api/export", [401, 401, 401, 400, 400, 400, 400]),
    ("GET", "/console/api/audit", [401, 401, 401, 200, 200, 200, 200]),
    // Moved workers' handed-over edits, in the caller's scope.
    ("GET", "/console/api/handovers", [401, 401, 401, 200, 200, 200, 200]),
    ("POST", "/console/api/households/{id}/reveal", [401, 401, 401, 403, 403, 403, 400]),
    ("GET", "/console/api/admin/users", [401, 401, 401, 403, 403, 403, 200]),
    ("POST", "/console/api/admin/users", [401, 401, 401, 403, 403, 403, 400]),
    ("POST", "/console/api/admin/users/{id}", [401, 401, 401, 403, 403, 403, 400]),
    // An unknown user id.
    ("POST", "/console/api/admin/users/{id}/enrollment-code", [401, 401, 401, 403, 403, 403, 400]),
    ("GET", "/console/api/admin/devices", [401, 401, 401, 403, 403, 403, 200]),
    // Revoking an unknown device id changes nothing (200).
    ("POST", "/console/api/admin/devices/{id}/revoke", [401, 401, 401, 403, 403, 403, 200]),
    ("GET", "/console/api/admin/area", [401, 401, 401, 403, 403, 403, 200]),
    ("POST", "/console/api/admin/area", [401, 401, 401, 403, 403, 403, 400]),
    // Dry runs of a file that is not a sheet: 200 with its problems.
    ("POST", "/console/api/admin/area/buildings", [401, 401, 401, 403, 403, 403, 200]),
    ("POST", "/console/api/admin/settings", [401, 401, 401, 403, 403, 403, 200]),
    ("POST", "/console/api/admin/import", [401, 401, 401, 403, 403, 403, 200]),
    ("GET", "/console/api/admin/imports", [401, 401, 401, 403, 403, 403, 200]),
    ("GET", "/console/api/admin/imports/{id}/report", [401, 401, 401, 403, 403, 403, 404]),
    ("GET", "/console/api/{*rest}", [404, 404, 404, 404, 404, 404, 404]),
    ("POST", "/console/api/{*rest}", [404, 404, 404, 404, 404, 404, 404]),
    ("GET", "/console", [308, 308, 308, 308, 308, 308, 308]),
    ("GET", "/console/", [200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/console/{*path}", [200, 200, 200, 200, 200, 200, 200]),
    // Last: it ends the caller's session.
    ("POST", "/console/api/logout", [401, 401, 401, 200, 200, 200, 200]),
];

/// `(METHOD, path)` of every `.route(` call in the router's source files.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for src in [
        include_str!("../src/routes/mod.rs"),
        include_str!("../src/console/mod.rs"),
    ] {
        let mut rest = src;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let args = &rest[..end];
            let Some(path) = args.split('"').nth(1) else {
                continue;
            };
            let handlers = &args[args.find(',').unwrap_or(0)..];
            for (method, token) in [
                ("GET", "get("),
                ("POST", "post("),
                ("PUT", "put("),
                ("DELETE", "delete("),
                ("PATCH", "patch("),
                ("HEAD", "head("),
            ] {
                let called = handlers.match_indices(token).any(|(i, _)| {
                    i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if called {
                    out.insert((method.to_string(), path.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn every_route_has_a_row() {
    let source = routes_in_source();
    assert!(source.len() > 30, "the parser found only {source:?}");
    let matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = source.difference(&matrix).collect();
    let stale: Vec<_> = matrix.difference(&source).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a row in MATRIX: {missing:?}; rows without a route: {stale:?}"
    );
    assert_eq!(matrix.len(), MATRIX.len(), "a route has two rows");
}

/// One role's credentials.
#[derive(Default, Clone)]
struct Caller {
    username: Option<String>,
    device_token: Option<String>,
    console: Option<(String, String)>,
    server_tokens: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_the_expected_answer_on_every_route() {
    let h = start_two_with(|c| {
        c.enroll_per_minute = 1000;
        c.login_per_minute = 1000;
    })
    .await;
    let tree = h.db(|d| d.area_tree()).expect("tree").expect("area");
    let community_x = tree.communities[0].clone();
    let grid_a = tree
        .grids
        .iter()
        .find(|g| g.community_code == community_x.code)
        .expect("grid A")
        .id
        .clone();
    let grid_b = tree
        .grids
        .iter()
        .find(|g| g.community_code != community_x.code)
        .expect("grid B")
        .id
        .clone();
    let worker_of = |g: &str| {
        h.summary
            .users
            .iter()
            .find(|u| u.role == "worker" && u.grids.iter().any(|x| x == g))
            .expect("a worker")
            .username
            .clone()
    };
    let admin = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "admin")
        .expect("admin")
        .username
        .clone();

    // The three supervisors of community X.
    let sup = |name: &str, grids: Vec<String>, area: Option<&str>| {
        let user = UserUpdate {
            username: name.into(),
            display_name: name.into(),
            role: "supervisor".into(),
            grids,
            areas: area.map(str::to_string).into_iter().collect(),
            password: Some(PASSWORD.into()),
        };
        h.db(|d| d.save_user(None, &user, 0)).expect("user");
        name.to_string()
    };
    let sup_grid = sup("m_grid", vec![grid_a.clone()], None);
    let sup_comm = sup("m_comm", vec![], Some(&community_x.code));
    let sup_street = sup("m_street", vec![], Some(&community_x.street_code));

    let worker_a = h.enroll(&worker_of(&grid_a)).await;
    let worker_b = h.enroll(&worker_of(&grid_b)).await;
    let mut callers = vec![Caller::default()];
    for (name, dev) in [
        (worker_of(&grid_a), &worker_a),
        (worker_of(&grid_b), &worker_b),
    ] {
        callers.push(Caller {
            username: Some(name),
            device_token: Some(dev.token.clone()),
            ..Caller::default()
        });
    }
    for name in [&sup_grid, &sup_comm, &sup_street, &admin] {
        let c = login(&h, name).await;
        callers.push(Caller {
            username: Some(name.clone()),
            console: Some((c.cookie, c.csrf)),
            server_tokens: name == &admin,
            ..Caller::default()
        });
    }

    let in_b = |kind: &str| -> String {
        match kind {
            "households" => h
                .demo
                .households
                .iter()
                .find(|x| x.grid_id == grid_b)
                .map(|x| x.id.clone()),
            "issues" => h
                .demo
                .issues
                .iter()
                .find(|x| x.grid_id == grid_b)
                .map(|x| x.id.clone()),
            _ => h
                .demo
                .visits
                .iter()
                .find(|x| x.grid_id == grid_b)
                .map(|x| x.id.clone()),
        }
        .expect("a document of grid B")
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let pull_a = encode(&request(vec![GridCursor::fresh(grid_a.clone())]));
    // A photo of an issue of grid B (the projection row its document would write), stored.
    let photo_bytes = b"a photo of grid B".to_vec();
    let photo_b = gridwalk_photo::sha256_hex(&photo_bytes);
    // Hex, a UUID and a grid id: safe inline.
    h.execute(&format!(
        "INSERT INTO photo_refs (sha256, doc_id, grid_id) VALUES ('{photo_b}', '{}', '{grid_b}')",
        in_b("issues")
    ));
    let blobs = h.server.state.blobs.clone();
    let stored = tokio::task::block_in_place(|| {
        blobs.append(
            "setup",
            &photo_b,
            0,
            photo_bytes.len() as u64,
            &photo_bytes,
            0,
        )
    });
    assert_eq!(
        stored.expect("stored"),
        gridwalk_district_sqlite::blobs::Appended::Stored
    );

    let mut wrong = vec![];
    for (method, route, expected) in MATRIX {
        for (role, (caller, want)) in ROLES.iter().zip(callers.iter().zip(expected)) {
            let id = match route {
                r if r.contains("/households/") => in_b("households"),
                r if r.contains("/issues/{id}") => in_b("issues"),
                r if r.contains("/visits/") => in_b("visits"),
                _ => uuid::Uuid::now_v7().to_string(),
            };
            let mut path = route
                .replace("{id}", &id)
                .replace("{sha256}", &photo_b)
                .replace("{*rest}", "nope")
                .replace("{*path}", "assets/none.js");
            if route.ends_with("/import") || route.ends_with("/buildings") {
                path.push_str("?file_name=x.csv&mode=dry_run");
            }
            if *route == "/console/api/sync-log" {
                path.push_str(&format!("?device_id={}", worker_b.device_id));
            }
            if route.ends_with("/imports/{id}/report") {
                // Import runs are numbered.
                path = path.replace(&id, "999999");
            }
            let mut req = http.request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}{path}", h.url),
            );
            if let Some(t) = &caller.device_token {
                req = req.bearer_auth(t);
            }
            if caller.server_tokens {
                let t = if *route == "/metrics" {
                    METRICS_TOKEN
                } else {
                    ADMIN_TOKEN
                };
                req = req.bearer_auth(t);
            }
            if let Some((cookie, csrf)) = &caller.console {
                req = req.header("cookie", cookie).header("x-csrf-token", csrf);
            }
            req = match *route {
                "/api/v1/sync" => req.header("content-type", SYNC_TYPE).body(pull_a.clone()),
                "/api/v1/enroll" => {
                    let code = match &caller.username {
                        Some(u) => h.code_for(u),
                        None => "NOPE-NOPE-NOPE".into(),
                    };
                    req.json(&serde_json::json!({"code": code, "device_name": "matrix"}))
                }
                "/console/api/login" => match &caller.username {
                    Some(u) => req.json(&serde_json::json!({"username": u, "password": PASSWORD})),
                    None => req.json(&serde_json::json!({})),
                },
                _ if *method == "POST" => req.json(&serde_json::json!({})),
                _ => req,
            };
            let resp = req.send().await.expect("request");
            let got = resp.status().as_u16();
            if *route == "/api/v1/sync" && got == 200 {
                let bytes = resp.bytes().await.expect("body");
                let pulled: gridwalk_core::sync::SyncResponse =
                    gridwalk_core::sync::decode_response(&bytes, 64 << 20).expect("response");
                // The server answers for the device's own grids, whatever cursors it sent.
                let n = pulled.pulled.iter().filter(|d| d.grid_id == grid_a).count();
                let cursor_a = pulled.cursors.iter().any(|c| c.grid_id == grid_a);
                if *role == "worker B" && (n > 0 || cursor_a) {
                    wrong.push(format!("worker B pulled {n} documents of grid A"));
                }
                if *role == "worker A" && n == 0 {
                    wrong.push("worker A pulled nothing of its grid".into());
                }
            }
            if got != *want {
                wrong.push(format!(
                    "{method} {route} as {role}: got {got}, expected {want}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
