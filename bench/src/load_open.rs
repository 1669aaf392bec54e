//! The open-loop load: syncs arriving at a steady rate from the fleet's devices (sync `i`
//! is due at `i / rate` seconds, from device `i mod devices`), each latency counted from
//! when the sync was due, so that a server falling behind shows as queueing rather than
//! slowing the arrivals down. `--find-rate` searches for the highest rate whose p99 stays
//! within 250 ms.

use crate::load::{bench_transport, cpu_ms, edit, fleet, peak_rss_mb, sync_once, Fleet};
use crate::stats::{median, ms, quantile, row};
use anyhow::Result;
use std::sync::{Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The p99 a rate must keep to count as sustained.
const P99_TARGET_MS: f64 = 250.0;
/// A run whose syncs are this far behind their schedule is abandoned (the rate is lost).
const GIVE_UP_BEHIND: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Default)]
pub struct OpenRun {
    pub rate: f64,
    pub latencies: Vec<f64>,
    pub errors: Vec<String>,
    /// Syncs never started because the run fell more than 20 s behind.
    pub abandoned: usize,
    pub achieved_per_s: f64,
    pub server_cpu_ms_per_sync: f64,
    /// The load generator's CPU per sync: the devices' edits and their side of the sync.
    pub generator_cpu_ms_per_sync: f64,
    pub bytes_per_sync: f64,
    /// The server's own breakdown (see server_phases.rs).
    pub phases: Vec<(String, f64, f64, f64)>,
}

impl OpenRun {
    pub fn p50(&self) -> f64 {
        median(&self.latencies)
    }
    pub fn p99(&self) -> f64 {
        quantile(&self.latencies, 0.99)
    }
    /// The highest rate this run's CPU per sync (server and generator, which share the
    /// machine's cores) allows at all.
    pub fn ceiling(&self) -> f64 {
        crate::cpu::CpuPerSync {
            server_ms: self.server_cpu_ms_per_sync,
            generator_ms: self.generator_cpu_ms_per_sync,
            database_ms: 0.0,
        }
        .rate_ceiling(crate::cpu::cores())
    }

    pub fn sustained(&self) -> bool {
        self.errors.is_empty() && self.abandoned == 0 && self.p99() <= P99_TARGET_MS
    }
}

/// Run `rate` syncs a second for `seconds`; with `idle`, the devices have nothing to push.
pub fn open_loop(fleet: &mut Fleet, rate: f64, seconds: f64, idle: bool) -> OpenRun {
    let n = fleet.devs.len().max(1);
    let due = (rate * seconds).round() as usize;
    let out = Mutex::new(OpenRun {
        rate,
        ..OpenRun::default()
    });
    let bytes = Mutex::new((0usize, 0usize));
    // The whole bench process: the devices' edits and syncs compete for the same cores.
    let generator_before = cpu_ms(std::process::id());
    let pid = fleet.pid();
    let cpu_before = cpu_ms(pid);
    let phases_before = crate::server_phases::scrape_all(&fleet.bases);
    // The schedule starts once every device has made its first edit: 400 devices editing
    // at the same instant is the generator starting up, and counted in the first syncs'
    // latency it made a p99 of 200-300 ms at 50-100 syncs a second (their p50: 5 ms).
    let ready = Barrier::new(n);
    let start: OnceLock<Instant> = OnceLock::new();
    std::thread::scope(|s| {
        for (k, (dev, household)) in fleet.devs.iter_mut().enumerate() {
            let (out, bytes, ready, start) = (&out, &bytes, &ready, &start);
            s.spawn(move || {
                let fail = |e: String| out.lock().expect("lock").errors.push(e);
                let transport = bench_transport(dev);
                let edit_for = |dev: &mut _, i: usize| {
                    if !idle && i < due {
                        if let Err(e) = edit(dev, household, 1000 + i) {
                            fail(e.to_string());
                        }
                    }
                };
                edit_for(dev, k);
                ready.wait();
                let t0 = *start.get_or_init(|| Instant::now() + Duration::from_millis(300));
                let end_of_schedule = t0 + Duration::from_secs_f64(seconds);
                let mut transport = match transport {
                    Ok(t) => t,
                    Err(e) => return fail(e.to_string()),
                };
                let mut i = k;
                while i < due {
                    let at = t0 + Duration::from_secs_f64(i as f64 / rate);
                    let now = Instant::now();
                    if now < at {
                        std::thread::sleep(at - now);
                    } else if now > end_of_schedule.max(at) + GIVE_UP_BEHIND {
                        out.lock().expect("lock").abandoned += (due - i).div_ceil(n);
                        break;
                    }
                    match sync_once(dev, &mut transport) {
                        Ok(()) => out.lock().expect("lock").latencies.push(ms(at.elapsed())),
                        Err(e) => fail(e.to_string()),
                    }
                    i += n;
                    // The next edit now, well before that sync is due.
                    edit_for(dev, i);
                }
                let mut b = bytes.lock().expect("lock");
                b.0 += transport.bytes_up + transport.bytes_down;
                b.1 += transport.requests;
            });
        }
    });
    let elapsed = start.get().map_or(0.0, |t0| t0.elapsed().as_secs_f64());
    let mut run = out.into_inner().expect("lock");
    let done = run.latencies.len();
    run.achieved_per_s = done as f64 / elapsed.max(1e-9);
    run.server_cpu_ms_per_sync = match (cpu_before, cpu_ms(pid)) {
        (Some(a), Some(b)) => (b - a) / done.max(1) as f64,
        _ => f64::NAN,
    };
    run.generator_cpu_ms_per_sync = match (generator_before, cpu_ms(std::process::id())) {
        (Some(a), Some(b)) => (b - a) / done.max(1) as f64,
        _ => f64::NAN,
    };
    let (b, requests) = bytes.into_inner().expect("lock");
    run.bytes_per_sync = b as f64 / requests.max(1) as f64;
    if let (Some(a), Some(b)) = (
        phases_before,
        crate::server_phases::scrape_all(&fleet.bases),
    ) {
        run.phases = crate::server_phases::breakdown(&a, &b);
    }
    run
}

