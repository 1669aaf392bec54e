//! Filling a district-sized store for the console and export benchmarks: projection rows
//! bulk-inserted with deterministic pseudo-random values, not 650,000 Automerge documents
//! (the indicators and the export read only the projections, and creating documents at
//! this scale would take far longer than what is measured).

use anyhow::Result;
use gridwalk_district_sqlite::{NewUser, SqliteDistrict};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const DAY: i64 = 86_400_000;
/// The benchmarks' "now".
pub const NOW: i64 = 1_780_000_000_000;

/// What to put in the district.
pub struct FillSpec {
    pub households: usize,
    /// Persons per household (0: households only, as the indicators need).
    pub persons_per_household: usize,
    pub visits: usize,
    pub issues: usize,
    pub seed: u64,
}

/// Grids of 250 households, one worker each.
pub fn grid_count(households: usize) -> usize {
    households.div_ceil(250).max(1)
}

const CARE: [&str; 5] = [" ", " elderly_alone ", " min_income ", " ", " disabled "];
const RELATIONS: [&str; 4] = ["Head", "Spouse", "Child", "Parent"];

/// Fill `district` per `spec` (one transaction on a second connection), then ANALYZE.
pub fn fill_district(district: &SqliteDistrict, spec: &FillSpec) -> Result<()> {
    let grids = grid_count(spec.households);
    let now = NOW;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    for g in 0..grids {
        let user = NewUser {
            username: format!("worker{g}"),
            display_name: format!("网格员{g}"),
            role: "worker".into(),
            grids: vec![format!("grid-{g:04}")],
        };
        district.create_user_with_id(&format!("w{g}"), &user, now)?;
    }
    let mut conn = rusqlite::Connection::open(district.path())?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let tx = conn.transaction()?;
    {
        let mut h = tx.prepare(
            "INSERT INTO households (doc_id, grid_id, community_code, building_no,
                building_name, unit, floor, room, address, housing_use, household_type,
                head_name, phone, member_count, tags, restricted, search, tails, complete,
                conflicts, updated_at, household_phone, notes, lon, lat)
             VALUES (?1, ?2, ?3, '00001', '1栋', '1', 1, ?4, '1栋1单元', 'SelfOccupied',
                'Registered', '张三', '13800000000', ?5, ?6, ' ', '|', ' ', ?7, 0, ?8,
                '13800000000', ?9, ?10, ?11)",
        )?;
        let mut p = tx.prepare(
            "INSERT INTO persons (person_id, household_id, name, sex, birth_date, id_number,
                phone, relation, population_type, status, tags, restricted, disability_cert,
                notes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'Registered', ?9, ?10, ' ', NULL, ?11)",
        )?;
        for i in 0..spec.households {
            let g = i % grids;
            let id = format!("h{i:07}");
            let tags = CARE[rng.random_range(0..CARE.len())];
            let gps = rng.random_bool(0.7);
            h.execute(rusqlite::params![
                id,
                format!("grid-{g:04}"),
                format!("4302030010{:02}", g / 10 % 100),
                format!("{}", i % 1000),
                // Without person rows, the 3 members the console benchmark always had.
                if spec.persons_per_household == 0 {
                    3
                } else {
                    spec.persons_per_household as i64
                },
                tags,
                rng.random_bool(0.8),
                now,
                if i % 7 == 0 {
                    "房东：李四 13912345678，租客两人"
                } else {
                    ""
                },
                gps.then(|| 112.9 + rng.random_range(0.0..0.1)),
                gps.then(|| 28.2 + rng.random_range(0.0..0.1)),
            ])?;
            for k in 0..spec.persons_per_household {
                let born = 1940 + rng.random_range(0..80);
                p.execute(rusqlite::params![
                    format!("p{i:07}-{k}"),
                    id,
                    format!("居民{i}-{k}"),
                    if k % 2 == 0 { "Male" } else { "Female" },
                    format!("{born}-0{}-1{}", 1 + k % 9, k % 10),
                    format!("430203{born}0101{:04}", (i * 7 + k) % 10_000),
                    format!("138{:08}", (i * 10 + k) % 100_000_000),
                    RELATIONS[k.min(RELATIONS.len() - 1)],
                    if rng.random_bool(0.95) {
                        "Living"
                    } else {
                        "MovedOut"
                    },
                    if k == 0 { tags } else { " " },
                    if k == 0 && i % 5 == 0 {
                        "独居，子女电话 13698765432"
                    } else {
                        ""
                    },
                ])?;
            }
        }
        let mut v = tx.prepare(
            "INSERT INTO visits (doc_id, household_id, grid_id, worker_id, device_id, at,
                mode, findings, needs) VALUES (?1, ?2, ?3, ?4, 'd', ?5, 'InPerson', '', '')",
        )?;
        for i in 0..spec.visits {
            let hh = rng.random_range(0..spec.households);
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
        for i in 0..spec.issues {
            let g = rng.random_range(0..grids);
            let reported = now - rng.random_range(0..365 * DAY);
            let state = STATES[rng.random_range(0..STATES.len())];
            let dispatched = (state != "Reported" && state != "Voided").then_some(reported + DAY);
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
    Ok(())
}
