//! Many devices syncing at once against one server process on loopback.
//!
//! The server runs as a child process (this binary, `serve-internal`) so that its peak
//! memory can be read from /proc. Every device is enrolled and fully synced first; then
//! all of them, released together, each make one edit and sync, `rounds` times.

use crate::stats::{median, ms, quantile, row};
use crate::sync_bench::{new_device, Device};
use anyhow::{Context, Result};
use gridwalk_client::HttpTransport;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_district_sqlite::{NewUser, SqliteDistrict};
use gridwalk_store::client::SyncOptions;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

pub fn serve_internal(data: PathBuf, addr_file: PathBuf) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut config = gridwalk_server::ServerConfig::new(&data);
        config.addr = "127.0.0.1:0".parse()?;
        // Hundreds of devices enroll from this one address.
        config.enroll_per_minute = 100_000;
        let district = Arc::new(SqliteDistrict::open(&data)?);
        let server =
            gridwalk_server::spawn_with_state(gridwalk_server::AppState::new(district, config))
                .await?;
        std::fs::write(&addr_file, server.addr.to_string())?;
        // Runs until the parent kills this process.
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    })
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user + system) a process has used so far, from /proc.
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0) // USER_HZ is 100 on Linux
}

/// A server child process with `devices` enrolled, fully synced devices, one grid each.
pub struct Fleet {
    pub server: KillOnDrop,
    /// Each device with the id of one household of its grid, to edit.
    pub devs: Vec<(Device, String)>,
    _dir: tempfile::TempDir,
}

pub struct KillOnDrop(pub Child);

impl Fleet {
    pub fn pid(&self) -> u32 {
        self.server.0.id()
    }
}

