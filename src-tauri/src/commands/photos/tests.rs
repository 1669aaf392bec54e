use super::*;
use crate::commands::issues::{add_event_in, detail_in, report_issue_in};
use crate::dto::{EventKind, IssueEventInput, NewIssue, Urgency};

const JPEG: &[u8] = include_bytes!("../../../tests/fixtures/gps_orientation6.jpg");
const HEIC: &[u8] = include_bytes!("../../../tests/fixtures/iphone.heic");

fn enrolled() -> Store {
    let mut s = Store::open_in_memory().unwrap();
    s.set_device_identity(
        &uuid::Uuid::new_v4().to_string(),
        &uuid::Uuid::new_v4().to_string(),
        &["g1".to_string()],
    )
    .unwrap();
    s
}

fn take(store: &mut Store, bytes: &[u8]) -> AppResult<PhotoDto> {
    let p = prepare(bytes)?;
    keep(store, &p, 1_700_000_000_000)
}

fn input(p: &PhotoDto) -> PhotoInput {
    PhotoInput {
        sha256: p.sha256.clone(),
        taken_at: p.taken_at,
    }
}

fn new_issue(photos: Vec<PhotoInput>) -> NewIssue {
    NewIssue {
        household_id: None,
        category: "environment_sanitation".into(),
        title: "楼道堆物".into(),
        description: "三楼楼道堆满纸箱".into(),
        place: "3栋".into(),
        urgency: Urgency::Normal,
        reporter_name: None,
        reporter_phone: None,
        gps: None,
        photos,
    }
}

#[test]
fn a_photo_taken_is_prepared_kept_and_pending_until_the_server_confirms_it() {
    let mut store = enrolled();
    let p = take(&mut store, JPEG).unwrap();
    // Orientation 6 applied: the 64×32 as stored shows as 32×64.
    assert_eq!((p.width, p.height), (32, 64));
    assert_eq!(p.state, PhotoState::Pending);
    let kept = store.photo_bytes(&p.sha256).unwrap().unwrap();
    assert_eq!(gridwalk_photo::sha256_hex(&kept), p.sha256);
    assert!(
        !kept.windows(4).any(|w| w == b"Exif"),
        "EXIF (and its GPS) must not survive"
    );
    assert!(local_bytes(&store, &p.sha256, PhotoSize::Thumb)
        .unwrap()
        .is_some());
    assert_eq!(store.upload_queue().unwrap().len(), 1);

    store.photo_uploaded(&p.sha256, 1).unwrap();
    assert_eq!(state_of(&store, &p.sha256).unwrap(), PhotoState::Uploaded);
}

#[test]
fn heic_and_oversized_photos_are_refused_with_a_clear_message_when_taken() {
    let mut store = enrolled();
    match take(&mut store, HEIC).unwrap_err() {
        AppError::Photo { reason, message } => {
            assert_eq!(reason, "heic");
            assert!(
                message.contains("HEIC") && message.contains(" / "),
                "{message}"
            );
        }
        other => panic!("expected a photo error, got {other:?}"),
    }
    let huge = vec![0u8; MAX_INPUT_BYTES + 1];
    match take(&mut store, &huge).unwrap_err() {
        AppError::Photo { reason, message } => {
            assert_eq!(reason, "too_large");
            assert!(message.starts_with("照片太大"), "{message}");
        }
        other => panic!("expected a photo error, got {other:?}"),
    }
    match take(&mut store, b"not an image at all").unwrap_err() {
        AppError::Photo { reason, .. } => assert_eq!(reason, "unsupported"),
        other => panic!("expected a photo error, got {other:?}"),
    }
    // Nothing refused was kept or queued.
    assert!(store.upload_queue().unwrap().is_empty());
    assert_eq!(storage_of(&store).unwrap().pending, 0);
}

