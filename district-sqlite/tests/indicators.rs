//! The indicators on SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL, through
//! `ConsoleBackend` as the server holds it: a small known district written straight into
//! the projection tables, every figure checked against a hand computation, district-wide,
//! for one grid and for a period.

mod common;

use common::{District, NOW};
use gridwalk_district_sqlite::{IndicatorQuery, NewUser};

const DAY: i64 = 86_400_000;

fn worker(d: &District, name: &str, grid: &str) -> String {
    d.create_user(
        &NewUser {
            username: name.into(),
            display_name: name.into(),
            role: "worker".into(),
            grids: vec![grid.into()],
        },
        NOW,
    )
    .expect("user")
}

fn sql(d: &District, statement: &str) {
    d.execute_raw(statement)
        .unwrap_or_else(|e| panic!("{e}: {statement}"));
}

/// gA: households h1–h4 (3 complete), gB: h5, h6 (1 complete); persons, visits, issues.
fn known(d: &District) -> (String, String) {
    let wa = worker(d, "wa", "gA");
    let wb = worker(d, "wb", "gB");
    let households: Vec<String> = [
        ("h1", "gA", true),
        ("h2", "gA", true),
        ("h3", "gA", true),
        ("h4", "gA", false),
        ("h5", "gB", true),
        ("h6", "gB", false),
    ]
    .iter()
    .map(|(id, grid, complete)| {
        format!(
            "('{id}', '{grid}', 'c', '1', '1栋', '1', 1, '101', '1栋1单元101', 'SelfOccupied',
              'Registered', '张三', NULL, 1, ' ', ' ', '|', ' ', {complete}, 0, 0, '')"
        )
    })
    .collect();
    sql(
        d,
        &format!(
            "INSERT INTO households (doc_id, grid_id, community_code, building_no,
                building_name, unit, floor, room, address, housing_use, household_type,
                head_name, phone, member_count, tags, restricted, search, tails,
                complete, conflicts, updated_at, notes) VALUES {}",
            households.join(", ")
        ),
    );
    // One ID number on three living persons (h1, h2 in gA; h5 in gB); a second shared by
    // a living person and one who moved out (not a duplicate).
    sql(
        d,
        "INSERT INTO persons (person_id, household_id, name, sex, id_number, relation,
            population_type, status, tags, restricted, notes) VALUES
         ('p1', 'h1', '张三', 'Male', 'X1', 'Head', 'Registered', 'Living', ' ', ' ', ''),
         ('p2', 'h2', '张三', 'Male', 'X1', 'Head', 'Registered', 'Living', ' ', ' ', ''),
         ('p3', 'h5', '张三', 'Male', 'X1', 'Head', 'Registered', 'Living', ' ', ' ', ''),
         ('p4', 'h3', '张三', 'Male', 'X2', 'Head', 'Registered', 'Living', ' ', ' ', ''),
         ('p5', 'h4', '张三', 'Male', 'X2', 'Head', 'Registered', 'MovedOut', ' ', ' ', ''),
         ('p6', 'h6', '张三', 'Male', 'X3', 'Head', 'Registered', 'Living', ' ', ' ', '')",
    );
    // h1 10 and 20 days ago, h2 60 days ago, h4 100 days ago (outside 90), all by wa;
    // h5 5 days ago by wb.
    let visits: Vec<String> = [
        ("v1", "h1", "gA", &wa, 10),
        ("v2", "h1", "gA", &wa, 20),
        ("v3", "h2", "gA", &wa, 60),
        ("v4", "h4", "gA", &wa, 100),
        ("v5", "h5", "gB", &wb, 5),
    ]
    .iter()
    .map(|(id, hh, grid, w, days)| {
        format!(
            "('{id}', '{hh}', '{grid}', '{w}', 'd', {}, 'InPerson', '', '')",
            NOW - days * DAY
        )
    })
    .collect();
    sql(
        d,
        &format!(
            "INSERT INTO visits (doc_id, household_id, grid_id, worker_id, device_id, at,
                mode, findings, needs) VALUES {}",
            visits.join(", ")
        ),
    );
    let n = |v: Option<i64>| v.map_or("NULL".to_string(), |x| x.to_string());
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<bool>,
        i64,
        Option<i64>,
    );
    // (id, grid, state, dispatched, deadline, closed, on time, rework, satisfaction)
    let rows: [Row; 7] = [
        // closed on time, evaluated 4
        (
            "i1",
            "gA",
            "Evaluated",
            Some(NOW - 20 * DAY),
            Some(NOW - 10 * DAY),
            Some(NOW - 12 * DAY),
            Some(true),
            0,
            Some(4),
        ),
        // closed late after one rework
        (
            "i2",
            "gA",
            "Closed",
            Some(NOW - 20 * DAY),
            Some(NOW - 10 * DAY),
            Some(NOW - 8 * DAY),
            Some(false),
            1,
            None,
        ),
        // open, 2 days past the deadline (red)
        (
            "i3",
            "gA",
            "Dispatched",
            Some(NOW - 10 * DAY),
            Some(NOW - 2 * DAY),
            None,
            None,
            0,
            None,
        ),
        // open, 10 days past (red), reworked
        (
            "i4",
            "gB",
            "InProgress",
            Some(NOW - 20 * DAY),
            Some(NOW - 10 * DAY),
            None,
            None,
            2,
            None,
        ),
        // open, 90 % of the time used (yellow): dispatched 9 days ago, deadline in 1 day
        (
            "i5",
            "gB",
            "Dispatched",
            Some(NOW - 9 * DAY),
            Some(NOW + DAY),
            None,
            None,
            0,
            None,
        ),
        // reported only: not due
        ("i6", "gA", "Reported", None, None, None, None, 0, None),
        // voided: never counts
        ("i7", "gA", "Voided", None, None, None, None, 0, None),
    ];
    let issues: Vec<String> = rows
        .iter()
        .map(
            |(id, grid, state, disp, deadline, closed, on_time, rework, sat)| {
                let on_time = on_time.map_or("NULL".to_string(), |b| b.to_string());
                format!(
                "('{id}', '{grid}', 'other', 't', 'Normal', '{state}', {}, {}, {}, {}, {on_time},
                  {rework}, {}, 0, 'x')",
                NOW - 30 * DAY,
                n(*disp),
                n(*deadline),
                n(*closed),
                n(*sat)
            )
            },
        )
        .collect();
    sql(
        d,
        &format!(
            "INSERT INTO issues (doc_id, grid_id, category, title, urgency, state,
                reported_at, dispatched_at, deadline, closed_at, closed_on_time,
                rework_count, satisfaction, conflicts, department) VALUES {}",
            issues.join(", ")
        ),
    );
    (wa, wb)
}

