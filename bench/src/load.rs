//! Many devices syncing at once against server processes on loopback.
//!
//! The server runs as a child process (this binary, `serve-internal`) so that its peak
//! memory can be read from /proc. Every device is enrolled and fully synced first; then
//! all of them, released together, each make one edit and sync, `rounds` times.
//!
//! With `--database postgres://…` the same load runs on the embedded store and then on
//! PostgreSQL (a database made for the run on that server, dropped after): the district
//! is built on SQLite and moved there with `store copy`, then served by one server
//! process and, with `--servers N`, by N processes with the devices spread over them.
//! The figures are printed side by side.

use crate::bench_device::{new_device, Device};
use crate::stats::{median, ms, quantile, row};
use anyhow::{Context, Result};
use gridwalk_client::HttpTransport;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_district_postgres::testing::TestDatabase;
use gridwalk_district_sqlite::{AdminStore, NewUser, SqliteDistrict};
use gridwalk_server::store_copy::{CopyOptions, Endpoint};
use gridwalk_store::client::SyncOptions;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

/// Where the load runs: the embedded store, or PostgreSQL behind `servers` processes.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres { url: String, servers: usize },
}

impl Backend {
    fn label(&self) -> String {
        match self {
            Backend::Sqlite => "SQLite, 1 server".into(),
            Backend::Postgres { servers: 1, .. } => "PostgreSQL, 1 server".into(),
            Backend::Postgres { servers, .. } => format!("PostgreSQL, {servers} servers"),
        }
    }
}

