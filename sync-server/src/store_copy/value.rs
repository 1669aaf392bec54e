//! A row as the copy carries it between backends, and the progress record it keeps on
//! the target.

use super::tables::{Kind, Table};
use crate::ServerError;

/// One column's value, already in the column's [`Kind`] (a boolean is `Bool` whichever
/// side it came from).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

pub type Row = Vec<Val>;

impl Val {
    /// Whether the value may be written into a column of `kind`.
    pub fn fits(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Val::Null, _)
                | (Val::Int(_), Kind::Int)
                | (Val::Text(_), Kind::Text | Kind::Uuid | Kind::Json)
                | (Val::Bytes(_), Kind::Bytes)
                | (Val::Bool(_), Kind::Bool)
        )
    }
}

/// A row's key (its leading key columns) as JSON text, for the progress record.
pub fn key_json(table: &Table, row: &Row) -> String {
    let key: Vec<serde_json::Value> = row[..table.key]
        .iter()
        .map(|v| match v {
            Val::Int(i) => serde_json::Value::from(*i),
            Val::Text(s) => serde_json::Value::from(s.as_str()),
            _ => serde_json::Value::Null,
        })
        .collect();
    serde_json::Value::Array(key).to_string()
}

/// The key written by [`key_json`], read back with the table's key kinds.
pub fn parse_key(table: &Table, json: &str) -> Result<Vec<Val>, ServerError> {
    let bad = || {
        ServerError::Copy(format!(
            "进度记录损坏 / the progress record of {} holds a bad key: {json}",
            table.name
        ))
    };
    let values: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|_| bad())?;
    if values.len() != table.key {
        return Err(bad());
    }
    values
        .iter()
        .zip(table.key_cols())
        .map(|(v, col)| match (col.kind, v) {
            (Kind::Int, serde_json::Value::Number(n)) => n.as_i64().map(Val::Int).ok_or_else(bad),
            (Kind::Text | Kind::Uuid, serde_json::Value::String(s)) => Ok(Val::Text(s.clone())),
            _ => Err(bad()),
        })
        .collect()
}

/// How far the copy of one table has come (a row of the target's `store_copy`).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub table: String,
    /// The source this target is a copy of ([`super::Side::describe`]).
    pub source: String,
    /// The key of the last row written, as [`key_json`]; `None` before the first batch.
    pub last_key: Option<String>,
    pub rows: i64,
    pub done: bool,
}

/// Refuses a row whose values do not fit their columns (a bug, never written as NULL).
pub fn check_row(table: &Table, row: &Row) -> Result<(), ServerError> {
    if row.len() != table.cols.len() {
        return Err(ServerError::Copy(format!(
            "{}: a row of {} values for {} columns",
            table.name,
            row.len(),
            table.cols.len()
        )));
    }
    for (v, col) in row.iter().zip(table.cols) {
        if !v.fits(col.kind) {
            return Err(ServerError::Copy(format!(
                "{}.{}: a value of the wrong type ({v:?})",
                table.name, col.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store_copy::tables::find;

    #[test]
    fn a_key_survives_the_progress_record() {
        let t = find("photo_refs").expect("table");
        let row = vec![
            Val::Text("ab\"c".into()),
            Val::Text("0190a4b2-0000-7000-8000-000000000001".into()),
            Val::Text("g1".into()),
        ];
        let json = key_json(t, &row);
        assert_eq!(parse_key(t, &json).expect("parsed"), row[..2].to_vec());
        let changes = find("changes").expect("table");
        let key = key_json(changes, &vec![Val::Int(42); 10]);
        assert_eq!(
            parse_key(changes, &key).expect("parsed"),
            vec![Val::Int(42)]
        );
    }

    #[test]
    fn a_bad_key_is_an_error_not_a_restart() {
        let t = find("changes").expect("table");
        for bad in ["", "[]", "[\"x\"]", "[1,2]", "{}"] {
            assert!(parse_key(t, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_of_the_wrong_kind_are_refused() {
        let t = find("user_grids").expect("table");
        assert!(check_row(t, &vec![Val::Text("u".into()), Val::Text("g".into())]).is_ok());
        assert!(check_row(t, &vec![Val::Text("u".into()), Val::Int(1)]).is_err());
        assert!(check_row(t, &vec![Val::Text("u".into())]).is_err());
    }
}
