//! The one error type every command returns: a stable code the UI translates into words a
//! grid worker understands, the technical message, and the failing fields of a form.

use gridwalk_core::validate::{FieldError, ValidationErrors};
use gridwalk_store::StoreError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One wrong field of a form: `path` names it (`members.<person id>.phone`), `code` says
/// what is wrong (`Required`, `BadPhone`, `BadCheckDigit`, …), `message` is core's sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct FieldErrorDto {
    pub path: String,
    pub code: String,
    pub message: String,
}

impl From<&FieldError> for FieldErrorDto {
    fn from(e: &FieldError) -> Self {
        FieldErrorDto {
            path: e.path.clone(),
            code: serde_json::to_value(e.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            message: e.message.clone(),
        }
    }
}

/// Why a command failed. Serialized as `{ "code": "...", "message": "...", ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub enum AppError {
    /// The form has wrong fields; nothing was written.
    #[error("invalid input: {message}")]
    Invalid {
        message: String,
        fields: Vec<FieldErrorDto>,
    },
    /// The device has not been enrolled yet.
    #[error("not enrolled: {message}")]
    NotEnrolled { message: String },
    /// The record does not exist on this device.
    #[error("not found: {message}")]
    NotFound { message: String },
    /// The server could not be reached (no network, server down).
    #[error("offline: {message}")]
    Offline { message: String },
    /// The server's answer was cut off on the way back: the changes may be on the server
    /// already and are confirmed by the next sync (nothing is lost meanwhile).
    #[error("reply cut off: {message}")]
    ReplyCutOff { message: String },
    /// The server refused the credentials or the enrollment code.
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    /// The district revoked this device; its data has been wiped.
    #[error("revoked: {message}")]
    Revoked { message: String },
    /// The record lies outside this device's grids, or the user's role may not make
    /// this change (`path` names the field then).
    #[error("forbidden: {message}")]
    Forbidden {
        message: String,
        #[serde(default)]
        path: Option<String>,
    },
    /// The server answered with an error.
    #[error("server error: {message}")]
    Server { message: String },
    /// A sync is already running, or was cancelled.
    #[error("busy: {message}")]
    Busy { message: String },
    /// The request itself is wrong (a bad id, an unknown option).
    #[error("bad request: {message}")]
    BadRequest { message: String },
    /// The local database failed.
    #[error("storage error: {message}")]
    Storage { message: String },
    /// A photo could not be taken (HEIC, too large, damaged, not an image); nothing was
    /// kept. `reason` is a stable code (`heic`, `too_large`, …), `message` "中文 / English".
    #[error("photo: {message}")]
    Photo { reason: String, message: String },
    /// The app is locked by its PIN: nothing is read or written until it is unlocked.
    #[error("locked: {message}")]
    Locked { message: String },
    /// A wrong PIN. `wait_seconds` > 0: too many in a row, the next try must wait.
    #[error("wrong PIN: {message}")]
    PinWrong {
        message: String,
        attempts_left: u32,
        wait_seconds: u32,
    },
    /// Too many wrong PINs: the PIN is not checked until the wait is over.
    #[error("PIN wait: {message}")]
    PinWait { message: String, wait_seconds: u32 },
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::NotFound {
            message: message.into(),
        }
    }

    pub fn not_enrolled() -> AppError {
        AppError::NotEnrolled {
            message: "this device is not enrolled".into(),
        }
    }

    /// One invalid field, for checks the app makes itself.
    pub fn field(path: &str, code: &str, message: &str) -> AppError {
        AppError::Invalid {
            message: message.into(),
            fields: vec![FieldErrorDto {
                path: path.into(),
                code: code.into(),
                message: message.into(),
            }],
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Invalid {
            message: e.to_string(),
            fields: e.0.iter().map(FieldErrorDto::from).collect(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::Invalid(v) => v.into(),
            StoreError::NotFound { .. } => AppError::NotFound { message },
            StoreError::Unauthorized(m) if m.contains("not enrolled") => {
                AppError::NotEnrolled { message }
            }
            StoreError::Unauthorized(_) => AppError::Unauthorized { message },
            StoreError::Revoked { .. } => AppError::Revoked { message },
            StoreError::Forbidden { .. } => AppError::Forbidden {
                message,
                path: None,
            },
            StoreError::Denied(f) => f.into(),
            StoreError::Transport { .. } => AppError::Offline { message },
            StoreError::ReplyCutOff { .. } => AppError::ReplyCutOff { message },
            StoreError::BadRequest(_) => AppError::Server { message },
            StoreError::Cancelled => AppError::Busy { message },
            StoreError::Doc { source, .. } => match source {
                gridwalk_core::CoreError::Invalid(v) => v.into(),
                _ => AppError::Storage { message },
            },
            StoreError::Sqlite(_)
            | StoreError::Migration(_)
            | StoreError::WrongKind { .. }
            | StoreError::Export(_)
            | StoreError::Database(_)
            | StoreError::NotOnPostgres(_)
            | StoreError::WrongKey
            | StoreError::NoEncryption
            | StoreError::Key(_) => AppError::Storage { message },
        }
    }
}

impl From<gridwalk_core::authorize::Forbidden> for AppError {
    fn from(f: gridwalk_core::authorize::Forbidden) -> Self {
        AppError::Forbidden {
            message: f.message,
            path: Some(f.path).filter(|p| !p.is_empty()),
        }
    }
}

impl From<gridwalk_photo::PhotoError> for AppError {
    fn from(e: gridwalk_photo::PhotoError) -> Self {
        AppError::Photo {
            reason: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::Storage {
            message: e.to_string(),
        }
    }
}

impl From<gridwalk_core::CoreError> for AppError {
    fn from(e: gridwalk_core::CoreError) -> Self {
        match e {
            gridwalk_core::CoreError::Invalid(v) => v.into(),
            gridwalk_core::CoreError::Forbidden(f) => f.into(),
            other => AppError::Storage {
                message: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::validate::ErrorCode;

    #[test]
    fn serializes_with_code_message_and_fields() {
        let e: AppError = ValidationErrors(vec![FieldError::new(
            "members.p1.phone",
            ErrorCode::BadPhone,
            "手机号不对 / bad phone",
        )])
        .into();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "invalid");
        assert_eq!(v["fields"][0]["path"], "members.p1.phone");
        assert_eq!(v["fields"][0]["code"], "BadPhone");
        let offline: AppError = StoreError::Transport {
            retryable: true,
            message: "connection refused".into(),
        }
        .into();
        assert_eq!(serde_json::to_value(&offline).unwrap()["code"], "offline");
        let cut: AppError = StoreError::ReplyCutOff {
            message: "connection closed".into(),
        }
        .into();
        assert_eq!(serde_json::to_value(&cut).unwrap()["code"], "reply_cut_off");
    }
}
