//! Two `gridwalk-server` processes on one PostgreSQL database, devices spread over both:
//! a change synced through one reaches a device that syncs through the other, both ways.
//! Runs when `GRIDWALK_TEST_DATABASE` names a PostgreSQL server (scripts/test-all.sh sets
//! it); each run makes its own database there and drops it.

use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocKind};
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

    // What is not on PostgreSQL yet says so, instead of answering wrongly.
    let out = Command::new(BIN)
        .args(["device", "revoke", "--database", db.url(), "x"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not available on PostgreSQL yet"));
    let r = reqwest::blocking::get(format!("{}/console/api/me", two.url)).expect("get");
    assert_eq!(r.status(), 501, "{:?}", r.text());
}
