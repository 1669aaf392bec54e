//! The app PIN and its lock screen (`crate::pin`). These commands work while the app is
//! locked: they take the store directly, never through `AppState::store`.

use super::now_ms;
use crate::dto::LockStatus;
use crate::error::AppResult;
use crate::pin;
use crate::state::AppState;
use tauri::State;

/// Milliseconds on a clock that only moves forward (time in the background).
fn mono_ms() -> i64 {
    crate::process_start().elapsed().as_millis() as i64
}

fn status(state: &AppState) -> AppResult<LockStatus> {
    let store = state.device.store();
    let lock = state.device.lock();
    pin::status(&store, &lock, now_ms())
}

#[tauri::command]
pub fn lock_status(state: State<'_, AppState>) -> AppResult<LockStatus> {
    status(&state)
}

#[tauri::command]
pub fn unlock(state: State<'_, AppState>, pin: String) -> AppResult<LockStatus> {
    {
        let mut store = state.device.store();
        let mut lock = state.device.lock();
        pin::unlock(&mut store, &mut lock, &pin, now_ms())?;
    }
    status(&state)
}

/// Set or change the PIN. Only from an unlocked app.
#[tauri::command]
pub fn set_pin(
    state: State<'_, AppState>,
    current: Option<String>,
    pin: String,
) -> AppResult<LockStatus> {
    {
        let mut store = state.store()?;
        pin::set_pin(&mut store, current.as_deref(), &pin, now_ms())?;
    }
    status(&state)
}

#[tauri::command]
pub fn remove_pin(state: State<'_, AppState>, current: String) -> AppResult<LockStatus> {
    {
        let mut store = state.store()?;
        let mut lock = state.device.lock();
        pin::remove_pin(&mut store, &mut lock, &current, now_ms())?;
    }
    status(&state)
}

#[tauri::command]
pub fn set_lock_minutes(state: State<'_, AppState>, minutes: u32) -> AppResult<LockStatus> {
    pin::set_lock_minutes(&mut *state.store()?, minutes)?;
    status(&state)
}

#[tauri::command]
pub fn lock_now(state: State<'_, AppState>) -> AppResult<LockStatus> {
    {
        let store = state.device.store();
        pin::lock_now(&store, &mut state.device.lock())?;
    }
    status(&state)
}

/// The window went to the background (`document.visibilitychange`).
#[tauri::command]
pub fn app_hidden(state: State<'_, AppState>) {
    pin::hidden(&mut state.device.lock(), mono_ms());
}

/// The window came back: locked if it was away the chosen minutes.
#[tauri::command]
pub fn app_visible(state: State<'_, AppState>) -> AppResult<LockStatus> {
    {
        let store = state.device.store();
        pin::visible(&store, &mut state.device.lock(), mono_ms())?;
    }
    status(&state)
}
