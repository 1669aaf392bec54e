//! The device store encrypted at rest (issue 14): no name, ID number or phone of the grid
//! in any byte of any file of the data directory; a wrong key is a clear error; the key
//! destroyed (revocation) leaves even copies of the files unreadable; a plaintext store,
//! and one with the older HMAC-SHA512 pages, is rewritten in place, and a migration killed
//! at any step resumes or rolls back.

use gridwalk_core::demo::{generate, DemoDistrict, DemoParams, DEFAULT_NOW_MS};
use gridwalk_core::Author;
use gridwalk_store::device_key::{
    destroy_key_file, key_file_path, load_or_create_key_file, read_key_file,
};
use gridwalk_store::encrypt::{is_plaintext, page_auth, remove_store_files, PageAuth};
use gridwalk_store::{DeviceKey, Store, StoreError};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use uuid::Uuid;

const DB: &str = "device.sqlite";

/// The personal values of a demo grid: names, ID numbers and phones.
fn personal_values(d: &DemoDistrict) -> Vec<String> {
    let mut out = Vec::new();
    for h in &d.households {
        out.extend(h.phone.clone());
        for p in h.members.values() {
            out.push(p.name.clone());
            out.extend(p.id_number.clone());
            out.extend(p.phone.clone());
        }
    }
    out.retain(|v| v.len() >= 6); // two Chinese characters and up
    out.sort();
    out.dedup();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every value of `needles` found in the raw bytes of any file under `dir`, and the files
/// read (database, WAL, SHM, journal, whatever is there).
fn scan_files(dir: &Path, needles: &[String]) -> (Vec<String>, Vec<String>) {
    let mut hits = Vec::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        files.push(format!("{name} ({} bytes)", bytes.len()));
        for v in needles {
            if contains(&bytes, v.as_bytes()) {
                hits.push(format!("{name}: {v}"));
            }
        }
    }
    files.sort();
    (hits, files)
}

fn author() -> Author {
    Author::new(Uuid::from_u128(1), Uuid::from_u128(2))
}

fn demo() -> DemoDistrict {
    generate(&DemoParams::single_grid(15, 7, DEFAULT_NOW_MS))
}

fn write_demo(store: &mut Store, demo: &DemoDistrict) {
    store
        .set_device_identity(
            &author().user.to_string(),
            &author().device.to_string(),
            &[demo.households[0].grid_id.clone()],
        )
        .expect("identity");
    for h in &demo.households {
        store
            .create_household(h, author(), DEFAULT_NOW_MS)
            .expect("household");
    }
    for v in &demo.visits {
        store
            .create_visit(v, author(), DEFAULT_NOW_MS)
            .expect("visit");
    }
    for i in &demo.issues {
        store
            .create_issue(i, author(), DEFAULT_NOW_MS)
            .expect("issue");
    }
    store
        .meta_set(
            "draft:visit:1",
            &demo.households[0].members.values().next().unwrap().name,
        )
        .expect("draft");
}

fn doc_count(store: &Store) -> usize {
    store.doc_ids().expect("ids").len()
}

#[test]
fn the_demo_grid_leaves_no_name_id_number_or_phone_in_any_file() {
    let demo = demo();
    let needles = personal_values(&demo);
    assert!(needles.len() > 30, "the grid has people: {}", needles.len());

    // The control: the same grid in a plaintext store is found by the same scan.
    let plain = tempfile::tempdir().expect("tempdir");
    {
        let mut store = Store::open(plain.path().join(DB)).expect("plain store");
        write_demo(&mut store, &demo);
        let (hits, _) = scan_files(plain.path(), &needles);
        assert!(
            hits.len() > 30,
            "the scan finds a plaintext grid: {}",
            hits.len()
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let (key, created) = load_or_create_key_file(&key_file_path(dir.path())).expect("key");
    assert!(created);
    let db = dir.path().join(DB);
    let mut store = Store::open_encrypted(&db, &key).expect("encrypted store");
    write_demo(&mut store, &demo);
    // A second connection, as the app's sync thread has one, reading while the writer's
    // WAL is not checkpointed.
    let other = Store::open_encrypted(&db, &key).expect("second connection");
    assert_eq!(doc_count(&other), doc_count(&store));
    assert!(doc_count(&store) > 15);
    let (hits, files) = scan_files(dir.path(), &needles);
    assert!(
        files.iter().any(|f| f.starts_with("device.sqlite-wal")),
        "the WAL is scanned too: {files:?}"
    );
    assert!(
        hits.is_empty(),
        "found in {files:?}: {:?}",
        &hits[..hits.len().min(5)]
    );
    assert!(!is_plaintext(&db).expect("header"));
    assert_eq!(page_auth(&db, &key).expect("auth"), PageAuth::HmacSha256);
    drop(other);
    drop(store);
    let (hits, files) = scan_files(dir.path(), &needles);
    assert!(hits.is_empty(), "after close, in {files:?}: {hits:?}");

    // Reopened with its key, everything is there.
    let store = Store::open_encrypted(&db, &key).expect("reopen");
    assert_eq!(
        doc_count(&store),
        demo.households.len() + demo.visits.len() + demo.issues.len()
    );
}

#[test]
fn a_wrong_key_or_no_key_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join(DB);
    let key = DeviceKey::generate().expect("key");
    {
        let mut store = Store::open_encrypted(&db, &key).expect("store");
        write_demo(&mut store, &demo());
    }
    let wrong = DeviceKey::generate().expect("key");
    let err = Store::open_encrypted(&db, &wrong)
        .err()
        .expect("wrong key refused");
    assert!(matches!(err, StoreError::WrongKey), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the device store cannot be read with this key"
    );
    // Without a key (as the district's plaintext open would) it is no database either.
    assert!(Store::open(&db).is_err());
    // The refused opens changed nothing: the right key still reads it all.
    let store = Store::open_encrypted(&db, &key).expect("right key");
    assert!(doc_count(&store) > 15);
    // Garbage where the store should be: an error, not a panic.
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![7u8; 10_000]).expect("junk");
    assert!(matches!(
        Store::open_encrypted(&junk, &key),
        Err(StoreError::WrongKey)
    ));
}

