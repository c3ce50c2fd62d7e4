//! `rmeter compare baseline.jtl candidate.jtl`: per label and overall, both runs' figures, their
//! differences, and whether a latency change is real or noise.
//!
//! The test is the Mann-Whitney U test on the two runs' response times, computed exactly from
//! their whole-run HdrHistograms (mid-ranks for ties, normal approximation with tie
//! correction), together with Cliff's delta as the effect size. A change is called real when
//! p < 0.01 **and** |delta| >= 0.147 (a "small" effect or more). Why: load-test samples are
//! large, so a p-value alone calls a 1% drift between two runs of the same system
//! "significant"; the effect size asks whether a randomly chosen candidate request is
//! meaningfully more likely to be slower than a baseline one. The test needs no assumption
//! about the shape of the distribution, which for latencies is skewed and multi-modal.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use super::stats::{Collector, Settings, Stats};
use super::ReportError;
use crate::properties::Properties;

/// p-value below which a difference may be real.
const ALPHA: f64 = 0.01;
/// Cliff's delta from which an effect counts ("small" in Romano et al.'s scale).
const MIN_EFFECT: f64 = 0.147;

/// The verdict on one label's latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Slower,
    Faster,
    NoSignificantChange,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Slower => "slower",
            Change::Faster => "faster",
            Change::NoSignificantChange => "no significant change",
        }
    }
}

/// Mann-Whitney U and Cliff's delta of candidate against baseline.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    pub p_value: f64,
    /// P(candidate > baseline) − P(candidate < baseline), in −1..1.
    pub cliffs_delta: f64,
    pub change: Change,
}

/// Runs the test on two histograms (same precision).
pub fn mann_whitney(baseline: &Histogram<u64>, candidate: &Histogram<u64>) -> Option<Test> {
    let (na, nb) = (baseline.len() as f64, candidate.len() as f64);
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    let values = |h: &Histogram<u64>| -> Vec<(u64, f64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value() as f64))
            .collect()
    };
    let (a, b) = (values(baseline), values(candidate));
    let (mut i, mut j) = (0, 0);
    let (mut rank, mut rank_sum_b, mut ties) = (0.0, 0.0, 0.0);
    while i < a.len() || j < b.len() {
        let value = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.0.min(y.0),
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (None, None) => break,
        };
        let mut count_a = 0.0;
        let mut count_b = 0.0;
        if a.get(i).is_some_and(|x| x.0 == value) {
            count_a = a[i].1;
            i += 1;
        }
        if b.get(j).is_some_and(|y| y.0 == value) {
            count_b = b[j].1;
            j += 1;
        }
        let t = count_a + count_b;
        let mid = rank + (t + 1.0) / 2.0;
        rank_sum_b += count_b * mid;
        ties += t * t * t - t;
        rank += t;
    }
    let n = na + nb;
    let u_b = rank_sum_b - nb * (nb + 1.0) / 2.0;
    let mean = na * nb / 2.0;
    let variance = na * nb / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)).max(1.0));
    let p_value = if variance <= 0.0 {
        1.0
    } else {
        let z = (u_b - mean).abs() / variance.sqrt();
        erfc(z / std::f64::consts::SQRT_2)
    };
    let cliffs_delta = 2.0 * u_b / (na * nb) - 1.0;
    let change = if p_value < ALPHA && cliffs_delta >= MIN_EFFECT {
        Change::Slower
    } else if p_value < ALPHA && cliffs_delta <= -MIN_EFFECT {
        Change::Faster
    } else {
        Change::NoSignificantChange
    };
    Some(Test {
        p_value,
        cliffs_delta,
        change,
    })
}

