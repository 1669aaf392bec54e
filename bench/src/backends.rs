//! The district store a benchmark serves from: the embedded SQLite store it was built in,
//! or PostgreSQL (`--database`): a database made for the run on that server, the district
//! moved there with `store copy`, dropped when the benchmark is done.

use anyhow::Result;
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_postgres::PgDistrict;
use gridwalk_district_sqlite::{ConsoleBackend, SqliteDistrict};
use gridwalk_server::store_copy::{copy, CopyOptions, Endpoint};
use gridwalk_server::{AppState, ServerConfig};
use std::path::Path;
use std::sync::Arc;

/// The store a server is given, and what the benchmark itself asks of it (enrollment
/// codes, the sync log).
pub struct Served {
    pub store: Arc<dyn ConsoleBackend>,
    pub state: AppState,
    /// Dropped (the database with it) after the server.
    _database: Option<TestDatabase>,
}

/// Serve the district built in `dir` (open as `district`): from there, or, with
/// `database`, from a copy of it on that PostgreSQL server.
pub fn serve(
    dir: &Path,
    district: Arc<SqliteDistrict>,
    config: ServerConfig,
    database: Option<&str>,
) -> Result<Served> {
    let Some(url) = database else {
        return Ok(Served {
            store: district.clone(),
            state: AppState::new(district, config),
            _database: None,
        });
    };
    let db = TestDatabase::create(url, "bench_sync")?;
    let report = copy(
        &Endpoint::Data(dir.to_path_buf()),
        &Endpoint::Postgres(db.url().to_string()),
        &CopyOptions::default(),
        &mut std::io::sink(),
    )?;
    anyhow::ensure!(report.differences().is_none(), "store copy differs");
    let pg = Arc::new(PgDistrict::open(db.url(), 16)?);
    Ok(Served {
        store: pg.clone(),
        state: AppState::postgres(pg, config),
        _database: Some(db),
    })
}
