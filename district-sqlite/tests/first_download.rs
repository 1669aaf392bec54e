//! A first download (protocol 2): the district sends each document's heads and projection
//! rows with its bytes; the device stores them without loading the document. The rows must
//! be exactly what the device derives itself, nothing of another grid or of key-person
//! documents reaches a role that may not hold them, and a document whose stored heads are
//! not its own is healed when it is first loaded.

mod common;

use common::{enroll, Device, Direct, District, NOW};
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::projection::project;
use gridwalk_core::sync::{DocData, TableRows};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district_sqlite::DistrictStore;
use gridwalk_store::client::SyncOptions;
use rusqlite::types::Value;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

const TABLES: [&str; 5] = ["households", "persons", "visits", "issues", "key_persons"];

fn dump(store: &gridwalk_store::Store) -> Vec<(String, Vec<Vec<Value>>)> {
    let conn = store.connection();
    TABLES
        .iter()
        .map(|t| {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2"))
                .expect("select");
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
                .expect("query")
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .expect("rows");
            (t.to_string(), rows)
        })
        .collect()
}

/// Two grids of a demo district (households, visits, issues, key persons) in a district.
fn district() -> (Arc<District>, String, usize) {
    let d = District::open();
    let mut params = DemoParams::single_grid(40, 7, NOW);
    params.grids_per_community = 2;
    let data = generate(&params);
    let author = Author::new(Uuid::from_u128(1), Uuid::from_u128(2));
    let mut docs = Vec::new();
    let mut add = |kind, id: &str, grid: &str, doc: Result<Document, _>| {
        let doc: Document = doc.expect("doc");
        assert_eq!(doc.kind, kind);
        docs.push((doc, grid.to_string()));
        DocId::parse(id).expect("id")
    };
    for h in &data.households {
        let id = DocId::parse(&h.id).expect("id");
        add(
            DocKind::Household,
            &h.id,
            &h.grid_id,
            Document::create(DocKind::Household, id, h, author, NOW),
        );
    }
    for v in &data.visits {
        let id = DocId::parse(&v.id).expect("id");
        add(
            DocKind::Visit,
            &v.id,
            &v.grid_id,
            Document::create(DocKind::Visit, id, v, author, NOW),
        );
    }
    for i in &data.issues {
        let id = DocId::parse(&i.id).expect("id");
        add(
            DocKind::Issue,
            &i.id,
            &i.grid_id,
            Document::create(DocKind::Issue, id, i, author, NOW),
        );
    }
    for k in &data.key_persons {
        let id = DocId::parse(&k.id).expect("id");
        add(
            DocKind::KeyPersons,
            &k.id,
            &k.grid_id,
            Document::create(DocKind::KeyPersons, id, k, author, NOW),
        );
    }
    // Key-person data of the first household's first member (the demo's few may miss it).
    let h = &data.households[0];
    let k = gridwalk_core::model::KeyPersons {
        id: Uuid::from_u128(0xabc).to_string(),
        household_id: h.id.clone(),
        grid_id: h.grid_id.clone(),
        persons: std::collections::BTreeMap::from([(
            h.members.keys().next().expect("member").clone(),
            std::collections::BTreeMap::from([("drug_rehab".to_string(), true)]),
        )]),
    };
    let id = DocId::parse(&k.id).expect("id");
    add(
        DocKind::KeyPersons,
        &k.id,
        &k.grid_id,
        Document::create(DocKind::KeyPersons, id, &k, author, NOW),
    );
    let grid = data.households[0].grid_id.clone();
    let in_grid = docs.iter().filter(|(_, g)| *g == grid).count();
    d.console().import_documents(&docs, NOW).expect("import");
    (Arc::new(d), grid, in_grid)
}

fn sync(
    dev: &mut Device,
    d: &Arc<District>,
    check_digest: bool,
) -> gridwalk_store::client::SyncReport {
    let mut t = Direct::new(d, &dev.token);
    let options = SyncOptions {
        max_pull_bytes: 16 * 1024,
        check_digest,
        ..SyncOptions::default()
    };
    dev.store
        .sync(&mut t, &options, NOW, &mut |_| {}, &AtomicBool::new(false))
        .expect("sync")
}

