//! `statistics.json` in JMeter's schema, and the page's data (the schema the page script reads).

use std::path::Path;

use serde_json::{json, Map, Value};

use super::stats::{Collector, Settings, Stats};
use crate::properties::Properties;

/// The three percentiles of the statistics table (`aggregate_rpt_pct1..3`: 90, 95, 99).
fn percentile_settings(props: &Properties) -> [f64; 3] {
    let get = |name: &str, default: f64| {
        props
            .get(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p))
            .unwrap_or(default)
    };
    [
        get("aggregate_rpt_pct1", 90.0),
        get("aggregate_rpt_pct2", 95.0),
        get("aggregate_rpt_pct3", 99.0),
    ]
}

/// The f64 whose shortest digits are those of the f32 nearest `x` (`1.1764706`, as Java prints
/// a float), where a plain widening would print `1.1764706373214722`.
fn as_float(x: f64) -> f64 {
    (x as f32).to_string().parse().unwrap_or(x)
}

fn statistics_entry(name: &str, s: &Stats, pcts: [f64; 3]) -> Value {
    json!({
        "transaction": name,
        "sampleCount": s.count,
        "errorCount": s.errors,
        // JMeter computes the error percentage as a float and prints the float's digits.
        "errorPct": as_float(s.error_pct()),
        "meanResTime": s.mean,
        "medianResTime": s.percentile(50.0),
        "minResTime": s.min_or_zero() as f64,
        "maxResTime": s.max as f64,
        "pct1ResTime": s.percentile(pcts[0]),
        "pct2ResTime": s.percentile(pcts[1]),
        "pct3ResTime": s.percentile(pcts[2]),
        "throughput": s.throughput(),
        "receivedKBytesPerSec": s.kb_per_s(s.bytes),
        "sentKBytesPerSec": s.kb_per_s(s.sent_bytes),
    })
}

/// JMeter's `statistics.json`: one entry per label and `Total`.
pub fn statistics(c: &Collector, props: &Properties) -> String {
    let pcts = percentile_settings(props);
    let mut map = Map::new();
    for label in &c.labels {
        map.insert(
            label.name.clone(),
            statistics_entry(&label.name, &label.stats, pcts),
        );
    }
    map.insert("Total".into(), statistics_entry("Total", &c.total, pcts));
    serde_json::to_string_pretty(&Value::Object(map)).unwrap_or_default()
}

fn row(name: &str, s: &Stats) -> Value {
    json!({
        "label": name,
        "samples": s.count,
        "errors": s.errors,
        "errorPct": s.error_pct(),
        "mean": s.mean,
        "min": s.min_or_zero(),
        "max": s.max,
        "p50": s.percentile(50.0),
        "p90": s.percentile(90.0),
        "p95": s.percentile(95.0),
        "p99": s.percentile(99.0),
        "tps": s.throughput(),
        "receivedKBs": s.kb_per_s(s.bytes),
        "sentKBs": s.kb_per_s(s.sent_bytes),
        "apdex": s.apdex(),
    })
}

/// Error types with counts, largest first (ties by name).
fn sorted_errors(errors: &std::collections::HashMap<String, u64>) -> Vec<(&str, u64)> {
    let mut list: Vec<(&str, u64)> = errors.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list
}

