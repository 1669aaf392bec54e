//! The household ledger export: masking, the PII rule, scope, filters, the three file
//! formats, and the append-only audit log; on SQLite or (GRIDWALK_TEST_DATABASE)
//! PostgreSQL, through `ConsoleBackend` as the server holds it.

mod common;

use common::District;

use gridwalk_core::demo::{generate, DemoDistrict, DemoParams};
use gridwalk_core::ledger::{LedgerColumn, LEDGER_COLUMNS};
use gridwalk_core::model::{Household, HouseholdType};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district_sqlite::{
    AuditKind, AuditQuery, ConsoleScope, ExportFiles, ExportFilter, ExportFormat, NewUser, PiiMode,
    SqliteDistrict,
};
use gridwalk_store::StoreError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const NOTE_PHONE: &str = "13912345678";
const NOTE_ID: &str = "43020319900101123X";

struct Fixture {
    _dir: tempfile::TempDir,
    out: PathBuf,
    district: District,
    data: DemoDistrict,
    admin: ConsoleScope,
    supervisor: ConsoleScope,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let district = District::open();
    let params = DemoParams {
        households: 48,
        ..DemoParams::default()
    };
    let mut data = generate(&params);
    // Notes with a landlord's phone and an ID number, as workers write them.
    data.households[0].notes = format!("房东：张三 {NOTE_PHONE}，身份证{NOTE_ID}");
    district
        .console()
        .update_area_tree(params.now_ms, &mut |_| Ok(data.area.clone()))
        .expect("tree");
    let author = Author {
        user: uuid::Uuid::from_u128(1),
        device: uuid::Uuid::from_u128(2),
    };
    let mut docs: Vec<(Document, String)> = Vec::new();
    for h in &data.households {
        let id = DocId(h.id.parse().expect("uuid"));
        let doc = Document::create(DocKind::Household, id, h, author, params.now_ms).expect("doc");
        docs.push((doc, h.grid_id.clone()));
    }
    for v in &data.visits {
        let id = DocId(v.id.parse().expect("uuid"));
        let doc = Document::create(DocKind::Visit, id, v, author, params.now_ms).expect("doc");
        docs.push((doc, v.grid_id.clone()));
    }
    district
        .console()
        .import_documents(&docs, params.now_ms)
        .expect("import");
    let grid = data.area.grids[0].id.clone();
    let mut ids = Vec::new();
    for (name, role, grids) in [
        ("admin", "admin", vec![]),
        ("sup", "supervisor", vec![grid]),
    ] {
        let id = district
            .create_user(
                &NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    role: role.into(),
                    grids,
                },
                params.now_ms,
            )
            .expect("user");
        ids.push(id);
    }
    let scope = |id: &str| district.console().console_scope(id).expect("scope");
    let (admin, supervisor) = (scope(&ids[0]), scope(&ids[1]));
    Fixture {
        out: dir.path().join("out"),
        _dir: dir,
        district,
        data,
        admin,
        supervisor,
    }
}

impl Fixture {
    fn export(
        &self,
        scope: &ConsoleScope,
        filter: &ExportFilter,
        pii: PiiMode,
        format: ExportFormat,
    ) -> (PathBuf, Result<u64, StoreError>) {
        std::fs::create_dir_all(&self.out).expect("out dir");
        let path = self.out.join(format!("ledger.{}", format.extension()));
        let _ = std::fs::remove_file(&path);
        let rows = self
            .district
            .console()
            .export_to_file(filter, scope, pii, format, &path, 1_000)
            .map(|s| s.rows);
        (path, rows)
    }

    fn csv(&self, scope: &ConsoleScope, filter: &ExportFilter, pii: PiiMode) -> Vec<Vec<String>> {
        let (path, rows) = self.export(scope, filter, pii, ExportFormat::Csv);
        rows.expect("export");
        read_csv(&path)
    }

    /// Expected (household id, rows) of the households `keep` selects, every member a row.
    fn expected(&self, keep: impl Fn(&Household) -> bool) -> (BTreeSet<String>, usize) {
        let hs: Vec<&Household> = self.data.households.iter().filter(|h| keep(h)).collect();
        let rows = hs.iter().map(|h| h.members.len().max(1)).sum();
        (hs.iter().map(|h| h.id.clone()).collect(), rows)
    }
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).expect("read");
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM first");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    reader
        .records()
        .map(|r| r.expect("parses").iter().map(String::from).collect())
        .collect()
}

