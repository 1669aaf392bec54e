//! `console --database`: the same filled district on PostgreSQL. The fill is projection
//! rows only (no documents), so `store copy` — which rebuilds projections from documents —
//! cannot move it; its rows are streamed into PostgreSQL's projection tables with COPY.

use anyhow::{Context, Result};
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_postgres::PgDistrict;
use postgres::NoTls;
use rusqlite::types::ValueRef;
use std::io::Write;
use std::path::Path;

/// The tables the console's indicators read (users and their grids: coverage by worker).
const TABLES: [&str; 6] = [
    "users",
    "user_grids",
    "households",
    "persons",
    "visits",
    "issues",
];

/// A fresh database on `url` holding the projection rows of the SQLite store at `sqlite`.
pub fn copy_fill(sqlite: &Path, url: &str) -> Result<(TestDatabase, PgDistrict)> {
    let db = TestDatabase::create(url, "bench_console")?;
    // Open first: the migrations make the tables (and record the projection version, so
    // nothing is rebuilt over the copied rows).
    let district = PgDistrict::open(db.url(), 4)?;
    let mut pg = postgres::Client::connect(db.url(), NoTls)?;
    let lite = rusqlite::Connection::open(sqlite)?;
    for table in TABLES {
        let pg_cols: Vec<String> = pg
            .query(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1",
                &[&table],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // The columns both stores have, in SQLite's order.
        let cols: Vec<String> = lite
            .prepare(&format!("SELECT * FROM \"{table}\" LIMIT 0"))?
            .column_names()
            .into_iter()
            .filter(|c| pg_cols.iter().any(|p| p == c))
            .map(String::from)
            .collect();
        let list = cols.join(", ");
        let mut stmt = lite.prepare(&format!("SELECT {list} FROM \"{table}\""))?;
        let mut rows = stmt.query([])?;
        let mut sink = pg.copy_in(&format!("COPY {table} ({list}) FROM STDIN"))?;
        let mut line = String::new();
        while let Some(row) = rows.next()? {
            line.clear();
            for i in 0..cols.len() {
                if i > 0 {
                    line.push('\t');
                }
                copy_text(&mut line, row.get_ref(i)?);
            }
            line.push('\n');
            sink.write_all(line.as_bytes())?;
        }
        let n = sink.finish().with_context(|| format!("COPY {table}"))?;
        eprintln!("  copied {n} {table} rows to PostgreSQL");
    }
    pg.batch_execute("ANALYZE")?;
    Ok((db, district))
}

/// One value in COPY's text format (booleans arrive as SQLite's 0/1, which PostgreSQL
/// reads as false/true).
fn copy_text(out: &mut String, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.push_str("\\N"),
        ValueRef::Integer(i) => out.push_str(&i.to_string()),
        ValueRef::Real(f) => out.push_str(&f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            for c in String::from_utf8_lossy(t).chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_as_structure() {
        let mut s = String::new();
        copy_text(&mut s, ValueRef::Text("a\tb\nc\\d".as_bytes()));
        assert_eq!(s, "a\\tb\\nc\\\\d");
        s.clear();
        copy_text(&mut s, ValueRef::Null);
        assert_eq!(s, "\\N");
    }
}
