//! The issue desk's settings an admin edits: departments, category time limits and the
//! working-day calendar (holidays and make-up working days). [`SettingsStore`] is what a
//! backend provides (the departments table and two meta values); checks, defaults and
//! encoding are here, once.

use crate::console::ConsoleStore;
use crate::{Result, StoreError};
use gridwalk_core::deadline::{CategoryConfig, TimeLimit, WorkCalendar};
use serde::{Deserialize, Serialize};

/// The meta key of the category time limits.
pub const CATEGORIES_KEY: &str = "console.categories";
/// The meta key of the working-day calendar.
pub const CALENDAR_KEY: &str = "console.calendar";

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

/// Why a department cannot be removed: an issue was dispatched to it (both backends).
pub fn department_in_use(code: &str) -> String {
    format!(
        "部门 {code} 已有派发的事件，不能删除 / department {code} has issues dispatched to \
         it and cannot be removed"
    )
}

/// Codes are lower-case ASCII words; both names are required.
pub fn check_departments(deps: &[Department]) -> Result<()> {
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
    Ok(())
}

/// A time limit is 1 to 8760 units; code and Chinese name are required.
pub fn check_categories(categories: &[CategoryConfig]) -> Result<()> {
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
    Ok(())
}

pub trait SettingsStore: ConsoleStore {
    /// Departments issues can be dispatched to: (code, zh, en), by code.
    fn departments(&self) -> Result<Vec<(String, String, String)>>;
    /// Replace the departments (checked already, names trimmed): upsert the listed ones,
    /// remove the others unless an issue was dispatched to them (refused whole then).
    fn replace_departments(&self, deps: &[Department]) -> Result<()>;
    fn meta_value(&self, key: &str) -> Result<Option<String>>;
    fn set_meta_value(&self, key: &str, value: &str) -> Result<()>;

    /// Replace the departments. A department an issue was dispatched to stays (its code
    /// is in issue histories) unless listed again.
    fn set_departments(&self, deps: &[Department]) -> Result<()> {
        check_departments(deps)?;
        let trimmed: Vec<Department> = deps
            .iter()
            .map(|d| Department {
                code: d.code.clone(),
                zh: d.zh.trim().to_string(),
                en: d.en.trim().to_string(),
            })
            .collect();
        self.replace_departments(&trimmed)
    }

    /// Category overrides set by an admin, else none (the built-in limits apply).
    fn category_overrides(&self) -> Result<Vec<CategoryConfig>> {
        Ok(self
            .meta_value(CATEGORIES_KEY)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// Replace the category time limits (overrides of the built-in defaults).
    fn set_category_overrides(&self, categories: &[CategoryConfig]) -> Result<()> {
        check_categories(categories)?;
        let json = serde_json::to_string(categories).map_err(|e| bad(e.to_string()))?;
        self.set_meta_value(CATEGORIES_KEY, &json)
    }

    /// The work calendar set by an admin, else China's 2026 calendar.
    fn work_calendar(&self) -> Result<WorkCalendar> {
        Ok(self
            .meta_value(CALENDAR_KEY)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_else(WorkCalendar::china_2026))
    }

    /// Replace the working-day calendar.
    fn set_work_calendar(&self, calendar: &WorkCalendar) -> Result<()> {
        let json = serde_json::to_string(calendar).map_err(|e| bad(e.to_string()))?;
        self.set_meta_value(CALENDAR_KEY, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_departments_and_limits_are_refused() {
        let gas = Department {
            code: "gas".into(),
            zh: "燃气公司".into(),
            en: "Gas company".into(),
        };
        assert!(check_departments(std::slice::from_ref(&gas)).is_ok());
        let bad_code = Department {
            code: "Gas Co".into(),
            ..gas.clone()
        };
        assert!(check_departments(&[bad_code]).is_err());
        let no_name = Department {
            en: " ".into(),
            ..gas
        };
        assert!(check_departments(&[no_name]).is_err());
        let mut cats = CategoryConfig::defaults();
        assert!(check_categories(&cats).is_ok());
        cats[0].limit = TimeLimit::Hours(0);
        assert!(check_categories(&cats).is_err());
    }
}
