//! The projection tables on PostgreSQL (migration 004): written from the merged document
//! in the transaction that stores it, with the rows `gridwalk_core::projection` computes
//! (the same rows the embedded store writes), and read back for a first download in the
//! column order of [`gridwalk_core::projection::shipped_tables`].

use crate::Tx;
use crate::{db, Result};
use gridwalk_core::projection::{project, shipped_tables, Projected, Rows, Table, PERSONS, TABLES};
use gridwalk_core::sync::{Cell, TableRows};
use gridwalk_core::{DocId, DocKind, Document};
use postgres::types::Type;
use postgres::Row;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The shape of the rows: the embedded store's [`gridwalk_store::projection::VERSION`],
/// kept in `meta` as `projection.version`; a database behind it is rebuilt at start.
const VERSION_KEY: &str = "projection.version";

/// The rows of documents stored in one transaction, written together before it commits:
/// one statement per table however many documents (a push, an import, a rebuild's page).
#[derive(Default)]
pub(crate) struct PendingRows(Vec<Projected>);

impl PendingRows {
    /// The projection of `doc` as stored in `grid_id`. A document that does not read as
    /// its schema (possible only for merged remote state) keeps its old rows, as on SQLite.
    pub(crate) fn add(&mut self, doc: &Document, grid_id: &str) {
        self.0.extend(project(doc, grid_id));
    }

    /// Write them: members no longer in their household leave, every other row is
    /// upserted (a member's only where it changed, as on SQLite).
    pub(crate) fn write(self, tx: &mut Tx<'_>) -> Result<()> {
        // A document written twice in one transaction: its last rows.
        let mut seen = std::collections::HashSet::new();
        let mut docs: Vec<Projected> = self.0;
        docs.reverse();
        docs.retain(|p| seen.insert(p.rows.doc_id().to_string()));
        docs.reverse();
        let (mut households, mut members): (Vec<&str>, [Vec<&str>; 2]) = Default::default();
        for p in &docs {
            if let Rows::Household { household, persons } = &p.rows {
                households.push(&household.doc_id);
                for m in persons {
                    members[0].push(&household.doc_id);
                    members[1].push(&m.person_id);
                }
            }
        }
        if !households.is_empty() {
            // Typed statements here: one round trip each (every push writes these).
            tx.query_typed(
                "DELETE FROM persons p WHERE p.household_id = ANY($1::text[])
                   AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS k(h, m)
                                   WHERE k.h = p.household_id AND k.m = p.person_id)",
                &[
                    (&households, Type::TEXT_ARRAY),
                    (&members[0], Type::TEXT_ARRAY),
                    (&members[1], Type::TEXT_ARRAY),
                ],
            )
            .map_err(db)?;
        }
        let mut by_table: HashMap<&'static str, Vec<serde_json::Value>> = HashMap::new();
        for p in &docs {
            for (name, rows) in p.rows.tables() {
                let cols = TABLES
                    .iter()
                    .find(|t| t.name == name)
                    .map_or(&[][..], |t| t.cols);
                let objects = rows.iter().map(|r| json_row(cols, r));
                by_table.entry(name).or_default().extend(objects);
            }
        }
        // In the tables' fixed order (households before their persons).
        for t in TABLES.iter() {
            if let Some(rows) = by_table.remove(t.name).filter(|r| !r.is_empty()) {
                let rows = serde_json::Value::Array(rows);
                tx.query_typed(sql_for(t.name).upsert.as_str(), &[(&rows, Type::JSONB)])
                    .map_err(db)?;
            }
        }
        Ok(())
    }
}

/// One row as a JSON object keyed by column, for `jsonb_populate_recordset` (which reads
/// each value as its column's type: `Int` 0/1 into a boolean column too).
fn json_row(cols: &[&str], cells: &[Cell]) -> serde_json::Value {
    let object = cols.iter().zip(cells).map(|(c, cell)| {
        let value = match cell {
            Cell::Null => serde_json::Value::Null,
            Cell::Int(i) => (*i).into(),
            // A non-finite real (never projected) is stored as NULL.
            Cell::Real(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            Cell::Text(t) => t.clone().into(),
            // bytea's text input (no projected column is one today).
            Cell::Blob(b) => format!("\\x{}", hex::encode(b.as_slice())).into(),
        };
        (c.to_string(), value)
    });
    serde_json::Value::Object(object.collect())
}

/// The stored rows of many documents (a page of a first download), as the embedded
/// store's `projection::read_rows` gives them one document at a time: one query per table. Every document gets every table of its kind, empty where it has no rows.
pub(crate) fn read_rows_of(
    tx: &mut Tx<'_>,
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
/// Returns whether it rebuilt them.
pub(crate) fn rebuild_if_stale(tx: &mut Tx<'_>) -> Result<bool> {
    let version = gridwalk_store::projection::VERSION;
    let stored: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&VERSION_KEY])
        .map_err(db)?
        .map(|r| r.get(0));
    if stored.as_deref() == Some(version) {
        return Ok(false);
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
        let mut rows = PendingRows::default();
        for row in &page {
            let id = DocId(row.get(0));
            let Some(kind) = DocKind::parse(row.get(1)) else {
                continue;
            };
            let grid: String = row.get(2);
            // A document that does not load keeps no rows; it is reported, not fatal.
            match Document::load(kind, id, row.get::<_, &[u8]>(3)) {
                Ok(doc) => rows.add(&doc, &grid),
                Err(e) => tracing::warn!(%id, error = %e, "document skipped by the rebuild"),
            }
            rebuilt += 1;
        }
        rows.write(tx)?;
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
    Ok(true)
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
    let rest: Vec<&str> = t
        .cols
        .iter()
        .copied()
        .filter(|c| !t.primary_key.contains(c))
        .collect();
    let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let mut upsert = format!(
        "INSERT INTO {name} ({cols})
         SELECT {cols} FROM jsonb_populate_recordset(NULL::{name}, $1::jsonb)
         ON CONFLICT ({}) DO UPDATE SET {}",
        t.primary_key.join(", "),
        set.join(", "),
        name = t.name,
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
