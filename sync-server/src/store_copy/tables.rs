//! What `store copy` moves: every table that holds the district's state, in an order that
//! satisfies the foreign keys (users first), with its key (the copy reads in key order
//! and resumes after the last key it wrote) and its columns' kinds (how a value is read
//! and written on each backend). Extend [`TABLES`] when a migration adds state; the test
//! `every_table_is_copied_or_said_why_not` fails until a new table is in one list or the
//! other.

/// How a column's value is held: SQLite stores uuids and JSON as TEXT and booleans as
/// 0/1; PostgreSQL as uuid, jsonb and boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Bytes,
    Uuid,
    Json,
    Bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
}

const fn c(name: &'static str, kind: Kind) -> Col {
    Col { name, kind }
}

/// Which SQLite file a table lives in (PostgreSQL has one database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    /// `district.sqlite`
    District,
    /// `blobs.sqlite` beside it (photo bytes).
    Blobs,
}

/// How a table is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rows added in key order, in batches; resumed after the last key written.
    Rows,
    /// Small settings a fresh store already fills (the default departments, the store's
    /// own meta keys): the target's rows are replaced by the source's in one transaction.
    Replace,
}

#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub file: File,
    pub mode: Mode,
    /// The first `key` columns are the primary key, the copy's order.
    pub key: usize,
    pub cols: &'static [Col],
    /// Rows per batch (photo bytes are large).
    pub batch: usize,
    /// PostgreSQL numbers these rows itself (`GENERATED ALWAYS AS IDENTITY`): the copy
    /// keeps the source's numbers (OVERRIDING SYSTEM VALUE) and moves the identity past
    /// them; on SQLite, AUTOINCREMENT follows an explicit id by itself.
    pub pg_identity: bool,
}

impl Table {
    pub fn key_cols(&self) -> &'static [Col] {
        &self.cols[..self.key]
    }
}

use File::{Blobs, District};
use Kind::{Bool, Bytes, Int, Json, Text, Uuid};
use Mode::{Replace, Rows};

const fn rows(name: &'static str, key: usize, cols: &'static [Col]) -> Table {
    Table {
        name,
        file: District,
        mode: Rows,
        key,
        cols,
        batch: 500,
        pg_identity: false,
    }
}

const fn identity(t: Table) -> Table {
    Table {
        pg_identity: true,
        ..t
    }
}

/// `meta` keys that belong to one store, not to the district: never copied, never
/// replaced on the target ("projection.version": which projection columns the SQLite
/// store has filled; the target's own open wrote its value).
pub const META_OWN_KEYS: &[&str] = &["projection.version"];

