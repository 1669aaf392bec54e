//! Where a load run's CPU went, per sync: the servers, the load generator's own device
//! work, and PostgreSQL's backends. On a machine the three share, their sum bounds what
//! a burst can do: N syncs released at once cannot all finish before
//! N × (CPU per sync) ÷ cores, whatever the server's design.

use crate::load::cpu_ms;

/// CPU time of the calling thread so far, in nanoseconds (the scheduler's exact figure
/// from /proc, not ticks).
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// CPU (user + system, with reaped children) of every `postgres` process, in ms: the
/// database's share of a run on this machine.
pub fn postgres_cpu_ms() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut total = 0.0;
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if comm.trim() == "postgres" {
            total += cpu_ms(pid).unwrap_or(0.0) + children_cpu_ms(pid).unwrap_or(0.0);
        }
    }
    total
}

/// CPU of a process's exited and reaped children (cutime + cstime), in ms.
fn children_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(13)?.parse::<f64>().ok()? + f.get(14)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

/// The CPU a run spent per sync, by who spent it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuPerSync {
    pub server_ms: f64,
    pub generator_ms: f64,
    /// PostgreSQL's backends (0 on SQLite).
    pub database_ms: f64,
}

impl CpuPerSync {
    pub fn total_ms(&self) -> f64 {
        self.server_ms + self.generator_ms + self.database_ms
    }

    /// The earliest the last of `n` syncs released together can finish on `cores`.
    pub fn burst_floor_ms(&self, n: usize, cores: usize) -> f64 {
        n as f64 * self.total_ms() / cores.max(1) as f64
    }

    /// The highest steady rate `cores` can serve at this cost.
    pub fn rate_ceiling(&self, cores: usize) -> f64 {
        cores as f64 * 1000.0 / self.total_ms()
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_is_charged_its_cpu() {
        let before = thread_cpu_ns().expect("schedstat");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu_ns().expect("schedstat") > before);
    }

    #[test]
    fn the_floor_and_ceiling_follow_the_cost() {
        let c = CpuPerSync {
            server_ms: 2.0,
            generator_ms: 1.5,
            database_ms: 0.5,
        };
        assert_eq!(c.burst_floor_ms(400, 2), 800.0);
        assert_eq!(c.rate_ceiling(2), 500.0);
    }
}
