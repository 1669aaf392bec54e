//! The household ledger export above the SQL: one row per person in household order,
//! masked unless an admin states why not. The scope, the filters' meaning and the PII
//! rule are decided here once; a backend ([`ExportStore::ledger_records`]) only streams
//! the projection rows a [`LedgerSelection`] names, in order, one at a time (constant
//! memory). Writing a file with its audit entry: [`file`].

#[cfg(feature = "ledger-files")]
pub mod file;

use crate::console::{ConsoleScope, ConsoleStore};
use crate::{Result, StoreError};
use gridwalk_core::area::AreaTree;
use gridwalk_core::ledger::row::{
    care_tag_zh, care_tags_zh, household_type_zh, housing_use_zh, population_type_zh, relation_zh,
    sex_zh, status_zh,
};
use gridwalk_core::ledger::{LedgerColumn as C, LedgerRow};
use gridwalk_core::model::{HouseholdType, CARE_TAGS};
use gridwalk_core::privacy::{
    mask_birth_date, mask_certificate, mask_free_text, mask_id_number, mask_phone,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Shortest reason an admin must give for a full-PII export.
pub const MIN_REASON_CHARS: usize = 4;

/// Which households and persons an export holds (within the caller's scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportFilter {
    /// Street or community codes (12 digits); a street means all its communities.
    pub area_codes: Vec<String>,
    /// Grid ids.
    pub grids: Vec<String>,
    /// Households with any of these care tags (codes such as `elderly_alone`, or labels
    /// such as 独居老人).
    pub care_tags: Vec<String>,
    /// Household types: `Registered` / `Migrant` / `RegisteredAbsent`, or 户籍 / 流动 / 空挂.
    pub household_types: Vec<String>,
    /// Households visited at or after this time (ms since the epoch).
    pub visited_since: Option<i64>,
    /// Also persons who moved out or died (their status column says so). Default: yes.
    pub include_departed: bool,
}

impl Default for ExportFilter {
    fn default() -> Self {
        ExportFilter {
            area_codes: vec![],
            grids: vec![],
            care_tags: vec![],
            household_types: vec![],
            visited_since: None,
            include_departed: true,
        }
    }
}

/// Whether ID numbers, phones and notes go out masked (the default) or in full.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum PiiMode {
    #[default]
    Masked,
    /// Full values: an admin only, with the reason recorded in the audit log.
    Full { reason: String },
}

impl PiiMode {
    pub fn is_masked(&self) -> bool {
        matches!(self, PiiMode::Masked)
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            PiiMode::Masked => None,
            PiiMode::Full { reason } => Some(reason.as_str()),
        }
    }
}

/// What a backend selects, SQL-free: households in `grids` (`None`: every grid), in
/// `communities` if given, with any of `care_tags` (codes) among their `tags`, of one of
/// `household_types`, visited at or after `visited_since`; each with its persons (living
/// only unless `include_departed`), or one row without a person when none is selected.
/// Order: grid, building number, unit, floor, room, household id; within a household the
/// head first, then by birth date, name and person id (independent of person ids, so an
/// export imported elsewhere exports again in the same order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerSelection {
    pub grids: Option<Vec<String>>,
    pub communities: Option<Vec<String>>,
    pub care_tags: Vec<&'static str>,
    pub household_types: Vec<String>,
    pub visited_since: Option<i64>,
    pub include_departed: bool,
}

/// One projection row of the export as stored: the household's columns and, when it has
/// a selected person, theirs. Restricted key-person tags are not part of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerRecord {
    pub household_id: String,
    pub grid_id: String,
    pub community_code: String,
    pub building_name: String,
    pub unit: String,
    pub floor: i64,
    pub room: String,
    pub household_type: String,
    pub housing_use: String,
    pub household_phone: Option<String>,
    pub household_notes: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// `None`: the household has no selected person.
    pub name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: Option<String>,
    pub population_type: Option<String>,
    pub status: Option<String>,
    pub tags: Option<String>,
    pub disability_cert: Option<String>,
    pub notes: Option<String>,
}

/// The export on a backend: it streams the rows, the rest is here.
pub trait ExportStore: ConsoleStore {
    /// Stream the rows `selection` names into `sink` in its order, from one read snapshot,
    /// never holding more than a bounded batch. Returns the number of rows.
    fn ledger_records(
        &self,
        selection: &LedgerSelection,
        sink: &mut dyn FnMut(&LedgerRecord) -> Result<()>,
    ) -> Result<u64>;

