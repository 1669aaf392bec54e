//! The commands the UI invokes: thin, each a few lines over core and store.

pub mod enroll;
pub mod household;
pub mod households;
pub mod issues;
pub mod lock;
pub mod photos;
pub mod privacy;
pub mod sync;
pub mod visits;

use crate::error::{AppError, AppResult};
use gridwalk_core::DocId;

pub(crate) fn doc_id(s: &str) -> AppResult<DocId> {
    DocId::parse(s).ok_or_else(|| AppError::bad_request(format!("{s:?} is not a record id")))
}

pub(crate) fn now_ms() -> i64 {
    crate::sync_worker::now_ms()
}

/// Trimmed text, `None` when empty.
pub(crate) fn opt_text(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}
