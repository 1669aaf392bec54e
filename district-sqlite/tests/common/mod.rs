//! Shared test fixtures: small valid documents and an in-process transport.
#![allow(dead_code)]

use gridwalk_core::model::{
    Address, Household, HouseholdType, HousingUse, Person, PersonStatus, PopulationType, Relation,
    Sex,
};
use gridwalk_core::sync::{
    decode_request, decode_response, encode, encode_response, SyncRequest, SyncResponse,
};
use gridwalk_core::Author;
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_postgres::{PgBlobs, PgDistrict};
use gridwalk_district_sqlite::blobs::{BlobStore, PhotoRefs, SqliteBlobs};
use gridwalk_district_sqlite::{
    handle_sync, ConsoleBackend, DistrictStore, NewUser, SqliteDistrict,
};
use gridwalk_store::client::Transport;
use gridwalk_store::{Result, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

pub const NOW: i64 = 1_790_000_000_000;

pub fn household(i: usize, grid: &str) -> Household {
    let id = Uuid::from_u128(0x1000 + i as u128).to_string();
    let pid = Uuid::from_u128(0x9000 + i as u128).to_string();
    let mut members = BTreeMap::new();
    members.insert(
        pid.clone(),
        Person {
            id: pid.clone(),
            name: format!("张三丰{i}"),
            sex: Sex::Male,
            birth_date: Some("1950-03-02".into()),
            id_number: None,
            phone: Some("13812345678".into()),
            relation: Relation::Head,
            population_type: PopulationType::Registered,
            status: PersonStatus::Living,
            tags: BTreeMap::new(),
            restricted_tags: BTreeMap::new(),
            disability_cert: None,
            notes: String::new(),
        },
    );
    Household {
        id,
        grid_id: grid.into(),
        address: Address {
            community_code: "430203001001".into(),
            building_no: "00003".into(),
            building_name: "3栋".into(),
            unit: "1".into(),
            floor: 1 + (i as i64 / 4),
            room: format!("{}", 101 + i),
        },
        housing_use: HousingUse::SelfOccupied,
        household_type: HouseholdType::Registered,
        head_person_id: Some(pid),
        phone: None,
        members,
        notes: String::new(),
        gps: None,
        created_at: NOW - 86_400_000,
    }
}

/// A device: its local store and its author, enrolled in the district for `grids`.
pub struct Device {
    pub store: Store,
    pub author: Author,
    pub token: String,
}

pub fn enroll(district: &impl Admin, name: &str, grids: &[&str]) -> Device {
    let user_id = district
        .create_user(
            &NewUser {
                username: name.into(),
                display_name: name.into(),
                role: "worker".into(),
                grids: grids.iter().map(|g| g.to_string()).collect(),
            },
            NOW,
        )
        .expect("user");
    let code = district
        .create_enrollment(&user_id, 3_600_000, NOW)
        .expect("code");
    let enrolled = district.enroll_device(&code, name).expect("enroll");
    let mut store = Store::open_in_memory().expect("store");
    store
        .set_device_identity(&enrolled.user_id, &enrolled.device_id, &enrolled.grids)
        .expect("identity");
    let author = Author::new(
        Uuid::parse_str(&enrolled.user_id).expect("uuid"),
        Uuid::parse_str(&enrolled.device_id).expect("uuid"),
    );
    Device {
        store,
        author,
        token: enrolled.token,
    }
}

/// One whole sync of `dev` with `district`, in process (panics if it fails).
pub fn sync_in_process(dev: &mut Device, district: Arc<dyn DistrictStore>) {
    let mut t = Direct::on(district, &dev.token);
    dev.store
        .sync(
            &mut t,
            &gridwalk_store::client::SyncOptions::default(),
            NOW,
            &mut |_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .expect("sync");
}

/// Talks to the district in-process, through the real codec and request handler.
pub struct Direct {
    pub district: Arc<dyn DistrictStore>,
    pub token: String,
    pub requests: usize,
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// Drop the response of the request with this number (1-based) after the server
    /// has committed it, as a lost connection would.
    pub drop_response_of: Option<usize>,
}

impl Direct {
    pub fn new<D: DistrictStore + 'static>(district: &Arc<D>, token: &str) -> Direct {
        Direct::on(district.clone(), token)
    }

    /// Through a given store instance (a second server's, see [`District::second_instance`]).
    pub fn on(district: Arc<dyn DistrictStore>, token: &str) -> Direct {
        Direct {
            district,
            token: token.into(),
            requests: 0,
            bytes_up: 0,
            bytes_down: 0,
            drop_response_of: None,
        }
    }
}

impl Transport for Direct {
    fn exchange(&mut self, request: &SyncRequest) -> Result<SyncResponse> {
        self.requests += 1;
        let body = encode(request);
        self.bytes_up += body.len();
        let device = self.district.authenticate(&self.token, NOW)?;
        let decoded: SyncRequest = decode_request(&body, 64 << 20).expect("decodes");
        let (response, handled) = handle_sync(self.district.as_ref(), &device, &decoded, NOW)?;
        let out = encode_response(&response, decoded.protocol);
        self.bytes_down += out.len();
        self.district.record_sync(&handled.into_log(
            &device,
            NOW,
            0,
            body.len() as i64,
            out.len() as i64,
        ))?;
        if self.drop_response_of == Some(self.requests) {
            return Err(gridwalk_store::StoreError::Transport {
                retryable: true,
                message: "connection reset (test)".into(),
            });
        }
        Ok(decode_response(&out, 64 << 20).expect("decodes"))
    }
}

/// The district store a test runs against: SQLite in a temporary directory, or, when
/// `GRIDWALK_TEST_DATABASE` names a PostgreSQL server, a fresh database on it that is
/// dropped at the end. One behaviour suite, two backends.
pub enum District {
    Sqlite {
        d: SqliteDistrict,
        _dir: tempfile::TempDir,
    },
    Postgres {
        d: PgDistrict,
        // Boxed: the driver's connection settings are large.
        db: Box<TestDatabase>,
    },
}

/// What the tests need beyond the sync trait: users and enrollment codes.
pub trait Admin {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String>;
    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String>;
    fn enroll_device(&self, code: &str, name: &str) -> Result<gridwalk_district_sqlite::Enrolled>;
}

impl<T: Admin> Admin for Arc<T> {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String> {
        self.as_ref().create_user(user, now_ms)
    }
    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        self.as_ref().create_enrollment(user_id, ttl_ms, now_ms)
    }
    fn enroll_device(&self, code: &str, name: &str) -> Result<gridwalk_district_sqlite::Enrolled> {
        self.as_ref().enroll_device(code, name)
    }
}

