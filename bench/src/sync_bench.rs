//! A fresh device pulls a whole grid from a real server on loopback; then 20 edits go up
//! from one device and down to another.

use crate::bench_device::{encrypted_devices, full_pull_in_child, timed_sync, Device, FullPull};
use crate::stats::{median, row};
use anyhow::{Context, Result};
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_district_sqlite::{NewUser, SqliteDistrict, SyncLogQuery};
use std::io::Write;
use std::sync::Arc;
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}

/// What the sync benchmark measures.
pub struct SyncBenchArgs {
    pub households: usize,
    pub seed: u64,
    pub runs: usize,
    /// Households (1–5 members) only, no visits or issues: the comparison with PouchDB.
    pub households_only: bool,
    /// Grid sizes to measure in one run (empty: `households` only).
    pub sizes: Vec<usize>,
    /// Also served from PostgreSQL (crate::backends), printed beside SQLite.
    pub database: Option<String>,
}

/// The figures of one grid size.
struct SizeResult {
    /// The store the server served from.
    backend: &'static str,
    households: usize,
    docs: usize,
    full: Vec<f64>,
    full_pull: FullPull,
    /// `--encrypted`: the same first download into plaintext stores, run for run.
    plain: Vec<FullPull>,
    gzip_json: usize,
    rss_kb: Vec<u64>,
    apply_docs_per_s: f64,
    push_s: Vec<f64>,
    pull_s: Vec<f64>,
    push_ms: Vec<f64>,
    pull_ms: Vec<f64>,
    push_bytes: usize,
    pull_bytes: usize,
    push_req: usize,
    pull_req: usize,
    idle_bytes: usize,
    idle_req: usize,
}

pub fn run(args: SyncBenchArgs) -> Result<()> {
    let sizes = if args.sizes.is_empty() {
        vec![args.households]
    } else {
        args.sizes.clone()
    };
    let mut results = Vec::new();
    for &n in &sizes {
        let r = measure(n, &args, None)?;
        print_size(&r);
        if let Some(url) = args.database.as_deref() {
            let pg = measure(n, &args, Some(url))?;
            print_size(&pg);
            crate::backends::print_side_by_side(&figures(&r), &figures(&pg));
            results.push(pg);
        }
        results.push(r);
    }
    if results.len() > 1 {
        print_summary(&results);
    }
    let json: Vec<serde_json::Value> = results.iter().map(size_json).collect();
    println!(
        "{}",
        serde_json::json!({
            "bench": "sync",
            "households_only": args.households_only,
            "runs": args.runs.max(2),
            "sizes": json,
        })
    );
    Ok(())
}

