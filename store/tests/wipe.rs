//! A wipe wipes (issue 9 §3): after `Store::wipe` of a device that held a grid, no table
//! and no byte of any file in its data directory holds a name, ID number or phone of it.

use gridwalk_core::demo::{generate, DemoParams, DEFAULT_NOW_MS};
use gridwalk_core::Author;
use gridwalk_store::Store;
use std::path::Path;
use uuid::Uuid;

/// The personal values of a demo grid: names, ID numbers and phones (each ≥ 4 bytes).
fn personal_values(d: &gridwalk_core::demo::DemoDistrict) -> Vec<String> {
    let mut out = Vec::new();
    for h in &d.households {
        out.extend(h.phone.clone());
        for p in h.members.values() {
            out.push(p.name.clone());
            out.extend(p.id_number.clone());
            out.extend(p.phone.clone());
        }
    }
    out.retain(|v| v.len() >= 6);
    out.sort();
    out.dedup();
    out
}

/// Every value of `needles` found in a text cell of any table.
fn found_in_tables(store: &Store, needles: &[String]) -> Vec<String> {
    let conn = store.connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut hits = Vec::new();
    for t in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\""))
            .expect("select");
        let n = stmt.column_count();
        let mut rows = stmt.query([]).expect("rows");
        while let Some(row) = rows.next().expect("row") {
            for i in 0..n {
                let cell: Vec<u8> = match row.get_ref(i).expect("cell") {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        b.to_vec()
                    }
                    _ => continue,
                };
                for v in needles {
                    if contains(&cell, v.as_bytes()) {
                        hits.push(format!("{t}: {v}"));
                    }
                }
            }
        }
    }
    hits
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every value of `needles` found in the raw bytes of any file under `dir`.
fn found_in_files(dir: &Path, needles: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        for v in needles {
            if contains(&bytes, v.as_bytes()) {
                hits.push(format!("{name}: {v}"));
            }
        }
    }
    hits
}

#[test]
fn wipe_leaves_no_name_id_number_or_phone_in_tables_or_files() {
    let demo = generate(&DemoParams::single_grid(15, 7, DEFAULT_NOW_MS));
    let needles = personal_values(&demo);
    assert!(needles.len() > 30, "the grid has people: {}", needles.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gridwalk.db");
    let mut store = Store::open(&db).expect("store");
    let author = Author::new(Uuid::from_u128(1), Uuid::from_u128(2));
    store
        .set_device_identity(
            &author.user.to_string(),
            &author.device.to_string(),
            &[demo.households[0].grid_id.clone()],
        )
        .expect("identity");
    for h in &demo.households {
        store
            .create_household(h, author, DEFAULT_NOW_MS)
            .expect("household");
    }
    for v in &demo.visits {
        store
            .create_visit(v, author, DEFAULT_NOW_MS)
            .expect("visit");
    }
    for i in &demo.issues {
        store
            .create_issue(i, author, DEFAULT_NOW_MS)
            .expect("issue");
    }
    // A second connection, as the app's sync thread has one beside the UI's.
    let other = Store::open(&db).expect("second connection");
    assert!(
        !found_in_tables(&store, &needles).is_empty()
            && !found_in_files(dir.path(), &needles).is_empty(),
        "the scan finds the grid before the wipe"
    );

    store.wipe().expect("wipe");

    let in_tables = found_in_tables(&store, &needles);
    assert!(
        in_tables.is_empty(),
        "left in tables: {:?}",
        &in_tables[..in_tables.len().min(5)]
    );
    let in_files = found_in_files(dir.path(), &needles);
    assert!(
        in_files.is_empty(),
        "left in files: {:?}",
        &in_files[..in_files.len().min(5)]
    );
    // The store still works: a new enrollment can use it.
    drop(other);
    drop(store);
    let store = Store::open(&db).expect("reopen");
    assert!(store.doc_ids().expect("docs").is_empty());
    assert!(found_in_files(dir.path(), &needles).is_empty());
}
