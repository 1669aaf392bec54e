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

/// One backend's sync figures (medians).
pub struct Figures {
    pub full_s: f64,
    pub full_bytes: f64,
    pub push_ms: f64,
    pub push_server_ms: f64,
    pub pull_ms: f64,
    pub pull_server_ms: f64,
}

/// SQLite and PostgreSQL side by side for one grid size (the same district, devices and
/// edits; the server's store is what differs).
pub fn print_side_by_side(sqlite: &Figures, pg: &Figures) {
    println!(
        "\n{:<34} {:>12} {:>12} {:>9}",
        "measure", "SQLite", "PostgreSQL", "PG/SQLite"
    );
    let line = |name: &str, a: f64, b: f64| {
        println!("{name:<34} {a:>12.2} {b:>12.2} {:>8.2}x", b / a);
    };
    line("full sync, fresh device (s)", sqlite.full_s, pg.full_s);
    line("full sync bytes", sqlite.full_bytes, pg.full_bytes);
    line(
        "incremental push, 20 edits (ms)",
        sqlite.push_ms,
        pg.push_ms,
    );
    line(
        "  server time of the push (ms)",
        sqlite.push_server_ms,
        pg.push_server_ms,
    );
    line("incremental pull (ms)", sqlite.pull_ms, pg.pull_ms);
    line(
        "  server time of the pull (ms)",
        sqlite.pull_server_ms,
        pg.pull_server_ms,
    );
    println!(
        "(target: PostgreSQL within 1.5x of SQLite. One shared machine: indicative only, \
         quote `uptime`.)"
    );
}
