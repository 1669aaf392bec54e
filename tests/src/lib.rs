//! Support for the end-to-end tests: a real server on 127.0.0.1:0, devices with their own
//! stores talking HTTP to it.

use gridwalk_client::{enroll, HttpTransport};
use gridwalk_core::model::{
    Address, Household, HouseholdType, HousingUse, Person, PersonStatus, PopulationType, Relation,
    Sex,
};
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_store::client::{SyncOptions, SyncReport};
use gridwalk_store::{Result, Store};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use uuid::Uuid;

pub mod backend;
pub use backend::{child_config, Backend, TestDistrict};

pub const NOW: i64 = 1_790_000_000_000;

/// A server in this process, on its own runtime, on a [`TestDistrict`] (SQLite, or
/// PostgreSQL when `GRIDWALK_TEST_DATABASE` is set).
pub struct TestServer {
    pub server: Option<gridwalk_server::RunningServer>,
    pub rt: tokio::runtime::Runtime,
    pub url: String,
    /// Dropped after the runtime (and the server's pool with it).
    pub district: TestDistrict,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(|_, _| {})
    }

    /// A server whose state `f` may change first (a small blob quota, …).
    pub fn start_with(f: impl FnOnce(&mut gridwalk_server::AppState, &TestDistrict)) -> TestServer {
        let district = TestDistrict::open();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut state = district.state(district.config());
        f(&mut state, &district);
        let server = rt
            .block_on(gridwalk_server::spawn_with_state(state))
            .expect("server");
        let url = server.url();
        TestServer {
            server: Some(server),
            rt,
            url,
            district,
        }
    }

    /// A worker user scoped to `grids`, and a device enrolled over HTTP.
    pub fn device(&self, name: &str, grids: &[&str]) -> Device {
        let user_id = self.district.worker(name, grids);
        Device::enroll(&self.district, &self.url, &user_id, name)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

pub struct Device {
    pub store: Store,
    pub author: Author,
    pub dir: tempfile::TempDir,
}

impl Device {
    pub fn enroll(district: &TestDistrict, url: &str, user_id: &str, name: &str) -> Device {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path().join("device.sqlite")).expect("store");
        let code = district.enrollment_code(user_id);
        let e = enroll(&mut store, url, &code, name).expect("enroll over HTTP");
        let author = Author::new(
            e.user_id.parse().expect("uuid"),
            e.device_id.parse().expect("uuid"),
        );
        Device { store, author, dir }
    }

    pub fn sync_with(&mut self, options: &SyncOptions) -> Result<SyncReport> {
        let mut t = HttpTransport::from_store(&self.store)?;
        t.backoff = std::time::Duration::from_millis(50);
        self.store
            .sync(&mut t, options, NOW, &mut |_| {}, &AtomicBool::new(false))
    }

    pub fn sync(&mut self) -> SyncReport {
        self.sync_with(&SyncOptions::default()).expect("sync")
    }

    pub fn edit(&mut self, i: usize, f: impl FnOnce(&mut Household)) {
        self.store
            .edit::<Household, _>(DocKind::Household, hid(i), self.author, NOW, "edit", |h| {
                f(h);
                Ok(())
            })
            .expect("edit");
    }

    pub fn heads(&self, i: usize) -> Vec<String> {
        sorted_heads(&self.store.load(hid(i)).expect("doc"))
    }
}

pub fn sorted_heads(doc: &gridwalk_core::Document) -> Vec<String> {
    let mut h: Vec<String> = doc.heads().iter().map(|h| h.to_string()).collect();
    h.sort();
    h
}

pub fn hid(i: usize) -> DocId {
    DocId(Uuid::from_u128(0x1000 + i as u128))
}

pub fn household(i: usize, grid: &str) -> Household {
    let id = hid(i).to_string();
    let pid = Uuid::from_u128(0x9000 + i as u128).to_string();
    let mut members = BTreeMap::new();
    members.insert(
        pid.clone(),
        Person {
            id: pid.clone(),
            name: format!("李四{i}"),
            sex: Sex::Female,
            birth_date: Some("1960-07-01".into()),
            id_number: None,
            phone: Some("13912345678".into()),
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
            building_no: "00001".into(),
            building_name: "1栋".into(),
            unit: "2".into(),
            floor: 1 + (i as i64 % 18),
            room: format!("{}", 100 + i),
        },
        housing_use: HousingUse::SelfOccupied,
        household_type: HouseholdType::Registered,
        head_person_id: Some(pid),
        phone: None,
        members,
        notes: String::new(),
        gps: None,
        created_at: NOW - 1000,
    }
}
