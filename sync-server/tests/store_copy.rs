//! `gridwalk-server store copy`: the demo district (with a device's synced edit, photo
//! bytes, an upload under way, imports, a handover and audit rows) copied from a data
//! directory to a fresh PostgreSQL database and back to a fresh directory, equal on both
//! ends; a copy stopped midway and run again ends equal; a target holding another
//! district is refused; a copy whose target was changed is a non-zero exit.
//! Runs when `GRIDWALK_TEST_DATABASE` names a PostgreSQL server.

use gridwalk_core::authorize::Role;
use gridwalk_core::model::{Household, PhotoRef, Visit};
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_sqlite::blobs::{BlobStore, SqliteBlobs, DEFAULT_DEVICE_QUOTA};
use gridwalk_district_sqlite::{DeviceAuth, DistrictStore, SqliteDistrict};
use gridwalk_server::now_ms;
use gridwalk_server::store_copy::{copy, tables::TABLES, CopyOptions, Endpoint};
use gridwalk_store::client::SyncOptions;
use gridwalk_store::Store;
use rusqlite::Connection;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gridwalk-server");

struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("GRIDWALK_DATA")
        .env_remove("GRIDWALK_DATABASE_URL")
        .output()
        .expect("gridwalk-server runs")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `gridwalk-server serve ARGS` on a free port, once it answers: the process and its URL.
