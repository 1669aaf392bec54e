//! PostgreSQL's own migrations (district-postgres/migrations/), applied in order, each in
//! its transaction, recorded in `schema_migrations`. Servers starting together serialise
//! on an advisory lock, so each migration runs once.

use crate::{db, Conn, Result};

const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/001_sync.sql")),
    (2, include_str!("../migrations/002_console.sql")),
    (3, include_str!("../migrations/003_blobs.sql")),
    (4, include_str!("../migrations/004_projections.sql")),
    (5, include_str!("../migrations/005_ledger.sql")),
    (6, include_str!("../migrations/006_copy.sql")),
    (7, include_str!("../migrations/007_doc_chunks.sql")),
];

/// "gridwalk-migrate".
const MIGRATION_LOCK: i64 = 0x0067_7769_6d69_6772;

pub(crate) fn to_latest(conn: &mut Conn) -> Result<()> {
    let mut tx = conn.tx(|c| c.transaction())?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(db)?;
    // Each migration not yet recorded, not only those above the highest: numbers are
    // handed out to branches ahead of time, so 006 may have run before 004 exists.
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
        tx.batch_execute(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .map_err(db)?;
        tracing::info!(version, "PostgreSQL district schema migrated");
    }
    let rebuilt = crate::projection::rebuild_if_stale(&mut tx)?;
    tx.commit()?;
    if rebuilt {
        // Fresh statistics for the planner: rows written in bulk (a rebuild, a district
        // copied in) are not seen by autovacuum's ANALYZE for up to a minute, and a page
        // of a first download planned on a table believed empty sorts the whole grid
        // (28 ms instead of 0.2 ms a page, measured).
        conn.batch_execute("ANALYZE").map_err(db)?;
    }
    Ok(())
}
