//! Gridwalk's domain and sync logic as pure code.
//!
//! No I/O happens here: no files, no network, no database, no clock reads except where a
//! caller passes the time in. Everything is deterministic given its inputs, which is what
//! lets the merge and workflow invariants be property-tested.

pub mod area;
pub mod authorize;
pub mod deadline;
pub mod demo;
pub mod doc;
pub mod ids;
pub mod ledger;
pub mod model;
pub mod privacy;
pub mod projection;
pub mod search_keys;
pub mod sync;
pub mod upload;
pub mod validate;
pub mod workflow;

pub use doc::{Conflict, Document, HistoryEntry, WrittenValue};
pub use ids::{Author, DocId, DocKind};

/// The one error type of the core crate.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CoreError {
    /// The document does not match its schema (a missing field, a wrong type).
    #[error("document does not match the schema: {0}")]
    Schema(String),
    /// Saved bytes could not be loaded.
    #[error("document bytes are corrupt: {0}")]
    Corrupt(String),
    /// A change received from elsewhere could not be parsed or applied.
    #[error("change #{index} is not a valid Automerge change: {reason}")]
    BadChange { index: usize, reason: String },
    /// Input failed validation; every failing field is listed.
    #[error("{0}")]
    Invalid(#[from] validate::ValidationErrors),
    /// The change's author may not make it (see [`authorize`]).
    #[error("{0}")]
    Forbidden(#[from] authorize::Forbidden),
}
