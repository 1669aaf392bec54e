//! Writing exports row by row: CSV (UTF-8 with BOM, so Excel opens it as UTF-8), XLSX
//! (constant-memory worksheet) and GeoJSON (one feature per household). Every writer
//! takes rows as they stream out of the store and keeps at most one household in memory.

mod csv_sink;
mod geojson_sink;
mod xlsx_sink;

pub use csv_sink::CsvLedger;
pub use geojson_sink::GeoJsonLedger;
pub use xlsx_sink::XlsxLedger;

use crate::{LedgerError, Result};
use gridwalk_core::ledger::LedgerRow;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::str::FromStr;

/// Something export rows are written into.
pub trait LedgerSink {
    /// Write one person's row. Rows of one household arrive one after another.
    fn row(&mut self, row: &LedgerRow) -> Result<()>;
    /// Write what remains and flush; the file is complete only when this returns `Ok`.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// The file formats an export can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
    GeoJson,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::GeoJson => "geojson",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::GeoJson => "application/geo+json",
        }
    }

    /// A writer of this format into `file`.
    pub fn sink(self, file: File) -> Result<Box<dyn LedgerSink>> {
        Ok(match self {
            ExportFormat::Csv => Box::new(CsvLedger::new(file)?),
            ExportFormat::Xlsx => Box::new(XlsxLedger::new(file)?),
            ExportFormat::GeoJson => Box::new(GeoJsonLedger::new(file)?),
        })
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for ExportFormat {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            "geojson" | "json" => Ok(ExportFormat::GeoJson),
            other => Err(LedgerError::Write(format!(
                "unknown export format {other:?}: use csv, xlsx or geojson"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_name_themselves() {
        for f in [ExportFormat::Csv, ExportFormat::Xlsx, ExportFormat::GeoJson] {
            assert_eq!(f.extension().parse::<ExportFormat>().ok(), Some(f));
            assert!(!f.mime_type().is_empty());
        }
        assert!("pdf".parse::<ExportFormat>().is_err());
        assert_eq!(
            serde_json::to_string(&ExportFormat::GeoJson)
                .ok()
                .as_deref(),
            Some("\"geojson\"")
        );
    }
}
