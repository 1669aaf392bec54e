//! Counters for `/metrics`, in the Prometheus text format. Plain atomics: no registry.

use crate::error::ErrorCode;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Metrics {
    pub sync_requests: AtomicU64,
    sync_errors: [AtomicU64; ErrorCode::ALL.len()],
    pub sync_bytes_in: AtomicU64,
    pub sync_bytes_out: AtomicU64,
    sync_duration_micros: AtomicU64,
    pub sync_duration_count: AtomicU64,
    pub changes_pushed: AtomicU64,
    pub enrollments: AtomicU64,
}

impl Metrics {
    pub fn sync_error(&self, code: ErrorCode) {
        self.sync_errors[code.index()].fetch_add(1, Relaxed);
    }

    pub fn sync_errors(&self, code: ErrorCode) -> u64 {
        self.sync_errors[code.index()].load(Relaxed)
    }

    pub fn sync_duration(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sync_duration_micros.fetch_add(micros, Relaxed);
        self.sync_duration_count.fetch_add(1, Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "gridwalk_sync_requests_total",
            "Sync requests received.",
            self.sync_requests.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP gridwalk_sync_errors_total Sync requests answered with an error, by code.\n\
             # TYPE gridwalk_sync_errors_total counter"
        );
        for code in ErrorCode::ALL {
            let _ = writeln!(
                out,
                "gridwalk_sync_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                self.sync_errors(code)
            );
        }
        counter(
            &mut out,
            "gridwalk_sync_bytes_in_total",
            "Bytes of sync request bodies (compressed).",
            self.sync_bytes_in.load(Relaxed),
        );
        counter(
            &mut out,
            "gridwalk_sync_bytes_out_total",
            "Bytes of sync response bodies (compressed).",
            self.sync_bytes_out.load(Relaxed),
        );
        let secs = self.sync_duration_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "# HELP gridwalk_sync_duration_seconds Server time spent per sync request.\n\
             # TYPE gridwalk_sync_duration_seconds summary\n\
             gridwalk_sync_duration_seconds_sum {secs}\n\
             gridwalk_sync_duration_seconds_count {}",
            self.sync_duration_count.load(Relaxed)
        );
        counter(
            &mut out,
            "gridwalk_changes_pushed_total",
            "Changes received in pushed documents that were accepted (repeats included).",
            self.changes_pushed.load(Relaxed),
        );
        counter(
            &mut out,
            "gridwalk_enrollments_total",
            "Devices enrolled.",
            self.enrollments.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP gridwalk_sync_phase_seconds Wall time of each part of the sync rounds \
             (summed over concurrent requests; commit is counted per group transaction).\n\
             # TYPE gridwalk_sync_phase_seconds summary"
        );
        for (phase, micros, count) in gridwalk_district_sqlite::phases::snapshot() {
            let name = phase.as_str();
            let secs = micros as f64 / 1e6;
            let _ = writeln!(
                out,
                "gridwalk_sync_phase_seconds_sum{{phase=\"{name}\"}} {secs}\n\
                 gridwalk_sync_phase_seconds_count{{phase=\"{name}\"}} {count}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series() {
        let m = Metrics::default();
        m.sync_requests.fetch_add(3, Relaxed);
        m.sync_error(ErrorCode::PayloadTooLarge);
        m.sync_duration(Duration::from_millis(1500));
        let text = m.render();
        assert!(text.contains("gridwalk_sync_requests_total 3\n"));
        assert!(text.contains("gridwalk_sync_errors_total{code=\"payload_too_large\"} 1\n"));
        assert!(text.contains("gridwalk_sync_duration_seconds_sum 1.5\n"));
        assert!(text.contains("gridwalk_sync_duration_seconds_count 1\n"));
        assert!(text.contains("gridwalk_changes_pushed_total 0\n"));
        assert!(text.contains("gridwalk_sync_phase_seconds_count{phase=\"commit\"} "));
    }
}
