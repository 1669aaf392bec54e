//! A new district's first day, from an empty data directory: `gridwalk-server init`, the
//! area tree from the command line and from the console API, a buildings sheet, and a
//! worker of the new grid enrolling a device. On the embedded store, or on a fresh
//! PostgreSQL database when `GRIDWALK_TEST_DATABASE` is set (`--database` then).

mod common;

use common::console::{login_at, PASSWORD};
use common::{spawn_fresh, PgGuard};
use gridwalk_district_sqlite::UserUpdate;
use gridwalk_server::{now_ms, spawn, ServerConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gridwalk-server");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Where the district is: a data directory, or a PostgreSQL database.
enum Place {
    Data(PathBuf),
    Database(String),
}

impl Place {
    /// The flag the commands take.
    fn flag(&self) -> &'static str {
        match self {
            Place::Data(_) => "--data",
            Place::Database(_) => "--database",
        }
    }
}

fn server(place: &Place, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    let (sub, rest) = args.split_at(if ["area", "user"].contains(&args[0]) {
        2
    } else {
        1
    });
    cmd.args(sub).arg(place.flag());
    match place {
        Place::Data(data) => cmd.arg(data),
        Place::Database(url) => cmd.arg(url),
    };
    cmd.args(rest);
    cmd.env_remove("GRIDWALK_PASSWORD")
        .env_remove("GRIDWALK_DATA")
        .env_remove("GRIDWALK_DATABASE_URL");
    cmd.output().expect("gridwalk-server runs")
}