/// The tables copied, in order (parents before the rows that reference them).
pub const TABLES: &[Table] = &[
    rows(
        "users",
        1,
        &[
            c("user_id", Text),
            c("username", Text),
            c("display_name", Text),
            c("role", Text),
            c("password_hash", Text),
            c("key_persons", Bool),
            c("created_at", Int),
        ],
    ),
    rows("user_grids", 2, &[c("user_id", Text), c("grid_id", Text)]),
    rows("user_areas", 2, &[c("user_id", Text), c("area_code", Text)]),
    rows(
        "enrollments",
        1,
        &[
            c("code_hash", Text),
            c("user_id", Text),
            c("created_at", Int),
            c("expires_at", Int),
            c("used_at", Int),
            c("device_id", Text),
            c("device_key_hash", Text),
        ],
    ),
    rows(
        "devices",
        1,
        &[
            c("device_id", Text),
            c("user_id", Text),
            c("name", Text),
            c("token_hash", Text),
            c("enrolled_at", Int),
            c("revoked_at", Int),
            c("last_sync_at", Int),
        ],
    ),
    // On SQLite a document is a snapshot plus incremental chunks (doc_chunks): the copy
    // folds the chunks into one saved form (sides.rs), checked against the stored heads.
    rows(
        "docs",
        1,
        &[
            c("doc_id", Uuid),
            c("kind", Text),
            c("grid_id", Text),
            c("snapshot", Bytes),
            c("heads", Text),
            c("updated_at", Int),
        ],
    ),
    // `seq` kept: every device's cursor stays valid on the target. PostgreSQL's
    // changes_seq is moved past the largest one at the end.
    rows(
        "changes",
        1,
        &[
            c("seq", Int),
            c("hash", Text),
            c("doc_id", Uuid),
            c("kind", Text),
            c("grid_id", Text),
            c("bytes", Bytes),
            c("author_user", Text),
            c("author_device", Text),
            c("pushed_by", Text),
            c("received_at", Int),
        ],
    ),
    identity(rows(
        "sync_log",
        1,
        &[
            c("id", Int),
            c("device_id", Text),
            c("user_id", Text),
            c("started_at", Int),
            c("duration_ms", Int),
            c("docs_in", Int),
            c("changes_in", Int),
            c("docs_out", Int),
            c("changes_out", Int),
            c("bytes_in", Int),
            c("bytes_out", Int),
            c("conflicts", Int),
            c("rejected", Int),
            c("errors", Json),
        ],
    )),
    identity(rows(
        "handovers",
        1,
        &[
            c("id", Int),
            c("device_id", Text),
            c("user_id", Text),
            c("doc_id", Uuid),
            c("kind", Text),
            c("grid_id", Text),
            c("hashes", Text),
            c("changes", Bytes),
            c("change_count", Int),
            c("fields", Json),
            c("received_at", Int),
        ],
    )),
    // Append-only on both backends: the copy only ever INSERTs here.
    identity(rows(
        "audit_log",
        1,
        &[
            c("id", Int),
            c("at", Int),
            c("user_id", Text),
            c("username", Text),
            c("role", Text),
            c("kind", Text),
            c("detail", Json),
        ],
    )),
    identity(rows(
        "import_runs",
        1,
        &[
            c("id", Int),
            c("at", Int),
            c("user_id", Text),
            c("username", Text),
            c("file_name", Text),
            c("file_sha256", Text),
            c("mode", Text),
            c("rows_total", Int),
            c("rows_valid", Int),
            c("problems", Int),
            c("imported_households", Int),
            // Text on both: PostgreSQL's migration 005 keeps the report as its JSON text.
            c("report", Text),
        ],
    )),
    rows(
        "import_bases",
        1,
        &[c("doc_id", Text), c("ledger", Text), c("run_at", Int)],
    ),
    rows(
        "photo_refs",
        2,
        &[c("sha256", Text), c("doc_id", Uuid), c("grid_id", Text)],
    ),
    Table {
        mode: Replace,
        ..rows(
            "area_tree",
            1,
            &[c("id", Int), c("tree", Json), c("updated_at", Int)],
        )
    },
    Table {
        mode: Replace,
        ..rows(
            "departments",
            1,
            &[c("code", Text), c("zh", Text), c("en", Text)],
        )
    },
    Table {
        mode: Replace,
        ..rows("meta", 1, &[c("key", Text), c("value", Text)])
    },
    Table {
        file: Blobs,
        batch: 4,
        ..rows(
            "blobs",
            1,
            &[
                c("sha256", Text),
                c("bytes", Bytes),
                c("thumb", Bytes),
                c("size", Int),
                c("device_id", Text),
                c("stored_at", Int),
            ],
        )
    },
    // Uploads under way: copied so that a device resumes its upload where it was.
    Table {
        file: Blobs,
        batch: 4,
        ..rows(
            "blob_parts",
            1,
            &[
                c("sha256", Text),
                c("bytes", Bytes),
                c("total", Int),
                c("device_id", Text),
                c("updated_at", Int),
            ],
        )
    },
];

/// Tables of either backend that are not copied, and why.
pub const NOT_COPIED: &[(&str, &str)] = &[
    // Console sign-ins, lockout counters and rate-limit windows are minutes-long state
    // tied to the running servers: a move is a maintenance window with every server
    // stopped; users sign in again and counters start afresh, as after a restart of a
    // store without them.
    (
        "console_sessions",
        "sign-ins: users sign in again after a move",
    ),
    ("login_failures", "lockout counters of the last 15 minutes"),
    ("rate_limits", "per-minute request windows"),
    // Derived from the documents: rebuilt on the target from the copied documents, so
    // they are exactly what the target's own code derives (its columns, its version).
    ("households", "projection: rebuilt from the documents"),
    ("persons", "projection: rebuilt from the documents"),
    ("visits", "projection: rebuilt from the documents"),
    ("issues", "projection: rebuilt from the documents"),
    ("key_persons", "projection: rebuilt from the documents"),
    (
        "id_number_holders",
        "projection: kept by triggers on persons",
    ),
    ("doc_chunks", "folded into each document's saved form"),
    // The device's side of the shared SQLite schema: empty in a district store.
    ("outbox", "device only"),
    ("photos", "device only"),
    ("photo_uploads", "device only"),
    ("push_rejections", "device only"),
    // Each store's own bookkeeping.
    ("schema_migrations", "PostgreSQL's migration record"),
    ("store_copy", "the copy's own progress record"),
    ("sqlite_sequence", "SQLite's AUTOINCREMENT bookkeeping"),
];

/// The projection tables: rebuilt on the target from the copied documents, then counted
/// on both sides by the verification.
pub const DERIVED: &[&str] = &["households", "persons", "visits", "issues", "key_persons"];

/// The progress record on the target: one row per table copied.
pub const PROGRESS_TABLE: &str = "store_copy";

pub fn find(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_leading_columns_and_batches_are_positive() {
        for t in TABLES {
            assert!(t.key >= 1 && t.key <= t.cols.len(), "{}", t.name);
            assert!(t.batch >= 1, "{}", t.name);
            for k in t.key_cols() {
                assert!(
                    matches!(k.kind, Kind::Text | Kind::Int | Kind::Uuid),
                    "{}: a key must be text, integer or uuid",
                    t.name
                );
            }
        }
    }

    #[test]
    fn no_table_is_both_copied_and_skipped() {
        for t in TABLES {
            assert!(!NOT_COPIED.iter().any(|(n, _)| *n == t.name), "{}", t.name);
        }
    }
}
