//! `gridwalk-server demo` and `serve --demo`: the demo district, its console passwords and
//! a worker's enrollment code, and the summary printed for them.

use crate::CliStore;
use anyhow::Result;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_district_sqlite::ConsoleBackend;
use gridwalk_server::{load_demo, now_ms, DemoSummary};

/// The console password of the demo district's supervisors and admin.
const DEMO_PASSWORD: &str = "gridwalk-demo";

/// Loads the demo district (`gridwalk-server demo`, on either backend) and prints its
/// summary.
pub(crate) fn run(district: &dyn ConsoleBackend, seed: u64, households: usize) -> Result<()> {
    let now = now_ms();
    let params = DemoParams {
        seed,
        households,
        now_ms: now,
        ..DemoParams::default()
    };
    let summary = load_demo(district, &params, now)?;
    print_summary(&summary);
    Ok(())
}

/// `serve --demo`: the demo district into an empty store (either backend), then the
/// console passwords and a worker's enrollment code.
pub(crate) fn on_first_start(district: &dyn CliStore, households: usize) -> Result<()> {
    let now = now_ms();
    let params = DemoParams {
        households,
        now_ms: now,
        ..DemoParams::default()
    };
    if district.holds_nothing()? {
        eprintln!("loading the demo district ({households} households)…");
        let summary = load_demo(district, &params, now)?;
        print_summary(&summary);
    } else {
        println!("the store already holds data: the demo district was not loaded again");
    }

    // Users come first out of the generator and do not depend on the household count.
    let users = generate(&DemoParams {
        households: 1,
        visits_per_household: 0.0,
        issues_per_household: 0.0,
        ..params
    })
    .users;
    let mut console_users = Vec::new();
    for u in users.iter().filter(|u| u.role != "worker") {
        if district.set_password(&u.username, DEMO_PASSWORD).is_ok() {
            console_users.push(u.username.clone());
        }
    }
    println!(
        "console (/console/): password {DEMO_PASSWORD:?} for {}",
        console_users.join(", ")
    );
    if let Some(worker) = users.iter().find(|u| u.role == "worker") {
        let user = district
            .user_rows()?
            .into_iter()
            .find(|u| u.username == worker.username);
        if let Some(user) = user {
            let code = district.create_enrollment(&user.user_id, 72 * 3_600_000, now)?;
            println!(
                "enrollment code for {} ({}), valid 72 h: {code}",
                user.username, user.display_name
            );
        }
    }
    Ok(())
}

fn print_summary(s: &DemoSummary) {
    println!(
        "demo district: {} streets, {} communities, {} grids; {} households, {} visits, \
         {} issues ({} documents added)",
        s.streets, s.communities, s.grids, s.households, s.visits, s.issues, s.documents_added
    );
    println!(
        "{:<24} {:<10} {:<12} {:>5}  new",
        "username", "role", "name", "grids"
    );
    for u in &s.users {
        println!(
            "{:<24} {:<10} {:<12} {:>5}  {}",
            u.username,
            u.role,
            u.display_name,
            u.grids.len(),
            if u.created { "yes" } else { "no" }
        );
    }
}
