//! The console: JMeter's summariser lines (reference §2.3), and a per-label table from whole-run
//! HdrHistograms that JMeter lacks.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::report::stats::{Measure, Percentiles, Stats};
use crate::sample::Sample;

/// Running totals of one summariser line.
#[derive(Debug, Clone)]
struct Totals {
    count: u64,
    errors: u64,
    sum_elapsed: u64,
    min: u64,
    max: u64,
    /// When this total started (test start, or the last delta report), epoch ms.
    start_ms: i64,
    /// End of the last sample added, epoch ms.
    end_ms: i64,
}

impl Totals {
    fn new(start_ms: i64) -> Totals {
        Totals {
            count: 0,
            errors: 0,
            sum_elapsed: 0,
            min: u64::MAX,
            max: 0,
            start_ms,
            end_ms: start_ms,
        }
    }

    fn add(&mut self, sample: &Sample) {
        self.count += 1;
        if !sample.success {
            self.errors += 1;
        }
        self.sum_elapsed += sample.elapsed;
        self.min = self.min.min(sample.elapsed);
        self.max = self.max.max(sample.elapsed);
        self.end_ms = self.end_ms.max(sample.end_ms);
    }
}

/// JMeter's `Summariser`: a `+` line for each interval, a `=` line with the running total.
#[derive(Debug)]
pub struct Summariser {
    name: String,
    interval_s: i64,
    delta: Totals,
    total: Totals,
    last_report_s: i64,
    reported: bool,
}

/// Thread counts printed on `+` lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSnapshot {
    pub active: u32,
    pub started: u64,
    pub finished: u64,
}

impl Summariser {
    pub fn new(name: &str, interval_s: i64, start_ms: i64) -> Summariser {
        Summariser {
            name: name.to_string(),
            interval_s: interval_s.max(1),
            delta: Totals::new(start_ms),
            total: Totals::new(start_ms),
            // JMeter's `Totals.last` starts at 0: a `+` line may come in the first seconds.
            last_report_s: 0,
            reported: false,
        }
    }

    /// Adds a sample; returns the lines to print now, if an interval boundary passed.
    /// Transaction Controller samples are ignored, as JMeter's default does.
    pub fn add(&mut self, sample: &Sample, now_ms: i64, threads: ThreadSnapshot) -> Vec<String> {
        if sample.is_transaction {
            return Vec::new();
        }
        self.delta.add(sample);
        self.total.add(sample);
        let now_s = now_ms / 1000;
        // JMeter: report when the wall clock is within 5 s after a multiple of the interval.
        if now_s > self.last_report_s + 5 && now_s % self.interval_s <= 5 {
            self.last_report_s = now_s;
            return self.report(threads, now_ms);
        }
        Vec::new()
    }

    fn report(&mut self, threads: ThreadSnapshot, now_ms: i64) -> Vec<String> {
        let mut lines = vec![self.line('+', &self.delta, Some(threads))];
        if self.total.count != self.delta.count {
            lines.push(self.line('=', &self.total, None));
        }
        self.delta = Totals::new(now_ms);
        self.reported = true;
        lines
    }

    /// The lines printed at the end of the test; JMeter ends both totals at the test's end.
    pub fn finish(&mut self, threads: ThreadSnapshot, now_ms: i64) -> Vec<String> {
        self.delta.end_ms = self.delta.end_ms.max(now_ms);
        self.total.end_ms = self.total.end_ms.max(now_ms);
        let mut lines = Vec::new();
        if self.delta.count > 0 && self.reported {
            lines.push(self.line('+', &self.delta, Some(threads)));
        }
        lines.push(self.line('=', &self.total, None));
        lines
    }

    fn line(&self, kind: char, totals: &Totals, threads: Option<ThreadSnapshot>) -> String {
        let elapsed_ms = totals.end_ms - totals.start_ms;
        let seconds = (elapsed_ms + 500) / 1000;
        let rate = if elapsed_ms > 0 {
            format!("{:.1}", totals.count as f64 / elapsed_ms as f64 * 1000.0)
        } else {
            "******".to_string()
        };
        let (avg, min, max) = match totals.sum_elapsed.checked_div(totals.count) {
            Some(avg) => (avg as i64, totals.min as i64, totals.max as i64),
            None => (0, i64::MAX, i64::MIN),
        };
        let pct = if totals.count > 0 {
            totals.errors as f64 * 100.0 / totals.count as f64
        } else {
            0.0
        };
        let mut line = format!(
            "{} {} {:>6} in {:02}:{:02}:{:02} = {:>6}/s Avg: {:>5} Min: {:>5} Max: {:>5} Err: {:>5} ({:.2}%)",
            self.name,
            kind,
            totals.count,
            seconds / 3600,
            (seconds / 60) % 60,
            seconds % 60,
            rate,
            avg,
            min,
            max,
            totals.errors,
            pct
        );
        if let Some(t) = threads {
            let _ = write!(
                line,
                " Active: {} Started: {} Finished: {}",
                t.active, t.started, t.finished
            );
        }
        line
    }
}

