//! Importing a household ledger (台账) from a spreadsheet: a pure plan of what would be
//! imported and every problem, row by row, in words a district admin understands.
//!
//! Required columns: 姓名 (Name), 楼栋 (Building), 单元 (Unit) and 房号 (Room). 社区
//! (Community) is needed only when a building name occurs in several communities. Every
//! other column is optional; when empty, household type is 户籍, housing use 自住,
//! population type 户籍人口 (流动人口 in a 流动 household), status 在住, and sex and birth
//! date come from the ID number. The relation may be left empty only for a one-person
//! household (that person is the head).
//!
//! Rows become households by 户编号 (HouseholdId) when the row has one, else by address
//! (community, building, unit, room). A 户编号 that is a UUID (what an export writes)
//! becomes the household's id; any other value gives a name-based UUID (v8, SHA-256 of
//! community code and 户编号), so re-importing the ledger finds the household again. Households
//! without 户编号 get a new UUID v7, as do all persons. Re-importing: [`reimport`].

mod address;
pub mod dates;
mod header;
mod households;
pub mod normalize;
mod person_row;
mod problems;
pub mod reimport;
mod rows;
mod sheets;
pub mod words;

pub use header::find_header_row;
pub use problems::ProblemCode;
pub use rows::{SkipReason, SkippedRow};
pub use sheets::{id_numbers_in_sheets, plan_import_sheets, sheets_with_header};

use super::cell::Table;
use super::columns::LedgerColumn;
use crate::area::AreaTree;
use crate::model::Household;
use crate::privacy::{mask_birth_date, mask_free_text, mask_id_number, mask_phone};
use chrono::NaiveDate;
use normalize::mask_personal;
use problems::Problems;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The admin's choice of column meanings: 0-based column index → field, or `None` to
/// ignore a column the import would otherwise recognise.
pub type ColumnMapping = BTreeMap<usize, Option<LedgerColumn>>;

/// What the import needs to know besides the file.
#[derive(Debug, Clone, Copy)]
pub struct ImportContext<'a> {
    pub tree: &'a AreaTree,
    /// ID numbers already in the district (upper-case `X`), see [`id_numbers_in`].
    pub existing_id_numbers: &'a HashSet<String>,
    pub today: NaiveDate,
    /// Creation time of the households, ms since the epoch; also the time in their ids.
    pub now_ms: i64,
    pub mapping: Option<&'a ColumnMapping>,
}

/// One column of the file as the import understood it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// 0-based.
    pub index: usize,
    /// "A", "B", … as Excel shows it.
    pub letter: String,
    pub header: String,
    /// `None`: not recognised (or a repeat of an earlier column): ignored.
    pub column: Option<LedgerColumn>,
}

/// A data row as the file shows it, ID numbers and phones masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRow {
    /// Spreadsheet row number (1-based).
    pub row: usize,
    pub cells: Vec<String>,
}

/// One thing wrong, where the admin can find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    /// The sheet, when the file has several ("" otherwise): the row is `sheet!row`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sheet: String,
    /// Spreadsheet row number as Excel shows it (1-based); for a problem with the whole
    /// file (a missing column) the header row, or 0 when there is no header row.
    pub row: usize,
    /// "" when the problem is not about one column.
    pub column_letter: String,
    pub header: String,
    pub field: Option<LedgerColumn>,
    pub code: ProblemCode,
    pub message_zh: String,
    pub message_en: String,
    /// The cell as the file has it; ID numbers and phones masked.
    pub value: String,
}

/// A household the file describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedHousehold {
    /// The sheet, when the file has several ("" otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sheet: String,
    /// Spreadsheet row numbers of its members.
    pub rows: Vec<usize>,
    /// True only when every one of its rows is free of problems: importing "the valid
    /// rows" imports whole valid households, and the rows of a household with a bad
    /// sibling row are held back too (the problems list shows why).
    pub valid: bool,
    pub grid_id: String,
    pub household: Household,
    /// Person id → spreadsheet row, for the re-import's diff.
    #[serde(default)]
    pub member_rows: BTreeMap<String, usize>,
}

/// What an import would do. Stored and sent to the console as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportPlan {
    /// Spreadsheet row number of the header (1-based), `None` when none was found.
    pub header_row: Option<usize>,
    pub columns: Vec<ColumnInfo>,
    /// The first 10 data rows.
    pub preview: Vec<PreviewRow>,
    /// Person rows: below the header and not skipped.
    pub rows_total: usize,
    /// Rows of valid households: what "import the valid rows" imports.
    pub rows_valid: usize,
    /// Sorted by row, then column.
    pub problems: Vec<RowProblem>,
    /// Every household with at least one row whose address and person could be read.
    pub households: Vec<PlannedHousehold>,
    /// Rows that are not persons (title, header, totals, footer, blank …), with why.
    #[serde(default)]
    pub skipped: Vec<SkippedRow>,
    /// What was normalised and how (a 15-digit ID upgraded …): informative only.
    #[serde(default)]
    pub notices: Vec<RowProblem>,
    /// Every household "valid only" does not import, with all its rows.
    #[serde(default)]
    pub held_back: Vec<HeldBack>,
}