#[test]
fn shipped_rows_are_the_rows_the_device_derives_itself() {
    let (d, grid, in_grid) = district();
    let mut dev = enroll(&d, "w", &[&grid]);
    let report = sync(&mut dev, &d, true);
    assert!(report.rounds > 2, "several pages: {report:?}");
    assert_eq!(
        report.digest_matched,
        Some(true),
        "the shipped heads are the documents'"
    );
    let held = dev.store.doc_ids().expect("ids");
    // A worker holds no key-person documents, and nothing of the other grid.
    assert!(held
        .iter()
        .all(|(_, k, g)| *k != DocKind::KeyPersons && *g == grid));
    let key_docs = in_grid - held.len();
    assert!(
        key_docs > 0,
        "the grid has key-person documents the worker does not get"
    );
    let shipped = dump(&dev.store);
    assert!(shipped
        .iter()
        .all(|(t, rows)| (t == "key_persons") == rows.is_empty()));
    dev.store.rebuild_projections().expect("rebuild");
    assert_eq!(shipped, dump(&dev.store), "rows as the device derives them");
}

#[test]
fn a_document_whose_stored_heads_are_not_its_own_is_healed_when_loaded() {
    let (d, grid, _) = district();
    let mut dev = enroll(&d, "w", &[&grid]);
    sync(&mut dev, &d, false);
    let conn = dev.store.connection();
    let (id, heads): (String, String) = conn
        .query_row(
            "SELECT doc_id, heads FROM docs WHERE kind = 'household' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a household");
    conn.execute(
        "UPDATE docs SET heads = ?2 WHERE doc_id = ?1",
        [&id, &"00".repeat(32)],
    )
    .expect("tamper heads");
    conn.execute(
        "UPDATE households SET head_name = 'forged' WHERE doc_id = ?1",
        [&id],
    )
    .expect("tamper row");
    let h: Household = dev
        .store
        .read(DocId::parse(&id).expect("id"))
        .expect("read");
    let (now_heads, head_name): (String, String) = dev
        .store
        .connection()
        .query_row(
            "SELECT d.heads, h.head_name FROM docs d JOIN households h USING (doc_id)
             WHERE doc_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!(now_heads, heads);
    assert_eq!(Some(head_name), h.head().map(|p| p.name.clone()));
}

/// The rows a first download ships are read back from the district's tables (on
/// PostgreSQL: its own types, booleans and reals included) and must be exactly the rows
/// `gridwalk_core::projection` computes from the document shipped with them, for every
/// document, in every table of its kind.
#[test]
fn every_document_of_a_first_download_carries_its_projection_rows() {
    let (d, grid, _) = district();
    let dev = enroll(&d, "w", &[&grid]);
    let device = d.authenticate(&dev.token, NOW).expect("device");
    let mut cursors = vec![];
    let (mut docs, mut households, mut persons) = (0, 0, 0);
    for _ in 0..100 {
        let page = d.pull(&device, &cursors, 64 * 1024).expect("pull");
        for pulled in &page.docs {
            let DocData::Snapshot(bytes) = &pulled.data else {
                panic!("a first download ships whole documents");
            };
            let rows = pulled.rows.as_ref().expect("rows with every document");
            let id = gridwalk_core::DocId(pulled.doc_id);
            let doc = Document::load(pulled.kind, id, bytes).expect("loads");
            let want: Vec<TableRows> = project(&doc, &pulled.grid_id)
                .expect("a demo document projects")
                .rows
                .tables()
                .into_iter()
                .map(|(table, mut rows)| {
                    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
                    TableRows {
                        table: table.to_string(),
                        rows,
                    }
                })
                .collect();
            let mut got = rows.clone();
            for t in &mut got {
                t.rows
                    .sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            }
            assert_eq!(got, want, "{} {}", pulled.kind, pulled.doc_id);
            docs += 1;
            if pulled.kind == DocKind::Household {
                households += 1;
                persons += got[1].rows.len();
            }
        }
        cursors = page.cursors.clone();
        if !page.more {
            break;
        }
    }
    assert!(
        docs > 40 && households > 10 && persons > households,
        "{docs} {households} {persons}"
    );
}

/// Version 5 leaves every household's `search` and `tails` out of a first download (the
/// device derives them): the district's stored keys are what its rows give, on either
/// backend, persons in the order it sends them. The page still reads back whole.
#[test]
fn a_version_5_page_leaves_out_every_households_search_keys() {
    use gridwalk_core::sync::{decode_response, encode_response, v4_streams, SyncResponse};
    let (d, grid, _) = district();
    let dev = enroll(&d, "w", &[&grid]);
    let device = d.authenticate(&dev.token, NOW).expect("device");
    let mut cursors = vec![];
    let mut households = 0;
    for _ in 0..100 {
        let page = d.pull(&device, &cursors, 32 * 1024).expect("pull");
        let resp = SyncResponse {
            protocol: 5,
            pushed: vec![],
            pulled: page.docs.clone(),
            cursors: page.cursors.clone(),
            more: page.more,
            full_pull_total: 0,
            digests: vec![],
            server_heads: vec![],
            scope_changed: None,
            handed_over: vec![],
            projection: gridwalk_store::projection::VERSION.to_string(),
        };
        let n = resp
            .pulled
            .iter()
            .filter(|p| p.kind == DocKind::Household)
            .count();
        assert!(n < 128, "one byte of length: {n}");
        let streams = v4_streams(&resp);
        for column in ["households[16]", "households[17]"] {
            let raw = streams.iter().find(|(name, _)| name == column);
            // A length, then one byte per household: every one left out.
            assert_eq!(
                raw.map(|(_, r)| r.len()),
                (n > 0).then_some(1 + n),
                "{column}"
            );
        }
        let body = encode_response(&resp, 5);
        assert_eq!(decode_response(&body, 64 << 20).expect("decodes"), resp);
        if n > 0 {
            assert!(body.len() < encode_response(&resp, 4).len());
        }
        households += n;
        cursors = page.cursors.clone();
        if !page.more {
            break;
        }
    }
    assert!(households > 10, "{households}");
}

/// PostgreSQL: a database whose projection rows are behind the projection version (one
/// migrated to 004 with documents in it) is filled from its documents when a server
/// starts, and a first download then ships the rows as before.
#[test]
fn postgres_rebuilds_stale_projections_at_start() {
    let (d, grid, _) = district();
    let Some(url) = d.postgres_url() else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: the SQLite store rebuilds in Store::open");
        return;
    };
    let households = d.count_rows("households");
    let persons = d.count_rows("persons");
    assert!(households > 0 && persons > households);
    d.execute_raw("DELETE FROM meta WHERE key = 'projection.version'")
        .expect("forget the version");
    d.execute_raw("DELETE FROM households")
        .expect("drop the rows");
    assert_eq!(
        d.count_rows("persons"),
        0,
        "members go with their household"
    );
    gridwalk_district_postgres::PgDistrict::open(url, 2).expect("a server starts");
    assert_eq!(d.count_rows("households"), households);
    assert_eq!(d.count_rows("persons"), persons);
    let mut dev = enroll(&d, "w", &[&grid]);
    sync(&mut dev, &d, true);
    let shipped = dump(&dev.store);
    dev.store.rebuild_projections().expect("rebuild");
    assert_eq!(shipped, dump(&dev.store));
}

