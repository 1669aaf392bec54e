//! Rows into households: grouping, heads, duplicate ID numbers, and core's household
//! validation mapped back to rows.

use super::person_row::ParsedRow;
use super::problems::{ProblemCode as P, Problems};
use super::{ImportContext, PlannedHousehold};
use crate::ledger::columns::LedgerColumn as C;
use crate::model::*;
use crate::privacy::mask_id_number;
use crate::validate::{validate_household, ErrorCode, FieldError};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The same ID number twice in the file (both rows, each naming the other), or already
/// in the district.
pub fn flag_duplicates(rows: &[ParsedRow], ctx: &ImportContext<'_>, problems: &mut Problems<'_>) {
    let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for r in rows {
        if let Some(id) = &r.id_number {
            rows_of.entry(id.as_str()).or_default().push(r.row);
        }
    }
    for (id, at) in &rows_of {
        if ctx.existing_id_numbers.contains(*id) {
            for &row in at {
                problems.at(
                    row,
                    Some(C::IdNumber),
                    P::DuplicateInDistrict,
                    "本区已有此身份证号的人员，请核对是否重复登记".into(),
                    "A person with this ID number is already in the district: check whether it is a duplicate".into(),
                    mask_id_number(id),
                );
            }
        }
        if at.len() < 2 {
            continue;
        }
        for (k, &row) in at.iter().enumerate() {
            let others: Vec<usize> = (at.iter().enumerate())
                .filter(|(j, _)| *j != k)
                .map(|(_, r)| *r)
                .take(11)
                .collect();
            let (zh_rows, en_rows) = (join_rows(&others), join_rows(&others));
            problems.at(
                row,
                Some(C::IdNumber),
                P::DuplicateInFile,
                format!("身份证号与第{zh_rows}行重复"),
                format!("The same ID number is on row {en_rows}"),
                mask_id_number(id),
            );
        }
    }
}

/// A UUID v7 carrying the import's time.
fn new_id(now_ms: i64) -> String {
    let ms = now_ms.max(0) as u64;
    let ts =
        uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    Uuid::new_v7(ts).to_string()
}

