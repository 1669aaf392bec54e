//! `console`: the supervisor's dashboard indicators over a district-sized store.
//!
//! The store is filled by bulk-inserting projection rows directly (households, visits,
//! issues) with deterministic pseudo-random values, not by creating 650,000 Automerge
//! documents: the indicators read only the projections, and document creation at this
//! scale would take far longer than the measurement. Then the whole district's indicators
//! are computed (admin scope) several times; the median is reported.

use anyhow::Result;
use gridwalk_store::district::{IndicatorQuery, NewUser, SqliteDistrict};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const DAY: i64 = 86_400_000;

pub fn run(households: usize, issues: usize, visits: usize, seed: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let district = SqliteDistrict::open(dir.path())?;
    let grids = households.div_ceil(250).max(1);
    let now: i64 = 1_780_000_000_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fill = Instant::now();
    for g in 0..grids {
        let user = NewUser {
            username: format!("worker{g}"),
            display_name: format!("网格员{g}"),
            role: "worker".into(),
            grids: vec![format!("grid-{g:04}")],
        };
        district.create_user_with_id(&format!("w{g}"), &user, now)?;
    }
    // A second connection to the same file: the projection tables are filled directly.
    {
        let mut conn = rusqlite::Connection::open(district.path())?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let tx = conn.transaction()?;
        {
            let mut h = tx.prepare(
                "INSERT INTO households (doc_id, grid_id, community_code, building_no,
                    building_name, unit, floor, room, address, housing_use, household_type,
                    head_name, phone, member_count, tags, restricted, search, tails, complete,
                    conflicts, updated_at)
                 VALUES (?1, ?2, ?3, '00001', '1栋', '1', 1, ?4, '1栋1单元', 'SelfOccupied',
                    'Registered', '张三', '13800000000', 3, ' ', ' ', '|', ' ', ?5, 0, ?6)",
            )?;
            for i in 0..households {
                let g = i % grids;
                h.execute(rusqlite::params![
                    format!("h{i:07}"),
                    format!("grid-{g:04}"),
                    format!("4302030010{:02}", g / 10 % 100),
                    format!("{}", i % 1000),
                    rng.random_bool(0.8),
                    now
                ])?;
            }
            let mut v = tx.prepare(
                "INSERT INTO visits (doc_id, household_id, grid_id, worker_id, device_id, at,
                    mode, findings, needs) VALUES (?1, ?2, ?3, ?4, 'd', ?5, 'InPerson', '', '')",
            )?;
            for i in 0..visits {
                let hh = rng.random_range(0..households);
                let g = hh % grids;
                v.execute(rusqlite::params![
                    format!("v{i:07}"),
                    format!("h{hh:07}"),
                    format!("grid-{g:04}"),
                    format!("w{g}"),
                    now - rng.random_range(0..365 * DAY)
                ])?;
            }
            let mut s = tx.prepare(
                "INSERT INTO issues (doc_id, grid_id, category, title, urgency, state,
                    reported_at, dispatched_at, deadline, closed_at, closed_on_time,
                    rework_count, satisfaction, conflicts)
                 VALUES (?1, ?2, 'other', '事件', 'Normal', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
            )?;
            const STATES: [&str; 7] = [
                "Reported",
                "Dispatched",
                "InProgress",
                "Closed",
                "Evaluated",
                "Voided",
                "Checking",
            ];
            for i in 0..issues {
                let g = rng.random_range(0..grids);
                let reported = now - rng.random_range(0..365 * DAY);
                let state = STATES[rng.random_range(0..STATES.len())];
                let dispatched =
                    (state != "Reported" && state != "Voided").then_some(reported + DAY);
                let deadline = dispatched.map(|d| d + 5 * DAY);
                let closed = matches!(state, "Closed" | "Evaluated")
                    .then(|| reported + rng.random_range(DAY..10 * DAY));
                let on_time = closed.zip(deadline).map(|(c, d)| c <= d);
                let sat = (state == "Evaluated").then(|| rng.random_range(1..=5i64));
                s.execute(rusqlite::params![
                    format!("i{i:07}"),
                    format!("grid-{g:04}"),
                    state,
                    reported,
                    dispatched,
                    deadline,
                    closed,
                    on_time,
                    rng.random_range(0..3i64) / 2,
                    sat
                ])?;
            }
        }
        tx.execute_batch("ANALYZE")?;
        tx.commit()?;
    }
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