fn measure(households: usize, args: &SyncBenchArgs, database: Option<&str>) -> Result<SizeResult> {
    let dir = tempfile::tempdir()?;
    let district = Arc::new(SqliteDistrict::open(dir.path())?);
    let mut params = DemoParams::single_grid(households, args.seed, NOW);
    (params.visits_per_household, params.issues_per_household) = if args.households_only {
        (0.0, 0.0)
    } else {
        (4.0, 0.4)
    };
    let data = generate(&params);
    let grid = data.households[0].grid_id.clone();
    let server_author = Author::new(Uuid::from_u128(0), Uuid::from_u128(1));
    let docs = crate::stats::demo_documents(&data, server_author, NOW)?;
    district.import_documents(&docs, NOW)?;
    let persons: usize = data.households.iter().map(|h| h.members.len()).sum();
    let json = if args.households_only {
        serde_json::to_vec(&data.households)?
    } else {
        serde_json::to_vec(&serde_json::json!({
            "households": data.households, "visits": data.visits, "issues": data.issues,
        }))?
    };
    let gzip_json = gzip_len(&json)?;
    let user_id = district.create_user(
        &NewUser {
            username: "bench".into(),
            display_name: "bench".into(),
            role: "worker".into(),
            grids: vec![grid.clone()],
        },
        NOW,
    )?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut config = gridwalk_server::ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse()?;
    // Every benchmark device enrolls from this one address.
    config.enroll_per_minute = 10_000;
    let served = crate::backends::serve(dir.path(), district.clone(), config, database)?;
    let store = served.store.clone();
    let server = rt.block_on(gridwalk_server::spawn_with_state(served.state.clone()))?;
    let base = format!("http://{}", server.addr);
    println!(
        "\nsync benchmark: {} households, {persons} persons, {} visits, {} issues \
         ({} documents); server {base}",
        data.households.len(),
        data.visits.len(),
        data.issues.len(),
        docs.len()
    );

    let mut full = Vec::new();
    let mut rss_kb = Vec::new();
    let mut apply = Vec::new();
    let mut devices = Vec::new();
    let mut last_pull = None;
    let mut plain = Vec::new();
    for _ in 0..args.runs.max(2) {
        if encrypted_devices() {
            // The plaintext baseline, interleaved with the encrypted pulls so that both
            // see the same load on a shared machine.
            let (pull, _) = full_pull_in_child(&*store, &base, &user_id, false)?;
            anyhow::ensure!(
                pull.docs == docs.len(),
                "plaintext device is missing documents"
            );
            plain.push(pull);
        }
        let before = crate::server_phases::local();
        let (pull, dev) = full_pull_in_child(&*store, &base, &user_id, encrypted_devices())?;
        if full.is_empty() {
            let rows = crate::server_phases::breakdown(&before, &crate::server_phases::local());
            crate::server_phases::print("first download", &rows);
        }
        anyhow::ensure!(
            pull.docs == docs.len(),
            "fresh device has {} of {} documents",
            pull.docs,
            docs.len()
        );
        full.push(pull.secs);
        rss_kb.push(pull.peak_rss_kb);
        apply.push(pull.docs as f64 / pull.apply_secs.max(1e-9));
        last_pull = Some(pull);
        devices.push(dev);
    }
    let full_pull = last_pull.context("no full pull")?;

    // 20 one-field edits on device 0, pushed; then pulled by device 1. Three rounds.
    let edits = 20;
    let author = devices[0].author;
    let server_ms =
        |d: &dyn gridwalk_district_sqlite::ConsoleBackend, dev: &Device| -> Result<f64> {
            let logs = d.sync_logs(&SyncLogQuery {
                device_id: Some(dev.author.device.to_string()),
                limit: 1,
                ..Default::default()
            })?;
            Ok(logs.first().context("no sync log")?.duration_ms as f64)
        };
    let (mut push_s, mut pull_s, mut push_ms, mut pull_ms) = (vec![], vec![], vec![], vec![]);
    let (mut push_bytes, mut pull_bytes, mut push_req, mut pull_req) = (0, 0, 0, 0);
    for round in 0..3 {
        for (n, h) in data.households.iter().take(edits).enumerate() {
            devices[0].store.edit::<Household, _>(
                DocKind::Household,
                DocId(h.id.parse()?),
                author,
                NOW + n as i64,
                "bench",
                |h| {
                    h.notes = format!("incremental edit {round}.{n}");
                    Ok(())
                },
            )?;
        }
        let before = crate::server_phases::local();
        let (s, req, b) = timed_sync(&mut devices[0])?;
        let rows = crate::server_phases::breakdown(&before, &crate::server_phases::local());
        crate::server_phases::print(&format!("20 edits pushed, round {round}"), &rows);
        (push_req, push_bytes) = (req, b);
        push_s.push(s);
        push_ms.push(server_ms(&*store, &devices[0])?);
        let (s, req, b) = timed_sync(&mut devices[1])?;
        (pull_req, pull_bytes) = (req, b);
        pull_s.push(s);
        pull_ms.push(server_ms(&*store, &devices[1])?);
        let got: Household = devices[1]
            .store
            .read(DocId(data.households[edits - 1].id.parse()?))?;
        anyhow::ensure!(
            got.notes == format!("incremental edit {round}.{}", edits - 1),
            "edit did not arrive"
        );
    }
    // A device with nothing to do: the cost of an idle sync.
    let before = crate::server_phases::local();
    let (_, idle_req, idle_bytes) = timed_sync(&mut devices[1])?;
    let rows = crate::server_phases::breakdown(&before, &crate::server_phases::local());
    crate::server_phases::print("idle sync", &rows);
    let idle_server_ms = server_ms(&*store, &devices[1])?;
    println!("idle sync: server time {idle_server_ms} ms (sync log), {idle_bytes} B");
    drop(server);
    drop(served);
    Ok(SizeResult {
        backend: if database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        households: data.households.len(),
        docs: docs.len(),
        full,
        full_pull,
        plain,
        gzip_json,
        rss_kb,
        apply_docs_per_s: median(&apply),
        push_s,
        pull_s,
        push_ms,
        pull_ms,
        push_bytes,
        pull_bytes,
        push_req,
        pull_req,
        idle_bytes,
        idle_req,
    })
}

fn median_rss_mb(r: &SizeResult) -> f64 {
    let kb: Vec<f64> = r.rss_kb.iter().map(|&k| k as f64).collect();
    median(&kb) / 1024.0
}

