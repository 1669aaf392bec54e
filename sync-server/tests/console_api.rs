//! The supervisor's console API against a real server on loopback: sign-in, CSRF,
//! lockout, scope both ways, each issue desk action, and a visit flag reaching a device.

mod common;

use common::console::*;
use common::*;
use gridwalk_core::model::{EventKind, Issue, ReviewStatus, Visit};
use gridwalk_core::{workflow, DocId, DocKind, Document};
use gridwalk_server::{now_ms, SERVER_AUTHOR};
use serde_json::{json, Value};
use std::collections::HashMap;
use uuid::Uuid;

fn supervisors(h: &Harness) -> (String, Vec<String>, String, Vec<String>) {
    let s: Vec<_> = h
        .summary
        .users
        .iter()
        .filter(|u| u.role == "supervisor")
        .collect();
    assert_eq!(s.len(), 2);
    (
        s[0].username.clone(),
        s[0].grids.clone(),
        s[1].username.clone(),
        s[1].grids.clone(),
    )
}

/// A fresh REPORTED issue in `grid`, imported as the server would.
fn new_issue(h: &Harness, grid: &str) -> DocId {
    let mut issue = h.demo.issues[0].clone();
    let id = DocId::new_v7();
    let at = now_ms() - 60_000;
    issue.id = id.to_string();
    issue.grid_id = grid.into();
    issue.household_id = None;
    issue.category = "environment_sanitation".into();
    issue.title = "楼道堆放杂物".into();
    issue.created_at = at;
    let report = workflow::new_event(EventKind::Report, at, "w", "d", "上报");
    issue.events = [(report.id.clone(), report)].into_iter().collect();
    let doc = Document::create(DocKind::Issue, id, &issue, SERVER_AUTHOR, at).expect("doc");
    h.db(|d| d.import_documents(&[(doc, grid.to_string())], now_ms()))
        .expect("import");
    id
}