    /// Refuse a full-PII export unless the user is an admin (as stored, not only as the
    /// scope claims) and gave a reason of at least [`MIN_REASON_CHARS`] characters.
    fn check_pii_mode(&self, scope: &ConsoleScope, pii: &PiiMode) -> Result<()> {
        let PiiMode::Full { reason } = pii else {
            return Ok(());
        };
        let stored_role = self.scope_rows(&scope.user_id)?.map(|r| r.role);
        if !scope.is_admin() || stored_role.as_deref() != Some("admin") {
            return Err(StoreError::Unauthorized(
                "only an admin may export full ID numbers and phone numbers; \
                 exports for other roles are masked"
                    .into(),
            ));
        }
        if reason.trim().chars().count() < MIN_REASON_CHARS {
            return Err(StoreError::BadRequest(format!(
                "a full-PII export needs a reason of at least {MIN_REASON_CHARS} characters \
                 saying why the unmasked data is needed (it is kept in the audit log)"
            )));
        }
        Ok(())
    }

    /// Stream the ledger rows `filter` selects within `scope` into `sink`, one read
    /// snapshot, in household order (a household's rows are consecutive, its head first).
    /// Returns the number of rows. A household without (selected) members gives one row
    /// without person fields, so that no household silently drops out of the ledger.
    fn export_ledger(
        &self,
        filter: &ExportFilter,
        scope: &ConsoleScope,
        pii: PiiMode,
        sink: &mut dyn FnMut(&LedgerRow) -> Result<()>,
    ) -> Result<u64> {
        self.check_pii_mode(scope, &pii)?;
        let tree = self.area_tree()?.unwrap_or_default();
        let names = AreaNames::of(&tree);
        let selection = selection(filter, scope, &tree)?;
        let masked = pii.is_masked();
        let mut row = LedgerRow::empty();
        self.ledger_records(&selection, &mut |r| {
            fill_row(&mut row, r, &names, masked);
            sink(&row)
        })
    }
}

/// Community and grid names for the rows (codes and ids where the tree lacks them).
struct AreaNames {
    communities: HashMap<String, String>,
    grids: HashMap<String, String>,
}

impl AreaNames {
    fn of(tree: &AreaTree) -> AreaNames {
        AreaNames {
            communities: tree
                .communities
                .iter()
                .map(|c| (c.code.clone(), c.name.clone()))
                .collect(),
            grids: tree
                .grids
                .iter()
                .map(|g| (g.id.clone(), g.name.clone()))
                .collect(),
        }
    }
}

/// What `filter` selects within `scope`, checked against the area tree.
pub fn selection(
    filter: &ExportFilter,
    scope: &ConsoleScope,
    tree: &AreaTree,
) -> Result<LedgerSelection> {
    let wanted = (!filter.grids.is_empty()).then(|| filter.grids.clone());
    let communities = if filter.area_codes.is_empty() {
        None
    } else {
        Some(communities_of(tree, &filter.area_codes)?)
    };
    Ok(LedgerSelection {
        grids: scope.narrow(wanted),
        communities,
        care_tags: filter
            .care_tags
            .iter()
            .map(|t| care_tag_code(t))
            .collect::<Result<_>>()?,
        household_types: filter
            .household_types
            .iter()
            .map(|t| household_type_code(t))
            .collect::<Result<_>>()?,
        visited_since: filter.visited_since,
        include_departed: filter.include_departed,
    })
}

/// The community codes of street and community codes.
fn communities_of(tree: &AreaTree, codes: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for code in codes {
        let code = code.trim();
        if tree.community(code).is_some() {
            out.push(code.to_string());
        } else if tree.street(code).is_some() {
            out.extend(
                tree.communities
                    .iter()
                    .filter(|c| c.street_code == code)
                    .map(|c| c.code.clone()),
            );
        } else {
            return Err(StoreError::BadRequest(format!(
                "{code:?} is neither a street nor a community code of this district"
            )));
        }
    }
    Ok(out)
}

