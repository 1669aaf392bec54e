//! The supervisor's review of devices: which workers' devices sync, which are silent,
//! their sync logs, and the handovers of moved workers. [`ReviewStore`] is what a backend
//! provides (its rows, already cut to a set of grids); the scope rule is applied here,
//! once, in its provided methods.

use crate::console::{ConsoleResult, ConsoleScope, ConsoleStore};
use crate::Result;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
/// A device is "silent" after this long without a sync.
pub const SILENT_AFTER_MS: i64 = 3 * DAY_MS;
/// The window of a device's recent figures (syncs, changes in, rejections).
pub const RECENT_MS: i64 = 7 * DAY_MS;
/// Most handovers one page lists.
pub const HANDOVERS_MAX: usize = 500;

/// A worker's device as the review screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceOverview {
    pub device_id: String,
    pub name: String,
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub enrolled_at: i64,
    pub revoked_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    /// No sync for more than 3 days (or never), and not revoked.
    pub silent: bool,
    pub syncs_7d: i64,
    pub changes_in_7d: i64,
    pub rejected_7d: i64,
    /// The errors of the latest sync that had any (JSON array), if one did in 7 days.
    pub last_errors: Option<String>,
}

/// Whether a device counts as silent at `now_ms`.
pub fn is_silent(revoked_at: Option<i64>, last_sync_at: Option<i64>, now_ms: i64) -> bool {
    revoked_at.is_none() && last_sync_at.is_none_or(|t| now_ms - t > SILENT_AFTER_MS)
}

/// A handover as the console lists it: what was written where, not the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub id: i64,
    pub device_id: String,
    pub user_id: String,
    pub user_name: String,
    pub doc_id: String,
    pub kind: String,
    pub grid_id: String,
    pub change_count: i64,
    /// Dotted paths of the fields the changes write.
    pub fields: Vec<String>,
    pub received_at: i64,
}

/// The rows behind the review of devices. `grids`: `None` for every grid.
pub trait ReviewStore: ConsoleStore {
    /// Workers' devices with a grid among `grids`, with their figures since
    /// `now_ms - RECENT_MS` (the `silent` flag from [`is_silent`]), least recently synced
    /// first (never first).
    fn device_overviews(
        &self,
        grids: &Option<Vec<String>>,
        now_ms: i64,
    ) -> Result<Vec<DeviceOverview>>;
    /// Whether the device belongs to a user with a grid among `grids`.
    fn device_in_grids(&self, grids: &[String], device_id: &str) -> Result<bool>;
    /// Handovers of documents in `grids`, newest first, at most `limit`.
    fn handovers_in(&self, grids: &Option<Vec<String>>, limit: usize) -> Result<Vec<Handover>>;
    /// A stored document, whole (scope is the caller's to check on what it reads).
    fn load_document(&self, id: gridwalk_core::DocId) -> Result<gridwalk_core::Document>;

    /// The workers' devices in the caller's scope.
    fn console_devices(
        &self,
        scope: &ConsoleScope,
        now_ms: i64,
    ) -> ConsoleResult<Vec<DeviceOverview>> {
        Ok(self.device_overviews(&scope.grids, now_ms)?)
    }

    /// Whether a device belongs to a worker in scope (for its sync log).
    fn console_device_in_scope(
        &self,
        scope: &ConsoleScope,
        device_id: &str,
    ) -> ConsoleResult<bool> {
        match &scope.grids {
            None => Ok(true),
            Some(grids) => Ok(self.device_in_grids(grids, device_id)?),
        }
    }

    /// Handovers of documents in the caller's grids, newest first.
    fn console_handovers(
        &self,
        scope: &ConsoleScope,
        limit: usize,
    ) -> ConsoleResult<Vec<Handover>> {
        Ok(self.handovers_in(&scope.grids, limit.clamp(1, HANDOVERS_MAX))?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn silence_is_three_days_without_a_sync_and_never_for_a_revoked_device() {
        let now = 10 * super::DAY_MS;
        assert!(super::is_silent(None, None, now));
        assert!(super::is_silent(None, Some(now - 4 * super::DAY_MS), now));
        assert!(!super::is_silent(None, Some(now - super::DAY_MS), now));
        assert!(!super::is_silent(Some(0), None, now));
    }
}
