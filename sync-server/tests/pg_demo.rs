//! `gridwalk-server serve --demo` on PostgreSQL: the demo district is loaded into a fresh
//! database on first start, its console users sign in and see its households, its
//! worker's device syncs its grid; a second start loads nothing again. Runs when
//! `GRIDWALK_TEST_DATABASE` names a PostgreSQL server.

use gridwalk_core::DocKind;
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_server::now_ms;
use gridwalk_store::client::SyncOptions;
use gridwalk_store::Store;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gridwalk-server");
const HOUSEHOLDS: usize = 40;

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

/// `serve --demo` on `database`: the process once it answers, and what it printed
/// before serving.
fn serve_demo(database: &str) -> (ServerProcess, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--demo-households",
            &HOUSEHOLDS.to_string(),
        ])
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database",
            database,
        ])
        .env_remove("GRIDWALK_DATA")
        .env_remove("GRIDWALK_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gridwalk-server starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut printed = String::new();
    // The summary ends with the worker's enrollment code (or the process ends).
    for line in lines.by_ref() {
        let line = line.expect("line");
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("enrollment code for ") {
            break;
        }
    }
    // Whatever it prints later is read, so that it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let server = ServerProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::blocking::get(format!("{}/healthz", server.url))
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "never answered:\n{printed}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, printed)
}

/// The text after `marker` on the line holding it.
fn after<'a>(printed: &'a str, marker: &str) -> &'a str {
    printed
        .lines()
        .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{printed}"))
}

#[test]
fn serve_demo_loads_the_demo_district_into_postgres_once() {
    let Some(db) = TestDatabase::from_env("pg_demo").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let (server, printed) = serve_demo(db.url());
    assert!(
        printed.contains(&format!("; {HOUSEHOLDS} households")),
        "{printed}"
    );

    // The admin signs in with the printed password and sees every demo household.
    let password = after(&printed, "password ")
        .split('"')
        .nth(1)
        .expect("the password, quoted")
        .to_string();
    let admin = printed
        .lines()
        .find(|l| l.contains(" admin "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the demo admin's line")
        .to_string();
    let http = reqwest::blocking::Client::new();
    let r = http
        .post(format!("{}/console/api/login", server.url))
        .json(&json!({"username": admin, "password": password}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 200, "{admin} signs in");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let households: Value = http
        .get(format!("{}/console/api/households?limit=500", server.url))
        .header("cookie", &cookie)
        .send()
        .expect("households")
        .json()
        .expect("json");
    let items = households["items"].as_array().expect("items");
    assert_eq!(items.len(), HOUSEHOLDS, "{households}");

    // The worker's device enrolls with the printed code and gets the households of its
    // grid, exactly those the database holds for that worker.
    let (who, code) = after(&printed, "enrollment code for ")
        .split_once(", valid 72 h:")
        .expect("the code line");
    let username = who.split_whitespace().next().expect("username").to_string();
    let mut store = Store::open_in_memory().expect("store");
    gridwalk_client::enroll(&mut store, &server.url, code.trim(), "phone").expect("enrolled");
    let mut t = gridwalk_client::HttpTransport::from_store(&store).expect("transport");
    store
        .sync(
            &mut t,
            &SyncOptions::default(),
            now_ms(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync");
    let on_device = store
        .doc_ids()
        .expect("ids")
        .iter()
        .filter(|(_, kind, _)| *kind == DocKind::Household)
        .count() as i64;
    let mut pg = postgres::Client::connect(db.url(), postgres::NoTls).expect("connect");
    let in_grid: i64 = pg
        .query_one(
            "SELECT count(*) FROM docs d
             JOIN user_grids g ON g.grid_id = d.grid_id
             JOIN users u ON u.user_id = g.user_id
             WHERE u.username = $1 AND d.kind = 'household'",
            &[&username],
        )
        .expect("count")
        .get(0);
    assert!(in_grid > 0, "the worker's grid holds households");
    assert_eq!(on_device, in_grid);
    drop(server);

    // A second start finds the district there and loads nothing again.
    let (again, printed) = serve_demo(db.url());
    assert!(
        printed.contains("the store already holds data"),
        "{printed}"
    );
    let docs: i64 = pg
        .query_one("SELECT count(*) FROM docs WHERE kind = 'household'", &[])
        .expect("count")
        .get(0);
    assert_eq!(docs, HOUSEHOLDS as i64);
    drop(again);
}
