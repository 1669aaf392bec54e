//! `gridwalk-server import`: a household ledger (XLSX or CSV) into the district, as a
//! named admin — the same plan, report and audit entry as the console's import. On either
//! backend (`--data DIR` or `--database URL`).

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use gridwalk_core::ledger::{ColumnMapping, LedgerColumn, Table, IMPORT_COLUMNS};
use gridwalk_district_sqlite::ConsoleBackend;
use gridwalk_server::console::ledger_import::import_blocking;
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
    #[command(flatten)]
    pub data: crate::DataArg,
    /// The ledger file (.xlsx, .xls, .csv).
    #[arg(long)]
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "dry-run")]
    pub mode: ModeArg,
    /// The admin importing (named in the audit log).
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
    /// What a column holds, where its header is not recognised or is misread:
    /// `COLUMN=FIELD`, the column by letter (`L`) or header text (`人口类别`), the field by
    /// the console's code (`household_type`, `care_tags` …) or a header word for it, or
    /// `none` to ignore the column. Repeat for several columns.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
}

/// A column letter ("L", "AB") as a 0-based index.
fn letter_index(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 3 || !s.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    Some(s.bytes().fold(0, |n, b| n * 26 + usize::from(b - b'A' + 1)) - 1)
}

/// The `--map` arguments as the console's mapping, header texts looked up in the first 30
/// rows of every sheet.
pub fn parse_mapping(args: &[String], tables: &[Table]) -> Result<Option<ColumnMapping>> {
    if args.is_empty() {
        return Ok(None);
    }
    let codes = || {
        IMPORT_COLUMNS
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut mapping = ColumnMapping::new();
    for arg in args {
        let (column, field) = arg.split_once('=').ok_or_else(|| {
            anyhow!("--map {arg:?}: write COLUMN=FIELD, such as L=household_type")
        })?;
        let (column, field) = (column.trim(), field.trim());
        let field = match field {
            "none" | "ignore" | "-" => None,
            f => Some(LedgerColumn::from_code(f).ok_or_else(|| {
                anyhow!(
                    "--map {arg:?}: no field {f:?}; fields: {}, or none",
                    codes()
                )
            })?),
        };
        let index = match letter_index(column) {
            Some(i) => i,
            None => header_index(column, tables).ok_or_else(|| {
                anyhow!("--map {arg:?}: no column letter or header {column:?} in the first 30 rows")
            })?,
        };
        mapping.insert(index, field);
    }
    Ok(Some(mapping))
}

fn header_index(header: &str, tables: &[Table]) -> Option<usize> {
    let clean = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let wanted = clean(header);
    tables.iter().find_map(|t| {
        t.rows
            .iter()
            .take(30)
            .find_map(|row| row.iter().position(|c| clean(&c.display()) == wanted))
    })
}

pub fn run(district: &dyn ConsoleBackend, args: ImportArgs) -> Result<()> {
    let Some(user) = district.credentials(&args.as_user)? else {
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
    let tables =
        gridwalk_ledger::read::read_tables(&bytes, &name).map_err(|e| anyhow!("{name}: {e}"))?;
    let mapping = parse_mapping(&args.map, &tables)?;
    let answer = import_blocking(district, &scope, &name, mode, mapping.as_ref(), &bytes)?;
    let plan = &answer["plan"];
    let at = |p: &serde_json::Value| match p["sheet"].as_str() {
        Some(sheet) => format!("{sheet}!{}", p["row"]),
        None => p["row"].to_string(),
    };
    for s in plan["skipped"].as_array().into_iter().flatten() {
        println!(
            "row {:>7}  skipped: {}  {}",
            at(s),
            s["reason"].as_str().unwrap_or(""),
            s["text"].as_str().unwrap_or("")
        );
    }
    for p in plan["notices"].as_array().into_iter().flatten() {
        println!(
            "row {:>7}  {:<3} {:<10} note: {}",
            at(p),
            p["column_letter"].as_str().unwrap_or(""),
            p["header"].as_str().unwrap_or(""),
            p["message_zh"].as_str().unwrap_or("")
        );
    }
    for p in plan["problems"].as_array().into_iter().flatten() {
        println!(
            "row {:>7}  {:<3} {:<10} {} {}  [{}]",
            at(p),
            p["column_letter"].as_str().unwrap_or(""),
            p["header"].as_str().unwrap_or(""),
            p["value"].as_str().unwrap_or(""),
            p["message_zh"].as_str().unwrap_or(""),
            p["code"].as_str().unwrap_or("")
        );
    }
    for h in plan["held_back"].as_array().into_iter().flatten() {
        let rows: Vec<String> = (h["rows"].as_array().into_iter().flatten())
            .map(|r| match h["sheet"].as_str() {
                Some(sheet) => format!("{sheet}!{r}"),
                None => r.to_string(),
            })
            .collect();
        println!("held back: household of rows {}", rows.join(", "));
    }
    let (households, valid) = (&plan["households_total"], &plan["households_valid"]);
    println!(
        "{} rows, {} valid; {} households, {} valid; {} problems; {} rows skipped",
        plan["rows_total"],
        plan["rows_valid"],
        households,
        valid,
        plan["problems"].as_array().map_or(0, Vec::len),
        plan["skipped"].as_array().map_or(0, Vec::len)
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

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::ledger::Cell;

    #[test]
    fn map_by_letter_or_header_to_a_field_code_or_word() {
        let header = ["序号", "姓名", "人口类别", "户别"].map(|h| Cell::Text(h.into()));
        let tables = vec![Table {
            sheet: String::new(),
            rows: vec![vec![], header.to_vec()],
        }];
        let args: Vec<String> = [
            "L=household_type",
            "人口类别=care_tags",
            "D=none",
            "AA=特殊人群",
        ]
        .map(String::from)
        .to_vec();
        let mapping = parse_mapping(&args, &tables).unwrap().unwrap();
        let want: ColumnMapping = [
            (11, Some(LedgerColumn::HouseholdType)),
            (2, Some(LedgerColumn::CareTags)),
            (3, None),
            (26, Some(LedgerColumn::CareTags)),
        ]
        .into_iter()
        .collect();
        assert_eq!(mapping, want);
        for bad in ["L", "L=flavour", "不存在=name"] {
            assert!(parse_mapping(&[bad.to_string()], &tables).is_err(), "{bad}");
        }
        assert_eq!(parse_mapping(&[], &tables).unwrap(), None);
    }
}
