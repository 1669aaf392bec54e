//! The review of devices on SQLite: [`ReviewStore`] for [`SqliteDistrict`] (devices with
//! their recent sync figures, a device's scope, handovers). The scope rule is
//! gridwalk-district's.

use super::issues::grid_filter;
use super::SqliteDistrict;
use crate::Result;
use gridwalk_district::review::{is_silent, RECENT_MS};
use gridwalk_district::{DeviceOverview, Handover, ReviewStore};
use rusqlite::types::Value;
use rusqlite::OptionalExtension;

impl ReviewStore for SqliteDistrict {
    fn device_overviews(
        &self,
        grids: &Option<Vec<String>>,
        now_ms: i64,
    ) -> Result<Vec<DeviceOverview>> {
        // Sync-log rows of rounds that stored nothing may still be queued (group commit).
        self.group.flush()?;
        self.with_reader(|conn| {
            let mut args = vec![Value::Integer(now_ms - RECENT_MS)];
            let filter = grid_filter("ug.grid_id", grids, &mut args);
            let sql = format!(
                "SELECT d.device_id, d.name, d.user_id, u.username, u.display_name,
                    d.enrolled_at, d.revoked_at, d.last_sync_at,
                    (SELECT count(*) FROM sync_log s WHERE s.device_id = d.device_id AND s.started_at >= ?1),
                    (SELECT coalesce(sum(changes_in), 0) FROM sync_log s WHERE s.device_id = d.device_id AND s.started_at >= ?1),
                    (SELECT coalesce(sum(rejected), 0) FROM sync_log s WHERE s.device_id = d.device_id AND s.started_at >= ?1),
                    (SELECT errors FROM sync_log s WHERE s.device_id = d.device_id AND s.started_at >= ?1
                        AND s.rejected > 0 ORDER BY s.started_at DESC LIMIT 1)
                 FROM devices d JOIN users u ON u.user_id = d.user_id
                 WHERE u.role = 'worker' AND EXISTS (SELECT 1 FROM user_grids ug
                    WHERE ug.user_id = d.user_id AND {filter})
                 ORDER BY d.last_sync_at IS NOT NULL, d.last_sync_at, d.device_id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let last: Option<i64> = r.get(7)?;
                let revoked: Option<i64> = r.get(6)?;
                Ok(DeviceOverview {
                    device_id: r.get(0)?,
                    name: r.get(1)?,
                    user_id: r.get(2)?,
                    username: r.get(3)?,
                    display_name: r.get(4)?,
                    enrolled_at: r.get(5)?,
                    revoked_at: revoked,
                    last_sync_at: last,
                    silent: is_silent(revoked, last, now_ms),
                    syncs_7d: r.get(8)?,
                    changes_in_7d: r.get(9)?,
                    rejected_7d: r.get(10)?,
                    last_errors: r.get(11)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    fn device_in_grids(&self, grids: &[String], device_id: &str) -> Result<bool> {
        let mut args = vec![Value::Text(device_id.to_string())];
        let filter = grid_filter("ug.grid_id", &Some(grids.to_vec()), &mut args);
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    &format!(
                        "SELECT 1 FROM devices d JOIN user_grids ug ON ug.user_id = d.user_id
                         WHERE d.device_id = ?1 AND {filter} LIMIT 1"
                    ),
                    rusqlite::params_from_iter(args.iter()),
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    fn handovers_in(&self, grids: &Option<Vec<String>>, limit: usize) -> Result<Vec<Handover>> {
        let mut args = Vec::new();
        let filter = grid_filter("h.grid_id", grids, &mut args);
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT h.id, h.device_id, h.user_id, coalesce(u.display_name, ''), h.doc_id,
                        h.kind, h.grid_id, h.change_count, h.fields, h.received_at
                 FROM handovers h LEFT JOIN users u ON u.user_id = h.user_id
                 WHERE {filter} ORDER BY h.received_at DESC, h.id DESC LIMIT {limit}"
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let fields: String = r.get(8)?;
                Ok(Handover {
                    id: r.get(0)?,
                    device_id: r.get(1)?,
                    user_id: r.get(2)?,
                    user_name: r.get(3)?,
                    doc_id: r.get(4)?,
                    kind: r.get(5)?,
                    grid_id: r.get(6)?,
                    change_count: r.get(7)?,
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                    received_at: r.get(9)?,
                })
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    fn load_document(&self, id: gridwalk_core::DocId) -> Result<gridwalk_core::Document> {
        SqliteDistrict::load_document(self, id)
    }
}
