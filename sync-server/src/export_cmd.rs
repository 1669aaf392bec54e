//! `gridwalk-server export`: the household ledger to a file, as a named user (their scope
//! applies and the export is audited under their name). Masked unless an admin passes
//! `--full-pii --reason`. On either backend (`--data DIR` or `--database URL`).

use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, TimeZone};
use clap::{Args, ValueEnum};
use gridwalk_district_sqlite::{ConsoleBackend, ExportFiles, ExportFilter, ExportFormat, PiiMode};
use gridwalk_server::now_ms;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Xlsx,
    Geojson,
}

impl From<FormatArg> for ExportFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Csv => ExportFormat::Csv,
            FormatArg::Xlsx => ExportFormat::Xlsx,
            FormatArg::Geojson => ExportFormat::GeoJson,
        }
    }
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: crate::DataArg,
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// The file to write (replaced if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// A community code (12 digits) to export (repeat for several).
    #[arg(long = "community")]
    pub communities: Vec<String>,
    /// A street code (12 digits): all its communities (repeat).
    #[arg(long = "street")]
    pub streets: Vec<String>,
    /// A grid id (repeat).
    #[arg(long = "grid")]
    pub grids: Vec<String>,
    /// Households with this care tag, code or label, e.g. elderly_alone or 独居老人 (repeat).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Household type: Registered/户籍, Migrant/流动, RegisteredAbsent/空挂 (repeat).
    #[arg(long = "household-type")]
    pub household_types: Vec<String>,
    /// Households visited on or after this date (YYYY-MM-DD, Beijing time).
    #[arg(long)]
    pub visited_since: Option<String>,
    /// Leave out persons who moved out or died.
    #[arg(long)]
    pub living_only: bool,
    /// Unmasked ID numbers, phones and notes (an admin only; needs --reason).
    #[arg(long, requires = "reason")]
    pub full_pii: bool,
    /// Why the unmasked data is needed (kept in the audit log; at least 4 characters).
    #[arg(long)]
    pub reason: Option<String>,
    /// The user exporting: their scope applies and the audit log names them.
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
}

/// Midnight of `date` in Beijing, in ms since the epoch.
fn beijing_midnight_ms(date: &str) -> Result<i64> {
    let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .with_context(|| format!("--visited-since {date:?} is not a date like 2025-06-01"))?;
    let midnight = day.and_hms_opt(0, 0, 0).context("midnight")?;
    chrono::FixedOffset::east_opt(8 * 3600)
        .context("UTC+8")?
        .from_local_datetime(&midnight)
        .single()
        .map(|t| t.timestamp_millis())
        .context("--visited-since is not a valid local date")
}

pub fn run(district: &dyn ConsoleBackend, args: ExportArgs) -> Result<()> {
    if args.reason.is_some() && !args.full_pii {
        bail!("--reason is for --full-pii exports; a masked export needs none");
    }
    let Some(user) = district.credentials(&args.as_user)? else {
        bail!("no user named {:?}", args.as_user);
    };
    let scope = district.console_scope(&user.user_id)?;
    let filter = ExportFilter {
        area_codes: args.communities.into_iter().chain(args.streets).collect(),
        grids: args.grids,
        care_tags: args.tags,
        household_types: args.household_types,
        visited_since: args
            .visited_since
            .as_deref()
            .map(beijing_midnight_ms)
            .transpose()?,
        include_departed: !args.living_only,
    };
    let pii = match (args.full_pii, args.reason) {
        (true, Some(reason)) => PiiMode::Full { reason },
        _ => PiiMode::Masked,
    };
    let summary = district.export_to_file(
        &filter,
        &scope,
        pii,
        args.format.into(),
        &args.out,
        now_ms(),
    )?;
    println!(
        "{} rows ({} households, {}) written to {}",
        summary.rows,
        summary.households,
        if summary.masked { "masked" } else { "FULL PII" },
        summary.path.display()
    );
    println!("audit entry {}", summary.audit_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visited_since_is_beijing_midnight() {
        // 2025-06-01 00:00 +08:00 = 2025-05-31 16:00 UTC.
        assert_eq!(
            beijing_midnight_ms("2025-06-01").ok(),
            Some(1_748_707_200_000)
        );
        assert!(beijing_midnight_ms("2025-13-01").is_err());
    }
}