fn col(c: LedgerColumn) -> usize {
    LEDGER_COLUMNS
        .iter()
        .position(|x| *x == c)
        .expect("exported column")
}

fn ids_of(rows: &[Vec<String>]) -> BTreeSet<String> {
    rows[1..]
        .iter()
        .map(|r| r[col(LedgerColumn::HouseholdId)].clone())
        .collect()
}

#[test]
fn csv_is_masked_by_default_and_parses_back() {
    let f = fixture();
    let (path, rows) = f.export(
        &f.admin,
        &ExportFilter::default(),
        PiiMode::Masked,
        ExportFormat::Csv,
    );
    let rows_n = rows.expect("export");
    let text = String::from_utf8(std::fs::read(&path).expect("read")).expect("utf-8");
    let mut checked = 0;
    for h in &f.data.households {
        for p in h.members.values() {
            for secret in [&p.id_number, &p.phone, &h.phone].into_iter().flatten() {
                assert!(!text.contains(secret.as_str()), "{secret} leaked");
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "the demo has IDs and phones to mask");
    assert!(!text.contains(NOTE_PHONE) && !text.contains(NOTE_ID));
    assert!(text.contains("房东：张三 139****5678"));
    let rows = read_csv(&path);
    let header: Vec<&str> = LEDGER_COLUMNS.iter().map(|c| c.zh()).collect();
    assert_eq!(rows[0], header);
    let (ids, expected_rows) = f.expected(|_| true);
    assert_eq!(rows.len() - 1, expected_rows);
    assert_eq!(rows_n as usize, expected_rows);
    assert_eq!(ids_of(&rows), ids);
    // Household rows are consecutive, and Chinese labels are used.
    let mut seen = BTreeSet::new();
    let mut last = String::new();
    for r in &rows[1..] {
        let id = &r[col(LedgerColumn::HouseholdId)];
        if *id != last {
            assert!(seen.insert(id.clone()), "household {id} split");
            last = id.clone();
        }
        assert!(["男", "女", ""].contains(&r[col(LedgerColumn::Sex)].as_str()));
        assert!(["在住", "迁出", "死亡", ""].contains(&r[col(LedgerColumn::Status)].as_str()));
    }
}

#[test]
fn full_pii_only_for_an_admin_with_a_reason() {
    let f = fixture();
    let full = PiiMode::Full {
        reason: "移交民政局低保复核".into(),
    };
    let (path, rows) = f.export(
        &f.supervisor,
        &ExportFilter::default(),
        full.clone(),
        ExportFormat::Csv,
    );
    assert!(matches!(rows, Err(StoreError::Unauthorized(_))), "{rows:?}");
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(&f.out).expect("dir").count(),
        0,
        "no partial file left"
    );
    let (_, rows) = f.export(
        &f.admin,
        &ExportFilter::default(),
        PiiMode::Full {
            reason: " ok ".into(),
        },
        ExportFormat::Csv,
    );
    assert!(matches!(rows, Err(StoreError::BadRequest(_))), "{rows:?}");
    // Refusals are audited too.
    let refused = f
        .district
        .console()
        .audit_log(&AuditQuery::default())
        .expect("log");
    assert_eq!(refused.len(), 2);
    assert!(refused
        .iter()
        .all(|e| e.detail["error"].is_string() && e.detail["rows"] == 0));

    let rows = f.csv(&f.admin, &ExportFilter::default(), full);
    let h = &f.data.households[0];
    let text: String = rows.concat().join(",");
    assert!(text.contains(NOTE_PHONE), "full export keeps notes");
    for p in h.members.values() {
        if let Some(id) = &p.id_number {
            assert!(text.contains(id.as_str()));
        }
    }
    let log = f
        .district
        .console()
        .audit_log(&AuditQuery {
            kind: Some(AuditKind::Export),
            limit: 1,
            ..Default::default()
        })
        .expect("log");
    assert_eq!(log[0].detail["masked"], false);
    assert_eq!(log[0].detail["reason"], "移交民政局低保复核");
    assert_eq!(log[0].username, "admin");
}

#[test]
fn a_supervisor_gets_only_their_grids() {
    let f = fixture();
    let grid = f.data.area.grids[0].id.clone();
    let rows = f.csv(&f.supervisor, &ExportFilter::default(), PiiMode::Masked);
    let (ids, n) = f.expected(|h| h.grid_id == grid);
    assert!(!ids.is_empty());
    assert_eq!(ids_of(&rows), ids);
    assert_eq!(rows.len() - 1, n);
    // Asking for another grid gives nothing rather than leaking it.
    let other = ExportFilter {
        grids: vec![f.data.area.grids[1].id.clone()],
        ..Default::default()
    };
    assert_eq!(f.csv(&f.supervisor, &other, PiiMode::Masked).len(), 1);
}

#[test]
fn each_export_leaves_one_audit_entry() {
    let f = fixture();
    let filter = ExportFilter {
        care_tags: vec!["elderly_alone".into()],
        ..Default::default()
    };
    let (_, rows) = f.export(&f.admin, &filter, PiiMode::Masked, ExportFormat::Xlsx);
    let rows = rows.expect("export");
    let log = f
        .district
        .console()
        .audit_log(&AuditQuery::default())
        .expect("log");
    assert_eq!(log.len(), 1);
    let e = &log[0];
    assert_eq!(e.kind, AuditKind::Export);
    assert_eq!(e.detail["rows"], rows);
    assert_eq!(e.detail["format"], "xlsx");
    assert_eq!(e.detail["masked"], true);
    assert!(e.detail["reason"].is_null());
    assert_eq!(e.detail["file_name"], "ledger.xlsx");
    assert_eq!(e.detail["filters"]["care_tags"][0], "elderly_alone");
    // Paging: newest first, before_id continues.
    f.export(
        &f.admin,
        &ExportFilter::default(),
        PiiMode::Masked,
        ExportFormat::Csv,
    )
    .1
    .expect("export");
    let page = f
        .district
        .console()
        .audit_log(&AuditQuery {
            limit: 1,
            ..Default::default()
        })
        .expect("log");
    assert_eq!(page[0].detail["format"], "csv");
    let next = f
        .district
        .console()
        .audit_log(&AuditQuery {
            before_id: Some(page[0].id),
            ..Default::default()
        })
        .expect("log");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].id, e.id);
    let by_user = f
        .district
        .console()
        .audit_log(&AuditQuery {
            user: Some("sup".into()),
            ..Default::default()
        })
        .expect("log");
    assert!(by_user.is_empty());
}