/// The complementary error function, by the Chebyshev fit of Numerical Recipes' `erfcc`
/// (fractional error below 1.2e-7 everywhere, so small p-values stay meaningful).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// One metric of a `--max-regression` limit.
#[derive(Debug, Clone, PartialEq)]
enum Limit {
    /// Relative increase in percent of a time (`p99=10%`, `avg=5%`) or decrease of `tps`.
    Relative(String, f64),
    /// Absolute increase in ms (`p95=50ms`).
    Absolute(String, f64),
    /// Error-rate increase in percentage points (`errors=0.5pp`).
    ErrorPoints(f64),
}

/// `--max-regression [label=NAME:]METRIC=LIMIT`.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxRegression {
    text: String,
    label: Option<String>,
    limit: Limit,
}

impl std::str::FromStr for MaxRegression {
    type Err = String;

    fn from_str(text: &str) -> Result<MaxRegression, String> {
        let text = text.trim();
        let (label, expr) = super::threshold::split_label(text, "METRIC=LIMIT")?;
        let (metric, value) = expr
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: expected METRIC=LIMIT, e.g. p99=10%"))?;
        let metric = metric.trim().to_ascii_lowercase();
        let value = value.trim();
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{text:?}: {s:?} is not a non-negative number"))
        };
        let time_metric = metric == "avg"
            || metric == "max"
            || metric == "median"
            || (metric.starts_with('p')
                && metric[1..]
                    .parse::<f64>()
                    .is_ok_and(|p| (0.0..=100.0).contains(&p)));
        let limit = if metric == "errors" {
            let points = value.strip_suffix("pp").ok_or_else(|| {
                format!("{text:?}: an error-rate limit is in percentage points, e.g. errors=0.5pp")
            })?;
            Limit::ErrorPoints(number(points)?)
        } else if let Some(pct) = value.strip_suffix('%') {
            if !(time_metric || metric == "tps") {
                return Err(format!("{text:?}: unknown metric {metric:?}"));
            }
            Limit::Relative(metric.clone(), number(pct)?)
        } else if let Some(ms) = value.strip_suffix("ms") {
            if !time_metric {
                return Err(format!("{text:?}: {metric} takes a percentage"));
            }
            Limit::Absolute(metric.clone(), number(ms)?)
        } else {
            return Err(format!(
                "{text:?}: give the limit as N%, Nms or (for errors) Npp"
            ));
        };
        Ok(MaxRegression {
            text: text.to_string(),
            label,
            limit,
        })
    }
}

fn time_metric(s: &Stats, metric: &str) -> f64 {
    match metric {
        "avg" => s.mean,
        "max" => s.max as f64,
        "median" => s.percentile(50.0),
        p => s.percentile(p[1..].parse().unwrap_or(50.0)),
    }
}

/// A limit's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub limit: String,
    pub passed: bool,
    pub detail: String,
}

impl MaxRegression {
    fn check(&self, base: &Stats, cand: &Stats) -> Verdict {
        let (passed, detail) = match &self.limit {
            Limit::ErrorPoints(max) => {
                let delta = cand.error_pct() - base.error_pct();
                (delta <= *max, format!("{:+.2} pp", delta))
            }
            Limit::Relative(metric, max) if metric == "tps" => {
                let drop = relative(base.throughput(), cand.throughput()).map(|r| -r);
                (
                    drop.is_none_or(|d| d <= *max),
                    format!("{:+.1}%", -drop.unwrap_or(0.0)),
                )
            }
            Limit::Relative(metric, max) => {
                let rise = relative(time_metric(base, metric), time_metric(cand, metric));
                (
                    rise.is_none_or(|r| r <= *max),
                    format!("{:+.1}%", rise.unwrap_or(0.0)),
                )
            }
            Limit::Absolute(metric, max) => {
                let rise = time_metric(cand, metric) - time_metric(base, metric);
                (rise <= *max, format!("{rise:+.1} ms"))
            }
        };
        Verdict {
            limit: self.text.clone(),
            passed,
            detail,
        }
    }
}

fn relative(base: f64, cand: f64) -> Option<f64> {
    (base != 0.0).then(|| (cand - base) * 100.0 / base)
}

