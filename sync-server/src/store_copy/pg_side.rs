//! PostgreSQL's side of a copy: one database, read and written with plain SQL over one
//! connection (the schema is brought up to date by opening the district first).

use super::tables::{Kind, Mode, Table, META_OWN_KEYS, PROGRESS_TABLE};
use super::value::{check_row, Progress, Row, Val};
use super::Side;
use crate::ServerError;
use gridwalk_district_postgres::{redact, PgDistrict};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls};

/// Parameters per statement: PostgreSQL allows 65,535.
const MAX_PARAMS: usize = 60_000;

pub struct PgSide {
    url: String,
    client: Client,
}

impl PgSide {
    /// Open the district at `url` (running its migrations, as a server start would) and
    /// one connection for the copy.
    pub fn open(url: &str) -> Result<PgSide, ServerError> {
        drop(PgDistrict::open(url, 1)?);
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            ServerError::Config(format!("PostgreSQL URL {}: {e}", redact(url)))
        })?;
        Ok(PgSide {
            url: url.to_string(),
            client: config.connect(NoTls)?,
        })
    }
}

fn own_rows(t: &Table) -> String {
    if t.name == "meta" {
        let keys: Vec<String> = META_OWN_KEYS.iter().map(|k| format!("'{k}'")).collect();
        format!("\"key\" NOT IN ({})", keys.join(", "))
    } else {
        "true".into()
    }
}

/// The column as read: uuid and jsonb as their text, every integer as bigint.
fn select_expr(name: &str, kind: Kind) -> String {
    match kind {
        Kind::Text | Kind::Bytes | Kind::Bool => format!("\"{name}\""),
        Kind::Int => format!("\"{name}\"::int8"),
        Kind::Uuid | Kind::Json => format!("\"{name}\"::text"),
    }
}

/// Parameter `$n` typed for its column.
fn placeholder(n: usize, kind: Kind) -> String {
    match kind {
        Kind::Text => format!("${n}::text"),
        Kind::Int => format!("${n}::int8"),
        Kind::Bytes => format!("${n}::bytea"),
        Kind::Bool => format!("${n}::bool"),
        Kind::Uuid => format!("${n}::text::uuid"),
        Kind::Json => format!("${n}::text::jsonb"),
    }
}

/// A value as a parameter of its column's kind (a NULL typed as the column is).
fn param(kind: Kind, v: &Val) -> Box<dyn ToSql + Sync> {
    match (kind, v) {
        (Kind::Int, Val::Null) => Box::new(Option::<i64>::None),
        (Kind::Bytes, Val::Null) => Box::new(Option::<Vec<u8>>::None),
        (Kind::Bool, Val::Null) => Box::new(Option::<bool>::None),
        (_, Val::Null) => Box::new(Option::<String>::None),
        (_, Val::Int(i)) => Box::new(*i),
        (_, Val::Text(s)) => Box::new(s.clone()),
        (_, Val::Bytes(b)) => Box::new(b.clone()),
        (_, Val::Bool(b)) => Box::new(*b),
    }
}

fn read_value(t: &Table, i: usize, row: &postgres::Row) -> Result<Val, ServerError> {
    let kind = t.cols[i].kind;
    Ok(match kind {
        Kind::Int => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Val::Null, Val::Int),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Val::Null, Val::Bool),
        Kind::Bytes => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Val::Null, Val::Bytes),
        Kind::Text | Kind::Uuid | Kind::Json => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Val::Null, Val::Text),
    })
}

fn column_list(t: &Table) -> String {
    let names: Vec<String> = t.cols.iter().map(|c| format!("\"{}\"", c.name)).collect();
    names.join(", ")
}

