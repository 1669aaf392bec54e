//! The issue desk's settings on PostgreSQL: [`SettingsStore`] for [`PgDistrict`].

use crate::{db, PgDistrict, Result, StoreError};
use gridwalk_district::settings::{department_in_use, Department, SettingsStore};

impl SettingsStore for PgDistrict {
    fn departments(&self) -> Result<Vec<(String, String, String)>> {
        self.read(|tx| {
            let rows = tx
                .query("SELECT code, zh, en FROM departments ORDER BY code", &[])
                .map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })
    }

    fn replace_departments(&self, deps: &[Department]) -> Result<()> {
        let listed: Vec<String> = deps.iter().map(|d| d.code.clone()).collect();
        self.write(|tx| {
            let dropped: Vec<String> = tx
                .query(
                    "SELECT code FROM departments WHERE NOT (code = ANY($1)) ORDER BY code",
                    &[&listed],
                )
                .map_err(db)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            for code in &dropped {
                // A department an issue was dispatched to stays: the issue names it.
                let used = tx
                    .query_opt(
                        "SELECT 1 FROM issues WHERE department = $1 LIMIT 1",
                        &[code],
                    )
                    .map_err(db)?
                    .is_some();
                if used {
                    return Err(StoreError::BadRequest(department_in_use(code)));
                }
                tx.execute("DELETE FROM departments WHERE code = $1", &[code])
                    .map_err(db)?;
            }
            for d in deps {
                tx.execute(
                    "INSERT INTO departments (code, zh, en) VALUES ($1, $2, $3)
                     ON CONFLICT (code) DO UPDATE SET zh = excluded.zh, en = excluded.en",
                    &[&d.code, &d.zh, &d.en],
                )
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn meta_value(&self, key: &str) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .map_err(db)?
                .map(|r| r.get(0)))
        })
    }

    fn set_meta_value(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map_err(db)?;
            Ok(())
        })
    }
}
