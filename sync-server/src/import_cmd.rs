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
    print_diff(&answer["diff"]);
    if let Some(c) = answer["written"]["conflicts"].as_u64().filter(|c| *c > 0) {
        println!("{c} fields changed on devices since the last import are kept as conflicts: resolve them on the console");
    }
    for r in answer["written"]["refused"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!("not updated: household {}: {}", r[0], r[1]);
    }
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

/// The re-import's diff as the admin reads it: new, changed field by field (personal
/// values masked), gone (listed only, never removed).
fn print_diff(diff: &serde_json::Value) {
    let list = |k: &str| diff[k].as_array().cloned().unwrap_or_default();
    let (new, changed, gone) = (
        list("new_households"),
        list("changed_households"),
        list("gone_households"),
    );
    println!(
        "新增 {} 户 / new households {}; 变更 {} 户 / changed {}; 未变 / unchanged {}; 台账中已无 {} 户 / gone {}",
        new.len(),
        new.len(),
        changed.len(),
        changed.len(),
        diff["unchanged_households"],
        gone.len(),
        gone.len()
    );
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let field = |f: &serde_json::Value, who: &str| {
        println!(
            "    {who}{} / {}: {} → {}{}",
            s(&f["field_zh"]),
            s(&f["field_en"]),
            s(&f["old"]),
            s(&f["new"]),
            if f["conflict"] == true {
                "  (冲突：设备已改动，两值并存 / conflict: changed on a device too, both kept)"
            } else {
                ""
            }
        );
    };
    for c in &changed {
        println!(
            "  变更 / changed {} (rows {}){}",
            s(&c["address"]),
            c["rows"],
            if c["valid"] == true {
                ""
            } else {
                "  [有问题，不写入 / has problems, not written]"
            }
        );
        for f in c["fields"].as_array().into_iter().flatten() {
            field(f, "");
        }
        for p in c["new_persons"].as_array().into_iter().flatten() {
            println!(
                "    + 新成员 / new member {} {}",
                s(&p["name"]),
                s(&p["id_number"])
            );
        }
        for p in c["changed_persons"].as_array().into_iter().flatten() {
            for f in p["fields"].as_array().into_iter().flatten() {
                field(f, &format!("{}: ", s(&p["person"]["name"])));
            }
        }
        for p in c["gone_persons"].as_array().into_iter().flatten() {
            println!(
                "    - 台账中已无 / not in the ledger: {} {} (未删除 / not removed)",
                s(&p["name"]),
                s(&p["id_number"])
            );
        }
    }
    for g in &gone {
        println!(
            "  台账中已无 / gone: {} {} ({} 人 / persons) — 未删除 / not removed",
            s(&g["address"]),
            s(&g["head_name"]),
            g["members"]
        );
    }
}
