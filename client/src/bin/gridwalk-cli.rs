//! gridwalk-cli: a device without a window. Enroll, sync, look, and edit enough to script
//! tests and to help a worker whose app is broken.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use gridwalk_client::{enroll, HttpTransport};
use gridwalk_core::model::{Household, Issue, Visit, VisitMode};
use gridwalk_core::{workflow, DocId, DocKind};
use gridwalk_store::client::SyncOptions;
use gridwalk_store::device_key::{destroy_key_file, key_file_path, load_or_create_key_file};
use gridwalk_store::encrypt::{is_plaintext, remove_store_files};
use gridwalk_store::{HouseholdQuery, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[derive(Parser)]
#[command(name = "gridwalk-cli", about = "Gridwalk device from the command line")]
struct Cli {
    /// The device's data directory: its local store, encrypted with the key in
    /// `device.key` beside it (created on first use, mode 0600).
    #[arg(long, env = "GRIDWALK_DATA", default_value = "gridwalk-device")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Exchange an enrollment code for this device's identity.
    Enroll {
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "gridwalk-cli")]
        name: String,
    },
    /// Push local changes and pull the grid's; prints a JSON report.
    Sync {
        /// Compare digests at the end and repair divergence.
        #[arg(long)]
        digest: bool,
    },
    /// Enrollment, pending changes, last sync, document counts.
    Status,
    /// List households (JSON lines); `--q` searches names, pinyin, address, phone tails.
    Households {
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print a document as JSON, with its open conflicts.
    Show { id: String },
    /// Set fields of a household: `--set notes=text`, `--set phone=138…`.
    Edit {
        id: String,
        #[arg(long = "set", value_parser = parse_kv)]
        set: Vec<(String, String)>,
    },
    /// Record a visit to a household.
    Visit {
        household: String,
        #[arg(long, default_value = "InPerson")]
        mode: String,
        #[arg(long, default_value = "")]
        findings: String,
        #[arg(long, default_value = "")]
        needs: String,
        /// A photo file to attach (JPEG, PNG, WebP); repeat for more (at most 9).
        #[arg(long = "photo")]
        photos: Vec<std::path::PathBuf>,
    },
    /// Report an issue (REPORTED).
    Report {
        #[arg(long)]
        household: Option<String>,
        #[arg(long, default_value = "other")]
        category: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A photo file to attach (JPEG, PNG, WebP); repeat for more (at most 9).
        #[arg(long = "photo")]
        photos: Vec<std::path::PathBuf>,
    },
    /// Append an event to an issue: Feedback, SelfHandle, Comment, …
    Event {
        issue: String,
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        note: String,
        /// A photo file to attach (JPEG, PNG, WebP); repeat for more (at most 9).
        #[arg(long = "photo")]
        photos: Vec<std::path::PathBuf>,
    },
    /// Resolve a conflict: `--path notes --value '"chosen"'` (JSON value).
    Resolve {
        id: String,
        #[arg(long)]
        path: String,
        #[arg(long)]
        value: String,
    },
}

/// Prepares and keeps each photo file, queued for upload; their references.
fn take_photos(
    store: &mut Store,
    files: &[std::path::PathBuf],
) -> Result<BTreeMap<String, gridwalk_core::model::PhotoRef>> {
    let mut out = BTreeMap::new();
    for (n, file) in files.iter().enumerate() {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let p = gridwalk_client::blobs::take_photo(store, &bytes, now_ms(), None)
            .with_context(|| format!("{}", file.display()))?;
        out.insert(format!("p{n}"), p);
    }
    Ok(out)
}

fn upload_photos(store: &mut Store) -> Result<gridwalk_client::blobs::UploadReport> {
    let mut client = gridwalk_client::blobs::BlobClient::from_store(store)?;
    Ok(client.upload_pending(store, &now_ms, std::time::Duration::from_secs(120))?)
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, got {s:?}"))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn doc_id(s: &str) -> Result<DocId> {
    DocId::parse(s).with_context(|| format!("{s:?} is not a document id (UUID)"))
}

fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .with_context(|| format!("{s:?} is not a valid {what}"))
}

/// Print a line on stdout. A reader that went away (`gridwalk-cli … | head`) ends the
/// program quietly with success, as `cat` does, instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, $($arg)*).and_then(|()| stdout.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }};
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    std::fs::create_dir_all(&cli.data)
        .with_context(|| format!("cannot create {}", cli.data.display()))?;
    let db = cli.data.join("device.sqlite");
    let key_path = key_file_path(&cli.data);
    let encrypted_store = std::fs::metadata(&db).is_ok_and(|m| m.len() > 0) && !is_plaintext(&db)?;
    if encrypted_store && !key_path.exists() {
        bail!(
            "the device store {} is encrypted and its key file {} is missing: its data cannot be read",
            db.display(),
            key_path.display()
        );
    }
    let (key, _) = load_or_create_key_file(&key_path)?;
    let mut store = Store::open_encrypted(&db, &key).context("open local store")?;
    drop(key);
    let author = store.device_author()?;
    match cli.command {
        Command::Enroll { server, code, name } => {
            let e = enroll(&mut store, &server, &code, &name)?;
            out!(
                "{}",
                serde_json::json!({"device_id": e.device_id, "user_id": e.user_id, "grids": e.grids})
            );
        }
        Command::Sync { digest } => {
            let mut transport = HttpTransport::from_store(&store)?;
            let options = SyncOptions {
                check_digest: digest,
                ..SyncOptions::default()
            };
            let result = store.sync(
                &mut transport,
                &options,
                now_ms(),
                &mut |p| {
                    eprintln!(
                        "round {} pulled {} of {} pending {}",
                        p.round, p.pulled_docs, p.full_pull_total, p.outbox_left
                    );
                },
                &AtomicBool::new(false),
            );
            match result {
                Ok(report) => {
                    let mut v = serde_json::to_value(&report)?;
                    v["requests"] = transport.requests.into();
                    v["bytes_up"] = transport.bytes_up.into();
                    v["bytes_down"] = transport.bytes_down.into();
                    // Photo bytes after the documents; a failure here never fails the sync.
                    match upload_photos(&mut store) {
                        Ok(r) => {
                            v["photos_uploaded"] = r.uploaded.len().into();
                            v["photos_pending"] = r.pending.into();
                            v["photos_refused"] = r.last_refusal.into();
                        }
                        Err(e) => v["photos_error"] = e.to_string().into(),
                    }
                    out!("{v}");
                }
                Err(gridwalk_store::StoreError::Revoked { .. }) => {
                    // Crypto-erase: the key first (a copy of the files is noise without
                    // it), then the files.
                    destroy_key_file(&key_path)?;
                    drop(store);
                    remove_store_files(&db)?;
                    bail!("this device was revoked by the district; its local data has been wiped");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Status => {
            let ids = store.doc_ids()?;
            let count = |k: DocKind| ids.iter().filter(|(_, kind, _)| *kind == k).count();
            out!(
                "{}",
                serde_json::json!({
                    "enrolled": author.is_some(),
                    "server": store.meta_get("server.url")?,
                    "grids": store.sync_grids()?,
                    "pending_changes": store.outbox_len()?,
                    "last_sync_at": store.last_sync_at()?,
                    "households": count(DocKind::Household),
                    "visits": count(DocKind::Visit),
                    "issues": count(DocKind::Issue),
                    "rejected": store.push_rejections()?,
                })
            );
        }
        Command::Households { q, limit } => {
            let page = store.search_households(&HouseholdQuery {
                text: q,
                limit,
                ..Default::default()
            })?;
            for row in page.items {
                out!("{}", serde_json::to_string(&row)?);
            }
        }
        Command::Show { id } => {
            let doc = store.load(doc_id(&id)?)?;
            out!(
                "{}",
                serde_json::json!({"kind": doc.kind, "doc": doc.to_json(), "conflicts": doc.conflicts()})
            );
        }
        Command::Edit { id, set } => {
            let author = author.context("enroll this device first")?;
            let outcome = store.edit::<Household, _>(
                DocKind::Household,
                doc_id(&id)?,
                author,
                now_ms(),
                "edit (cli)",
                |h| {
                    for (k, v) in &set {
                        match k.as_str() {
                            "notes" => h.notes = v.clone(),
                            "phone" => h.phone = Some(v.clone()).filter(|s| !s.is_empty()),
                            "room" => h.address.room = v.clone(),
                            other => {
                                return Err(gridwalk_core::CoreError::Schema(format!(
                                "cannot set {other:?} from the command line (notes, phone, room)"
                            )))
                            }
                        }
                    }
                    Ok(())
                },
            )?;
            out!("{}", serde_json::json!({"changes": outcome.changes}));
        }
        Command::Visit {
            household,
            mode,
            findings,
            needs,
            photos,
        } => {
            let author = author.context("enroll this device first")?;
            let h: Household = store.read(doc_id(&household)?)?;
            let id = DocId::new_v7();
            let visit = Visit {
                id: id.to_string(),
                household_id: h.id,
                grid_id: h.grid_id,
                worker_id: author.user.to_string(),
                device_id: author.device.to_string(),
                at: now_ms(),
                mode: parse_enum::<VisitMode>("visit mode", &mode)?,
                findings,
                needs,
                follow_up: None,
                linked_issues: BTreeMap::new(),
                photos: take_photos(&mut store, &photos)?,
                gps: None,
                review: None,
            };
            store.create_visit(&visit, author, now_ms())?;
            out!("{}", serde_json::json!({"visit_id": id.to_string()}));
        }
        Command::Report {
            household,
            category,
            title,
            description,
            photos,
        } => {
            let author = author.context("enroll this device first")?;
            let (grid_id, place) = match &household {
                Some(h) => {
                    let h: Household = store.read(doc_id(h)?)?;
                    (h.grid_id.clone(), h.address.short())
                }
                None => (
                    store.sync_grids()?.into_iter().next().context("no grid")?,
                    String::new(),
                ),
            };
            let now = now_ms();
            let mut report = workflow::new_event(
                gridwalk_core::model::EventKind::Report,
                now,
                author.user.to_string(),
                author.device.to_string(),
                "",
            );
            report.photos = take_photos(&mut store, &photos)?;
            let id = DocId::new_v7();
            let issue = Issue {
                id: id.to_string(),
                grid_id,
                category,
                title,
                description,
                place,
                household_id: household,
                reporter: None,
                urgency: gridwalk_core::model::Urgency::Normal,
                photos: BTreeMap::new(),
                gps: None,
                created_at: now,
                events: BTreeMap::from([(report.id.clone(), report)]),
            };
            store.create_issue(&issue, author, now)?;
            out!("{}", serde_json::json!({"issue_id": id.to_string()}));
        }
        Command::Event {
            issue,
            kind,
            note,
            photos,
        } => {
            let author = author.context("enroll this device first")?;
            let kind = parse_enum("event kind", &kind)?;
            let now = now_ms();
            let mut event = workflow::new_event(
                kind,
                now,
                author.user.to_string(),
                author.device.to_string(),
                note,
            );
            event.photos = take_photos(&mut store, &photos)?;
            store.edit::<Issue, _>(
                DocKind::Issue,
                doc_id(&issue)?,
                author,
                now,
                "event (cli)",
                |i| {
                    i.events.insert(event.id.clone(), event);
                    Ok(())
                },
            )?;
            let i: Issue = store.read(doc_id(&issue)?)?;
            out!("{}", serde_json::json!({"state": workflow::fold(&i).state}));
        }
        Command::Resolve { id, path, value } => {
            let author = author.context("enroll this device first")?;
            let value: serde_json::Value =
                serde_json::from_str(&value).context("--value must be JSON, e.g. '\"text\"'")?;
            let path: Vec<String> = path.split('.').map(str::to_string).collect();
            let outcome = store.resolve_conflict(doc_id(&id)?, author, now_ms(), &path, &value)?;
            out!("{}", serde_json::json!({"changes": outcome.changes}));
        }
    }
    Ok(())
}