/// The comparison's outputs.
#[derive(Debug)]
pub struct Comparison {
    pub markdown: String,
    pub json: Value,
    pub verdicts: Vec<Verdict>,
}

fn collect(jtl: &Path, settings: &Settings, props: &Properties) -> Result<Collector, ReportError> {
    let mut collector = Collector::new(settings.clone());
    super::collect(jtl, props, &mut collector)?;
    Ok(collector)
}

/// Compares two CSV JTL files.
pub fn compare(
    baseline: &Path,
    candidate: &Path,
    props: &Properties,
    limits: &[MaxRegression],
) -> Result<Comparison, ReportError> {
    let mut settings = super::settings(props)?;
    settings.percentiles = super::stats::Percentiles::WholeRun;
    let base = collect(baseline, &settings, props)?;
    let cand = collect(candidate, &settings, props)?;
    let mut names: Vec<&str> = base.labels.iter().map(|l| l.name.as_str()).collect();
    for l in &cand.labels {
        if !names.contains(&l.name.as_str()) {
            names.push(&l.name);
        }
    }
    let find = |c: &'_ Collector, name: &str| -> Option<Stats> {
        if name == "Total" {
            return Some(c.total.clone());
        }
        c.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.stats.clone())
    };
    names.push("Total");
    let mut md = format!(
        "## rmeter compare\n\nBaseline `{}` vs candidate `{}`. Latency change: Mann-Whitney U (p < {ALPHA}) with Cliff's delta (|δ| ≥ {MIN_EFFECT}).\n\n",
        baseline.display(),
        candidate.display()
    );
    md.push_str("| label | samples | TPS | error % | p50 ms | p90 ms | p95 ms | p99 ms | max ms | latency change |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    let mut rows = Vec::new();
    for name in &names {
        let (b, c) = (find(&base, name), find(&cand, name));
        let pair = |f: &dyn Fn(&Stats) -> f64, digits: usize| -> String {
            match (&b, &c) {
                (Some(b), Some(c)) => {
                    let (x, y) = (f(b), f(c));
                    let rel = relative(x, y)
                        .map(|r| format!(" ({r:+.1}%)"))
                        .unwrap_or_default();
                    format!("{x:.digits$} → {y:.digits$}{rel}")
                }
                (Some(b), None) => format!("{:.digits$} → –", f(b)),
                (None, Some(c)) => format!("– → {:.digits$}", f(c)),
                (None, None) => "–".into(),
            }
        };
        let test = match (&b, &c) {
            (Some(b), Some(c)) => match (b.histogram(), c.histogram()) {
                (Some(hb), Some(hc)) => mann_whitney(hb, hc),
                _ => None,
            },
            _ => None,
        };
        let change = test.map_or("–".to_string(), |t| {
            format!(
                "**{}** (p={:.2e}, δ={:+.2})",
                t.change.as_str(),
                t.p_value,
                t.cliffs_delta
            )
        });
        let label = if *name == "Total" {
            "**Total**".to_string()
        } else {
            name.replace('|', "\\|")
        };
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {change} |",
            pair(&|s| s.count as f64, 0),
            pair(&|s| s.throughput(), 1),
            pair(&|s| s.error_pct(), 2),
            pair(&|s| s.percentile(50.0), 0),
            pair(&|s| s.percentile(90.0), 0),
            pair(&|s| s.percentile(95.0), 0),
            pair(&|s| s.percentile(99.0), 0),
            pair(&|s| s.max as f64, 0),
        );
        let side = |s: &Option<Stats>| {
            s.as_ref().map(|s| {
                let quantiles: Vec<Value> = QUANTILES
                    .iter()
                    .map(|q| json!([q, s.percentile(*q)]))
                    .collect();
                json!({
                    "samples": s.count, "tps": s.throughput(), "errorPct": s.error_pct(),
                    "p50": s.percentile(50.0), "p90": s.percentile(90.0), "p95": s.percentile(95.0),
                    "p99": s.percentile(99.0), "max": s.max, "mean": s.mean, "quantiles": quantiles,
                })
            })
        };
        rows.push(json!({
            "label": name,
            "baseline": side(&b),
            "candidate": side(&c),
            "test": test.map(|t| json!({"pValue": t.p_value, "cliffsDelta": t.cliffs_delta, "change": t.change.as_str()})),
        }));
    }
    let mut verdicts = Vec::new();
    for limit in limits {
        let name = limit.label.as_deref().unwrap_or("Total");
        verdicts.push(match (find(&base, name), find(&cand, name)) {
            (Some(b), Some(c)) if b.count > 0 && c.count > 0 => limit.check(&b, &c),
            _ => Verdict {
                limit: limit.text.clone(),
                passed: false,
                detail: format!("no samples labelled {name:?} in both runs"),
            },
        });
    }
    if !verdicts.is_empty() {
        md.push_str("\n| max regression | change | verdict |\n|---|---|---|\n");
        for v in &verdicts {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} |",
                v.limit,
                v.detail,
                if v.passed { "PASS" } else { "**FAIL**" }
            );
        }
    }
    let json = json!({
        "baseline": baseline.display().to_string(),
        "candidate": candidate.display().to_string(),
        "method": format!("Mann-Whitney U (p < {ALPHA}) with Cliff's delta (|delta| >= {MIN_EFFECT})"),
        "labels": rows,
        "overTime": {"baseline": over_time(&base), "candidate": over_time(&cand)},
        "limits": verdicts.iter().map(|v| json!({"limit": v.limit, "passed": v.passed, "change": v.detail})).collect::<Vec<_>>(),
    });
    Ok(Comparison {
        markdown: md,
        json,
        verdicts,
    })
}