#[test]
fn the_audit_log_cannot_be_changed() {
    let f = fixture();
    f.export(
        &f.admin,
        &ExportFilter::default(),
        PiiMode::Masked,
        ExportFormat::Csv,
    )
    .1
    .expect("export");
    assert!(f
        .district
        .execute_raw("UPDATE audit_log SET username = 'nobody'")
        .is_err());
    assert!(f.district.execute_raw("DELETE FROM audit_log").is_err());
    assert_eq!(
        f.district
            .console()
            .audit_log(&AuditQuery::default())
            .expect("log")[0]
            .username,
        "admin"
    );
}

#[test]
fn filters_select_the_expected_households() {
    let f = fixture();
    let run = |filter: ExportFilter| ids_of(&f.csv(&f.admin, &filter, PiiMode::Masked));
    let tag = ExportFilter {
        care_tags: vec!["独居老人".into(), "min_income".into()],
        ..Default::default()
    };
    let (want, _) = f.expected(|h| {
        let t = h.care_tags();
        t.contains("elderly_alone") || t.contains("min_income")
    });
    assert!(!want.is_empty());
    assert_eq!(run(tag), want);

    let migrant = ExportFilter {
        household_types: vec!["流动".into()],
        ..Default::default()
    };
    assert_eq!(
        run(migrant),
        f.expected(|h| h.household_type == HouseholdType::Migrant).0
    );

    let community = f.data.area.communities[1].code.clone();
    let by_community = ExportFilter {
        area_codes: vec![community.clone()],
        ..Default::default()
    };
    assert_eq!(
        run(by_community),
        f.expected(|h| h.address.community_code == community).0
    );
    let street = f.data.area.streets[0].code.clone();
    let by_street = ExportFilter {
        area_codes: vec![street.clone()],
        ..Default::default()
    };
    let street_communities: Vec<&str> = f
        .data
        .area
        .communities
        .iter()
        .filter(|c| c.street_code == street)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(
        run(by_street),
        f.expected(|h| street_communities.contains(&h.address.community_code.as_str()))
            .0
    );

    let since = f.data.visits.iter().map(|v| v.at).max().expect("visits") - 30 * 86_400_000;
    let visited: BTreeSet<&str> = f
        .data
        .visits
        .iter()
        .filter(|v| v.at >= since)
        .map(|v| v.household_id.as_str())
        .collect();
    let recent = ExportFilter {
        visited_since: Some(since),
        ..Default::default()
    };
    assert_eq!(
        run(recent),
        f.expected(|h| visited.contains(h.id.as_str())).0
    );

    let bad = ExportFilter {
        care_tags: vec!["community_correction".into()],
        ..Default::default()
    };
    assert!(matches!(
        f.export(&f.admin, &bad, PiiMode::Masked, ExportFormat::Csv)
            .1,
        Err(StoreError::BadRequest(_))
    ));

    let living = ExportFilter {
        include_departed: false,
        ..Default::default()
    };
    let rows = f.csv(&f.admin, &living, PiiMode::Masked);
    assert!(rows[1..]
        .iter()
        .all(|r| ["在住", ""].contains(&r[col(LedgerColumn::Status)].as_str())));
}