fn serve(args: &[&str]) -> (ServerProcess, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let server = ServerProcess(
        Command::new(BIN)
            .arg("serve")
            .args(args)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .env_remove("GRIDWALK_DATA")
            .env_remove("GRIDWALK_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::blocking::get(format!("{url}/healthz")).is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, url)
}

fn sync(store: &mut Store) -> gridwalk_store::client::SyncReport {
    let mut t = gridwalk_client::HttpTransport::from_store(store).expect("transport");
    store
        .sync(
            &mut t,
            &SyncOptions::default(),
            now_ms(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync")
}

/// The demo district in `dir`, plus a row in every table the copy moves: a device that
/// enrolled and synced an edit (changes, doc_chunks, devices, enrollments, sync log),
/// photo bytes and an upload under way, an import run and base, a handover, audit rows.
/// Returns that device, with the household it edited.
fn demo_district(dir: &Path) -> (Store, Author, DocId) {
    ok(&["demo", "--data", path(dir), "--households", "150"]);
    let conn = Connection::open(dir.join("district.sqlite")).expect("open");
    let (grid, visit): (String, String) = conn
        .query_row(
            "SELECT grid_id, doc_id FROM docs WHERE kind = 'visit' ORDER BY doc_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a visit");
    let household: String = conn
        .query_row(
            "SELECT doc_id FROM docs WHERE kind = 'household' AND grid_id = ?1 LIMIT 1",
            [&grid],
            |r| r.get(0),
        )
        .expect("a household in the visit's grid");
    let photo = b"not really a jpeg, but bytes all the same".to_vec();
    let sha = hex_sha(&photo);

    let (server, url) = serve(&["--data", path(dir)]);
    let user_add = ["user", "add", "--data", path(dir), "--username", "copier"];
    ok(&[
        &user_add[..],
        &["--name", "Copier", "--role", "worker", "--grid", &grid],
    ]
    .concat());
    let code = ok(&["enroll-code", "--data", path(dir), "--username", "copier"]);
    let mut store = Store::open_in_memory().expect("store");
    let e = gridwalk_client::enroll(&mut store, &url, code.trim(), "copier").expect("enroll");
    let author = Author::new(
        e.user_id.parse().expect("uuid"),
        e.device_id.parse().expect("uuid"),
    );
    sync(&mut store);
    let id = DocId::parse(&household).expect("id");
    store
        .edit::<Household, _>(DocKind::Household, id, author, now_ms(), "edit", |h| {
            h.notes = "edited before the move 搬迁前修改".into();
            Ok(())
        })
        .expect("edit");
    // A new visit (a recorded one cannot be rewritten) with a photo: a photo reference.
    let mut v: Visit = store
        .read(DocId::parse(&visit).expect("id"))
        .expect("visit");
    v.id = uuid::Uuid::now_v7().to_string();
    v.worker_id = e.user_id.clone();
    v.device_id = e.device_id.clone();
    v.at = now_ms();
    v.review = None;
    v.photos.clear();
    v.photos.insert(
        "p1".into(),
        PhotoRef {
            sha256: sha.clone(),
            bytes: photo.len() as i64,
            width: 640,
            height: 480,
            mime: "image/jpeg".into(),
            taken_at: now_ms(),
            gps: None,
        },
    );
    store.create_visit(&v, author, now_ms()).expect("visit");
    let report = sync(&mut store);
    assert_eq!(report.accepted_docs, 2, "{report:?}");
    drop(server);

    let blobs = SqliteBlobs::beside(&dir.join("district.sqlite"), DEFAULT_DEVICE_QUOTA);
    blobs
        .append(&e.device_id, &sha, 0, photo.len() as u64, &photo, now_ms())
        .expect("stored");
    let partial = vec![7u8; 64];
    blobs
        .append(
            &e.device_id,
            &hex_sha(b"an upload under way"),
            0,
            1_000,
            &partial,
            now_ms(),
        )
        .expect("partial");
    conn.execute_batch(&format!(
        "INSERT INTO import_runs (at, user_id, username, file_name, file_sha256, mode,
             rows_total, rows_valid, problems, imported_households, report)
             VALUES (1, 'u', 'admin', '台账.xlsx', 'ab', 'valid_only', 3, 2, 1, 2,
             '{{\"rows\": [1, 2], \"问题\": \"第3行\"}}');
         INSERT INTO import_bases (doc_id, ledger, run_at) VALUES ('{household}', '{{\"a\": 1}}', 1);
         INSERT INTO handovers (device_id, user_id, doc_id, kind, grid_id, hashes, changes,
             change_count, fields, received_at)
             VALUES ('{dev}', '{user}', '{household}', 'household', '{grid}', 'h1', x'00ff', 1,
             '[\"notes\"]', 5);
         INSERT INTO audit_log (at, user_id, username, role, kind, detail)
             VALUES (9, 'u', 'admin', 'admin', 'export', '{{\"reason\": \"搬迁\"}}');
         INSERT INTO user_areas (user_id, area_code) VALUES ('{user}', '430202001001');
         INSERT INTO meta (key, value) VALUES ('calendar', '[]');
         UPDATE departments SET zh = '城管' WHERE code = 'urban_management';",
        dev = e.device_id,
        user = e.user_id,
    ))
    .expect("extra rows");
    let chunks: i64 = conn
        .query_row("SELECT count(*) FROM doc_chunks", [], |r| r.get(0))
        .expect("count");
    assert!(
        chunks > 0,
        "the synced edit is a chunk the copy must fold in"
    );
    for t in TABLES {
        assert!(
            count(dir, t.name) > 0,
            "the demo district has no {} rows",
            t.name
        );
    }
    (store, author, id)
}

fn hex_sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Rows of `table` in the data directory `dir` (the store's own meta key left out).
fn count(dir: &Path, table: &str) -> i64 {
    let file = if table.starts_with("blob") {
        "blobs.sqlite"
    } else {
        "district.sqlite"
    };
    let conn = Connection::open(dir.join(file)).expect("open");
    let filter = if table == "meta" {
        "WHERE key <> 'projection.version'"
    } else {
        ""
    };
    conn.query_row(&format!("SELECT count(*) FROM {table} {filter}"), [], |r| {
        r.get(0)
    })
    .expect("count")
}

/// Every grid's digest as a device of an admin would be told it.
fn digests(district: &dyn DistrictStore, grids: &[String]) -> Vec<gridwalk_core::sync::GridDigest> {
    let admin = DeviceAuth {
        device_id: "test".into(),
        user_id: "test".into(),
        grids: grids.to_vec(),
        role: Role::Admin,
        key_person_grant: true,
    };
    district.digests(&admin, grids).expect("digests")
}

fn grids(dir: &Path) -> Vec<String> {
    let conn = Connection::open(dir.join("district.sqlite")).expect("open");
    let mut stmt = conn
        .prepare("SELECT DISTINCT grid_id FROM docs ORDER BY grid_id")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("grids")
        .collect::<Result<_, _>>()
        .expect("grids")
}

/// Two data directories hold the same district: every table's rows and every grid's
/// digest, the edited household's text and the photo's bytes.
fn assert_same(a: &Path, b: &Path) {
    for t in TABLES {
        assert_eq!(count(a, t.name), count(b, t.name), "{}", t.name);
    }
    let g = grids(a);
    assert!(!g.is_empty());
    assert_eq!(g, grids(b));
    let (da, db) = (
        SqliteDistrict::open(a).expect("a"),
        SqliteDistrict::open(b).expect("b"),
    );
    assert_eq!(digests(&da, &g), digests(&db, &g));
    let notes = |dir: &Path| -> i64 {
        Connection::open(dir.join("district.sqlite"))
            .expect("open")
            .query_row(
                "SELECT count(*) FROM households WHERE notes = 'edited before the move 搬迁前修改'",
                [],
                |r| r.get(0),
            )
            .expect("projection")
    };
    assert_eq!(
        notes(b),
        1,
        "the projection was rebuilt from the copied documents"
    );
    let report = |dir: &Path| -> serde_json::Value {
        let text: String = Connection::open(dir.join("district.sqlite"))
            .expect("open")
            .query_row("SELECT report FROM import_runs", [], |r| r.get(0))
            .expect("report");
        serde_json::from_str(&text).expect("json")
    };
    assert_eq!(report(a), report(b));
    let photos = |dir: &Path| -> Vec<(String, u64)> {
        SqliteBlobs::beside(&dir.join("district.sqlite"), DEFAULT_DEVICE_QUOTA)
            .stored()
            .expect("stored")
    };
    assert_eq!(photos(a), photos(b));
}

#[test]
fn the_demo_district_moves_to_postgres_and_back_equal() {
    let Some(db) = TestDatabase::from_env("store_copy").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (mut device, author, household) = demo_district(&a);

    let there = ok(&["store", "copy", "--from-data", path(&a), "--to", db.url()]);
    assert!(there.contains("copied and verified"), "{there}");
    assert!(!there.contains("DIFFERS"), "{there}");
    let back = ok(&["store", "copy", "--from", db.url(), "--to-data", path(&b)]);
    assert!(back.contains("copied and verified"), "{back}");
    assert_same(&a, &b);

    // New changes on PostgreSQL are numbered after the copied ones.
    let mut pg = postgres::Client::connect(db.url(), postgres::NoTls).expect("connect");
    let max: i64 = pg
        .query_one("SELECT max(seq) FROM changes", &[])
        .expect("max")
        .get(0);
    let next: i64 = pg
        .query_one("SELECT nextval('changes_seq')", &[])
        .expect("next")
        .get(0);
    assert!(next > max, "changes_seq {next} must pass the copied {max}");

    // Run again: nothing left to copy, verified again.
    let again = ok(&["store", "copy", "--from-data", path(&a), "--to", db.url()]);
    assert!(
        again.contains("verifying again") && again.contains("copied and verified"),
        "{again}"
    );

    // Another district into this database: refused, nothing written.
    let refused = run(&["store", "copy", "--from-data", path(&b), "--to", db.url()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is a copy of"),
        "{refused:?}"
    );

    // A target that was changed after the copy: the verification says so, non-zero exit.
    pg.execute(
        "INSERT INTO audit_log (at, user_id, username, role, kind, detail)
         VALUES (1, 'x', 'x', 'admin', 'export', '{}')",
        &[],
    )
    .expect("insert");
    let differs = run(&["store", "copy", "--from-data", path(&a), "--to", db.url()]);
    assert!(!differs.status.success());
    let stderr = String::from_utf8_lossy(&differs.stderr);
    assert!(stderr.contains("audit_log has"), "{stderr}");
    assert!(String::from_utf8_lossy(&differs.stdout).contains("DIFFERS"));

    // A database that already holds a district of its own is not a target.
    let other = TestDatabase::from_env("store_copy_other")
        .expect("db")
        .expect("db");
    let add = [
        "user",
        "add",
        "--database",
        other.url(),
        "--username",
        "someone",
    ];
    ok(&[&add[..], &["--name", "S", "--role", "worker"]].concat());
    let refused = run(&[
        "store",
        "copy",
        "--from-data",
        path(&a),
        "--to",
        other.url(),
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not empty"),
        "{refused:?}"
    );

    // The device carries on against a server on the moved district: same token, same
    // cursors, nothing to download again; its next edit is numbered after the copied ones.
    let (server, url) = serve(&["--database", db.url()]);
    device
        .meta_set("server.url", &url)
        .expect("point the device at it");
    let quiet = sync(&mut device);
    assert_eq!(
        (quiet.pulled_docs, quiet.repaired_docs),
        (0, 0),
        "{quiet:?}"
    );
    device
        .edit::<Household, _>(
            DocKind::Household,
            household,
            author,
            now_ms(),
            "edit",
            |h| {
                h.notes = "edited after the move 搬迁后修改".into();
                Ok(())
            },
        )
        .expect("edit");
    assert_eq!(sync(&mut device).accepted_docs, 1);
    drop(server);
    let after: i64 = pg
        .query_one("SELECT max(seq) FROM changes", &[])
        .expect("max")
        .get(0);
    assert!(
        after > next,
        "the new change {after} follows the copied ones"
    );
    // That change is not in the source: the copy run again says so and fails.
    let stale = run(&["store", "copy", "--from-data", path(&a), "--to", db.url()]);
    assert!(!stale.status.success());
    assert!(String::from_utf8_lossy(&stale.stderr).contains("changes has"));
}

#[test]
fn a_copy_stopped_midway_resumes_and_ends_equal_both_ways() {
    let Some(db) = TestDatabase::from_env("store_copy_resume").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, c) = (tmp.path().join("a"), tmp.path().join("c"));
    demo_district(&a);
    let (from, to) = (
        Endpoint::Data(a.clone()),
        Endpoint::Postgres(db.url().into()),
    );
    let small = |stop| CopyOptions {
        stop_after_batches: Some(stop),
        batch_rows: Some(40),
    };
    let mut out = Vec::new();
    let stopped = copy(&from, &to, &small(9), &mut out);
    assert!(stopped.is_err(), "the hook stops the copy");
    let mut pg = postgres::Client::connect(db.url(), postgres::NoTls).expect("connect");
    let docs: i64 = pg
        .query_one("SELECT count(*) FROM docs", &[])
        .expect("n")
        .get(0);
    assert!(
        docs > 0 && docs < count(&a, "docs"),
        "stopped partway: {docs} docs"
    );
    // Stopped again, later, then run to the end.
    assert!(copy(&from, &to, &small(5), &mut out).is_err());
    let report = copy(&from, &to, &CopyOptions::default(), &mut out).expect("resumed");
    assert!(report.resumed);
    assert_eq!(report.differences(), None);
    for t in &report.tables {
        assert_eq!(t.source, count(&a, t.table), "{}", t.table);
    }

    // And back, stopped after a few batches on the way.
    let back = Endpoint::Data(c.clone());
    assert!(copy(&to, &back, &small(7), &mut out).is_err());
    assert!(count(&c, "docs") < count(&a, "docs"));
    let report = copy(&to, &back, &CopyOptions::default(), &mut out).expect("resumed");
    assert_eq!(
        report.differences(),
        None,
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_same(&a, &c);
}

/// Every table of either backend is copied or listed with the reason it is not: a table a
/// migration adds fails this until it is in one list or the other.
#[test]
fn every_table_is_copied_or_said_why_not() {
    use gridwalk_server::store_copy::tables::NOT_COPIED;
    let known = |name: &str| {
        TABLES.iter().any(|t| t.name == name) || NOT_COPIED.iter().any(|(n, _)| *n == name)
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let district = SqliteDistrict::open(tmp.path()).expect("open");
    let blobs = SqliteBlobs::beside(district.path(), DEFAULT_DEVICE_QUOTA);
    blobs.status("0").expect("blob file made");
    let mut names: Vec<String> = Vec::new();
    for file in ["district.sqlite", "blobs.sqlite"] {
        let conn = Connection::open(tmp.path().join(file)).expect("open");
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .expect("prepare");
        let found: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("tables")
            .collect::<Result<_, _>>()
            .expect("tables");
        names.extend(found);
    }
    assert!(names.len() >= TABLES.len(), "{names:?}");
    let unknown: Vec<&String> = names.iter().filter(|n| !known(n)).collect();
    assert!(
        unknown.is_empty(),
        "SQLite tables in neither list: {unknown:?}"
    );

    let Some(db) = TestDatabase::from_env("store_copy_tables").expect("test database") else {
        return;
    };
    drop(gridwalk_district_postgres::PgDistrict::open(db.url(), 1).expect("migrated"));
    let mut pg = postgres::Client::connect(db.url(), postgres::NoTls).expect("connect");
    let rows = pg
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .expect("tables");
    assert!(rows.len() >= TABLES.len(), "{} tables", rows.len());
    let unknown: Vec<String> = rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|n| !known(n))
        .collect();
    assert!(
        unknown.is_empty(),
        "PostgreSQL tables in neither list: {unknown:?}"
    );
}
