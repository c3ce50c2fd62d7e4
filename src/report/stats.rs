//! The report's aggregation: per-label statistics over the whole run (or JMeter's sliding
//! window), APDEX, errors, the response-time distribution, and over-time buckets that coarsen
//! as the run grows, so memory depends on labels × buckets, never on rows.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hdrhistogram::Histogram;

use super::read::Row;

/// Over-time buckets kept at most; past this the bucket width doubles and neighbours merge.
const MAX_BUCKETS: usize = 720;

/// How percentiles are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentiles {
    /// Every sample of the run, in an HdrHistogram with 3 significant digits (exact below 2048 ms).
    WholeRun,
    /// JMeter's definition: the last N samples of each label (`statistic_window`, 20000).
    Window(usize),
}

/// APDEX thresholds: global, and per label (`apdex_per_transaction`).
#[derive(Debug, Clone)]
pub struct Apdex {
    pub satisfied_ms: u64,
    pub tolerated_ms: u64,
    /// `(label or regex, satisfied, tolerated)`, first match wins.
    pub per_label: Vec<(regex::Regex, u64, u64)>,
}

impl Apdex {
    fn thresholds(&self, label: &str) -> (u64, u64) {
        self.per_label
            .iter()
            .find(|(re, _, _)| re.is_match(label))
            .map_or((self.satisfied_ms, self.tolerated_ms), |(_, s, t)| (*s, *t))
    }
}

/// What shapes the aggregation.
#[derive(Debug, Clone)]
pub struct Settings {
    pub percentiles: Percentiles,
    pub apdex: Apdex,
    /// `sample_filter`: only labels this matches (whole label) are reported.
    pub sample_filter: Option<regex::Regex>,
    /// A fixed over-time granularity (`overall_granularity`); `None` adapts to the run's length.
    pub granularity_ms: Option<u64>,
    /// Name errors by the assertion's failure message (`assertion_results_failure_message`).
    pub failure_message_errors: bool,
    /// Response-time distribution bucket width.
    pub distribution_ms: u64,
}

/// Values kept for percentiles.
#[derive(Debug, Clone)]
enum Values {
    Histogram(Histogram<u64>),
    Window(VecDeque<u64>, usize),
}

/// Statistics of one label, or of the total.
#[derive(Debug, Clone)]
pub struct Stats {
    pub count: u64,
    pub errors: u64,
    /// commons-math's running mean (`m += (x - m) / n`), which JMeter's report prints.
    pub mean: f64,
    pub min: u64,
    pub max: u64,
    pub bytes: u64,
    pub sent_bytes: u64,
    pub first_start: i64,
    pub last_end: i64,
    pub apdex_satisfied: u64,
    pub apdex_tolerated: u64,
    values: Values,
}

/// One sample as [`Stats`] counts it.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    pub elapsed: u64,
    pub success: bool,
    pub bytes: u64,
    pub sent_bytes: u64,
    pub start: i64,
    pub end: i64,
}

impl Stats {
    pub fn new(mode: Percentiles) -> Stats {
        Stats {
            count: 0,
            errors: 0,
            mean: 0.0,
            min: u64::MAX,
            max: 0,
            bytes: 0,
            sent_bytes: 0,
            first_start: i64::MAX,
            last_end: i64::MIN,
            apdex_satisfied: 0,
            apdex_tolerated: 0,
            values: match mode {
                Percentiles::WholeRun => Values::Histogram(new_histogram(3)),
                Percentiles::Window(n) => Values::Window(VecDeque::new(), n.max(1)),
            },
        }
    }

    fn add(&mut self, row: &Row<'_>, apdex: (u64, u64)) {
        self.record(
            Measure {
                elapsed: row.elapsed,
                success: row.success,
                bytes: row.bytes,
                sent_bytes: row.sent_bytes,
                start: row.start,
                end: row.end(),
            },
            apdex,
        );
    }