#[test]
fn xlsx_opens_with_ids_as_text() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let f = fixture();
    let full = PiiMode::Full {
        reason: "数据核对备份".into(),
    };
    let (path, rows) = f.export(&f.admin, &ExportFilter::default(), full, ExportFormat::Xlsx);
    let rows = rows.expect("export");
    let mut book: Xlsx<_> = open_workbook(&path).expect("opens");
    let sheet = book.worksheet_range("台账").expect("sheet");
    assert_eq!(sheet.height() as u64, rows + 1);
    assert_eq!(sheet.get((0, 0)), Some(&Data::String("户编号".into())));
    let id_col = col(LedgerColumn::IdNumber);
    let mut ids = 0;
    for r in sheet.rows().skip(1) {
        match &r[id_col] {
            Data::String(s) => {
                assert_eq!(s.len(), 18);
                ids += 1;
            }
            Data::Empty => {}
            other => panic!("ID cell is not text: {other:?}"),
        }
    }
    assert!(ids > 10);
}

#[test]
fn geojson_has_one_feature_per_household() {
    let f = fixture();
    let (path, rows) = f.export(
        &f.admin,
        &ExportFilter::default(),
        PiiMode::Masked,
        ExportFormat::GeoJson,
    );
    rows.expect("export");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(v["type"], "FeatureCollection");
    let features = v["features"].as_array().expect("features");
    assert_eq!(features.len(), f.data.households.len());
    let ids: BTreeSet<&str> = features
        .iter()
        .filter_map(|x| x["properties"]["household_id"].as_str())
        .collect();
    assert_eq!(ids.len(), features.len());
    for (h, feat) in f.data.households.iter().filter_map(|h| {
        features
            .iter()
            .find(|x| x["id"] == h.id.as_str())
            .map(|x| (h, x))
    }) {
        match h.gps {
            Some(g) => {
                // serde_json's default float parsing may be one ulp off: compare closely.
                let c = &feat["geometry"]["coordinates"];
                let near = |v: &serde_json::Value, want: f64| {
                    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
                };
                assert!(near(&c[0], g.lon) && near(&c[1], g.lat), "{c} vs {g:?}");
            }
            None => assert!(feat["geometry"].is_null()),
        }
        assert_eq!(
            feat["properties"]["member_count"],
            h.living_members().count()
        );
    }
}

#[test]
fn an_upgraded_store_fills_the_new_columns() {
    // The embedded store's upgrade path (PostgreSQL's projection is rebuilt by version).
    let f = fixture();
    let District::Sqlite { d, _dir } = f.district else {
        return;
    };
    let path = d.path().to_path_buf();
    let dir = path.parent().expect("dir").to_path_buf();
    drop(d);
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "UPDATE households SET notes = ''; DELETE FROM meta WHERE key = 'projection.version';",
        )
        .expect("age the projection");
    }
    let district = SqliteDistrict::open(&dir).expect("reopen");
    let notes: String = district
        .with_reader(|c| {
            Ok(c.query_row(
                "SELECT notes FROM households WHERE doc_id = ?1",
                [&f.data.households[0].id],
                |r| r.get(0),
            )?)
        })
        .expect("notes");
    assert!(notes.contains(NOTE_PHONE));
}