/// Quantiles of the percentile-distribution curves.
const QUANTILES: [f64; 12] = [
    1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.9, 100.0,
];

/// Each run's p95 and throughput per bucket, with time as seconds since the run's start, so
/// that both runs line up.
fn over_time(c: &Collector) -> Value {
    let start = c.buckets.keys().next().copied().unwrap_or(0);
    let per_s = 1000.0 / c.granularity_ms as f64;
    let points: Vec<Value> = c
        .buckets
        .iter()
        .map(|(t, b)| {
            let p95 = (!b.ok_times.is_empty()).then(|| b.ok_times.value_at_quantile(0.95));
            json!([(t - start) as f64 / 1000.0, p95, b.hits as f64 * per_s])
        })
        .collect();
    points.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values: impl Iterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new(3).unwrap();
        h.auto(true);
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn same_distribution_is_no_change_and_a_shift_is_real() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut draw = |shift: u64| {
            histogram(
                (0..5_000)
                    .map(|_| 50 + rng.u64(0..100) + shift)
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        };
        let (a, b, slow) = (draw(0), draw(0), draw(30));
        let same = mann_whitney(&a, &b).unwrap();
        assert_eq!(same.change, Change::NoSignificantChange, "{same:?}");
        let shifted = mann_whitney(&a, &slow).unwrap();
        assert_eq!(shifted.change, Change::Slower, "{shifted:?}");
        assert!(
            shifted.p_value < 1e-10 && shifted.cliffs_delta > 0.3,
            "{shifted:?}"
        );
        assert_eq!(mann_whitney(&slow, &a).unwrap().change, Change::Faster);
    }

    #[test]
    fn erfc_is_accurate() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(3.0) - 2.209_049_7e-5).abs() < 1e-9);
    }

    #[test]
    fn max_regression_limits() {
        let ok = |s: &str| s.parse::<MaxRegression>().is_ok();
        assert!(
            ok("p99=10%")
                && ok("errors=0.5pp")
                && ok("label=TX03 Transfer:p95=50ms")
                && ok("tps=5%")
        );
        for bad in [
            "p99",
            "p99=10",
            "errors=1%",
            "tps=5ms",
            "latency=5%",
            "p99=-1%",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }
}