pub fn fleet(devices: usize, households_per_grid: usize) -> Result<Fleet> {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().to_path_buf();
    let grids_per_community = 10;
    let communities = devices.div_ceil(grids_per_community);
    let params = DemoParams {
        seed: 7,
        streets: communities.div_ceil(10),
        communities_per_street: 10.min(communities),
        grids_per_community,
        households: devices * households_per_grid,
        visits_per_household: 2.0,
        issues_per_household: 0.2,
        now_ms: NOW,
    };
    let data = generate(&params);
    let mut grids: Vec<String> = data.area.grids.iter().map(|g| g.id.clone()).collect();
    grids.truncate(devices);
    anyhow::ensure!(
        grids.len() == devices,
        "demo made {} grids for {devices} devices",
        grids.len()
    );
    let district = SqliteDistrict::open(&data_dir)?;
    let server_author = Author::new(Uuid::from_u128(0), Uuid::from_u128(1));
    let docs = crate::stats::demo_documents(&data, server_author, NOW)?;
    district.import_documents(&docs, NOW)?;
    let mut users = Vec::new();
    for (k, g) in grids.iter().enumerate() {
        users.push(district.create_user(
            &NewUser {
                username: format!("w{k}"),
                display_name: format!("worker {k}"),
                role: "worker".into(),
                grids: vec![g.clone()],
            },
            NOW,
        )?);
    }

    let addr_file = data_dir.join("addr");
    let child = Command::new(std::env::current_exe()?)
        .args(["serve-internal", "--data"])
        .arg(&data_dir)
        .arg("--addr-file")
        .arg(&addr_file)
        .env("RUST_LOG", "warn")
        .spawn()
        .context("start server")?;
    let server = KillOnDrop(child);
    let started = Instant::now();
    let addr = loop {
        if let Ok(a) = std::fs::read_to_string(&addr_file) {
            if !a.is_empty() {
                break a;
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let base = format!("http://{addr}");
    println!(
        "load benchmark: {devices} devices, {} households, server {base} (pid {})",
        data.households.len(),
        server.0.id()
    );
    // 400 simulated devices share this machine's one disk, where each real device has its
    // own: their stores do not fsync (the server's store does, as always).
    println!("(device stores: synchronous=OFF — the load generator's, not the server's)");

    let mut devs: Vec<(Device, String)> = Vec::new();
    for (k, user) in users.iter().enumerate() {
        let mut dev = new_device(&district, &base, user, &format!("load-{k}"))?;
        dev.store
            .connection()
            .pragma_update(None, "synchronous", "OFF")?;
        crate::sync_bench::timed_sync(&mut dev)?;
        let hh: Vec<String> = data
            .households
            .iter()
            .filter(|h| h.grid_id == grids[k])
            .map(|h| h.id.clone())
            .collect();
        devs.push((dev, hh.first().cloned().context("grid without households")?));
    }
    drop(district);
    Ok(Fleet {
        server,
        devs,
        _dir: dir,
    })
}

/// One edit of the device's household (the work a sync then pushes).
pub fn edit(dev: &mut Device, household: &str, n: usize) -> Result<()> {
    let id = DocId(household.parse()?);
    let author = dev.author;
    dev.store.edit::<Household, _>(
        DocKind::Household,
        id,
        author,
        NOW + n as i64,
        "load",
        |h| {
            h.notes = format!("load round {n}");
            Ok(())
        },
    )?;
    Ok(())
}

/// One incremental sync through `transport`.
pub fn sync_once(dev: &mut Device, transport: &mut HttpTransport) -> Result<()> {
    dev.store.sync(
        transport,
        &SyncOptions::default(),
        NOW,
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    Ok(())
}

/// A transport that counts failures instead of hiding them behind retries.
pub fn bench_transport(dev: &Device) -> Result<HttpTransport> {
    let mut t = HttpTransport::from_store(&dev.store)?;
    t.attempts = 1;
    Ok(t)
}

pub fn run(devices: usize, rounds: usize, households_per_grid: usize) -> Result<()> {
    let mut fleet = fleet(devices, households_per_grid)?;
    let pid = fleet.pid();
    let cpu_before = cpu_ms(pid);
    let barrier = Arc::new(Barrier::new(devices));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let wall = Instant::now();
    std::thread::scope(|s| {
        for (dev, household) in fleet.devs.iter_mut() {
            let (barrier, samples, errors) = (barrier.clone(), samples.clone(), errors.clone());
            s.spawn(move || {
                let mut transport = match bench_transport(dev) {
                    Ok(t) => t,
                    Err(e) => return errors.lock().expect("lock").push(e.to_string()),
                };
                for round in 0..rounds {
                    if let Err(e) = edit(dev, household, round) {
                        errors.lock().expect("lock").push(e.to_string());
                    }
                    barrier.wait();
                    let t = Instant::now();
                    match sync_once(dev, &mut transport) {
                        Ok(()) => samples.lock().expect("lock").push(ms(t.elapsed())),
                        Err(e) => errors.lock().expect("lock").push(e.to_string()),
                    }
                }
            });
        }
    });
    let wall = wall.elapsed();
    let samples = samples.lock().expect("lock").clone();
    let errors = errors.lock().expect("lock").clone();
    let rss = peak_rss_mb(pid).unwrap_or(f64::NAN);
    let cpu = match (cpu_before, cpu_ms(pid)) {
        (Some(a), Some(b)) => (b - a) / samples.len().max(1) as f64,
        _ => f64::NAN,
    };
    if let Some(e) = errors.first() {
        println!("first error: {e}");
    }
    println!("{:<40} {:>12} {:<6} target", "measure", "value", "unit");
    row("incremental syncs", samples.len() as f64, "", None);
    row("latency p50", median(&samples), "ms", None);
    row(
        "latency p99",
        quantile(&samples, 0.99),
        "ms",
        Some((250.0, true)),
    );
    row("errors", errors.len() as f64, "", Some((0.0, true)));
    row("server peak RSS", rss, "MB", Some((300.0, true)));
    row("server CPU per sync", cpu, "ms", None);
    row(
        "throughput",
        samples.len() as f64 / wall.as_secs_f64(),
        "syncs/s",
        None,
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "load",
            "devices": devices,
            "rounds": rounds,
            "syncs": samples.len(),
            "p50_ms": median(&samples),
            "p99_ms": quantile(&samples, 0.99),
            "errors": errors.len(),
            "server_peak_rss_mb": rss,
            "server_cpu_ms_per_sync": cpu,
        })
    );
    Ok(())
}