/// Whole-run statistics per label and in total (Transaction Controller samples left out of the
/// total), for the table printed at the end and for `--threshold`.
#[derive(Debug, Default)]
pub struct LabelStats {
    index: HashMap<String, usize>,
    pub labels: Vec<(String, Stats)>,
    total: Option<Stats>,
}

impl LabelStats {
    pub fn add(&mut self, sample: &Sample) {
        let i = match self.index.get(&sample.label) {
            Some(&i) => i,
            None => {
                self.labels
                    .push((sample.label.clone(), Stats::new(Percentiles::WholeRun)));
                self.index
                    .insert(sample.label.clone(), self.labels.len() - 1);
                self.labels.len() - 1
            }
        };
        let measure = Measure {
            elapsed: sample.elapsed,
            success: sample.success,
            bytes: sample.bytes,
            sent_bytes: sample.sent_bytes,
            start: sample.start_ms,
            end: sample.end_ms,
        };
        // APDEX is not shown for runs; the default thresholds keep the counters meaningful.
        let apdex = (500, 1500);
        self.labels[i].1.record(measure, apdex);
        if !sample.is_transaction {
            self.total
                .get_or_insert_with(|| Stats::new(Percentiles::WholeRun))
                .record(measure, apdex);
        }
    }

    /// Evaluates thresholds against these statistics.
    pub fn check(
        &self,
        thresholds: &[crate::report::threshold::Threshold],
    ) -> Vec<crate::report::threshold::Outcome> {
        let empty = Stats::new(Percentiles::WholeRun);
        let total = self.total.as_ref().unwrap_or(&empty);
        thresholds
            .iter()
            .map(|t| t.evaluate(self.labels.iter().map(|(l, s)| (l.as_str(), s)), total))
            .collect()
    }

    /// The table printed after the summariser's last line.
    pub fn table(&self) -> String {
        if self.labels.is_empty() {
            return String::new();
        }
        let width = self
            .labels
            .iter()
            .map(|(label, _)| label.chars().count())
            .max()
            .unwrap_or(5)
            .clamp(5, 48);
        let mut out = format!(
            "{:<width$} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9}\n",
            "label", "count", "err%", "avg", "p50", "p90", "p95", "p99", "max", "tput/s"
        );
        for (label, s) in &self.labels {
            let label: String = label.chars().take(width).collect();
            let _ = writeln!(
                out,
                "{:<width$} {:>8} {:>6.2}% {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>7} {:>9.1}",
                label,
                s.count,
                s.error_pct(),
                s.mean,
                s.percentile(50.0),
                s.percentile(90.0),
                s.percentile(95.0),
                s.percentile(99.0),
                s.max,
                s.throughput(),
            );
        }
        out.push_str("(times in ms; percentiles over the whole run, HdrHistogram with 3 significant digits)\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn empty_total_line_matches_jmeter() {
        let mut s = Summariser::new("summary", 30, 0);
        assert_eq!(
            s.finish(ThreadSnapshot::default(), 0),
            vec!["summary =      0 in 00:00:00 = ******/s Avg:     0 Min: 9223372036854775807 Max: -9223372036854775808 Err:     0 (0.00%)"]
        );
    }

    #[test]
    fn total_line_format() {
        let mut s = Summariser::new("summary", 30, 1_000);
        for (i, ok) in [(10u64, true), (30, false)] {
            let mut sample = Sample::new("a".into(), Arc::from("t"), 1_000);
            sample.elapsed = i;
            sample.end_ms = 3_000;
            sample.success = ok;
            s.add(&sample, 7_000, ThreadSnapshot::default());
        }
        assert_eq!(
            s.finish(ThreadSnapshot::default(), 0),
            vec!["summary +      2 in 00:00:02 =    1.0/s Avg:    20 Min:    10 Max:    30 Err:     1 (50.00%) Active: 0 Started: 0 Finished: 0", "summary =      2 in 00:00:02 =    1.0/s Avg:    20 Min:    10 Max:    30 Err:     1 (50.00%)"]
                .into_iter()
                .skip(1)
                .map(String::from)
                .collect::<Vec<_>>()
        );
    }
}
