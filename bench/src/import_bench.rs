//! `import`: a district's household ledger imported through the same path as the console
//! and `gridwalk-server import` (`import_blocking`): dry run and valid-only, XLSX (address
//! cells merged down each household) and CSV. Each run is a child process (hidden
//! `import-internal`), so its peak RSS (VmHWM) is the import's own, not the generator's.
//! At the end a device enrolled for one grid syncs and must receive that grid's households.

use crate::ledger_gen::{self, Ledger};
use anyhow::{bail, ensure, Context, Result};
use gridwalk_core::sync::{decode, encode, SyncRequest, SyncResponse};
use gridwalk_district_sqlite::ConsoleStore;
use gridwalk_district_sqlite::{handle_sync, DistrictStore, NewUser, SqliteDistrict};
use gridwalk_server::console::ledger_import::import_blocking;
use gridwalk_store::client::{SyncOptions, Transport};
use gridwalk_store::Store;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

const NOW: i64 = crate::fill::NOW;

/// What one child reported.
struct Measured {
    seconds: f64,
    cpu_s: f64,
    rows_total: u64,
    rows_valid: u64,
    problems: u64,
    imported: Option<u64>,
    peak_rss_mb: f64,
}

fn new_district(dir: &Path, ledger: &Ledger) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let district = SqliteDistrict::open(dir)?;
    district.set_area_tree(&ledger.tree, NOW)?;
    district.create_user(
        &NewUser {
            username: "admin".into(),
            display_name: "管理员".into(),
            role: "admin".into(),
            grids: vec![],
        },
        NOW,
    )?;
    Ok(())
}

pub fn run(households: usize, seed: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    // GRIDWALK_BENCH_KEEP=<dir>: work there and keep the files (to profile a child).
    let kept = std::env::var_os("GRIDWALK_BENCH_KEEP").map(PathBuf::from);
    let root = kept.as_deref().unwrap_or(dir.path());
    let t = Instant::now();
    let ledger = ledger_gen::generate(households, seed);
    let merged_xlsx = root.join("ledger.xlsx");
    let csv = root.join("ledger.csv");
    ledger_gen::write_xlsx(&ledger, &merged_xlsx, true)?;
    ledger_gen::write_csv(&ledger, &csv)?;
    let (a, b) = (root.join("a"), root.join("b"));
    new_district(&a, &ledger)?;
    new_district(&b, &ledger)?;
    let rows = ledger.persons as u64;
    println!(
        "import of a clean ledger: {households} households, {rows} person rows ({:.1} s to generate)",
        t.elapsed().as_secs_f64()
    );

    // Which reader path the XLSX numbers are for: merged cells read, or (while the
    // reader does not read them) an XLSX with the address on every row. Probed on a small
    // ledger: a dry run of a large one whose merged cells are not read reports every row.
    let probe = ledger_gen::generate(50, seed);
    let probe_file = root.join("probe.xlsx");
    ledger_gen::write_xlsx(&probe, &probe_file, true)?;
    let probe_dir = root.join("probe");
    new_district(&probe_dir, &probe)?;
    let probed = measure_in_child(&probe_dir, &probe_file, "dry_run")?;
    let mut xlsx = merged_xlsx.clone();
    let reader_path = if probed.problems == 0 {
        "xlsx with merged address cells".to_string()
    } else {
        xlsx = root.join("ledger-repeated.xlsx");
        ledger_gen::write_xlsx(&ledger, &xlsx, false)?;
        format!(
            "merged cells NOT read ({} problems on a 50-household merged XLSX): measured an XLSX with the address on every row",
            probed.problems
        )
    };
    let dry = measure_in_child(&a, &xlsx, "dry_run")?;
    println!("  reader: {reader_path}");
    let import = measure_in_child(&a, &xlsx, "valid_only")?;
    let csv_dry = measure_in_child(&b, &csv, "dry_run")?;
    let csv_import = measure_in_child(&b, &csv, "valid_only")?;
    for (what, m) in [
        ("xlsx dry run", &dry),
        ("xlsx valid-only", &import),
        ("csv dry run", &csv_dry),
        ("csv valid-only", &csv_import),
    ] {
        println!(
            "  {what:<16} {:>8.2} s (CPU {:>7.2} s)  {:>9.0} rows/s  rows {} valid {} problems {}  imported {}  peak RSS {:>6.1} MB",
            m.seconds,
            m.cpu_s,
            m.rows_total as f64 / m.seconds,
            m.rows_total,
            m.rows_valid,
            m.problems,
            m.imported.map_or("-".into(), |n| n.to_string()),
            m.peak_rss_mb
        );
        ensure!(
            m.rows_total == rows,
            "{what}: read {} of {rows} rows",
            m.rows_total
        );
        ensure!(
            m.problems == 0,
            "{what}: {} problems in a clean ledger",
            m.problems
        );
    }
    for m in [&import, &csv_import] {
        ensure!(
            m.imported == Some(households as u64),
            "imported {:?} of {households} households",
            m.imported
        );
    }
    let (pulled, expected) = device_pull(&a, &ledger)?;
    println!("  a device of grid 1 pulled {pulled} households (the ledger has {expected} there)");
    ensure!(
        pulled == expected,
        "device pulled {pulled}, expected {expected}"
    );

    crate::stats::row("xlsx dry run", dry.seconds, "s", Some((20.0, true)));
    crate::stats::row("xlsx import", import.seconds, "s", Some((90.0, true)));
    crate::stats::row("csv import", csv_import.seconds, "s", None);
    let peak = [&dry, &import, &csv_dry, &csv_import]
        .iter()
        .map(|m| m.peak_rss_mb)
        .fold(0.0, f64::max);
    crate::stats::row("peak RSS of an import", peak, "MB", Some((1024.0, true)));
    let round = |v: f64| (v * 100.0).round() / 100.0;
    println!(
        "{}",
        serde_json::json!({
            "households": households,
            "rows": rows,
            "xlsx_reader": reader_path,
            "xlsx_dry_run_s": round(dry.seconds),
            "xlsx_import_s": round(import.seconds),
            "xlsx_dry_run_cpu_s": round(dry.cpu_s),
            "xlsx_import_cpu_s": round(import.cpu_s),
            "csv_import_cpu_s": round(csv_import.cpu_s),
            "csv_dry_run_s": round(csv_dry.seconds),
            "csv_import_s": round(csv_import.seconds),
            "peak_rss_mb": round(peak),
            "device_pulled_households": pulled,
        })
    );
    Ok(())
}

