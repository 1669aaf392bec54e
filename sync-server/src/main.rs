//! `gridwalk-server`: serve the district, and manage users, enrollment codes and devices
//! from the command line until the admin console exists.

mod area_cmd;
mod demo_cmd;
mod export_cmd;
mod import_cmd;
mod store_cmd;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gridwalk_district_postgres::PgDistrict;
use gridwalk_district_sqlite::{ConsoleBackend, NewUser, SqliteDistrict};
use gridwalk_server::{now_ms, open_district, serve, FileConfig, ServerConfig};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "gridwalk-server",
    version,
    about = "Gridwalk district sync server"
)]
struct Cli {
    /// Log format (logs go to stderr; filter with RUST_LOG).
    #[arg(long, global = true, env = "GRIDWALK_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// A new district from an empty data directory: the district root and its first admin.
    Init(area_cmd::InitArgs),
    /// The area tree: show it; add streets, communities, grids; rename; buildings sheet.
    Area {
        #[command(subcommand)]
        cmd: area_cmd::AreaCmd,
    },
    /// Serve the district store over HTTP(S) until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Manage users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Create a one-time enrollment code for a user's new device.
    EnrollCode(EnrollCodeArgs),
    /// List or revoke devices.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Load the demo district (area tree, users, households, visits, issues).
    Demo(DemoArgs),
    /// Console passwords.
    Password {
        #[command(subcommand)]
        cmd: PasswordCmd,
    },
    /// Export the household ledger (CSV, XLSX or GeoJSON; masked unless an admin gives a
    /// reason); every export is recorded in the audit log.
    Export(export_cmd::ExportArgs),
    /// Import a household ledger (XLSX or CSV): a dry run reports every bad row; then all
    /// or nothing, or only the valid households. Run as an admin (audited).
    Import(import_cmd::ImportArgs),
    /// Move the district between the embedded store and PostgreSQL (`store copy`).
    Store {
        #[command(subcommand)]
        cmd: store_cmd::StoreCmd,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Data directory (holds district.sqlite; created if missing).
    #[arg(long, env = "GRIDWALK_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "GRIDWALK_ADDR")]
    addr: Option<String>,
    /// TOML config file with the same keys (flags and environment win over it).
    #[arg(long, env = "GRIDWALK_CONFIG")]
    config: Option<PathBuf>,
    /// Largest request body as sent, in bytes [default: 16 MiB].
    #[arg(long, env = "GRIDWALK_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Largest sync request once decompressed, in bytes [default: 64 MiB].
    #[arg(long, env = "GRIDWALK_MAX_DECODED_BYTES")]
    max_decoded_bytes: Option<usize>,
    /// Bearer token of the admin API (at least 16 characters); unset disables it.
    #[arg(long, env = "GRIDWALK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Bearer token of `/metrics` (at least 16 characters); unset: `/metrics` is not served.
    #[arg(long, env = "GRIDWALK_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Enrollment attempts per minute from one client address [default: 10].
    #[arg(long, env = "GRIDWALK_ENROLL_PER_MINUTE")]
    enroll_per_minute: Option<u32>,
    /// Console sign-in attempts per minute from one client address [default: 30].
    #[arg(long, env = "GRIDWALK_LOGIN_PER_MINUTE")]
    login_per_minute: Option<u32>,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, env = "GRIDWALK_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "GRIDWALK_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// The district store on PostgreSQL (`postgres://user@host/db`) instead of the SQLite
    /// file in --data. Several servers may serve one database.
    #[arg(
        long = "database",
        env = "GRIDWALK_DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// Load the demo district on first start (when the store is empty) and print its
    /// users and an enrollment code for the first worker.
    #[arg(long)]
    demo: bool,
    /// Households in the demo district.
    #[arg(long, default_value_t = 1600)]
    demo_households: usize,
}

#[derive(Args)]
struct DataArg {
    /// Data directory (holds district.sqlite).
    #[arg(long, env = "GRIDWALK_DATA", required_unless_present = "database")]
    data: Option<PathBuf>,
    /// The district on PostgreSQL instead (`postgres://user@host/db`). On PostgreSQL so
    /// far: every command (`store copy` moves a district there).
    #[arg(long, env = "GRIDWALK_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
}

impl DataArg {
    /// The SQLite district, or a clear refusal when the command was pointed at PostgreSQL.
    fn sqlite(&self, what: &str) -> Result<SqliteDistrict> {
        if self.database.is_some() {
            bail!("{what} is not available on PostgreSQL yet / PostgreSQL 暂不支持此命令");
        }
        let data = self.data.as_deref().context("--data DIR is needed")?;
        open(data)
    }

