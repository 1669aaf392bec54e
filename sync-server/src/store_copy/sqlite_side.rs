//! The embedded store's side of a copy: `district.sqlite` and `blobs.sqlite` in a data
//! directory, read and written row by row with plain SQL (the district's code decides
//! nothing here: the rows are the state).

use super::tables::{File, Kind, Mode, Table, META_OWN_KEYS, PROGRESS_TABLE};
use super::value::{check_row, Progress, Row, Val};
use super::Side;
use crate::ServerError;
use gridwalk_core::{DocId, DocKind, Document};
use gridwalk_district_sqlite::blobs::{BlobStore, SqliteBlobs, DEFAULT_DEVICE_QUOTA};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params_from_iter, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

pub struct SqliteSide {
    dir: PathBuf,
    district: Connection,
    /// `None`: a source without a blob file (no photo was ever stored).
    blobs: Option<Connection>,
}

impl SqliteSide {
    /// The data directory as a source: its stores brought up to date as a server start
    /// would, then read.
    pub fn source(dir: &Path) -> Result<SqliteSide, ServerError> {
        if !dir.join("district.sqlite").is_file() {
            return Err(ServerError::Copy(format!(
                "{} 中没有区县库 / no district.sqlite in {}",
                dir.display(),
                dir.display()
            )));
        }
        drop(crate::open_district(dir)?);
        let blob_file = dir.join("blobs.sqlite");
        let blobs = if blob_file.is_file() {
            Some(Connection::open_with_flags(
                &blob_file,
                OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?)
        } else {
            None
        };
        Ok(SqliteSide {
            dir: dir.to_path_buf(),
            district: connect(&dir.join("district.sqlite"))?,
            blobs,
        })
    }

    /// The data directory as a target: created if needed, both files with their schema.
    pub fn target(dir: &Path) -> Result<SqliteSide, ServerError> {
        let district = crate::open_district(dir)?;
        let blobs = SqliteBlobs::beside(district.path(), DEFAULT_DEVICE_QUOTA);
        // Opening runs the blob store's migrations.
        blobs.status("0")?;
        drop(district);
        Ok(SqliteSide {
            dir: dir.to_path_buf(),
            district: connect(&dir.join("district.sqlite"))?,
            blobs: Some(connect(&dir.join("blobs.sqlite"))?),
        })
    }

    fn conn(&self, t: &Table) -> Option<&Connection> {
        match t.file {
            File::District => Some(&self.district),
            File::Blobs => self.blobs.as_ref(),
        }
    }
}

fn connect(path: &Path) -> Result<Connection, ServerError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// `WHERE` terms a table always has: `meta` without the store's own keys.
fn own_rows(t: &Table) -> String {
    if t.name == "meta" {
        let keys: Vec<String> = META_OWN_KEYS.iter().map(|k| format!("'{k}'")).collect();
        format!("\"key\" NOT IN ({})", keys.join(", "))
    } else {
        "1".into()
    }
}

fn column_list(t: &Table) -> String {
    let names: Vec<String> = t.cols.iter().map(|c| format!("\"{}\"", c.name)).collect();
    names.join(", ")
}

fn read_value(t: &Table, i: usize, v: ValueRef<'_>) -> Result<Val, ServerError> {
    let col = t.cols[i];
    let bad = || {
        ServerError::Copy(format!(
            "{}.{}: SQLite holds a {:?} where {:?} belongs",
            t.name,
            col.name,
            v.data_type(),
            col.kind
        ))
    };
    Ok(match (col.kind, v) {
        (_, ValueRef::Null) => Val::Null,
        (Kind::Int, ValueRef::Integer(i)) => Val::Int(i),
        (Kind::Bool, ValueRef::Integer(i)) => Val::Bool(i != 0),
        (Kind::Bytes, ValueRef::Blob(b)) => Val::Bytes(b.to_vec()),
        (Kind::Text | Kind::Uuid | Kind::Json, ValueRef::Text(s)) => {
            Val::Text(String::from_utf8(s.to_vec()).map_err(|_| bad())?)
        }
        _ => return Err(bad()),
    })
}

fn to_sqlite(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Int(i) => Value::Integer(*i),
        Val::Text(s) => Value::Text(s.clone()),
        Val::Bytes(b) => Value::Blob(b.clone()),
        Val::Bool(b) => Value::Integer(i64::from(*b)),
    }
}

