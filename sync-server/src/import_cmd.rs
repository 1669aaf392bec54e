//! `gridwalk-server import`: a household ledger (XLSX or CSV) into the district, as a
//! named admin — the same plan, report and audit entry as the console's import.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use gridwalk_server::console::ledger_import::import_blocking;
use gridwalk_store::district::SqliteDistrict;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Report only; nothing is imported.
    DryRun,
    /// Import everything, or nothing if any row is wrong.
    AllOrNothing,
    /// Import the households whose rows are all valid.
    ValidOnly,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Data directory (holds district.sqlite).
    #[arg(long, env = "GRIDWALK_DATA")]
    pub data: PathBuf,
    /// The ledger file (.xlsx, .xls, .csv).
    #[arg(long)]
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "dry-run")]
    pub mode: ModeArg,
    /// The admin importing (named in the audit log).
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
}

pub fn run(district: &SqliteDistrict, args: ImportArgs) -> Result<()> {
    let Some(user) = district.user_by_name(&args.as_user)? else {
        bail!("no user named {:?}", args.as_user);
    };
    let scope = district.console_scope(&user.user_id)?;
    if !scope.is_admin() {
        bail!(
            "{} is not an admin: only admins import ledgers",
            args.as_user
        );
    }
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = match args.mode {
        ModeArg::DryRun => "dry_run",
        ModeArg::AllOrNothing => "all_or_nothing",
        ModeArg::ValidOnly => "valid_only",
    };
    let answer = import_blocking(district, &scope, &name, mode, None, &bytes)?;
    let plan = &answer["plan"];
    for p in plan["problems"].as_array().into_iter().flatten() {
        println!(
            "row {:>5}  {:<3} {:<10} {}  [{}]",
            p["row"],
            p["column_letter"].as_str().unwrap_or(""),
            p["header"].as_str().unwrap_or(""),
            p["message_zh"].as_str().unwrap_or(""),
            p["code"].as_str().unwrap_or("")
        );
    }
    let households = plan["households"].as_array().map_or(0, Vec::len);
    let valid = plan["households"]
        .as_array()
        .map_or(0, |h| h.iter().filter(|h| h["valid"] == true).count());
    println!(
        "{} rows, {} valid; {} households, {} valid; {} problems",
        plan["rows_total"],
        plan["rows_valid"],
        households,
        valid,
        plan["problems"].as_array().map_or(0, Vec::len)
    );
    match answer["imported_households"].as_u64() {
        Some(n) => println!("imported {n} households (run {})", answer["run_id"]),
        None if mode == "dry_run" => println!("dry run: nothing imported (run {})", answer["run_id"]),
        None => bail!(
            "nothing imported: the file has problems (all or nothing); fix them or use --mode valid-only (run {})",
            answer["run_id"]
        ),
    }
    Ok(())
}