#[test]
fn revocation_destroys_the_key_then_the_files_and_copies_stay_unreadable() {
    let demo = demo();
    let needles = personal_values(&demo);
    let dir = tempfile::tempdir().expect("tempdir");
    let key_path = key_file_path(dir.path());
    let (key, _) = load_or_create_key_file(&key_path).expect("key");
    let db = dir.path().join(DB);
    let mut store = Store::open_encrypted(&db, &key).expect("store");
    write_demo(&mut store, &demo);
    // Someone copies the data directory (without the key, which the OS secret store
    // keeps, or with the key file that the wipe then destroys).
    let copy = tempfile::tempdir().expect("copy");
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let p = entry.expect("entry").path();
        if p != key_path {
            std::fs::copy(&p, copy.path().join(p.file_name().unwrap())).expect("copy");
        }
    }
    drop(store);

    // The wipe: the key first, then the files.
    destroy_key_file(&key_path).expect("destroy key");
    drop(key);
    remove_store_files(&db).expect("remove files");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing left in the data directory"
    );
    assert!(read_key_file(&key_path).expect("read").is_none());

    // The copies: no personal value in their bytes, and no key opens them (the device
    // makes a new key for its next enrollment; that one does not read them either).
    let (hits, files) = scan_files(copy.path(), &needles);
    assert!(files.len() >= 2, "copied db and WAL: {files:?}");
    assert!(hits.is_empty(), "{hits:?}");
    let (new_key, created) = load_or_create_key_file(&key_path).expect("new key");
    assert!(created);
    assert!(matches!(
        Store::open_encrypted(copy.path().join(DB), &new_key),
        Err(StoreError::WrongKey)
    ));
}

fn key_path(dir: &Path) -> std::path::PathBuf {
    key_file_path(dir)
}

/// After a finished migration: no personal value in any file of `dir`, and no file of
/// the migration (the copy, the old store's link) left.
fn assert_migration_left_nothing(dir: &Path, needles: &[String], what: &str) {
    let (hits, files) = scan_files(dir, needles);
    assert!(hits.is_empty(), "{what}: in {files:?}: {hits:?}");
    assert!(
        files
            .iter()
            .all(|f| !f.contains(".encrypting") && !f.contains("-old")),
        "{what}: {files:?}"
    );
}

/// The old store a migration starts from: a plaintext one, or an encrypted one with
/// HMAC-SHA512 pages (SQLCipher 4's default, which versions before HMAC-SHA256 used).
#[derive(Debug, Clone, Copy, PartialEq)]
enum OldStore {
    Plaintext,
    HmacSha512,
}

impl OldStore {
    fn create(self, db: &Path, key: &DeviceKey) -> Store {
        match self {
            OldStore::Plaintext => Store::open(db).expect("plaintext store"),
            OldStore::HmacSha512 => Store::create_encrypted_older(db, key).expect("older store"),
        }
    }

    /// Whether `db` is still this old store (`key`: the data directory's).
    fn is(self, db: &Path, key: &DeviceKey) -> bool {
        match self {
            OldStore::Plaintext => is_plaintext(db).expect("header"),
            OldStore::HmacSha512 => page_auth(db, key).expect("auth") == PageAuth::HmacSha512,
        }
    }
}

