//! Push and pull between real devices through a real server; scope enforcement.

mod common;

use common::*;
use gridwalk_core::model::Household;
use gridwalk_core::sync::{encode, DocChanges, DocData, PushOutcome};
use gridwalk_core::{DocId, DocKind, Document};
use serde_bytes::ByteBuf;

/// A new, valid household in `grid_id`, written by `dev`, as a push.
fn new_household(h: &Harness, dev: &Device, grid_id: &str) -> (Household, DocChanges) {
    let mut hh = h
        .demo
        .households
        .iter()
        .find(|x| x.grid_id == h.demo.area.grids[0].id)
        .expect("a demo household")
        .clone();
    let id = DocId::new_v7();
    hh.id = id.to_string();
    hh.grid_id = grid_id.to_string();
    hh.notes = "新登记 / registered on the doorstep".into();
    let doc = Document::create(DocKind::Household, id, &hh, dev.author(), now()).expect("document");
    let changes = doc
        .changes_since(&[])
        .iter()
        .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
        .collect();
    (
        hh,
        DocChanges {
            doc_id: id.0,
            kind: DocKind::Household,
            changes,
        },
    )
}

fn now() -> i64 {
    gridwalk_server::now_ms()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_household_reaches_another_device_of_its_grid() {
    let h = start().await;
    let grid = h.demo.area.grids[0].id.clone();
    let worker = h
        .demo
        .worker_of_grid(&grid)
        .expect("worker")
        .username
        .clone();
    let supervisor = h
        .demo
        .users
        .iter()
        .find(|u| u.role == "supervisor")
        .expect("supervisor")
        .username
        .clone();
    let phone = h.enroll(&worker).await;
    let desk = h.enroll(&supervisor).await;
    assert_eq!(phone.grids, vec![grid.clone()]);
    assert!(desk.grids.contains(&grid));

    // The supervisor's device takes its full download first.
    let mut desk_cursors = desk.fresh_cursors();
    loop {
        let resp = h.sync(&desk, &request(desk_cursors.clone())).await;
        desk_cursors = resp.cursors;
        if !resp.more {
            break;
        }
    }

    // The worker registers a household offline, then syncs.
    let (hh, push) = new_household(&h, &phone, &grid);
    let mut req = request(phone.fresh_cursors());
    req.push = vec![push.clone()];
    let resp = h.sync(&phone, &req).await;
    assert_eq!(resp.pushed.len(), 1);
    assert_eq!(resp.pushed[0].outcome, PushOutcome::Accepted);

    // Pushing the same again changes nothing and is accepted again.
    let again = h.sync(&phone, &req).await;
    assert_eq!(again.pushed[0].outcome, PushOutcome::Accepted);

    // The supervisor's incremental sync brings exactly the new household's change.
    let resp = h.sync(&desk, &request(desk_cursors.clone())).await;
    assert_eq!(resp.pulled.len(), 1, "{:?}", resp.pulled);
    let pulled = &resp.pulled[0];
    assert_eq!(pulled.doc_id, push.doc_id);
    assert_eq!(pulled.grid_id, grid);
    let DocData::Changes(changes) = &pulled.data else {
        panic!("expected changes, got a snapshot");
    };
    let mut doc = Document::empty(DocKind::Household, DocId(push.doc_id));
    doc.apply_change_bytes(changes.iter().map(|c| c.as_slice()))
        .expect("applies");
    let got: Household = doc.read().expect("reads");
    assert_eq!(got, hh);

    // Attributed to the worker's device, whoever synced it.
    let log: Vec<serde_json::Value> = h
        .admin_get(
            &format!("/api/v1/sync-log?device_id={}", phone.device_id),
            Some(ADMIN_TOKEN),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(log.len(), 2);
    let first_push = &log[1];
    assert_eq!(first_push["docs_in"], 1);
    assert!(first_push["changes_in"].as_i64().is_some_and(|n| n >= 1));
    assert!(first_push["bytes_in"].as_i64().is_some_and(|n| n > 0));
    assert_eq!(first_push["errors"], serde_json::json!([]));

    let metrics = h
        .admin_get("/metrics", Some(METRICS_TOKEN))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("gridwalk_changes_pushed_total 2\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_outside_scope_is_refused_whole_and_stores_nothing() {
    let h = start().await;
    let (mine, theirs) = (
        h.demo.area.grids[0].id.clone(),
        h.demo.area.grids[1].id.clone(),
    );
    let worker = h
        .demo
        .worker_of_grid(&mine)
        .expect("worker")
        .username
        .clone();
    let phone = h.enroll(&worker).await;
    let before = h.fingerprint();

    // One household in the device's grid and one in a foreign grid, in one push.
    let (_, ok) = new_household(&h, &phone, &mine);
    let (_, foreign) = new_household(&h, &phone, &theirs);
    let mut req = request(phone.fresh_cursors());
    req.push = vec![ok.clone(), foreign.clone()];
    let (status, v) = error_of(h.post_sync(Some(&phone.token), encode(&req)).await).await;
    assert_eq!((status, v["error"].as_str()), (403, Some("forbidden")));
    let message = v["message"].as_str().expect("message");
    assert!(message.contains(&foreign.doc_id.to_string()), "{message}");
    assert!(message.contains(&theirs), "{message}");

    // An existing document of the foreign grid, edited: refused too.
    let foreign_existing = h
        .demo
        .households
        .iter()
        .find(|x| x.grid_id == theirs)
        .expect("foreign household");
    let id = DocId::parse(&foreign_existing.id).expect("id");
    let mut doc = h.db(|d| d.load_document(id)).expect("stored");
    let before_heads = doc.heads();
    doc.edit::<Household, _>(phone.author(), now(), "edit", |x| {
        x.notes = "not mine".into();
        Ok(())
    })
    .expect("edit");
    let edit = DocChanges {
        doc_id: id.0,
        kind: DocKind::Household,
        changes: doc
            .changes_since(&before_heads)
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
    };
    req.push = vec![edit];
    let (status, _) = error_of(h.post_sync(Some(&phone.token), encode(&req)).await).await;
    assert_eq!(status, 403);

    assert_eq!(h.fingerprint(), before);

    // The refusal is in the sync log, naming the document.
    let log: Vec<serde_json::Value> = h
        .admin_get("/api/v1/sync-log", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["errors"][0]["code"], "forbidden");

    // The same push without the foreign document goes through.
    req.push = vec![ok];
    let resp = h.sync(&phone, &req).await;
    assert_eq!(resp.pushed[0].outcome, PushOutcome::Accepted);
    assert_ne!(h.fingerprint(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loads_once() {
    let h = start().await;
    let district = h.server.state.console.clone();
    let params = demo_params();
    let again = tokio::task::spawn_blocking(move || {
        gridwalk_server::load_demo(&*district, &params, params.now_ms)
    })
    .await
    .expect("join")
    .expect("loads");
    assert_eq!(again.documents_added, 0);
    assert!(again.users.iter().all(|u| !u.created));
    assert_eq!(
        h.summary.documents_added,
        h.summary.households + h.summary.visits + h.summary.issues
    );
    let households = h.count("SELECT count(*) FROM docs WHERE kind = 'household'");
    assert_eq!(households as usize, h.summary.households);
    assert_eq!(
        h.count("SELECT count(*) FROM users") as usize,
        h.summary.users.len()
    );
    let admin = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "admin")
        .expect("admin");
    assert_eq!(admin.grids.len(), h.summary.grids);
}
