//! The problems an import finds, collected with where they are.

use super::header::Columns;
use super::{mask_for_column, RowProblem};
use crate::ledger::cell::{column_letter, Table};
use crate::ledger::columns::LedgerColumn;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

/// What kind of problem: a stable code the console can filter and count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// No row with at least two recognised headers (file-level).
    NoHeaderRow,
    /// A required column is not in the file (file-level).
    MissingColumn,
    /// Two columns name the same field; the later one is ignored (file-level).
    DuplicateColumn,
    /// A required cell is empty.
    MissingRequired,
    IdCheckDigit,
    /// Excel stored the ID number as a number and kept only 15 digits.
    IdCutByExcel,
    /// Not 18 characters, or not 17 digits and a digit or X.
    IdBadFormat,
    /// The birth date inside the ID number does not exist or is in the future.
    IdBadDate,
    IdBirthMismatch,
    IdSexMismatch,
    BadDate,
    BadPhone,
    /// A word or number the column does not accept.
    BadValue,
    DuplicateInFile,
    DuplicateInDistrict,
    UnknownCommunity,
    UnknownBuilding,
    /// The building name is in several communities and the row names none.
    AmbiguousBuilding,
    NoHead,
    TwoHeads,
    /// Rows with the same 户编号 give different addresses.
    HouseholdMismatch,
    // Notices: what was normalised, said in the report; they do not hold a row back.
    /// A 15-digit ID number was upgraded to 18 digits.
    IdUpgraded,
    /// A second phone number in the cell went into the notes.
    ExtraPhone,
    /// A birth month without a day and no ID number to complete it.
    BirthMonthOnly,
}

/// Problems found so far, with the columns to say where they are.
pub struct Problems<'c> {
    columns: &'c Columns,
    list: Vec<RowProblem>,
    /// What was normalised: listed, never holding a row back.
    notices: Vec<RowProblem>,
    /// Sort key of each problem: (row, column index).
    order: Vec<(usize, usize)>,
    missing_columns: bool,
}

impl<'c> Problems<'c> {
    pub fn new(columns: &'c Columns) -> Self {
        Problems {
            columns,
            list: Vec::new(),
            notices: Vec::new(),
            order: Vec::new(),
            missing_columns: false,
        }
    }

    /// A problem with the cell of `field` in 0-based `row` of `table`.
    pub fn cell(
        &mut self,
        table: &Table,
        row: usize,
        field: LedgerColumn,
        code: ProblemCode,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) {
        let value = match self.columns.index(field) {
            Some(i) => mask_for_column(Some(field), &table.cell(row, i).display()),
            None => String::new(),
        };
        self.at(row + 1, Some(field), code, zh.into(), en.into(), value);
    }

    /// A notice about the cell of `field` in 0-based `row`: normalised, not wrong.
    pub fn notice(
        &mut self,
        table: &Table,
        row: usize,
        field: LedgerColumn,
        code: ProblemCode,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) {
        let index = self.columns.index(field);
        let info = index.and_then(|i| self.columns.info(i));
        let value = index.map_or(String::new(), |i| {
            mask_for_column(Some(field), &table.cell(row, i).display())
        });
        self.notices.push(RowProblem {
            sheet: String::new(),
            row: row + 1,
            column_letter: info.map(|i| i.letter.clone()).unwrap_or_default(),
            header: info.map_or_else(|| field.zh().to_string(), |i| i.header.clone()),
            field: Some(field),
            code,
            message_zh: zh.into(),
            message_en: en.into(),
            value,
        });
    }

    /// The notices, in row order.
    pub fn take_notices(&mut self) -> Vec<RowProblem> {
        let mut notices = std::mem::take(&mut self.notices);
        notices.sort_by_key(|n| n.row);
        notices
    }

    /// A problem at spreadsheet row `row` (1-based), with the value already masked.
    pub fn at(
        &mut self,
        row: usize,
        field: Option<LedgerColumn>,
        code: ProblemCode,
        message_zh: String,
        message_en: String,
        value: String,
    ) {
        let index = field.and_then(|f| self.columns.index(f));
        let info = index.and_then(|i| self.columns.info(i));
        self.order.push((row, index.unwrap_or(usize::MAX)));
        self.list.push(RowProblem {
            sheet: String::new(),
            row,
            column_letter: info.map(|i| i.letter.clone()).unwrap_or_default(),
            header: info
                .map(|i| i.header.clone())
                .or_else(|| field.map(|f| f.zh().to_string()))
                .unwrap_or_default(),
            field,
            code,
            message_zh,
            message_en,
            value,
        });
    }

    pub fn no_header_row(&mut self) {
        self.at(
            0,
            None,
            ProblemCode::NoHeaderRow,
            "找不到表头行：前30行中没有一行含有至少两个可识别的列名（如“姓名”“身份证号”）".into(),
            "No header row found: none of the first 30 rows has two recognised column names (such as 姓名, 身份证号)".into(),
            String::new(),
        );
    }

    /// Required columns that are missing, and repeated columns.
    pub fn column_problems(&mut self, header_row: usize, columns: &Columns) {
        let full_address = columns.index(LedgerColumn::FullAddress).is_some();
        for field in REQUIRED_COLUMNS {
            let stands_in = full_address && field != LedgerColumn::Name;
            if columns.index(field).is_none() && !stands_in {
                self.missing_columns = true;
                self.at(
                    header_row + 1,
                    Some(field),
                    ProblemCode::MissingColumn,
                    format!("缺少必需的列“{}”，请添加该列或在列对应中指定", field.zh()),
                    format!(
                        "The required column \"{}\" ({}) is missing: add it or choose it in the column mapping",
                        field.zh(),
                        field.en()
                    ),
                    String::new(),
                );
            }
        }
        for &index in &columns.repeated {
            let header = columns
                .info(index)
                .map(|i| i.header.clone())
                .unwrap_or_default();
            self.order.push((header_row + 1, index));
            self.list.push(RowProblem {
                sheet: String::new(),
                row: header_row + 1,
                column_letter: column_letter(index),
                header: header.clone(),
                field: None,
                code: ProblemCode::DuplicateColumn,
                message_zh: format!("列“{header}”与前面的列内容相同，此列将被忽略"),
                message_en: format!(
                    "Column \"{header}\" holds the same field as an earlier column and is ignored"
                ),
                value: String::new(),
            });
        }
    }

    pub fn has_missing_columns(&self) -> bool {
        self.missing_columns
    }

    /// Spreadsheet rows (1-based) with at least one problem.
    pub fn rows_with_problems(&self) -> BTreeSet<usize> {
        self.list.iter().map(|p| p.row).collect()
    }

    /// The problems by row and column, each (row, column, code) once.
    pub fn finish(self) -> Vec<RowProblem> {
        let mut indexed: Vec<_> = self.order.into_iter().zip(self.list).collect();
        indexed.sort_by_key(|(key, _)| *key);
        let mut seen = HashSet::new();
        indexed
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| seen.insert((p.row, p.column_letter.clone(), p.field, p.code)))
            .collect()
    }
}

/// Columns without which no household can be built.
pub const REQUIRED_COLUMNS: [LedgerColumn; 4] = [
    LedgerColumn::Name,
    LedgerColumn::Building,
    LedgerColumn::Unit,
    LedgerColumn::Room,
];
