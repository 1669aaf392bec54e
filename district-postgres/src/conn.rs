//! Pooled connections that keep their prepared statements. Every sync runs the same
//! dozen statements; sent as unnamed statements each is parsed, analysed and planned
//! again every time: a third of PostgreSQL's CPU under the 400-device load (perf). So
//! on a pooled connection and its transactions, the typed statements (`query_typed`,
//! `query_typed_opt`, `query_typed_one`, `query_typed_raw`: the sync path's) are
//! prepared once per connection and kept, by their SQL; after a few runs PostgreSQL's
//! plan cache plans each once too. These methods shadow the driver's of the same name
//! and do the same, so a call site reads as it would on a bare client.

use crate::{db, Result};
use postgres::types::{BorrowToSql, ToSql, Type};
use postgres::{Client, GenericClient, NoTls, Row, RowIter, Statement, Transaction};
use r2d2_postgres::r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

/// A connection and the statements prepared on it, keyed by their SQL.
pub struct PgConn {
    client: Client,
    statements: Statements,
}

impl Deref for PgConn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

type Statements = HashMap<&'static str, Statement>;
type Params<'a> = [(&'a (dyn ToSql + Sync), Type)];

/// `sql` prepared with `types` on `client`'s session, once: a statement is the
/// session's, not a transaction's, so one prepared in a transaction that then rolls back
/// stays usable. The same SQL asked with other types is prepared for that call only.
fn statement(
    statements: &mut Statements,
    client: &mut impl GenericClient,
    sql: &'static str,
    types: &[Type],
) -> std::result::Result<Statement, postgres::Error> {
    if let Some(s) = statements.get(sql).filter(|s| s.params() == types) {
        return Ok(s.clone());
    }
    let prepared = client.prepare_typed(sql, types)?;
    statements.entry(sql).or_insert_with(|| prepared.clone());
    Ok(prepared)
}

fn split<'a>(params: &'a Params<'a>) -> (Vec<Type>, Vec<&'a (dyn ToSql + Sync)>) {
    params.iter().map(|(v, t)| (t.clone(), *v)).unzip()
}

/// The shadowing statements (see the module's documentation).
impl<'a> Tx<'a> {
    /// The statement for `sql` (prepared once) and the parameters' values.
    fn bind<'p>(
        &mut self,
        sql: &'static str,
        params: &'p Params<'p>,
    ) -> std::result::Result<(Statement, Vec<&'p (dyn ToSql + Sync)>), postgres::Error> {
        let (types, values) = split(params);
        let s = statement(self.statements, &mut self.tx, sql, &types)?;
        Ok((s, values))
    }

    pub(crate) fn query_typed(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        let (s, values) = self.bind(sql, params)?;
        self.tx.query(&s, &values)
    }

    pub(crate) fn query_typed_opt(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        let (s, values) = self.bind(sql, params)?;
        self.tx.query_opt(&s, &values)
    }

    pub(crate) fn query_typed_one(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<Row, postgres::Error> {
        let (s, values) = self.bind(sql, params)?;
        self.tx.query_one(&s, &values)
    }

    pub(crate) fn query_typed_raw<P, I>(
        &mut self,
        sql: &'static str,
        params: I,
    ) -> std::result::Result<RowIter<'_>, postgres::Error>
    where
        P: BorrowToSql,
        I: IntoIterator<Item = (P, Type)>,
    {
        let (values, types): (Vec<P>, Vec<Type>) = params.into_iter().unzip();
        let s = statement(self.statements, &mut self.tx, sql, &types)?;
        self.tx.query_raw(&s, values)
    }
}

impl PgConn {
    /// `query_typed_opt`, prepared once (see the module's documentation).
    pub(crate) fn query_typed_opt(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        let (types, values) = split(params);
        let s = statement(&mut self.statements, &mut self.client, sql, &types)?;
        self.client.query_opt(&s, &values)
    }

    /// A transaction that can use (and add to) this connection's prepared statements.
    pub(crate) fn tx(
        &mut self,
        build: impl FnOnce(&mut Client) -> std::result::Result<Transaction<'_>, postgres::Error>,
    ) -> Result<Tx<'_>> {
        let PgConn { client, statements } = self;
        Ok(Tx {
            tx: build(client).map_err(db)?,
            statements,
        })
    }
}

/// r2d2's manager for [`PgConn`]: the driver's manager, with an empty statement cache per
/// new connection (statements belong to the server session that prepared them).
#[derive(Debug)]
pub struct Manager(pub(crate) PostgresConnectionManager<NoTls>);

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

/// A transaction on a [`PgConn`]; everything else a transaction does, through `Deref`.
pub(crate) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut Statements,
}

impl<'a> Deref for Tx<'a> {
    type Target = Transaction<'a>;
    fn deref(&self) -> &Transaction<'a> {
        &self.tx
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Tx<'_> {
    pub(crate) fn commit(self) -> Result<()> {
        self.tx.commit().map_err(db)
    }
}
