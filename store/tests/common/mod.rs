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
use gridwalk_store::client::Transport;
use gridwalk_store::district::{handle_sync, DistrictStore, NewUser, SqliteDistrict};
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

pub fn enroll(district: &SqliteDistrict, name: &str, grids: &[&str]) -> Device {
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
    let enrolled = district.enroll(&code, name, NOW).expect("enroll");
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

/// Talks to the district in-process, through the real codec and request handler.
pub struct Direct {
    pub district: Arc<SqliteDistrict>,
    pub token: String,
    pub requests: usize,
    pub bytes_up: usize,
    pub bytes_down: usize,
    /// Drop the response of the request with this number (1-based) after the server
    /// has committed it, as a lost connection would.
    pub drop_response_of: Option<usize>,
}

impl Direct {
    pub fn new(district: &Arc<SqliteDistrict>, token: &str) -> Direct {
        Direct {
            district: district.clone(),
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