    /// Counts one sample; `apdex` is its (satisfied, tolerated) thresholds in ms.
    pub fn record(&mut self, m: Measure, apdex: (u64, u64)) {
        self.count += 1;
        self.errors += u64::from(!m.success);
        self.mean += (m.elapsed as f64 - self.mean) / self.count as f64;
        self.min = self.min.min(m.elapsed);
        self.max = self.max.max(m.elapsed);
        self.bytes += m.bytes;
        self.sent_bytes += m.sent_bytes;
        self.first_start = self.first_start.min(m.start);
        self.last_end = self.last_end.max(m.end);
        if m.success {
            if m.elapsed <= apdex.0 {
                self.apdex_satisfied += 1;
            } else if m.elapsed <= apdex.1 {
                self.apdex_tolerated += 1;
            }
        }
        match &mut self.values {
            Values::Histogram(h) => h.saturating_record(m.elapsed),
            Values::Window(values, cap) => {
                if values.len() == *cap {
                    values.pop_front();
                }
                values.push_back(m.elapsed);
            }
        }
    }

    /// The p-th percentile by commons-math's `LEGACY` estimation, which JMeter uses:
    /// position `p (n + 1) / 100`, the minimum below 1, the maximum from n, else linear
    /// interpolation between the neighbouring values.
    pub fn percentile(&self, p: f64) -> f64 {
        match &self.values {
            Values::Histogram(h) => legacy(h.len(), p, |rank| value_at_rank(h, rank)),
            Values::Window(values, _) => {
                let mut sorted: Vec<u64> = values.iter().copied().collect();
                sorted.sort_unstable();
                legacy(sorted.len() as u64, p, |rank| {
                    sorted[(rank - 1) as usize] as f64
                })
            }
        }
    }

    /// The whole-run histogram (none in window mode).
    pub fn histogram(&self) -> Option<&Histogram<u64>> {
        match &self.values {
            Values::Histogram(h) => Some(h),
            Values::Window(..) => None,
        }
    }

    /// Samples per second between the first start and the last end.
    pub fn throughput(&self) -> f64 {
        // In JMeter's order of operations, for the same last digit.
        self.count as f64 / self.duration_ms() as f64 * 1000.0
    }

    pub fn kb_per_s(&self, bytes: u64) -> f64 {
        bytes as f64 / 1024.0 / (self.duration_ms() as f64 / 1000.0)
    }

    /// From the first start to the last end; at least 1 ms, also with no sample.
    fn duration_ms(&self) -> i64 {
        if self.count == 0 {
            return 1;
        }
        self.last_end.saturating_sub(self.first_start).max(1)
    }

    pub fn error_pct(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 * 100.0 / self.count as f64
        }
    }

    pub fn apdex(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        (self.apdex_satisfied as f64 + self.apdex_tolerated as f64 / 2.0) / self.count as f64
    }

    pub fn min_or_zero(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }
}

fn legacy(n: u64, p: f64, value: impl Fn(u64) -> f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let pos = p * (n as f64 + 1.0) / 100.0;
    if pos < 1.0 {
        return value(1);
    }
    if pos >= n as f64 {
        return value(n);
    }
    let low = pos.floor();
    let (lower, upper) = (value(low as u64), value(low as u64 + 1));
    lower + (pos - low) * (upper - lower)
}

/// The value of the sample at `rank` (1-based) in sorted order.
fn value_at_rank(h: &Histogram<u64>, rank: u64) -> f64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return h.median_equivalent(v.value_iterated_to()) as f64;
        }
    }
    h.max() as f64
}

fn new_histogram(digits: u8) -> Histogram<u64> {
    let mut h = Histogram::new(digits).unwrap_or_else(|_| Histogram::new(2).expect("2 digits"));
    h.auto(true);
    h
}