pub fn serve_internal(data: PathBuf, addr_file: PathBuf, database: Option<String>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut config = gridwalk_server::ServerConfig::new(&data);
    config.addr = "127.0.0.1:0".parse()?;
    // Hundreds of devices enroll from this one address.
    config.enroll_per_minute = 100_000;
    // The benchmark reads the server's phase breakdown there.
    config.metrics_token = Some(crate::server_phases::METRICS_TOKEN.into());
    // Opened outside the runtime: the PostgreSQL client blocks on a runtime of its own.
    let state = match database {
        Some(url) => {
            let pg = gridwalk_district_postgres::PgDistrict::open(&url, 16)?;
            gridwalk_server::AppState::postgres(Arc::new(pg), config)
        }
        None => gridwalk_server::AppState::new(Arc::new(SqliteDistrict::open(&data)?), config),
    };
    rt.block_on(async move {
        let server = gridwalk_server::spawn_with_state(state).await?;
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

/// Server child processes with `devices` enrolled, fully synced devices, one grid each
/// (device k on server k mod n).
pub struct Fleet {
    pub servers: Vec<KillOnDrop>,
    /// Each device with the id of one household of its grid, to edit.
    pub devs: Vec<(Device, String)>,
    /// Each server's `http://host:port`.
    pub bases: Vec<String>,
    _dir: tempfile::TempDir,
    /// The run's PostgreSQL database, dropped with the fleet (after the servers).
    _database: Option<TestDatabase>,
}

pub struct KillOnDrop(pub Child);

impl Fleet {
    /// The first server's process id.
    pub fn pid(&self) -> u32 {
        self.servers[0].0.id()
    }

    pub fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.0.id()).collect()
    }
}

/// Server child process `n`: on the data directory, or on `database` when given.
fn start_server(
    data_dir: &std::path::Path,
    database: Option<&str>,
    n: usize,
) -> Result<(KillOnDrop, String)> {
    let addr_file = data_dir.join(format!("addr-{n}"));
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve-internal", "--data"])
        .arg(data_dir)
        .arg("--addr-file")
        .arg(&addr_file)
        .env("RUST_LOG", "warn");
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    let server = KillOnDrop(cmd.spawn().context("start server")?);
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
    Ok((server, format!("http://{addr}")))
}

pub fn fleet(devices: usize, households_per_grid: usize) -> Result<Fleet> {
    fleet_on(devices, households_per_grid, &Backend::Sqlite)
}

pub fn fleet_on(devices: usize, households_per_grid: usize, backend: &Backend) -> Result<Fleet> {
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

    // PostgreSQL: the district moved to a database of its own with `store copy`.
    let (database, admin): (Option<TestDatabase>, Box<dyn AdminStore>) = match backend {
        Backend::Sqlite => (None, Box::new(district)),
        Backend::Postgres { url, .. } => {
            drop(district);
            let db = TestDatabase::create(url, "bench_load")?;
            let copied = gridwalk_server::store_copy::copy(
                &Endpoint::Data(data_dir.clone()),
                &Endpoint::Postgres(db.url().to_string()),
                &CopyOptions::default(),
                &mut std::io::sink(),
            )?;
            anyhow::ensure!(copied.differences().is_none(), "store copy differs");
            let pg = gridwalk_district_postgres::PgDistrict::open(db.url(), 4)?;
            (Some(db), Box::new(pg))
        }
    };
    let (url, servers) = match (backend, &database) {
        (Backend::Postgres { servers, .. }, Some(db)) => (Some(db.url()), (*servers).max(1)),
        _ => (None, 1),
    };
    let mut processes = Vec::new();
    let mut bases = Vec::new();
    for n in 0..servers {
        let (server, base) = start_server(&data_dir, url, n)?;
        processes.push(server);
        bases.push(base);
    }
    println!(
        "load benchmark ({}): {devices} devices, {} households, servers {}",
        backend.label(),
        data.households.len(),
        bases.join(" ")
    );
    // 400 simulated devices share this machine's one disk, where each real device has its
    // own: their stores do not fsync (the server's store does, as always).
    println!("(device stores: synchronous=OFF — the load generator's, not the server's)");

    let mut devs: Vec<(Device, String)> = Vec::new();
    for (k, user) in users.iter().enumerate() {
        let base = &bases[k % bases.len()];
        let mut dev = new_device(&*admin, base, user, &format!("load-{k}"))?;
        dev.store
            .connection()
            .pragma_update(None, "synchronous", "OFF")?;
        crate::bench_device::timed_sync(&mut dev)?;
        let hh: Vec<String> = data
            .households
            .iter()
            .filter(|h| h.grid_id == grids[k])
            .map(|h| h.id.clone())
            .collect();
        devs.push((dev, hh.first().cloned().context("grid without households")?));
    }
    drop(admin);
    Ok(Fleet {
        servers: processes,
        devs,
        bases,
        _dir: dir,
        _database: database,
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

/// What one backend's run measured.
struct LoadResult {
    label: String,
    samples: Vec<f64>,
    errors: Vec<String>,
    /// The largest peak RSS of the servers.
    rss_mb: f64,
    /// CPU of every server, per sync.
    cpu_ms: f64,
    /// The servers', the load generator's and PostgreSQL's CPU per sync.
    cpu: crate::cpu::CpuPerSync,
    throughput: f64,
    /// The servers' own breakdown of the run (see server_phases.rs).
    phases: Vec<(String, f64, f64, f64)>,
}

fn measure(
    devices: usize,
    rounds: usize,
    households_per_grid: usize,
    backend: &Backend,
) -> Result<LoadResult> {
    let mut fleet = fleet_on(devices, households_per_grid, backend)?;
    let pids = fleet.pids();
    let cpu_of = |pids: &[u32]| -> Option<f64> { pids.iter().map(|p| cpu_ms(*p)).sum() };
    let cpu_before = cpu_of(&pids);
    let on_postgres = matches!(backend, Backend::Postgres { .. });
    let db_before = on_postgres.then(crate::cpu::postgres_cpu_ms);
    let generator_ns = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let phases_before = crate::server_phases::scrape_all(&fleet.bases);
    let barrier = Arc::new(Barrier::new(devices));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let wall = Instant::now();
    std::thread::scope(|s| {
        for (dev, household) in fleet.devs.iter_mut() {
            let (barrier, samples, errors) = (barrier.clone(), samples.clone(), errors.clone());
            let generator_ns = generator_ns.clone();
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
                    let cpu = crate::cpu::thread_cpu_ns();
                    let synced = sync_once(dev, &mut transport);
                    let elapsed = ms(t.elapsed());
                    if let (Some(a), Some(b)) = (cpu, crate::cpu::thread_cpu_ns()) {
                        generator_ns.fetch_add(b.saturating_sub(a), Ordering::Relaxed);
                    }
                    match synced {
                        Ok(()) => samples.lock().expect("lock").push(elapsed),
                        Err(e) => errors.lock().expect("lock").push(e.to_string()),
                    }
                }
            });
        }
    });
    let wall = wall.elapsed();
    let phases = match (
        phases_before,
        crate::server_phases::scrape_all(&fleet.bases),
    ) {
        (Some(a), Some(b)) => crate::server_phases::breakdown(&a, &b),
        _ => vec![],
    };
    let samples = samples.lock().expect("lock").clone();
    let errors = errors.lock().expect("lock").clone();
    let rss_mb = pids
        .iter()
        .filter_map(|p| peak_rss_mb(*p))
        .fold(f64::NAN, f64::max);
    let cpu_ms = match (cpu_before, cpu_of(&pids)) {
        (Some(a), Some(b)) => (b - a) / samples.len().max(1) as f64,
        _ => f64::NAN,
    };
    let syncs = samples.len().max(1) as f64;
    let cpu = crate::cpu::CpuPerSync {
        server_ms: cpu_ms,
        generator_ms: generator_ns.load(Ordering::Relaxed) as f64 / 1e6 / syncs,
        database_ms: db_before.map_or(0.0, |a| (crate::cpu::postgres_cpu_ms() - a) / syncs),
    };
    Ok(LoadResult {
        label: backend.label(),
        cpu,
        throughput: samples.len() as f64 / wall.as_secs_f64(),
        samples,
        errors,
        rss_mb,
        cpu_ms,
        phases,
    })
}

/// The load on SQLite; with `database`, on PostgreSQL with one server and with `servers`.
pub fn run(
    devices: usize,
    rounds: usize,
    households_per_grid: usize,
    database: Option<&str>,
    servers: usize,
) -> Result<()> {
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = database {
        for n in [1, servers.max(1)] {
            if !backends
                .iter()
                .any(|b| matches!(b, Backend::Postgres { servers, .. } if *servers == n))
            {
                backends.push(Backend::Postgres {
                    url: url.to_string(),
                    servers: n,
                });
            }
        }
    }
    let mut results = Vec::new();
    for b in &backends {
        results.push(measure(devices, rounds, households_per_grid, b)?);
    }
    for r in &results {
        crate::server_phases::print(&r.label, &r.phases);
    }
    if results.len() > 1 {
        for r in &results {
            print!("{}: ", r.label);
            print_floor(r, devices);
        }
    }
    for r in &results {
        if let Some(e) = r.errors.first() {
            println!("first error ({}): {e}", r.label);
        }
    }
    if results.len() == 1 {
        let r = &results[0];
        println!("{:<40} {:>12} {:<6} target", "measure", "value", "unit");
        row("incremental syncs", r.samples.len() as f64, "", None);
        row("latency p50", median(&r.samples), "ms", None);
        row(
            "latency p99",
            quantile(&r.samples, 0.99),
            "ms",
            Some((250.0, true)),
        );
        row("errors", r.errors.len() as f64, "", Some((0.0, true)));
        row("server peak RSS", r.rss_mb, "MB", Some((300.0, true)));
        row("server CPU per sync", r.cpu_ms, "ms", None);
        row(
            "load generator CPU per sync",
            r.cpu.generator_ms,
            "ms",
            None,
        );
        row("throughput", r.throughput, "syncs/s", None);
        print_floor(r, devices);
    } else {
        print_side_by_side(&results);
    }
    let json: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "backend": r.label,
                "syncs": r.samples.len(),
                "p50_ms": median(&r.samples),
                "p99_ms": quantile(&r.samples, 0.99),
                "errors": r.errors.len(),
                "server_peak_rss_mb": r.rss_mb,
                "server_cpu_ms_per_sync": r.cpu_ms,
                "generator_cpu_ms_per_sync": r.cpu.generator_ms,
                "database_cpu_ms_per_sync": r.cpu.database_ms,
                "burst_floor_ms": r.cpu.burst_floor_ms(devices, crate::cpu::cores()),
                "syncs_per_s": r.throughput,
            })
        })
        .collect();
    let first = &results[0];
    println!(
        "{}",
        serde_json::json!({
            "bench": "load",
            "devices": devices,
            "rounds": rounds,
            "syncs": first.samples.len(),
            "p50_ms": median(&first.samples),
            "p99_ms": quantile(&first.samples, 0.99),
            "errors": first.errors.len(),
            "server_peak_rss_mb": first.rss_mb,
            "server_cpu_ms_per_sync": first.cpu_ms,
            "backends": json,
        })
    );
    Ok(())
}

