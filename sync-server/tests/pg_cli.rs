//! The command line on PostgreSQL: `init` and the `area` commands (`--database`), the
//! same checks and audit as on the embedded store. Runs when `GRIDWALK_TEST_DATABASE`
//! names a PostgreSQL server.

use gridwalk_district_postgres::testing::TestDatabase;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gridwalk-server");

fn run(database: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env_remove("GRIDWALK_DATA")
        .env_remove("GRIDWALK_DATABASE_URL")
        .output()
        .expect("gridwalk-server runs")
}

fn ok(database: &str, args: &[&str]) -> String {
    let out = run(database, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn init_and_area_commands_work_on_postgres() {
    let Some(db) = TestDatabase::from_env("pg_cli").expect("test database") else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let url = db.url();
    let init = [
        "init",
        "--district-code",
        "430202000000",
        "--district-name",
        "荷塘区",
        "--admin",
        "root",
        "--password",
        "a-long-password",
    ];
    let said = ok(url, &init);
    assert!(said.contains("created"), "{said}");
    // A second init is refused and changes nothing.
    let again = run(url, &init);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has the district"));

    ok(
        url,
        &[
            "area",
            "add-street",
            "--code",
            "430202001000",
            "--name",
            "街道一",
        ],
    );
    let community = ["--code", "430202001001", "--street", "430202001000"];
    ok(
        url,
        &[
            &["area", "add-community"][..],
            &community,
            &["--name", "社区一"],
        ]
        .concat(),
    );
    let grid = ok(url, &["area", "add-grid", "--community", "430202001001"]);
    assert!(grid.contains("code 430202001001001"), "{grid}");
    ok(url, &["area", "rename", "430202001000", "--name", "街道甲"]);
    // A community under a street that does not exist is refused by the same core check.
    let stray = [
        "--code",
        "430202009001",
        "--street",
        "430202009000",
        "--name",
        "x",
    ];
    let refused = run(url, &[&["area", "add-community"][..], &stray].concat());
    assert!(!refused.status.success());

    let tree: serde_json::Value =
        serde_json::from_str(&ok(url, &["area", "show", "--json"])).expect("json");
    assert_eq!(tree["district"]["name"], "荷塘区");
    assert_eq!(tree["streets"][0]["name"], "街道甲");
    assert_eq!(tree["grids"].as_array().map(Vec::len), Some(1));

    // The admin can sign in to the console's store, and every change was audited.
    let mut pg = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let role: String = pg
        .query_one("SELECT role FROM users WHERE username = 'root'", &[])
        .expect("admin")
        .get(0);
    assert_eq!(role, "admin");
    let audited: i64 = pg
        .query_one(
            "SELECT count(*) FROM audit_log WHERE kind = 'area_changed'",
            &[],
        )
        .expect("audit")
        .get(0);
    assert_eq!(audited, 5, "init, street, community, grid, rename");
}
