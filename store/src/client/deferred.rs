//! A first download builds the device's secondary indexes once, after its last page,
//! rather than page by page.
//!
//! Documents arrive in id order, so the tables and their id indexes grow at their ends;
//! but a visit's household or an address arrives in random order, and each page (one
//! transaction) added keys all over these indexes: their pages were written again by
//! every page of the download, and on a device every page written is encrypted and MACed
//! (issue 14). An index built after the last page is written once.
//!
//! Crash-safe: the indexes are dropped in the transaction of the download's first page
//! and created again in the transaction of its last, and [`ensure`] creates whatever is
//! missing when a store opens and when a sync ends (an interrupted download), so no query
//! runs long without them.

use crate::Result;
use rusqlite::Connection;

/// The device's indexes on keys that a first download inserts in random order, as the
/// migrations create them (002).
const DEFERRED: &[(&str, &str)] = &[
    (
        "households_addr",
        "CREATE INDEX IF NOT EXISTS households_addr
            ON households (grid_id, building_no, unit, floor, room)",
    ),
    (
        "visits_household",
        "CREATE INDEX IF NOT EXISTS visits_household ON visits (household_id, at)",
    ),
    (
        "issues_grid_state",
        "CREATE INDEX IF NOT EXISTS issues_grid_state ON issues (grid_id, state)",
    ),
    (
        "issues_household",
        "CREATE INDEX IF NOT EXISTS issues_household ON issues (household_id)",
    ),
];

/// Drop the deferred indexes for a first download that will take more than one page:
/// only while the store holds no document (so nothing but this download runs without
/// them).
pub(crate) fn drop_for_first_download(tx: &Connection) -> Result<bool> {
    let empty: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM docs)", [], |r| r.get(0))?;
    if !empty {
        return Ok(false);
    }
    for (name, _) in DEFERRED {
        tx.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(true)
}

/// Create whichever deferred index is missing (nothing is written when all exist).
pub(crate) fn ensure(conn: &Connection) -> Result<()> {
    let missing: i64 = conn.query_row(
        "SELECT count(*) FROM json_each(?1)
         WHERE value NOT IN (SELECT name FROM sqlite_master WHERE type = 'index')",
        [
            serde_json::to_string(&DEFERRED.iter().map(|(n, _)| n).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into()),
        ],
        |r| r.get(0),
    )?;
    if missing > 0 {
        for (_, sql) in DEFERRED {
            conn.execute_batch(sql)?;
        }
    }
    Ok(())
}