#[test]
fn photos_attach_to_a_new_issue_and_to_an_event_and_show_on_the_timeline() {
    let mut store = enrolled();
    let p = take(&mut store, JPEG).unwrap();
    let id = report_issue_in(&mut store, new_issue(vec![input(&p), input(&p)])).unwrap();
    let d = detail_in(&store, &id).unwrap();
    let report = &d.timeline[0];
    assert_eq!(report.kind, EventKind::Report);
    // The same photo twice is one reference; its bytes are not in the document.
    assert_eq!(report.photos.len(), 1);
    assert_eq!(report.photos[0].sha256, p.sha256);
    assert_eq!(report.photos[0].state, PhotoState::Pending);
    let doc = store.load(crate::commands::doc_id(&id).unwrap()).unwrap();
    assert!(
        doc.save().len() < 4_000,
        "photo bytes must never go into a document"
    );

    // A photo alone is a comment (补充说明).
    let d = add_event_in(
        &mut store,
        IssueEventInput {
            issue_id: id.clone(),
            kind: EventKind::Comment,
            note: String::new(),
            photos: vec![input(&p)],
        },
    )
    .unwrap();
    assert_eq!(d.timeline.last().unwrap().photos.len(), 1);
    store.photo_uploaded(&p.sha256, 2).unwrap();
    let d = detail_in(&store, &id).unwrap();
    assert!(d
        .timeline
        .iter()
        .all(|e| e.photos.iter().all(|p| p.state == PhotoState::Uploaded)));
}

#[test]
fn at_most_nine_photos_and_only_photos_taken_here() {
    let mut store = enrolled();
    let p = take(&mut store, JPEG).unwrap();
    let ten = vec![input(&p); 10];
    match refs(&store, &ten).unwrap_err() {
        AppError::Invalid { fields, .. } => assert_eq!(fields[0].code, "TooMany"),
        other => panic!("{other:?}"),
    }
    let unknown = PhotoInput {
        sha256: "a".repeat(64),
        taken_at: 0,
    };
    match refs(&store, &[unknown]).unwrap_err() {
        AppError::Invalid { fields, .. } => assert_eq!(fields[0].code, "NotTaken"),
        other => panic!("{other:?}"),
    }
    assert_eq!(refs(&store, &vec![input(&p); 9]).unwrap().len(), 1);
}

#[test]
fn freeing_space_frees_uploaded_photos_never_pending_ones() {
    let mut store = enrolled();
    let a = take(&mut store, JPEG).unwrap();
    let b_bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/e2e-app/fixtures/stairwell.jpg"),
    )
    .unwrap();
    let b = take(&mut store, &b_bytes).unwrap();
    store.photo_uploaded(&b.sha256, 5).unwrap();
    let before = storage_of(&store).unwrap();
    assert_eq!((before.pending, before.uploaded), (1, 1));
    assert!(before.uploaded_bytes > 0);

    let after = free_in(&mut store).unwrap();
    assert_eq!(after.uploaded_bytes, 0);
    assert_eq!(after.pending, 1);
    assert_eq!(after.pending_bytes, before.pending_bytes);
    // The pending photo keeps its bytes; the freed one keeps its thumbnail.
    assert!(store.photo_bytes(&a.sha256).unwrap().is_some());
    assert!(store.photo_bytes(&b.sha256).unwrap().is_none());
    assert!(store.photo_thumb(&b.sha256).unwrap().is_some());
}

#[test]
fn a_visits_photos_show_in_the_households_visit_list() {
    use gridwalk_core::demo::{generate, DemoParams};
    let mut store = enrolled();
    let author = store.device_author().unwrap().unwrap();
    let demo = generate(&DemoParams::single_grid(2, 1, 1_700_000_000_000));
    let mut h = demo.households[0].clone();
    h.grid_id = "g1".into();
    store
        .create_household(&h, author, 1_700_000_000_000)
        .unwrap();
    let p = take(&mut store, JPEG).unwrap();
    let with = crate::commands::visits::create_visit_in(
        &mut store,
        crate::dto::NewVisit {
            household_id: h.id.clone(),
            mode: crate::dto::VisitMode::InPerson,
            findings: "楼道已清理".into(),
            needs: String::new(),
            follow_up: None,
            linked_issues: vec![],
            gps: None,
            photos: vec![input(&p)],
        },
    )
    .unwrap();
    let visits = crate::queries::household_visits(&store, &h.id, None).unwrap();
    let shown = visits
        .iter()
        .find(|v| v.id == with)
        .expect("the visit is listed");
    assert_eq!(shown.photos.len(), 1);
    assert_eq!(shown.photos[0].sha256, p.sha256);
    assert_eq!(shown.photos[0].state, PhotoState::Pending);
}
