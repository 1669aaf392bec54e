//! The issue desk's settings on SQLite: [`SettingsStore`] for [`SqliteDistrict`] (the
//! `departments` table, two meta values). Checks and defaults are gridwalk-district's.

use super::SqliteDistrict;
use crate::{Result, StoreError};
use gridwalk_district::settings::department_in_use;
pub use gridwalk_district::settings::Department;
use gridwalk_district::SettingsStore;
use rusqlite::{params, OptionalExtension};

impl SettingsStore for SqliteDistrict {
    fn departments(&self) -> Result<Vec<(String, String, String)>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare("SELECT code, zh, en FROM departments ORDER BY code")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    fn replace_departments(&self, deps: &[Department]) -> Result<()> {
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let listed: Vec<&str> = deps.iter().map(|d| d.code.as_str()).collect();
            let mut stmt = tx.prepare("SELECT code FROM departments")?;
            let existing: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            drop(stmt);
            for code in existing.iter().filter(|c| !listed.contains(&c.as_str())) {
                let used = tx
                    .query_row(
                        "SELECT 1 FROM issues WHERE department = ?1 LIMIT 1",
                        [code],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                if used {
                    return Err(StoreError::BadRequest(department_in_use(code)));
                }
                tx.execute("DELETE FROM departments WHERE code = ?1", [code])?;
            }
            for d in deps {
                tx.execute(
                    "INSERT INTO departments (code, zh, en) VALUES (?1, ?2, ?3)
                     ON CONFLICT (code) DO UPDATE SET zh = excluded.zh, en = excluded.en",
                    params![d.code, d.zh, d.en],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn meta_value(&self, key: &str) -> Result<Option<String>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
    }

    fn set_meta_value(&self, key: &str, value: &str) -> Result<()> {
        self.with_writer(|s| s.meta_set(key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::deadline::{CategoryConfig, TimeLimit, WorkCalendar};

    #[test]
    fn settings_round_trip_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = SqliteDistrict::open(dir.path()).unwrap();
        let deps = vec![Department {
            code: "gas".into(),
            zh: "燃气公司".into(),
            en: "Gas company".into(),
        }];
        d.set_departments(&deps).unwrap();
        assert_eq!(
            d.departments().unwrap(),
            vec![("gas".into(), "燃气公司".into(), "Gas company".into())]
        );
        let bad_code = vec![Department {
            code: "Gas Co".into(),
            ..deps[0].clone()
        }];
        assert!(d.set_departments(&bad_code).is_err());

        let mut cats = CategoryConfig::defaults();
        cats[0].limit = TimeLimit::Hours(12);
        d.set_category_overrides(&cats).unwrap();
        assert_eq!(
            d.category_overrides().unwrap()[0].limit,
            TimeLimit::Hours(12)
        );
        cats[0].limit = TimeLimit::Hours(0);
        assert!(d.set_category_overrides(&cats).is_err());

        let mut cal = WorkCalendar::default();
        cal.holidays.insert("2027-01-01".parse().unwrap());
        d.set_work_calendar(&cal).unwrap();
        assert_eq!(d.work_calendar().unwrap(), cal);
    }
}