/// A store an earlier version left is rewritten in place at its first open, encrypted
/// with HMAC-SHA256 pages: everything kept (documents, outbox, identity, a draft), no
/// file of the old one left, the key unchanged.
#[test]
fn an_old_store_is_rewritten_in_place_keeping_everything() {
    for old in [OldStore::Plaintext, OldStore::HmacSha512] {
        let demo = demo();
        let needles = personal_values(&demo);
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join(DB);
        let (key, _) = load_or_create_key_file(&key_path(dir.path())).expect("key");
        let before = {
            let mut store = old.create(&db, &key);
            write_demo(&mut store, &demo);
            store.outbox_len().expect("outbox")
        };
        assert!(old.is(&db, &key), "{old:?}");

        let store = Store::open_encrypted(&db, &key).expect("rewritten");
        assert!(!old.is(&db, &key), "{old:?}");
        assert_eq!(page_auth(&db, &key).expect("auth"), PageAuth::NEW);
        assert_eq!(store.outbox_len().expect("outbox"), before);
        assert_eq!(
            doc_count(&store),
            demo.households.len() + demo.visits.len() + demo.issues.len()
        );
        assert!(store.device_author().expect("author").is_some());
        let head = demo.households[0].members.values().next().expect("member");
        assert_eq!(
            store.meta_get("draft:visit:1").expect("draft").as_deref(),
            Some(head.name.as_str())
        );
        drop(store);
        assert_migration_left_nothing(dir.path(), &needles, &format!("{old:?}"));
        // Opening again does nothing more; a wrong key is still refused as one, whichever
        // page authentication is tried.
        let store = Store::open_encrypted(&db, &key).expect("again");
        assert!(doc_count(&store) > 15);
        let wrong = DeviceKey::generate().expect("key");
        assert!(matches!(
            Store::open_encrypted(&db, &wrong),
            Err(StoreError::WrongKey)
        ));
    }
}

/// The child of `a_migration_killed_at_any_step_resumes_or_rolls_back`: migrate the store
/// in GRIDWALK_MIGRATE_DIR, print each step, and hang at GRIDWALK_MIGRATE_STOP.
#[test]
fn migration_child() {
    let Ok(dir) = std::env::var("GRIDWALK_MIGRATE_DIR") else {
        return;
    };
    let stop = std::env::var("GRIDWALK_MIGRATE_STOP").unwrap_or_default();
    let dir = Path::new(&dir);
    let (key, _) = load_or_create_key_file(&key_file_path(dir)).expect("key");
    let mut out = std::io::stdout().lock();
    let _ = Store::open_encrypted_with(&dir.join(DB), &key, &mut |step| {
        writeln!(out, "{step:?}").expect("stdout");
        out.flush().expect("flush");
        if format!("{step:?}") == stop {
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
    });
    writeln!(out, "finished").expect("stdout");
}

#[test]
fn a_migration_killed_at_any_step_resumes_or_rolls_back() {
    for old in [OldStore::Plaintext, OldStore::HmacSha512] {
        migration_killed_at_any_step(old);
    }
}

fn migration_killed_at_any_step(old: OldStore) {
    let demo = demo();
    let needles = personal_values(&demo);
    let expected = demo.households.len() + demo.visits.len() + demo.issues.len();
    // "Started+": killed a moment into the export, wherever it is.
    for stop in ["Started", "Started+", "Exported", "Synced", "Renamed"] {
        let stop_name = format!("{old:?} {stop}");
        let stop_name = stop_name.as_str();
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join(DB);
        let (key, _) = load_or_create_key_file(&key_file_path(dir.path())).expect("key");
        {
            let mut store = old.create(&db, &key);
            write_demo(&mut store, &demo);
        }
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "migration_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GRIDWALK_MIGRATE_DIR", dir.path())
            .env("GRIDWALK_MIGRATE_STOP", stop)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let target = stop.trim_end_matches('+');
        let mut reached = false;
        while let Some(Ok(line)) = lines.next() {
            // (The first step shares its line with libtest's "test migration_child ... ".)
            if line.ends_with(target) {
                if stop.ends_with('+') {
                    std::thread::sleep(std::time::Duration::from_millis(3));
                }
                child.kill().expect("SIGKILL");
                reached = true;
                break;
            }
        }
        child.wait().expect("wait");
        assert!(reached, "{stop_name}: the child reached the step");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        if stop == "Renamed" {
            assert!(!old.is(&db, &key), "{stop_name}: renamed");
            assert!(left.iter().any(|f| f.ends_with("-old")), "{left:?}");
        } else if !stop.ends_with('+') {
            // (Killed a moment after the start, it may be anywhere.)
            assert!(old.is(&db, &key), "{stop_name}: not yet renamed");
        }

        // The next start resumes (or redoes) the migration.
        let key = read_key_file(&key_file_path(dir.path()))
            .expect("key file")
            .expect("the key file");
        let store = Store::open_encrypted(&db, &key).expect("resumed");
        assert_eq!(doc_count(&store), expected, "{stop_name}: every document");
        assert!(store.device_author().expect("author").is_some());
        drop(store);
        assert!(!is_plaintext(&db).expect("header"));
        assert_eq!(page_auth(&db, &key).expect("auth"), PageAuth::NEW);
        assert_migration_left_nothing(dir.path(), &needles, stop_name);
    }
}
