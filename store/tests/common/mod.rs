//! Shared test fixtures: small valid documents.
#![allow(dead_code)]

use gridwalk_core::model::{
    Address, Household, HouseholdType, HousingUse, Person, PersonStatus, PopulationType, Relation,
    Sex,
};
use std::collections::BTreeMap;
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
