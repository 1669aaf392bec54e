//! Limits on the server's doors: the client address of a request, per-address rate
//! limits (in the district store) for enrollment and console login, and the request body limits of
//! every route.
//!
//! The address is the TCP peer (`ConnectInfo`). Behind a reverse proxy every client has
//! the proxy's address: raise the per-minute limits there, or let the proxy limit.

use crate::config::ServerConfig;
use crate::error::{ApiError, ErrorCode};
use crate::now_ms;
use crate::routes::blocking;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gridwalk_district_sqlite::ConsoleStore;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Login, logout and the small JSON bodies of the console (filters, actions, settings).
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// A login or an enrollment: a username and password, or a code and a device name.
pub const MAX_LOGIN_BODY: usize = 8 * 1024;
/// Uploaded ledgers and buildings sheets: the ledger reader's own file limit.
pub const MAX_UPLOAD_BODY: usize = gridwalk_ledger::read::MAX_FILE_BYTES;

/// The client's IP address: the TCP peer, or 0.0.0.0 when the server was not started
/// with connection info (a router called directly in a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientAddr(ip))
    }
}

/// Attempts per minute and address, counted in the district store (a sliding window:
/// gridwalk-district's `console::lockout::rate_hit`), so that several servers on one
/// PostgreSQL database share them and a restart does not forget them.
pub struct Limiters {
    store: Arc<dyn ConsoleStore>,
    enroll_per_minute: u32,
    login_per_minute: u32,
}

impl Limiters {
    pub fn new(store: Arc<dyn ConsoleStore>, config: &ServerConfig) -> Limiters {
        Limiters {
            store,
            enroll_per_minute: config.enroll_per_minute,
            login_per_minute: config.login_per_minute,
        }
    }

    /// One enrollment attempt from `ip`; 429 past the limit.
    pub async fn enroll(&self, ip: IpAddr) -> Result<(), ApiError> {
        let n = self.enroll_per_minute;
        self.check("enroll", n, ip, "注册尝试", "enrollment attempts")
            .await
    }

    /// One console login attempt from `ip`; 429 past the limit.
    pub async fn login(&self, ip: IpAddr) -> Result<(), ApiError> {
        let n = self.login_per_minute;
        self.check("login", n, ip, "登录尝试", "sign-in attempts")
            .await
    }

    async fn check(
        &self,
        kind: &'static str,
        per_minute: u32,
        ip: IpAddr,
        zh: &str,
        en: &str,
    ) -> Result<(), ApiError> {
        let store = self.store.clone();
        let allowed = blocking(move || {
            store
                .rate_limit(kind, &ip.to_string(), per_minute, now_ms())
                .map_err(ApiError::from_store)
        })
        .await?;
        if allowed {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::TooManyRequests,
            format!(
                "{zh}过于频繁,请稍后再试 / too many {en} from this address: try again in a minute"
            ),
        ))
    }
}

/// Body-limit rejections of axum's extractors are plain text; answer them as the JSON
/// error every other refusal is.
pub async fn json_too_large(resp: Response) -> Response {
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            "请求体超过此接口的上限 / the request body exceeds this endpoint's limit",
        )
        .into_response();
    }
    resp
}
