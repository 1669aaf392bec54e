//! The privacy scan of issue 9: after the demo district is loaded (and phones and ID
//! numbers typed into free text), no console response for a supervisor — every GET route,
//! every item — and no supervisor export (CSV, XLSX) holds a full ID number, a full mobile
//! number or a full birth date, and no ID number can be rebuilt from what is served.

mod common;

use common::console::*;
use common::*;
use gridwalk_core::authorize::{Actor, Role};
use gridwalk_core::model::{Household, Issue, Visit, VisitMode};
use gridwalk_core::sync::{DocChanges, PushOutcome};
use gridwalk_core::validate::id_check_char;
use gridwalk_core::{Author, Document};
use gridwalk_core::{DocId, DocKind};
use gridwalk_server::{now_ms, SERVER_AUTHOR};
use serde_bytes::ByteBuf;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn supervisor(h: &Harness) -> (String, Vec<String>) {
    let s = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "supervisor")
        .expect("a supervisor");
    (s.username.clone(), s.grids.clone())
}

/// Phones and ID numbers typed into the free text of every household, visit and issue
/// (notes, findings, needs, titles, descriptions), as workers do. Every write goes through
/// the permission rule as its real author: households by the admin, issue text by the
/// grid's supervisor, and visits (a log: never rewritten) as new visits pushed by the
/// grid's worker's own device.
async fn plant_free_text(h: &Harness) {
    let at = now_ms();
    let user = |role: &str| {
        h.summary
            .users
            .iter()
            .find(|u| u.role == role)
            .expect("a demo user of the role")
            .clone()
    };
    let admin = user("admin");
    let admin_actor = Actor {
        user_id: admin.user_id.clone(),
        role: Role::Admin,
        grids: None,
        key_person_grant: true,
    };
    let admin_author = Author::new(admin.user_id.parse().expect("uuid"), SERVER_AUTHOR.device);
    let sup = user("supervisor");
    let sup_actor = Actor {
        user_id: sup.user_id.clone(),
        role: Role::Supervisor,
        grids: Some(sup.grids.clone()),
        key_person_grant: false,
    };
    let sup_author = Author::new(sup.user_id.parse().expect("uuid"), SERVER_AUTHOR.device);
    let mut devices: BTreeMap<String, Device> = BTreeMap::new();
    let mut pushes: BTreeMap<String, Vec<DocChanges>> = BTreeMap::new();
    for hh in &h.demo.households {
        let Some(p) = hh
            .members
            .values()
            .find(|p| p.id_number.is_some() && p.phone.is_some())
        else {
            continue;
        };
        let note = format!(
            "户主电话{}，身份证{}，备用 {}",
            p.phone.as_deref().unwrap_or_default(),
            p.id_number.as_deref().unwrap_or_default(),
            p.phone.as_deref().unwrap_or_default()
        );
        let id = DocId(hh.id.parse().expect("uuid"));
        h.edit_document::<Household, _>(
            DocKind::Household,
            id,
            &admin_actor,
            admin_author,
            at,
            "note",
            |h| {
                h.notes = note.clone();
                for m in h.members.values_mut() {
                    m.notes = format!("联系 {}", m.phone.clone().unwrap_or_default());
                }
                Ok(())
            },
        )
        .expect("household note");
        if sup.grids.contains(&hh.grid_id) {
            for i in h
                .demo
                .issues
                .iter()
                .filter(|i| i.household_id.as_deref() == Some(hh.id.as_str()))
            {
                let iid = DocId(i.id.parse().expect("uuid"));
                h.edit_document::<Issue, _>(
                    DocKind::Issue,
                    iid,
                    &sup_actor,
                    sup_author,
                    at,
                    "d",
                    |i| {
                        i.description = note.clone();
                        i.title = format!("回电 {}", p.phone.as_deref().unwrap_or_default());
                        Ok(())
                    },
                )
                .expect("issue text");
            }
        }
        let Some(worker) = h
            .summary
            .users
            .iter()
            .find(|u| u.role == "worker" && u.grids.contains(&hh.grid_id))
        else {
            continue;
        };
        if !devices.contains_key(&worker.username) {
            let device = h.enroll(&worker.username).await;
            devices.insert(worker.username.clone(), device);
        }
        let device = &devices[&worker.username];
        let visit_id = uuid::Uuid::now_v7();
        let visit = Visit {
            id: visit_id.to_string(),
            household_id: hh.id.clone(),
            grid_id: hh.grid_id.clone(),
            worker_id: device.user_id.clone(),
            device_id: device.device_id.clone(),
            at,
            mode: VisitMode::InPerson,
            findings: format!("见到户主，{note}"),
            needs: note.clone(),
            follow_up: None,
            linked_issues: BTreeMap::new(),
            photos: BTreeMap::new(),
            gps: None,
            review: None,
        };
        let doc = Document::create(DocKind::Visit, DocId(visit_id), &visit, device.author(), at)
            .expect("visit document");
        pushes
            .entry(worker.username.clone())
            .or_default()
            .push(DocChanges {
                doc_id: visit_id,
                kind: DocKind::Visit,
                changes: doc
                    .changes_since(&[])
                    .iter()
                    .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                    .collect(),
            });
    }
    for (username, push) in pushes {
        let device = &devices[&username];
        let mut req = request(vec![]);
        req.push = push;
        let resp = h.sync(device, &req).await;
        for r in &resp.pushed {
            assert_eq!(r.outcome, PushOutcome::Accepted, "planted visit refused");
        }
    }
}

