//! Errors: [`ServerError`] for starting and running the server, [`ApiError`] for what a
//! client is told. Every API error is JSON `{"error": "<code>", "message": "<sentence>"}`;
//! details that could leak internals (SQL, paths) go to the log, never to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridwalk_core::sync::CodecError;
use gridwalk_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("district store: {0}")]
    Store(#[from] StoreError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("server task failed: {0}")]
    Task(String),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    /// `store copy` refused, stopped or found the copy unequal to its source.
    #[error("{0}")]
    Copy(String),
}

/// The server's own message when there is one (the driver's `Display` says "db error").
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.to_string(),
        None => e.to_string(),
    }
}

/// The machine-readable code of an API error; also the `code` label of
/// `gridwalk_sync_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    UnsupportedProtocol,
    PayloadTooLarge,
    Unauthorized,
    DeviceRevoked,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    TooManyRequests,
    /// The feature is not on this server's store yet (PostgreSQL).
    NotAvailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthorized,
        ErrorCode::DeviceRevoked,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::TooManyRequests,
        ErrorCode::NotAvailable,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnsupportedProtocol => "unsupported_protocol",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::DeviceRevoked => "device_revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::NotAvailable => "not_available",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::UnsupportedProtocol => StatusCode::BAD_REQUEST,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized | ErrorCode::DeviceRevoked => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotAvailable => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn index(self) -> usize {
        ErrorCode::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    /// A clear sentence, safe to show to the user.
    pub message: String,
    /// The device must wipe its local data (its token was revoked).
    pub wipe: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            wipe: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unauthorized, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "the server hit an internal error; the request was not completed, try again later",
        )
    }

    pub fn too_large(limit: usize, what: &str) -> ApiError {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the {what} exceeds the limit of {limit} bytes; push fewer changes per sync"),
        )
    }

    /// A store error as the client should see it; internals are logged, not sent.
    pub fn from_store(e: StoreError) -> ApiError {
        match e {
            StoreError::Unauthorized(msg) => ApiError::unauthorized(msg),
            StoreError::Revoked { device_id } => {
                tracing::info!(%device_id, "revoked device refused");
                ApiError {
                    code: ErrorCode::DeviceRevoked,
                    message: "this device has been revoked; its local data must be wiped".into(),
                    wipe: true,
                }
            }
            StoreError::Forbidden { doc_id, grid_id } => {
                let message = if doc_id.is_empty() {
                    format!("grid {grid_id} is outside this device's scope; nothing was stored")
                } else {
                    format!(
                        "document {doc_id} belongs to grid {grid_id}, outside this device's \
                         scope; nothing of this sync was stored"
                    )
                };
                ApiError::new(ErrorCode::Forbidden, message)
            }
            StoreError::Denied(f) => ApiError::new(ErrorCode::Forbidden, f.to_string()),
            StoreError::BadRequest(msg) => ApiError::bad_request(msg),
            e @ StoreError::NotOnPostgres(_) => {
                ApiError::new(ErrorCode::NotAvailable, e.to_string())
            }
            StoreError::Invalid(errors) => ApiError::bad_request(errors.to_string()),
            StoreError::NotFound { doc_id } => {
                ApiError::new(ErrorCode::NotFound, format!("document {doc_id} not found"))
            }
            StoreError::WrongKind {
                doc_id,
                stored,
                requested,
            } => ApiError::bad_request(format!(
                "document {doc_id} is a {stored}, not a {requested}"
            )),
            other => {
                tracing::error!(error = %other, "district store failed");
                ApiError::internal()
            }
        }
    }

    /// A sync body that could not be decoded, said plainly.
    pub fn from_codec(e: CodecError, body: &[u8]) -> ApiError {
        const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
        match e {
            CodecError::TooLarge { limit } => ApiError::too_large(limit, "decompressed body"),
            CodecError::Version { got, supported } => ApiError::new(
                ErrorCode::UnsupportedProtocol,
                format!(
                    "the body is not a protocol version {supported} sync request (it names \
                     version {got}); this server speaks version {supported}: update the app"
                ),
            ),
            CodecError::Compression { .. } if body.is_empty() => {
                ApiError::bad_request("the body is empty; expected a zstd-compressed sync request")
            }
            CodecError::Compression { .. } if !body.starts_with(&ZSTD_MAGIC) => {
                ApiError::bad_request("the body is not zstd-compressed")
            }
            CodecError::Compression { offset, reason } => ApiError::bad_request(format!(
                "the body is truncated or corrupt zstd (after {offset} decompressed bytes: \
                 {reason})"
            )),
            CodecError::Decode(reason) => ApiError::bad_request(format!(
                "不是有效的同步消息 / the body is not a valid sync message (truncated or \
                 malformed: {reason})"
            )),
            CodecError::TrailingBytes { extra } => ApiError::bad_request(format!(
                "不是有效的同步消息 / the body is not a valid sync message: {extra} bytes \
                 follow its zstd frame"
            )),
        }
    }
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    wipe: bool,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.as_str(),
            message: &self.message,
            wipe: self.wipe,
        };
        (self.code.status(), Json(body)).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::from_store(e)
    }
}
