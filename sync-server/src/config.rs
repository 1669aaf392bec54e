//! Server configuration: defaults, a TOML file, environment variables and flags.
//!
//! Precedence is flag > environment > file > default. Flags and environment variables are
//! merged by clap (each flag names its variable) into a [`FileConfig`]-shaped layer; the
//! file is another layer; [`ServerConfig::resolve`] lays one over the other.

use crate::error::ServerError;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// 16 MiB: the largest compressed request body accepted by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// 64 MiB: the largest request body once decompressed, by default.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Enrollment attempts per minute from one address.
pub const DEFAULT_ENROLL_PER_MINUTE: u32 = 10;
/// Console sign-in attempts per minute from one address.
pub const DEFAULT_LOGIN_PER_MINUTE: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Directory holding `district.sqlite`; created if missing. Unused with `database_url`.
    pub data_dir: PathBuf,
    /// `postgres://user@host/db`: the district store on PostgreSQL instead of the
    /// embedded SQLite file (`--database`, `GRIDWALK_DATABASE_URL`, `database_url`).
    pub database_url: Option<String>,
    pub addr: SocketAddr,
    /// Largest request body as sent (compressed); larger gets 413.
    pub max_body_bytes: usize,
    /// Largest sync request once decompressed; larger gets 413.
    pub max_decoded_bytes: usize,
    /// Bearer token for the admin API; `None` disables it (403).
    pub admin_token: Option<String>,
    /// Serve HTTPS with these files; `None` serves plain HTTP (TLS at a proxy).
    pub tls: Option<TlsConfig>,
    /// Bearer token for `/metrics`; `None`: `/metrics` is not served (404).
    pub metrics_token: Option<String>,
    /// Enrollment attempts per minute and client address; more get 429.
    pub enroll_per_minute: u32,
    /// Console sign-in attempts per minute and client address; more get 429.
    pub login_per_minute: u32,
}

impl ServerConfig {
    /// Defaults for everything but the data directory: 127.0.0.1:8080, 16 MiB bodies,
    /// 64 MiB decoded, no admin token, no TLS.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            data_dir: data_dir.into(),
            database_url: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            admin_token: None,
            tls: None,
            metrics_token: None,
            enroll_per_minute: DEFAULT_ENROLL_PER_MINUTE,
            login_per_minute: DEFAULT_LOGIN_PER_MINUTE,
        }
    }

    /// Lay `over` (flags and environment) on `file` on the defaults.
    pub fn resolve(over: &FileConfig, file: &FileConfig) -> Result<ServerConfig, ServerError> {
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        let database_url =
            pick(&over.database_url, &file.database_url).filter(|u| !u.trim().is_empty());
        let data = over.data.clone().or_else(|| file.data.clone());
        let data = match (data, &database_url) {
            (Some(d), _) => d,
            // On PostgreSQL the store needs no directory.
            (None, Some(_)) => PathBuf::new(),
            (None, None) => {
                return Err(ServerError::Config(
                    "no data directory: pass --data DIR or set `data` (or --database URL)".into(),
                ))
            }
        };
        let mut cfg = ServerConfig::new(data);
        cfg.database_url = database_url;
        if let Some(addr) = pick(&over.addr, &file.addr) {
            cfg.addr = addr
                .parse()
                .map_err(|e| ServerError::Config(format!("address {addr:?}: {e}")))?;
        }
        if let Some(n) = over.max_body_bytes.or(file.max_body_bytes) {
            cfg.max_body_bytes = n;
        }
        if let Some(n) = over.max_decoded_bytes.or(file.max_decoded_bytes) {
            cfg.max_decoded_bytes = n;
        }
        cfg.admin_token = pick(&over.admin_token, &file.admin_token).filter(|t| !t.is_empty());
        cfg.metrics_token =
            pick(&over.metrics_token, &file.metrics_token).filter(|t| !t.is_empty());
        if let Some(n) = over.enroll_per_minute.or(file.enroll_per_minute) {
            cfg.enroll_per_minute = n;
        }
        if let Some(n) = over.login_per_minute.or(file.login_per_minute) {
            cfg.login_per_minute = n;
        }
        let cert = over.tls_cert.clone().or_else(|| file.tls_cert.clone());
        let key = over.tls_key.clone().or_else(|| file.tls_key.clone());
        cfg.tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsConfig { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ServerError::Config(
                    "TLS needs both a certificate and a key (--tls-cert and --tls-key)".into(),
                ))
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ServerError> {
        if self.max_body_bytes == 0 || self.max_decoded_bytes == 0 {
            return Err(ServerError::Config(
                "max_body_bytes and max_decoded_bytes must be above 0".into(),
            ));
        }
        if let Some(t) = &self.admin_token {
            if t.len() < 16 {
                return Err(ServerError::Config(
                    "the admin token must be at least 16 characters".into(),
                ));
            }
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ServerError::Config(
                "the metrics token must be at least 16 characters".into(),
            ));
        }
        if self.enroll_per_minute == 0 || self.login_per_minute == 0 {
            return Err(ServerError::Config(
                "enroll_per_minute and login_per_minute must be above 0".into(),
            ));
        }
        Ok(())
    }
}