/// A department's step (Accept, Feedback), recorded on its behalf by a supervisor
/// ("dept") as the server would receive it.
fn department_step(h: &Harness, id: DocId, kind: EventKind) {
    let at = now_ms();
    let clerk = gridwalk_core::authorize::Actor {
        user_id: "dept".into(),
        role: gridwalk_core::authorize::Role::Supervisor,
        grids: None,
        key_person_grant: false,
    };
    h.edit_document::<Issue, _>(DocKind::Issue, id, &clerk, SERVER_AUTHOR, at, "dept", |i| {
        let e = workflow::new_event(kind, at, "dept", "dept", "");
        i.events.insert(e.id.clone(), e);
        Ok(())
    })
    .expect("edit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_csrf_logout_and_lockout() {
    let h = start_two().await;
    let (sup_a, ..) = supervisors(&h);

    let (_, r) = login_raw(&h, &sup_a, "wrong password").await;
    assert_eq!(r.status(), 401);
    let (_, r) = login_raw(&h, "nobody", "wrong password").await;
    assert_eq!(r.status(), 401);

    let (http, r) = login_raw(&h, &sup_a, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .expect("cookie")
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let session_cookie = cookie_of(&r);
    let v: Value = r.json().await.expect("json");
    let c = Console {
        http,
        url: h.url.clone(),
        csrf: v["csrf"].as_str().expect("csrf").into(),
        cookie: session_cookie,
    };
    assert_eq!(c.ok("me").await["user"]["role"], "supervisor");

    // Not signed in: 401.
    let r = h
        .http
        .get(format!("{}/console/api/issues", h.url))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);

    // A state-changing request without (or with a wrong) CSRF token: 403, nothing done.
    let issue = new_issue(&h, &supervisors(&h).1[0]);
    for token in [None, Some("forged")] {
        let mut req = c
            .http
            .post(format!("{}/console/api/issues/{issue}/action", h.url))
            .header("cookie", &c.cookie)
            .json(&json!({"kind": "File", "note": ""}));
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let r = req.send().await.expect("post");
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.expect("json")["error"], "csrf");
    }
    assert_eq!(c.ok(&format!("issues/{issue}")).await["state"], "Reported");

    // A form post (not JSON) cannot sign in.
    let r = h
        .http
        .post(format!("{}/console/api/login", h.url))
        .form(&[("username", sup_a.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 415);

    // Logout ends the session.
    assert_eq!(c.post("logout", json!({})).await.status(), 200);
    assert_eq!(c.get("me").await.status(), 401);

    // A worker cannot sign in to the console.
    let worker = h.summary.first_worker().expect("worker").username.clone();
    h.db(|d| d.set_password(&worker, PASSWORD))
        .expect("password");
    let (_, r) = login_raw(&h, &worker, PASSWORD).await;
    assert_eq!(r.status(), 403);

    // Five failures lock the account for 15 minutes, even for the right password.
    for i in 0..5 {
        let (_, r) = login_raw(&h, &sup_a, "still wrong").await;
        assert_eq!(r.status(), if i < 4 { 401 } else { 429 }, "attempt {i}");
    }
    let (_, r) = login_raw(&h, &sup_a, PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_only_their_communities_both_ways() {
    let h = start_two().await;
    let (sup_a, grids_a, sup_b, grids_b) = supervisors(&h);
    assert!(grids_a.iter().all(|g| !grids_b.contains(g)));
    let admin = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "admin")
        .expect("admin")
        .username
        .clone();
    let issue_a = new_issue(&h, &grids_a[0]);
    let issue_b = new_issue(&h, &grids_b[0]);
    let visit_of = |grids: &[String]| {
        h.demo
            .visits
            .iter()
            .find(|v| grids.contains(&v.grid_id))
            .expect("visit")
            .id
            .clone()
    };
    let hh_of = |grids: &[String]| {
        h.demo
            .households
            .iter()
            .find(|x| grids.contains(&x.grid_id))
            .expect("household")
            .id
            .clone()
    };
    let (visit_a, visit_b) = (visit_of(&grids_a), visit_of(&grids_b));
    let (hh_a, hh_b) = (hh_of(&grids_a), hh_of(&grids_b));
    let a = login(&h, &sup_a).await;
    let b = login(&h, &sup_b).await;
    let adm = login(&h, &admin).await;

    for (c, mine, theirs, my_issue, their_issue, my_visit, their_visit, my_hh, their_hh) in [
        (
            &a, &grids_a, &grids_b, issue_a, issue_b, &visit_a, &visit_b, &hh_a, &hh_b,
        ),
        (
            &b, &grids_b, &grids_a, issue_b, issue_a, &visit_b, &visit_a, &hh_b, &hh_a,
        ),
    ] {
        let page = c.ok("issues?limit=500").await;
        let items = page["items"].as_array().expect("items");
        assert!(!items.is_empty());
        assert!(items
            .iter()
            .all(|i| mine.contains(&i["grid_id"].as_str().expect("grid").to_string())));
        let visits = c.ok("visits?limit=500").await;
        let vitems = visits["items"].as_array().expect("items");
        assert!(!vitems.is_empty());
        assert!(vitems
            .iter()
            .all(|v| mine.contains(&v["grid_id"].as_str().expect("g").to_string())));
        let hhs = c.ok("households?limit=500").await;
        assert!(hhs["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|x| mine.contains(&x["grid_id"].as_str().expect("g").to_string())));
        // Asking for the other community's grid explicitly gives nothing.
        let other = c.ok(&format!("issues?grid={}", theirs[0])).await;
        assert_eq!(other["total"], 0);
        // The other community's documents are "not found", reads and writes alike.
        assert_eq!(c.get(&format!("issues/{my_issue}")).await.status(), 200);
        assert_eq!(c.get(&format!("issues/{their_issue}")).await.status(), 404);
        assert_eq!(
            c.post(
                &format!("issues/{their_issue}/action"),
                json!({"kind": "File", "note": ""})
            )
            .await
            .status(),
            404
        );
        assert_eq!(c.get(&format!("visits/{my_visit}")).await.status(), 200);
        assert_eq!(c.get(&format!("visits/{their_visit}")).await.status(), 404);
        assert_eq!(
            c.post(
                &format!("visits/{their_visit}/review"),
                json!({"status": "Reviewed"})
            )
            .await
            .status(),
            404
        );
        assert_eq!(c.get(&format!("households/{my_hh}")).await.status(), 200);
        assert_eq!(c.get(&format!("households/{their_hh}")).await.status(), 404);
        // Indicators count only the scope.
        let ind = c.ok("indicators").await;
        let mine_hh = h
            .demo
            .households
            .iter()
            .filter(|x| mine.contains(&x.grid_id))
            .count();
        assert_eq!(ind["households"], mine_hh as i64);
        let by_grid = ind["coverage_by_grid"].as_array().expect("rows");
        assert!(by_grid
            .iter()
            .all(|r| mine.contains(&r["key"].as_str().expect("k").to_string())));
    }
    // The admin sees the district.
    let ind = adm.ok("indicators").await;
    assert_eq!(ind["households"], h.demo.households.len() as i64);
    assert_eq!(adm.get(&format!("issues/{issue_b}")).await.status(), 200);
    assert_eq!(adm.get(&format!("issues/{issue_a}")).await.status(), 200);
    // Masked PII in the household view.
    let d = a.ok(&format!("households/{hh_a}")).await;
    let text = d["household"].to_string();
    for p in h
        .demo
        .households
        .iter()
        .find(|x| x.id == hh_a)
        .expect("hh")
        .members
        .values()
    {
        if let Some(id) = &p.id_number {
            assert!(!text.contains(id.as_str()), "ID number leaked");
        }
        if let Some(ph) = &p.phone {
            assert!(!text.contains(ph.as_str()), "phone leaked");
        }
    }
    assert!(!d["history"].as_array().expect("history").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_issue_desk_action_and_its_refusals() {
    let h = start_two().await;
    let (sup_a, grids_a, ..) = supervisors(&h);
    let c = login(&h, &sup_a).await;
    let id = new_issue(&h, &grids_a[0]);
    let path = format!("issues/{id}/action");
    let act = |kind: &str, extra: Value| {
        let mut body = json!({"kind": kind, "note": format!("{kind} 说明")});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        c.post(&path, body)
    };

    // Inbox lists it.
    let inbox = c.ok("issues?state=Reported").await;
    assert!(inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["doc_id"] == id.to_string()));

    // Dispatching a reported issue is refused with the workflow's reason.
    let r = act("Dispatch", json!({"department": "sanitation"})).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "invalid_transition");
    assert_eq!(v["message"], "only a filed issue can be dispatched");

    let r = act("File", json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["state"], "Filed");
    let before = now_ms();
    let r = act("Dispatch", json!({"department": "sanitation"})).await;
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["state"], "Dispatched");
    assert_eq!(v["department"], "sanitation");
    // environment_sanitation: 3 working days, so at least 3 calendar days out.
    let deadline = v["deadline"].as_i64().expect("deadline");
    assert!(
        deadline >= before + 3 * 86_400_000 - 86_400_000,
        "{deadline}"
    );
    assert_eq!(v["overdue"], "Green");
    // Tracking shows it with its light.
    let track = c.ok("issues?state=Dispatched").await;
    let row = track["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["doc_id"] == id.to_string())
        .expect("listed")
        .clone();
    assert_eq!(row["overdue"], "Green");

    assert_eq!(act("Check", json!({})).await.status(), 409);
    department_step(&h, id, EventKind::Accept);
    department_step(&h, id, EventKind::Feedback);
    assert_eq!(
        act("Check", json!({}))
            .await
            .json::<Value>()
            .await
            .expect("j")["state"],
        "Checking"
    );
    let v: Value = act("Return", json!({})).await.json().await.expect("json");
    assert_eq!(
        (v["state"].clone(), v["rework_count"].clone()),
        (json!("Dispatched"), json!(1))
    );
    department_step(&h, id, EventKind::Accept);
    department_step(&h, id, EventKind::Feedback);
    act("Check", json!({})).await;
    let v: Value = act("Close", json!({})).await.json().await.expect("json");
    assert_eq!(v["state"], "Closed");
    assert_eq!(v["closed_on_time"], true);
    assert_eq!(
        act("Evaluate", json!({"satisfaction": 9})).await.status(),
        400
    );
    let v: Value = act("Evaluate", json!({"satisfaction": 4}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (v["state"].clone(), v["satisfaction"].clone()),
        (json!("Evaluated"), json!(4))
    );
    assert_eq!(act("Close", json!({})).await.status(), 409);
    assert_eq!(act("Comment", json!({})).await.status(), 200);

    // Every step is an event in the document, authored by the supervisor at the console.
    let doc = h.db(|d| d.load_document(id)).expect("doc");
    let issue: Issue = doc.read().expect("issue");
    let sup_id = h
        .summary
        .users
        .iter()
        .find(|u| u.username == sup_a)
        .expect("u")
        .user_id
        .clone();
    let ours: Vec<_> = issue
        .events
        .values()
        .filter(|e| e.by_user == sup_id)
        .collect();
    assert_eq!(
        ours.len(),
        8,
        "File, Dispatch, Check, Return, Check, Close, Evaluate, Comment"
    );
    let history = doc.history();
    assert!(history
        .iter()
        .any(|c| c.author.is_some_and(|a| a.user.to_string() == sup_id)));

    // A void from the inbox.
    let other = new_issue(&h, &grids_a[0]);
    let r = c
        .post(
            &format!("issues/{other}/action"),
            json!({"kind": "Void", "note": "重复"}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.expect("json")["state"], "Voided");
    // Bad kinds and ids are clear errors.
    let r = c
        .post(
            &format!("issues/{other}/action"),
            json!({"kind": "Explode"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        c.get(&format!("issues/{}", Uuid::now_v7())).await.status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flagged_visit_and_a_dispatched_issue_reach_the_workers_device() {
    let h = start_two().await;
    let (sup_a, grids_a, ..) = supervisors(&h);
    let grid = grids_a[0].clone();
    let worker = h
        .demo
        .worker_of_grid(&grid)
        .expect("worker")
        .username
        .clone();
    let phone = h.enroll(&worker).await;
    // The device's full download.
    let mut docs: HashMap<Uuid, Document> = HashMap::new();
    let mut cursors = phone.fresh_cursors();
    loop {
        let resp = h.sync(&phone, &request(cursors.clone())).await;
        cursors = resp.cursors;
        apply(resp.pulled, &mut docs);
        if !resp.more {
            break;
        }
    }
    let visit_id = h
        .demo
        .visits
        .iter()
        .find(|v| v.grid_id == grid)
        .expect("visit")
        .id
        .clone();
    let issue_id = new_issue(&h, &grid);

    let c = login(&h, &sup_a).await;
    let r = c
        .post(
            &format!("visits/{visit_id}/review"),
            json!({"status": "Flagged", "comment": "请补充走访照片"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        c.post(
            &format!("visits/{visit_id}/review"),
            json!({"status": "Flagged", "comment": " "})
        )
        .await
        .status(),
        400
    );
    c.post(
        &format!("issues/{issue_id}/action"),
        json!({"kind": "File", "note": ""}),
    )
    .await;
    let r = c
        .post(
            &format!("issues/{issue_id}/action"),
            json!({"kind": "Dispatch", "note": "", "department": "sanitation"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let flagged = c.ok("visits?review=Flagged").await;
    assert!(flagged["items"]
        .as_array()
        .expect("i")
        .iter()
        .any(|v| v["doc_id"] == visit_id));

    // The device's next sync brings both.
    let resp = h.sync(&phone, &request(cursors.clone())).await;
    apply(resp.pulled, &mut docs);
    let visit: Visit = docs[&Uuid::parse_str(&visit_id).expect("uuid")]
        .read()
        .expect("visit");
    let review = visit.review.expect("review reached the device");
    assert_eq!(review.status, ReviewStatus::Flagged);
    assert_eq!(review.comment, "请补充走访照片");
    let issue: Issue = docs[&issue_id.0].read().expect("issue");
    let s = workflow::fold(&issue);
    assert_eq!(s.state, Some(workflow::IssueState::Dispatched));
    assert_eq!(s.department.as_deref(), Some("sanitation"));

    // The device's sync shows in the console's sync log review.
    let devices = c.ok("devices").await;
    let d = devices
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["device_id"] == phone.device_id)
        .expect("listed")
        .clone();
    assert_eq!(d["silent"], false);
    assert!(d["syncs_7d"].as_i64().expect("n") >= 2);
    let log = c
        .ok(&format!("sync-log?device_id={}", phone.device_id))
        .await;
    assert!(log.as_array().expect("log").len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_are_served_from_the_binary() {
    let h = start_two().await;
    let r = h
        .http
        .get(format!("{}/console/", h.url))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("text");
    // The console is compiled into the server: always the app, never a "not built" page.
    assert!(text.contains("<div id=\"app\">"), "{text}");
    let r = h
        .http
        .get(format!("{}/console/../Cargo.toml", h.url))
        .send()
        .await
        .expect("get");
    assert_ne!(r.status(), 500);
}
