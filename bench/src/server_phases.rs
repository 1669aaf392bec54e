//! The server's own breakdown of a load run: its `/metrics` phase sums
//! (`gridwalk_sync_phase_seconds`, see gridwalk_district::phases) read before and after
//! the run from every server process, and the difference printed per sync.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The token the benchmark's server processes accept on `/metrics`.
pub const METRICS_TOKEN: &str = "gridwalk-bench-metrics-token";

/// Phase name → (seconds, count), plus `total` (the sync duration summary).
#[derive(Debug, Clone, Default)]
pub struct PhaseSums(BTreeMap<String, (f64, f64)>);

/// Read one server's `/metrics` (`base`: `http://host:port`). `None` if it cannot be read:
/// the breakdown is then left out, the load figures stand.
fn scrape(base: &str) -> Option<PhaseSums> {
    let addr = base.strip_prefix("http://")?;
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {METRICS_TOKEN}\r\n\
         Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let mut sums = PhaseSums::default();
    for line in text.lines() {
        // Header lines, the blank line after them and comments are passed over.
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        let (name, slot) = if let Some(rest) = key.strip_prefix("gridwalk_sync_phase_seconds_") {
            let Some((kind, label)) = rest.split_once("{phase=\"") else {
                continue;
            };
            (label.trim_end_matches("\"}").to_string(), kind)
        } else if let Some(kind) = key.strip_prefix("gridwalk_sync_duration_seconds_") {
            ("total".to_string(), kind)
        } else {
            continue;
        };
        let e = sums.0.entry(name).or_default();
        match slot {
            "sum" => e.0 += v,
            "count" => e.1 += v,
            _ => {}
        }
    }
    Some(sums)
}

/// Every server's sums added together; `None` if any could not be read.
pub fn scrape_all(bases: &[String]) -> Option<PhaseSums> {
    let mut all = PhaseSums::default();
    for b in bases {
        for (k, (s, c)) in scrape(b)?.0 {
            let e = all.0.entry(k).or_default();
            e.0 += s;
            e.1 += c;
        }
    }
    Some(all)
}

/// What happened between `before` and `after`, per sync request: each phase's mean time
/// per occurrence and per sync, and how often it occurred per sync.
pub fn breakdown(before: &PhaseSums, after: &PhaseSums) -> Vec<(String, f64, f64, f64)> {
    let syncs =
        after.0.get("total").map_or(0.0, |t| t.1) - before.0.get("total").map_or(0.0, |t| t.1);
    let mut out = Vec::new();
    for (name, (s, c)) in &after.0 {
        let (s0, c0) = before.0.get(name).copied().unwrap_or_default();
        let (ds, dc) = (s - s0, c - c0);
        if dc <= 0.0 || syncs <= 0.0 {
            continue;
        }
        out.push((name.clone(), ds * 1e3 / dc, ds * 1e3 / syncs, dc / syncs));
    }
    out
}

/// Print the breakdown under `label`.
pub fn print(label: &str, rows: &[(String, f64, f64, f64)]) {
    if rows.is_empty() {
        return;
    }
    println!("server phases ({label}): mean ms per occurrence, ms per sync, occurrences per sync");
    for (name, each, per_sync, n) in rows {
        println!("  {name:<12} {each:>9.2} {per_sync:>9.2} {n:>6.2}");
    }
}

/// This process's own sums (a server running in the benchmark's process); `total`
/// counts the requests decoded.
pub fn local() -> PhaseSums {
    let mut sums = PhaseSums::default();
    for (phase, micros, count) in gridwalk_district_sqlite::phases::snapshot() {
        sums.0.insert(
            phase.as_str().to_string(),
            (micros as f64 / 1e6, count as f64),
        );
        if phase == gridwalk_district_sqlite::phases::Phase::Decode {
            sums.0.insert("total".into(), (0.0, count as f64));
        }
    }
    sums
}
