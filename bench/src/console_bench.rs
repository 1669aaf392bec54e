//! `console`: the supervisor's dashboard indicators over a district-sized store.
//!
//! The store is filled by bulk-inserting projection rows ([`crate::fill`]). Then the whole
//! district's indicators are computed (admin scope) several times; the median is reported,
//! on SQLite and (`--database`) on PostgreSQL beside it.

use crate::fill::{fill_district, grid_count, FillSpec, NOW};
use anyhow::Result;
use gridwalk_district_sqlite::{IndicatorQuery, IndicatorStore, Indicators, SqliteDistrict};
use std::time::Instant;

const RUNS: usize = 5;

pub fn run(
    households: usize,
    issues: usize,
    visits: usize,
    seed: u64,
    database: Option<&str>,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let district = SqliteDistrict::open(dir.path())?;
    let grids = grid_count(households);
    let fill = Instant::now();
    fill_district(
        &district,
        &FillSpec {
            households,
            persons_per_household: 0,
            visits,
            issues,
            seed,
        },
    )?;
    let fill_s = fill.elapsed().as_secs_f64();
    println!("console indicators over the whole district (projection rows bulk-inserted)");
    println!("  households {households}, issues {issues}, visits {visits}, grids {grids}");
    println!("  fill {fill_s:.1} s");
    let (sqlite_ms, ind) = measure("SQLite", &district)?;
    print_indicators(&ind);
    let pg_ms = match database {
        None => None,
        Some(url) => {
            let t = Instant::now();
            let (_db, pg) = crate::console_pg::copy_fill(district.path(), url)?;
            println!(
                "  PostgreSQL filled by COPY in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            let (ms, pg_ind) = measure("PostgreSQL", &pg)?;
            print_indicators(&pg_ind);
            // The same rows must give the same indicators on both stores.
            if pg_ind != ind {
                anyhow::bail!(
                    "PostgreSQL's indicators differ from SQLite's:\n  SQLite     {}\n  PostgreSQL {}",
                    serde_json::to_string(&ind)?,
                    serde_json::to_string(&pg_ind)?
                );
            }
            println!("  PostgreSQL / SQLite: {:.2}x", ms / sqlite_ms);
            Some(ms)
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "bench": "console",
            "households": ind.households,
            "issues": issues,
            "visits": visits,
            "indicators_server_ms": round1(sqlite_ms),
            "indicators_server_ms_postgres": pg_ms.map(round1),
            "target_ms": 1000,
        })
    );
    Ok(())
}

/// The median of [`RUNS`] whole-district indicator computations, and the last result.
fn measure(name: &str, store: &dyn IndicatorStore) -> Result<(f64, Indicators)> {
    let q = IndicatorQuery {
        now_ms: NOW,
        ..Default::default()
    };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        last = Some(store.indicators(&q)?);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!("  {name}: indicators runs (ms): {times:.1?}");
    Ok((times[times.len() / 2], last.expect("ran")))
}

fn print_indicators(ind: &Indicators) {
    println!(
        "    closure {:?}, on time {:?}, rework {:?}, coverage 30d {} / {}",
        ind.closure_rate, ind.on_time_rate, ind.rework_rate, ind.visited_30d, ind.households
    );
}

fn round1(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}
