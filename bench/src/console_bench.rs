//! `console`: the supervisor's dashboard indicators over a district-sized store.
//!
//! The store is filled by bulk-inserting projection rows ([`crate::fill`]). Then the whole district's indicators
//! are computed (admin scope) several times; the median is reported.

use crate::fill::{fill_district, grid_count, FillSpec, NOW};
use anyhow::Result;
use gridwalk_district_sqlite::{IndicatorQuery, IndicatorStore, SqliteDistrict};
use std::time::Instant;

pub fn run(households: usize, issues: usize, visits: usize, seed: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let district = SqliteDistrict::open(dir.path())?;
    let grids = grid_count(households);
    let now = NOW;
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
    let q = IndicatorQuery {
        now_ms: now,
        ..Default::default()
    };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        last = Some(district.indicators(&q)?);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    let ind = last.expect("ran");
    println!("console indicators over the whole district (projection rows bulk-inserted)");
    println!("  households {households}, issues {issues}, visits {visits}, grids {grids}");
    println!("  fill {fill_s:.1} s; indicators runs (ms): {times:.1?}");
    println!(
        "  closure {:?}, on time {:?}, rework {:?}, coverage 30d {} / {}",
        ind.closure_rate, ind.on_time_rate, ind.rework_rate, ind.visited_30d, ind.households
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "console",
            "households": ind.households,
            "issues": issues,
            "visits": visits,
            "indicators_server_ms": (median * 10.0).round() / 10.0,
            "target_ms": 1000,
        })
    );
    Ok(())
}
