//! The supervisor's review of devices on SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL:
//! the devices in scope with their recent syncs and silence, a device's scope for its sync
//! log, and the handovers of a moved worker, each cut to the caller's grids.

mod common;

use common::{enroll, household, Device, Direct, District, NOW};
use gridwalk_core::model::Household;
use gridwalk_core::{DocId, DocKind};
use gridwalk_district_sqlite::{ConsoleScope, SyncLogQuery};
use gridwalk_store::client::{SyncOptions, SyncReport};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn sync(dev: &mut Device, d: &Arc<District>) -> SyncReport {
    let mut t = Direct::new(d, &dev.token);
    dev.store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync")
}

fn scope(role: &str, grids: Option<&[&str]>) -> ConsoleScope {
    ConsoleScope {
        user_id: role.into(),
        username: role.into(),
        display_name: role.into(),
        role: role.into(),
        grids: grids.map(|g| g.iter().map(|x| x.to_string()).collect()),
        key_person_grant: false,
    }
}

fn device_id(dev: &Device) -> String {
    dev.author.device.to_string()
}

#[test]
fn devices_sync_logs_and_handovers_are_cut_to_the_scope() {
    let d = Arc::new(District::open());
    let c = d.console();
    let mut w1 = enroll(&*d, "w1", &["g1"]);
    let w2 = enroll(&*d, "w2", &["g2"]);
    let h = household(1, "g1");
    let id: DocId = w1
        .store
        .create_household(&h, w1.author, NOW)
        .expect("household")
        .doc_id;
    assert_eq!(sync(&mut w1, &d).accepted_docs, 1);

    let admin = scope("admin", None);
    let sup1 = scope("supervisor", Some(&["g1"]));
    let all = c.console_devices(&admin, NOW).expect("devices");
    let ids: Vec<_> = all.iter().map(|x| x.device_id.clone()).collect();
    // Never synced first.
    assert_eq!(ids, vec![device_id(&w2), device_id(&w1)]);
    assert!(all[0].silent && !all[1].silent);
    assert!(
        all[1].syncs_7d >= 1 && all[1].changes_in_7d >= 1,
        "{:?}",
        all[1]
    );
    assert_eq!(all[1].last_sync_at, Some(NOW));
    // Three days later the synced one is silent too.
    let later = c
        .console_devices(&admin, NOW + 4 * 86_400_000)
        .expect("devices");
    assert!(later.iter().all(|x| x.silent));

    let mine = c.console_devices(&sup1, NOW).expect("devices");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].device_id, device_id(&w1));
    assert!(c
        .console_device_in_scope(&sup1, &device_id(&w1))
        .expect("scope"));
    assert!(!c
        .console_device_in_scope(&sup1, &device_id(&w2))
        .expect("scope"));
    assert!(c
        .console_device_in_scope(&admin, &device_id(&w2))
        .expect("scope"));
    let log = c
        .sync_logs(&SyncLogQuery {
            device_id: Some(device_id(&w1)),
            limit: 10,
            ..Default::default()
        })
        .expect("log");
    assert!(!log.is_empty() && log.iter().all(|e| e.device_id == device_id(&w1)));

    // w1 edits offline, then is moved to g2: the edit is handed over for g1's supervisor.
    w1.store
        .edit::<Household, _>(DocKind::Household, id, w1.author, NOW, "notes", |h| {
            h.notes = "离线修改".into();
            Ok(())
        })
        .expect("edit");
    let user = w1.author.user.to_string();
    d.execute_raw(&format!("DELETE FROM user_grids WHERE user_id = '{user}'"))
        .expect("move");
    d.execute_raw(&format!(
        "INSERT INTO user_grids (user_id, grid_id) VALUES ('{user}', 'g2')"
    ))
    .expect("move");
    let report = sync(&mut w1, &d);
    assert_eq!(report.handed_over, 1, "{report:?}");

    let all = c.console_handovers(&admin, 100).expect("handovers");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].grid_id, "g1");
    assert_eq!(all[0].doc_id, id.to_string());
    assert_eq!(all[0].user_name, "w1");
    assert!(
        all[0].fields.iter().any(|f| f.contains("notes")),
        "{:?}",
        all[0]
    );
    assert_eq!(c.console_handovers(&sup1, 100).expect("mine").len(), 1);
    let sup2 = scope("supervisor", Some(&["g2"]));
    assert!(c.console_handovers(&sup2, 100).expect("none").is_empty());
    assert!(c
        .console_handovers(&scope("supervisor", Some(&[])), 100)
        .expect("none")
        .is_empty());
}
