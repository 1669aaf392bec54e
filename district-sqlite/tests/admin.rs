//! The admin's management on SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL: the area tree
//! edited level by level (concurrently through two instances without losing an edit),
//! users saved with their scope and password, enrollment codes, devices and revocation.

mod common;

use common::{District, NOW};
use gridwalk_core::area::{AreaEdit, Community, District as Root, Grid, Street};
use gridwalk_core::deadline::{CategoryConfig, TimeLimit, WorkCalendar};
use gridwalk_district_sqlite::{ConsoleError, Department, DistrictStore, UserUpdate};
use gridwalk_store::StoreError;

fn street(code: &str) -> AreaEdit {
    AreaEdit::Street(Street {
        code: code.into(),
        name: format!("街道{code}"),
    })
}

fn user(username: &str, role: &str, grids: &[String], areas: &[&str]) -> UserUpdate {
    UserUpdate {
        username: username.into(),
        display_name: format!("用户{username}"),
        role: role.into(),
        grids: grids.to_vec(),
        areas: areas.iter().map(|a| a.to_string()).collect(),
        password: (role != "worker").then(|| "correct horse".to_string()),
    }
}

#[test]
fn areas_users_enrollment_and_revocation() {
    let d = District::open();
    let c = d.console();
    let root = AreaEdit::District(Root {
        code: "430202000000".into(),
        name: "荷塘区".into(),
    });
    c.edit_area(root, NOW).expect("district");
    c.edit_area(street("430202001000"), NOW).expect("street");
    c.edit_area(
        AreaEdit::Community(Community {
            code: "430202001001".into(),
            name: "荷花社区".into(),
            street_code: "430202001000".into(),
        }),
        NOW,
    )
    .expect("community");
    let tree = c
        .edit_area(
            AreaEdit::Grid(Grid {
                id: String::new(),
                community_code: "430202001001".into(),
                number: 0,
                name: String::new(),
            }),
            NOW,
        )
        .expect("grid");
    let grid = tree.grids[0].id.clone();
    assert_eq!(tree.grids[0].name, "第1网格");
    assert_eq!(c.area_tree().expect("tree"), Some(tree));
    // A community under a street that does not exist is refused, and nothing changes.
    let before = c.area_tree().expect("tree");
    let orphan = AreaEdit::Community(Community {
        code: "430202009001".into(),
        name: "孤儿社区".into(),
        street_code: "430202009000".into(),
    });
    assert!(c.edit_area(orphan, NOW).is_err());
    assert_eq!(c.area_tree().expect("tree"), before);

    let sup_id = c
        .save_user(
            None,
            &user("sup", "supervisor", &[], &["430202001001"]),
            NOW,
        )
        .expect("supervisor");
    let worker_id = c
        .save_user(
            None,
            &user("wang", "worker", std::slice::from_ref(&grid), &[]),
            NOW,
        )
        .expect("worker");
    let taken = c.save_user(
        None,
        &user("wang", "worker", std::slice::from_ref(&grid), &[]),
        NOW,
    );
    assert!(
        matches!(taken, Err(StoreError::BadRequest(ref m)) if m.contains("taken")),
        "{taken:?}"
    );
    let nowhere = c.save_user(None, &user("li", "worker", &["g-none".into()], &[]), NOW);
    assert!(nowhere.is_err());
    let rows = c.user_rows().expect("users");
    assert_eq!(rows.len(), 2);
    let sup = rows.iter().find(|u| u.user_id == sup_id).expect("sup");
    assert!(sup.has_password && sup.areas == vec!["430202001001".to_string()]);
    let w = rows
        .iter()
        .find(|u| u.user_id == worker_id)
        .expect("worker");
    assert!(!w.has_password && w.grids == vec![grid.clone()]);
    // The supervisor's scope is the community's grids.
    let s = c
        .console_login("sup", "correct horse", "192.0.2.1", NOW)
        .expect("login");
    assert_eq!(s.scope.grids, Some(vec![grid.clone()]));
    // A changed scope ends the open sessions.
    c.save_user(Some(&sup_id), &user("sup", "supervisor", &[], &[]), NOW)
        .expect("update");
    assert!(matches!(
        c.console_session(&s.token, NOW + 1),
        Err(ConsoleError::NoSession)
    ));

    let code = c
        .create_enrollment(&worker_id, 3_600_000, NOW)
        .expect("code");
    let enrolled = d.enroll(&code, "phone", NOW).expect("enrolls");
    assert_eq!(enrolled.grids, vec![grid]);
    assert_eq!(c.devices().expect("devices").len(), 1);
    let w = c.user_rows().expect("users");
    let w = w.iter().find(|u| u.user_id == worker_id).expect("worker");
    assert_eq!((w.devices, w.active_devices), (1, 1));
    assert!(c.revoke_device(&enrolled.device_id, NOW).expect("revoke"));
    assert!(!c.revoke_device(&enrolled.device_id, NOW).expect("again"));
    assert!(matches!(
        d.authenticate(&enrolled.token, NOW),
        Err(StoreError::Revoked { .. })
    ));
}