/// Runs a command that must succeed; its stdout.
fn ok(data: &Place, args: &[&str]) -> String {
    let out = server(data, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{text}\n{err}");
    text
}

/// Runs a command that must fail; stdout and stderr together.
fn refused(data: &Place, args: &[&str]) -> String {
    let out = server(data, args);
    assert!(!out.status.success(), "{args:?} should have failed");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_bilingual(text: &str, zh: &str, en: &str) {
    assert!(
        text.contains(zh) && text.contains(en),
        "want {zh} / {en} in:\n{text}"
    );
}

async fn enroll(url: &str, code: &str) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/enroll"))
        .json(&json!({"code": code, "device_name": "网格员的手机"}))
        .send()
        .await
        .expect("enroll");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_takes_an_empty_directory_to_an_enrolled_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = PgGuard::from_env().await;
    let data = match pg.url() {
        Some(url) => Place::Database(url.to_string()),
        None => Place::Data(dir.path().join("district")),
    };
    let init = [
        "init",
        "--district-code",
        "430202000000",
        "--district-name",
        "荷塘区",
        "--admin",
        "chief",
    ];
    let out = ok(&data, &init);
    assert!(out.contains("荷塘区 (430202000000)"), "{out}");
    let password = out
        .split("(shown once): ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the generated password is printed")
        .to_string();
    assert_eq!(password.len(), 16);
    let serve = format!("gridwalk-server serve {}", data.flag());
    assert!(out.contains(&serve) && out.contains("/console/"), "{out}");
    // A second init on the same directory is refused and changes nothing.
    let again = refused(&data, &init);
    assert_bilingual(&again, "已有区县", "already has the district");

    // Codes: the street must extend the district's 6 digits; the error says so twice.
    let bad = refused(
        &data,
        &[
            "area",
            "add-street",
            "--code",
            "430203001000",
            "--name",
            "外区街道",
        ],
    );
    assert_bilingual(
        &bad,
        "应以区县的前6位 430202 开头",
        "must start with the district's",
    );
    assert!(bad.contains("street.code"), "{bad}");
    ok(
        &data,
        &[
            "area",
            "add-street",
            "--code",
            "430202001000",
            "--name",
            "月塘街道",
        ],
    );
    let bad = refused(
        &data,
        &[
            "area",
            "add-community",
            "--code",
            "430202002001",
            "--street",
            "430202001000",
            "--name",
            "荷花社区",
        ],
    );
    assert_bilingual(
        &bad,
        "应以街道的前9位",
        "must start with its street's 9 digits",
    );
    ok(
        &data,
        &[
            "area",
            "add-community",
            "--code",
            "430202001001",
            "--street",
            "430202001000",
            "--name",
            "荷花社区",
        ],
    );
    let grid = ok(&data, &["area", "add-grid", "--community", "430202001001"]);
    let grid_id = grid
        .split("grid id ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the new grid's id is printed")
        .to_string();
    assert!(grid.contains("code 430202001001001"), "{grid}");
    ok(
        &data,
        &["area", "rename", "430202001001001", "--name", "荷花一网格"],
    );
    assert!(ok(&data, &["area", "show"]).contains("荷花一网格 430202001001001"));
    // The sheets name the grid 第1网格: rename it back, through its id this time.
    ok(&data, &["area", "rename", &grid_id, "--name", "第1网格"]);

    // A sheet with blank sizes: refused, each problem on its own column, both languages.
    let blank = format!("{FIXTURES}/buildings_blank_sizes.csv");
    let bad = refused(&data, &["area", "buildings", "--file", &blank]);
    assert!(
        bad.contains("row    2  E") && bad.contains("row    2  G"),
        "{bad}"
    );
    assert!(bad.contains("row    3  F"), "{bad}");
    assert_bilingual(&bad, "单元数为空", "units is blank");
    assert_bilingual(
        &bad,
        "层数应为1到999之间的整数",
        "floors must be a whole number",
    );
    let sheet = format!("{FIXTURES}/buildings.csv");
    let applied = ok(&data, &["area", "buildings", "--file", &sheet]);
    assert!(applied.contains("2 buildings applied"), "{applied}");
    let tree: Value = serde_json::from_str(&ok(&data, &["area", "show", "--json"])).expect("json");
    let numbers: Vec<&str> = tree["buildings"]
        .as_array()
        .expect("buildings")
        .iter()
        .map(|b| b["number"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(numbers, ["00001", "00002"]);
    let shown = ok(&data, &["area", "show"]);
    assert!(shown.contains("荷花社区 430202001001") && shown.contains("00002 2栋  1×18×4"));

    // A worker of the new grid, an enrollment code, and the device enrolls for that grid.
    ok(
        &data,
        &[
            "user",
            "add",
            "--username",
            "wang",
            "--name",
            "王芳",
            "--role",
            "worker",
            "--grid",
            &grid_id,
        ],
    );
    let code = ok(&data, &["enroll-code", "--username", "wang"]);
    let mut config = ServerConfig::new(dir.path().join("district"));
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.database_url = pg.url().map(str::to_string);
    let running = spawn(config).await.expect("server starts");
    let device = enroll(&running.url(), code.trim()).await;
    assert_eq!(device["grids"], json!([grid_id]));
    // The first admin signs in to the console with the printed password.
    let r = reqwest::Client::new()
        .post(format!("{}/console/api/login", running.url()))
        .json(&json!({"username": "chief", "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    // The console is inside the binary: /console/ serves the app, not a "not built" page.
    let page = reqwest::get(format!("{}/console/", running.url()))
        .await
        .expect("console")
        .text()
        .await
        .expect("text");
    assert!(page.contains("<div id=\"app\""), "{page}");
}

/// The console's Areas page from nothing: an admin without a district creates the root,
/// then every level; a grid needs no id; errors name the field in both languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_builds_the_tree_from_an_empty_directory() {
    let fresh = spawn_fresh(|_| {}).await;
    let running = &fresh.server;
    let admin = UserUpdate {
        username: "chief".into(),
        display_name: "管理员".into(),
        role: "admin".into(),
        grids: vec![],
        areas: vec![],
        password: Some(PASSWORD.into()),
    };
    fresh
        .db(|d| d.save_user(None, &admin, now_ms()))
        .expect("admin");
    let c = login_at(&running.url(), "chief").await;

    let post = |body: Value| {
        let c = &c;
        async move {
            let r = c.post("admin/area", body).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let street = json!({"level": "street", "code": "430202001000", "name": "月塘街道"});
    let (status, e) = post(street.clone()).await;
    assert_eq!(status, 400);
    let msg = e["message"].as_str().unwrap_or_default();
    assert_bilingual(msg, "尚未建立区县", "there is no district yet");

    let (status, _) =
        post(json!({"level": "district", "code": "430202001000", "name": "荷塘区"})).await;
    assert_eq!(status, 400, "a street-level code is not a district's");
    let (status, tree) =
        post(json!({"level": "district", "code": "430202000000", "name": "荷塘区"})).await;
    assert_eq!(
        (status, tree["district"]["name"].as_str()),
        (200, Some("荷塘区"))
    );
    assert_eq!(post(street).await.0, 200);
    let (status, e) =
        post(json!({"level": "street", "code": "430299001000", "name": "外区街道"})).await;
    assert_eq!(status, 400);
    let msg = e["message"].as_str().unwrap_or_default();
    assert!(msg.contains("street.code"), "{msg}");
    assert_bilingual(
        msg,
        "430202",
        "must start with the district's 6 digits 430202",
    );
    let community = json!({"level": "community", "code": "430202001001", "name": "荷花社区",
                           "street_code": "430202001000"});
    assert_eq!(post(community).await.0, 200);
    // No id, no number, no name: all made by the server.
    let (status, tree) = post(json!({"level": "grid", "community_code": "430202001001"})).await;
    assert_eq!(status, 200, "{tree}");
    let grid = &tree["grids"][0];
    assert_eq!(
        (grid["number"].as_i64(), grid["name"].as_str()),
        (Some(1), Some("第1网格"))
    );
    let grid_id = grid["id"].as_str().expect("generated id").to_string();
    assert_eq!(grid_id.len(), 36);

    let sheet = std::fs::read(format!("{FIXTURES}/buildings.csv")).expect("fixture");
    let r = c
        .upload("admin/area/buildings?file_name=buildings.csv", sheet)
        .await;
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        (v["applied"].as_bool(), v["buildings"].as_u64()),
        (Some(true), Some(2)),
        "{v}"
    );
    let blank = std::fs::read(format!("{FIXTURES}/buildings_blank_sizes.csv")).expect("fixture");
    let r = c
        .upload("admin/area/buildings?file_name=blank.csv", blank)
        .await;
    let v: Value = r.json().await.expect("json");
    let cols: Vec<(u64, &str)> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap_or(0),
                p["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(cols, [(2, "E"), (2, "G"), (3, "F")], "{v}");

    // A worker of the new grid with an enrollment code; the device enrolls for that grid.
    let worker = json!({"username": "wang", "display_name": "王芳", "role": "worker",
                        "grids": [grid_id]});
    let r = c.post("admin/users", worker).await;
    assert_eq!(r.status(), 200);
    let user_id = r.json::<Value>().await.expect("json")["user_id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = c
        .post(&format!("admin/users/{user_id}/enrollment-code"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let code = r.json::<Value>().await.expect("json")["code"]
        .as_str()
        .expect("code")
        .to_string();
    let device = enroll(&running.url(), &code).await;
    assert_eq!(device["grids"], json!([grid_id]));
}
