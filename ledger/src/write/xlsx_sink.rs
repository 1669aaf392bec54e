//! XLSX: one constant-memory worksheet (rows go to a temporary file as they come, so a
//! 300,000-row ledger does not sit in memory), header bold and frozen, and every value
//! written as text: ID and phone numbers must never become numbers (Excel would round an
//! 18-digit ID to 15 significant digits), and those columns carry the text format "@"
//! so a cell edited later stays text too.

use super::LedgerSink;
use crate::{LedgerError, Result};
use gridwalk_core::ledger::{LedgerColumn, LedgerRow, LEDGER_COLUMNS};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::io::{Seek, Write};

/// Excel's last row (1,048,576 rows, the header included).
const MAX_ROWS: u32 = 1_048_576;

pub struct XlsxLedger<W: Write + Seek + Send> {
    workbook: Workbook,
    text: Format,
    next_row: u32,
    out: W,
}

fn xlsx_err(e: XlsxError) -> LedgerError {
    LedgerError::Write(format!("XLSX: {e}"))
}

/// Columns holding numbers that must stay text.
fn is_text_number(column: LedgerColumn) -> bool {
    matches!(
        column,
        LedgerColumn::IdNumber
            | LedgerColumn::Phone
            | LedgerColumn::HouseholdPhone
            | LedgerColumn::DisabilityCert
            | LedgerColumn::Room
            | LedgerColumn::Unit
    )
}

impl<W: Write + Seek + Send> XlsxLedger<W> {
    /// Start the workbook and write the header row (the file is written on finish).
    pub fn new(out: W) -> Result<XlsxLedger<W>> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let text = Format::new().set_num_format("@");
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name("台账").map_err(xlsx_err)?;
        for (i, column) in LEDGER_COLUMNS.iter().enumerate() {
            let col = i as u16;
            let width = match column {
                LedgerColumn::HouseholdId => 38.0,
                LedgerColumn::IdNumber => 21.0,
                LedgerColumn::HouseholdNotes | LedgerColumn::Notes => 30.0,
                LedgerColumn::Phone | LedgerColumn::HouseholdPhone | LedgerColumn::CareTags => 15.0,
                _ => 10.0,
            };
            sheet.set_column_width(col, width).map_err(xlsx_err)?;
            sheet
                .write_string_with_format(0, col, column.zh(), &bold)
                .map_err(xlsx_err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        Ok(XlsxLedger {
            workbook,
            text,
            next_row: 1,
            out,
        })
    }
}

impl<W: Write + Seek + Send> LedgerSink for XlsxLedger<W> {
    fn row(&mut self, row: &LedgerRow) -> Result<()> {
        if self.next_row >= MAX_ROWS {
            return Err(LedgerError::Write(format!(
                "more than {} rows do not fit in one Excel sheet: export as CSV, or \
                 export fewer households at a time (filter by street or community)",
                MAX_ROWS - 1
            )));
        }
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_err)?;
        for (i, (column, value)) in LEDGER_COLUMNS.iter().zip(&row.values).enumerate() {
            if value.is_empty() {
                continue;
            }
            let col = i as u16;
            if is_text_number(*column) {
                sheet.write_string_with_format(self.next_row, col, value, &self.text)
            } else {
                sheet.write_string(self.next_row, col, value)
            }
            .map_err(xlsx_err)?;
        }
        self.next_row += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let XlsxLedger {
            mut workbook,
            mut out,
            ..
        } = *self;
        workbook.save_to_writer(&mut out).map_err(xlsx_err)?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Reader, Xlsx};
    use std::io::Cursor;

    /// Text from devices is written as a string cell, never as a formula.
    #[test]
    fn formula_text_stays_text() {
        let mut buf = Cursor::new(Vec::new());
        let mut sink = Box::new(XlsxLedger::new(&mut buf).expect("xlsx"));
        let mut row = LedgerRow::empty();
        row.set(
            LedgerColumn::Name,
            "=HYPERLINK(\"http://x.example\",\"点我\")",
        );
        row.set(LedgerColumn::Notes, "=cmd|' /C calc'!A0");
        sink.row(&row).expect("row");
        sink.finish().expect("finish");
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(buf.into_inner())).expect("opens");
        let formulas = book.worksheet_formula("台账").expect("sheet");
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "no formulas"
        );
        let values = book.worksheet_range("台账").expect("sheet");
        let texts: Vec<String> = values.used_cells().map(|(_, _, d)| d.to_string()).collect();
        assert!(texts.iter().any(|t| t == "=cmd|' /C calc'!A0"), "{texts:?}");
    }
}
