//! `--threshold` expressions: pass/fail limits on a run's or a report's statistics, for CI.
//!
//! `[label=NAME:]METRIC OP VALUE[UNIT]`: METRIC is `avg`, `min`, `max`, `median`, `pNN` (any
//! percentile, `p99.9` too), `errors` (a percentage with `%`, else a count), `tps`, `samples`
//! or `apdex`; OP is `<`, `<=`, `>` or `>=`; times take `ms` (default) or `s`. Without a label
//! the limit applies to the total. Properties named `rmeter.threshold.<anything>` add more.

use std::fmt;

use super::stats::Stats;
use crate::properties::Properties;

/// The exit code of a run or report whose thresholds were breached.
pub const EXIT_CODE: u8 = 3;

#[derive(Debug, Clone, PartialEq)]
enum Metric {
    Avg,
    Min,
    Max,
    Percentile(f64),
    ErrorPct,
    ErrorCount,
    Tps,
    Samples,
    Apdex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    text: String,
    label: Option<String>,
    metric: Metric,
    op: Op,
    limit: f64,
}

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Threshold, String> {
        let text = text.trim();
        let (label, expr) = split_label(text, "METRIC<VALUE")?;
        let at = expr
            .find(['<', '>'])
            .ok_or_else(|| format!("{text:?}: expected an operator (<, <=, >, >=)"))?;
        let (name, rest) = expr.split_at(at);
        let (op, value) = match rest.as_bytes() {
            [b'<', b'=', ..] => (Op::Le, &rest[2..]),
            [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
            [b'<', ..] => (Op::Lt, &rest[1..]),
            _ => (Op::Gt, &rest[1..]),
        };
        let value = value.trim();
        let (number, unit) = split_unit(value);
        let number: f64 = number
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| format!("{text:?}: {value:?} is not a number"))?;
        let name = name.trim().to_ascii_lowercase();
        let time = |unit: &str| match unit {
            "" | "ms" => Ok(number),
            "s" => Ok(number * 1000.0),
            other => Err(format!("{text:?}: unit {other:?} is not ms or s")),
        };
        let plain = |unit: &str| match unit {
            "" => Ok(number),
            other => Err(format!("{text:?}: {name} takes no unit, got {other:?}")),
        };
        let (metric, limit) = match name.as_str() {
            "avg" | "mean" => (Metric::Avg, time(unit)?),
            "min" => (Metric::Min, time(unit)?),
            "max" => (Metric::Max, time(unit)?),
            "median" => (Metric::Percentile(50.0), time(unit)?),
            "errors" | "error" if unit == "%" => (Metric::ErrorPct, number),
            "errors" | "error" => (Metric::ErrorCount, plain(unit)?),
            "tps" | "throughput" => (Metric::Tps, plain(unit.trim_end_matches("/s"))?),
            "samples" | "count" => (Metric::Samples, plain(unit)?),
            "apdex" => (Metric::Apdex, plain(unit)?),
            p if p.starts_with('p') => {
                let pct: f64 = p[1..]
                    .parse()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| format!("{text:?}: {p} is not a percentile"))?;
                (Metric::Percentile(pct), time(unit)?)
            }
            other => return Err(format!("{text:?}: unknown metric {other:?}")),
        };
        Ok(Threshold {
            text: text.to_string(),
            label,
            metric,
            op,
            limit,
        })
    }
}

/// `label=NAME:REST` → `(Some(NAME), REST)`; without the prefix, `(None, text)`. The last `:`
/// ends the name, so a label may contain colons. `shape` names REST in the error message.
pub fn split_label<'t>(text: &'t str, shape: &str) -> Result<(Option<String>, &'t str), String> {
    match text.strip_prefix("label=") {
        Some(rest) => rest
            .rsplit_once(':')
            .map(|(label, expr)| (Some(label.to_string()), expr))
            .ok_or_else(|| format!("{text:?}: expected label=NAME:{shape}")),
        None => Ok((None, text)),
    }
}

fn split_unit(value: &str) -> (&str, &str) {
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(value.len());
    (value[..end].trim(), value[end..].trim())
}

