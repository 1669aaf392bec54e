//! Small statistics, table printing, and the demo district as documents.

use gridwalk_core::demo::DemoDistrict;
use gridwalk_core::{Author, DocId, DocKind, Document};

use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The q-quantile (0..=1) of a sample, nearest rank.
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub fn median(samples: &[f64]) -> f64 {
    quantile(samples, 0.5)
}

/// One row of the printed table: what, measured, target, met?
pub fn row(what: &str, value: f64, unit: &str, target: Option<(f64, bool)>) {
    let target_text = match target {
        Some((t, lower_is_better)) => {
            let met = if lower_is_better {
                value <= t
            } else {
                value >= t
            };
            format!(
                "{} {t} {unit}  {}",
                if lower_is_better { "≤" } else { "≥" },
                if met { "met" } else { "NOT met" }
            )
        }
        None => String::new(),
    };
    println!("{what:<40} {value:>12.2} {unit:<6} {target_text}");
}

/// Every household, visit and issue of a demo district as a document with its grid.
pub fn demo_documents(
    data: &DemoDistrict,
    author: Author,
    now_ms: i64,
) -> anyhow::Result<Vec<(Document, String)>> {
    let mut docs = Vec::new();
    for h in &data.households {
        let id = DocId(h.id.parse()?);
        docs.push((
            Document::create(DocKind::Household, id, h, author, now_ms)?,
            h.grid_id.clone(),
        ));
    }
    for v in &data.visits {
        let id = DocId(v.id.parse()?);
        docs.push((
            Document::create(DocKind::Visit, id, v, author, now_ms)?,
            v.grid_id.clone(),
        ));
    }
    for i in &data.issues {
        let id = DocId(i.id.parse()?);
        docs.push((
            Document::create(DocKind::Issue, id, i, author, now_ms)?,
            i.grid_id.clone(),
        ));
    }
    Ok(docs)
}
