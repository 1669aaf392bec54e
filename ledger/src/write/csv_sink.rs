//! CSV: UTF-8 with a byte-order mark (Excel reads BOM-less CSV as the local code page and
//! garbles Chinese), the canonical Chinese headers, the csv crate's quoting.

use super::LedgerSink;
use crate::{LedgerError, Result};
use gridwalk_core::ledger::{LedgerRow, LEDGER_COLUMNS};
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

fn csv_err(e: csv::Error) -> LedgerError {
    LedgerError::Write(format!("CSV: {e}"))
}

impl<W: Write> LedgerSink for CsvLedger<W> {
    fn row(&mut self, row: &LedgerRow) -> Result<()> {
        self.out.write_record(&row.values).map_err(csv_err)
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
}
