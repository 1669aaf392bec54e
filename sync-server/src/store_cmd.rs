//! `gridwalk-server store copy`: move a district between a data directory and PostgreSQL
//! (the logic is gridwalk_server::store_copy).

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use gridwalk_server::store_copy::{copy, CopyOptions, Endpoint};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum StoreCmd {
    /// Copy the district from a data directory to PostgreSQL or back; resumable (run it
    /// again after an interruption), verified at the end (row counts, grid digests).
    /// Stop the servers on the source first.
    Copy(CopyArgs),
}

#[derive(Args)]
pub struct CopyArgs {
    /// The source: a data directory (district.sqlite, blobs.sqlite).
    #[arg(long, conflicts_with = "from", required_unless_present = "from")]
    from_data: Option<PathBuf>,
    /// The source: a PostgreSQL database (`postgres://user@host/db`).
    #[arg(long)]
    from: Option<String>,
    /// The target: a data directory (created if missing; must hold no district).
    #[arg(long, conflicts_with = "to", required_unless_present = "to")]
    to_data: Option<PathBuf>,
    /// The target: a PostgreSQL database (must hold no district).
    #[arg(long)]
    to: Option<String>,
    /// Tests only: stop after this many batches, as if the copy had been killed.
    #[arg(long, hide = true)]
    stop_after_batches: Option<usize>,
    /// Rows per batch instead of each table's own.
    #[arg(long, hide = true)]
    batch_rows: Option<usize>,
}

fn endpoint(data: Option<PathBuf>, url: Option<String>, which: &str) -> Result<Endpoint> {
    match (data, url) {
        (Some(dir), None) => Ok(Endpoint::Data(dir)),
        (None, Some(url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Endpoint::Postgres(url))
        }
        (None, Some(_)) => {
            bail!("--{which} must be a postgres:// URL (a directory: --{which}-data)")
        }
        _ => bail!("give --{which}-data DIR or --{which} postgres://…"),
    }
}

pub fn run(cmd: StoreCmd) -> Result<()> {
    match cmd {
        StoreCmd::Copy(args) => {
            let from = endpoint(args.from_data, args.from, "from")?;
            let to = endpoint(args.to_data, args.to, "to")?;
            let options = CopyOptions {
                stop_after_batches: args.stop_after_batches,
                batch_rows: args.batch_rows,
            };
            let report = copy(&from, &to, &options, &mut std::io::stdout())?;
            println!(
                "复制完成并已核对 / copied and verified: {} tables, {} grids",
                report.tables.len(),
                report.grids
            );
        }
    }
    Ok(())
}
