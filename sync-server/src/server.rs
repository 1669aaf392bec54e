//! Binding, serving (plain HTTP or HTTPS with rustls) and graceful shutdown.

use crate::config::{ServerConfig, TlsConfig};
use crate::error::ServerError;
use crate::{router, AppState};
use gridwalk_district_sqlite::SqliteDistrict;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Connections to PostgreSQL per server process (the blocking pool runs the store calls).
const PG_CONNECTIONS: u32 = 16;

/// How long in-flight requests get to finish after a shutdown is asked for.
const GRACE: Duration = Duration::from_secs(10);

/// Open (creating if needed) the district store in `data_dir`.
pub fn open_district(data_dir: &std::path::Path) -> Result<SqliteDistrict, ServerError> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        ServerError::Config(format!(
            "cannot create data directory {}: {e}",
            data_dir.display()
        ))
    })?;
    Ok(SqliteDistrict::open(data_dir)?)
}

/// A server serving in a background task.
pub struct RunningServer {
    /// The address actually bound (the real port when asked for port 0).
    pub addr: SocketAddr,
    pub tls: bool,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// `http://addr` or `https://addr`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The SQLite district (tests); panics on a PostgreSQL server.
    pub fn district(&self) -> &Arc<SqliteDistrict> {
        self.state
            .district
            .as_ref()
            .expect("a SQLite district (this server runs on PostgreSQL)")
    }

    /// Stop accepting connections, let in-flight requests finish (up to 10 s), stop.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(GRACE + Duration::from_secs(1), &mut self.handle).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(ServerError::Task(e.to_string())),
            Err(_) => {
                self.handle.abort();
                Err(ServerError::Task("graceful shutdown timed out".into()))
            }
        }
    }

    /// Stop at once, dropping in-flight requests (like a crash, minus the process).
    pub fn abort(&self) {
        self.handle.abort();
    }

    /// Wait until the server task ends on its own (it only does on an error).
    pub async fn wait(&mut self) -> Result<(), ServerError> {
        match (&mut self.handle).await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Task(e.to_string())),
        }
    }
}

/// Open the store, bind `config.addr` and serve in a tokio task.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let state = if let Some(url) = config.database_url.clone() {
        let store = tokio::task::spawn_blocking(move || {
            gridwalk_district_postgres::PgDistrict::open(&url, PG_CONNECTIONS)
        })
        .await
        .map_err(|e| ServerError::Task(e.to_string()))??;
        AppState::postgres(Arc::new(store), config)
    } else {
        let dir = config.data_dir.clone();
        let district = tokio::task::spawn_blocking(move || open_district(&dir))
            .await
            .map_err(|e| ServerError::Task(e.to_string()))??;
        AppState::new(Arc::new(district), config)
    };
    spawn_with_state(state).await
}

/// Serve an already built state (tests that need a custom store use this).
pub async fn spawn_with_state(state: AppState) -> Result<RunningServer, ServerError> {
    let app = router(state.clone());
    // Photo blobs no document references are collected daily (after their grace period).
    crate::routes::blobs::spawn_gc(&state);
    let (tx, rx) = oneshot::channel::<()>();
    let config = state.config.clone();
    let (addr, handle, tls) = match &config.tls {
        None => {
            let listener = tokio::net::TcpListener::bind(config.addr)
                .await
                .map_err(|e| {
                    ServerError::Config(format!("cannot listen on {}: {e}", config.addr))
                })?;
            let addr = listener.local_addr()?;
            let handle = tokio::spawn(async move {
                use axum::serve::ListenerExt;
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .map_err(ServerError::Io)
            });
            (addr, handle, false)
        }
        Some(tls) => {
            let (addr, handle) = spawn_tls(tls, config.addr, app, rx).await?;
            (addr, handle, true)
        }
    };
    match &config.database_url {
        Some(url) => {
            let database = gridwalk_district_postgres::redact(url);
            tracing::info!(%addr, tls, %database, "gridwalk-server listening (PostgreSQL)");
        }
        None => {
            tracing::info!(%addr, tls, data = %config.data_dir.display(), "gridwalk-server listening")
        }
    }
    Ok(RunningServer {
        addr,
        tls,
        state,
        shutdown: Some(tx),
        handle,
    })
}

async fn spawn_tls(
    tls: &TlsConfig,
    addr: SocketAddr,
    app: axum::Router,
    rx: oneshot::Receiver<()>,
) -> Result<(SocketAddr, JoinHandle<Result<(), ServerError>>), ServerError> {
    use axum_server::tls_rustls::RustlsConfig;
    // One process-wide crypto provider (ring); a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rustls_config = RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|e| {
            ServerError::Tls(format!(
                "cannot load certificate {} and key {}: {e}",
                tls.cert.display(),
                tls.key.display()
            ))
        })?;
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| ServerError::Config(format!("cannot listen on {addr}: {e}")))?;
    std_listener.set_nonblocking(true)?;
    let local = std_listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        let _ = rx.await;
        shutdown.graceful_shutdown(Some(GRACE));
    });
    let server = axum_server::from_tcp_rustls(std_listener, rustls_config)
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .handle(handle);
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .map_err(ServerError::Io)
    });
    Ok((local, task))
}

/// Serve until Ctrl-C or SIGTERM, then shut down gracefully.
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let mut running = spawn(config).await?;
    let ended = tokio::select! {
        _ = shutdown_signal() => None,
        r = running.wait() => Some(r),
    };
    match ended {
        Some(r) => r,
        None => {
            tracing::info!("shutdown requested; finishing in-flight requests");
            running.shutdown().await
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
