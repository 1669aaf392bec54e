//! First run: enroll this device with a code from the district, then the first sync
//! downloads the grid (progress comes as `sync-state` events).

use crate::dto::{EnrollInput, Status};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use tauri::State;

#[tauri::command]
pub async fn enroll(state: State<'_, AppState>, input: EnrollInput) -> AppResult<Status> {
    let server = input.server_url.trim().to_string();
    let code = input.code.trim().to_string();
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(AppError::field(
            "server_url",
            "BadChars",
            "the server address must start with http:// or https://",
        ));
    }
    if code.is_empty() {
        return Err(AppError::field(
            "code",
            "Required",
            "enter the enrollment code",
        ));
    }
    let name = if input.device_name.trim().is_empty() {
        "gridwalk-app".to_string()
    } else {
        input.device_name.trim().to_string()
    };
    // The blocking HTTP client must not run on the async runtime: its own thread, its own
    // connection (SQLite serialises it with the UI's).
    let device = state.device.clone();
    let result = tauri::async_runtime::spawn_blocking(move || {
        std::thread::spawn(move || -> AppResult<()> {
            let mut store = device.connect()?;
            gridwalk_client::enroll(&mut store, &server, &code, &name)?;
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| {
            Err(AppError::Storage {
                message: "enrollment thread panicked".into(),
            })
        })
    })
    .await
    .map_err(|e| AppError::Storage {
        message: e.to_string(),
    })?;
    result?;
    state.sync.request();
    crate::commands::sync::status_of(&state)
}
