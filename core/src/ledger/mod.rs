//! The household ledger (台账) as a spreadsheet: one row per person, the household's
//! fields repeated on each of its members' rows. Exports write these columns and imports
//! recognise them (and the usual variants districts use), so an export imports back.

pub mod columns;
pub mod row;

pub use columns::{LedgerColumn, LEDGER_COLUMNS};
pub use row::LedgerRow;
