//! `gridwalk-server init` (a new district from an empty data directory, with its first
//! admin) and `gridwalk-server area …` (the area tree from the command line). The same
//! core checks and store calls as the console's Areas page; every change is audited.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use gridwalk_core::area::{AreaEdit, AreaTree, Community, District, Grid, Street};
use gridwalk_district_postgres::PgDistrict;
use gridwalk_district_sqlite::ConsoleBackend;
use gridwalk_district_sqlite::{AuditEntry, AuditKind, UserUpdate};
use gridwalk_server::console::import_buildings_blocking;
use gridwalk_server::{now_ms, open_district};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The district's 12-digit statistical code (county level: last 6 digits 0).
    #[arg(long)]
    pub district_code: String,
    /// The district's name, e.g. 荷塘区.
    #[arg(long)]
    pub district_name: String,
    /// Username of the first admin.
    #[arg(long)]
    pub admin: String,
    /// The admin's display name [default: the username].
    #[arg(long)]
    pub admin_name: Option<String>,
    /// The admin's console password (at least 8 characters); generated and printed once
    /// when not given.
    #[arg(long, env = "GRIDWALK_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

#[derive(Args)]
pub struct DataArg {
    /// Data directory (holds district.sqlite; created by `init` if missing).
    #[arg(long, env = "GRIDWALK_DATA", required_unless_present = "database")]
    pub data: Option<PathBuf>,
    /// The district on PostgreSQL instead (`postgres://user@host/db`).
    #[arg(long, env = "GRIDWALK_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
}

impl DataArg {
    /// Where the district is, for messages and the next steps `init` prints.
    fn flag(&self) -> String {
        match (&self.database, &self.data) {
            (Some(url), _) => format!("--database {}", gridwalk_district_postgres::redact(url)),
            (None, Some(dir)) => format!("--data {}", dir.display()),
            (None, None) => String::new(),
        }
    }
}

