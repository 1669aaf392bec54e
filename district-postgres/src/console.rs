//! The console's rows on PostgreSQL: [`ConsoleStore`] and [`AuditStore`] for
//! [`PgDistrict`]. The sign-in flow, lockout and scope rule are gridwalk-district's, as on
//! SQLite. Every counter is read `FOR UPDATE` inside its write transaction, so attempts
//! through different servers are counted one after the other.

use crate::{db, PgDistrict, Result, StoreError};
use gridwalk_district::audit::{check_entry, AuditEntry, AuditKind, AuditQuery, AuditStore};
use gridwalk_district::console::lockout::{self, Attempt, Failures, RateWindow};
use gridwalk_district::console::{ConsoleStore, Credentials, NewSession, ScopeRows};
use postgres::types::ToSql;
use uuid::Uuid;

/// One text column of the rows `sql` selects for `id`.
fn column(tx: &mut postgres::Transaction<'_>, sql: &str, id: &str) -> Result<Vec<String>> {
    let rows = tx.query(sql, &[&id]).map_err(db)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

impl ConsoleStore for PgDistrict {
    fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT user_id, role, password_hash FROM users WHERE username = $1",
                    &[&username],
                )
                .map_err(db)?
                .map(|r| Credentials {
                    user_id: r.get(0),
                    role: r.get(1),
                    password_hash: r.get(2),
                }))
        })
    }

    fn reserve_attempts(&self, keys: &[(String, i64)], now_ms: i64) -> Result<Option<i64>> {
        self.write(|tx| {
            let mut locked = None;
            for (key, max) in keys {
                // A row to lock even for a first attempt: two servers counting the same
                // key's first failure wait for each other instead of both writing 1.
                tx.execute(
                    "INSERT INTO login_failures (key, failures, first_failure_at)
                     VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING",
                    &[key, &now_ms],
                )
                .map_err(db)?;
                let r = tx
                    .query_one(
                        "SELECT failures, first_failure_at, locked_until FROM login_failures
                         WHERE key = $1 FOR UPDATE",
                        &[key],
                    )
                    .map_err(db)?;
                let row = Failures {
                    failures: r.get(0),
                    first_failure_at: r.get(1),
                    locked_until: r.get(2),
                };
                match lockout::attempt(Some(row), *max, now_ms) {
                    Attempt::Locked(until) => {
                        locked.get_or_insert(until);
                    }
                    Attempt::Count(f) => {
                        tx.execute(
                            "UPDATE login_failures SET failures = $2, first_failure_at = $3,
                                locked_until = $4 WHERE key = $1",
                            &[key, &f.failures, &f.first_failure_at, &f.locked_until],
                        )
                        .map_err(db)?;
                    }
                }
            }
            Ok(locked)
        })
    }

    fn locked_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT locked_until FROM login_failures WHERE key = $1",
                    &[&key],
                )
                .map_err(db)?
                .and_then(|r| r.get::<_, Option<i64>>(0))
                .filter(|u| *u > now_ms))
        })
    }

    fn open_session(&self, s: &NewSession) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM login_failures WHERE key = $1",
                &[&s.username_key],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = $1",
                &[&s.address_key],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM console_sessions WHERE expires_at < $1",
                &[&s.created_at],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &s.token_hash,
                    &s.user_id,
                    &s.csrf,
                    &s.created_at,
                    &s.expires_at,
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn session_row(&self, token_hash: &str) -> Result<Option<(String, String, i64)>> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT user_id, csrf, expires_at FROM console_sessions
                     WHERE token_hash = $1",
                    &[&token_hash],
                )
                .map_err(db)?
                .map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM console_sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn scope_rows(&self, user_id: &str) -> Result<Option<ScopeRows>> {
        self.read(|tx| {
            let Some(u) = tx
                .query_opt(
                    "SELECT username, display_name, role, key_persons FROM users
                     WHERE user_id = $1",
                    &[&user_id],
                )
                .map_err(db)?
            else {
                return Ok(None);
            };
            let grids = column(
                tx,
                "SELECT grid_id FROM user_grids WHERE user_id = $1 ORDER BY grid_id",
                user_id,
            )?;
            let areas = column(
                tx,
                "SELECT area_code FROM user_areas WHERE user_id = $1 ORDER BY area_code",
                user_id,
            )?;
            Ok(Some(ScopeRows {
                username: u.get(0),
                display_name: u.get(1),
                role: u.get(2),
                key_person_grant: u.get(3),
                grids,
                areas,
            }))
        })
    }

    fn store_password_hash(&self, username: &str, phc: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = $2 WHERE username = $1",
                    &[&username, &phc],
                )
                .map_err(db)?;
            // Whoever knew the old password is signed out: every open session ends.
            tx.execute(
                "DELETE FROM console_sessions
                 WHERE user_id = (SELECT user_id FROM users WHERE username = $1)",
                &[&username],
            )
            .map_err(db)?;
            Ok(n > 0)
        })
    }

    /// Workers never hold it and admins always do, so only supervisors take the grant.
    fn set_key_person_grant(&self, user_id: &str, granted: bool) -> Result<()> {
        let n = self.write(|tx| {
            tx.execute(
                "UPDATE users SET key_persons = $2 WHERE user_id = $1 AND role = 'supervisor'",
                &[&user_id, &granted],
            )
            .map_err(db)
        })?;
        match n {
            0 => Err(StoreError::BadRequest(format!(
                "no supervisor {user_id}: only a supervisor takes the key-person grant"
            ))),
            _ => Ok(()),
        }
    }

    fn add_user_area(&self, user_id: &str, area_code: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO user_areas (user_id, area_code) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&user_id, &area_code],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn console_device_id(&self) -> Result<Uuid> {
        let fresh = Uuid::now_v7().to_string();
        // The first server to ask makes it; every other one reads the same value.
        let id: String = self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('console.device_id', $1)
                 ON CONFLICT (key) DO NOTHING",
                &[&fresh],
            )
            .map_err(db)?;
            Ok(tx
                .query_one(
                    "SELECT value FROM meta WHERE key = 'console.device_id'",
                    &[],
                )
                .map_err(db)?
                .get(0))
        })?;
        Uuid::parse_str(&id)
            .map_err(|e| StoreError::BadRequest(format!("meta console.device_id: {e}")))
    }

    fn rate_window(
        &self,
        key: &str,
        hit: &dyn Fn(Option<RateWindow>) -> (RateWindow, bool),
    ) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO rate_limits (key, window_start, hits, previous_hits)
                 VALUES ($1, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
                &[&key],
            )
            .map_err(db)?;
            let r = tx
                .query_one(
                    "SELECT window_start, hits, previous_hits FROM rate_limits
                     WHERE key = $1 FOR UPDATE",
                    &[&key],
                )
                .map_err(db)?;
            let row = RateWindow {
                window_start: r.get(0),
                hits: r.get(1),
                previous_hits: r.get(2),
            };
            let (w, allowed) = hit(Some(row));
            if !allowed && row == w {
                return Ok(false);
            }
            tx.execute(
                "UPDATE rate_limits SET window_start = $2, hits = $3, previous_hits = $4
                 WHERE key = $1",
                &[&key, &w.window_start, &w.hits, &w.previous_hits],
            )
            .map_err(db)?;
            // Idle addresses are forgotten so the table stays small.
            tx.execute(
                "DELETE FROM rate_limits WHERE window_start < $1",
                &[&(w.window_start - 2 * lockout::RATE_WINDOW_MS)],
            )
            .map_err(db)?;
            Ok(allowed)
        })
    }
}

