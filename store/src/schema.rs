//! Schema migrations, applied in order on open (rusqlite_migration, by `user_version`).

use rusqlite_migration::{Migrations, M};

pub(crate) fn migrations() -> Migrations<'static> {
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
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
