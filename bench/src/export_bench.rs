//! `export`: the household ledger export of a whole district (admin scope, masked) to CSV,
//! XLSX and GeoJSON. The district is filled first ([`crate::fill`]); each export then runs
//! in a child process (this binary, hidden `export-internal` subcommand) so that its peak
//! resident memory (VmHWM) is the export's own, not the fill's.

use crate::fill::{fill_district, FillSpec};
use anyhow::{bail, Context, Result};
use gridwalk_district_sqlite::ConsoleStore;
use gridwalk_district_sqlite::{
    ExportFiles, ExportFilter, ExportFormat, NewUser, PiiMode, SqliteDistrict,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What one child reported.
struct Measured {
    rows: u64,
    seconds: f64,
    bytes: u64,
    peak_rss_mb: f64,
}

pub fn run(households: usize, seed: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let fill = Instant::now();
    {
        let district = SqliteDistrict::open(dir.path())?;
        district.create_user(
            &NewUser {
                username: "admin".into(),
                display_name: "管理员".into(),
                role: "admin".into(),
                grids: vec![],
            },
            crate::fill::NOW,
        )?;
        fill_district(
            &district,
            &FillSpec {
                households,
                persons_per_household: 3,
                visits: households,
                issues: households / 10,
                seed,
            },
        )?;
    }
    let fill_s = fill.elapsed().as_secs_f64();
    println!("export of the whole district (admin scope, masked), each in a child process");
    println!("  households {households}, fill {fill_s:.1} s");
    let mut results = Vec::new();
    for format in [ExportFormat::Csv, ExportFormat::Xlsx, ExportFormat::GeoJson] {
        let out = dir.path().join(format!("ledger.{}", format.extension()));
        let m = measure_in_child(dir.path(), format, &out)?;
        println!(
            "  {:<8} rows {:>8}  {:>7.2} s  {:>8.1} MB file  peak RSS {:>6.1} MB",
            format.extension(),
            m.rows,
            m.seconds,
            m.bytes as f64 / 1e6,
            m.peak_rss_mb
        );
        results.push(m);
    }
    let targets = [("csv", 5.0), ("xlsx", 20.0)];
    for ((name, target), m) in targets.iter().zip(&results) {
        crate::stats::row(
            &format!("{name} export"),
            m.seconds,
            "s",
            Some((*target, true)),
        );
    }
    let peak = results.iter().map(|m| m.peak_rss_mb).fold(0.0, f64::max);
    crate::stats::row("peak RSS of an export", peak, "MB", Some((200.0, true)));
    let round = |v: f64| (v * 100.0).round() / 100.0;
    println!(
        "{}",
        serde_json::json!({
            "households": households,
            "rows": results[0].rows,
            "csv_s": round(results[0].seconds),
            "xlsx_s": round(results[1].seconds),
            "geojson_s": round(results[2].seconds),
            "peak_rss_mb": round(peak),
            "csv_bytes": results[0].bytes,
            "xlsx_bytes": results[1].bytes,
        })
    );
    Ok(())
}

fn measure_in_child(data: &Path, format: ExportFormat, out: &Path) -> Result<Measured> {
    let output = Command::new(std::env::current_exe()?)
        .arg("export-internal")
        .arg("--data")
        .arg(data)
        .arg("--format")
        .arg(format.extension())
        .arg("--out")
        .arg(out)
        .output()
        .context("running the export child")?;
    if !output.status.success() {
        bail!(
            "export child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("export child printed nothing")?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    Ok(Measured {
        rows: v["rows"].as_u64().unwrap_or(0),
        seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
        bytes: v["bytes"].as_u64().unwrap_or(0),
        peak_rss_mb: v["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
    })
}

/// The child: one export, then one JSON line with its time and this process's peak RSS.
pub fn export_internal(data: PathBuf, format: String, out: PathBuf) -> Result<()> {
    let format: ExportFormat = format.parse()?;
    let district = SqliteDistrict::open(&data)?;
    let admin = district
        .user_by_name("admin")?
        .context("the benchmark's admin user")?;
    let scope = district.console_scope(&admin.user_id)?;
    let t = Instant::now();
    let summary = district.export_to_file(
        &ExportFilter::default(),
        &scope,
        PiiMode::Masked,
        format,
        &out,
        crate::fill::NOW,
    )?;
    let seconds = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "rows": summary.rows,
            "seconds": seconds,
            "bytes": summary.bytes,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}

/// VmHWM of this process from /proc/self/status, in MB (NaN where there is no /proc).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
