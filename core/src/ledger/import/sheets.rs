//! A workbook of several sheets (one per building, or 户籍 and 流动 apart): every sheet
//! with a recognisable header is planned, its rows named `sheet!row`, and an ID number
//! on two sheets is a duplicate like one twice on a sheet.

use super::header::map_columns;
use super::normalize::{id_number_text, upgrade_id_15};
use super::{id_numbers_in, plan_import, ColumnMapping, HeldBack, ImportContext, ImportPlan};
use super::{ProblemCode, RowProblem};
use crate::ledger::cell::Table;
use crate::ledger::columns::LedgerColumn;
use crate::privacy::mask_id_number;
use std::collections::BTreeMap;

/// The sheets that have a header row (the first sheet when none has one), in file order.
pub fn sheets_with_header<'t>(
    tables: &'t [Table],
    mapping: Option<&ColumnMapping>,
) -> Vec<&'t Table> {
    let found: Vec<&Table> = (tables.iter())
        .filter(|t| map_columns(t, mapping).is_some())
        .collect();
    if found.is_empty() {
        tables.iter().take(1).collect()
    } else {
        found
    }
}

/// The ID numbers of every sheet (see [`id_numbers_in`]), each once.
pub fn id_numbers_in_sheets(tables: &[Table], mapping: Option<&ColumnMapping>) -> Vec<String> {
    let mut all: Vec<String> = (sheets_with_header(tables, mapping).into_iter())
        .flat_map(|t| id_numbers_in(t, mapping))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The plan for a workbook: [`plan_import`] of its one sheet with a header, or of each
/// such sheet, joined, rows named by sheet.
pub fn plan_import_sheets(tables: &[Table], ctx: &ImportContext<'_>) -> ImportPlan {
    let sheets = sheets_with_header(tables, ctx.mapping);
    match sheets.as_slice() {
        [] => plan_import(&Table::default(), ctx),
        [one] => plan_import(one, ctx),
        several => several_sheets(several, ctx),
    }
}

fn several_sheets(sheets: &[&Table], ctx: &ImportContext<'_>) -> ImportPlan {
    let mut out = ImportPlan::default();
    // ID number → (sheet, row) of every person row holding it.
    let mut holders: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    for table in sheets {
        let name = table.sheet.clone();
        let mut plan = plan_import(table, ctx);
        if let Some((header_row, columns)) = map_columns(table, ctx.mapping) {
            if let Some(c) = columns.index(LedgerColumn::IdNumber) {
                for h in &plan.households {
                    for &row in &h.rows {
                        let id = id_number_text(&table.cell(row - 1, c).display());
                        let id = upgrade_id_15(&id).unwrap_or(id);
                        if id.len() == 18 && row > header_row {
                            holders.entry(id).or_default().push((name.clone(), row));
                        }
                    }
                }
            }
        }
        for p in plan.problems.iter_mut().chain(plan.notices.iter_mut()) {
            p.sheet = name.clone();
        }
        for s in &mut plan.skipped {
            s.sheet = name.clone();
        }
        for h in &mut plan.households {
            h.sheet = name.clone();
        }
        for h in &mut plan.held_back {
            h.sheet = name.clone();
        }
        if out.header_row.is_none() {
            out.header_row = plan.header_row;
            out.columns = plan.columns;
            out.preview = plan.preview;
        }
        out.rows_total += plan.rows_total;
        out.problems.extend(plan.problems);
        out.notices.extend(plan.notices);
        out.skipped.extend(plan.skipped);
        out.households.extend(plan.households);
        out.held_back.extend(plan.held_back);
    }
    // The same ID number on two sheets: both rows are wrong, each naming the other.
    for (id, at) in &holders {
        let sheets_of: std::collections::BTreeSet<&String> = at.iter().map(|(s, _)| s).collect();
        if sheets_of.len() < 2 {
            continue;
        }
        for (k, (sheet, row)) in at.iter().enumerate() {
            let others: Vec<String> = (at.iter().enumerate())
                .filter(|(j, _)| *j != k)
                .map(|(_, (s, r))| format!("{s}!{r}"))
                .collect();
            out.problems.push(RowProblem {
                sheet: sheet.clone(),
                row: *row,
                column_letter: String::new(),
                header: LedgerColumn::IdNumber.zh().to_string(),
                field: Some(LedgerColumn::IdNumber),
                code: ProblemCode::DuplicateInFile,
                message_zh: format!("身份证号与{}行重复", others.join("、")),
                message_en: format!("The same ID number is on row {}", others.join(", ")),
                value: mask_id_number(id),
            });
        }
    }
    let bad: std::collections::HashSet<(&str, usize)> = (out.problems.iter())
        .map(|p| (p.sheet.as_str(), p.row))
        .collect();
    let mut newly_bad = Vec::new();
    for h in &mut out.households {
        if h.valid && h.rows.iter().any(|r| bad.contains(&(h.sheet.as_str(), *r))) {
            h.valid = false;
            newly_bad.push(HeldBack {
                sheet: h.sheet.clone(),
                rows: h.rows.clone(),
            });
        }
    }
    out.rows_valid = (out.households.iter())
        .filter(|h| h.valid)
        .map(|h| h.rows.len())
        .sum();
    out.held_back.extend(newly_bad);
    out
}