#[derive(Subcommand)]
pub enum AreaCmd {
    /// Print the area tree: district, streets, communities, grids (id and code), buildings.
    Show {
        #[command(flatten)]
        data: DataArg,
        /// The tree as JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Add (or rename) a street: 12-digit code extending the district's first 6 digits.
    AddStreet {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
    /// Add (or rename) a community: 12-digit code extending its street's first 9 digits.
    AddCommunity {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// The street's code.
        #[arg(long)]
        street: String,
    },
    /// Add a grid to a community; its id is generated, its number is the next free one
    /// unless given. Prints the grid's id and 15-digit code.
    AddGrid {
        #[command(flatten)]
        data: DataArg,
        /// The community's code.
        #[arg(long)]
        community: String,
        /// 1..=999 inside the community [default: the next free number].
        #[arg(long)]
        number: Option<i64>,
        /// [default: 第N网格]
        #[arg(long)]
        name: Option<String>,
    },
    /// Rename the district, a street, community, grid (id or 15-digit code) or building (id).
    Rename {
        #[command(flatten)]
        data: DataArg,
        /// The code or id of the area.
        target: String,
        #[arg(long)]
        name: String,
    },
    /// Buildings from a sheet (XLSX or CSV: 社区, 网格, 楼栋编号, 楼栋名称, 单元数, 层数,
    /// 每层户数): every row checked, applied all together or not at all.
    Buildings {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        file: PathBuf,
        /// Only check the sheet.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A store error as one line: its message already holds the field errors (anyhow's `{:#}`
/// would print them twice, once more as the source).
fn plain(e: gridwalk_store::StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The district on PostgreSQL (`--database`) or in the data directory.
fn open(data: &DataArg) -> Result<Box<dyn ConsoleBackend>> {
    if let Some(url) = &data.database {
        let pg = PgDistrict::open(url, 2).with_context(|| {
            format!(
                "cannot open the district in {}",
                gridwalk_district_postgres::redact(url)
            )
        })?;
        return Ok(Box::new(pg));
    }
    let dir: &Path = data.data.as_deref().context("--data DIR is needed")?;
    let district = open_district(dir)
        .with_context(|| format!("cannot open the store in {}", dir.display()))?;
    Ok(Box::new(district))
}

/// The server's own command line audits as itself (the console audits the signed-in admin).
fn audit(district: &dyn ConsoleBackend, detail: serde_json::Value) -> Result<()> {
    district.audit_append(&AuditEntry {
        id: 0,
        at: now_ms(),
        user_id: "(server cli)".into(),
        username: "gridwalk-server".into(),
        role: "operator".into(),
        kind: AuditKind::AreaChanged,
        detail,
    })?;
    Ok(())
}

/// A random console password: 16 characters from a v4 UUID's random bits.
fn generated_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

pub fn init(args: InitArgs) -> Result<()> {
    if let (None, Some(dir)) = (&args.data.database, &args.data.data) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let district = open(&args.data)?;
    let (password, generated) = match args.password {
        Some(p) => (p, false),
        None => (generated_password(), true),
    };
    let admin = UserUpdate {
        username: args.admin.clone(),
        display_name: args.admin_name.unwrap_or_else(|| args.admin.clone()),
        role: "admin".into(),
        grids: vec![],
        areas: vec![],
        password: Some(password.clone()),
    };
    let root = District {
        code: args.district_code.trim().to_string(),
        name: args.district_name.trim().to_string(),
    };
    // Root and admin in one transaction, on either backend.
    district
        .init_district(root.clone(), &admin, now_ms())
        .map_err(plain)?;
    audit(
        &*district,
        json!({"init": {"district": root.code, "name": root.name, "admin": args.admin}}),
    )?;
    let data = args.data.flag();
    println!("district {} ({}) created ({data})", root.name, root.code);
    if generated {
        println!(
            "admin {:?}, console password (shown once): {password}",
            args.admin
        );
    } else {
        println!("admin {:?}, with the password you gave", args.admin);
    }
    println!(
        "\nnext:
  1. start the server:   gridwalk-server serve {data} --addr 0.0.0.0:8080
  2. open the console:   http://<server>:8080/console/ and sign in as {admin}
  3. areas (区域管理):    streets, communities, grids, then the buildings sheet — or here:
       gridwalk-server area add-street    {data} --code {prefix}001000 --name …
       gridwalk-server area add-community {data} --code {prefix}001001 --street {prefix}001000 --name …
       gridwalk-server area add-grid      {data} --community {prefix}001001
       gridwalk-server area buildings     {data} --file buildings.xlsx
  4. import the ledger (台账导入) with a dry run first, then create the grid workers and
     their enrollment codes (用户与设备); each worker enrolls their device with the code.",
        admin = args.admin,
        prefix = &root.code[..6.min(root.code.len())],
    );
    Ok(())
}

pub fn run(cmd: AreaCmd) -> Result<()> {
    match cmd {
        AreaCmd::Show { data, json } => {
            let tree = open(&data)?.area_tree()?.unwrap_or_default();
            if json {
                println!("{}", serde_json::to_string_pretty(&tree)?);
            } else {
                print_tree(&tree);
            }
        }
        AreaCmd::AddStreet { data, code, name } => {
            let edit = AreaEdit::Street(Street { code, name });
            edit_one(&data, edit)?;
        }
        AreaCmd::AddCommunity {
            data,
            code,
            name,
            street,
        } => {
            let edit = AreaEdit::Community(Community {
                code,
                name,
                street_code: street,
            });
            edit_one(&data, edit)?;
        }
        AreaCmd::AddGrid {
            data,
            community,
            number,
            name,
        } => {
            let edit = AreaEdit::Grid(Grid {
                id: String::new(),
                community_code: community.clone(),
                number: number.unwrap_or(0),
                name: name.unwrap_or_default(),
            });
            let before = open(&data)?.area_tree()?.unwrap_or_default();
            let tree = edit_one(&data, edit)?;
            if let Some(g) = tree.grids.iter().find(|g| before.grid(&g.id).is_none()) {
                println!("grid id {}  code {}", g.id, g.grid_code());
            }
        }
        AreaCmd::Rename { data, target, name } => {
            let tree = open(&data)?.area_tree()?.unwrap_or_default();
            let edit = tree
                .rename(&target, &name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            edit_one(&data, edit)?;
        }
        AreaCmd::Buildings {
            data,
            file,
            dry_run,
        } => {
            let district = open(&data)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let answer = import_buildings_blocking(&*district, &bytes, &name, dry_run)?;
            let problems = answer["problems"].as_array().cloned().unwrap_or_default();
            for p in &problems {
                println!(
                    "row {:>4}  {:<3} {} / {}",
                    p["row"].as_u64().unwrap_or(0),
                    p["column"].as_str().unwrap_or(""),
                    p["message_zh"].as_str().unwrap_or(""),
                    p["message_en"].as_str().unwrap_or("")
                );
            }
            if !problems.is_empty() {
                bail!(
                    "{} problems in {}: nothing applied / 表中有 {} 处问题，未做任何修改",
                    problems.len(),
                    name,
                    problems.len()
                );
            }
            if answer["applied"] == true {
                audit(
                    &*district,
                    json!({"buildings_imported": answer["buildings"], "file_name": name}),
                )?;
                println!("{} buildings applied", answer["buildings"]);
            } else {
                println!(
                    "{} buildings checked, none applied (dry run)",
                    answer["buildings"]
                );
            }
        }
    }
    Ok(())
}

/// Apply one edit through the store (ids and numbers filled there), audited; prints it.
fn edit_one(data: &DataArg, edit: AreaEdit) -> Result<AreaTree> {
    let district = open(data)?;
    let current = district.area_tree()?.unwrap_or_default();
    let edit = current.complete(edit, || uuid::Uuid::now_v7().to_string());
    let what = edit.describe();
    let tree = district.edit_area(edit, now_ms()).map_err(plain)?;
    audit(&*district, json!({"edit": what}))?;
    println!("saved: {what}");
    Ok(tree)
}

fn print_tree(t: &AreaTree) {
    if !t.has_district() {
        println!("no district yet: run gridwalk-server init");
        return;
    }
    println!("{} {}", t.district.name, t.district.code);
    for s in &t.streets {
        println!("  {} {}", s.name, s.code);
        for c in t.communities_of_street(&s.code) {
            println!("    {} {}", c.name, c.code);
            for g in t.grids_of_community(&c.code) {
                println!("      {} {}  id {}", g.name, g.grid_code(), g.id);
                for b in t.buildings_of_grid(&g.id) {
                    println!(
                        "        {} {}  {}×{}×{}",
                        b.number, b.name, b.units, b.floors, b.rooms_per_floor
                    );
                }
            }
        }
    }
}
