//! gridwalk-bench: measure, print a readable table, and end with one JSON object.
//!
//! `store` — the device's local store; `sync` — a fresh device and an incremental sync
//! against a real server on loopback; `load` — many devices syncing at once; `console` —
//! the dashboard indicators; `export` — the household ledger export; `import` — a ledger
//! import (XLSX with merged cells and CSV, dry run and valid-only); `photos` — photo
//! preparation and upload.

mod backends;
mod bench_device;
mod bytes_bench;
mod console_bench;
mod console_pg;
mod cpu;
mod export_bench;
mod fill;
mod import_bench;
mod ledger_gen;
mod load;
mod load_open;
mod phases;
mod photos_bench;
mod server_phases;
mod stats;
mod store_bench;
mod sync_bench;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "gridwalk-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Local store: cold open + first page, search p95, durable one-field edit.
    Store {
        #[arg(long, default_value_t = 5000)]
        households: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Sync: full pull of a fresh device, then 20 edits incrementally.
    Sync {
        #[arg(long, default_value_t = 5000)]
        households: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Full pulls to take the median of.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Devices keep their store encrypted (SQLCipher), as the app and CLI do.
        #[arg(long)]
        encrypted: bool,
        /// Households (1–5 members) only: no visits, no issues.
        #[arg(long)]
        households_only: bool,
        /// Grid sizes to measure in one run, e.g. 1000,5000,20000 (instead of --households).
        #[arg(long, value_delimiter = ',')]
        sizes: Vec<usize>,
        /// Also served from PostgreSQL: a database made on this server for the run and
        /// dropped after, e.g. postgres://postgres@127.0.0.1/test. Printed side by side.
        #[arg(long)]
        database: Option<String>,
    },
    /// Many devices doing incremental syncs against one server process: all released
    /// together, `rounds` times (closed loop); or, with `--rate`, syncs arriving at a
    /// steady rate for `--seconds` (open loop; `--find-rate` searches the highest rate
    /// with p99 ≤ 250 ms; `--idle` syncs with nothing to push).
    Load {
        #[arg(long, default_value_t = 400)]
        devices: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 20)]
        households_per_grid: usize,
        /// Open loop: syncs per second.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long)]
        find_rate: bool,
        #[arg(long)]
        idle: bool,
        /// Also on PostgreSQL (closed loop): a database made on this server for the run
        /// and dropped after, e.g. postgres://postgres@127.0.0.1/test. SQLite and
        /// PostgreSQL are printed side by side.
        #[arg(long)]
        database: Option<String>,
        /// With --database: N server processes on the one database, devices spread over
        /// them (measured besides one server).
        #[arg(long, default_value_t = 1)]
        servers: usize,
    },
    /// Console: the dashboard indicators over a district (projection rows bulk-inserted).
    Console {
        #[arg(long, default_value_t = 100_000)]
        households: usize,
        #[arg(long, default_value_t = 50_000)]
        issues: usize,
        #[arg(long, default_value_t = 500_000)]
        visits: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also on PostgreSQL (a database made for the run on this server, dropped at
        /// the end), printed beside SQLite.
        #[arg(long)]
        database: Option<String>,
    },
    /// Export: the whole district's ledger to CSV, XLSX and GeoJSON (masked, admin).
    Export {
        #[arg(long, default_value_t = 100_000)]
        households: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Import: a clean synthetic ledger (XLSX with merged address cells, and CSV), dry run
    /// and valid-only, into a fresh district; then a device syncs one grid.
    Import {
        #[arg(long, default_value_t = 100_000)]
        households: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Photos: prepare 12 MP photos, upload them over loopback, resume after a cut.
    Photos {
        #[arg(long, default_value_t = 100)]
        photos: usize,
    },
    /// A first download in one process without HTTP, timed per phase (server pull,
    /// encode, decode, device apply); `--prepare` builds the district first, so a
    /// profiler's run sees the download only.
    Phases {
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long)]
        prepare: bool,
        #[arg(long, default_value_t = 5000)]
        households: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        households_only: bool,
        /// The device store encrypted (SQLCipher), as the app and CLI keep it.
        #[arg(long)]
        encrypted: bool,
        /// The wire version the device asks in (3 to the newest), to compare versions.
        #[arg(long, default_value_t = gridwalk_core::sync::PROTOCOL_VERSION)]
        protocol: u16,
    },
    /// Bytes of a first download (households only), part by part and per wire version,
    /// against the gzip floor; deterministic, so it needs no quiet machine.
    Bytes {
        #[arg(long, value_delimiter = ',', default_values_t = [1000, 5000, 20000])]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Internal: one import in this process (the import benchmark's child).
    #[command(hide = true)]
    ImportInternal {
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        mode: String,
    },
    /// Internal: one export in this process (the export benchmark's child).
    #[command(hide = true)]
    ExportInternal {
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long)]
        format: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Internal: one fresh device's first download in this process (the sync benchmark's
    /// child, so that its peak RSS is the device's own).
    #[command(hide = true)]
    SyncDeviceInternal {
        #[arg(long)]
        base: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        dir: std::path::PathBuf,
    },
    /// Internal: run a server in this process (the load benchmark's child).
    #[command(hide = true)]
    ServeInternal {
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long)]
        addr_file: std::path::PathBuf,
        #[arg(long)]
        database: Option<String>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Store { households, seed } => store_bench::run(households, seed),
        Command::Sync {
            households,
            seed,
            runs,
            households_only,
            sizes,
            encrypted,
            database,
        } => {
            bench_device::ENCRYPTED_DEVICES.store(encrypted, std::sync::atomic::Ordering::Relaxed);
            sync_bench::run(sync_bench::SyncBenchArgs {
                households,
                seed,
                runs,
                households_only,
                sizes,
                database,
            })
        }
        Command::SyncDeviceInternal { base, code, dir } => {
            bench_device::device_internal(base, code, dir)
        }
        Command::Load {
            devices,
            rounds,
            households_per_grid,
            rate,
            seconds,
            find_rate,
            idle,
            database,
            servers,
        } => match rate {
            None if !find_rate => load::run(
                devices,
                rounds,
                households_per_grid,
                database.as_deref(),
                servers,
            ),
            _ if database.is_some() => {
                anyhow::bail!("--database is for the closed loop (without --rate, --find-rate)")
            }
            rate => load_open::run(&load_open::OpenOptions {
                devices,
                households_per_grid,
                rate: rate.unwrap_or(100.0),
                seconds,
                idle,
                find_rate,
            }),
        },
        Command::Console {
            households,
            issues,
            visits,
            seed,
            database,
        } => console_bench::run(households, issues, visits, seed, database.as_deref()),
        Command::Export { households, seed } => export_bench::run(households, seed),
        Command::Import { households, seed } => import_bench::run(households, seed),
        Command::Photos { photos } => photos_bench::run(photos),
        Command::Phases {
            data,
            prepare,
            households,
            seed,
            households_only,
            encrypted,
            protocol,
        } => match prepare {
            true => phases::prepare(&data, households, seed, households_only),
            false => phases::run(&data, encrypted, protocol),
        },
        Command::Bytes { sizes, seed } => bytes_bench::run(&sizes, seed),
        Command::ImportInternal { data, file, mode } => {
            import_bench::import_internal(data, file, mode)
        }
        Command::ExportInternal { data, format, out } => {
            export_bench::export_internal(data, format, out)
        }
        Command::ServeInternal {
            data,
            addr_file,
            database,
        } => load::serve_internal(data, addr_file, database),
    }
}
