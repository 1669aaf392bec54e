//! The projection tables on PostgreSQL (migration 004): written from the merged document
//! in the transaction that stores it, with the rows `gridwalk_core::projection` computes
//! (the same rows the embedded store writes), and read back for a first download in the
//! column order of [`gridwalk_core::projection::shipped_tables`].

use crate::{db, Result};
use gridwalk_core::projection::{project, shipped_tables, Rows, Table, PERSONS, TABLES};
use gridwalk_core::sync::{Cell, TableRows};
use gridwalk_core::{DocId, DocKind, Document};
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Row, Transaction};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The shape of the rows: the embedded store's [`gridwalk_store::projection::VERSION`],
/// kept in `meta` as `projection.version`; a database behind it is rebuilt at start.
const VERSION_KEY: &str = "projection.version";

/// Write the projection of one document. A document that does not read as its schema
/// (possible only for merged remote state) keeps its old rows, as on SQLite.
pub(crate) fn write(tx: &mut Transaction<'_>, doc: &Document, grid_id: &str) -> Result<()> {
    let Some(p) = project(doc, grid_id) else {
        return Ok(());
    };
    if let Rows::Household { household, persons } = &p.rows {
        // Members no longer in the document leave; the rest are upserted where changed.
        let ids: Vec<&str> = persons.iter().map(|x| x.person_id.as_str()).collect();
        tx.execute(
            "DELETE FROM persons WHERE household_id = $1 AND NOT (person_id = ANY($2))",
            &[&household.doc_id, &ids],
        )
        .map_err(db)?;
    }
    for (name, rows) in p.rows.tables() {
        let sql = &sql_for(name).upsert;
        for row in rows {
            let params: Vec<CellParam<'_>> = row.iter().map(CellParam).collect();
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            tx.execute(sql.as_str(), &refs).map_err(db)?;
        }
    }
    Ok(())
}

/// The stored rows of many documents (a page of a first download), as the embedded
/// store's `projection::read_rows` gives them one document at a time: one query per table. Every document gets every table of its kind, empty where it has no rows.
pub(crate) fn read_rows_of(
    tx: &mut Transaction<'_>,
    docs: &[(DocKind, String)],
) -> Result<HashMap<String, Vec<TableRows>>> {
    let mut found: HashMap<(&str, String), Vec<Vec<Cell>>> = HashMap::new();
    for t in TABLES.iter() {
        let ids: Vec<&str> = docs
            .iter()
            .filter(|(kind, _)| shipped_tables(*kind).contains(t))
            .map(|(_, id)| id.as_str())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let key = t.cols.iter().position(|c| *c == t.key).unwrap_or(0);
        for r in tx
            .query(sql_for(t.name).select_many.as_str(), &[&ids])
            .map_err(db)?
        {
            let cells = (0..t.cols.len())
                .map(|i| cell(&r, i))
                .collect::<Result<Vec<Cell>>>()?;
            let owner: String = r.try_get(key).map_err(db)?;
            found.entry((t.name, owner)).or_default().push(cells);
        }
    }
    Ok(docs
        .iter()
        .map(|(kind, id)| {
            let tables = shipped_tables(*kind)
                .iter()
                .map(|t| TableRows {
                    table: t.name.to_string(),
                    rows: found.remove(&(t.name, id.clone())).unwrap_or_default(),
                })
                .collect();
            (id.clone(), tables)
        })
        .collect())
}

/// Fill the projection tables from the documents when they are behind the projection's
/// version (a database migrated to 004 with documents in it, or an older row shape). Runs
/// in the migration's transaction, under its lock: once, whichever server starts first.
pub(crate) fn rebuild_if_stale(tx: &mut Transaction<'_>) -> Result<()> {
    let version = gridwalk_store::projection::VERSION;
    let stored: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&VERSION_KEY])
        .map_err(db)?
        .map(|r| r.get(0));
    if stored.as_deref() == Some(version) {
        return Ok(());
    }
    tx.batch_execute(
        "DELETE FROM persons; DELETE FROM households; DELETE FROM visits;
         DELETE FROM issues; DELETE FROM key_persons;",
    )
    .map_err(db)?;
    // In pages by id, so memory stays bounded however many documents there are.
    let mut after: Option<uuid::Uuid> = None;
    let mut rebuilt = 0usize;
    loop {
        let page = tx
            .query(
                "SELECT doc_id, kind, grid_id, snapshot FROM docs
                 WHERE $1::uuid IS NULL OR doc_id > $1 ORDER BY doc_id LIMIT 500",
                &[&after],
            )
            .map_err(db)?;
        let Some(last) = page.last() else { break };
        after = Some(last.get(0));
        for row in &page {
            let id = DocId(row.get(0));
            let Some(kind) = DocKind::parse(row.get(1)) else {
                continue;
            };
            let grid: String = row.get(2);
            // A document that does not load keeps no rows; it is reported, not fatal.
            match Document::load(kind, id, row.get::<_, &[u8]>(3)) {
                Ok(doc) => write(tx, &doc, &grid)?,
                Err(e) => tracing::warn!(%id, error = %e, "document skipped by the rebuild"),
            }
            rebuilt += 1;
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&VERSION_KEY, &version],
    )
    .map_err(db)?;
    tracing::info!(
        documents = rebuilt,
        version,
        "PostgreSQL projections rebuilt"
    );
    Ok(())
}