/// Two instances (on PostgreSQL two pools, as two servers have) add streets at once:
/// every edit is kept, none overwrites another's tree.
#[test]
fn concurrent_area_edits_through_two_instances_lose_nothing() {
    let d = District::open();
    d.console()
        .edit_area(
            AreaEdit::District(Root {
                code: "430202000000".into(),
                name: "荷塘区".into(),
            }),
            NOW,
        )
        .expect("district");
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=8 {
                d.console()
                    .edit_area(street(&format!("430202{:03}000", i)), NOW)
                    .expect("street");
            }
        });
        s.spawn(|| {
            d.with_second_console(|c2| {
                for i in 11..=18 {
                    c2.edit_area(street(&format!("430202{:03}000", i)), NOW)
                        .expect("street");
                }
            })
        });
    });
    let tree = d.console().area_tree().expect("tree").expect("some");
    assert_eq!(tree.streets.len(), 16);
}

#[test]
fn settings_round_trip_through_either_instance() {
    let d = District::open();
    let c = d.console();
    let defaults = c.departments().expect("departments");
    assert!(defaults.iter().any(|(code, _, _)| code == "sanitation"));
    let mut deps: Vec<Department> = defaults
        .iter()
        .map(|(code, zh, en)| Department {
            code: code.clone(),
            zh: zh.clone(),
            en: en.clone(),
        })
        .collect();
    deps.push(Department {
        code: "gas".into(),
        zh: " 燃气公司 ".into(),
        en: "Gas company".into(),
    });
    c.set_departments(&deps).expect("add");
    let bad = Department {
        code: "Gas Co".into(),
        ..deps[0].clone()
    };
    assert!(c.set_departments(&[bad]).is_err());

    let mut cats = CategoryConfig::defaults();
    cats[0].limit = TimeLimit::Hours(12);
    c.set_category_overrides(&cats).expect("limits");
    let mut cal = WorkCalendar::default();
    cal.holidays.insert("2027-01-01".parse().expect("date"));
    c.set_work_calendar(&cal).expect("calendar");
    d.with_second_console(|c2| {
        let listed = c2.departments().expect("departments");
        assert!(listed.contains(&("gas".into(), "燃气公司".into(), "Gas company".into())));
        assert_eq!(
            c2.category_overrides().expect("limits")[0].limit,
            TimeLimit::Hours(12)
        );
        assert_eq!(c2.work_calendar().expect("calendar"), cal);
    });
    // Removing a department: an unused one goes, on either backend.
    deps.retain(|d| d.code != "gas");
    c.set_departments(&deps)
        .expect("an unused department is removed");
    assert!(!c.departments().expect("list").iter().any(|x| x.0 == "gas"));
}
