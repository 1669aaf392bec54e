//! What a re-import would do: the diff the admin reads (personal values masked), and the
//! writes the store makes.

use crate::model::Household;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One field as it would change. Personal values (ID numbers, phones) are masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Path in the household document, e.g. `housing_use` or `members.<id>.phone`.
    pub path: String,
    pub field_zh: String,
    pub field_en: String,
    pub old: String,
    pub new: String,
    /// Changed in the district since the last import as well: both values are kept as a
    /// conflict to resolve on the console.
    pub conflict: bool,
}

/// A person as the diff names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub person_id: String,
    /// Spreadsheet row, when the person is in the file.
    pub row: Option<usize>,
    pub name: String,
    pub id_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedPerson {
    pub person: PersonRef,
    pub fields: Vec<FieldChange>,
}

/// A household of the file that the district has: what would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedHousehold {
    pub household_id: String,
    pub grid_id: String,
    pub address: String,
    pub rows: Vec<usize>,
    /// False when a row of it has a problem: then nothing of it is written.
    pub valid: bool,
    pub fields: Vec<FieldChange>,
    pub new_persons: Vec<PersonRef>,
    pub changed_persons: Vec<ChangedPerson>,
    /// Living members the file no longer lists: listed, never removed automatically.
    pub gone_persons: Vec<PersonRef>,
}

/// A household the district has in the file's buildings that the file no longer lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoneHousehold {
    pub household_id: String,
    pub grid_id: String,
    pub address: String,
    pub head_name: String,
    pub members: usize,
}

/// What a re-import would do, for the dry run (and kept in the run's report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReimportDiff {
    /// Households of the file the district does not have (rows, address), valid or not.
    pub new_households: Vec<NewHousehold>,
    /// Matched households with something to write (valid or not).
    pub changed_households: Vec<ChangedHousehold>,
    /// Matched households the file describes as the district has them.
    pub unchanged_households: usize,
    pub gone_households: Vec<GoneHousehold>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHousehold {
    pub rows: Vec<usize>,
    pub address: String,
    pub members: usize,
    pub valid: bool,
}

/// A matched household as the import writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdUpdate {
    pub household_id: String,
    pub grid_id: String,
    pub valid: bool,
    /// Written as one change: the district's value is still the ledger's last one.
    pub puts: Vec<(Vec<String>, Json)>,
    /// Each written concurrently with the district's own later change of the field.
    pub conflicts: Vec<(Vec<String>, Json)>,
    /// The ledger's image of the household now: the next re-import's base.
    pub ledger: Household,
}

/// The diff and the writes of a re-import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reimport {
    pub diff: ReimportDiff,
    /// Matched households; `plan.households` keeps only the new ones.
    pub updates: Vec<HouseholdUpdate>,
}