fn print_size(r: &SizeResult) {
    let bytes = r.full_pull.bytes as f64;
    let gzip = r.gzip_json as f64;
    println!("{:<40} {:>12} {:<6} target", "measure", "value", "unit");
    let full_target = if r.docs > r.households {
        3.0
    } else {
        f64::INFINITY
    };
    row(
        "full sync, fresh device (median)",
        median(&r.full),
        "s",
        full_target.is_finite().then_some((full_target, true)),
    );
    if !r.plain.is_empty() {
        let plain: Vec<f64> = r.plain.iter().map(|p| p.secs).collect();
        let (e, p) = (median(&r.full), median(&plain));
        println!("  (the line above: encrypted stores; runs {:?} s)", r.full);
        row("full sync, plaintext store (median)", p, "s", None);
        println!("  (plaintext runs {plain:?} s)");
        row("  encrypted / plaintext", e / p, "x", Some((1.15, true)));
        println!(
            "encrypted first download: {:+.0}% of plaintext (target: within 15%)",
            (e / p - 1.0) * 100.0
        );
    }
    row("full sync bytes", bytes, "B", Some((1.3 * gzip, true)));
    row("  the same data as JSON, gzip -6", gzip, "B", None);
    row(
        "  ratio to gzip'd JSON",
        bytes / gzip,
        "x",
        Some((1.3, true)),
    );
    row("full sync requests", r.full_pull.requests as f64, "", None);
    row(
        "device apply (outside the transport)",
        r.apply_docs_per_s,
        "doc/s",
        Some((20_000.0, false)),
    );
    row(
        "device peak RSS (median)",
        median_rss_mb(r),
        "MB",
        Some((100.0, true)),
    );
    row(
        "20 edits pushed: round trips",
        r.push_req as f64,
        "",
        Some((1.0, true)),
    );
    row(
        "20 edits pushed: bytes",
        r.push_bytes as f64,
        "B",
        Some((20_000.0, true)),
    );
    row(
        "20 edits pushed: time (median of 3)",
        median(&r.push_s) * 1e3,
        "ms",
        None,
    );
    row(
        "20 edits pushed: server time",
        median(&r.push_ms),
        "ms",
        Some((20.0, true)),
    );
    row(
        "20 edits pulled: round trips",
        r.pull_req as f64,
        "",
        Some((1.0, true)),
    );
    row(
        "20 edits pulled: bytes",
        r.pull_bytes as f64,
        "B",
        Some((20_000.0, true)),
    );
    row(
        "20 edits pulled: time (median of 3)",
        median(&r.pull_s) * 1e3,
        "ms",
        None,
    );
    row(
        "20 edits pulled: server time",
        median(&r.pull_ms),
        "ms",
        Some((20.0, true)),
    );
    row("idle sync: round trips", r.idle_req as f64, "", None);
    row(
        "idle sync: bytes",
        r.idle_bytes as f64,
        "B",
        Some((300.0, true)),
    );
}

/// One line per size, so growth with the grid shows.
fn print_summary(results: &[SizeResult]) {
    println!(
        "\n{:>8} {:>8} {:>9} {:>11} {:>8} {:>9} {:>10} {:>10} {:>10}",
        "N", "docs", "full s", "bytes", "x gzip", "RSS MB", "apply/s", "push ms", "pull ms"
    );
    for r in results {
        println!(
            "{:>8} {:>8} {:>9.2} {:>11} {:>8.2} {:>9.1} {:>10.0} {:>10.1} {:>10.1}",
            r.households,
            r.docs,
            median(&r.full),
            r.full_pull.bytes,
            r.full_pull.bytes as f64 / r.gzip_json as f64,
            median_rss_mb(r),
            r.apply_docs_per_s,
            median(&r.push_s) * 1e3,
            median(&r.pull_s) * 1e3,
        );
    }
}

fn size_json(r: &SizeResult) -> serde_json::Value {
    serde_json::json!({
        "backend": r.backend,
        "households": r.households,
        "documents": r.docs,
        "full_sync_s": median(&r.full),
        "full_sync_runs_s": r.full,
        "encrypted": encrypted_devices(),
        "plaintext_full_sync_runs_s": r.plain.iter().map(|p| p.secs).collect::<Vec<_>>(),
        "full_sync_bytes": r.full_pull.bytes,
        "full_sync_requests": r.full_pull.requests,
        "gzip_json_bytes": r.gzip_json,
        "ratio_to_gzip": r.full_pull.bytes as f64 / r.gzip_json as f64,
        "device_peak_rss_kb": r.rss_kb,
        "apply_docs_per_s": r.apply_docs_per_s,
        "incr_edits": 20,
        "incr_round_trips": r.push_req,
        "incr_bytes": r.push_bytes,
        "incr_push_s": r.push_s,
        "incr_server_ms": r.push_ms,
        "incr_pull_round_trips": r.pull_req,
        "incr_pull_bytes": r.pull_bytes,
        "incr_pull_s": r.pull_s,
        "incr_pull_server_ms": r.pull_ms,
        "idle_sync_round_trips": r.idle_req,
        "idle_sync_bytes": r.idle_bytes,
    })
}

/// The figures `backends::print_side_by_side` compares.
fn figures(r: &SizeResult) -> crate::backends::Figures {
    crate::backends::Figures {
        full_s: median(&r.full),
        full_bytes: r.full_pull.bytes as f64,
        push_ms: median(&r.push_s) * 1e3,
        push_server_ms: median(&r.push_ms),
        pull_ms: median(&r.pull_s) * 1e3,
        pull_server_ms: median(&r.pull_ms),
    }
}
