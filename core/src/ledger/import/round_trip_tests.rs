//! Export → import: demo households written as the export writes them (canonical headers,
//! enums in Chinese, care tags joined with 、, household UUIDs) come back the same.

use super::*;
use crate::demo::{generate, DemoParams};
use crate::ledger::cell::Cell;
use crate::ledger::LEDGER_COLUMNS;
use crate::model::*;

fn zh_household_type(t: &HouseholdType) -> &'static str {
    match t {
        HouseholdType::Registered => "户籍",
        HouseholdType::Migrant => "流动",
        HouseholdType::RegisteredAbsent => "空挂",
    }
}

fn zh_housing_use(u: &HousingUse) -> &'static str {
    match u {
        HousingUse::SelfOccupied => "自住",
        HousingUse::Rented => "出租",
        HousingUse::Vacant => "空置",
        HousingUse::Other => "其他",
    }
}

fn zh_relation(r: &Relation) -> &'static str {
    match r {
        Relation::Head => "户主",
        Relation::Spouse => "配偶",
        Relation::Child => "子女",
        Relation::Parent => "父母",
        Relation::Grandchild => "孙辈",
        Relation::Sibling => "兄弟姐妹",
        Relation::Tenant => "租户",
        Relation::Other => "其他",
        Relation::Son => "子",
        Relation::Daughter => "女",
        Relation::DaughterInLaw => "儿媳",
        Relation::SonInLaw => "女婿",
        Relation::ParentInLaw => "公婆/岳父母",
        Relation::Grandparent => "祖父母",
        Relation::Nanny => "保姆",
    }
}

fn zh_population(p: &PopulationType) -> &'static str {
    match p {
        PopulationType::Registered => "户籍人口",
        PopulationType::Migrant => "流动人口",
        PopulationType::Foreign => "境外人员",
    }
}

fn zh_status(s: &PersonStatus) -> &'static str {
    match s {
        PersonStatus::Living => "在住",
        PersonStatus::MovedOut => "迁出",
        PersonStatus::Deceased => "死亡",
    }
}

/// One row as the export documents it.
fn export_row(tree: &AreaTree, h: &Household, p: &Person) -> Vec<Cell> {
    let community = tree
        .community(&h.address.community_code)
        .map_or(String::new(), |c| c.name.clone());
    let grid = tree
        .grid(&h.grid_id)
        .map_or(String::new(), |g| g.name.clone());
    let tags: Vec<&str> = (CARE_TAGS.iter())
        .filter(|(code, _, _)| p.tags.get(*code) == Some(&true))
        .map(|(_, zh, _)| *zh)
        .collect();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    LEDGER_COLUMNS
        .iter()
        .map(|c| {
            let text = match c {
                LedgerColumn::HouseholdId => h.id.clone(),
                LedgerColumn::Community => community.clone(),
                LedgerColumn::Grid => grid.clone(),
                LedgerColumn::Estate | LedgerColumn::FullAddress => String::new(),
                LedgerColumn::Building => h.address.building_name.clone(),
                LedgerColumn::Unit => h.address.unit.clone(),
                LedgerColumn::Floor => h.address.floor.to_string(),
                LedgerColumn::Room => h.address.room.clone(),
                LedgerColumn::HouseholdType => zh_household_type(&h.household_type).into(),
                LedgerColumn::HousingUse => zh_housing_use(&h.housing_use).into(),
                LedgerColumn::HouseholdPhone => opt(&h.phone),
                LedgerColumn::HouseholdNotes => h.notes.clone(),
                LedgerColumn::Name => p.name.clone(),
                LedgerColumn::Sex => if p.sex == Sex::Male { "男" } else { "女" }.into(),
                LedgerColumn::BirthDate => opt(&p.birth_date),
                LedgerColumn::IdNumber => opt(&p.id_number),
                LedgerColumn::Phone => opt(&p.phone),
                LedgerColumn::Relation => zh_relation(&p.relation).into(),
                LedgerColumn::PopulationType => zh_population(&p.population_type).into(),
                LedgerColumn::Status => zh_status(&p.status).into(),
                LedgerColumn::CareTags => tags.join("、"),
                LedgerColumn::DisabilityCert => opt(&p.disability_cert),
                LedgerColumn::Notes => p.notes.clone(),
                LedgerColumn::Longitude => h.gps.map_or(String::new(), |g| g.lon.to_string()),
                LedgerColumn::Latitude => h.gps.map_or(String::new(), |g| g.lat.to_string()),
            };
            if text.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(text)
            }
        })
        .collect()
}

/// What survives an export: no person ids, no restricted tags, no creation time.
fn comparable(h: &Household) -> (String, String, Address, String, Vec<Person>) {
    let mut members: Vec<Person> = h
        .members
        .values()
        .map(|p| Person {
            id: String::new(),
            restricted_tags: Default::default(),
            // An export writes 子女; the import reads it as 子 or 女 by the person's sex.
            relation: match (&p.relation, &p.sex) {
                (Relation::Child, Sex::Male) => Relation::Son,
                (Relation::Child, Sex::Female) => Relation::Daughter,
                (r, _) => r.clone(),
            },
            ..p.clone()
        })
        .collect();
    members.sort_by(|a, b| (&a.name, &a.id_number).cmp(&(&b.name, &b.id_number)));
    let head = h.head().map_or(String::new(), |p| p.name.clone());
    let rest = format!(
        "{:?}{:?}{:?}{}{:?}",
        h.housing_use, h.household_type, h.phone, h.notes, h.gps
    );
    (
        h.id.clone(),
        h.grid_id.clone(),
        h.address.clone(),
        head + &rest,
        members,
    )
}

#[test]
fn demo_households_round_trip_through_the_export_format() {
    let district = generate(&DemoParams {
        seed: 11,
        households: 120,
        visits_per_household: 0.0,
        issues_per_household: 0.0,
        ..DemoParams::default()
    });
    let mut rows = vec![LEDGER_COLUMNS
        .iter()
        .map(|c| Cell::Text(c.zh().into()))
        .collect::<Vec<_>>()];
    for h in &district.households {
        rows.extend(h.members.values().map(|p| export_row(&district.area, h, p)));
    }
    let table = Table {
        sheet: "台账".into(),
        rows,
    };
    let today = NaiveDate::from_ymd_opt(2025, 6, 2).unwrap_or_default();
    let existing = HashSet::new();
    let ctx = ImportContext {
        tree: &district.area,
        existing_id_numbers: &existing,
        today,
        now_ms: 1_748_829_600_000,
        mapping: None,
    };
    let plan = plan_import(&table, &ctx);
    assert_eq!(plan.problems, vec![]);
    assert_eq!(plan.rows_valid, plan.rows_total);
    assert_eq!(plan.households.len(), district.households.len());
    for (planned, original) in plan.households.iter().zip(&district.households) {
        assert!(planned.valid);
        assert_eq!(comparable(&planned.household), comparable(original));
    }
}
