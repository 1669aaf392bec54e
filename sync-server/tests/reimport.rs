//! Re-importing an updated ledger: the dry run's diff (new, changed field by field, gone)
//! writes nothing; the import's changes reach a device on its next sync, and a device's
//! edits, synced before or made concurrently, are never silently overwritten. On SQLite,
//! or on PostgreSQL when GRIDWALK_TEST_DATABASE names a server (a fresh database each).

use gridwalk_core::area::{AreaTree, Building, Community, District, Grid, Street};
use gridwalk_core::model::Household;
use gridwalk_core::sync::{decode, encode, SyncRequest, SyncResponse};
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_postgres::PgDistrict;
use gridwalk_district_sqlite::{handle_sync, ConsoleBackend, SqliteDistrict};
use gridwalk_server::console::ledger_import::import_blocking;
use gridwalk_store::client::{SyncOptions, Transport};
use gridwalk_store::Store;
use serde_json::Value;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

const NOW: i64 = 1_790_000_000_000;
const GRID: &str = "0190a000-0000-7000-8000-000000000001";
const V1: &[u8] = include_bytes!("fixtures/reimport_v1.csv");
const V2: &[u8] = include_bytes!("fixtures/reimport_v2.csv");

fn tree() -> AreaTree {
    let building = |n: u32| Building {
        id: Uuid::from_u128(0xb000 + n as u128).to_string(),
        community_code: "430202001001".into(),
        grid_id: GRID.into(),
        number: format!("{n:05}"),
        name: format!("{n}栋"),
        units: 2,
        floors: 6,
        rooms_per_floor: 2,
    };
    AreaTree {
        district: District {
            code: "430202000000".into(),
            name: "荷塘区".into(),
        },
        streets: vec![Street {
            code: "430202001000".into(),
            name: "月塘街道".into(),
        }],
        communities: vec![Community {
            code: "430202001001".into(),
            name: "荷花社区".into(),
            street_code: "430202001000".into(),
        }],
        grids: vec![Grid {
            id: GRID.into(),
            community_code: "430202001001".into(),
            number: 1,
            name: "第1网格".into(),
        }],
        buildings: vec![building(1), building(2)],
    }
}

struct Direct {
    district: Arc<dyn ConsoleBackend>,
    token: String,
}

impl Transport for Direct {
    fn exchange(&mut self, request: &SyncRequest) -> gridwalk_store::Result<SyncResponse> {
        let device = self.district.authenticate(&self.token, NOW)?;
        let decoded: SyncRequest = decode(&encode(request), 64 << 20).expect("decodes");
        let (response, _) = handle_sync(self.district.as_ref(), &device, &decoded, NOW)?;
        Ok(decode(&encode(&response), 64 << 20).expect("decodes"))
    }
}

/// The district on either backend, kept alive with its directory or database.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(Box<TestDatabase>),
}

struct Setup {
    backend: Backend,
    district: Arc<dyn ConsoleBackend>,
    admin: gridwalk_district_sqlite::ConsoleScope,
    device: Store,
    author: Author,
    transport: Direct,
}

fn setup() -> Setup {
    let (backend, district): (Backend, Arc<dyn ConsoleBackend>) =
        match TestDatabase::from_env("reimport").expect("test database") {
            Some(db) => {
                let d = PgDistrict::open(db.url(), 4).expect("district");
                (Backend::Postgres(Box::new(db)), Arc::new(d))
            }
            None => {
                let dir = tempfile::tempdir().expect("dir");
                let d = SqliteDistrict::open(dir.path()).expect("district");
                (Backend::Sqlite(dir), Arc::new(d))
            }
        };
    district
        .update_area_tree(NOW, &mut |_| Ok(tree()))
        .expect("tree");
    let user = |name: &str, role: &str, grids: Vec<String>| {
        district
            .save_user(
                None,
                &gridwalk_district_sqlite::UserUpdate {
                    username: name.into(),
                    display_name: name.into(),
                    role: role.into(),
                    grids,
                    areas: vec![],
                    password: None,
                },
                NOW,
            )
            .expect("user")
    };
    let admin_id = user("admin", "admin", vec![]);
    let worker = user("worker", "worker", vec![GRID.into()]);
    let admin = district.console_scope(&admin_id).expect("scope");
    let code = district
        .create_enrollment(&worker, 3_600_000, NOW)
        .expect("code");
    let enrolled = district.enroll(&code, "phone", NOW).expect("enroll");
    let mut device = Store::open_in_memory().expect("store");
    device
        .set_device_identity(&enrolled.user_id, &enrolled.device_id, &enrolled.grids)
        .expect("identity");
    let author = Author::new(
        Uuid::parse_str(&enrolled.user_id).expect("uuid"),
        Uuid::parse_str(&enrolled.device_id).expect("uuid"),
    );
    let transport = Direct {
        district: district.clone(),
        token: enrolled.token,
    };
    Setup {
        backend,
        district,
        admin,
        device,
        author,
        transport,
    }
}

