//! Console sign-in under attack: the lockout holds against parallel guesses, per user and
//! per address; long usernames and passwords are refused before anything is stored; a
//! password set (the CLI's path) ends the user's sessions.

use gridwalk_district_sqlite::{
    ConsoleError, NewUser, SqliteDistrict, ADDRESS_LOCKOUT_FAILURES, LOCKOUT_FAILURES,
};

fn district() -> (tempfile::TempDir, SqliteDistrict) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = SqliteDistrict::open(dir.path()).expect("open");
    (dir, d)
}

fn sup(d: &SqliteDistrict) -> String {
    let user = NewUser {
        username: "sup".into(),
        display_name: "主任".into(),
        role: "supervisor".into(),
        grids: vec!["g1".into()],
    };
    let id = d.create_user(&user, 0).expect("user");
    d.set_password("sup", "correct horse").expect("password");
    id
}

#[test]
fn setting_a_password_ends_the_sessions() {
    let (_dir, d) = district();
    sup(&d);
    let s = d
        .console_login("sup", "correct horse", "192.0.2.1", 1_000)
        .expect("login");
    assert!(d.console_session(&s.token, 2_000).is_ok());
    d.set_password("sup", "battery staple").expect("password");
    assert!(matches!(
        d.console_session(&s.token, 2_000),
        Err(ConsoleError::NoSession)
    ));
}

#[test]
fn long_usernames_and_passwords_are_refused_before_anything_is_stored() {
    let (_dir, d) = district();
    sup(&d);
    let huge = "u".repeat(5 << 20);
    let r = d.console_login(&huge, "x", "192.0.2.1", 1_000);
    assert!(
        matches!(r, Err(ConsoleError::BadRequest(ref m)) if m.contains("64")),
        "{r:?}"
    );
    let r = d.console_login("sup", &"p".repeat(2000), "192.0.2.1", 1_000);
    assert!(matches!(r, Err(ConsoleError::BadRequest(_))), "{r:?}");
    let (failures, audit): (i64, i64) = d
        .with_reader(|c| {
            Ok((
                c.query_row("SELECT count(*) FROM login_failures", [], |r| r.get(0))?,
                c.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?,
            ))
        })
        .expect("counts");
    assert_eq!((failures, audit), (0, 0));
}

#[test]
fn one_address_is_locked_after_many_failures_across_usernames() {
    let (_dir, d) = district();
    sup(&d);
    for i in 0..ADDRESS_LOCKOUT_FAILURES {
        let r = d.console_login(&format!("guess{i}"), "x", "192.0.2.9", 1_000 + i);
        assert!(matches!(r, Err(ConsoleError::BadCredentials)), "{i}: {r:?}");
    }
    // The right password from that address is refused; from another it works.
    assert!(matches!(
        d.console_login("sup", "correct horse", "192.0.2.9", 2_000),
        Err(ConsoleError::Locked { .. })
    ));
    assert!(d
        .console_login("sup", "correct horse", "192.0.2.10", 2_000)
        .is_ok());
}

/// 40 parallel logins, 39 wrong and 1 right: at most five passwords are verified
/// (the lockout's allowance), the rest are refused as locked before verification.
#[test]
fn parallel_guesses_cannot_outrun_the_lockout() {
    let (_dir, d) = district();
    sup(&d);
    let d = std::sync::Arc::new(d);
    let right_at = 23;
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let d = d.clone();
            std::thread::spawn(move || {
                let pw = if i == right_at {
                    "correct horse"
                } else {
                    "wrong"
                };
                d.console_login("sup", pw, "192.0.2.1", 5_000)
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
