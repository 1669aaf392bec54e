//! A district from an empty directory through the store: the district root and its
//! first admin together, once; the area tree level by level with generated grid ids; a
//! worker of the new grid enrolling a device. On SQLite or (GRIDWALK_TEST_DATABASE)
//! PostgreSQL.

mod common;

use gridwalk_core::area::{AreaEdit, Community, District, Grid, Street};
use gridwalk_district_sqlite::{DistrictStore, UserUpdate};
use gridwalk_store::StoreError;

const NOW: i64 = 1_780_000_000_000;

fn admin(username: &str) -> UserUpdate {
    UserUpdate {
        username: username.into(),
        display_name: "管理员".into(),
        role: "admin".into(),
        grids: vec![],
        areas: vec![],
        password: Some("first-admin-pw".into()),
    }
}

fn district() -> District {
    District {
        code: "430202000000".into(),
        name: "荷塘区".into(),
    }
}

#[test]
fn init_then_every_level_then_a_worker_enrolls() {
    let store = common::District::open();
    let d = store.console();
    // Before init: no level can be added, and the error says what to do.
    let street = AreaEdit::Street(Street {
        code: "430202001000".into(),
        name: "月塘街道".into(),
    });
    match d.edit_area(street.clone(), NOW) {
        Err(StoreError::Invalid(e)) => assert!(e.0[0].message.contains("尚未建立区县")),
        other => panic!("{other:?}"),
    }
    let admin_id = d
        .init_district(district(), &admin("chief"), NOW)
        .expect("init");
    assert_eq!(d.user_rows().expect("users")[0].user_id, admin_id);
    assert!(d.user_rows().expect("users")[0].has_password);
    // Once only: a second init is refused and adds no user.
    let again = d.init_district(district(), &admin("chief2"), NOW);
    assert!(matches!(again, Err(StoreError::BadRequest(m)) if m.contains("已有区县")));
    assert_eq!(d.user_rows().expect("users").len(), 1);

    d.edit_area(street, NOW).expect("street");
    let community = AreaEdit::Community(Community {
        code: "430202001001".into(),
        name: "荷花社区".into(),
        street_code: "430202001000".into(),
    });
    d.edit_area(community, NOW).expect("community");
    let grid = AreaEdit::Grid(Grid {
        id: String::new(),
        community_code: "430202001001".into(),
        number: 0,
        name: String::new(),
    });
    let tree = d.edit_area(grid, NOW).expect("grid");
    let g = &tree.grids[0];
    assert_eq!((g.number, g.name.as_str()), (1, "第1网格"));
    assert!(uuid::Uuid::parse_str(&g.id).is_ok(), "{}", g.id);
    assert_eq!(d.area_tree().expect("tree").expect("some"), tree);

    let worker = UserUpdate {
        username: "wang".into(),
        display_name: "王芳".into(),
        role: "worker".into(),
        grids: vec![g.id.clone()],
        areas: vec![],
        password: None,
    };
    let user_id = d.save_user(None, &worker, NOW).expect("worker");
    let code = d.create_enrollment(&user_id, 3_600_000, NOW).expect("code");
    let enrolled = store.enroll(&code, "phone", NOW).expect("enrolls");
    assert_eq!(enrolled.grids, vec![g.id.clone()]);
}

#[test]
fn init_refuses_a_bad_code_or_a_non_admin_and_leaves_nothing() {
    let store = common::District::open();
    let d = store.console();
    let street_level = District {
        code: "430202001000".into(),
        name: "荷塘区".into(),
    };
    match d.init_district(street_level, &admin("chief"), NOW) {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.0[0].path, "district.code");
            assert!(e.0[0].message.contains("不是区县级区划代码"), "{e}");
            assert!(e.0[0].message.contains("county (district)"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let mut worker = admin("w");
    worker.role = "worker".into();
    assert!(d.init_district(district(), &worker, NOW).is_err());
    let mut no_password = admin("chief");
    no_password.password = None;
    assert!(d.init_district(district(), &no_password, NOW).is_err());
    assert!(d.user_rows().expect("users").is_empty());
    assert!(d.area_tree().expect("tree").is_none());
}

#[test]
fn init_with_a_taken_username_writes_no_district() {
    let store = common::District::open();
    let d = store.console();
    let first = d.save_user(None, &admin("chief"), NOW).expect("user");
    match d.init_district(district(), &admin("chief"), NOW) {
        Err(StoreError::BadRequest(m)) => {
            assert!(m.contains("已被使用") && m.contains("is taken"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // The root and the admin are written together or not at all.
    assert!(d.area_tree().expect("tree").is_none());
    let users = d.user_rows().expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].user_id, first);
}