impl Setup {
    fn import(&self, bytes: &[u8], mode: &str) -> Value {
        import_blocking(&*self.district, &self.admin, "台账.csv", mode, None, bytes)
            .expect("import")
    }

    fn sync(&mut self) {
        let report = (self.device)
            .sync(
                &mut self.transport,
                &SyncOptions::default(),
                NOW,
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .expect("sync");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }

    /// The household at `room` on the device, with its document id.
    fn on_device(&self, room: &str) -> (DocId, Household) {
        for (id, kind, _) in self.device.doc_ids().expect("ids") {
            if kind == DocKind::Household {
                let h: Household = self.device.read(id).expect("read");
                if h.address.room == room {
                    return (id, h);
                }
            }
        }
        panic!("no household at {room} on the device");
    }

    fn set_phone(&mut self, room: &str, name: &str, phone: &str) {
        let (id, _) = self.on_device(room);
        let (name, phone) = (name.to_string(), phone.to_string());
        (self.device)
            .edit::<Household, _>(DocKind::Household, id, self.author, NOW, "edit", move |h| {
                for p in h.members.values_mut().filter(|p| p.name == name) {
                    p.phone = Some(phone.clone());
                }
                Ok(())
            })
            .expect("edit");
    }

    /// The last sequence number handed out.
    fn max_seq(&self) -> i64 {
        let sql = "SELECT coalesce(max(seq), 0)::bigint FROM changes";
        match &self.backend {
            Backend::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("district.sqlite"))
                .and_then(|c| c.query_row(sql.replace("::bigint", "").as_str(), [], |r| r.get(0)))
                .expect("seq"),
            Backend::Postgres(db) => postgres::Client::connect(db.url(), postgres::NoTls)
                .and_then(|mut c| c.query_one(sql, &[]))
                .expect("seq")
                .get(0),
        }
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = (v.as_array().into_iter().flatten())
        .map(|x| x[key].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

fn phones_of(h: &Household, name: &str) -> Option<String> {
    h.members
        .values()
        .find(|p| p.name == name)
        .and_then(|p| p.phone.clone())
}

#[test]
fn reimport_diffs_then_writes_changes_that_reach_the_device_and_keep_its_edits() {
    let mut s = setup();
    let first = s.import(V1, "valid_only");
    assert_eq!(first["imported_households"], 3, "{first:#}");
    s.sync();
    // On the device: one edit synced before the re-import (张伟's phone, which the new
    // ledger leaves as it was; 李娜's, which the ledger changes too), and one made offline
    // while the admin re-imports (王芳's, which the ledger also changes).
    s.set_phone("101", "张伟", "13911110000");
    s.set_phone("101", "李娜", "13944440000");
    s.sync();
    s.set_phone("102", "王芳", "13922220000");

    let seq = s.max_seq();
    let dry = s.import(V2, "dry_run");
    assert_eq!(s.max_seq(), seq, "a dry run writes nothing");
    assert_eq!(dry["plan"]["problems"], serde_json::json!([]), "{dry:#}");
    let diff = &dry["diff"];
    assert_eq!(strings(&diff["new_households"], "address"), ["2栋1单元202"]);
    assert_eq!(
        strings(&diff["gone_households"], "address"),
        ["2栋1单元201"]
    );
    assert_eq!(diff["unchanged_households"], 0);
    let changed = diff["changed_households"].as_array().expect("changed");
    assert_eq!(
        strings(&diff["changed_households"], "address"),
        ["1栋1单元101", "1栋1单元102"]
    );
    let by_address = |a: &str| {
        changed
            .iter()
            .find(|c| c["address"] == a)
            .expect("household")
    };
    let h101 = by_address("1栋1单元101");
    assert_eq!(strings(&h101["new_persons"], "name"), ["张小明"]);
    let persons = h101["changed_persons"].as_array().expect("persons");
    assert_eq!(
        persons.len(),
        1,
        "only 李娜 changed (张伟's phone is the device's, the ledger kept its own): {h101:#}"
    );
    assert_eq!(persons[0]["person"]["name"], "李娜");
    let f = &persons[0]["fields"][0];
    assert_eq!(
        (
            f["path"].as_str().map(|p| p.ends_with(".phone")),
            &f["old"],
            &f["new"],
            &f["conflict"]
        ),
        (
            Some(true),
            &Value::from("139****0000"),
            &Value::from("138****0000"),
            &Value::from(true)
        ),
        "masked, and a conflict: the device changed it since the last import"
    );
    assert_eq!(h101["gone_persons"], serde_json::json!([]));
    let h102 = by_address("1栋1单元102");
    let f = &h102["changed_persons"][0]["fields"][0];
    assert_eq!(
        (&f["old"], &f["new"], &f["conflict"]),
        (
            &Value::from("138****0002"),
            &Value::from("138****0000"),
            &Value::from(false)
        ),
        "the server still has the ledger's value: a plain change"
    );
    assert!(
        !dry.to_string().contains("13855550000"),
        "no unmasked phone in the diff"
    );

    let done = s.import(V2, "valid_only");
    assert_eq!(done["written"]["added"], 1, "{done:#}");
    assert_eq!(done["written"]["updated"], 2);
    assert_eq!(done["written"]["conflicts"], 1);
    s.sync();

    let (_, h101) = s.on_device("101");
    assert_eq!(h101.members.len(), 3, "张小明 added");
    assert_eq!(
        phones_of(&h101, "张伟").as_deref(),
        Some("13911110000"),
        "the device's edit stays"
    );
    let (id102, h102) = s.on_device("102");
    let _ = h102;
    s.on_device("202");
    s.on_device("201"); // gone from the ledger, never deleted
                        // Both concurrent values are kept as conflicts on the device: 李娜 (synced edit vs.
                        // ledger) and 王芳 (offline edit vs. ledger).
    let (id101, _) = s.on_device("101");
    for (id, kept) in [(id101, "13944440000"), (id102, "13922220000")] {
        let doc = s.device.load(id).expect("doc");
        let conflicts = doc.conflicts();
        let values: Vec<String> = conflicts
            .iter()
            .flat_map(|c| {
                c.values
                    .iter()
                    .map(|v| v.value.as_str().unwrap_or("").to_string())
            })
            .collect();
        assert!(values.contains(&kept.to_string()), "{id}: {values:?}");
        assert!(
            values.contains(&"13855550000".to_string())
                || values.contains(&"13833330000".to_string()),
            "{id}: {values:?}"
        );
    }
    // The re-import is in the household's history, by the admin.
    let doc = s.district.load_document(id102).expect("doc");
    let admin = Uuid::parse_str(&s.admin.user_id).expect("uuid");
    assert!(doc
        .history()
        .iter()
        .any(|h| h.author.map(|a| a.user) == Some(admin)
            && h.message
                .as_deref()
                .is_some_and(|m| m.contains("re-import"))));
    // The same ledger again changes nothing.
    let again = s.import(V2, "dry_run");
    assert_eq!(
        again["diff"]["changed_households"],
        serde_json::json!([]),
        "{:#}",
        again["diff"]
    );
    assert_eq!(again["diff"]["new_households"], serde_json::json!([]));
}

#[test]
fn an_id_number_living_in_another_household_holds_that_household_back() {
    let s = setup();
    s.import(V1, "valid_only");
    // 赵强 appears in a new household at 2栋 202 while still living at 201.
    let moved = String::from_utf8_lossy(V1).replace("2栋,1,201", "2栋,1,202");
    let answer = s.import(moved.as_bytes(), "dry_run");
    let problems = answer["plan"]["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["code"], "duplicate_in_district");
    assert_eq!(problems[0]["row"], 5);
    assert!(problems[0]["message_zh"]
        .as_str()
        .unwrap_or("")
        .contains("2栋1单元201"));
    assert_eq!(answer["diff"]["new_households"][0]["valid"], false);
}