/// What the CPU alone allows: a round of `devices` syncs released at once cannot end
/// before they have all had their CPU, whoever spends it on this shared machine.
fn print_floor(r: &LoadResult, devices: usize) {
    let cores = crate::cpu::cores();
    println!(
        "CPU per sync {:.2} ms (server {:.2} + load generator {:.2} + database {:.2}) on {cores} \
         cores: a round of {devices} released together needs at least {:.0} ms, so p99 cannot \
         be below about {:.0} ms here; the steady-rate ceiling is {:.0} syncs/s",
        r.cpu.total_ms(),
        r.cpu.server_ms,
        r.cpu.generator_ms,
        r.cpu.database_ms,
        r.cpu.burst_floor_ms(devices, cores),
        0.99 * r.cpu.burst_floor_ms(devices, cores),
        r.cpu.rate_ceiling(cores),
    );
}

/// One column per backend; the last column of each PostgreSQL row is its ratio to SQLite.
fn print_side_by_side(results: &[LoadResult]) {
    print!("{:<26}", "measure");
    for r in results {
        print!(" {:>22}", r.label);
    }
    println!();
    let line = |name: &str, unit: &str, f: &dyn Fn(&LoadResult) -> f64| {
        print!("{:<26}", format!("{name} ({unit})"));
        let base = f(&results[0]);
        for (i, r) in results.iter().enumerate() {
            let v = f(r);
            if i == 0 || !base.is_finite() || base == 0.0 {
                print!(" {v:>22.1}");
            } else {
                print!(" {:>22}", format!("{v:.1} ({:.2}x)", v / base));
            }
        }
        println!();
    };
    line("incremental syncs", "", &|r| r.samples.len() as f64);
    line("latency p50", "ms", &|r| median(&r.samples));
    line("latency p99", "ms", &|r| quantile(&r.samples, 0.99));
    line("errors", "", &|r| r.errors.len() as f64);
    line("server peak RSS, max", "MB", &|r| r.rss_mb);
    // gridwalk-server processes only: PostgreSQL's own backends are not counted.
    line("server CPU per sync, all", "ms", &|r| r.cpu_ms);
    line("generator CPU per sync", "ms", &|r| r.cpu.generator_ms);
    line("database CPU per sync", "ms", &|r| r.cpu.database_ms);
    line("throughput", "syncs/s", &|r| r.throughput);
    println!(
        "(server CPU: the gridwalk-server processes only, not PostgreSQL's. Targets: \
         PostgreSQL within 1.5x of SQLite at one server; two servers' p99 no worse than one. \
         One shared machine: indicative only, quote `uptime`.)"
    );
}
