//! Load the deterministic demo district into a district store.

use crate::error::ServerError;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district_sqlite::{ConsoleBackend, UserUpdate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The author of documents made on the server itself (imports, the demo district):
/// user 0, device "gridwalk-server".
pub const SERVER_AUTHOR: Author = Author {
    user: Uuid::from_u128(0),
    device: Uuid::from_u128(0x6772_6964_7761_6c6b_2d73_6572_7665_7200),
};

/// Documents imported per transaction: bounds memory (a loaded document is ~18 KiB).
const BATCH: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoUserSummary {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub grids: Vec<String>,
    /// False when the user existed already and was left alone.
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoSummary {
    pub users: Vec<DemoUserSummary>,
    pub streets: usize,
    pub communities: usize,
    pub grids: usize,
    pub households: usize,
    pub visits: usize,
    pub issues: usize,
    /// Documents new to the store (0 when the demo was loaded before).
    pub documents_added: usize,
}

impl DemoSummary {
    /// The first worker, whose device a demo usually enrolls.
    pub fn first_worker(&self) -> Option<&DemoUserSummary> {
        self.users.iter().find(|u| u.role == "worker")
    }
}

/// Where the parameters of the loaded demo are remembered (the store's `meta` table).
const META_KEY: &str = "demo.params";

/// The parameters to generate with: the ones given, unless a demo was loaded before with
/// the same ones but another "now" — then that one, so that loading again is a no-op
/// rather than a second district's worth of documents. Other differences are an error.
fn settled_params<D: ConsoleBackend + ?Sized>(
    district: &D,
    params: &DemoParams,
) -> Result<DemoParams, ServerError> {
    let stored = district.meta_value(META_KEY)?;
    match stored.and_then(|json| serde_json::from_str::<DemoParams>(&json).ok()) {
        Some(before) => {
            let same = DemoParams {
                now_ms: before.now_ms,
                ..params.clone()
            };
            if same != before {
                return Err(demo_err(format!(
                    "the store already holds a demo district made with other parameters \
                     ({before:?}); use an empty data directory"
                )));
            }
            Ok(before)
        }
        None => {
            let json = serde_json::to_string(params).map_err(|e| demo_err(e.to_string()))?;
            district.set_meta_value(META_KEY, &json)?;
            Ok(params.clone())
        }
    }
}

fn demo_err(msg: impl Into<String>) -> ServerError {
    ServerError::Config(format!("demo district: {}", msg.into()))
}

/// Store the demo district: its area tree, its users with their grids (a worker: the
/// worker's grid; a supervisor: the grids of the community; the admin: every grid) and
/// every household, visit and issue as a document written by [`SERVER_AUTHOR`].
/// Idempotent: users and documents that exist are left alone. Blocking. On either
/// backend.
pub fn load_demo<D: ConsoleBackend + ?Sized>(
    district: &D,
    params: &DemoParams,
    now_ms: i64,
) -> Result<DemoSummary, ServerError> {
    let params = &settled_params(district, params)?;
    let d = generate(params);
    match district.area_tree()? {
        None => {
            d.area
                .validate()
                .map_err(gridwalk_store::StoreError::from)?;
            district.update_area_tree(now_ms, &mut |_| Ok(d.area.clone()))?;
        }
        Some(existing) if existing == d.area => {}
        Some(_) => {
            return Err(demo_err(
                "the store already holds another area tree; load the demo into an empty \
                 data directory",
            ))
        }
    }
    let all_grids: Vec<String> = d.area.grids.iter().map(|g| g.id.clone()).collect();
    let existing: std::collections::HashSet<String> = district
        .user_rows()?
        .into_iter()
        .map(|u| u.username)
        .collect();
    let mut users = Vec::with_capacity(d.users.len());
    for u in &d.users {
        let grids = if u.role == "admin" {
            all_grids.clone()
        } else {
            u.grid_ids.clone()
        };
        let created = !existing.contains(&u.username);
        if created {
            let new = UserUpdate {
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: u.role.clone(),
                grids: grids.clone(),
                areas: vec![],
                password: None,
            };
            district.write_user(false, &u.id, &new, None, now_ms)?;
        }
        users.push(DemoUserSummary {
            user_id: u.id.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.clone(),
            grids,
            created,
        });
    }

    // (kind, id, grid, index into its list) for every record, households first.
    let mut added = 0;
    let households = d
        .households
        .iter()
        .map(|h| (DocKind::Household, &h.id, &h.grid_id));
    let visits = d.visits.iter().map(|v| (DocKind::Visit, &v.id, &v.grid_id));
    let issues = d.issues.iter().map(|i| (DocKind::Issue, &i.id, &i.grid_id));
    let key_persons = (d.key_persons.iter()).map(|k| (DocKind::KeyPersons, &k.id, &k.grid_id));
    let all: Vec<(DocKind, &String, &String, usize)> = households
        .enumerate()
        .map(|(i, (k, id, g))| (k, id, g, i))
        .chain(visits.enumerate().map(|(i, (k, id, g))| (k, id, g, i)))
        .chain(issues.enumerate().map(|(i, (k, id, g))| (k, id, g, i)))
        .chain(key_persons.enumerate().map(|(i, (k, id, g))| (k, id, g, i)))
        .collect();
    for chunk in all.chunks(BATCH) {
        let mut ids = Vec::with_capacity(chunk.len());
        for (kind, id, _, _) in chunk {
            let doc_id = DocId::parse(id)
                .ok_or_else(|| demo_err(format!("{kind} id {id:?} is not a UUID")))?;
            ids.push(doc_id);
        }
        let mut missing = std::collections::HashSet::new();
        for id in &ids {
            if district.doc_grid_kind(*id)?.is_none() {
                missing.insert(*id);
            }
        }
        if missing.is_empty() {
            continue;
        }
        let mut docs = Vec::with_capacity(missing.len());
        for ((kind, _, grid, index), doc_id) in chunk.iter().zip(&ids) {
            if !missing.contains(doc_id) {
                continue;
            }
            let made = match kind {
                DocKind::Household => {
                    let h = &d.households[*index];
                    Document::create(*kind, *doc_id, h, SERVER_AUTHOR, h.created_at)
                }
                DocKind::Visit => {
                    let v = &d.visits[*index];
                    Document::create(*kind, *doc_id, v, SERVER_AUTHOR, v.at)
                }
                DocKind::Issue => {
                    let i = &d.issues[*index];
                    Document::create(*kind, *doc_id, i, SERVER_AUTHOR, i.created_at)
                }
                DocKind::KeyPersons => {
                    let k = &d.key_persons[*index];
                    Document::create(*kind, *doc_id, k, SERVER_AUTHOR, now_ms)
                }
            };
            let doc = made.map_err(|e| demo_err(format!("{kind} {doc_id}: {e}")))?;
            docs.push((doc, (*grid).clone()));
        }
        added += district.import_documents(&docs, now_ms)?;
    }
    Ok(DemoSummary {
        users,
        streets: d.area.streets.len(),
        communities: d.area.communities.len(),
        grids: d.area.grids.len(),
        households: d.households.len(),
        visits: d.visits.len(),
        issues: d.issues.len(),
        documents_added: added,
    })
}