/// A district document is its snapshot plus the chunks appended since: the copy carries
/// one saved form, and checks that it has the heads the store says it has.
fn fold_chunks(conn: &Connection, rows: &mut [Row]) -> Result<(), ServerError> {
    let mut chunks =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    for row in rows {
        let (Val::Text(id), Val::Text(kind), Val::Bytes(snapshot), Val::Text(heads)) =
            (&row[0], &row[1], &row[3], &row[4])
        else {
            return Err(ServerError::Copy(
                "docs: a row without id, kind, snapshot or heads".into(),
            ));
        };
        let parts: Vec<Vec<u8>> = chunks
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if parts.is_empty() {
            continue;
        }
        let corrupt = |why: String| ServerError::Copy(format!("document {id}: {why}"));
        let doc_id = DocId::parse(id).ok_or_else(|| corrupt("not a UUID".into()))?;
        let kind = DocKind::parse(kind).ok_or_else(|| corrupt(format!("unknown kind {kind}")))?;
        let mut doc = Document::load(kind, doc_id, snapshot).map_err(|e| corrupt(e.to_string()))?;
        for part in &parts {
            doc.load_incremental(part)
                .map_err(|e| corrupt(e.to_string()))?;
        }
        let folded = gridwalk_store::docs::heads_text(&doc.heads());
        if &folded != heads {
            return Err(corrupt(format!(
                "its bytes have heads {folded}, the store says {heads}; start the server on \
                 this store once (it corrects stored heads on load), then copy again"
            )));
        }
        row[3] = Val::Bytes(doc.save());
    }
    Ok(())
}

impl Side for SqliteSide {
    fn describe(&self) -> String {
        let dir = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("sqlite:{}", dir.display())
    }

    fn count(&mut self, t: &Table) -> Result<i64, ServerError> {
        let Some(conn) = self.conn(t) else {
            return Ok(0);
        };
        let sql = format!("SELECT count(*) FROM \"{}\" WHERE {}", t.name, own_rows(t));
        Ok(conn.query_row(&sql, [], |r| r.get(0))?)
    }

    fn count_derived(&mut self, table: &str) -> Result<i64, ServerError> {
        let sql = format!("SELECT count(*) FROM \"{table}\"");
        Ok(self.district.query_row(&sql, [], |r| r.get(0))?)
    }

