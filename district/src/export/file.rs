//! An export written to a file together with its audit entry, on either backend: the only
//! way to get a ledger file out of the store, so every file that exists has its entry. The file is
//! written under a temporary name and renamed when complete; the entry is appended after
//! the rename (and the file removed if the entry cannot be written). A failed or refused
//! export leaves no file and an entry saying what failed.

use super::{ExportFilter, ExportStore, PiiMode};
use crate::audit::{AuditEntry, AuditKind};
use crate::console::ConsoleScope;
use crate::{Result, StoreError};
use gridwalk_core::ledger::{LedgerColumn, LedgerRow};
pub use gridwalk_ledger::write::ExportFormat;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub format: ExportFormat,
    pub rows: u64,
    pub households: u64,
    pub bytes: u64,
    pub masked: bool,
    /// The id of the audit entry recording this export.
    pub audit_id: i64,
}

fn file_err(path: &Path) -> impl Fn(gridwalk_ledger::LedgerError) -> StoreError + '_ {
    move |e| StoreError::Export(format!("{}: {e}", path.display()))
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Export(format!("{}: {e}", path.display()))
}

/// Exports to files, on every [`ExportStore`].
pub trait ExportFiles: ExportStore {
    /// Export the ledger rows `filter` selects within `scope` to `path` in `format`, and
    /// record it in the audit log (see the module doc). `now_ms` is the entry's time.
    fn export_to_file(
        &self,
        filter: &ExportFilter,
        scope: &ConsoleScope,
        pii: PiiMode,
        format: ExportFormat,
        path: &Path,
        now_ms: i64,
    ) -> Result<ExportSummary> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut detail = serde_json::json!({
            "format": format,
            "file_name": file_name,
            "filters": filter,
            "masked": pii.is_masked(),
            "reason": pii.reason(),
        });
        let written = write_export(self, filter, scope, pii, format, path);
        match written {
            Ok((rows, households, bytes)) => {
                detail["rows"] = rows.into();
                detail["households"] = households.into();
                detail["bytes"] = bytes.into();
                let entry = AuditEntry::by(scope, AuditKind::Export, now_ms, detail.clone());
                match self.audit_append(&entry) {
                    Ok(audit_id) => Ok(ExportSummary {
                        path: path.to_path_buf(),
                        format,
                        rows,
                        households,
                        bytes,
                        masked: detail["masked"].as_bool().unwrap_or(true),
                        audit_id,
                    }),
                    Err(e) => {
                        // No entry, no file.
                        let _ = fs::remove_file(path);
                        Err(e)
                    }
                }
            }
            Err(e) => {
                detail["error"] = e.to_string().into();
                detail["rows"] = 0.into();
                let entry = AuditEntry::by(scope, AuditKind::Export, now_ms, detail);
                self.audit_append(&entry)?;
                Err(e)
            }
        }
    }
}

impl<T: ExportStore + ?Sized> ExportFiles for T {}

/// Write the file; (rows, households, bytes).
fn write_export<S: ExportStore + ?Sized>(
    store: &S,
    filter: &ExportFilter,
    scope: &ConsoleScope,
    pii: PiiMode,
    format: ExportFormat,
    path: &Path,
) -> Result<(u64, u64, u64)> {
    // Refuse before any file is created.
    store.check_pii_mode(scope, &pii)?;
    let partial = partial_path(path);
    let result = write_partial(store, filter, scope, pii, format, &partial, path);
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

/// Write `partial`, then rename it to `path`; (rows, households, bytes).
fn write_partial<S: ExportStore + ?Sized>(
    store: &S,
    filter: &ExportFilter,
    scope: &ConsoleScope,
    pii: PiiMode,
    format: ExportFormat,
    partial: &Path,
    path: &Path,
) -> Result<(u64, u64, u64)> {
    let file = File::create_new(partial).map_err(io_err(partial))?;
    let mut sink = format.sink(file).map_err(file_err(path))?;
    let mut households = 0u64;
    let mut last_household = String::new();
    let rows = store.export_ledger(filter, scope, pii, &mut |row: &LedgerRow| {
        let id = row.get(LedgerColumn::HouseholdId);
        if id != last_household {
            households += 1;
            last_household = id.to_string();
        }
        sink.row(row).map_err(file_err(path))
    })?;
    sink.finish().map_err(file_err(path))?;
    File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io_err(partial))?;
    fs::rename(partial, path).map_err(io_err(path))?;
    let bytes = fs::metadata(path).map_err(io_err(path))?.len();
    Ok((rows, households, bytes))
}

/// `dir/.name.<random>.part`: beside the target, so the rename stays on one file system.
fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    path.with_file_name(format!(".{name}.{}.part", uuid::Uuid::new_v4().simple()))
}