/// One label's totals plus what the page shows about it.
#[derive(Debug, Clone)]
pub struct Label {
    pub name: String,
    pub stats: Stats,
    pub is_transaction: bool,
    /// Error type → count.
    pub errors: HashMap<String, u64>,
    /// Distribution bucket start (ms) → count.
    pub distribution: BTreeMap<u64, u64>,
}

/// One over-time bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Samples that started in the bucket (Transaction Controller samples left out).
    pub hits: u64,
    pub errors: u64,
    pub bytes: u64,
    pub sent_bytes: u64,
    /// Elapsed times of successful samples (2 significant digits).
    pub ok_times: Histogram<u32>,
    /// Response code index → count.
    pub codes: HashMap<u16, u64>,
    /// Thread group index → (sum of grpThreads, samples).
    pub threads: HashMap<u16, (u64, u64)>,
    /// Per label index: successes, failures, and sums of elapsed, latency and connect.
    pub labels: Vec<LabelBucket>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LabelBucket {
    pub ok: u64,
    pub ko: u64,
    pub elapsed: u64,
    pub latency: u64,
    pub connect: u64,
}

impl Bucket {
    fn new() -> Bucket {
        let mut ok_times = Histogram::new(2).expect("2 digits");
        ok_times.auto(true);
        Bucket {
            hits: 0,
            errors: 0,
            bytes: 0,
            sent_bytes: 0,
            ok_times,
            codes: HashMap::new(),
            threads: HashMap::new(),
            labels: Vec::new(),
        }
    }

    fn merge(&mut self, other: Bucket) {
        self.hits += other.hits;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.sent_bytes += other.sent_bytes;
        let _ = self.ok_times.add(&other.ok_times);
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
        for (group, (sum, n)) in other.threads {
            let entry = self.threads.entry(group).or_default();
            entry.0 += sum;
            entry.1 += n;
        }
        if self.labels.len() < other.labels.len() {
            self.labels
                .resize(other.labels.len(), LabelBucket::default());
        }
        for (mine, theirs) in self.labels.iter_mut().zip(other.labels) {
            mine.ok += theirs.ok;
            mine.ko += theirs.ko;
            mine.elapsed += theirs.elapsed;
            mine.latency += theirs.latency;
            mine.connect += theirs.connect;
        }
    }
}

/// Everything the report is made from.
#[derive(Debug)]
pub struct Collector {
    settings: Settings,
    pub labels: Vec<Label>,
    index: HashMap<String, usize>,
    pub total: Stats,
    /// Error type → count over all samples but Transaction Controller ones.
    pub errors: HashMap<String, u64>,
    pub codes: Vec<String>,
    code_index: HashMap<String, u16>,
    pub groups: Vec<String>,
    group_index: HashMap<String, u16>,
    pub granularity_ms: u64,
    pub buckets: BTreeMap<i64, Bucket>,
    pub max_users: u32,
    /// Rows left out by `sample_filter`.
    pub filtered_out: u64,
}

impl Collector {
    pub fn new(settings: Settings) -> Collector {
        Collector {
            total: Stats::new(settings.percentiles),
            granularity_ms: settings.granularity_ms.unwrap_or(1000).max(1),
            settings,
            labels: Vec::new(),
            index: HashMap::new(),
            errors: HashMap::new(),
            codes: Vec::new(),
            code_index: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            buckets: BTreeMap::new(),
            max_users: 0,
            filtered_out: 0,
        }
    }