/// The data the page script draws from.
pub fn page_data(c: &Collector, settings: &Settings, props: &Properties, jtl: &Path) -> Value {
    let total = &c.total;
    let series_filter = props
        .get("jmeter.reportgenerator.exporter.html.series_filter")
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| regex::Regex::new(&format!("^(?:{f})$")).ok());
    let shown = |name: &str| series_filter.as_ref().is_none_or(|re| re.is_match(name));
    let mut statistics: Vec<Value> = c.labels.iter().map(|l| row(&l.name, &l.stats)).collect();
    statistics.push(row("Total", total));
    let all_errors = total.errors.max(1) as f64;
    let errors: Vec<Value> = sorted_errors(&c.errors)
        .into_iter()
        .map(|(kind, n)| {
            json!({
                "type": kind,
                "count": n,
                "pctOfErrors": n as f64 * 100.0 / all_errors,
                "pctOfAll": n as f64 * 100.0 / total.count.max(1) as f64,
            })
        })
        .collect();
    let top_errors: Vec<Value> = c
        .labels
        .iter()
        .filter(|l| !l.is_transaction && l.stats.errors > 0)
        .map(|l| {
            let top: Vec<Value> = sorted_errors(&l.errors)
                .into_iter()
                .take(5)
                .map(|(kind, n)| json!({"type": kind, "count": n}))
                .collect();
            json!({"label": l.name, "samples": l.stats.count, "errors": l.stats.errors, "top": top})
        })
        .collect();

    let g = c.granularity_ms;
    let per_s = 1000.0 / g as f64;
    let times: Vec<i64> = match (c.buckets.keys().next(), c.buckets.keys().last()) {
        (Some(&first), Some(&last)) => (first..=last).step_by(g as usize).collect(),
        _ => Vec::new(),
    };
    let at = |t: &i64| c.buckets.get(t);
    let series = |f: &dyn Fn(&super::stats::Bucket) -> Option<f64>| -> Value {
        times
            .iter()
            .map(|t| at(t).and_then(f))
            .collect::<Vec<_>>()
            .into()
    };
    // A rate is 0, not missing, in a bucket where nothing happened.
    let rate = |f: &dyn Fn(&super::stats::Bucket) -> f64| -> Value {
        times
            .iter()
            .map(|t| at(t).map_or(0.0, f))
            .collect::<Vec<_>>()
            .into()
    };
    let pct = |p: f64| {
        series(&|b| (!b.ok_times.is_empty()).then(|| b.ok_times.value_at_quantile(p) as f64))
    };
    let mut threads = Map::new();
    for (i, group) in c.groups.iter().enumerate() {
        threads.insert(
            group.clone(),
            series(&|b| {
                b.threads
                    .get(&(i as u16))
                    .map(|(sum, n)| (*sum as f64 / *n as f64).round())
            }),
        );
    }
    let mut codes = Map::new();
    for (i, code) in c.codes.iter().enumerate() {
        codes.insert(
            code.clone(),
            rate(&|b| *b.codes.get(&(i as u16)).unwrap_or(&0) as f64 * per_s),
        );
    }
    let mut transactions = Map::new();
    let mut response_times = Map::new();
    let mut latency = Map::new();
    let mut connect = Map::new();
    let mut distribution = Map::new();
    for (i, label) in c.labels.iter().enumerate() {
        if !shown(&label.name) {
            continue;
        }
        let lb = |b: &super::stats::Bucket| b.labels.get(i).copied().unwrap_or_default();
        let mean = |f: fn(&super::stats::LabelBucket) -> u64| {
            series(&|b| {
                let x = lb(b);
                let n = x.ok + x.ko;
                (n > 0).then(|| f(&x) as f64 / n as f64)
            })
        };
        transactions.insert(
            label.name.clone(),
            json!({
                "ok": rate(&|b| lb(b).ok as f64 * per_s),
                "ko": rate(&|b| lb(b).ko as f64 * per_s),
            }),
        );
        response_times.insert(label.name.clone(), mean(|x| x.elapsed));
        latency.insert(label.name.clone(), mean(|x| x.latency));
        connect.insert(label.name.clone(), mean(|x| x.connect));
        let points: Vec<Value> = label
            .distribution
            .iter()
            .map(|(ms, n)| json!([ms, n]))
            .collect();
        distribution.insert(label.name.clone(), points.into());
    }
    let rt_vs_throughput: Vec<Value> = c
        .buckets
        .values()
        .filter(|b| !b.ok_times.is_empty())
        .map(|b| {
            json!([
                b.hits as f64 * per_s,
                b.ok_times.value_at_quantile(0.5) as f64
            ])
        })
        .collect();
    let start = total.first_start.min(i64::MAX - 1);
    json!({
        "title": props.get("jmeter.reportgenerator.report_title").filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "rmeter report".into()),
        "source": jtl.display().to_string(),
        "generated": crate::clock::epoch_millis(),
        "percentileNote": match settings.percentiles {
            super::stats::Percentiles::WholeRun => "Percentiles over the whole run (HdrHistogram, 3 significant digits; exact below 2048 ms). Over-time percentiles: 2 significant digits.".to_string(),
            super::stats::Percentiles::Window(n) => format!("Percentiles over the last {n} samples of each label, as JMeter computes them."),
        },
        "summary": {
            "start": if total.count > 0 { start } else { 0 },
            "end": if total.count > 0 { total.last_end } else { 0 },
            "durationMs": if total.count > 0 { total.last_end - total.first_start } else { 0 },
            "samples": total.count,
            "errors": total.errors,
            "errorPct": total.error_pct(),
            "tps": if total.count > 0 { total.throughput() } else { 0.0 },
            "maxUsers": c.max_users,
            "apdex": {
                "score": (total.count > 0).then(|| total.apdex()),
                "satisfiedMs": settings.apdex.satisfied_ms,
                "toleratedMs": settings.apdex.tolerated_ms,
            },
        },
        "statistics": statistics,
        "errors": errors,
        "topErrors": top_errors,
        "overTime": {
            "granularityMs": g,
            "times": times,
            "responseTimePercentiles": {"p50": pct(50.0 / 100.0), "p90": pct(0.9), "p95": pct(0.95), "p99": pct(0.99)},
            "activeThreads": threads,
            "transactions": transactions,
            "hits": rate(&|b| b.hits as f64 * per_s),
            "errors": rate(&|b| b.errors as f64 * per_s),
            "codes": codes,
            "responseTimes": response_times,
            "latency": latency,
            "connect": connect,
            "bytes": {
                "received": rate(&|b| b.bytes as f64 * per_s),
                "sent": rate(&|b| b.sent_bytes as f64 * per_s),
            },
        },
        "distribution": {"bucketMs": settings.distribution_ms, "labels": distribution},
        "rtVsThroughput": rt_vs_throughput,
    })
}
