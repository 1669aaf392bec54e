//! Reading XLSX and CSV ledgers into cells (filled in by the import work).
