//! The report: JMeter's HTML dashboard as one self-contained page plus `statistics.json` in
//! JMeter's schema, from a CSV JTL (`rmeter report`, `-g JTL -o DIR`, `-e -o DIR`).
//!
//! The JTL is streamed once (`read`) into a `stats::Collector` whose memory depends on labels
//! and over-time buckets, not rows; `json` turns the collector into `statistics.json` and the
//! page's data, and `html` fills the page template.

pub mod compare;
pub mod html;
pub mod json;
pub mod read;
pub mod stats;
pub mod threshold;

use std::path::{Path, PathBuf};

use crate::properties::Properties;

/// Why a report was not written. The output folder is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error("Cannot write to '{0}' as folder is not empty (use -f to empty it)")]
    FolderNotEmpty(String),
    #[error("cannot write the report to {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    #[error("invalid {prop}: {message}")]
    Setting { prop: String, message: String },
}

/// What a finished report says about itself.
#[derive(Debug)]
pub struct ReportSummary {
    pub rows: u64,
    pub folder: PathBuf,
    /// The verdicts of the thresholds asked for.
    pub thresholds: Vec<threshold::Outcome>,
}

const PREFIX: &str = "jmeter.reportgenerator.";

/// Reads the `jmeter.reportgenerator.*` (and a few save-service) properties.
pub fn settings(props: &Properties) -> Result<stats::Settings, ReportError> {
    let int = |name: &str, default: i64| props.int(&format!("{PREFIX}{name}"), default);
    let regex = |name: &str| -> Result<Option<regex::Regex>, ReportError> {
        let prop = format!("{PREFIX}{name}");
        match props.get(&prop).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(pattern) => regex::Regex::new(&format!("^(?:{pattern})$"))
                .map(Some)
                .map_err(|e| ReportError::Setting {
                    prop,
                    message: e.to_string(),
                }),
        }
    };
    let window = props.get(&format!("{PREFIX}statistic_window"));
    let percentiles = match (props.get("rmeter.report.percentiles").as_deref(), window) {
        (Some("jmeter"), w) | (None, w @ Some(_)) => {
            stats::Percentiles::Window(w.and_then(|w| w.trim().parse().ok()).unwrap_or(20_000))
        }
        _ => stats::Percentiles::WholeRun,
    };
    Ok(stats::Settings {
        percentiles,
        apdex: stats::Apdex {
            satisfied_ms: int("apdex_satisfied_threshold", 500).max(0) as u64,
            tolerated_ms: int("apdex_tolerated_threshold", 1500).max(0) as u64,
            per_label: apdex_per_transaction(
                &props
                    .get(&format!("{PREFIX}apdex_per_transaction"))
                    .unwrap_or_default(),
            )?,
        },
        sample_filter: regex("sample_filter")?,
        granularity_ms: props
            .get(&format!("{PREFIX}overall_granularity"))
            .and_then(|g| g.trim().parse::<u64>().ok())
            .filter(|&g| g > 0),
        failure_message_errors: props.bool(
            "jmeter.save.saveservice.assertion_results_failure_message",
            true,
        ),
        distribution_ms: int(
            "graph.responseTimeDistribution.property.set_granularity",
            100,
        )
        .max(1) as u64,
    })
}

/// `apdex_per_transaction`: `label:satisfied|tolerated` items separated by `;`; a label may be
/// a regular expression.
fn apdex_per_transaction(text: &str) -> Result<Vec<(regex::Regex, u64, u64)>, ReportError> {
    let bad = |message: String| ReportError::Setting {
        prop: format!("{PREFIX}apdex_per_transaction"),
        message,
    };
    let mut out = Vec::new();
    for item in text.split(';').map(str::trim).filter(|i| !i.is_empty()) {
        let (label, limits) = item
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("{item:?} is not label:satisfied|tolerated")))?;
        let (s, t) = limits
            .split_once('|')
            .ok_or_else(|| bad(format!("{item:?} is not label:satisfied|tolerated")))?;
        let number = |n: &str| {
            n.trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("{n:?} in {item:?} is not a number of ms")))
        };
        let re = regex::Regex::new(&format!("^(?:{})$", label.trim()))
            .map_err(|e| bad(format!("{label:?}: {e}")))?;
        out.push((re, number(s)?, number(t)?));
    }
    Ok(out)
}

/// Checks JMeter's rule for the output folder: absent or empty, unless `force` (JMeter's -f),
/// which empties it.
pub fn prepare_folder(folder: &Path, force: bool) -> Result<(), ReportError> {
    let write_error = |cause| ReportError::Write {
        path: folder.display().to_string(),
        cause,
    };
    match std::fs::read_dir(folder) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_error(e)),
        Ok(mut entries) => {
            if entries.next().is_none() {
                return Ok(());
            }
            if !force {
                return Err(ReportError::FolderNotEmpty(folder.display().to_string()));
            }
            std::fs::remove_dir_all(folder).map_err(write_error)
        }
    }
}

/// Reads `jtl` and writes `index.html` and `statistics.json` into `folder`, which must be
/// absent or empty (see [`prepare_folder`]). Nothing is written unless the whole JTL was read.
pub fn generate(
    jtl: &Path,
    folder: &Path,
    props: &Properties,
    thresholds: &[threshold::Threshold],
) -> Result<ReportSummary, ReportError> {
    let settings = settings(props)?;
    let mut collector = stats::Collector::new(settings.clone());
    let rows = collect(jtl, props, &mut collector)?;
    let statistics = json::statistics(&collector, props);
    let page = json::page_data(&collector, &settings, props, jtl);
    write_file(folder, "statistics.json", &statistics)?;
    write_file(folder, "index.html", &html::page(&page))?;
    let labels = || collector.labels.iter().map(|l| (l.name.as_str(), &l.stats));
    Ok(ReportSummary {
        rows,
        folder: folder.to_path_buf(),
        thresholds: thresholds
            .iter()
            .map(|t| t.evaluate(labels(), &collector.total))
            .collect(),
    })
}

/// Writes a comparison's `compare.json` and `index.html` into `folder`.
pub fn write_comparison(
    folder: &Path,
    comparison: &compare::Comparison,
) -> Result<(), ReportError> {
    write_file(
        folder,
        "compare.json",
        &serde_json::to_string_pretty(&comparison.json).unwrap_or_default(),
    )?;
    write_file(folder, "index.html", &html::compare_page(&comparison.json))
}

/// Streams a CSV JTL into `collector`, with the delimiter and timestamp meaning the properties
/// give (`default_delimiter`, `sampleresult.timestamp.start`); returns the rows read.
pub fn collect(
    jtl: &Path,
    props: &Properties,
    collector: &mut stats::Collector,
) -> Result<u64, ReportError> {
    let delimiter = match props
        .get("jmeter.save.saveservice.default_delimiter")
        .as_deref()
    {
        Some("\\t") => b'\t',
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        _ => b',',
    };
    let timestamp_is_start = props.bool("sampleresult.timestamp.start", true);
    Ok(read::read_jtl(jtl, delimiter, timestamp_is_start, |row| {
        collector.add(row)
    })?)
}

fn write_file(folder: &Path, name: &str, text: &str) -> Result<(), ReportError> {
    std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(folder.join(name), text))
        .map_err(|cause| ReportError::Write {
            path: folder.join(name).display().to_string(),
            cause,
        })
}
