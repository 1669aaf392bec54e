//! The household ledger export, streamed from the projections (never from the documents):
//! one row per person in household order, masked unless an admin states why not.
//! Scope and the PII rule are enforced here, whoever the caller is.

use super::console::ConsoleScope;
use super::issues::grid_filter;
use super::SqliteDistrict;
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
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Row};
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

impl SqliteDistrict {
    /// Refuse a full-PII export unless the user is an admin (as stored, not only as the
    /// scope claims) and gave a reason of at least [`MIN_REASON_CHARS`] characters.
    pub fn check_pii_mode(&self, scope: &ConsoleScope, pii: &PiiMode) -> Result<()> {
        let PiiMode::Full { reason } = pii else {
            return Ok(());
        };
        let stored_role: Option<String> = self.with_reader(|conn| {
            use rusqlite::OptionalExtension;
            Ok(conn
                .query_row(
                    "SELECT role FROM users WHERE user_id = ?1",
                    [&scope.user_id],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
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
    /// Memory stays constant: rows are read from the statement one at a time. Returns the
    /// number of rows. A household without (selected) members gives one row without
    /// person fields, so that no household silently drops out of the ledger.
    pub fn export_ledger(
        &self,
        filter: &ExportFilter,
        scope: &ConsoleScope,
        pii: PiiMode,
        sink: &mut dyn FnMut(&LedgerRow) -> Result<()>,
    ) -> Result<u64> {
        self.check_pii_mode(scope, &pii)?;
        let tree = self.area_tree()?.unwrap_or_default();
        let names = AreaNames::of(&tree);
        let (sql, args) = export_query(filter, scope, &tree)?;
        let masked = pii.is_masked();
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(args))?;
            let mut row = LedgerRow::empty();
            let mut count = 0u64;
            while let Some(r) = rows.next()? {
                fill_row(&mut row, r, &names, masked)?;
                sink(&row)?;
                count += 1;
            }
            Ok(count)
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

const SELECT: &str = "SELECT h.doc_id, h.grid_id, h.community_code, h.building_name, h.unit,
    h.floor, h.room, h.household_type, h.housing_use, h.household_phone, h.notes, h.lon, h.lat,
    p.name, p.sex, p.birth_date, p.id_number, p.phone, p.relation, p.population_type,
    p.status, p.tags, p.disability_cert, p.notes
    FROM households h";

/// The export's SQL and its arguments.
fn export_query(
    filter: &ExportFilter,
    scope: &ConsoleScope,
    tree: &AreaTree,
) -> Result<(String, Vec<Value>)> {
    let mut args: Vec<Value> = Vec::new();
    let wanted = (!filter.grids.is_empty()).then(|| filter.grids.clone());
    let mut conditions = vec![grid_filter("h.grid_id", &scope.narrow(wanted), &mut args)];
    if !filter.area_codes.is_empty() {
        let communities = communities_of(tree, &filter.area_codes)?;
        conditions.push(in_list("h.community_code", communities, &mut args));
    }
    if !filter.care_tags.is_empty() {
        let mut any = Vec::new();
        for tag in &filter.care_tags {
            args.push(Value::Text(format!("% {} %", care_tag_code(tag)?)));
            any.push(format!("h.tags LIKE ?{}", args.len()));
        }
        conditions.push(format!("({})", any.join(" OR ")));
    }
    if !filter.household_types.is_empty() {
        let types = filter
            .household_types
            .iter()
            .map(|t| household_type_code(t))
            .collect::<Result<Vec<_>>>()?;
        conditions.push(in_list("h.household_type", types, &mut args));
    }
    if let Some(since) = filter.visited_since {
        args.push(Value::Integer(since));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.doc_id AND v.at >= ?{})",
            args.len()
        ));
    }
    let departed = if filter.include_departed {
        ""
    } else {
        " AND p.status = 'Living'"
    };
    // Address order (the households_addr index), then the household, then its head first,
    // then by age: an order that does not depend on person ids, so that an export imported
    // elsewhere exports again in the same order.
    let sql = format!(
        "{SELECT} LEFT JOIN persons p ON p.household_id = h.doc_id{departed}
         WHERE {}
         ORDER BY h.grid_id, h.building_no, h.unit, h.floor, h.room, h.doc_id,
            p.relation = 'Head' DESC, p.birth_date, p.name, p.person_id",
        conditions.join(" AND ")
    );
    Ok((sql, args))
}

fn in_list(column: &str, values: Vec<String>, args: &mut Vec<Value>) -> String {
    if values.is_empty() {
        return "0 = 1".into();
    }
    let marks: Vec<String> = values
        .into_iter()
        .map(|v| {
            args.push(Value::Text(v));
            format!("?{}", args.len())
        })
        .collect();
    format!("{column} IN ({})", marks.join(", "))
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

fn text(r: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
}

fn coordinate(r: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(r.get::<_, Option<f64>>(i)?
        .map(|v| v.to_string())
        .unwrap_or_default())
}

/// Fill `row` from one result row, masking when asked. Restricted key-person tags are not
/// even selected.
fn fill_row(row: &mut LedgerRow, r: &Row<'_>, names: &AreaNames, masked: bool) -> Result<()> {
    use gridwalk_core::model::{HousingUse, PersonStatus, PopulationType, Relation, Sex};
    let mask = |v: String, f: fn(&str) -> String| if masked { f(&v) } else { v };
    let grid_id = text(r, 1)?;
    let community = text(r, 2)?;
    row.set(C::HouseholdId, text(r, 0)?);
    row.set(
        C::Community,
        names
            .communities
            .get(&community)
            .cloned()
            .unwrap_or(community),
    );
    row.set(
        C::Grid,
        names.grids.get(&grid_id).cloned().unwrap_or(grid_id),
    );
    row.set(C::Building, text(r, 3)?);
    row.set(C::Unit, text(r, 4)?);
    row.set(C::Floor, r.get::<_, i64>(5)?.to_string());
    row.set(C::Room, text(r, 6)?);
    row.set(
        C::HouseholdType,
        zh::<HouseholdType>(&text(r, 7)?, household_type_zh),
    );
    row.set(
        C::HousingUse,
        zh::<HousingUse>(&text(r, 8)?, housing_use_zh),
    );
    row.set(C::HouseholdPhone, mask(text(r, 9)?, mask_phone));
    row.set(C::HouseholdNotes, mask(text(r, 10)?, mask_free_text));
    row.set(C::Longitude, coordinate(r, 11)?);
    row.set(C::Latitude, coordinate(r, 12)?);
    let has_person = r.get::<_, Option<String>>(13)?.is_some();
    let enum_zh = |i: usize, f: fn(&str) -> String| -> Result<String> {
        let v = text(r, i)?;
        Ok(if has_person && !v.is_empty() {
            f(&v)
        } else {
            v
        })
    };
    row.set(C::Name, text(r, 13)?);
    row.set(C::Sex, enum_zh(14, |v| zh::<Sex>(v, sex_zh))?);
    // A masked export gives the birth year: the date would complete a masked ID number.
    row.set(C::BirthDate, mask(text(r, 15)?, mask_birth_date));
    row.set(C::IdNumber, mask(text(r, 16)?, mask_id_number));
    row.set(C::Phone, mask(text(r, 17)?, mask_phone));
    row.set(
        C::Relation,
        enum_zh(18, |v| zh::<Relation>(v, relation_zh))?,
    );
    row.set(
        C::PopulationType,
        enum_zh(19, |v| zh::<PopulationType>(v, population_type_zh))?,
    );
    row.set(
        C::Status,
        enum_zh(20, |v| zh::<PersonStatus>(v, status_zh))?,
    );
    let tags = text(r, 21)?;
    row.set(
        C::CareTags,
        care_tags_zh(tags.split_whitespace().filter(|t| care_tag_zh(t).is_some())),
    );
    row.set(C::DisabilityCert, mask(text(r, 22)?, mask_certificate));
    row.set(C::Notes, mask(text(r, 23)?, mask_free_text));
    Ok(())
}