/// One layer of settings, every key optional: the TOML file, or flags plus environment.
///
/// ```toml
/// data = "/var/lib/gridwalk"
/// addr = "0.0.0.0:8443"
/// max_body_bytes = 16777216
/// max_decoded_bytes = 67108864
/// admin_token = "…"
/// metrics_token = "…"
/// enroll_per_minute = 10
/// login_per_minute = 30
/// tls_cert = "/etc/gridwalk/cert.pem"
/// tls_key = "/etc/gridwalk/key.pem"
/// log_format = "json"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub addr: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_decoded_bytes: Option<usize>,
    pub admin_token: Option<String>,
    pub metrics_token: Option<String>,
    pub enroll_per_minute: Option<u32>,
    pub login_per_minute: Option<u32>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `postgres://user@host/db`: the district store on PostgreSQL.
    pub database_url: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
}

impl FileConfig {
    pub fn parse(text: &str) -> Result<FileConfig, ServerError> {
        toml::from_str(text).map_err(|e| ServerError::Config(format!("config file: {e}")))
    }

    pub fn load(path: &Path) -> Result<FileConfig, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ServerError::Config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        let mut cfg = FileConfig::parse(&text)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
        // Relative paths in the file are relative to the file, not to the working directory.
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        for p in [&mut cfg.data, &mut cfg.tls_cert, &mut cfg.tls_key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_default() {
        let file = FileConfig::parse(
            "data = \"/srv/a\"\naddr = \"0.0.0.0:9000\"\nmax_body_bytes = 1000\n",
        )
        .expect("parses");
        let over = FileConfig {
            addr: Some("127.0.0.1:7000".into()),
            ..FileConfig::default()
        };
        let cfg = ServerConfig::resolve(&over, &file).expect("resolves");
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/a"));
        assert_eq!(cfg.addr, "127.0.0.1:7000".parse().expect("addr"));
        assert_eq!(cfg.max_body_bytes, 1000);
        assert_eq!(cfg.max_decoded_bytes, DEFAULT_MAX_DECODED_BYTES);
        assert_eq!(cfg.admin_token, None);
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        assert!(FileConfig::parse("nonsense = 1").is_err());
        let none = FileConfig::default();
        assert!(ServerConfig::resolve(&none, &none).is_err());
        let half_tls = FileConfig {
            data: Some("/d".into()),
            tls_cert: Some("c.pem".into()),
            ..FileConfig::default()
        };
        assert!(ServerConfig::resolve(&half_tls, &none).is_err());
        let short_token = FileConfig {
            data: Some("/d".into()),
            admin_token: Some("short".into()),
            ..FileConfig::default()
        };
        assert!(ServerConfig::resolve(&short_token, &none).is_err());
    }
}