    /// The district's console half on either backend (users, passwords, audit).
    fn console(&self, what: &str) -> Result<Box<dyn CliStore>> {
        Ok(match self.postgres()? {
            Some(pg) => Box::new(pg),
            None => Box::new(self.sqlite(what)?),
        })
    }

    /// The PostgreSQL district when `--database` is given.
    fn postgres(&self) -> Result<Option<PgDistrict>> {
        self.database
            .as_deref()
            .map(|url| {
                PgDistrict::open(url, 2).with_context(|| {
                    format!(
                        "cannot open the district in {}",
                        gridwalk_district_postgres::redact(url)
                    )
                })
            })
            .transpose()
    }
}

/// What the user, password and demo commands need of a district, on either backend.
trait CliStore: ConsoleBackend {
    fn create_console_user(&self, user: &NewUser, now_ms: i64) -> gridwalk_store::Result<String>;
    /// Nothing put into the store yet: no user, no document.
    fn holds_nothing(&self) -> gridwalk_store::Result<bool>;
}

impl CliStore for SqliteDistrict {
    fn create_console_user(&self, user: &NewUser, now_ms: i64) -> gridwalk_store::Result<String> {
        self.create_user(user, now_ms)
    }
    fn holds_nothing(&self) -> gridwalk_store::Result<bool> {
        Ok(self.stats()?.is_empty())
    }
}

impl CliStore for PgDistrict {
    fn create_console_user(&self, user: &NewUser, now_ms: i64) -> gridwalk_store::Result<String> {
        self.create_user(user, now_ms)
    }
    fn holds_nothing(&self) -> gridwalk_store::Result<bool> {
        self.is_empty()
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    Worker,
    Supervisor,
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user with the grids their devices may sync.
    Add {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// A grid id in the user's scope (repeat for several).
        #[arg(long = "grid")]
        grids: Vec<String>,
        /// A community or street code in a supervisor's console scope (repeat).
        #[arg(long = "area")]
        areas: Vec<String>,
        /// Console password (supervisors and admins; at least 8 characters).
        #[arg(long, env = "GRIDWALK_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Grant a supervisor key-person data (重点人员), or take it back with --revoke.
    /// Admins always hold it; grid workers never do.
    KeyPersons {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        username: String,
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Subcommand)]
enum PasswordCmd {
    /// Set (or replace) the console password of a user.
    Set {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        username: String,
        /// The new password (at least 8 characters); read from GRIDWALK_PASSWORD if unset.
        #[arg(long, env = "GRIDWALK_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Args)]
struct EnrollCodeArgs {
    #[command(flatten)]
    data: DataArg,
    #[arg(long)]
    username: String,
    /// Hours the code stays valid.
    #[arg(long, default_value_t = 72)]
    ttl_hours: i64,
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Every enrolled device, revoked ones included.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a device: its token is refused from its next request on.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// Device id.
        id: String,
    },
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    data: DataArg,
    #[arg(long, default_value_t = 1600)]
    households: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Serve(args) => run_serve(args, cli.log_format),
        cmd => {
            init_logging(cli.log_format.unwrap_or(LogFormat::Text), "warn");
            run_admin(cmd)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn run_serve(args: ServeArgs, log_format: Option<LogFormat>) -> Result<()> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let format = match (log_format, file.log_format.as_deref()) {
        (Some(f), _) => f,
        (None, None | Some("text")) => LogFormat::Text,
        (None, Some("json")) => LogFormat::Json,
        (None, Some(other)) => bail!("log_format must be text or json, not {other:?}"),
    };
    init_logging(format, "info");
    let over = FileConfig {
        data: args.data,
        addr: args.addr,
        max_body_bytes: args.max_body_bytes,
        max_decoded_bytes: args.max_decoded_bytes,
        admin_token: args.admin_token,
        metrics_token: args.metrics_token,
        enroll_per_minute: args.enroll_per_minute,
        login_per_minute: args.login_per_minute,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        database_url: args.database,
        log_format: None,
    };
    let config = ServerConfig::resolve(&over, &file)?;
    if args.demo {
        // Loaded before serving, on whichever backend the server is about to use; the
        // connection is closed again before the server opens its own.
        let district: Box<dyn CliStore> = match &config.database_url {
            Some(url) => Box::new(PgDistrict::open(url, 2).with_context(|| {
                format!(
                    "cannot open the district in {}",
                    gridwalk_district_postgres::redact(url)
                )
            })?),
            None => Box::new(open_district(&config.data_dir)?),
        };
        demo_cmd::on_first_start(&*district, args.demo_households)?;
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(serve(config))?;
    Ok(())
}

fn open(data: &Path) -> Result<SqliteDistrict> {
    open_district(data).with_context(|| format!("cannot open the store in {}", data.display()))
}

fn run_admin(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Serve(_) => unreachable!("handled by run_serve"),
        Cmd::Init(args) => area_cmd::init(args)?,
        Cmd::Area { cmd } => area_cmd::run(cmd)?,
        Cmd::User {
            cmd:
                UserCmd::Add {
                    data,
                    username,
                    name,
                    role,
                    grids,
                    areas,
                    password,
                },
        } => {
            let user = NewUser {
                username: username.clone(),
                display_name: name,
                role: role.as_str().into(),
                grids,
            };
            let district = data.console("user add")?;
            let id = district.create_console_user(&user, now_ms())?;
            for a in &areas {
                district.add_user_area(&id, a)?;
            }
            if let Some(p) = password {
                district.set_password(&username, &p)?;
            }
            println!("{id}");
        }
        Cmd::User {
            cmd:
                UserCmd::KeyPersons {
                    data,
                    username,
                    revoke,
                },
        } => {
            let district = data.console("user key-persons")?;
            let Some(user) = district.credentials(&username)? else {
                bail!("no user named {username:?}");
            };
            district.set_key_person_grant(&user.user_id, !revoke)?;
            district.audit_append(&gridwalk_district_sqlite::AuditEntry {
                id: 0,
                at: now_ms(),
                user_id: "(server cli)".into(),
                username: "gridwalk-server".into(),
                role: "operator".into(),
                kind: gridwalk_district_sqlite::AuditKind::UserChanged,
                detail: serde_json::json!({"user_id": user.user_id, "key_persons": !revoke}),
            })?;
            let what = if revoke {
                "taken back from"
            } else {
                "granted to"
            };
            println!("key-person data {what} {username}");
        }
        Cmd::Password {
            cmd:
                PasswordCmd::Set {
                    data,
                    username,
                    password,
                },
        } => {
            let district = data.console("password set")?;
            district.set_password(&username, &password)?;
            println!("password set for {username}");
        }
        Cmd::EnrollCode(args) => {
            if args.ttl_hours <= 0 || args.ttl_hours > 24 * 90 {
                bail!("--ttl-hours must be between 1 and 2160");
            }
            let ttl_ms = args.ttl_hours * 3_600_000;
            let (user, code) = if let Some(pg) = args.data.postgres()? {
                let Some(user) = pg.user_by_name(&args.username)? else {
                    bail!("no user named {:?}", args.username);
                };
                let code = pg.create_enrollment(&user.0, ttl_ms, now_ms())?;
                (user, code)
            } else {
                let district = args.data.sqlite("enroll-code")?;
                let Some(user) = district.user_by_name(&args.username)? else {
                    bail!("no user named {:?}", args.username);
                };
                let code = district.create_enrollment(&user.user_id, ttl_ms, now_ms())?;
                ((user.user_id, user.username, user.display_name), code)
            };
            eprintln!(
                "one-time enrollment code for {} ({}), valid {} h:",
                user.1, user.2, args.ttl_hours
            );
            println!("{code}");
        }
        Cmd::Device {
            cmd: DeviceCmd::List { data },
        } => {
            let devices = data.console("device list")?.devices()?;
            println!(
                "{:<36}  {:<36}  {:<20}  {:<8}  last sync (ms)",
                "device", "user", "name", "status"
            );
            for d in devices {
                println!(
                    "{:<36}  {:<36}  {:<20}  {:<8}  {}",
                    d.device_id,
                    d.user_id,
                    d.name,
                    if d.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    d.last_sync_at.map(|t| t.to_string()).unwrap_or("-".into())
                );
            }
        }
        Cmd::Device {
            cmd: DeviceCmd::Revoke { data, id },
        } => {
            let district = data.console("device revoke")?;
            if district.revoke_device(&id, now_ms())? {
                // The console audits as the signed-in admin; the server's own CLI as itself.
                district.audit_append(&gridwalk_district_sqlite::AuditEntry {
                    id: 0,
                    at: now_ms(),
                    user_id: "(server cli)".into(),
                    username: "gridwalk-server".into(),
                    role: "operator".into(),
                    kind: gridwalk_district_sqlite::AuditKind::DeviceRevoked,
                    detail: serde_json::json!({"device_id": id}),
                })?;
                println!("device {id} revoked");
            } else if district.devices()?.iter().any(|d| d.device_id == id) {
                println!("device {id} was already revoked");
            } else {
                bail!("no device {id}");
            }
        }
        Cmd::Export(args) => {
            let district = args.data.console("export")?;
            export_cmd::run(&*district, args)?;
        }
        Cmd::Import(args) => {
            let district = args.data.console("import")?;
            import_cmd::run(&*district, args)?;
        }
        Cmd::Store { cmd } => store_cmd::run(cmd)?,
        Cmd::Demo(args) => {
            let district = args.data.console("demo")?;
            demo_cmd::run(&*district, args.seed, args.households)?;
        }
    }
    Ok(())
}