    pub fn add(&mut self, row: &Row<'_>) {
        if let Some(filter) = &self.settings.sample_filter {
            if !filter.is_match(row.label) {
                self.filtered_out += 1;
                return;
            }
        }
        let apdex = self.settings.apdex.thresholds(row.label);
        let label_index = match self.index.get(row.label) {
            Some(&i) => i,
            None => {
                self.labels.push(Label {
                    name: row.label.to_string(),
                    stats: Stats::new(self.settings.percentiles),
                    is_transaction: row.is_transaction(),
                    errors: HashMap::new(),
                    distribution: BTreeMap::new(),
                });
                self.index
                    .insert(row.label.to_string(), self.labels.len() - 1);
                self.labels.len() - 1
            }
        };
        let transaction = row.is_transaction();
        let error = (!row.success).then(|| self.error_type(row));
        let label = &mut self.labels[label_index];
        label.stats.add(row, apdex);
        let width = self.settings.distribution_ms.max(1);
        *label
            .distribution
            .entry(row.elapsed / width * width)
            .or_default() += 1;
        if let Some(error) = &error {
            *label.errors.entry(error.clone()).or_default() += 1;
        }
        self.max_users = self.max_users.max(row.all_threads);
        if !transaction {
            self.total.add(row, apdex);
            if let Some(error) = error {
                *self.errors.entry(error).or_default() += 1;
            }
        }
        let code = intern(
            &mut self.codes,
            &mut self.code_index,
            if row.code.is_empty() {
                "EMPTY_RES_CODE"
            } else {
                row.code
            },
        );
        let group_name = row
            .thread_name
            .rsplit_once(' ')
            .map_or(row.thread_name, |(g, _)| g);
        let group = intern(&mut self.groups, &mut self.group_index, group_name);
        let key = row.start.div_euclid(self.granularity_ms as i64) * self.granularity_ms as i64;
        let bucket = self.buckets.entry(key).or_insert_with(Bucket::new);
        if bucket.labels.len() <= label_index {
            bucket
                .labels
                .resize(label_index + 1, LabelBucket::default());
        }
        let per_label = &mut bucket.labels[label_index];
        if row.success {
            per_label.ok += 1;
        } else {
            per_label.ko += 1;
        }
        per_label.elapsed += row.elapsed;
        per_label.latency += row.latency;
        per_label.connect += row.connect;
        let threads = bucket.threads.entry(group).or_default();
        threads.0 += u64::from(row.grp_threads);
        threads.1 += 1;
        if !transaction {
            bucket.hits += 1;
            bucket.errors += u64::from(!row.success);
            bucket.bytes += row.bytes;
            bucket.sent_bytes += row.sent_bytes;
            *bucket.codes.entry(code).or_default() += 1;
            if row.success {
                bucket
                    .ok_times
                    .saturating_record(row.elapsed.min(u32::MAX as u64));
            }
        }
        if self.settings.granularity_ms.is_none() && self.buckets.len() > MAX_BUCKETS {
            self.coarsen();
        }
    }

    /// Doubles the bucket width, merging neighbours.
    fn coarsen(&mut self) {
        self.granularity_ms *= 2;
        let width = self.granularity_ms as i64;
        let old = std::mem::take(&mut self.buckets);
        for (key, bucket) in old {
            let new_key = key.div_euclid(width) * width;
            match self.buckets.get_mut(&new_key) {
                Some(existing) => existing.merge(bucket),
                None => {
                    self.buckets.insert(new_key, bucket);
                }
            }
        }
    }

    /// JMeter's error key: `code/message`, or the assertion's message when the code is a
    /// success (2xx/3xx) or empty.
    fn error_type(&self, row: &Row<'_>) -> String {
        let success_code = row.code.len() == 3 && matches!(row.code.as_bytes()[0], b'2' | b'3');
        if success_code || (row.code.is_empty() && !row.failure_message.is_empty()) {
            if self.settings.failure_message_errors && !row.failure_message.is_empty() {
                return row.failure_message.to_string();
            }
            return "Assertion failed".to_string();
        }
        if row.message.is_empty() {
            row.code.to_string()
        } else {
            format!("{}/{}", row.code, row.message)
        }
    }
}

