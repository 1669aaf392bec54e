//! Two `gridwalk-server` processes on one PostgreSQL database, devices spread over both:
//! a change synced through one reaches a device that syncs through the other, both ways.
//! Runs when `GRIDWALK_TEST_DATABASE` names a PostgreSQL server (scripts/test-all.sh sets
//! it); each run makes its own database there and drops it.

use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::EventKind;
use gridwalk_core::model::Household;
use gridwalk_core::{workflow, Author, DocKind};
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_server::now_ms;
use gridwalk_store::client::SyncOptions;
use gridwalk_store::Store;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gridwalk-server");

/// A server process, killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn serve(database: &str) -> ServerProcess {
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("GRIDWALK_DATABASE_URL", database)
        .env_remove("GRIDWALK_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gridwalk-server starts");
    let server = ServerProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_up(server)
}

/// The server once it answers its health check.
fn wait_up(server: ServerProcess) -> ServerProcess {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = reqwest::blocking::get(format!("{}/healthz", server.url))
            .is_ok_and(|r| r.status().is_success());
        if up {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "server on {} never answered",
            server.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Device {
    store: Store,
    author: Author,
}

/// `gridwalk-server ARGS --database URL`, which must succeed: its stdout.
fn cli(database: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env_remove("GRIDWALK_DATA")
        .output()
        .expect("gridwalk-server runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A worker made and given a code with the command line, enrolled over HTTP at `url`.
fn device(database: &str, url: &str, name: &str, grid: &str) -> Device {
    let user_add = [
        "user",
        "add",
        "--username",
        name,
        "--name",
        name,
        "--role",
        "worker",
    ];
    cli(database, &[&user_add[..], &["--grid", grid]].concat());
    let code = cli(database, &["enroll-code", "--username", name]);
    let code = code.trim();
    let mut store = Store::open_in_memory().expect("store");
    let e = gridwalk_client::enroll(&mut store, url, code, name).expect("enroll over HTTP");
    let author = Author::new(
        e.user_id.parse().expect("uuid"),
        e.device_id.parse().expect("uuid"),
    );
    Device { store, author }
}

fn sync(dev: &mut Device) -> gridwalk_store::client::SyncReport {
    let mut t = gridwalk_client::HttpTransport::from_store(&dev.store).expect("transport");
    dev.store
        .sync(
            &mut t,
            &SyncOptions::default(),
            now_ms(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync")
}

#[test]
fn two_server_processes_on_one_database_carry_changes_between_their_devices() {
    let Some(db) = TestDatabase::from_env("pg_servers").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let one = serve(db.url());
    let two = serve(db.url());

    let params = DemoParams {
        seed: 3,
        streets: 1,
        communities_per_street: 1,
        grids_per_community: 1,
        households: 1,
        visits_per_household: 0.0,
        issues_per_household: 0.0,
        now_ms: now_ms(),
    };
    let mut household = generate(&params).households.remove(0);
    let grid = household.grid_id.clone();
    let mut a = device(db.url(), &one.url, "a", &grid);
    let mut b = device(db.url(), &two.url, "b", &grid);
    let mut c = device(db.url(), &one.url, "c", &grid);
    let listed = cli(db.url(), &["device", "list"]);
    assert_eq!(
        listed.lines().count(),
        4,
        "a header and three devices:\n{listed}"
    );

    household.notes = "made on a, through server one".into();
    let id = a
        .store
        .create_household(&household, a.author, now_ms())
        .expect("create")
        .doc_id;
    assert_eq!(sync(&mut a).accepted_docs, 1);
    sync(&mut b);
    let on_b: Household = b.store.read(id).expect("b has it");
    assert_eq!(on_b.notes, "made on a, through server one");

    b.store
        .edit::<Household, _>(DocKind::Household, id, b.author, now_ms(), "edit", |h| {
            h.notes = "edited on b, through server two".into();
            Ok(())
        })
        .expect("edit");
    sync(&mut b);
    sync(&mut a);
    sync(&mut c);
    for dev in [&a, &c] {
        let h: Household = dev.store.read(id).expect("read");
        assert_eq!(h.notes, "edited on b, through server two");
    }

    // A device revoked from the command line is refused by both servers.
    let c_device = c.author.device.to_string();
    let revoked = cli(db.url(), &["device", "revoke", &c_device]);
    assert!(revoked.contains("revoked"), "{revoked}");
    let mut t = gridwalk_client::HttpTransport::from_store(&c.store).expect("transport");
    let refused = c.store.sync(
        &mut t,
        &SyncOptions::default(),
        now_ms(),
        &mut |_| {},
        &AtomicBool::new(false),
    );
    assert!(
        matches!(refused, Err(gridwalk_store::StoreError::Revoked { .. })),
        "{refused:?}"
    );

    let r = reqwest::blocking::get(format!("{}/console/api/me", two.url)).expect("get");
    assert_eq!(r.status(), 401, "{:?}", r.text());
}

/// `POST /console/api/login` at `url`: the status, the JSON answer and the session cookie.
fn login(url: &str, username: &str, password: &str) -> (u16, serde_json::Value, Option<String>) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/console/api/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .expect("login");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let status = r.status().as_u16();
    (status, r.json().unwrap_or_default(), cookie)
}

/// Console sign-in through two server processes on one database: a session opened on
/// one is valid on the other and ended there; the lockout and the per-address rate limit
/// count attempts made through either; the issue desk answers from the projections; the
/// indicators read the projections too, and an export through one is audited for both.
#[test]
fn two_servers_share_console_sessions_lockouts_and_rate_limits() {
    let Some(db) = TestDatabase::from_env("pg_console").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let serve_limited = |database: &str| {
        let port = free_port();
        let child = Command::new(BIN)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--login-per-minute", "12"])
            .env("GRIDWALK_DATABASE_URL", database)
            .env_remove("GRIDWALK_DATA")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gridwalk-server starts");
        wait_up(ServerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    };
    let servers = [serve_limited(db.url()), serve_limited(db.url())];
    let add = ["user", "add", "--username", "sup", "--name", "主任"];
    let rest = [
        "--role",
        "supervisor",
        "--grid",
        "g1",
        "--password",
        "correct horse",
    ];
    cli(db.url(), &[&add[..], &rest[..]].concat());

    let (status, body, cookie) = login(&servers[0].url, "sup", "correct horse");
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    let csrf = body["csrf"].as_str().expect("csrf").to_string();
    let client = reqwest::blocking::Client::new();
    let me = client
        .get(format!("{}/console/api/me", servers[1].url))
        .header("cookie", &cookie)
        .send()
        .expect("me");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().expect("json");
    assert_eq!(me["user"]["username"], "sup");
    assert_eq!(me["csrf"], csrf.as_str());
    // The issue desk reads the projections on PostgreSQL (none yet: an empty page).
    let issues = client
        .get(format!("{}/console/api/issues", servers[1].url))
        .header("cookie", &cookie)
        .send()
        .expect("issues");
    assert_eq!(issues.status(), 200);
    let issues: serde_json::Value = issues.json().expect("json");
    assert_eq!(issues["total"], 0, "{issues}");
    // The indicators too (an empty district: nothing counted, no rate).
    let indicators = client
        .get(format!("{}/console/api/indicators", servers[1].url))
        .header("cookie", &cookie)
        .send()
        .expect("indicators");
    assert_eq!(indicators.status(), 200);
    let indicators: serde_json::Value = indicators.json().expect("json");
    assert_eq!(indicators["households"], 0, "{indicators}");
    assert!(indicators["closure_rate"].is_null(), "{indicators}");
    // And a ledger export: a file (only its header: no households yet) with its audit
    // entry, written through the other server, listed by the first.
    let export = client
        .post(format!("{}/console/api/export", servers[1].url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/json")
        .body(r#"{"format":"csv"}"#)
        .send()
        .expect("export");
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["x-gridwalk-rows"], "0");
    let audit_id = export.headers()["x-gridwalk-audit-id"]
        .to_str()
        .expect("id")
        .to_string();
    let audit: serde_json::Value = client
        .get(format!("{}/console/api/audit", servers[0].url))
        .header("cookie", &cookie)
        .send()
        .expect("audit")
        .json()
        .expect("json");
    assert_eq!(audit["items"][0]["id"].to_string(), audit_id, "{audit}");
    assert_eq!(audit["items"][0]["kind"], "export", "{audit}");
    let out = client
        .post(format!("{}/console/api/logout", servers[1].url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .expect("logout");
    assert_eq!(out.status(), 200);
    let me = client
        .get(format!("{}/console/api/me", servers[0].url))
        .header("cookie", &cookie)
        .send()
        .expect("me");
    assert_eq!(me.status(), 401, "signed out through the other server");

    // Five wrong passwords, alternating servers, lock the account on both.
    for i in 0..5 {
        let (status, body, _) = login(&servers[i % 2].url, "sup", "wrong");
        let expected = if i == 4 { 429 } else { 401 };
        assert_eq!(status, expected, "attempt {i}: {body}");
    }
    let (status, body, _) = login(&servers[1].url, "sup", "correct horse");
    assert_eq!((status, body["error"].as_str()), (429, Some("locked")));

    // 12 attempts a minute from this address, counted across both servers (one good
    // login, six for the lock so far): the 13th is refused by the rate limit.
    let mut attempts = 7;
    loop {
        attempts += 1;
        // A new username each time: no account lock, only the address's count.
        let name = format!("nobody{attempts}");
        let (status, body, _) = login(&servers[attempts % 2].url, &name, "wrong");
        if body["error"] == "too_many_requests" {
            assert_eq!(status, 429);
            break;
        }
        assert_eq!(status, 401, "attempt {attempts}: {body}");
        assert!(attempts <= 12, "attempt {attempts} was let through");
    }
    assert_eq!(attempts, 13);
}

/// A supervisor's step at the console of one server reaches a worker's device that syncs
/// through the other: the issue the worker reported through server two is on server one's
/// desk (its projection row was written by the push), and the step taken there is
/// sequenced like a pushed change.
#[test]
fn a_console_action_on_one_server_reaches_a_device_synced_through_the_other() {
    let Some(db) = TestDatabase::from_env("pg_desk").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let one = serve(db.url());
    let two = serve(db.url());
    let params = DemoParams {
        seed: 5,
        streets: 1,
        communities_per_street: 1,
        grids_per_community: 1,
        households: 4,
        visits_per_household: 0.0,
        issues_per_household: 2.0,
        now_ms: now_ms(),
    };
    let demo = generate(&params);
    let grid = demo.households[0].grid_id.clone();
    let mut w = device(db.url(), &two.url, "w", &grid);
    let at = now_ms() - 60_000;
    let mut issue = demo.issues[0].clone();
    let id = gridwalk_core::DocId::new_v7();
    issue.id = id.to_string();
    issue.grid_id = grid.clone();
    issue.household_id = None;
    issue.created_at = at;
    let (user, dev) = (w.author.user.to_string(), w.author.device.to_string());
    let report = workflow::new_event(EventKind::Report, at, &user, &dev, "楼道堆物");
    issue.events = [(report.id.clone(), report)].into_iter().collect();
    w.store
        .create_issue(&issue, w.author, at)
        .expect("reported on the device");
    assert_eq!(sync(&mut w).accepted_docs, 1);

    let add = ["user", "add", "--username", "sup", "--name", "主任"];
    let rest = [
        "--role",
        "supervisor",
        "--grid",
        &grid,
        "--password",
        "correct horse",
    ];
    cli(db.url(), &[&add[..], &rest[..]].concat());
    let (status, body, cookie) = login(&one.url, "sup", "correct horse");
    assert_eq!(status, 200, "{body}");
    let (cookie, csrf) = (
        cookie.expect("cookie"),
        body["csrf"].as_str().expect("csrf").to_string(),
    );
    let client = reqwest::blocking::Client::new();
    let desk: serde_json::Value = client
        .get(format!("{}/console/api/issues?state=Reported", one.url))
        .header("cookie", &cookie)
        .send()
        .expect("issues")
        .json()
        .expect("json");
    assert_eq!(desk["total"], 1, "{desk}");
    assert_eq!(desk["items"][0]["doc_id"], id.to_string());
    let r = client
        .post(format!("{}/console/api/issues/{id}/action", one.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"kind": "File", "note": "立案"}))
        .send()
        .expect("action");
    assert_eq!(r.status(), 200, "{:?}", r.text());

    sync(&mut w);
    let on_device: gridwalk_core::model::Issue = w.store.read(id).expect("issue");
    let summary = workflow::fold(&on_device);
    assert_eq!(summary.state, Some(workflow::IssueState::Filed));
    let me: serde_json::Value = client
        .get(format!("{}/console/api/me", two.url))
        .header("cookie", &cookie)
        .send()
        .expect("me")
        .json()
        .expect("json");
    let filed = summary.timeline.last().expect("events");
    assert_eq!(
        filed.event.by_user,
        me["user"]["user_id"].as_str().expect("id")
    );
}

/// `gridwalk-server demo --database`: the demo district loads on PostgreSQL once (a second
/// run adds nothing), and a supervisor's desk on a server there lists exactly the demo's
/// households, visits and issues of their grids.
#[test]
fn the_demo_district_loads_on_postgres_and_the_desk_reads_it() {
    let Some(db) = TestDatabase::from_env("pg_demo").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let out = cli(db.url(), &["demo", "--households", "40"]);
    assert!(out.contains(" 40 households,"), "{out}");
    let again = cli(db.url(), &["demo", "--households", "40"]);
    assert!(again.contains("(0 documents added)"), "{again}");
    let server = serve(db.url());
    let demo = generate(&DemoParams {
        households: 40,
        ..DemoParams::default()
    });
    let sup = demo
        .users
        .iter()
        .find(|u| u.role == "supervisor")
        .expect("a supervisor");
    let set = ["password", "set", "--username", &sup.username];
    cli(
        db.url(),
        &[&set[..], &["--password", "correct horse"]].concat(),
    );
    let (status, body, cookie) = login(&server.url, &sup.username, "correct horse");
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("cookie");
    let client = reqwest::blocking::Client::new();
    let total = |path: &str| -> u64 {
        let v: serde_json::Value = client
            .get(format!("{}/console/api/{path}", server.url))
            .header("cookie", &cookie)
            .send()
            .expect("get")
            .json()
            .expect("json");
        v["total"].as_u64().unwrap_or_else(|| panic!("{path}: {v}"))
    };
    let mine = |grid: &String| sup.grid_ids.contains(grid);
    let count = |n: usize| n as u64;
    assert_eq!(
        total("households?limit=1"),
        count(demo.households.iter().filter(|h| mine(&h.grid_id)).count())
    );
    assert_eq!(
        total("visits?limit=1"),
        count(demo.visits.iter().filter(|v| mine(&v.grid_id)).count())
    );
    assert_eq!(
        total("issues?limit=1"),
        count(demo.issues.iter().filter(|i| mine(&i.grid_id)).count())
    );
}