fn insert_rows(tx: &mut impl GenericClient, t: &Table, rows: &[Row]) -> Result<(), ServerError> {
    let per_statement = (MAX_PARAMS / t.cols.len()).max(1);
    let overriding = if t.pg_identity {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    for chunk in rows.chunks(per_statement) {
        let mut values = Vec::with_capacity(chunk.len());
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(chunk.len() * t.cols.len());
        for row in chunk {
            let marks: Vec<String> = t
                .cols
                .iter()
                .enumerate()
                .map(|(i, c)| placeholder(params.len() + i + 1, c.kind))
                .collect();
            values.push(format!("({})", marks.join(", ")));
            params.extend(row.iter().zip(t.cols).map(|(v, c)| param(c.kind, v)));
        }
        let sql = format!(
            "INSERT INTO \"{}\" ({}){overriding} VALUES {} ON CONFLICT DO NOTHING",
            t.name,
            column_list(t),
            values.join(", ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        tx.execute(sql.as_str(), &refs)?;
    }
    Ok(())
}

fn save_progress(tx: &mut impl GenericClient, p: &Progress) -> Result<(), ServerError> {
    tx.execute(
        &format!(
            "INSERT INTO {PROGRESS_TABLE} (tbl, source, last_key, rows, done)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tbl) DO UPDATE SET source = excluded.source,
                 last_key = excluded.last_key, rows = excluded.rows, done = excluded.done"
        ),
        &[&p.table, &p.source, &p.last_key, &p.rows, &p.done],
    )?;
    Ok(())
}

impl Side for PgSide {
    fn describe(&self) -> String {
        format!("postgres:{}", redact(&self.url))
    }

    fn count(&mut self, t: &Table) -> Result<i64, ServerError> {
        let sql = format!("SELECT count(*) FROM \"{}\" WHERE {}", t.name, own_rows(t));
        Ok(self.client.query_one(sql.as_str(), &[])?.get(0))
    }

    fn count_derived(&mut self, table: &str) -> Result<i64, ServerError> {
        let sql = format!("SELECT count(*) FROM \"{table}\"");
        Ok(self.client.query_one(sql.as_str(), &[])?.get(0))
    }

    fn read(
        &mut self,
        t: &Table,
        after: Option<&[Val]>,
        limit: usize,
    ) -> Result<Vec<Row>, ServerError> {
        let exprs: Vec<String> = t.cols.iter().map(|c| select_expr(c.name, c.kind)).collect();
        let keys: Vec<String> = t
            .key_cols()
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        let keys = keys.join(", ");
        let mut sql = format!(
            "SELECT {} FROM \"{}\" WHERE {}",
            exprs.join(", "),
            t.name,
            own_rows(t)
        );
        let params: Vec<Box<dyn ToSql + Sync>> = after
            .unwrap_or(&[])
            .iter()
            .zip(t.key_cols())
            .map(|(v, c)| param(c.kind, v))
            .collect();
        if after.is_some() {
            let marks: Vec<String> = t
                .key_cols()
                .iter()
                .enumerate()
                .map(|(i, c)| placeholder(i + 1, c.kind))
                .collect();
            sql += &format!(" AND ({keys}) > ({})", marks.join(", "));
        }
        sql += &format!(" ORDER BY {keys} LIMIT {}", limit.min(i64::MAX as usize));
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let rows = self.client.query(sql.as_str(), &refs)?;
        rows.iter()
            .map(|r| (0..t.cols.len()).map(|i| read_value(t, i, r)).collect())
            .collect()
    }

    fn holds_rows(&mut self, t: &Table) -> Result<bool, ServerError> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM \"{}\" WHERE {})",
            t.name,
            own_rows(t)
        );
        Ok(self.client.query_one(sql.as_str(), &[])?.get(0))
    }

    fn progress(&mut self) -> Result<Option<Vec<Progress>>, ServerError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&PROGRESS_TABLE])?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let rows = self.client.query(
            &format!("SELECT tbl, source, last_key, rows, done FROM {PROGRESS_TABLE} ORDER BY tbl"),
            &[],
        )?;
        Ok(Some(
            rows.iter()
                .map(|r| Progress {
                    table: r.get(0),
                    source: r.get(1),
                    last_key: r.get(2),
                    rows: r.get(3),
                    done: r.get(4),
                })
                .collect(),
        ))
    }

    fn claim(&mut self, progress: &[Progress]) -> Result<(), ServerError> {
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (
                 tbl      text PRIMARY KEY,
                 source   text NOT NULL,
                 last_key text,
                 rows     bigint NOT NULL,
                 done     boolean NOT NULL
             )"
        ))?;
        for p in progress {
            save_progress(&mut tx, p)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn write(&mut self, t: &Table, rows: &[Row], progress: &Progress) -> Result<(), ServerError> {
        for row in rows {
            check_row(t, row)?;
        }
        let mut tx = self.client.transaction()?;
        if t.mode == Mode::Replace {
            tx.execute(
                &format!("DELETE FROM \"{}\" WHERE {}", t.name, own_rows(t)),
                &[],
            )?;
        }
        insert_rows(&mut tx, t, rows)?;
        save_progress(&mut tx, progress)?;
        tx.commit()?;
        Ok(())
    }

    fn grids(&mut self) -> Result<Vec<String>, ServerError> {
        let rows = self
            .client
            .query("SELECT DISTINCT grid_id FROM docs ORDER BY grid_id", &[])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn max_seq(&mut self) -> Result<i64, ServerError> {
        Ok(self
            .client
            .query_one("SELECT coalesce(max(seq), 0)::int8 FROM changes", &[])?
            .get(0))
    }

    fn finish(&mut self) -> Result<(), ServerError> {
        // New changes are numbered after the copied ones (the cursor rule's sequence);
        // the identity columns likewise. `setval(…, max, true)`: the next value is max+1.
        let mut tx = self.client.transaction()?;
        tx.execute(
            "SELECT setval('changes_seq', max(seq)) FROM changes HAVING max(seq) IS NOT NULL",
            &[],
        )?;
        for t in super::tables::TABLES.iter().filter(|t| t.pg_identity) {
            let id = t.cols[0].name;
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{id}'), max(\"{id}\"))
                     FROM \"{0}\" HAVING max(\"{id}\") IS NOT NULL",
                    t.name
                ),
                &[],
            )?;
        }
        // The copied `meta` carries the source's projection version, which would tell
        // PostgreSQL its (empty) projection tables are current: drop it, and opening the
        // district rebuilds them from the copied documents (`rebuild_if_stale`).
        tx.execute(
            "DELETE FROM meta WHERE key = $1",
            &[&gridwalk_store::projection::VERSION_KEY],
        )?;
        tx.commit()?;
        drop(PgDistrict::open(&self.url, 1)?);
        Ok(())
    }

    fn district(&self) -> Result<Box<dyn gridwalk_district_sqlite::DistrictStore>, ServerError> {
        Ok(Box::new(PgDistrict::open(&self.url, 2)?))
    }
}
