//! The household ledger (台账) as a spreadsheet: one row per person, the household's
//! fields repeated on each of its members' rows. Exports write these columns and imports
//! recognise them (and the usual variants districts use), so an export imports back.

pub mod cell;
pub mod columns;
pub mod import;
pub mod row;

pub use cell::{column_letter, Cell, Table};
pub use columns::{LedgerColumn, IMPORT_COLUMNS, LEDGER_COLUMNS};
pub use import::{
    id_numbers_in, id_numbers_in_sheets, plan_import, plan_import_sheets, sheets_with_header,
    ColumnInfo, ColumnMapping, HeldBack, ImportContext, ImportPlan, PlannedHousehold, PreviewRow,
    ProblemCode, RowProblem, SkipReason, SkippedRow,
};
pub use row::LedgerRow;