#[test]
fn figures_match_a_hand_computation() {
    let d = District::open();
    let (wa, wb) = known(&d);
    let console = d.console();
    let all = console
        .indicators(&IndicatorQuery {
            now_ms: NOW,
            ..Default::default()
        })
        .expect("indicators");
    // 6 issues not voided; due = closed (i1, i2) + overdue open (i3, i4) = 4.
    assert_eq!(all.issues, 6);
    assert_eq!(all.due_to_close, 4);
    assert_eq!(all.closed, 2);
    assert_eq!(all.closed_on_time, 1);
    assert_eq!(all.closure_rate, Some(0.5));
    assert_eq!(all.on_time_rate, Some(0.25));
    // Dispatched: i1..i5 = 5; reworked: i2, i4 = 2.
    assert_eq!((all.dispatched, all.reworked), (5, 2));
    assert_eq!(all.rework_rate, Some(0.4));
    assert_eq!(all.satisfaction_avg, Some(4.0));
    // Open: i3 red, i4 red, i5 yellow, i6 (no deadline) green.
    assert_eq!((all.open_green, all.open_yellow, all.open_red), (1, 1, 2));
    // i3 is 2 days past (1–3), i4 10 days past (≥7).
    assert_eq!(all.overdue_by_age, [0, 1, 0, 1]);
    // By state, voided included.
    let states: Vec<(&str, i64)> = all.by_state.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(
        states,
        [
            ("Closed", 1),
            ("Dispatched", 2),
            ("Evaluated", 1),
            ("InProgress", 1),
            ("Reported", 1),
            ("Voided", 1)
        ]
    );
    // Households 6, complete 4.
    assert_eq!((all.households, all.complete), (6, 4));
    assert!((all.completeness.expect("some") - 4.0 / 6.0).abs() < 1e-12);
    // Duplicates: X1 (three living holders); X2's second holder moved out.
    assert_eq!(all.duplicate_ids, 1);
    // 30 days: h1, h5; 90 days: h1, h2, h5.
    assert_eq!((all.visited_30d, all.visited_90d), (2, 3));
    let ga = &all.coverage_by_grid[0];
    assert_eq!(
        (
            ga.key.as_str(),
            ga.households,
            ga.visited_30d,
            ga.visited_90d
        ),
        ("gA", 4, 1, 2)
    );
    let by_worker = |key: &str| {
        let c = all
            .coverage_by_worker
            .iter()
            .find(|c| c.key == key)
            .expect("worker");
        (c.name.clone(), c.households, c.visited_30d, c.visited_90d)
    };
    assert_eq!(by_worker(&wa), ("wa".to_string(), 4, 1, 2));
    assert_eq!(by_worker(&wb), ("wb".to_string(), 2, 1, 1));

    // The count follows the projection: p5 moves back in (X2 doubles), h1's person is
    // replaced by one without an ID (X1 still has two holders).
    sql(
        &d,
        "UPDATE persons SET status = 'Living' WHERE person_id = 'p5'",
    );
    sql(&d, "DELETE FROM persons WHERE person_id = 'p1'");
    let again = console
        .indicators(&IndicatorQuery {
            now_ms: NOW,
            ..Default::default()
        })
        .expect("indicators");
    assert_eq!(again.duplicate_ids, 2);

    // Grid B alone.
    let b = console
        .indicators(&IndicatorQuery {
            grids: Some(vec!["gB".into()]),
            now_ms: NOW,
            ..Default::default()
        })
        .expect("indicators");
    assert_eq!((b.issues, b.due_to_close, b.closed), (2, 1, 0));
    assert_eq!(b.closure_rate, Some(0.0));
    assert_eq!(b.rework_rate, Some(0.5));
    assert_eq!((b.households, b.complete, b.visited_30d), (2, 1, 1));
    // Within gB alone X1 has one holder: no duplicate there.
    assert_eq!(b.duplicate_ids, 0);
    assert_eq!(b.coverage_by_worker.len(), 1);
    // Within gA, X1 (h2) and X2 (h3, h4) are held twice.
    let a = console
        .indicators(&IndicatorQuery {
            grids: Some(vec!["gA".into()]),
            now_ms: NOW,
            ..Default::default()
        })
        .expect("indicators");
    assert_eq!(a.duplicate_ids, 1);

    // No grid at all: nothing counts.
    let none = console
        .indicators(&IndicatorQuery {
            grids: Some(vec![]),
            now_ms: NOW,
            ..Default::default()
        })
        .expect("indicators");
    assert_eq!(
        (none.issues, none.households, none.duplicate_ids),
        (0, 0, 0)
    );
    assert!(none.coverage_by_worker.is_empty());

    // Period: reported within the last 25 days — every issue was reported 30 days ago.
    let late = console
        .indicators(&IndicatorQuery {
            from: Some(NOW - 25 * DAY),
            now_ms: NOW,
            ..Default::default()
        })
        .expect("indicators");
    assert_eq!((late.issues, late.due_to_close), (0, 0));
    assert_eq!(late.closure_rate, None);
    assert!(late.by_state.is_empty());
}