    fn read(
        &mut self,
        t: &Table,
        after: Option<&[Val]>,
        limit: usize,
    ) -> Result<Vec<Row>, ServerError> {
        let Some(conn) = self.conn(t) else {
            return Ok(Vec::new());
        };
        let keys: Vec<String> = t
            .key_cols()
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        let keys = keys.join(", ");
        let mut sql = format!(
            "SELECT {} FROM \"{}\" WHERE {}",
            column_list(t),
            t.name,
            own_rows(t)
        );
        if after.is_some() {
            let marks: Vec<String> = (1..=t.key).map(|i| format!("?{i}")).collect();
            sql += &format!(" AND ({keys}) > ({})", marks.join(", "));
        }
        sql += &format!(" ORDER BY {keys} LIMIT {}", limit.min(i64::MAX as usize));
        let mut stmt = conn.prepare(&sql)?;
        let args: Vec<Value> = after.unwrap_or(&[]).iter().map(to_sqlite).collect();
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let row = (0..t.cols.len())
                .map(|i| read_value(t, i, r.get_ref(i)?))
                .collect::<Result<Row, ServerError>>()?;
            out.push(row);
        }
        drop(rows);
        drop(stmt);
        if t.name == "docs" {
            fold_chunks(conn, &mut out)?;
        }
        Ok(out)
    }

    fn holds_rows(&mut self, t: &Table) -> Result<bool, ServerError> {
        Ok(self.count(t)? > 0)
    }

    fn progress(&mut self) -> Result<Option<Vec<Progress>>, ServerError> {
        let exists: Option<String> = self
            .district
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [PROGRESS_TABLE],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut stmt = self.district.prepare(&format!(
            "SELECT tbl, source, last_key, rows, done FROM {PROGRESS_TABLE} ORDER BY tbl"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(Progress {
                table: r.get(0)?,
                source: r.get(1)?,
                last_key: r.get(2)?,
                rows: r.get(3)?,
                done: r.get::<_, i64>(4)? != 0,
            })
        })?;
        Ok(Some(rows.collect::<rusqlite::Result<_>>()?))
    }

    fn claim(&mut self, progress: &[Progress]) -> Result<(), ServerError> {
        let tx = self.district.transaction()?;
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (
                 tbl      TEXT PRIMARY KEY,
                 source   TEXT NOT NULL,
                 last_key TEXT,
                 rows     INTEGER NOT NULL,
                 done     INTEGER NOT NULL
             ) STRICT"
        ))?;
        for p in progress {
            save_progress(&tx, p)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn write(&mut self, t: &Table, rows: &[Row], progress: &Progress) -> Result<(), ServerError> {
        for row in rows {
            check_row(t, row)?;
        }
        // Blob rows live in another file than the progress record: they cannot commit
        // together, so a batch written again after a crash between the two is skipped
        // row by row (ON CONFLICT DO NOTHING), never doubled.
        let replace = t.mode == Mode::Replace;
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            t.name,
            column_list(t),
            (1..=t.cols.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let write_rows = |conn: &Connection| -> Result<(), ServerError> {
            if replace {
                conn.execute(
                    &format!("DELETE FROM \"{}\" WHERE {}", t.name, own_rows(t)),
                    [],
                )?;
            }
            let mut stmt = conn.prepare(&sql)?;
            for row in rows {
                stmt.execute(params_from_iter(row.iter().map(to_sqlite)))?;
            }
            Ok(())
        };
        match t.file {
            File::District => {
                let tx = self.district.transaction()?;
                write_rows(&tx)?;
                save_progress(&tx, progress)?;
                tx.commit()?;
            }
            File::Blobs => {
                let blobs = self
                    .blobs
                    .as_mut()
                    .ok_or_else(|| ServerError::Copy("no blob store on the target".into()))?;
                let tx = blobs.transaction()?;
                write_rows(&tx)?;
                tx.commit()?;
                save_progress(&self.district, progress)?;
            }
        }
        Ok(())
    }

    fn grids(&mut self) -> Result<Vec<String>, ServerError> {
        let mut stmt = self
            .district
            .prepare("SELECT DISTINCT grid_id FROM docs ORDER BY grid_id")?;
        let grids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(grids)
    }

    fn max_seq(&mut self) -> Result<i64, ServerError> {
        Ok(self
            .district
            .query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| {
                r.get(0)
            })?)
    }

    fn finish(&mut self) -> Result<(), ServerError> {
        // AUTOINCREMENT moved past every id written; the projections are derived from the
        // documents now on this side, by the store's own code.
        let district = crate::open_district(&self.dir)?;
        let n = district.with_writer(|store| store.rebuild_projections())?;
        tracing::info!(documents = n, "projections rebuilt on the target");
        Ok(())
    }

    fn district(&self) -> Result<Box<dyn gridwalk_district_sqlite::DistrictStore>, ServerError> {
        Ok(Box::new(crate::open_district(&self.dir)?))
    }
}

fn save_progress(conn: &Connection, p: &Progress) -> Result<(), ServerError> {
    conn.execute(
        &format!(
            "INSERT INTO {PROGRESS_TABLE} (tbl, source, last_key, rows, done)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tbl) DO UPDATE SET source = excluded.source,
                 last_key = excluded.last_key, rows = excluded.rows, done = excluded.done"
        ),
        rusqlite::params![p.table, p.source, p.last_key, p.rows, i64::from(p.done)],
    )?;
    Ok(())
}
