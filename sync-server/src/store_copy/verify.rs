//! The end of every copy: each table's row count and each grid's sync digest on both
//! sides, printed as a table; any difference is named.

use super::tables::TABLES;
use super::Side;
use crate::ServerError;
use gridwalk_core::authorize::Role;
use gridwalk_district_sqlite::DeviceAuth;
use std::io::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub source: i64,
    pub target: i64,
}

#[derive(Debug, Clone)]
pub struct CopyReport {
    pub tables: Vec<TableCount>,
    /// Grids compared.
    pub grids: usize,
    /// Grids whose digest differs (or that one side lacks).
    pub grids_differing: Vec<String>,
    /// The largest change sequence number on each side.
    pub max_seq: (i64, i64),
    /// The copy carried on from an earlier, stopped run.
    pub resumed: bool,
}

impl CopyReport {
    /// What differs, in a sentence; `None` when the copy equals its source.
    pub fn differences(&self) -> Option<String> {
        let mut what: Vec<String> = self
            .tables
            .iter()
            .filter(|c| c.source != c.target)
            .map(|c| format!("{} has {} rows, its source {}", c.table, c.target, c.source))
            .collect();
        if !self.grids_differing.is_empty() {
            what.push(format!(
                "the digest of {} grid(s) differs ({})",
                self.grids_differing.len(),
                self.grids_differing.join(", ")
            ));
        }
        if self.max_seq.0 != self.max_seq.1 {
            what.push(format!(
                "the last change is {} here, {} on the source",
                self.max_seq.1, self.max_seq.0
            ));
        }
        (!what.is_empty()).then(|| what.join("; "))
    }

    pub fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        // Padded by hand: a CJK character is two columns wide, one `char` to `format!`.
        writeln!(
            out,
            "表 / table{}{}源 / source{}目标 / target",
            " ".repeat(6),
            " ".repeat(4),
            " ".repeat(2)
        )?;
        for c in &self.tables {
            let mark = if c.source == c.target {
                "ok"
            } else {
                "DIFFERS 不一致"
            };
            writeln!(
                out,
                "{:<16} {:>14} {:>14}  {mark}",
                c.table, c.source, c.target
            )?;
        }
        let seq_mark = if self.max_seq.0 == self.max_seq.1 {
            "ok"
        } else {
            "DIFFERS 不一致"
        };
        writeln!(
            out,
            "{:<16} {:>14} {:>14}  {seq_mark}",
            "max(changes.seq)", self.max_seq.0, self.max_seq.1
        )?;
        let equal = self.grids - self.grids_differing.len();
        writeln!(
            out,
            "网格摘要 / grid digests: {equal} of {} equal{}",
            self.grids,
            if self.grids_differing.is_empty() {
                ""
            } else {
                " — DIFFERS 不一致"
            }
        )?;
        Ok(())
    }
}

/// Counts and digests on both sides.
pub(super) fn verify(
    source: &mut dyn Side,
    target: &mut dyn Side,
    resumed: bool,
) -> Result<CopyReport, ServerError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        tables.push(TableCount {
            table: t.name,
            source: source.count(t)?,
            target: target.count(t)?,
        });
    }
    // The projections are rebuilt, not copied: equal counts say the rebuild saw every
    // document the source had rows for.
    for table in super::tables::DERIVED {
        tables.push(TableCount {
            table,
            source: source.count_derived(table)?,
            target: target.count_derived(table)?,
        });
    }
    let mut grids = source.grids()?;
    for g in target.grids()? {
        if !grids.contains(&g) {
            grids.push(g);
        }
    }
    grids.sort();
    // Every document of every grid, key-person documents included: an admin's view.
    let everyone = DeviceAuth {
        device_id: "store-copy".into(),
        user_id: "store-copy".into(),
        grids: grids.clone(),
        role: Role::Admin,
        key_person_grant: true,
    };
    let on_source = source.district()?.digests(&everyone, &grids)?;
    let on_target = target.district()?.digests(&everyone, &grids)?;
    let grids_differing = grids
        .iter()
        .filter(|g| {
            let a = on_source.iter().find(|d| &d.grid_id == *g);
            let b = on_target.iter().find(|d| &d.grid_id == *g);
            !matches!((a, b), (Some(a), Some(b)) if a == b)
        })
        .cloned()
        .collect();
    Ok(CopyReport {
        tables,
        grids: grids.len(),
        grids_differing,
        max_seq: (source.max_seq()?, target.max_seq()?),
        resumed,
    })
}