impl Admin for SqliteDistrict {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String> {
        SqliteDistrict::create_user(self, user, now_ms)
    }
    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        SqliteDistrict::create_enrollment(self, user_id, ttl_ms, now_ms)
    }
    fn enroll_device(&self, code: &str, name: &str) -> Result<gridwalk_district_sqlite::Enrolled> {
        self.enroll(code, name, NOW)
    }
}

impl Admin for District {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String> {
        District::create_user(self, user, now_ms)
    }
    fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        District::create_enrollment(self, user_id, ttl_ms, now_ms)
    }
    fn enroll_device(&self, code: &str, name: &str) -> Result<gridwalk_district_sqlite::Enrolled> {
        self.enroll(code, name, NOW)
    }
}

impl District {
    pub fn open() -> District {
        match TestDatabase::from_env("pg_test").expect("test database") {
            Some(db) => District::Postgres {
                d: PgDistrict::open(db.url(), 8).expect("open PostgreSQL district"),
                db: Box::new(db),
            },
            None => {
                let dir = tempfile::tempdir().expect("tempdir");
                District::Sqlite {
                    d: SqliteDistrict::open(dir.path()).expect("district"),
                    _dir: dir,
                }
            }
        }
    }

    /// Which photos the documents reference, on this backend.
    pub fn refs(&self) -> &dyn PhotoRefs {
        match self {
            District::Sqlite { d, .. } => d,
            District::Postgres { d, .. } => d,
        }
    }

    /// This backend's blob store: `blobs.sqlite` beside the district, or the database.
    pub fn blobs(&self, quota: u64) -> Box<dyn BlobStore> {
        match self {
            District::Sqlite { d, .. } => Box::new(SqliteBlobs::beside(d.path(), quota)),
            District::Postgres { d, .. } => Box::new(PgBlobs::new(d, quota)),
        }
    }

    /// The test database's URL when the backend is PostgreSQL.
    pub fn postgres_url(&self) -> Option<&str> {
        match self {
            District::Postgres { db, .. } => Some(db.url()),
            District::Sqlite { .. } => None,
        }
    }

    /// Another store instance on the same data: on PostgreSQL a second pool (as a second
    /// server process has); on SQLite the one writer is per process, so itself.
    pub fn second_instance(self: &Arc<Self>) -> Arc<dyn DistrictStore> {
        match self.as_ref() {
            District::Sqlite { .. } => self.clone(),
            District::Postgres { db, .. } => {
                Arc::new(PgDistrict::open(db.url(), 8).expect("second instance"))
            }
        }
    }

