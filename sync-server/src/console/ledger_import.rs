//! Ledger import from the console: the admin uploads an XLSX or CSV; a dry run answers
//! the report (every bad row with its row number, column and reason); an import is all
//! or nothing, or only the valid households. Every run and its report is kept, and an
//! import is written to the audit log.

use super::admin::admin_session;
use super::*;
use axum::body::Bytes;
use gridwalk_core::ledger::import::reimport::{reconcile, Reimport};
use gridwalk_core::ledger::{
    plan_import_sheets, sheets_with_header, ColumnMapping, ImportContext, ImportPlan,
    IMPORT_COLUMNS,
};
use gridwalk_district_sqlite::{
    AuditEntry, AuditKind, ConsoleBackend, ImportRun, ImportWritten, NewImported,
};

#[derive(Deserialize)]
pub(super) struct ImportQ {
    file_name: String,
    /// `dry_run` (default), `all_or_nothing` or `valid_only`.
    mode: Option<String>,
    /// The admin's column mapping, JSON `{"<column index>": "<column>" | null}`; columns it
    /// does not name are recognised by their headers.
    mapping: Option<String>,
}

pub(super) async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<ImportQ>,
    body: Bytes,
) -> R<Json<Value>> {
    let scope = admin_session(&state, &headers, true).await?;
    let mode = q.mode.unwrap_or_else(|| "dry_run".into());
    if !["dry_run", "all_or_nothing", "valid_only"].contains(&mode.as_str()) {
        return Err(CErr(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("mode must be dry_run, all_or_nothing or valid_only, not {mode:?}"),
        ));
    }
    let mapping: Option<ColumnMapping> = match q.mapping.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(json_body(
            m,
            "mapping as {\"<column index>\": \"<column>\" or null}",
        )?),
    };
    let district = state.console.clone();
    let answer = run(move || {
        import_blocking(
            &*district,
            &scope,
            &q.file_name,
            &mode,
            mapping.as_ref(),
            &body,
        )
    })
    .await?;
    Ok(Json(answer))
}

fn bad(message: String) -> ConsoleError {
    ConsoleError::BadRequest(message)
}

/// Plan (and maybe import) one uploaded ledger; the run is recorded whatever the outcome.
pub fn import_blocking(
    district: &dyn ConsoleBackend,
    scope: &ConsoleScope,
    file_name: &str,
    mode: &str,
    mapping: Option<&ColumnMapping>,
    bytes: &[u8],
) -> Result<Value, ConsoleError> {
    let tables = gridwalk_ledger::read::read_tables(bytes, file_name)
        .map_err(|e| bad(format!("{file_name}: {e}")))?;
    let tree = district
        .area_tree()?
        .ok_or_else(|| bad("the district has no area tree yet: create it first".into()))?;
    let at = now_ms();
    // ID numbers already in the district are checked by the re-import's matching, which
    // knows which household each belongs to.
    let no_ids = std::collections::HashSet::new();
    let ctx = ImportContext {
        tree: &tree,
        existing_id_numbers: &no_ids,
        today: gridwalk_core::deadline::local_date(at)
            .ok_or_else(|| bad("the server clock is out of range".into()))?,
        now_ms: at,
        mapping,
    };
    let mut plan: ImportPlan = plan_import_sheets(&tables, &ctx);
    let existing = district.reimport_existing(&plan)?;
    let sheets = sheets_with_header(&tables, mapping);
    let Reimport { diff, updates } = reconcile(&sheets, &mut plan, &existing);
    drop(existing);
    let updates: Vec<_> = updates.into_iter().filter(|u| u.valid).collect();
    // The answer counts the planned households and never carries their bodies (large,
    // and full ID numbers; the preview is masked). Held-back ones are listed with rows.
    let households_total = plan.households.len();
    let valid = plan.households.iter().filter(|h| h.valid).count();
    let clean = plan.problems.is_empty();
    let written = match mode {
        "dry_run" => None,
        "all_or_nothing" if !clean => None,
        _ if valid == 0 && updates.is_empty() => Some(ImportWritten::default()),
        _ => {
            let author = author(district, scope)?;
            let new: Vec<NewImported> = (std::mem::take(&mut plan.households).into_iter())
                .filter(|h| h.valid)
                .map(|h| NewImported {
                    household: h.household,
                    grid_id: h.grid_id,
                })
                .collect();
            Some(district.import_ledger(
                &new,
                &updates,
                &scope.actor(),
                author,
                &mut uuid::Uuid::now_v7,
                at,
            )?)
        }
    };
    let imported = written.as_ref().map(|w| w.added + w.updated);
    let report = json!({
        "header_row": plan.header_row, "columns": plan.columns, "problems": plan.problems,
        "rows_total": plan.rows_total, "rows_valid": plan.rows_valid,
        "households": households_total, "valid_households": valid,
        "skipped": plan.skipped, "notices": plan.notices, "held_back": plan.held_back,
        "diff": diff, "written": written,
    });
    let run = ImportRun {
        id: 0,
        at,
        user_id: scope.user_id.clone(),
        username: scope.username.clone(),
        file_name: file_name.to_string(),
        file_sha256: sha256_hex(bytes),
        mode: mode.to_string(),
        rows_total: plan.rows_total as u64,
        rows_valid: plan.rows_valid as u64,
        problems: plan.problems.len() as u64,
        imported_households: imported,
    };
    // The report is kept as text: its tree is dropped before the answer is built (a
    // district's ledger makes both large).
    let report = report.to_string();
    let run_id = district.record_import_run(&run, &report)?;
    drop(report);
    if mode != "dry_run" {
        district.audit_append(&AuditEntry::by(
            scope,
            AuditKind::Import,
            at,
            json!({
                "run_id": run_id, "file_name": file_name, "mode": mode,
                "rows": plan.rows_total, "problems": plan.problems.len(),
                "imported_households": imported,
            }),
        ))?;
    }
    // Each column with what it was recognised as, in words.
    let columns: Vec<Value> = plan
        .columns
        .iter()
        .map(|c| {
            json!({
                "index": c.index, "letter": c.letter, "header": c.header, "column": c.column,
                "column_zh": c.column.map(|k| k.zh()), "column_en": c.column.map(|k| k.en()),
            })
        })
        .collect();
    let choices: Vec<Value> = IMPORT_COLUMNS
        .iter()
        .map(|c| json!({"code": c, "zh": c.zh(), "en": c.en()}))
        .collect();
    Ok(json!({
        "run_id": run_id,
        "column_choices": choices,
        "mode": mode,
        "imported_households": imported,
        "written": written,
        "diff": diff,
        "refused": mode == "all_or_nothing" && !clean,
        "plan": {
            "header_row": plan.header_row, "columns": columns, "preview": plan.preview,
            "rows_total": plan.rows_total, "rows_valid": plan.rows_valid,
            "problems": plan.problems,
            "households_total": households_total, "households_valid": valid,
            "skipped": plan.skipped, "notices": plan.notices, "held_back": plan.held_back,
        },
    }))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

pub(super) async fn runs(State(state): State<AppState>, headers: HeaderMap) -> R<Json<Value>> {
    admin_session(&state, &headers, false).await?;
    let district = state.console.clone();
    let runs = run(move || Ok(district.import_runs(100)?)).await?;
    Ok(Json(json!({ "items": runs })))
}

pub(super) async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> R<Response> {
    admin_session(&state, &headers, false).await?;
    let district = state.console.clone();
    let report = run(move || Ok(district.import_report(id)?)).await?;
    match report {
        Some(json) => Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response()),
        None => Err(CErr(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no import run {id}"),
        )),
    }
}