/// The id of the household a ledger calls `key` (户编号) in `community_code`: the same
/// on every import of that ledger, so a re-import finds the household again.
/// A name-based UUID (version 8: SHA-256, as v5 is SHA-1, which the workspace lacks).
fn keyed_id(community_code: &str, key: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("gridwalk-ledger|{community_code}|{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Groups rows into households (by 户编号, else by address), checks heads, builds each
/// household and runs core's validation on it. `valid` is left false: the caller sets it
/// once every problem is known.
pub fn assemble(
    rows: Vec<ParsedRow>,
    ctx: &ImportContext<'_>,
    problems: &mut Problems<'_>,
) -> Vec<PlannedHousehold> {
    let mut groups: Vec<Vec<ParsedRow>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let key = match (&r.household_key, &r.address) {
            (Some(k), _) => format!("id:{k}"),
            (None, Some((a, _))) => format!(
                "address:{}|{}|{}|{}",
                a.community_code, a.building_no, a.unit, a.room
            ),
            // Rows without any address (a CSV saved from merged cells) are not one household.
            (None, None) if r.address_text.trim_matches('|').trim().is_empty() => {
                format!("row:{}", r.row)
            }
            (None, None) => format!("text:{}", r.address_text),
        };
        let next = groups.len();
        let g = *group_of.entry(key).or_insert(next);
        if g == next {
            groups.push(Vec::new());
        }
        if let Some(group) = groups.get_mut(g) {
            group.push(r);
        }
    }
    groups
        .into_iter()
        .filter_map(|g| household(g, ctx, problems))
        .collect()
}

fn household(
    mut rows: Vec<ParsedRow>,
    ctx: &ImportContext<'_>,
    problems: &mut Problems<'_>,
) -> Option<PlannedHousehold> {
    // A lone person with no relation given is the head.
    if let [only] = rows.as_mut_slice() {
        if only.relation_missing {
            only.relation = Some(Relation::Head);
            if let Some(p) = &mut only.person {
                p.relation = Relation::Head;
            }
        }
    } else {
        for r in rows.iter().filter(|r| r.relation_missing) {
            problems.at(
                r.row,
                Some(C::Relation),
                P::MissingRequired,
                "一户有多名成员时必须填写“与户主关系”".into(),
                "The relation to the head is required when a household has several members".into(),
                String::new(),
            );
        }
    }
    let is_head = |r: &ParsedRow| r.relation == Some(Relation::Head);
    // With a relation missing or not understood, who the head is cannot be told.
    let relations_known = rows.iter().all(|r| r.relation.is_some());
    let heads: Vec<usize> = rows.iter().filter(|r| is_head(r)).map(|r| r.row).collect();
    let all_rows: Vec<usize> = rows.iter().map(|r| r.row).collect();
    match heads.len() {
        0 if !relations_known => {}
        0 => {
            for &row in &all_rows {
                problems.at(
                    row,
                    Some(C::Relation),
                    P::NoHead,
                    format!(
                        "此户（第{}行）没有户主，请将一名成员的“与户主关系”填为户主",
                        join_rows(&all_rows)
                    ),
                    format!(
                        "This household (rows {}) has no head: mark one member as 户主",
                        join_rows(&all_rows)
                    ),
                    String::new(),
                );
            }
        }
        1 => {}
        _ => {
            for &row in &heads {
                problems.at(
                    row,
                    Some(C::Relation),
                    P::TwoHeads,
                    format!("此户有多名户主（第{}行），只能有一名", join_rows(&heads)),
                    format!(
                        "This household has several heads (rows {}); it can have only one",
                        join_rows(&heads)
                    ),
                    String::new(),
                );
            }
        }
    }
    // Household fields come from the head's row, else from the first row that has them.
    let base = rows
        .iter()
        .position(|r| is_head(r) && r.address.is_some())
        .or_else(|| rows.iter().position(|r| r.address.is_some()))?;
    let base_row = rows.get(base)?;
    let (address, grid_id) = base_row.address.clone()?;
    let address_for_check = address.clone();
    let household_type = base_row
        .household_type
        .clone()
        .unwrap_or(HouseholdType::Registered);
    let id = match base_row.household_key.as_deref() {
        Some(k) => Uuid::parse_str(k)
            .unwrap_or_else(|_| keyed_id(&address.community_code, k))
            .to_string(),
        None => new_id(ctx.now_ms),
    };
    let mut household = Household {
        id,
        grid_id: grid_id.clone(),
        address,
        housing_use: base_row
            .housing_use
            .clone()
            .unwrap_or(HousingUse::SelfOccupied),
        household_type,
        head_person_id: None,
        phone: base_row.household_phone.clone(),
        members: BTreeMap::new(),
        notes: base_row.household_notes.clone(),
        gps: base_row.gps,
        created_at: ctx.now_ms,
    };
    let base_row_number = base_row.row;
    let same_place = |a: &Address| {
        (&a.community_code, &a.building_no, &a.unit, &a.room)
            == (
                &address_for_check.community_code,
                &address_for_check.building_no,
                &address_for_check.unit,
                &address_for_check.room,
            )
    };
    for r in rows
        .iter()
        .filter(|r| r.address.as_ref().is_some_and(|(a, _)| !same_place(a)))
    {
        problems.at(
            r.row,
            Some(C::Room),
            P::HouseholdMismatch,
            format!("与同一户编号的第{base_row_number}行地址不一致，同一户的成员应住在同一户室"),
            format!("The address differs from row {base_row_number}, which has the same household ID: members of a household live at one address"),
            String::new(),
        );
    }
    let mut row_of_person = HashMap::new();
    for r in rows {
        let Some(mut person) = r.person else { continue };
        person.id = new_id(ctx.now_ms);
        if r.relation == Some(Relation::Head) && household.head_person_id.is_none() {
            household.head_person_id = Some(person.id.clone());
        }
        row_of_person.insert(person.id.clone(), r.row);
        household.members.insert(person.id.clone(), person);
    }
    if household.members.is_empty() {
        return None;
    }
    let member_rows = row_of_person.clone().into_iter().collect();
    if let Err(errors) = validate_household(&household, ctx.today) {
        for e in errors.0 {
            report_validation_error(&e, &row_of_person, base_row_number, problems);
        }
    }
    Some(PlannedHousehold {
        sheet: String::new(),
        rows: all_rows,
        valid: false,
        grid_id,
        household,
        member_rows,
    })
}

/// Row numbers for a message: at most 10, then how many more (a message per row that
/// listed every row of a large group would grow with the square of the rows).
fn join_rows(rows: &[usize]) -> String {
    const SHOWN: usize = 10;
    let mut text = (rows.iter().take(SHOWN))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("、");
    if rows.len() > SHOWN {
        text.push_str(&format!(" … (+{})", rows.len() - SHOWN));
    }
    text
}

/// Core's validation error on the row and column it came from. Two heads and duplicate
/// ID numbers are already reported in the import's own words.
fn report_validation_error(
    e: &FieldError,
    row_of_person: &HashMap<String, usize>,
    base_row: usize,
    problems: &mut Problems<'_>,
) {
    if e.code == ErrorCode::Duplicate {
        return;
    }
    let parts: Vec<&str> = e.path.split('.').collect();
    let (row, field) = match parts.as_slice() {
        ["members", id, field, ..] => (row_of_person.get(*id).copied().unwrap_or(base_row), *field),
        [field, rest @ ..] => (
            base_row,
            if *field == "gps" {
                rest.first().copied().unwrap_or("lat")
            } else {
                *field
            },
        ),
        [] => (base_row, ""),
    };
    let column = match (parts.first().copied(), field) {
        (Some("members"), "name") => Some(C::Name),
        (Some("members"), "birth_date") => Some(C::BirthDate),
        (Some("members"), "id_number") => Some(C::IdNumber),
        (Some("members"), "phone") => Some(C::Phone),
        (Some("members"), "tags") => Some(C::CareTags),
        (Some("members"), "relation") => Some(C::Relation),
        (_, "unit") => Some(C::Unit),
        (_, "room") => Some(C::Room),
        (_, "community_code") => Some(C::Community),
        (_, "building_no") => Some(C::Building),
        (_, "phone") => Some(C::HouseholdPhone),
        (_, "lat") => Some(C::Latitude),
        (_, "lon") => Some(C::Longitude),
        _ => None,
    };
    let code = match e.code {
        ErrorCode::Required => P::MissingRequired,
        ErrorCode::BadDate if column == Some(C::IdNumber) => P::IdBadDate,
        ErrorCode::BadDate => P::BadDate,
        ErrorCode::BadPhone => P::BadPhone,
        ErrorCode::BadCheckDigit => P::IdCheckDigit,
        ErrorCode::BadLength | ErrorCode::BadChars if column == Some(C::IdNumber) => P::IdBadFormat,
        ErrorCode::BirthDateMismatch => P::IdBirthMismatch,
        ErrorCode::SexMismatch => P::IdSexMismatch,
        _ => P::BadValue,
    };
    let (zh, en) = e
        .message
        .split_once(" / ")
        .unwrap_or((&e.message, &e.message));
    problems.at(
        row,
        column,
        code,
        zh.to_string(),
        en.to_string(),
        String::new(),
    );
}