    /// The console's half of the store (sessions, lockouts, rate limits, audit).
    pub fn console(&self) -> &dyn ConsoleBackend {
        match self {
            District::Sqlite { d, .. } => d,
            District::Postgres { d, .. } => d,
        }
    }

    /// Run `f` on another instance's console (PostgreSQL: a second pool, as a second
    /// server process has; SQLite: the same store).
    pub fn with_second_console<R>(&self, f: impl FnOnce(&dyn ConsoleBackend) -> R) -> R {
        match self {
            District::Sqlite { d, .. } => f(d),
            District::Postgres { db, .. } => {
                f(&PgDistrict::open(db.url(), 4).expect("second instance"))
            }
        }
    }

    /// Rows in `table` (a plain identifier).
    pub fn count_rows(&self, table: &str) -> i64 {
        self.count_where(table, "true")
    }

    /// The rows of `table` where `condition` (SQL both backends read alike) holds.
    pub fn count_where(&self, table: &str, condition: &str) -> i64 {
        assert!(table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let sql = format!("SELECT count(*) FROM {table} WHERE {condition}");
        match self {
            District::Sqlite { d, .. } => d
                .with_reader(|c| Ok(c.query_row(&sql, [], |r| r.get(0))?))
                .expect("count"),
            District::Postgres { db, .. } => {
                let mut c = postgres::Client::connect(db.url(), postgres::NoTls).expect("connect");
                c.query_one(&sql, &[]).expect("count").get(0)
            }
        }
    }

    /// Run one SQL statement directly on the database, bypassing the store (to check
    /// what the schema itself refuses).
    pub fn execute_raw(&self, sql: &str) -> std::result::Result<u64, String> {
        match self {
            District::Sqlite { d, .. } => d
                .with_writer(|s| Ok(s.conn.execute(sql, [])? as u64))
                .map_err(|e| e.to_string()),
            District::Postgres { db, .. } => {
                let mut c = postgres::Client::connect(db.url(), postgres::NoTls).expect("connect");
                c.execute(sql, &[]).map_err(|e| {
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string())
                })
            }
        }
    }

    fn store(&self) -> &dyn DistrictStore {
        match self {
            District::Sqlite { d, .. } => d,
            District::Postgres { d, .. } => d,
        }
    }

    pub fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<String> {
        match self {
            District::Sqlite { d, .. } => d.create_user(user, now_ms),
            District::Postgres { d, .. } => d.create_user(user, now_ms),
        }
    }

    pub fn create_enrollment(&self, user_id: &str, ttl_ms: i64, now_ms: i64) -> Result<String> {
        match self {
            District::Sqlite { d, .. } => d.create_enrollment(user_id, ttl_ms, now_ms),
            District::Postgres { d, .. } => d.create_enrollment(user_id, ttl_ms, now_ms),
        }
    }

    /// Revoke devices that never synced a week after enrolling; how many.
    pub fn expire_orphan_devices(&self, now_ms: i64) -> Result<usize> {
        match self {
            District::Sqlite { d, .. } => d.expire_orphan_devices(now_ms),
            District::Postgres { d, .. } => d.expire_orphan_devices(now_ms),
        }
    }

    pub fn revoke_device(&self, device_id: &str, now_ms: i64) -> Result<bool> {
        match self {
            District::Sqlite { d, .. } => d.revoke_device(device_id, now_ms),
            District::Postgres { d, .. } => d.revoke_device(device_id, now_ms),
        }
    }

    /// Replace a user's grids (an admin moved the worker), as the console's user form
    /// writes them.
    pub fn set_user_grids(&self, user_id: &str, grids: &[&str]) -> Result<()> {
        let grids: Vec<String> = grids.iter().map(|g| g.to_string()).collect();
        match self {
            District::Sqlite { d, .. } => d.with_writer(|s| {
                let tx = s.conn.transaction()?;
                tx.execute("DELETE FROM user_grids WHERE user_id = ?1", [user_id])?;
                for g in &grids {
                    tx.execute(
                        "INSERT INTO user_grids (user_id, grid_id) VALUES (?1, ?2)",
                        [user_id, g],
                    )?;
                }
                tx.commit()?;
                Ok(())
            }),
            District::Postgres { d, .. } => d.set_user_grids(user_id, &grids),
        }
    }

    pub fn load_document(&self, id: gridwalk_core::DocId) -> Result<gridwalk_core::Document> {
        match self {
            District::Sqlite { d, .. } => d.load_document(id),
            District::Postgres { d, .. } => d.load_document(id),
        }
    }

    /// How many changes the district holds.
    pub fn count_changes(&self) -> i64 {
        self.dump_counts().0
    }

