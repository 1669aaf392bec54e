//! Household ledger files (台账), at the edge of the system: reading the spreadsheets
//! districts already keep (XLSX, CSV in UTF-8 or GBK) into cells for the pure import in
//! `gridwalk_core::ledger`, and writing exports (CSV with BOM, XLSX, GeoJSON) row by row
//! so that memory stays constant however many households go out.
//!
//! Kept out of the store crate so the worker's app does not compile spreadsheet code.

pub mod read;
pub mod write;

/// What can go wrong reading or writing a ledger file.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file is not a spreadsheet we can read; the message says what and where.
    #[error("{0}")]
    Unreadable(String),
    #[error("writing the export failed: {0}")]
    Write(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
