//! Which photos the district's documents reference (the `photo_refs` projection): the
//! scope of every blob request and the roots of garbage collection.

use super::PhotoRefs;
use crate::Result;
use crate::SqliteDistrict;
use std::collections::BTreeSet;

impl PhotoRefs for SqliteDistrict {
    fn photo_in_scope(&self, sha256: &str, grids: Option<&[String]>) -> Result<bool> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT grid_id FROM photo_refs WHERE sha256 = ?1")?;
            let found = stmt
                .query_map([sha256], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found
                .iter()
                .any(|g| grids.is_none_or(|gs| gs.iter().any(|x| x == g))))
        })
    }

    fn referenced_photos(&self) -> Result<BTreeSet<String>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare("SELECT DISTINCT sha256 FROM photo_refs")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