    /// Every change hash and the highest sequence number, every document's heads, the
    /// projected households, visits and issues, the households' key-person tags: for
    /// "nothing changed" checks.
    pub fn dump(&self) -> String {
        self.dump_counts().1
    }

    fn dump_counts(&self) -> (i64, String) {
        match self {
            District::Sqlite { d, .. } => d
                .with_reader(|c| {
                    Ok(c.query_row(
                        "SELECT (SELECT count(*) FROM changes),
                                (SELECT count(*) || coalesce(group_concat(hash), '') || '/' ||
                                        coalesce(max(seq), 0) FROM changes) || '/' ||
                                (SELECT count(*) || coalesce(group_concat(doc_id || heads), '') FROM docs) ||
                                '/' || (SELECT count(*) FROM households) || '/' ||
                                (SELECT count(*) FROM visits) || '/' ||
                                (SELECT count(*) FROM issues) || '/' ||
                                (SELECT coalesce(group_concat(restricted), '') FROM
                                    (SELECT restricted FROM households ORDER BY doc_id))",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?)
                })
                .expect("dump"),
            District::Postgres { d, .. } => d.dump_for_tests().expect("dump"),
        }
    }
}

impl DistrictStore for District {
    fn authenticate(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<gridwalk_district_sqlite::DeviceAuth> {
        self.store().authenticate(token, now_ms)
    }
    fn enroll(
        &self,
        code: &str,
        name: &str,
        now_ms: i64,
    ) -> Result<gridwalk_district_sqlite::Enrolled> {
        self.store().enroll(code, name, now_ms)
    }
    fn push(
        &self,
        device: &gridwalk_district_sqlite::DeviceAuth,
        docs: &[gridwalk_core::sync::DocChanges],
        now_ms: i64,
    ) -> Result<gridwalk_district_sqlite::PushOutcomeReport> {
        self.store().push(device, docs, now_ms)
    }
    fn enroll_with_key(
        &self,
        code: &str,
        name: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<gridwalk_district_sqlite::Enrolled> {
        self.store().enroll_with_key(code, name, key, now_ms)
    }
    fn push_logged(
        &self,
        device: &gridwalk_district_sqlite::DeviceAuth,
        docs: &[gridwalk_core::sync::DocChanges],
        now_ms: i64,
        log: &gridwalk_district_sqlite::SyncLogEntry,
    ) -> Result<(gridwalk_district_sqlite::PushOutcomeReport, i64)> {
        self.store().push_logged(device, docs, now_ms, log)
    }
    fn finish_sync_log(
        &self,
        id: i64,
        entry: &gridwalk_district_sqlite::SyncLogEntry,
    ) -> Result<()> {
        self.store().finish_sync_log(id, entry)
    }
    fn pull(
        &self,
        device: &gridwalk_district_sqlite::DeviceAuth,
        cursors: &[gridwalk_core::sync::GridCursor],
        max_bytes: usize,
    ) -> Result<gridwalk_district_sqlite::PullOutcome> {
        self.store().pull(device, cursors, max_bytes)
    }
    fn digests(
        &self,
        device: &gridwalk_district_sqlite::DeviceAuth,
        grids: &[String],
    ) -> Result<Vec<gridwalk_core::sync::GridDigest>> {
        self.store().digests(device, grids)
    }
    fn compare(
        &self,
        device: &gridwalk_district_sqlite::DeviceAuth,
        grids: &[gridwalk_core::sync::GridCompare],
    ) -> Result<(
        Vec<gridwalk_core::sync::PulledDoc>,
        Vec<gridwalk_core::sync::DocHeads>,
    )> {
        self.store().compare(device, grids)
    }
    fn handover(
        &self,
        device: &gridwalk_district_sqlite::DeviceAuth,
        docs: &[gridwalk_core::sync::DocChanges],
        now_ms: i64,
    ) -> Result<Vec<gridwalk_core::sync::PushResult>> {
        self.store().handover(device, docs, now_ms)
    }
    fn record_sync(&self, entry: &gridwalk_district_sqlite::SyncLogEntry) -> Result<()> {
        self.store().record_sync(entry)
    }
    fn ping(&self) -> Result<()> {
        self.store().ping()
    }
    fn area_tree(&self) -> Result<Option<gridwalk_core::area::AreaTree>> {
        self.store().area_tree()
    }
    fn sync_logs(
        &self,
        query: &gridwalk_district_sqlite::SyncLogQuery,
    ) -> Result<Vec<gridwalk_district_sqlite::SyncLogEntry>> {
        self.store().sync_logs(query)
    }
}