/// The SQL that writes and reads one projection table, built once from its columns.
struct TableSql {
    upsert: String,
    select_many: String,
}

fn sql_for(name: &str) -> &'static TableSql {
    static SQL: OnceLock<Vec<(&'static str, TableSql)>> = OnceLock::new();
    let all = SQL.get_or_init(|| TABLES.iter().map(|t| (t.name, table_sql(t))).collect());
    let found = all.iter().find(|(n, _)| *n == name);
    // Every name comes from `gridwalk_core::projection`, which lists only these five.
    &found.unwrap_or(&all[0]).1
}

fn table_sql(t: &Table) -> TableSql {
    let cols = t.cols.join(", ");
    let marks: Vec<String> = (1..=t.cols.len()).map(|i| format!("${i}")).collect();
    let rest: Vec<&str> = t
        .cols
        .iter()
        .copied()
        .filter(|c| !t.primary_key.contains(c))
        .collect();
    let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let mut upsert = format!(
        "INSERT INTO {} ({cols}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        t.name,
        marks.join(", "),
        t.primary_key.join(", "),
        set.join(", ")
    );
    if t.name == PERSONS.name {
        // A member's row is rewritten only where something changed (as on SQLite).
        let theirs: Vec<String> = rest.iter().map(|c| format!("excluded.{c}")).collect();
        upsert.push_str(&format!(
            " WHERE ({}) IS DISTINCT FROM ({})",
            rest.iter()
                .map(|c| format!("{}.{c}", t.name))
                .collect::<Vec<_>>()
                .join(", "),
            theirs.join(", ")
        ));
    }
    let order = t.primary_key.join(", ");
    let select_many = format!(
        "SELECT {cols} FROM {} WHERE {} = ANY($1) ORDER BY {order}",
        t.name, t.key
    );
    TableSql {
        upsert,
        select_many,
    }
}

/// A column's value as the wire carries it: a boolean as `Int` 0/1 (as SQLite stores it).
fn cell(row: &Row, i: usize) -> Result<Cell> {
    let ty = row.columns()[i].type_().clone();
    Ok(if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)
            .map_err(db)?
            .map_or(Cell::Null, |b| Cell::Int(i64::from(b)))
    } else if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)
            .map_err(db)?
            .map_or(Cell::Null, Cell::Int)
    } else if ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)
            .map_err(db)?
            .map_or(Cell::Null, Cell::Real)
    } else if ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)
            .map_err(db)?
            .map_or(Cell::Null, |b| Cell::Blob(serde_bytes::ByteBuf::from(b)))
    } else {
        row.try_get::<_, Option<String>>(i)
            .map_err(db)?
            .map_or(Cell::Null, Cell::Text)
    })
}

/// A [`Cell`] as a parameter of the column it is bound to (an `Int` is a boolean where
/// the column is one).
#[derive(Debug)]
struct CellParam<'a>(&'a Cell);

impl ToSql for CellParam<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Int(i) if *ty == Type::BOOL => (*i != 0).to_sql(ty, out),
            Cell::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Cell::Int(i) => i.to_sql(ty, out),
            Cell::Real(f) => f.to_sql(ty, out),
            Cell::Text(s) => s.as_str().to_sql(ty, out),
            Cell::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::BOOL,
            Type::INT4,
            Type::INT8,
            Type::FLOAT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::BYTEA,
        ]
        .contains(ty)
    }

    to_sql_checked!();
}