fn print_run(r: &OpenRun) {
    println!(
        "rate {:>7.0}/s  syncs {:>6}  p50 {:>8.1} ms  p99 {:>8.1} ms  errors {:>4}  abandoned {:>5}  achieved {:>6.0}/s  CPU server {:>5.2} + generator {:>5.2} ms/sync (ceiling {:>4.0}/s)  {:>6.0} B/request  {}",
        r.rate,
        r.latencies.len(),
        r.p50(),
        r.p99(),
        r.errors.len(),
        r.abandoned,
        r.achieved_per_s,
        r.server_cpu_ms_per_sync,
        r.generator_cpu_ms_per_sync,
        r.ceiling(),
        r.bytes_per_sync,
        if r.sustained() { "ok" } else { "NOT sustained" }
    );
    if let Some(e) = r.errors.first() {
        println!("  first error: {e}");
    }
    crate::server_phases::print(&format!("rate {:.0}/s", r.rate), &r.phases);
}

pub struct OpenOptions {
    pub devices: usize,
    pub households_per_grid: usize,
    pub rate: f64,
    pub seconds: f64,
    pub idle: bool,
    /// Search the highest sustained rate, starting at `rate`.
    pub find_rate: bool,
}

pub fn run(o: &OpenOptions) -> Result<()> {
    let mut fleet = fleet(o.devices, o.households_per_grid)?;
    println!(
        "open loop: {} devices, {} s per rate{}",
        o.devices,
        o.seconds,
        if o.idle {
            ", idle syncs (nothing to push)"
        } else {
            ", one edit per sync"
        }
    );
    let mut runs = Vec::new();
    if o.find_rate {
        // Double until a rate is not sustained, then bisect (4 steps) between the last
        // sustained rate and the first that was not.
        let (mut good, mut bad) = (0.0f64, f64::NAN);
        let mut rate = o.rate;
        while bad.is_nan() && rate <= 8000.0 {
            let r = open_loop(&mut fleet, rate, o.seconds, o.idle);
            print_run(&r);
            if r.sustained() {
                good = rate;
                rate *= 2.0;
            } else {
                bad = rate;
            }
            runs.push(r);
        }
        if !bad.is_nan() {
            for _ in 0..4 {
                let rate = ((good + bad) / 2.0).round();
                let r = open_loop(&mut fleet, rate, o.seconds, o.idle);
                print_run(&r);
                if r.sustained() {
                    good = rate;
                } else {
                    bad = rate;
                }
                runs.push(r);
            }
        }
        row(
            "highest rate with p99 ≤ 250 ms, 0 errors",
            good,
            "syncs/s",
            Some((500.0, false)),
        );
        println!(
            "{}",
            serde_json::json!({
                "bench": "load-open-find-rate",
                "devices": o.devices,
                "seconds_per_rate": o.seconds,
                "idle": o.idle,
                "highest_sustained_rate": good,
                "first_unsustained_rate": if bad.is_nan() { None } else { Some(bad) },
                "server_peak_rss_mb": peak_rss_mb(fleet.pid()),
            })
        );
    } else {
        let r = open_loop(&mut fleet, o.rate, o.seconds, o.idle);
        print_run(&r);
        println!("{:<40} {:>12} {:<6} target", "measure", "value", "unit");
        row("syncs", r.latencies.len() as f64, "", None);
        row("latency p50 (from when due)", r.p50(), "ms", None);
        row(
            "latency p99 (from when due)",
            r.p99(),
            "ms",
            Some((P99_TARGET_MS, true)),
        );
        row(
            "errors + abandoned",
            (r.errors.len() + r.abandoned) as f64,
            "",
            Some((0.0, true)),
        );
        row("server CPU per sync", r.server_cpu_ms_per_sync, "ms", None);
        row(
            "load generator CPU per sync",
            r.generator_cpu_ms_per_sync,
            "ms",
            None,
        );
        row("rate the CPU allows at all", r.ceiling(), "syncs/s", None);
        row("bytes per request (up + down)", r.bytes_per_sync, "B", None);
        let rss = peak_rss_mb(fleet.pid()).unwrap_or(f64::NAN);
        row("server peak RSS", rss, "MB", Some((300.0, true)));
        println!(
            "{}",
            serde_json::json!({
                "bench": "load-open",
                "devices": o.devices,
                "rate": o.rate,
                "seconds": o.seconds,
                "idle": o.idle,
                "syncs": r.latencies.len(),
                "p50_ms": r.p50(),
                "p99_ms": r.p99(),
                "errors": r.errors.len(),
                "abandoned": r.abandoned,
                "server_cpu_ms_per_sync": r.server_cpu_ms_per_sync,
                "generator_cpu_ms_per_sync": r.generator_cpu_ms_per_sync,
                "bytes_per_request": r.bytes_per_sync,
                "server_peak_rss_mb": rss,
            })
        );
        runs.push(r);
    }
    Ok(())
}
