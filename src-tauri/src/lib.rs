//! Gridwalk's grid worker app: the Tauri shell. Thin commands (`commands::*`) over
//! `gridwalk-core` and `gridwalk-store`; one store connection behind a mutex for the UI,
//! and a background sync thread with its own (see [`sync_worker`]).
//!
//! Shared by desktop and mobile: nothing here may use a desktop-only API. The mobile
//! entry point is [`run`].

pub mod commands;
pub mod dto;
pub mod error;
pub mod keystore;
pub mod local;
pub mod mask;
pub mod pin;
pub mod queries;
pub mod state;
pub mod sync_worker;

use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tauri::{Emitter, Manager};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// When this process started (first call of [`run`]).
pub fn process_start() -> Instant {
    *STARTED.get_or_init(Instant::now)
}

struct TauriEvents(tauri::AppHandle);

impl sync_worker::SyncEvents for TauriEvents {
    fn state(&self, state: &dto::SyncState) {
        let _ = self.0.emit("sync-state", state);
    }
    fn data_changed(&self) {
        let _ = self.0.emit("data-changed", ());
    }
    fn revoked(&self) {
        let _ = self.0.emit("device-revoked", ());
    }
}

fn sync_interval() -> Duration {
    let secs = std::env::var("GRIDWALK_SYNC_INTERVAL_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(120);
    Duration::from_secs(secs)
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    process_start();
    tauri::Builder::default()
        .setup(|app| {
            let args: Vec<String> = std::env::args().collect();
            let platform = app.path().app_data_dir().ok();
            let dir =
                state::resolve_data_dir(&args, std::env::var("GRIDWALK_DATA_DIR").ok(), platform)
                    .ok_or("no data directory: set GRIDWALK_DATA_DIR")?;
            let device = state::DeviceStore::open(&dir, Box::new(keystore::OsSecretStore))
                .map_err(|e| e.to_string())?;
            let sync = sync_worker::start(
                device.clone(),
                sync_interval(),
                TauriEvents(app.handle().clone()),
            );
            app.manage(state::AppState::new(device, sync));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::enroll::enroll,
            commands::sync::get_status,
            commands::sync::sync_now,
            commands::sync::get_reference,
            commands::sync::perf_mark,
            commands::households::search_households,
            commands::households::list_buildings,
            commands::household::get_household,
            commands::household::update_household,
            commands::household::add_member,
            commands::household::update_member,
            commands::household::resolve_conflict,
            commands::visits::create_visit,
            commands::visits::get_today,
            commands::issues::report_issue,
            commands::issues::list_issues,
            commands::issues::get_issue,
            commands::issues::add_issue_event,
            commands::photos::take_photo,
            commands::photos::get_photo,
            commands::photos::photo_storage,
            commands::photos::free_photo_space,
            commands::privacy::reveal_pii,
            commands::privacy::list_reveals,
            commands::privacy::save_draft,
            commands::privacy::load_draft,
            commands::privacy::clear_draft,
            commands::lock::lock_status,
            commands::lock::unlock,
            commands::lock::set_pin,
            commands::lock::remove_pin,
            commands::lock::set_lock_minutes,
            commands::lock::lock_now,
            commands::lock::app_hidden,
            commands::lock::app_visible,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Gridwalk app");
}