/// The device's indexes, each as its SQL with the spaces collapsed.
fn indexes(store: &gridwalk_store::Store) -> Vec<(String, String)> {
    let mut stmt = store
        .connection()
        .prepare(
            "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name",
        )
        .expect("select");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query");
    rows.map(|r| {
        let (name, sql) = r.expect("row");
        (name, sql.split_whitespace().collect::<Vec<_>>().join(" "))
    })
    .collect()
}

#[test]
fn a_first_download_builds_its_indexes_after_its_last_page_and_a_cut_one_still_has_them() {
    let (d, grid, _) = district();
    let fresh = indexes(&gridwalk_store::Store::open_in_memory().expect("store"));
    assert!(fresh.iter().any(|(n, _)| n == "visits_household"));
    let mut whole = enroll(&d, "w", &[&grid]);
    let report = sync(&mut whole, &d, true);
    assert!(report.rounds > 2, "several pages: {report:?}");
    assert_eq!(
        indexes(&whole.store),
        fresh,
        "every index, as the migrations make it"
    );

    // Cut off at its third page: what arrived is kept, with every index.
    let mut cut = enroll(&d, "w2", &[&grid]);
    let mut t = Direct::new(&d, &cut.token);
    t.drop_response_of = Some(3);
    let options = SyncOptions {
        max_pull_bytes: 16 * 1024,
        ..SyncOptions::default()
    };
    let failed = cut
        .store
        .sync(&mut t, &options, NOW, &mut |_| {}, &AtomicBool::new(false));
    assert!(failed.is_err(), "the cut connection fails the sync");
    let held = cut.store.doc_ids().expect("ids").len();
    let total = whole.store.doc_ids().expect("ids").len();
    assert!(held > 0 && held < total, "{held} of {total} documents");
    assert_eq!(indexes(&cut.store), fresh);
    // Resumed, it ends as the whole one did.
    let report = sync(&mut cut, &d, true);
    assert_eq!(report.digest_matched, Some(true));
    assert_eq!(indexes(&cut.store), fresh);
    assert_eq!(dump(&cut.store), dump(&whole.store));
}