fn measure_in_child(data: &Path, file: &Path, mode: &str) -> Result<Measured> {
    let output = Command::new(std::env::current_exe()?)
        .arg("import-internal")
        .arg("--data")
        .arg(data)
        .arg("--file")
        .arg(file)
        .arg("--mode")
        .arg(mode)
        .output()
        .context("running the import child")?;
    if !output.status.success() {
        bail!(
            "import child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("import child printed nothing")?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    Ok(Measured {
        seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
        cpu_s: v["cpu_s"].as_f64().unwrap_or(f64::NAN),
        rows_total: v["rows_total"].as_u64().unwrap_or(0),
        rows_valid: v["rows_valid"].as_u64().unwrap_or(0),
        problems: v["problems"].as_u64().unwrap_or(0),
        imported: v["imported"].as_u64(),
        peak_rss_mb: v["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
    })
}

/// The child: one import as the admin, then one JSON line.
pub fn import_internal(data: PathBuf, file: PathBuf, mode: String) -> Result<()> {
    let district = SqliteDistrict::open(&data)?;
    let admin = district
        .user_by_name("admin")?
        .context("the benchmark's admin user")?;
    let scope = district.console_scope(&admin.user_id)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let t = Instant::now();
    let bytes = std::fs::read(&file)?;
    let answer = import_blocking(&district, &scope, &name, &mode, None, &bytes)?;
    let seconds = t.elapsed().as_secs_f64();
    let plan = &answer["plan"];
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds,
            "rows_total": plan["rows_total"],
            "rows_valid": plan["rows_valid"],
            "problems": plan["problems"].as_array().map_or(0, Vec::len),
            "imported": answer["imported_households"],
            "peak_rss_mb": crate::export_bench::peak_rss_mb(),
            "cpu_s": cpu_seconds(),
        })
    );
    Ok(())
}

/// User + system CPU time of this process (from /proc/self/stat; NaN without /proc). On
/// a machine shared with other work, this is the cost the wall time is noisy around.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 a second).
    match (f.get(11), f.get(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// A worker's device for the first grid syncs in-process through the real request
/// handler: (households it holds, households the ledger has in that grid).
fn device_pull(data: &Path, ledger: &Ledger) -> Result<(usize, usize)> {
    let district = std::sync::Arc::new(SqliteDistrict::open(data)?);
    let grid = ledger_gen::grid_id(0);
    let user_id = district.create_user(
        &NewUser {
            username: "worker1".into(),
            display_name: "网格员1".into(),
            role: "worker".into(),
            grids: vec![grid.clone()],
        },
        NOW,
    )?;
    let code = district.create_enrollment(&user_id, 3_600_000, NOW)?;
    let enrolled = district.enroll(&code, "bench", NOW)?;
    let mut store = Store::open_in_memory()?;
    store.set_device_identity(&enrolled.user_id, &enrolled.device_id, &enrolled.grids)?;
    let mut transport = Direct {
        district: district.clone(),
        token: enrolled.token,
    };
    let report = store.sync(
        &mut transport,
        &SyncOptions::default(),
        NOW,
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    let expected = ledger_gen::HOUSEHOLDS_PER_GRID.min(ledger.households.len());
    Ok((report.pulled_docs, expected))
}

/// The device's transport, in-process: encode, handle, decode.
struct Direct {
    district: std::sync::Arc<SqliteDistrict>,
    token: String,
}

impl Transport for Direct {
    fn exchange(&mut self, request: &SyncRequest) -> gridwalk_store::Result<SyncResponse> {
        let codec = |e: gridwalk_core::sync::CodecError| gridwalk_store::StoreError::Transport {
            retryable: false,
            message: e.to_string(),
        };
        let device = self.district.authenticate(&self.token, NOW)?;
        let decoded: SyncRequest = decode(&encode(request), 64 << 20).map_err(codec)?;
        let (response, _) = handle_sync(self.district.as_ref(), &device, &decoded, NOW)?;
        decode(&encode(&response), 64 << 20).map_err(codec)
    }
}
