//! Schema migrations, applied in order on open (rusqlite_migration, by `user_version`).
//!
//! One crate holds the device's store and the district's embedded store. Migrations
//! 001–015 are shared (a device carried the district's tables, empty, and its indexes);
//! from 016 each has its own list, the same length: the device's drops what only the
//! district's console reads (fewer pages written, each encrypted on a device), and the
//! district's keeps everything. A migration both need goes into both lists at the same
//! number.

use rusqlite_migration::{Migrations, M};

/// Which store a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A device's own store (the app, the CLI, device tests).
    Device,
    /// The district server's embedded store (gridwalk-district-sqlite).
    District,
}

pub(crate) fn migrations(role: Role) -> Migrations<'static> {
    let own = match role {
        Role::Device => M::up(include_str!("../migrations/016_device_lean.sql")),
        // The district keeps the indexes and triggers the device drops at 016.
        Role::District => M::up("SELECT 1;"),
    };
    Migrations::new(vec![
        M::up(include_str!("../migrations/001_documents.sql")),
        M::up(include_str!("../migrations/002_projections.sql")),
        M::up(include_str!("../migrations/003_district.sql")),
        M::up(include_str!("../migrations/004_device_sync.sql")),
        M::up(include_str!("../migrations/005_console.sql")),
        M::up(include_str!("../migrations/006_export_audit.sql")),
        M::up(include_str!("../migrations/007_imports.sql")),
        M::up(include_str!("../migrations/008_quality.sql")),
        M::up(include_str!("../migrations/009_authz.sql")).foreign_key_check(),
        M::up(include_str!("../migrations/010_handovers.sql")),
        M::up(include_str!("../migrations/011_import_bases.sql")),
        M::up(include_str!("../migrations/012_photos.sql")),
        M::up(include_str!("../migrations/013_enrollment_retry.sql")),
        M::up(include_str!("../migrations/014_rate_limits.sql")),
        M::up(include_str!("../migrations/015_docs_grid_order.sql")),
        own,
    ])
}

#[cfg(test)]
mod tests {
    use super::{migrations, Role};
    use rusqlite::Connection;

    /// Objects only the district's console reads (016 drops them from a device).
    const DISTRICT_ONLY: [&str; 11] = [
        "persons_holder_in",
        "persons_holder_out",
        "persons_holder_change",
        "id_number_holders",
        "persons_living_id_number",
        "persons_id_number",
        "households_community",
        "visits_grid_at",
        "visits_worker_at",
        "visits_at",
        "issues_reported_at",
    ];

    fn names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master ORDER BY name")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn migrations_are_valid() {
        assert!(migrations(Role::Device).validate().is_ok());
        assert!(migrations(Role::District).validate().is_ok());
    }

    #[test]
    fn the_district_keeps_what_a_device_leaves_out() {
        let mut device = Connection::open_in_memory().unwrap();
        migrations(Role::Device).to_latest(&mut device).unwrap();
        let mut district = Connection::open_in_memory().unwrap();
        migrations(Role::District).to_latest(&mut district).unwrap();
        let (device, district) = (names(&device), names(&district));
        for name in DISTRICT_ONLY.iter().chain(&["docs_grid"]) {
            assert!(!device.contains(&name.to_string()), "{name} on a device");
            assert!(
                district.contains(&name.to_string()),
                "{name} not on the district"
            );
        }
        // Everything else is the same on both.
        let mut rest = district.clone();
        rest.retain(|n| !DISTRICT_ONLY.contains(&n.as_str()) && n != "docs_grid");
        rest.retain(|n| n != "id_number_holders_dup");
        assert_eq!(device, rest);
    }

    #[test]
    fn a_device_store_of_the_shared_schema_migrates_in_place() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations(Role::Device).to_version(&mut conn, 15).unwrap();
        conn.execute_batch(
            "INSERT INTO households (doc_id, grid_id, community_code, building_no,
                building_name, unit, floor, room, address, housing_use, household_type,
                head_name, member_count, tags, restricted, search, tails, complete, conflicts,
                updated_at) VALUES ('h1', 'g1', 'c', '1', '1栋', '1', 1, '101', 'a', 'x', 'y',
                '张三', 1, ' ', ' ', '|张三|', ' ', 1, 0, 0);
             INSERT INTO persons (person_id, household_id, name, sex, id_number, relation,
                population_type, status, tags, restricted)
                VALUES ('p1', 'h1', '张三', 'Male', '430203195003020011', 'Head', 'Registered',
                'Living', ' ', ' ');",
        )
        .unwrap();
        let held: i64 = conn
            .query_row("SELECT count(*) FROM id_number_holders", [], |r| r.get(0))
            .unwrap();
        assert_eq!(held, 1, "the shared schema's triggers ran");
        migrations(Role::Device).to_latest(&mut conn).unwrap();
        let now = names(&conn);
        for name in DISTRICT_ONLY {
            assert!(
                !now.contains(&name.to_string()),
                "{name} left on the device"
            );
        }
        let rows: (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM persons)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(rows, (1, 1), "the rows stay");
        // A member edited afterwards: no trigger refers to the dropped table.
        conn.execute("UPDATE persons SET status = 'Deceased'", [])
            .unwrap();
    }
}
