//! The console's rows on SQLite: [`ConsoleStore`] for [`SqliteDistrict`]. The sign-in
//! flow, the lockout and the scope rule are gridwalk-district's (`console`), the same on
//! PostgreSQL; this file reads and writes `users`, `console_sessions`, `login_failures`,
//! `user_areas` and `rate_limits`.

use super::SqliteDistrict;
use crate::{Result, StoreError};
pub use gridwalk_district::console::lockout::{
    Attempt, Failures, RateWindow, ADDRESS_LOCKOUT_FAILURES, LOCKOUT_FAILURES, LOCKOUT_MS,
};
pub use gridwalk_district::console::password::MAX_PASSWORD_BYTES;
use gridwalk_district::console::{lockout, Credentials, NewSession, ScopeRows};
pub use gridwalk_district::console::{
    ConsoleError, ConsoleScope, ConsoleSession, ConsoleStore, MAX_USERNAME_CHARS,
};
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

impl ConsoleStore for SqliteDistrict {
    fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT user_id, role, password_hash FROM users WHERE username = ?1",
                    [username],
                    |r| {
                        Ok(Credentials {
                            user_id: r.get(0)?,
                            role: r.get(1)?,
                            password_hash: r.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn reserve_attempts(&self, keys: &[(String, i64)], now_ms: i64) -> Result<Option<i64>> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let mut locked = None;
            for (key, max) in keys {
                let row = tx
                    .query_row(
                        "SELECT failures, first_failure_at, locked_until FROM login_failures
                         WHERE username = ?1",
                        [key],
                        |r| {
                            Ok(Failures {
                                failures: r.get(0)?,
                                first_failure_at: r.get(1)?,
                                locked_until: r.get(2)?,
                            })
                        },
                    )
                    .optional()?;
                match lockout::attempt(row, *max, now_ms) {
                    Attempt::Locked(until) => {
                        locked.get_or_insert(until);
                    }
                    Attempt::Count(f) => {
                        tx.execute(
                            "INSERT INTO login_failures
                                (username, failures, first_failure_at, locked_until)
                             VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (username) DO UPDATE SET failures = excluded.failures,
                                first_failure_at = excluded.first_failure_at,
                                locked_until = excluded.locked_until",
                            params![key, f.failures, f.first_failure_at, f.locked_until],
                        )?;
                    }
                }
            }
            tx.commit()?;
            Ok(locked)
        })
    }

    fn locked_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT locked_until FROM login_failures WHERE username = ?1",
                    [key],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .optional()?
                .flatten()
                .filter(|u| *u > now_ms))
        })
    }

    fn open_session(&self, s: &NewSession) -> Result<()> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            tx.execute(
                "DELETE FROM login_failures WHERE username = ?1",
                [&s.username_key],
            )?;
            tx.execute(
                "UPDATE login_failures SET failures = MAX(failures - 1, 0) WHERE username = ?1",
                [&s.address_key],
            )?;
            tx.execute(
                "DELETE FROM console_sessions WHERE expires_at < ?1",
                [s.created_at],
            )?;
            tx.execute(
                "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.user_id, s.csrf, s.created_at, s.expires_at],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn session_row(&self, token_hash: &str) -> Result<Option<(String, String, i64)>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT user_id, csrf, expires_at FROM console_sessions WHERE token_hash = ?1",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.with_writer(|store| {
            store.conn.execute(
                "DELETE FROM console_sessions WHERE token_hash = ?1",
                [token_hash],
            )?;
            Ok(())
        })
    }

    fn scope_rows(&self, user_id: &str) -> Result<Option<ScopeRows>> {
        self.with_reader(|conn| {
            let user: Option<(String, String, String, bool)> = conn
                .query_row(
                    "SELECT username, display_name, role, key_persons FROM users
                     WHERE user_id = ?1",
                    [user_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((username, display_name, role, key_person_grant)) = user else {
                return Ok(None);
            };
            let mut stmt =
                conn.prepare_cached("SELECT grid_id FROM user_grids WHERE user_id = ?1")?;
            let grids = stmt
                .query_map([user_id], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            let mut stmt =
                conn.prepare_cached("SELECT area_code FROM user_areas WHERE user_id = ?1")?;
            let areas = stmt
                .query_map([user_id], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            Ok(Some(ScopeRows {
                username,
                display_name,
                role,
                key_person_grant,
                grids,
                areas,
            }))
        })
    }

    fn store_password_hash(&self, username: &str, phc: &str) -> Result<bool> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                params![username, phc],
            )?;
            // Whoever knew the old password is signed out: every open session ends.
            tx.execute(
                "DELETE FROM console_sessions
                 WHERE user_id = (SELECT user_id FROM users WHERE username = ?1)",
                [username],
            )?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    /// Workers never hold it and admins always do, so only supervisors take the grant.
    fn set_key_person_grant(&self, user_id: &str, granted: bool) -> Result<()> {
        self.with_writer(|store| {
            let n = store.conn.execute(
                "UPDATE users SET key_persons = ?2 WHERE user_id = ?1 AND role = 'supervisor'",
                params![user_id, granted],
            )?;
            match n {
                0 => Err(StoreError::BadRequest(format!(
                    "no supervisor {user_id}: only a supervisor takes the key-person grant"
                ))),
                _ => Ok(()),
            }
        })
    }

    fn add_user_area(&self, user_id: &str, area_code: &str) -> Result<()> {
        self.with_writer(|store| {
            store.conn.execute(
                "INSERT OR IGNORE INTO user_areas (user_id, area_code) VALUES (?1, ?2)",
                params![user_id, area_code],
            )?;
            Ok(())
        })
    }

    fn console_device_id(&self) -> Result<Uuid> {
        const KEY: &str = "console.device_id";
        self.with_writer(|store| {
            if let Some(id) = store.meta_get(KEY)?.and_then(|s| Uuid::parse_str(&s).ok()) {
                return Ok(id);
            }
            let id = Uuid::now_v7();
            store.meta_set(KEY, &id.to_string())?;
            Ok(id)
        })
    }

    fn rate_window(
        &self,
        key: &str,
        hit: &dyn Fn(Option<RateWindow>) -> (RateWindow, bool),
    ) -> Result<bool> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let row = tx
                .query_row(
                    "SELECT window_start, hits, previous_hits FROM rate_limits WHERE key = ?1",
                    [key],
                    |r| {
                        Ok(RateWindow {
                            window_start: r.get(0)?,
                            hits: r.get(1)?,
                            previous_hits: r.get(2)?,
                        })
                    },
                )
                .optional()?;
            let (w, allowed) = hit(row);
            if !allowed && row == Some(w) {
                // A refused hit changes nothing: no write, so a flood costs reads only.
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO rate_limits (key, window_start, hits, previous_hits)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start,
                    hits = excluded.hits, previous_hits = excluded.previous_hits",
                params![key, w.window_start, w.hits, w.previous_hits],
            )?;
            // Idle addresses are forgotten now and then so the table stays small.
            tx.execute(
                "DELETE FROM rate_limits WHERE window_start < ?1",
                [w.window_start - 2 * lockout::RATE_WINDOW_MS],
            )?;
            tx.commit()?;
            Ok(allowed)
        })
    }
}
