//! GeoJSON: a FeatureCollection with one Feature per household (a Point at its GPS, or a
//! null geometry without GPS), written as the rows stream: rows of one household arrive
//! together, so only the household being read is held.

use super::LedgerSink;
use crate::{LedgerError, Result};
use gridwalk_core::ledger::{LedgerColumn, LedgerRow};
use serde_json::{json, Value};
use std::io::{BufWriter, Write};

pub struct GeoJsonLedger<W: Write> {
    out: BufWriter<W>,
    current: Option<HouseholdFeature>,
    features: u64,
}

/// The household being gathered from its members' rows.
struct HouseholdFeature {
    id: String,
    first: LedgerRow,
    living: u64,
    head_name: String,
    care_tags: Vec<String>,
}

impl HouseholdFeature {
    fn start(row: &LedgerRow) -> HouseholdFeature {
        let mut h = HouseholdFeature {
            id: row.get(LedgerColumn::HouseholdId).to_string(),
            first: row.clone(),
            living: 0,
            head_name: String::new(),
            care_tags: Vec::new(),
        };
        h.add(row);
        h
    }

    fn add(&mut self, row: &LedgerRow) {
        let living = row.get(LedgerColumn::Status) == "在住";
        if living && !row.get(LedgerColumn::Name).is_empty() {
            self.living += 1;
        }
        if row.get(LedgerColumn::Relation) == "户主" && self.head_name.is_empty() {
            self.head_name = row.get(LedgerColumn::Name).to_string();
        }
        if living {
            for tag in row.get(LedgerColumn::CareTags).split('、') {
                if !tag.is_empty() && !self.care_tags.iter().any(|t| t == tag) {
                    self.care_tags.push(tag.to_string());
                }
            }
        }
    }

    fn to_json(&self) -> Value {
        let r = &self.first;
        let coordinate = |c| {
            r.get(c)
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
        };
        let geometry = match (
            coordinate(LedgerColumn::Longitude),
            coordinate(LedgerColumn::Latitude),
        ) {
            (Some(lon), Some(lat)) => json!({"type": "Point", "coordinates": [lon, lat]}),
            _ => Value::Null,
        };
        let address = format!(
            "{}{}单元{}",
            r.get(LedgerColumn::Building),
            r.get(LedgerColumn::Unit),
            r.get(LedgerColumn::Room)
        );
        json!({
            "type": "Feature",
            "id": self.id,
            "geometry": geometry,
            "properties": {
                "household_id": self.id,
                "address": address,
                "community": r.get(LedgerColumn::Community),
                "grid": r.get(LedgerColumn::Grid),
                "household_type": r.get(LedgerColumn::HouseholdType),
                "housing_use": r.get(LedgerColumn::HousingUse),
                "member_count": self.living,
                "head_name": self.head_name,
                "care_tags": self.care_tags,
            }
        })
    }
}

impl<W: Write> GeoJsonLedger<W> {
    pub fn new(out: W) -> Result<GeoJsonLedger<W>> {
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        out.write_all(br#"{"type":"FeatureCollection","features":["#)?;
        Ok(GeoJsonLedger {
            out,
            current: None,
            features: 0,
        })
    }

    fn write_feature(&mut self, h: &HouseholdFeature) -> Result<()> {
        if self.features > 0 {
            self.out.write_all(b",\n")?;
        } else {
            self.out.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut self.out, &h.to_json())
            .map_err(|e| LedgerError::Write(format!("GeoJSON: {e}")))?;
        self.features += 1;
        Ok(())
    }

    /// Close the collection and hand back the underlying writer.
    pub fn into_inner(mut self) -> Result<W> {
        if let Some(h) = self.current.take() {
            self.write_feature(&h)?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out
            .into_inner()
            .map_err(|e| LedgerError::Io(e.into_error()))
    }
}

impl<W: Write> LedgerSink for GeoJsonLedger<W> {
    fn row(&mut self, row: &LedgerRow) -> Result<()> {
        match &mut self.current {
            Some(h) if h.id == row.get(LedgerColumn::HouseholdId) => h.add(row),
            _ => {
                if let Some(done) = self.current.replace(HouseholdFeature::start(row)) {
                    self.write_feature(&done)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.into_inner()?.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str, relation: &str, tags: &str, lon: &str) -> LedgerRow {
        let mut r = LedgerRow::empty();
        r.set(LedgerColumn::HouseholdId, id);
        r.set(LedgerColumn::Name, name);
        r.set(LedgerColumn::Relation, relation);
        r.set(LedgerColumn::Status, "在住");
        r.set(LedgerColumn::CareTags, tags);
        r.set(LedgerColumn::Building, "3栋");
        r.set(LedgerColumn::Unit, "2");
        r.set(LedgerColumn::Room, "501");
        r.set(LedgerColumn::Longitude, lon);
        r.set(
            LedgerColumn::Latitude,
            if lon.is_empty() { "" } else { "28.2" },
        );
        r
    }

    #[test]
    fn one_feature_per_household() {
        let mut sink = GeoJsonLedger::new(Vec::new()).expect("geojson");
        for r in [
            row("a", "子", "子女", "留守儿童", "112.9"),
            row("a", "父", "户主", "低保", "112.9"),
            row("b", "王", "户主", "", ""),
        ] {
            sink.row(&r).expect("row");
        }
        let bytes = sink.into_inner().expect("bytes");
        let v: Value = serde_json::from_slice(&bytes).expect("parses");
        let features = v["features"].as_array().expect("features");
        assert_eq!(features.len(), 2);
        assert_eq!(features[0]["geometry"]["coordinates"], json!([112.9, 28.2]));
        assert_eq!(features[0]["properties"]["head_name"], "父");
        assert_eq!(features[0]["properties"]["member_count"], 2);
        assert_eq!(
            features[0]["properties"]["care_tags"],
            json!(["留守儿童", "低保"])
        );
        assert_eq!(features[0]["properties"]["address"], "3栋2单元501");
        assert!(features[1]["geometry"].is_null());
    }

    #[test]
    fn empty_export_is_an_empty_collection() {
        let sink = GeoJsonLedger::new(Vec::new()).expect("geojson");
        let v: Value = serde_json::from_slice(&sink.into_inner().expect("bytes")).expect("json");
        assert_eq!(v["features"], json!([]));
    }
}