/// The thresholds set as `rmeter.threshold.*` properties, in name order.
pub fn from_properties(props: &Properties) -> Result<Vec<Threshold>, String> {
    props
        .snapshot()
        .into_iter()
        .filter(|(name, _)| name.starts_with("rmeter.threshold."))
        .map(|(name, value)| value.parse().map_err(|e| format!("{name}: {e}")))
        .collect()
}

/// A threshold's verdict.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub threshold: String,
    pub passed: bool,
    /// What was measured, with its unit (`612.0 ms`), or why nothing was.
    pub actual: String,
}

impl Threshold {
    /// Evaluates against per-label statistics and the total.
    pub fn evaluate<'a>(
        &self,
        mut labels: impl Iterator<Item = (&'a str, &'a Stats)>,
        total: &Stats,
    ) -> Outcome {
        let stats = match &self.label {
            None => Some(total),
            Some(name) => labels.find(|(l, _)| l == name).map(|(_, s)| s),
        };
        let Some(stats) = stats.filter(|s| s.count > 0) else {
            return Outcome {
                threshold: self.text.clone(),
                passed: false,
                actual: format!(
                    "no samples{}",
                    self.label
                        .as_ref()
                        .map(|l| format!(" labelled {l:?}"))
                        .unwrap_or_default()
                ),
            };
        };
        let (value, unit) = match self.metric {
            Metric::Avg => (stats.mean, " ms"),
            Metric::Min => (stats.min as f64, " ms"),
            Metric::Max => (stats.max as f64, " ms"),
            Metric::Percentile(p) => (stats.percentile(p), " ms"),
            Metric::ErrorPct => (stats.error_pct(), "%"),
            Metric::ErrorCount => (stats.errors as f64, " errors"),
            Metric::Tps => (stats.throughput(), "/s"),
            Metric::Samples => (stats.count as f64, " samples"),
            Metric::Apdex => (stats.apdex(), ""),
        };
        let passed = match self.op {
            Op::Lt => value < self.limit,
            Op::Le => value <= self.limit,
            Op::Gt => value > self.limit,
            Op::Ge => value >= self.limit,
        };
        Outcome {
            threshold: self.text.clone(),
            passed,
            actual: format!("{value:.2}{unit}"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        write!(f, "{verdict}  {:<40} {}", self.threshold, self.actual)
    }
}

/// The table printed after a run or report.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::from("Thresholds:\n");
    for o in outcomes {
        out.push_str(&format!("  {o}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::stats::{Measure, Percentiles};
    use super::*;

    fn stats(times: &[u64], failures: usize) -> Stats {
        let mut s = Stats::new(Percentiles::WholeRun);
        for (i, &t) in times.iter().enumerate() {
            let m = Measure {
                elapsed: t,
                success: i >= failures,
                bytes: 0,
                sent_bytes: 0,
                start: i as i64 * 100,
                end: i as i64 * 100 + t as i64,
            };
            s.record(m, (500, 1500));
        }
        s
    }

    #[test]
    fn parses_and_evaluates() {
        let total = stats(&[100, 200, 300, 400, 1000], 1);
        let tx = stats(&[600, 700], 0);
        let labels = || [("TX03 Transfer", &tx)].into_iter();
        let check = |expr: &str| {
            let t: Threshold = expr.parse().unwrap();
            t.evaluate(labels(), &total).passed
        };
        assert!(check("p99<1.1s"));
        assert!(!check("p99<800ms"));
        assert!(check("avg<=400"));
        assert!(check("errors<25%") && !check("errors<20%"));
        assert!(check("errors<=1") && !check("errors<1"));
        assert!(!check("label=TX03 Transfer:p95<500ms"));
        assert!(check("label=TX03 Transfer:max<=700ms"));
        assert!(check("samples>=5"));
        assert!(check("tps>1"));
        let missing: Threshold = "label=nope:p95<1".parse().unwrap();
        let outcome = missing.evaluate(labels(), &total);
        assert!(!outcome.passed && outcome.actual.contains("no samples"));
    }

    #[test]
    fn rejects_malformed_expressions() {
        for bad in [
            "p99",
            "p99<",
            "p101<5",
            "avg<5h",
            "errors<5x",
            "latency<5",
            "label=x p99<5",
        ] {
            assert!(bad.parse::<Threshold>().is_err(), "{bad}");
        }
    }
}
