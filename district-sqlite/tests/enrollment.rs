//! Enrollment is idempotent for the device that asked (its key), and orphans expire; on
//! SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL.

mod common;

use common::{District, NOW};
use gridwalk_district_sqlite::{DistrictStore, NewUser, SyncLogEntry};
use gridwalk_store::StoreError;

const KEY: &str = "0123456789abcdef0123456789abcdef";
const DAY: i64 = 24 * 3_600_000;

fn setup() -> (District, String) {
    let d = District::open();
    let user = d
        .create_user(
            &NewUser {
                username: "w".into(),
                display_name: "w".into(),
                role: "worker".into(),
                grids: vec!["g1".into()],
            },
            NOW,
        )
        .expect("user");
    (d, user)
}

fn refused(r: Result<gridwalk_district_sqlite::Enrolled, StoreError>) -> bool {
    matches!(r, Err(StoreError::Unauthorized(_)))
}

#[test]
fn the_same_code_and_key_again_gets_the_same_device_with_a_new_token() {
    let (d, user) = setup();
    let code = d.create_enrollment(&user, 3_600_000, NOW).expect("code");
    let first = d.enroll_with_key(&code, "phone", KEY, NOW).expect("first");
    // The answer was lost; the device asks again with the same code and key.
    let again = d
        .enroll_with_key(&code.to_lowercase(), "phone", KEY, NOW + 1000)
        .expect("retry");
    assert_eq!(again.device_id, first.device_id);
    assert_ne!(again.token, first.token);
    assert_eq!(
        d.console().devices().expect("devices").len(),
        1,
        "no orphan"
    );
    // Only the latest token works.
    assert!(d.authenticate(&again.token, NOW).is_ok());
    assert!(d.authenticate(&first.token, NOW).is_err());
    // Another key, or no key: the code is used.
    let other = "ffffffffffffffffffffffffffffffff";
    assert!(refused(d.enroll_with_key(&code, "thief", other, NOW)));
    assert!(refused(d.enroll(&code, "thief", NOW)));
    // Once the device has synced, the code is spent for it too.
    d.record_sync(&SyncLogEntry {
        device_id: again.device_id.clone(),
        user_id: user.clone(),
        started_at: NOW + 2000,
        errors: "[]".into(),
        ..SyncLogEntry::default()
    })
    .expect("log");
    assert!(refused(d.enroll_with_key(&code, "phone", KEY, NOW + 3000)));
    assert!(d.authenticate(&again.token, NOW).is_ok());
}

#[test]
fn a_code_used_without_a_key_cannot_be_retried_and_bad_keys_are_refused() {
    let (d, user) = setup();
    let code = d.create_enrollment(&user, 3_600_000, NOW).expect("code");
    d.enroll(&code, "old app", NOW).expect("enrolled");
    assert!(refused(d.enroll_with_key(&code, "old app", KEY, NOW)));
    let code = d.create_enrollment(&user, 3_600_000, NOW).expect("code");
    let short = d.enroll_with_key(&code, "phone", "short", NOW);
    assert!(matches!(short, Err(StoreError::BadRequest(_))), "{short:?}");
}

#[test]
fn orphans_expire_after_a_week_and_synced_devices_stay() {
    let (d, user) = setup();
    let c1 = d.create_enrollment(&user, 3_600_000, NOW).expect("code");
    let orphan = d.enroll_with_key(&c1, "lost", KEY, NOW).expect("orphan");
    let c2 = d.create_enrollment(&user, 3_600_000, NOW).expect("code");
    let used = d.enroll(&c2, "phone", NOW).expect("device");
    d.record_sync(&SyncLogEntry {
        device_id: used.device_id.clone(),
        user_id: user.clone(),
        started_at: NOW + 1,
        errors: "[]".into(),
        ..SyncLogEntry::default()
    })
    .expect("log");
    assert_eq!(d.expire_orphan_devices(NOW + 6 * DAY).expect("sweep"), 0);
    assert_eq!(d.expire_orphan_devices(NOW + 8 * DAY).expect("sweep"), 1);
    let devices = d.console().devices().expect("devices");
    let by_id = |id: &str| devices.iter().find(|x| x.device_id == id).expect("device");
    assert!(by_id(&orphan.device_id).revoked_at.is_some());
    assert!(by_id(&used.device_id).revoked_at.is_none());
    assert!(matches!(
        d.authenticate(&orphan.token, NOW + 8 * DAY),
        Err(StoreError::Revoked { .. })
    ));
    // The orphan's code cannot bring it back.
    assert!(refused(d.enroll_with_key(&c1, "lost", KEY, NOW + 8 * DAY)));
}
