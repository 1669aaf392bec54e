//! A conflict two phones made offline, resolved by a supervisor in the console: both
//! values are shown with their authors, the choice is a change, and it reaches the phones.

mod common;

use common::console::*;
use common::*;
use gridwalk_core::DocId;
use gridwalk_server::now_ms;
use serde_json::{json, Value};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_two_phones_made_is_resolved_in_the_console_and_reaches_the_phones() {
    use gridwalk_core::model::Household;
    use gridwalk_core::sync::{DocChanges, PushOutcome};
    use gridwalk_core::DocKind;
    let h = start_two().await;
    let sup = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "supervisor")
        .expect("a supervisor");
    let (sup_a, grids_a) = (sup.username.clone(), sup.grids.clone());
    let worker = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "worker" && u.grids.iter().any(|g| grids_a.contains(g)))
        .expect("a worker of community A")
        .username
        .clone();
    let household = h
        .demo
        .households
        .iter()
        .find(|hh| grids_a.contains(&hh.grid_id))
        .expect("a household")
        .clone();
    let id = DocId::parse(&household.id).expect("id");
    let base = h.db(|d| d.load_document(id)).expect("doc");

    // Two phones of the same worker edit the notes offline from the same version.
    let mut phones = Vec::new();
    for (i, notes) in ["租户已搬走", "租户仍在住"].into_iter().enumerate() {
        let phone = h.enroll(&worker).await;
        let mut doc = base.clone();
        doc.edit::<Household, _>(phone.author(), now_ms() + i as i64, "notes", |hh| {
            hh.notes = notes.into();
            Ok(())
        })
        .expect("edit");
        let changes = doc
            .changes_since(&base.heads())
            .iter()
            .map(|c| serde_bytes::ByteBuf::from(c.raw_bytes().to_vec()))
            .collect();
        let mut req = request(phone.fresh_cursors());
        req.push = vec![DocChanges {
            doc_id: id.0,
            kind: DocKind::Household,
            changes,
        }];
        let resp = h.sync(&phone, &req).await;
        assert_eq!(resp.pushed[0].outcome, PushOutcome::Accepted);
        phones.push(phone);
    }

    // The console shows both values with who wrote them, and the supervisor picks one.
    let c = login(&h, &sup_a).await;
    let detail = c.ok(&format!("households/{id}")).await;
    let conflict = detail["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .find(|x| x["path"] == json!(["notes"]))
        .expect("the notes conflict")
        .clone();
    let values: Vec<&str> = conflict["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v["value"].as_str().expect("text"))
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&"租户已搬走") && values.contains(&"租户仍在住"));
    let choice = values.iter().position(|v| *v == "租户仍在住").expect("pos");
    let r = c
        .post(
            &format!("households/{id}/resolve"),
            json!({"path": ["notes"], "choice": choice}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let after: Value = r.json().await.expect("json");
    assert_eq!(after["household"]["notes"], "租户仍在住");
    assert!(after["conflicts"]
        .as_array()
        .expect("c")
        .iter()
        .all(|x| x["path"] != json!(["notes"])));

    // A phone's next sync brings the resolution: one value, no conflict.
    let resp = h
        .sync(&phones[0], &request(phones[0].fresh_cursors()))
        .await;
    let mut docs = HashMap::new();
    apply(resp.pulled, &mut docs);
    let doc = &docs[&id.0];
    let hh: Household = doc.read().expect("household");
    assert_eq!(hh.notes, "租户仍在住");
    assert!(doc.conflicts().iter().all(|x| x.path != ["notes"]));
}