fn intern(names: &mut Vec<String>, index: &mut HashMap<String, u16>, name: &str) -> u16 {
    if let Some(&i) = index.get(name) {
        return i;
    }
    let i = names.len().min(u16::MAX as usize) as u16;
    if names.len() < u16::MAX as usize {
        names.push(name.to_string());
        index.insert(name.to_string(), i);
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(percentiles: Percentiles) -> Settings {
        Settings {
            percentiles,
            apdex: Apdex {
                satisfied_ms: 500,
                tolerated_ms: 1500,
                per_label: Vec::new(),
            },
            sample_filter: None,
            granularity_ms: None,
            failure_message_errors: true,
            distribution_ms: 100,
        }
    }

    fn row(start: i64, elapsed: u64, label: &str, success: bool) -> Row<'_> {
        Row {
            start,
            elapsed,
            label,
            code: if success { "200" } else { "500" },
            message: if success {
                "OK"
            } else {
                "Internal Server Error"
            },
            thread_name: "Users 1-1",
            success,
            failure_message: "",
            bytes: 100,
            sent_bytes: 10,
            grp_threads: 1,
            all_threads: 1,
            latency: elapsed / 2,
            connect: 0,
        }
    }

    #[test]
    fn legacy_percentiles_match_in_both_modes() {
        for mode in [Percentiles::WholeRun, Percentiles::Window(20_000)] {
            let mut c = Collector::new(settings(mode));
            for (i, ms) in [100u64, 170, 329].iter().enumerate() {
                c.add(&row(i as i64 * 1000, *ms, "a", false));
            }
            let s = &c.labels[0].stats;
            assert_eq!(s.percentile(50.0), 170.0);
            assert_eq!(s.percentile(90.0), 329.0);
            assert_eq!(s.percentile(10.0), 100.0);
            assert_eq!(s.percentile(60.0), 170.0 + 0.4 * (329.0 - 170.0));
        }
    }

    #[test]
    fn empty_statistics_are_zeros() {
        let s = Stats::new(Percentiles::WholeRun);
        assert_eq!(
            (
                s.throughput(),
                s.kb_per_s(0),
                s.percentile(99.0),
                s.error_pct(),
                s.apdex()
            ),
            (0.0, 0.0, 0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn window_keeps_the_last_values_only() {
        let mut c = Collector::new(settings(Percentiles::Window(2)));
        for ms in [1000u64, 10, 20] {
            c.add(&row(0, ms, "a", true));
        }
        assert_eq!(c.labels[0].stats.percentile(99.0), 20.0);
        assert_eq!(c.labels[0].stats.max, 1000, "min and max stay whole-run");
    }

    #[test]
    fn buckets_coarsen_and_keep_their_counts() {
        let mut c = Collector::new(settings(Percentiles::WholeRun));
        for s in 0..2_000 {
            c.add(&row(s * 1000, 10, "a", s % 10 != 0));
        }
        assert!(c.buckets.len() <= MAX_BUCKETS, "{}", c.buckets.len());
        assert_eq!(c.granularity_ms, 4000);
        assert_eq!(c.buckets.values().map(|b| b.hits).sum::<u64>(), 2_000);
        assert_eq!(c.buckets.values().map(|b| b.errors).sum::<u64>(), 200);
    }

    #[test]
    fn errors_apdex_and_transactions() {
        let mut c = Collector::new(settings(Percentiles::WholeRun));
        c.add(&row(0, 100, "ok", true));
        c.add(&row(0, 1000, "ok", true));
        c.add(&row(0, 100, "bad", false));
        let mut assertion = row(0, 10, "checked", false);
        assertion.code = "200";
        assertion.failure_message = "Test failed: text expected to contain /x/";
        c.add(&assertion);
        let mut tx = row(0, 300, "TX", false);
        tx.message = "Number of samples in transaction : 2, number of failing samples : 1";
        c.add(&tx);
        assert_eq!(c.total.count, 4, "the transaction is not in the total");
        assert_eq!(c.labels[0].stats.apdex(), 0.75);
        let mut errors: Vec<_> = c.errors.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        errors.sort();
        assert_eq!(
            errors,
            [
                ("500/Internal Server Error", 1),
                ("Test failed: text expected to contain /x/", 1)
            ]
        );
    }
}