/// Every GET route of the console, for every item the caller can list: the bodies.
async fn walk_console(c: &Console) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let get = |path: String| async move {
        let r = c.get(&path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        (path, r.text().await.expect("body"))
    };
    for path in [
        "me",
        "config",
        "indicators",
        "audit",
        "handovers",
        "devices",
    ] {
        out.push(get(path.to_string()).await);
    }
    let households: Value =
        serde_json::from_str(&get("households?limit=500".into()).await.1).expect("json");
    for item in households["items"].as_array().expect("items") {
        let id = item["doc_id"].as_str().expect("id");
        out.push(get(format!("households/{id}")).await);
    }
    out.push(get("households?limit=500".into()).await);
    let issues: Value =
        serde_json::from_str(&get("issues?limit=500".into()).await.1).expect("json");
    for item in issues["items"].as_array().expect("items") {
        let id = item["doc_id"].as_str().expect("id");
        out.push(get(format!("issues/{id}")).await);
    }
    out.push(get("issues?limit=500".into()).await);
    let visits: Value =
        serde_json::from_str(&get("visits?limit=500".into()).await.1).expect("json");
    for item in visits["items"].as_array().expect("items") {
        let id = item["doc_id"].as_str().expect("id");
        out.push(get(format!("visits/{id}")).await);
    }
    out.push(get("visits?limit=500".into()).await);
    let devices: Value = serde_json::from_str(&get("devices".into()).await.1).expect("json");
    for dev in devices.as_array().into_iter().flatten() {
        if let Some(id) = dev["device_id"].as_str() {
            out.push(get(format!("sync-log?device_id={id}")).await);
        }
    }
    assert!(households["items"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    assert!(visits["items"].as_array().is_some_and(|a| !a.is_empty()));
    out
}

/// The supervisor's masked exports, as text: the CSV, and every cell of the XLSX.
async fn exports(c: &Console) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for format in ["csv", "xlsx"] {
        let r = c.post("export", json!({ "format": format })).await;
        assert_eq!(r.status(), 200, "export {format}");
        let bytes = r.bytes().await.expect("file");
        let table = gridwalk_ledger::read::read_table(&bytes, &format!("x.{format}"))
            .expect("export reads back");
        let mut text = String::new();
        for row in &table.rows {
            for cell in row {
                text.push_str(&cell.display());
                text.push('\t');
            }
            text.push('\n');
        }
        if format == "csv" {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        out.push((format!("export {format}"), text));
    }
    out
}

/// `needle` in `hay` as a whole number (no digit right before or after it).
fn has_number(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// A supervisor enrolled a worker device that synced, so devices and sync logs have rows.
async fn with_a_synced_device(h: &Harness) {
    let worker = h
        .summary
        .users
        .iter()
        .find(|u| u.role == "worker")
        .expect("a worker")
        .username
        .clone();
    let dev = h.enroll(&worker).await;
    h.sync(&dev, &request(dev.fresh_cursors())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_supervisor_response_or_export_holds_a_full_id_phone_or_birth_date() {
    let h = start_two().await;
    plant_free_text(&h).await;
    with_a_synced_device(&h).await;
    let (name, grids) = supervisor(&h);
    let c = login(&h, &name).await;
    let mut served = walk_console(&c).await;
    served.extend(exports(&c).await);

    let in_scope = |g: &str| grids.iter().any(|x| x == g);
    let this_year: i32 = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse()
        .unwrap_or(2026);
    let mut checked = 0;
    for hh in h.demo.households.iter().filter(|hh| in_scope(&hh.grid_id)) {
        for p in hh.members.values() {
            let id = p.id_number.clone().unwrap_or_default();
            let phone = p.phone.clone().unwrap_or_default();
            let birth = p.birth_date.clone().unwrap_or_default();
            for (path, body) in &served {
                assert!(
                    id.is_empty() || !body.contains(&id),
                    "full ID {id} in {path}: …{}…",
                    body.find(&id)
                        .map(|i| &body[i.saturating_sub(120)..(i + 60).min(body.len())])
                        .unwrap_or_default()
                );
                assert!(
                    phone.is_empty() || !body.contains(&phone),
                    "full phone {phone} in {path}"
                );
                // The birth date, as written or as the ID number holds it (a recent one
                // might equal a follow-up date by chance: those are skipped).
                let recent =
                    birth.get(..4).and_then(|y| y.parse::<i32>().ok()) >= Some(this_year - 2);
                if !birth.is_empty() && !recent {
                    assert!(!has_number(body, &birth), "birth date {birth} in {path}");
                    let compact = birth.replace('-', "");
                    assert!(
                        !has_number(body, &compact),
                        "birth date {compact} in {path}"
                    );
                }
                // The old mask (first 6 and last 4) next to a birth date rebuilt every ID.
                if id.len() == 18 {
                    let old = format!("{}********", &id[..6]);
                    assert!(!body.contains(&old), "ID head {old} in {path}");
                }
            }
            checked += 1;
        }
        if let Some(phone) = &hh.phone {
            for (path, body) in &served {
                assert!(!body.contains(phone.as_str()), "household phone in {path}");
            }
        }
    }
    assert!(checked >= 8, "people checked: {checked}");
    // The planted notes came back, masked: the scan looked at free text.
    assert!(served
        .iter()
        .any(|(path, b)| path.starts_with("households/") && b.contains("户主电话")));
    assert!(served.iter().any(|(_, b)| b.contains("****")));
}

/// What a supervisor is served of a person (the masked ID and the birth year) leaves many
/// ID numbers possible, even to someone who knows the district's area code: the month and
/// day are hidden, and the check digit only narrows them to about one in eleven.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_id_number_can_be_rebuilt_from_what_is_served() {
    let h = start_two().await;
    let (name, _) = supervisor(&h);
    let c = login(&h, &name).await;
    let list = c.ok("households?limit=500").await;
    let mut people = 0;
    for item in list["items"].as_array().expect("items") {
        let detail = c
            .ok(&format!(
                "households/{}",
                item["doc_id"].as_str().expect("id")
            ))
            .await;
        for (pid, m) in detail["household"]["members"].as_object().expect("members") {
            let Some(masked) = m["id_number"].as_str() else {
                continue;
            };
            assert!(m.get("birth_date").is_none(), "birth date served for {pid}");
            let shown: Vec<char> = masked.chars().collect();
            assert_eq!(shown.len(), 18, "{masked}");
            assert!(
                shown[..14].iter().all(|c| *c == '*'),
                "only the last 4 shown: {masked}"
            );
            // The worst case: the attacker knows the true area code and the year served.
            let full = h
                .demo
                .households
                .iter()
                .flat_map(|hh| hh.members.values())
                .find(|p| p.id == *pid)
                .and_then(|p| p.id_number.clone())
                .expect("the person's ID");
            let year = m["birth_year"].as_i64().expect("birth year served");
            let seq: String = shown[14..17].iter().collect();
            let check = shown[17];
            let mut candidates = 0;
            let mut day = chrono::NaiveDate::from_ymd_opt(year as i32, 1, 1).expect("date");
            while day.format("%Y").to_string() == year.to_string() {
                let body = format!("{}{}{seq}", &full[..6], day.format("%Y%m%d"));
                if id_check_char(&body) == Some(check) {
                    candidates += 1;
                }
                day = day.succ_opt().expect("next day");
            }
            assert!(
                candidates >= 10,
                "{masked}: only {candidates} IDs fit what is served"
            );
            people += 1;
        }
    }
    assert!(people >= 8, "people: {people}");
}

/// The attack of issue 9 against the console: a masked phone's tail, then one digit more
/// per query. Every prepended digit answers the same, so nothing is learnt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_search_does_not_rebuild_a_masked_phone() {
    let h = start_two().await;
    let (name, grids) = supervisor(&h);
    let c = login(&h, &name).await;
    let target = h
        .demo
        .households
        .iter()
        .filter(|hh| grids.contains(&hh.grid_id))
        .find_map(|hh| {
            let p = hh
                .members
                .values()
                .find(|p| p.phone.as_deref().is_some_and(|x| x.len() == 11))?;
            Some((hh.id.clone(), p.phone.clone()?))
        })
        .expect("a household with a mobile");
    let (hid, phone) = target;
    let finds = |v: &Value| {
        v["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["doc_id"] == hid.as_str()))
    };
    let mut known = phone[7..].to_string();
    assert!(finds(
        &c.ok(&format!("households?limit=500&q={known}")).await
    ));
    let mut queries = 0;
    while known.len() < phone.len() {
        let mut hits = Vec::new();
        for d in '0'..='9' {
            queries += 1;
            let v = c.ok(&format!("households?limit=500&q={d}{known}")).await;
            if finds(&v) {
                hits.push(d);
            }
        }
        assert!(hits.len() != 1, "digit told apart before {known}: {hits:?}");
        known.insert(0, phone.as_bytes()[phone.len() - known.len() - 1] as char);
    }
    assert!(queries >= 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_restricted_key_person_tag_reaches_a_supervisor() {
    let h = start_two().await;
    with_a_synced_device(&h).await;
    let (name, _) = supervisor(&h);
    let c = login(&h, &name).await;
    let mut served = walk_console(&c).await;
    served.extend(exports(&c).await);
    for (code, zh, _) in gridwalk_core::model::RESTRICTED_TAGS {
        for (path, body) in &served {
            assert!(!body.contains(code), "restricted tag {code} in {path}");
            assert!(!body.contains(zh), "restricted tag {zh} in {path}");
        }
    }
}