fn care_tag_code(tag: &str) -> Result<&'static str> {
    let tag = tag.trim();
    CARE_TAGS
        .iter()
        .find(|(code, zh, _)| *code == tag || *zh == tag)
        .map(|(code, _, _)| *code)
        .ok_or_else(|| {
            StoreError::BadRequest(format!(
                "{tag:?} is not a care tag; use one of: {}",
                CARE_TAGS
                    .iter()
                    .map(|(c, zh, _)| format!("{c} ({zh})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn household_type_code(t: &str) -> Result<String> {
    let t = t.trim();
    [
        HouseholdType::Registered,
        HouseholdType::Migrant,
        HouseholdType::RegisteredAbsent,
    ]
    .iter()
    .map(|h| (serde_name(h), household_type_zh(h)))
    .find(|(code, zh)| code.eq_ignore_ascii_case(t) || *zh == t)
    .map(|(code, _)| code)
    .ok_or_else(|| {
        StoreError::BadRequest(format!(
            "{t:?} is not a household type; use Registered (户籍), Migrant (流动) or \
             RegisteredAbsent (空挂)"
        ))
    })
}

fn serde_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The Chinese label of an enum stored by its serde name; the stored text if unknown.
fn zh<T: DeserializeOwned>(stored: &str, label: fn(&T) -> &'static str) -> String {
    serde_json::from_value::<T>(serde_json::Value::String(stored.to_string()))
        .map(|v| label(&v).to_string())
        .unwrap_or_else(|_| stored.to_string())
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn coordinate(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Fill `row` from one record, masking when asked.
fn fill_row(row: &mut LedgerRow, r: &LedgerRecord, names: &AreaNames, masked: bool) {
    use gridwalk_core::model::{HousingUse, PersonStatus, PopulationType, Relation, Sex};
    let mask = |v: String, f: fn(&str) -> String| if masked { f(&v) } else { v };
    row.set(C::HouseholdId, r.household_id.clone());
    row.set(
        C::Community,
        names
            .communities
            .get(&r.community_code)
            .cloned()
            .unwrap_or_else(|| r.community_code.clone()),
    );
    row.set(
        C::Grid,
        names
            .grids
            .get(&r.grid_id)
            .cloned()
            .unwrap_or_else(|| r.grid_id.clone()),
    );
    row.set(C::Building, r.building_name.clone());
    row.set(C::Unit, r.unit.clone());
    row.set(C::Floor, r.floor.to_string());
    row.set(C::Room, r.room.clone());
    row.set(
        C::HouseholdType,
        zh::<HouseholdType>(&r.household_type, household_type_zh),
    );
    row.set(
        C::HousingUse,
        zh::<HousingUse>(&r.housing_use, housing_use_zh),
    );
    row.set(
        C::HouseholdPhone,
        mask(text(&r.household_phone), mask_phone),
    );
    row.set(
        C::HouseholdNotes,
        mask(text(&r.household_notes), mask_free_text),
    );
    row.set(C::Longitude, coordinate(r.lon));
    row.set(C::Latitude, coordinate(r.lat));
    let has_person = r.name.is_some();
    let enum_zh = |v: &Option<String>, f: fn(&str) -> String| -> String {
        let v = text(v);
        if has_person && !v.is_empty() {
            f(&v)
        } else {
            v
        }
    };
    row.set(C::Name, text(&r.name));
    row.set(C::Sex, enum_zh(&r.sex, |v| zh::<Sex>(v, sex_zh)));
    // A masked export gives the birth year: the date would complete a masked ID number.
    row.set(C::BirthDate, mask(text(&r.birth_date), mask_birth_date));
    row.set(C::IdNumber, mask(text(&r.id_number), mask_id_number));
    row.set(C::Phone, mask(text(&r.phone), mask_phone));
    row.set(
        C::Relation,
        enum_zh(&r.relation, |v| zh::<Relation>(v, relation_zh)),
    );
    row.set(
        C::PopulationType,
        enum_zh(&r.population_type, |v| {
            zh::<PopulationType>(v, population_type_zh)
        }),
    );
    row.set(
        C::Status,
        enum_zh(&r.status, |v| zh::<PersonStatus>(v, status_zh)),
    );
    let tags = text(&r.tags);
    row.set(
        C::CareTags,
        care_tags_zh(tags.split_whitespace().filter(|t| care_tag_zh(t).is_some())),
    );
    row.set(
        C::DisabilityCert,
        mask(text(&r.disability_cert), mask_certificate),
    );
    row.set(C::Notes, mask(text(&r.notes), mask_free_text));
}
