//! Console sign-in under attack, on SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL: the
//! lockout holds against parallel guesses, per user and per address, across two server
//! instances; long usernames and passwords are refused before anything is stored; a
//! password set (the CLI's path) ends the user's sessions; sessions, rate limits and the
//! console's device id are shared by every instance; the audit log refuses changes.

mod common;

use common::District;
use gridwalk_district_sqlite::{
    AuditKind, AuditQuery, ConsoleError, ConsoleStore, NewUser, ADDRESS_LOCKOUT_FAILURES,
    LOCKOUT_FAILURES, LOCKOUT_MS,
};
use std::sync::Arc;

fn user(d: &District, name: &str, role: &str, grids: &[&str]) -> String {
    let id = d
        .create_user(
            &NewUser {
                username: name.into(),
                display_name: "主任".into(),
                role: role.into(),
                grids: grids.iter().map(|g| g.to_string()).collect(),
            },
            0,
        )
        .expect("user");
    d.console()
        .set_password(name, "correct horse")
        .expect("password");
    id
}

fn sup(d: &District) -> String {
    user(d, "sup", "supervisor", &["g1"])
}

#[test]
fn login_sessions_and_the_lockout() {
    let d = District::open();
    let c = d.console();
    let id = sup(&d);
    assert!(c.set_password("sup", "short").is_err());
    assert!(c.set_password("nobody", "long enough").is_err());
    let s = c
        .console_login("sup", "correct horse", "192.0.2.1", 1_000)
        .expect("login");
    assert_eq!(s.scope.user_id, id);
    assert_eq!(s.scope.grids, Some(vec!["g1".to_string()]));
    let (csrf, scope) = c.console_session(&s.token, 2_000).expect("session");
    assert_eq!(csrf, s.csrf);
    assert!(scope.may_see("g1") && !scope.may_see("g2"));
    assert!(matches!(
        c.console_session(&s.token, s.expires_at + 1),
        Err(ConsoleError::NoSession)
    ));
    c.console_logout(&s.token).expect("logout");
    assert!(c.console_session(&s.token, 2_000).is_err());

    for i in 0..LOCKOUT_FAILURES - 1 {
        assert!(matches!(
            c.console_login("sup", "wrong", "192.0.2.1", 10_000 + i),
            Err(ConsoleError::BadCredentials)
        ));
    }
    assert!(matches!(
        c.console_login("sup", "wrong", "192.0.2.1", 10_010),
        Err(ConsoleError::Locked { .. })
    ));
    // Locked even with the right password, until 15 minutes have passed.
    assert!(matches!(
        c.console_login("sup", "correct horse", "192.0.2.1", 20_000),
        Err(ConsoleError::Locked { .. })
    ));
    assert!(c
        .console_login("sup", "correct horse", "192.0.2.1", 10_010 + LOCKOUT_MS + 1)
        .is_ok());
    // Every sign-in and failure is in the audit log.
    let failed = c
        .audit_log(&AuditQuery {
            kind: Some(AuditKind::LoginFailed),
            ..AuditQuery::default()
        })
        .expect("audit");
    assert_eq!(failed.len() as i64, LOCKOUT_FAILURES);
    let logins = c
        .audit_log(&AuditQuery {
            kind: Some(AuditKind::Login),
            user: Some("sup".into()),
            ..AuditQuery::default()
        })
        .expect("audit");
    assert_eq!(logins.len(), 2);
}

#[test]
fn workers_cannot_sign_in_and_areas_widen_a_supervisors_scope() {
    let d = District::open();
    let c = d.console();
    user(&d, "worker", "worker", &["g1"]);
    assert!(matches!(
        c.console_login("worker", "correct horse", "192.0.2.1", 1_000),
        Err(ConsoleError::Forbidden(_))
    ));
    let admin = user(&d, "admin", "admin", &[]);
    assert_eq!(c.console_scope(&admin).expect("scope").grids, None);

    let tree = gridwalk_core::demo::generate(&gridwalk_core::demo::DemoParams {
        households: 40,
        ..Default::default()
    })
    .area;
    match &d {
        District::Sqlite { d, .. } => d.set_area_tree(&tree, 0),
        District::Postgres { d, .. } => d.set_area_tree(&tree, 0),
    }
    .expect("tree");
    let community = &tree.grids[0].community_code;
    let sup = sup(&d);
    c.add_user_area(&sup, community).expect("area");
    c.add_user_area(&sup, community).expect("twice is once");
    let grids = c.console_scope(&sup).expect("scope").grids.expect("some");
    let expected: Vec<_> = tree
        .grids
        .iter()
        .filter(|g| &g.community_code == community)
        .map(|g| g.id.clone())
        .collect();
    assert!(expected.iter().all(|g| grids.contains(g)), "{grids:?}");
    assert!(grids.contains(&"g1".to_string()));

    // The key-person grant is a supervisor's only.
    assert!(c.set_key_person_grant(&sup, true).is_ok());
    assert!(c.console_scope(&sup).expect("scope").key_person_grant);
    assert!(c.set_key_person_grant(&admin, true).is_err());
}

#[test]
fn setting_a_password_ends_the_sessions() {
    let d = District::open();
    let c = d.console();
    sup(&d);
    let s = c
        .console_login("sup", "correct horse", "192.0.2.1", 1_000)
        .expect("login");
    assert!(c.console_session(&s.token, 2_000).is_ok());
    c.set_password("sup", "battery staple").expect("password");
    assert!(matches!(
        c.console_session(&s.token, 2_000),
        Err(ConsoleError::NoSession)
    ));
}