impl AuditStore for PgDistrict {
    fn audit_append(&self, entry: &AuditEntry) -> Result<i64> {
        check_entry(entry)?;
        self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO audit_log (at, user_id, username, role, kind, detail)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &entry.at,
                        &entry.user_id,
                        &entry.username,
                        &entry.role,
                        &entry.kind.as_str(),
                        &entry.detail,
                    ],
                )
                .map_err(db)?
                .get(0))
        })
    }

    fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT id, at, user_id, username, role, kind, detail FROM audit_log WHERE true",
        );
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut add = |cond: &str, v: Box<dyn ToSql + Sync>| {
            args.push(v);
            sql.push_str(&format!(
                " AND {}",
                cond.replace('?', &format!("${}", args.len()))
            ));
        };
        if let Some(kind) = q.kind {
            add("kind = ?", Box::new(kind.as_str().to_string()));
        }
        if let Some(user) = &q.user {
            add("(user_id = ? OR username = ?)", Box::new(user.clone()));
        }
        if let Some(since) = q.since {
            add("at >= ?", Box::new(since));
        }
        if let Some(until) = q.until {
            add("at < ?", Box::new(until));
        }
        if let Some(before) = q.before_id {
            add("id < ?", Box::new(before));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", q.page_size()));
        self.read(|tx| {
            let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
            let rows = tx.query(&sql, &params).map_err(db)?;
            Ok(rows
                .iter()
                .filter_map(|r| {
                    // An entry of a kind this version does not know is skipped.
                    let kind = AuditKind::parse(r.get::<_, &str>(5))?;
                    Some(AuditEntry {
                        id: r.get(0),
                        at: r.get(1),
                        user_id: r.get(2),
                        username: r.get(3),
                        role: r.get(4),
                        kind,
                        detail: r.get(6),
                    })
                })
                .collect())
        })
    }
}
