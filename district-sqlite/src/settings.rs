//! The issue desk's settings an admin edits: departments, category time limits and the
//! working-day calendar (holidays and make-up working days). Read by the console and the
//! deadline computation (see ledger.rs for the readers).

use super::SqliteDistrict;
use crate::{Result, StoreError};
use gridwalk_core::deadline::{CategoryConfig, TimeLimit, WorkCalendar};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// A department issues are dispatched to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub code: String,
    pub zh: String,
    pub en: String,
}

fn bad(m: String) -> StoreError {
    StoreError::BadRequest(m)
}

impl SqliteDistrict {
    /// Replace the departments. Codes are lower-case ASCII words; a department that an
    /// issue was dispatched to stays (its code is in issue histories) unless listed again.
    pub fn set_departments(&self, deps: &[Department]) -> Result<()> {
        for (i, d) in deps.iter().enumerate() {
            let code_ok = !d.code.is_empty()
                && d.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !code_ok {
                return Err(bad(format!(
                    "departments[{i}].code {:?}: use lower-case letters, digits and _",
                    d.code
                )));
            }
            if d.zh.trim().is_empty() || d.en.trim().is_empty() {
                return Err(bad(format!(
                    "departments[{i}]: give the Chinese and English names"
                )));
            }
        }
        self.with_writer(|store| {
            let tx = store.conn.transaction()?;
            let listed: Vec<&str> = deps.iter().map(|d| d.code.as_str()).collect();
            let mut stmt = tx.prepare("SELECT code FROM departments")?;
            let existing: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            for code in existing.iter().filter(|c| !listed.contains(&c.as_str())) {
                let used: bool = tx
                    .query_row(
                        "SELECT 1 FROM issues WHERE department = ?1 LIMIT 1",
                        [code],
                        |_| Ok(()),
                    )
                    .map(|_| true)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(false),
                        e => Err(e),
                    })?;
                if used {
                    return Err(bad(format!(
                        "department {code} has issues dispatched to it and cannot be removed"
                    )));
                }
                tx.execute("DELETE FROM departments WHERE code = ?1", [code])?;
            }
            for d in deps {
                tx.execute(
                    "INSERT INTO departments (code, zh, en) VALUES (?1, ?2, ?3)
                     ON CONFLICT (code) DO UPDATE SET zh = excluded.zh, en = excluded.en",
                    params![d.code, d.zh.trim(), d.en.trim()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Replace the category time limits (overrides of the built-in defaults).
    pub fn set_category_overrides(&self, categories: &[CategoryConfig]) -> Result<()> {
        for (i, c) in categories.iter().enumerate() {
            let n = match c.limit {
                TimeLimit::Hours(n) | TimeLimit::WorkingDays(n) | TimeLimit::CalendarDays(n) => n,
            };
            if !(1..=8760).contains(&n) {
                return Err(bad(format!(
                    "categories[{i}] ({}): a time limit is 1 to 8760 units, not {n}",
                    c.code
                )));
            }
            if c.code.trim().is_empty() || c.zh.trim().is_empty() {
                return Err(bad(format!(
                    "categories[{i}]: code and Chinese name are required"
                )));
            }
        }
        let json = serde_json::to_string(categories).map_err(|e| bad(e.to_string()))?;
        self.with_writer(|s| s.meta_set("console.categories", &json))
    }

    /// Replace the working-day calendar.
    pub fn set_work_calendar(&self, calendar: &WorkCalendar) -> Result<()> {
        let json = serde_json::to_string(calendar).map_err(|e| bad(e.to_string()))?;
        self.with_writer(|s| s.meta_set("console.calendar", &json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