/// A household held back, with every row the ledger gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBack {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sheet: String,
    pub rows: Vec<usize>,
}

const PREVIEW_ROWS: usize = 10;

/// The plan for importing `table`. Pure and total: any cells give a plan, never a panic.
pub fn plan_import(table: &Table, ctx: &ImportContext<'_>) -> ImportPlan {
    let mut plan = ImportPlan::default();
    let Some((header_row, columns)) = header::map_columns(table, ctx.mapping) else {
        let no_columns = header::Columns::default();
        let mut problems = Problems::new(&no_columns);
        problems.no_header_row();
        plan.problems = problems.finish();
        return plan;
    };
    plan.header_row = Some(header_row + 1);
    plan.columns = columns.infos.clone();
    let (data_rows, skipped) = rows::classify(table, header_row, &columns);
    plan.skipped = skipped;
    plan.rows_total = data_rows.len();
    plan.preview = data_rows
        .iter()
        .take(PREVIEW_ROWS)
        .map(|&r| preview_row(table, &columns, r))
        .collect();

    let mut problems = Problems::new(&columns);
    problems.column_problems(header_row, &columns);
    if problems.has_missing_columns() {
        plan.problems = problems.finish();
        return plan;
    }
    let carried = rows::carry_down(table, &data_rows, &columns);
    let table = carried.as_ref();
    let mut lookups = address::Lookups::default();
    let rows: Vec<_> = data_rows
        .iter()
        .map(|&r| person_row::parse(table, r, &columns, ctx, &mut lookups, &mut problems))
        .collect();
    address::check_room_notation(table, &rows, &mut problems);
    let shapes = rows::shapes(&rows);
    households::flag_duplicates(&rows, ctx, &mut problems);
    let mut planned = households::assemble(rows, ctx, &mut problems);
    let bad_rows: BTreeSet<usize> = problems.rows_with_problems();
    for h in &mut planned {
        h.valid = h.rows.iter().all(|r| !bad_rows.contains(r));
    }
    plan.held_back = rows::hold_back(&shapes, &mut planned);
    plan.notices = problems.take_notices();
    plan.rows_valid = planned
        .iter()
        .filter(|h| h.valid)
        .map(|h| h.rows.len())
        .sum();
    plan.households = planned;
    plan.problems = problems.finish();
    plan
}

fn preview_row(table: &Table, columns: &header::Columns, row: usize) -> PreviewRow {
    let cells = (columns.infos.iter())
        .map(|info| {
            let text = table.cell(row, info.index).display();
            mask_for_column(info.column, &text)
        })
        .collect();
    PreviewRow {
        row: row + 1,
        cells,
    }
}

/// Cells are masked wherever the plan shows one, as the console masks: ID numbers to
/// their last 4, phones, birth dates to the year (the date would complete a masked ID),
/// and phones and ID numbers inside any other cell (notes). A word (无) or a date in an
/// ID or phone column, and a birth date that is not a date, are shown as written.
fn mask_for_column(column: Option<LedgerColumn>, text: &str) -> String {
    match column {
        Some(LedgerColumn::IdNumber) => mask_personal(text, mask_id_number),
        Some(LedgerColumn::Phone | LedgerColumn::HouseholdPhone) => mask_personal(text, mask_phone),
        Some(LedgerColumn::BirthDate) => match mask_birth_date(text) {
            year if year.is_empty() => text.to_string(),
            year => year,
        },
        _ => mask_free_text(text),
    }
}

/// The normalised ID numbers in the file's ID column (each once), so the caller can look
/// up just these in the district before calling [`plan_import`].
pub fn id_numbers_in(table: &Table, mapping: Option<&ColumnMapping>) -> Vec<String> {
    let Some((header_row, columns)) = header::map_columns(table, mapping) else {
        return Vec::new();
    };
    let Some(column) = columns.index(LedgerColumn::IdNumber) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    (header_row + 1..table.rows.len())
        .map(|r| normalize::id_number_text(&table.cell(r, column).display()))
        .map(|id| normalize::upgrade_id_15(&id).unwrap_or(id))
        .filter(|id| id.len() == 18 && seen.insert(id.clone()))
        .collect()
}

#[cfg(test)]
mod round_trip_tests;
#[cfg(test)]
mod tests;
