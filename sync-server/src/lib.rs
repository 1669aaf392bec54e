//! The Gridwalk district sync server.
//!
//! An axum application over a [`DistrictStore`]: devices enroll with a one-time code,
//! then sync in one request per round (see docs/sync-protocol.md); admins read the sync
//! log and manage devices with a bearer admin token until the console exists.
//!
//! - [`router`] builds the HTTP application from an [`AppState`].
//! - [`spawn`] binds and serves in a background task (tests use `127.0.0.1:0`).
//! - [`serve`] runs until Ctrl-C or SIGTERM, then shuts down gracefully.
//! - [`load_demo`] fills a store with the deterministic demo district.

pub mod config;
pub mod console;
pub mod demo;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod routes;
mod server;
pub mod store_copy;

pub use config::{FileConfig, ServerConfig, TlsConfig};
pub use demo::{load_demo, DemoSummary, DemoUserSummary, SERVER_AUTHOR};
pub use error::{ApiError, ErrorCode, ServerError};
pub use metrics::Metrics;
pub use routes::router;
pub use server::{open_district, serve, spawn, spawn_with_state, RunningServer};

use gridwalk_district_sqlite::blobs::{BlobStore, PhotoRefs, SqliteBlobs, DEFAULT_DEVICE_QUOTA};
use gridwalk_district_sqlite::{ConsoleBackend, DistrictStore, SqliteDistrict};
use std::sync::Arc;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The district store as the sync path sees it (SQLite or PostgreSQL).
    pub store: Arc<dyn DistrictStore>,
    /// The same store when it is SQLite (tests and the embedded server's own upkeep);
    /// `None` on PostgreSQL. No route needs it: every route is on `store` or `console`.
    pub district: Option<Arc<SqliteDistrict>>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<ServerConfig>,
    /// The console's sessions, lockouts, users and audit log, on either backend.
    pub console: Arc<dyn ConsoleBackend>,
    /// Per-address rate limits (enrollment, console sign-in), in the store.
    pub limits: Arc<limits::Limiters>,
    /// Photo bytes: `blobs.sqlite` beside the district store, or the PostgreSQL database.
    pub blobs: Arc<dyn BlobStore>,
    /// Which photos the district's documents reference (the scope of blob requests).
    pub refs: Arc<dyn PhotoRefs>,
}

impl AppState {
    pub fn new(district: Arc<SqliteDistrict>, config: ServerConfig) -> AppState {
        let blobs = SqliteBlobs::beside(district.path(), DEFAULT_DEVICE_QUOTA);
        AppState {
            blobs: Arc::new(blobs),
            refs: district.clone(),
            store: district.clone(),
            console: district.clone(),
            limits: Arc::new(limits::Limiters::new(district.clone(), &config)),
            district: Some(district),
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
        }
    }
}

impl AppState {
    /// A server on the district store in PostgreSQL: sync, enrollment, the console and
    /// admin (`console`), photos in the same database.
    pub fn postgres(
        store: Arc<gridwalk_district_postgres::PgDistrict>,
        config: ServerConfig,
    ) -> AppState {
        // Photo bytes in the same database: every server on it serves every photo.
        let blobs = gridwalk_district_postgres::PgBlobs::new(&store, DEFAULT_DEVICE_QUOTA);
        AppState {
            blobs: Arc::new(blobs),
            refs: store.clone(),
            store: store.clone(),
            console: store.clone(),
            limits: Arc::new(limits::Limiters::new(store, &config)),
            district: None,
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