#[test]
fn long_usernames_and_passwords_are_refused_before_anything_is_stored() {
    let d = District::open();
    let c = d.console();
    sup(&d);
    let huge = "u".repeat(5 << 20);
    let r = c.console_login(&huge, "x", "192.0.2.1", 1_000);
    assert!(
        matches!(r, Err(ConsoleError::BadRequest(ref m)) if m.contains("64")),
        "{r:?}"
    );
    let r = c.console_login("sup", &"p".repeat(2000), "192.0.2.1", 1_000);
    assert!(matches!(r, Err(ConsoleError::BadRequest(_))), "{r:?}");
    assert_eq!(
        (d.count_rows("login_failures"), d.count_rows("audit_log")),
        (0, 0)
    );
}

#[test]
fn one_address_is_locked_after_many_failures_across_usernames() {
    let d = District::open();
    let c = d.console();
    sup(&d);
    for i in 0..ADDRESS_LOCKOUT_FAILURES {
        let r = c.console_login(&format!("guess{i}"), "x", "192.0.2.9", 1_000 + i);
        assert!(matches!(r, Err(ConsoleError::BadCredentials)), "{i}: {r:?}");
    }
    // The right password from that address is refused, through any instance; from
    // another address it works.
    d.with_second_console(|c2| {
        assert!(matches!(
            c2.console_login("sup", "correct horse", "192.0.2.9", 2_000),
            Err(ConsoleError::Locked { .. })
        ));
    });
    assert!(c
        .console_login("sup", "correct horse", "192.0.2.10", 2_000)
        .is_ok());
}

/// 40 parallel logins, 39 wrong and 1 right, spread over two instances (on PostgreSQL two
/// pools, as two servers have): at most five passwords are verified (the lockout's
/// allowance), the rest are refused as locked before verification.
#[test]
fn parallel_guesses_cannot_outrun_the_lockout() {
    let d = Arc::new(District::open());
    sup(&d);
    let right_at = 23;
    let second: Option<Arc<gridwalk_district_postgres::PgDistrict>> = d
        .postgres_url()
        .map(|url| Arc::new(gridwalk_district_postgres::PgDistrict::open(url, 8).expect("second")));
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let (d, second) = (d.clone(), second.clone());
            std::thread::spawn(move || {
                let pw = if i == right_at {
                    "correct horse"
                } else {
                    "wrong"
                };
                match (&second, i % 2) {
                    (Some(s), 1) => s.console_login("sup", pw, "192.0.2.1", 5_000),
                    _ => d.console().console_login("sup", pw, "192.0.2.1", 5_000),
                }
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let verified = results
        .iter()
        .filter(|r| !matches!(r, Err(ConsoleError::Locked { .. })))
        .count();
    assert!(
        verified as i64 <= LOCKOUT_FAILURES,
        "{verified} passwords were verified: {results:?}"
    );
}

#[test]
fn sessions_rate_limits_and_the_console_device_are_shared_by_every_instance() {
    let d = District::open();
    let c = d.console();
    sup(&d);
    let s = c
        .console_login("sup", "correct horse", "192.0.2.1", 1_000)
        .expect("login");
    let device = c.console_device_id().expect("device id");
    assert_eq!(c.console_device_id().expect("again"), device);
    // 10 a minute from one address: 6 here, then the other instance sees the count.
    for i in 0..6 {
        assert!(c
            .rate_limit("login", "192.0.2.7", 10, 60_000 + i)
            .expect("hit"));
    }
    d.with_second_console(|c2| {
        assert!(c2.console_session(&s.token, 2_000).is_ok());
        assert_eq!(c2.console_device_id().expect("device id"), device);
        for i in 0..4 {
            assert!(c2
                .rate_limit("login", "192.0.2.7", 10, 60_100 + i)
                .expect("hit"));
        }
        assert!(!c2
            .rate_limit("login", "192.0.2.7", 10, 60_200)
            .expect("hit"));
        // Another kind and another address have their own counts.
        assert!(c2
            .rate_limit("enroll", "192.0.2.7", 10, 60_200)
            .expect("hit"));
        assert!(c2
            .rate_limit("login", "192.0.2.8", 10, 60_200)
            .expect("hit"));
        c2.console_logout(&s.token).expect("logout");
    });
    assert!(c.console_session(&s.token, 2_000).is_err());
    assert!(!c.rate_limit("login", "192.0.2.7", 10, 61_000).expect("hit"));
    // Two minutes later the address may try again.
    assert!(c
        .rate_limit("login", "192.0.2.7", 10, 180_000)
        .expect("hit"));
}

#[test]
fn the_audit_log_is_append_only_in_the_database_itself() {
    let d = District::open();
    sup(&d);
    d.console()
        .console_login("sup", "correct horse", "192.0.2.1", 1_000)
        .expect("login");
    assert_eq!(d.count_rows("audit_log"), 1);
    let update = d.execute_raw("UPDATE audit_log SET username = 'someone else'");
    assert!(
        update.as_ref().is_err_and(|e| e.contains("append-only")),
        "{update:?}"
    );
    let delete = d.execute_raw("DELETE FROM audit_log");
    assert!(
        delete.as_ref().is_err_and(|e| e.contains("append-only")),
        "{delete:?}"
    );
    assert_eq!(d.count_rows("audit_log"), 1);
}
