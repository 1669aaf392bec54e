//! What the app keeps beside the store's own tables: the local audit log of reveals, and
//! drafts of half-filled forms (in the store's meta table, so they survive a crash).

use crate::dto::AuditEntry;
use crate::error::AppResult;
use gridwalk_store::Store;
use rusqlite::params;

// The store drops a dropped grid's drafts by this prefix (a worker moved to another grid).
const DRAFT_PREFIX: &str = gridwalk_store::DRAFT_META_PREFIX;

/// Create the app's own tables (idempotent).
pub fn init(store: &Store) -> AppResult<()> {
    store.connection().execute_batch(
        "CREATE TABLE IF NOT EXISTS app_audit (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            user_id TEXT NOT NULL,
            household_id TEXT NOT NULL,
            person_id TEXT,
            field TEXT NOT NULL,
            reason TEXT NOT NULL
        );",
    )?;
    Ok(())
}

pub fn record_reveal(store: &Store, e: &AuditEntry) -> AppResult<()> {
    store.connection().execute(
        "INSERT INTO app_audit (at, user_id, household_id, person_id, field, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            e.at,
            e.user_id,
            e.household_id,
            e.person_id,
            e.field,
            e.reason
        ],
    )?;
    Ok(())
}

pub fn reveals(store: &Store, limit: u32) -> AppResult<Vec<AuditEntry>> {
    let mut stmt = store.connection().prepare(
        "SELECT at, user_id, household_id, person_id, field, reason FROM app_audit
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(AuditEntry {
            at: r.get(0)?,
            user_id: r.get(1)?,
            household_id: r.get(2)?,
            person_id: r.get(3)?,
            field: r.get(4)?,
            reason: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn draft_key(key: &str) -> String {
    format!("{DRAFT_PREFIX}{key}")
}

pub fn save_draft(store: &mut Store, key: &str, json: &str) -> AppResult<()> {
    store.meta_set(&draft_key(key), json)?;
    Ok(())
}

pub fn load_draft(store: &Store, key: &str) -> AppResult<Option<String>> {
    Ok(store.meta_get(&draft_key(key))?)
}

pub fn clear_draft(store: &Store, key: &str) -> AppResult<()> {
    store
        .connection()
        .execute("DELETE FROM meta WHERE key = ?1", [draft_key(key)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_and_reveals_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            init(&s).unwrap();
            save_draft(&mut s, "visit:h1", r#"{"findings":"半句话"}"#).unwrap();
            record_reveal(
                &s,
                &AuditEntry {
                    at: 1,
                    user_id: "u".into(),
                    household_id: "h1".into(),
                    person_id: None,
                    field: "Phone".into(),
                    reason: "回访".into(),
                },
            )
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        init(&s).unwrap();
        assert_eq!(
            load_draft(&s, "visit:h1").unwrap().as_deref(),
            Some(r#"{"findings":"半句话"}"#)
        );
        clear_draft(&s, "visit:h1").unwrap();
        assert_eq!(load_draft(&s, "visit:h1").unwrap(), None);
        assert_eq!(reveals(&s, 10).unwrap().len(), 1);
    }
}
