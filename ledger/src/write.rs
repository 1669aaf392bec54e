//! Writing exports: CSV, XLSX, GeoJSON (filled in by the export work).
