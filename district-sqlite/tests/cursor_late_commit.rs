//! The cursor pitfall staged on PostgreSQL (docs/sync-protocol.md, "cursor"). Runs when
//! `GRIDWALK_TEST_DATABASE` is set; on SQLite the one writer rules the interleaving out.

mod common;

use common::{enroll, household, Device, Direct, District, NOW};
use gridwalk_core::model::Household;
use gridwalk_core::{DocId, DocKind};
use gridwalk_district_sqlite::DistrictStore;
use gridwalk_store::client::SyncOptions;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

fn district() -> ((), Arc<District>) {
    ((), Arc::new(District::open()))
}

fn sync(dev: &mut Device, d: &Arc<District>) -> gridwalk_store::client::SyncReport {
    sync_via(dev, d.clone())
}

fn sync_via(dev: &mut Device, d: Arc<dyn DistrictStore>) -> gridwalk_store::client::SyncReport {
    let mut t = Direct::on(d, &dev.token);
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

fn hid(i: usize) -> DocId {
    DocId(Uuid::from_u128(0x1000 + i as u128))
}

fn edit(dev: &mut Device, i: usize, f: impl FnOnce(&mut Household)) {
    dev.store
        .edit::<Household, _>(DocKind::Household, hid(i), dev.author, NOW, "edit", |h| {
            f(h);
            Ok(())
        })
        .expect("edit");
}

/// The pitfall itself, staged: on PostgreSQL a transaction that took its sequence numbers
/// commits late (a trigger holds it open after its changes were inserted) while another
/// server's push commits meanwhile and a reader pulls between the two. A cursor rule that
/// let the second commit first would move the reader past the first change forever. On
/// SQLite the one writer makes this interleaving impossible, so the test is PostgreSQL's.
#[test]
fn a_change_committed_late_below_the_cursor_still_reaches_the_reader() {
    let (_dir, d) = district();
    let Some(url) = d.postgres_url().map(str::to_string) else {
        eprintln!("SQLite: one writer, no interleaving to stage");
        return;
    };
    let servers: [Arc<dyn DistrictStore>; 2] = [d.clone(), d.second_instance()];
    let mut slow = enroll(&d, "slow", &["g1"]);
    let mut fast = enroll(&d, "fast", &["g1"]);
    let mut reader = enroll(&d, "reader", &["g1"]);
    for (dev, i) in [(&mut slow, 0), (&mut fast, 1)] {
        let author = dev.author;
        dev.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
        sync(dev, &d);
    }
    sync(&mut reader, &d);
    let slow_device = d.authenticate(&slow.token, NOW).expect("auth").device_id;
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION hold_slow_push() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.pushed_by = '{slow_device}' THEN PERFORM pg_sleep(1.5); END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER hold_slow_push AFTER INSERT ON changes
                 FOR EACH ROW EXECUTE FUNCTION hold_slow_push();"
        ))
        .expect("trigger");
    edit(&mut slow, 0, |h| h.notes = "committed late".into());
    edit(&mut fast, 1, |h| h.notes = "committed early".into());
    std::thread::scope(|s| {
        let first = servers[0].clone();
        s.spawn(move || sync_via(&mut slow, first));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let second = servers[1].clone();
        s.spawn(move || sync_via(&mut fast, second));
        std::thread::sleep(std::time::Duration::from_millis(300));
        sync_via(&mut reader, servers[1].clone());
    });
    sync(&mut reader, &d);
    let h0: Household = reader.store.read(hid(0)).expect("read");
    assert_eq!(h0.notes, "committed late", "the late commit was skipped");
    let h1: Household = reader.store.read(hid(1)).expect("read");
    assert_eq!(h1.notes, "committed early");
}
