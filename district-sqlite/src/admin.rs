//! Small read-only helpers for the server's operators: a liveness probe and counts.

use super::SqliteDistrict;
use crate::Result;
use serde::{Deserialize, Serialize};

/// How much the district store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistrictStats {
    pub users: u64,
    pub devices: u64,
    pub docs: u64,
    pub households: u64,
    pub visits: u64,
    pub issues: u64,
    pub changes: u64,
    /// Highest change sequence number (0 when empty).
    pub max_seq: u64,
}

impl DistrictStats {
    /// True when nothing has been put into the store yet (no user, no document).
    pub fn is_empty(&self) -> bool {
        self.users == 0 && self.docs == 0
    }
}

impl SqliteDistrict {
    /// Does the store answer? One trivial query on a read connection.
    pub fn ping(&self) -> Result<()> {
        self.with_reader(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    /// Counts of users, devices, documents (by kind) and changes.
    pub fn stats(&self) -> Result<DistrictStats> {
        self.with_reader(|conn| {
            let count = |sql: &str| -> Result<u64> {
                let n: i64 = conn.query_row(sql, [], |r| r.get(0))?;
                Ok(n.max(0) as u64)
            };
            let kind = |k: &str| -> Result<u64> {
                let n: i64 =
                    conn.query_row("SELECT count(*) FROM docs WHERE kind = ?1", [k], |r| {
                        r.get(0)
                    })?;
                Ok(n.max(0) as u64)
            };
            Ok(DistrictStats {
                users: count("SELECT count(*) FROM users")?,
                devices: count("SELECT count(*) FROM devices")?,
                docs: count("SELECT count(*) FROM docs")?,
                households: kind("household")?,
                visits: kind("visit")?,
                issues: kind("issue")?,
                changes: count("SELECT count(*) FROM changes")?,
                max_seq: count("SELECT coalesce(max(seq), 0) FROM changes")?,
            })
        })
    }
}

impl SqliteDistrict {
    /// Create a user with a given id (an import, the demo district, whose records already
    /// name their users). Same checks as [`SqliteDistrict::create_user`].
    pub fn create_user_with_id(
        &self,
        user_id: &str,
        user: &super::NewUser,
        now_ms: i64,
    ) -> Result<()> {
        use crate::StoreError;
        use rusqlite::params;
        if !["worker", "supervisor", "admin"].contains(&user.role.as_str()) {
            return Err(StoreError::BadRequest(format!(
                "role must be worker, supervisor or admin, not {:?}",
                user.role
            )));
        }
        if user_id.trim().is_empty() {
            return Err(StoreError::BadRequest("user id must not be empty".into()));
        }
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            tx.execute(
                "INSERT INTO users (user_id, username, display_name, role, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user_id, user.username, user.display_name, user.role, now_ms],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::BadRequest(format!(
                        "username {:?} or user id {user_id} is taken",
                        user.username
                    ))
                }
                e => e.into(),
            })?;
            for g in &user.grids {
                tx.execute(
                    "INSERT OR IGNORE INTO user_grids (user_id, grid_id) VALUES (?1, ?2)",
                    params![user_id, g],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }
}

impl SqliteDistrict {
    /// Which of `ids` the store does not hold, in the order given (one read transaction).
    pub fn missing_documents(
        &self,
        ids: &[gridwalk_core::DocId],
    ) -> Result<Vec<gridwalk_core::DocId>> {
        self.with_reader(|conn| {
            let mut out = Vec::new();
            for id in ids {
                if !crate::docs::exists(conn, *id)? {
                    out.push(*id);
                }
            }
            Ok(out)
        })
    }
}
