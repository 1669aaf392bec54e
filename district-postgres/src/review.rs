//! The review of devices on PostgreSQL: [`ReviewStore`] for [`PgDistrict`]. A scope is a
//! text array (`grid_id = ANY($n)`); `NULL` stands for every grid.

use crate::{db, PgDistrict, Result};
use gridwalk_district::review::{is_silent, RECENT_MS};
use gridwalk_district::{DeviceOverview, Handover, ReviewStore};

impl ReviewStore for PgDistrict {
    fn device_overviews(
        &self,
        grids: &Option<Vec<String>>,
        now_ms: i64,
    ) -> Result<Vec<DeviceOverview>> {
        let since = now_ms - RECENT_MS;
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT d.device_id, d.name, d.user_id, u.username, u.display_name,
                        d.enrolled_at, d.revoked_at, d.last_sync_at,
                        coalesce(s.syncs, 0), coalesce(s.changes_in, 0)::bigint,
                        coalesce(s.rejected, 0)::bigint,
                        (SELECT e.errors::text FROM sync_log e
                          WHERE e.device_id = d.device_id AND e.started_at >= $1
                            AND e.rejected > 0 ORDER BY e.started_at DESC LIMIT 1)
                     FROM devices d JOIN users u ON u.user_id = d.user_id
                     LEFT JOIN LATERAL (
                        SELECT count(*) AS syncs, sum(changes_in) AS changes_in,
                               sum(rejected) AS rejected
                        FROM sync_log l WHERE l.device_id = d.device_id AND l.started_at >= $1
                     ) s ON true
                     WHERE u.role = 'worker' AND EXISTS (SELECT 1 FROM user_grids ug
                        WHERE ug.user_id = d.user_id
                          AND ($2::text[] IS NULL OR ug.grid_id = ANY($2)))
                     ORDER BY d.last_sync_at IS NOT NULL, d.last_sync_at, d.device_id",
                    &[&since, grids],
                )
                .map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| {
                    let revoked: Option<i64> = r.get(6);
                    let last: Option<i64> = r.get(7);
                    DeviceOverview {
                        device_id: r.get(0),
                        name: r.get(1),
                        user_id: r.get(2),
                        username: r.get(3),
                        display_name: r.get(4),
                        enrolled_at: r.get(5),
                        revoked_at: revoked,
                        last_sync_at: last,
                        silent: is_silent(revoked, last, now_ms),
                        syncs_7d: r.get(8),
                        changes_in_7d: r.get(9),
                        rejected_7d: r.get(10),
                        last_errors: r.get(11),
                    }
                })
                .collect())
        })
    }

    fn device_in_grids(&self, grids: &[String], device_id: &str) -> Result<bool> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT 1 FROM devices d JOIN user_grids ug ON ug.user_id = d.user_id
                     WHERE d.device_id = $1 AND ug.grid_id = ANY($2) LIMIT 1",
                    &[&device_id, &grids],
                )
                .map_err(db)?
                .is_some())
        })
    }

    fn handovers_in(&self, grids: &Option<Vec<String>>, limit: usize) -> Result<Vec<Handover>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT h.id, h.device_id, h.user_id, coalesce(u.display_name, ''),
                        h.doc_id::text, h.kind, h.grid_id, h.change_count, h.fields,
                        h.received_at
                     FROM handovers h LEFT JOIN users u ON u.user_id = h.user_id
                     WHERE ($1::text[] IS NULL OR h.grid_id = ANY($1))
                     ORDER BY h.received_at DESC, h.id DESC LIMIT $2",
                    &[grids, &limit],
                )
                .map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| Handover {
                    id: r.get(0),
                    device_id: r.get(1),
                    user_id: r.get(2),
                    user_name: r.get(3),
                    doc_id: r.get(4),
                    kind: r.get(5),
                    grid_id: r.get(6),
                    change_count: r.get(7),
                    fields: serde_json::from_value(r.get(8)).unwrap_or_default(),
                    received_at: r.get(9),
                })
                .collect())
        })
    }

    fn load_document(&self, id: gridwalk_core::DocId) -> Result<gridwalk_core::Document> {
        PgDistrict::load_document(self, id)
    }
}
