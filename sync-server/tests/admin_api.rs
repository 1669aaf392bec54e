//! The admin's console API against a real server on loopback: exports masked by default
//! and audited, full PII only for an admin with a reason, export → import into a fresh
//! district gives the same ledger, users and areas, and a revoked device refused at once.

mod common;

use common::console::*;
use common::*;
use gridwalk_district_sqlite::{AuditKind, AuditQuery, UserUpdate};
use gridwalk_server::now_ms;
use serde_json::{json, Value};

fn admin_name(h: &Harness) -> String {
    h.summary
        .users
        .iter()
        .find(|u| u.role == "admin")
        .expect("an admin")
        .username
        .clone()
}

fn supervisor_name(h: &Harness) -> String {
    h.summary
        .users
        .iter()
        .find(|u| u.role == "supervisor")
        .expect("a supervisor")
        .username
        .clone()
}

/// Every full ID number of the demo district's people.
fn full_ids(h: &Harness) -> Vec<String> {
    h.demo
        .households
        .iter()
        .flat_map(|hh| hh.members.values())
        .filter_map(|p| p.id_number.clone())
        .collect()
}

async fn export(c: &Console, body: Value) -> reqwest::Response {
    c.post("export", body).await
}

fn audit_count(h: &Harness, kind: AuditKind) -> usize {
    h.db(|d| {
        d.audit_log(&AuditQuery {
            kind: Some(kind),
            limit: 1000,
            ..Default::default()
        })
    })
    .expect("audit log")
    .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_masked_by_default_audited_and_full_pii_is_for_admins_with_a_reason() {
    let h = start_two().await;
    let admin = login(&h, &admin_name(&h)).await;
    let sup = login(&h, &supervisor_name(&h)).await;
    let ids = full_ids(&h);
    assert!(!ids.is_empty());

    // Masked by default: no full ID number anywhere in the file.
    let before = audit_count(&h, AuditKind::Export);
    let r = export(&admin, json!({"format": "csv"})).await;
    assert_eq!(r.status(), 200);
    let rows: u64 = r.headers()["x-gridwalk-rows"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = String::from_utf8(r.bytes().await.unwrap().to_vec()).unwrap();
    assert!(text.starts_with("\u{feff}户编号,"), "{}", &text[..40]);
    for id in &ids {
        assert!(
            !text.contains(id.as_str()),
            "full ID {id} in a masked export"
        );
    }
    assert_eq!(text.lines().count() as u64, rows + 1);
    assert_eq!(audit_count(&h, AuditKind::Export), before + 1);

    // Full PII: refused without a reason, and refused for a supervisor even with one.
    let r = export(&admin, json!({"format": "csv", "full_pii": true})).await;
    assert_eq!(r.status(), 400);
    let r = export(
        &sup,
        json!({"format": "csv", "full_pii": true, "reason": "核对低保名单"}),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = admin.get("admin/users").await;
    assert_eq!(r.status(), 200);
    let r = sup.get("admin/users").await;
    assert_eq!(r.status(), 403);

    // An admin with a reason gets full values, and the entry keeps the reason.
    let r = export(
        &admin,
        json!({"format": "xlsx", "full_pii": true, "reason": "民政局核对低保名单"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let log = admin.ok("audit?kind=export").await;
    let latest = &log["items"][0];
    assert_eq!(latest["detail"]["masked"], false);
    assert_eq!(latest["detail"]["reason"], "民政局核对低保名单");
    assert_eq!(latest["username"], admin_name(&h));

    // A supervisor's masked export holds only their grids, and they see only their own
    // entries in the audit log.
    let r = export(&sup, json!({"format": "geojson"})).await;
    assert_eq!(r.status(), 200);
    let geo: Value = r.json().await.unwrap();
    let features = geo["features"].as_array().unwrap();
    let supervisor = h.user_id(&supervisor_name(&h));
    let scope = h.db(|d| d.console_scope(&supervisor)).unwrap();
    let in_scope = h
        .demo
        .households
        .iter()
        .filter(|hh| scope.may_see(&hh.grid_id))
        .count();
    assert_eq!(features.len(), in_scope);
    assert!(in_scope < h.demo.households.len());
    let mine = sup.ok("audit").await;
    assert!(mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["username"] == supervisor_name(&h) && e["kind"] == "export"));

    // Sign-ins are audited too.
    assert!(audit_count(&h, AuditKind::Login) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imports_into_a_fresh_district_as_the_same_ledger() {
    let h = start_two().await;
    let admin = login(&h, &admin_name(&h)).await;
    let full = json!({"format": "csv", "full_pii": true, "reason": "迁移到新系统"});
    let first = export(&admin, full.clone()).await.bytes().await.unwrap();

    // A fresh district (its own database on PostgreSQL) with the same area tree and an
    // admin.
    let fresh = spawn_fresh(|_| {}).await;
    let tree = h.db(|d| d.area_tree()).unwrap().unwrap();
    fresh.db(|d| {
        d.update_area_tree(now_ms(), &mut |_| Ok(tree.clone()))
            .unwrap();
        d.save_user(
            None,
            &UserUpdate {
                username: "admin2".into(),
                display_name: "新区管理员".into(),
                role: "admin".into(),
                grids: vec![],
                areas: vec![],
                password: Some(PASSWORD.into()),
            },
            now_ms(),
        )
        .unwrap();
    });
    let url2 = fresh.server.url();
    let admin2 = login_at(&url2, "admin2").await;
    let r = admin2
        .upload(
            "admin/import?file_name=ledger.csv&mode=all_or_nothing",
            first.to_vec(),
        )
        .await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["plan"]["problems"],
        json!([]),
        "the export imports without a problem"
    );
    assert_eq!(
        answer["imported_households"],
        h.demo.households.len() as u64
    );
    let second = export(&admin2, full).await.bytes().await.unwrap();
    let (a, b) = (
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second),
    );
    // The demo's members are 子女; the import reads that as 子 or 女 by the person's sex.
    let by_sex = |line: &str| {
        let sex = if line.contains(",男,") {
            ",子,"
        } else {
            ",女,"
        };
        line.replace(",子女,", sex)
    };
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        assert_eq!(by_sex(x), y, "line {} differs", i + 1);
    }
    assert_eq!(a.lines().count(), b.lines().count());

    // Importing the same file again (a re-import): every household is found again by its
    // 户编号 (the id the export wrote), and nothing has changed.
    let again = admin2
        .upload(
            "admin/import?file_name=ledger.csv&mode=all_or_nothing",
            first.to_vec(),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(again["refused"], false, "{:#}", again["plan"]["problems"]);
    assert_eq!(again["plan"]["problems"], json!([]));
    assert_eq!(again["diff"]["new_households"], json!([]));
    assert_eq!(
        again["diff"]["changed_households"],
        json!([]),
        "{:#}",
        again["diff"]
    );
    assert_eq!(
        again["diff"]["unchanged_households"],
        h.demo.households.len() as u64
    );
    assert_eq!(
        (&again["written"]["added"], &again["written"]["updated"]),
        (&json!(0), &json!(0))
    );
    drop(fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_areas_and_a_revoked_device_refused_at_once() {
    let h = start_two().await;
    let admin = login(&h, &admin_name(&h)).await;
    let tree = admin.ok("admin/area").await;
    let grid = tree["grids"][0]["id"].as_str().unwrap().to_string();

    // A new worker for the first grid, an enrollment code, a device.
    let r = admin
        .post(
            "admin/users",
            json!({"username": "wgy-new", "display_name": "新网格员", "role": "worker", "grids": [grid]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let user_id = r.json::<Value>().await.unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = admin
        .post(
            "admin/users",
            json!({"username": "x y", "display_name": "坏名字", "role": "worker"}),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let code = admin
        .post(&format!("admin/users/{user_id}/enrollment-code"), json!({}))
        .await
        .json::<Value>()
        .await
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let enrolled: Value = h.enroll_raw(&code).await.json().await.unwrap();
    let token = enrolled["token"].as_str().unwrap().to_string();
    let device_id = enrolled["device_id"].as_str().unwrap().to_string();
    let body = gridwalk_core::sync::encode(&request(vec![]));
    assert_eq!(h.post_sync(Some(&token), body.clone()).await.status(), 200);

    // The device downloads its grid; a household the admin then imports into that grid
    // arrives with its next sync.
    let device = Device {
        device_id: device_id.clone(),
        user_id: user_id.clone(),
        token: token.clone(),
        grids: vec![grid.clone()],
    };
    let mut cursors = device.fresh_cursors();
    loop {
        let resp = h.sync(&device, &request(cursors.clone())).await;
        cursors = resp.cursors;
        if !resp.more {
            break;
        }
    }
    let building = tree["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["grid_id"] == grid.as_str())
        .unwrap();
    let community = tree["communities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == building["community_code"])
        .unwrap();
    let csv = format!(
        "社区,楼栋,单元,房号,姓名,性别,与户主关系\n{},{},1,2601,新导入户主,女,户主\n",
        community["name"].as_str().unwrap(),
        building["name"].as_str().unwrap()
    );
    let imported: Value = admin
        .upload("admin/import?file_name=new.csv&mode=all_or_nothing", csv)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(imported["imported_households"], 1, "{imported}");
    let resp = h.sync(&device, &request(cursors)).await;
    let pulled: Vec<_> = resp
        .pulled
        .iter()
        .filter(|p| p.kind == gridwalk_core::DocKind::Household)
        .collect();
    assert_eq!(
        pulled.len(),
        1,
        "the imported household reaches the grid's device"
    );

    // Revoked: the next sync is refused and told to wipe.
    let r = admin
        .post(&format!("admin/devices/{device_id}/revoke"), json!({}))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["revoked"], true);
    let (status, err) = error_of(h.post_sync(Some(&token), body).await).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "device_revoked");
    assert_eq!(err["wipe"], true);
    let devices = admin.ok("admin/devices").await;
    assert!(devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["device_id"] == device_id.as_str() && d["revoked_at"].is_number()));

    // Area edits: a new building in the grid's community; a move is refused.
    let community = tree["grids"][0]["community_code"].as_str().unwrap();
    let building = json!({"level": "building", "id": "b-new-1", "community_code": community,
        "grid_id": grid, "number": "88888", "name": "88栋", "units": 2, "floors": 6, "rooms_per_floor": 2});
    let r = admin.post("admin/area", building).await;
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    assert!(t2["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == "88栋"));
    let other_grid = tree["grids"][1]["id"].as_str().unwrap();
    let moved = json!({"level": "building", "id": "b-new-1", "community_code": community,
        "grid_id": other_grid, "number": "88888", "name": "88栋", "units": 2, "floors": 6, "rooms_per_floor": 2});
    assert_eq!(admin.post("admin/area", moved).await.status(), 400);

    // Every one of these is in the audit log.
    for kind in [
        AuditKind::UserChanged,
        AuditKind::DeviceRevoked,
        AuditKind::AreaChanged,
    ] {
        assert!(audit_count(&h, kind) >= 1, "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_buildings_sheet_and_a_community_scoped_supervisor() {
    let h = start_two().await;
    let admin = login(&h, &admin_name(&h)).await;
    let tree = admin.ok("admin/area").await;

    // Settings: a new department and a 12-hour limit; a bad limit is refused whole.
    let mut config = admin.ok("config").await;
    let mut deps = config["departments"].as_array().unwrap().clone();
    deps.push(json!({"code": "gas", "zh": "燃气公司", "en": "Gas company"}));
    let mut cats: Vec<Value> = config["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"code": c["code"], "zh": c["zh"], "en": c["en"], "limit": c["limit"]}))
        .collect();
    cats[0]["limit"] = json!({"Hours": 12});
    let r = admin
        .post(
            "admin/settings",
            json!({"departments": deps, "categories": cats,
                   "calendar": {"holidays": ["2027-01-01"], "makeup_workdays": []}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    config = admin.ok("config").await;
    assert!(config["departments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["code"] == "gas"));
    assert_eq!(config["categories"][0]["limit"], json!({"Hours": 12}));
    assert_eq!(config["calendar"]["holidays"], json!(["2027-01-01"]));
    cats[0]["limit"] = json!({"Hours": 0});
    let r = admin
        .post("admin/settings", json!({"categories": cats}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        admin.ok("config").await["categories"][0]["limit"],
        json!({"Hours": 12})
    );

    // A buildings sheet: one bad row refuses the whole sheet; the good sheet applies.
    let community = &tree["communities"][0];
    let grid = tree["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["community_code"] == community["code"])
        .unwrap();
    let (cname, gname) = (
        community["name"].as_str().unwrap(),
        grid["name"].as_str().unwrap(),
    );
    let upload = |body: String| admin.upload("admin/area/buildings?file_name=b.csv", body);
    let bad = format!(
        "社区,网格,楼栋名称,单元数,层数,每层户数\n{cname},{gname},新1栋,2,18,4\n{cname},第99网格,新2栋,2,18,4\n"
    );
    let answer: Value = upload(bad).await.json().await.unwrap();
    assert_eq!(answer["applied"], false);
    assert_eq!(answer["problems"][0]["row"], 3);
    assert_eq!(answer["problems"][0]["column"], "B");
    let good = format!("社区,网格,楼栋名称,单元数,层数,每层户数\n{cname},{gname},新1栋,2,18,4\n");
    let answer: Value = upload(good).await.json().await.unwrap();
    assert_eq!(answer["applied"], true, "{answer}");
    let after = admin.ok("admin/area").await;
    assert!(after["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == "新1栋" && b["grid_id"] == grid["id"] && b["floors"] == 18));

    // A supervisor scoped by community code sees that community's grids and no other.
    let other = &tree["communities"][1];
    let r = admin
        .post(
            "admin/users",
            json!({"username": "sq-area", "display_name": "社区网格长", "role": "supervisor",
                   "areas": [community["code"]], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let sup = login(&h, "sq-area").await;
    let me = sup.ok("me").await;
    let grids: Vec<&str> = me["user"]["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(grids.contains(&grid["id"].as_str().unwrap()));
    let other_grid = tree["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["community_code"] == other["code"])
        .unwrap();
    assert!(!grids.contains(&other_grid["id"].as_str().unwrap()));
    let households = sup.ok("households?limit=500").await;
    let in_other = h
        .demo
        .households
        .iter()
        .filter(|hh| hh.grid_id == other_grid["id"].as_str().unwrap())
        .count();
    assert!(in_other > 0);
    assert!(households["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|hh| hh["grid_id"] != other_grid["id"]));
    let r = sup
        .get(&format!(
            "households?grid={}",
            other_grid["id"].as_str().unwrap()
        ))
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["items"].as_array().map_or(0, Vec::len), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_maps_a_column_the_import_does_not_recognise() {
    let h = start_two().await;
    let admin = login(&h, &admin_name(&h)).await;
    let tree = admin.ok("admin/area").await;
    let b = &tree["buildings"][0];
    let c = tree["communities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == b["community_code"])
        .unwrap();
    // "居民" is no header we know: without a mapping the name column is missing.
    let csv = format!(
        "社区,楼栋,单元,房号,居民,性别,与户主关系\n{},{},1,2701,映射户主,男,户主\n",
        c["name"].as_str().unwrap(),
        b["name"].as_str().unwrap()
    );
    let send = |mapping: Option<&str>| {
        let mut path = "admin/import?file_name=m.csv&mode=dry_run".to_string();
        if let Some(m) = mapping {
            path.push_str("&mapping=");
            path.push_str(
                &m.replace('"', "%22")
                    .replace('{', "%7B")
                    .replace('}', "%7D"),
            );
        }
        admin.upload(path, csv.clone())
    };
    let plain: Value = send(None).await.json().await.unwrap();
    assert!(plain["plan"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["code"] == "missing_column"));
    let mapped: Value = send(Some(r#"{"4":"name"}"#)).await.json().await.unwrap();
    assert_eq!(mapped["plan"]["problems"], json!([]), "{mapped}");
    assert_eq!(mapped["plan"]["rows_valid"], 1);
    let bad = send(Some("{oops")).await;
    assert_eq!(bad.status(), 400);
}
