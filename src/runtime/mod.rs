//! Plan → running virtual users.
//!
//! [`run`] executes the plan like JMeter's `StandardJMeterEngine`: all setUp groups, then the
//! normal groups (in parallel, or one after another with `serialize_threadgroups`), then the
//! tearDown groups. A virtual user is one tokio task running a plain loop over the shared plan
//! (`vu.rs`); it owns its variables, cookie jar, connections and random generator, so nothing on
//! the per-sample path takes a lock. Samples go to the single writer over a bounded channel; when
//! the writer falls behind, users wait on the channel.

mod anchor;
pub mod cache;
pub mod cookies;
pub mod csv_data;
mod digest;
mod direct;
mod dynamic;
pub mod embedded;
pub mod http;
pub mod keystore;
pub mod markup;
mod precise;
mod process;
mod query;
mod shaping;
mod tcp;
mod text_files;
pub mod tidy;
mod vu;
pub mod xsd;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::plan::{IterationHook, Node, Plan, ThreadGroup};
use crate::properties::Properties;
use crate::sample::Sample;

/// Settings of a run that are not in the plan.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Folder of the `.jmx` file, for relative CSV file names.
    pub plan_dir: PathBuf,
    pub http: Arc<http::HttpSettings>,
    /// Fill [`crate::sample::Details`] (an XML result file saves headers or bodies).
    pub keep_details: bool,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Csv(#[from] csv_data::CsvError),
}

/// Counts a run ends with.
#[derive(Debug, Default, Clone)]
pub struct RunStats {
    pub threads_started: u64,
    pub stopped_early: bool,
}

/// How a run is asked to stop: `Shutdown` lets users finish their current sample,
/// `StopTestNow` also cuts timers and pending requests short.
#[derive(Debug)]
pub struct Stop {
    state: AtomicU8,
    changed: watch::Sender<u8>,
}

const RUNNING: u8 = 0;
const SHUTDOWN: u8 = 1;
const STOP_NOW: u8 = 2;

impl Default for Stop {
    fn default() -> Stop {
        Stop {
            state: AtomicU8::new(RUNNING),
            changed: watch::channel(RUNNING).0,
        }
    }
}

impl Stop {
    /// Graceful stop (JMeter's `Shutdown`).
    pub fn shutdown(&self) {
        self.raise(SHUTDOWN);
    }

    /// Immediate stop (JMeter's `StopTestNow`).
    pub fn stop_now(&self) {
        self.raise(STOP_NOW);
    }

    fn raise(&self, level: u8) {
        let previous = self.state.fetch_max(level, Ordering::SeqCst);
        if previous < level {
            self.changed.send_replace(level);
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.state.load(Ordering::Relaxed) != RUNNING
    }

    pub fn is_stop_now(&self) -> bool {
        self.state.load(Ordering::Relaxed) == STOP_NOW
    }

    fn subscribe(&self) -> watch::Receiver<u8> {
        self.changed.subscribe()
    }
}

/// Maps monotonic instants to epoch milliseconds from one reading of the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Epoch {
    base_ms: i64,
    base: Instant,
}

impl Epoch {
    pub fn now() -> Epoch {
        Epoch {
            base_ms: crate::clock::epoch_millis(),
            base: Instant::now(),
        }
    }

    pub fn millis_at(&self, at: Instant) -> i64 {
        self.base_ms + at.saturating_duration_since(self.base).as_millis() as i64
    }

    pub fn millis(&self) -> i64 {
        self.millis_at(Instant::now())
    }

    /// Nanoseconds since the run's start (at least 1, so 0 can mean "never").
    pub fn nanos(&self) -> u64 {
        (self.base.elapsed().as_nanos() as u64).max(1)
    }
}

/// Live thread counts, read for the `grpThreads`/`allThreads` columns and the summariser.
#[derive(Debug, Default)]
pub struct ThreadCounts {
    pub active: AtomicU32,
    pub started: AtomicU64,
    pub finished: AtomicU64,
}

/// What every virtual user of a run shares (read-only, or atomics).
struct Shared {
    plan: Arc<Plan>,
    props: Arc<Properties>,
    csv: Arc<Vec<csv_data::CsvTable>>,
    /// `__counter(FALSE)` values and shared Counter elements, by call slot.
    global_counters: Arc<Vec<AtomicI64>>,
    threads: Arc<ThreadCounts>,
    /// Active threads per thread group, by the group's index in `Plan::all_groups`.
    group_active: Arc<Vec<AtomicU32>>,
    stop: Arc<Stop>,
    epoch: Epoch,
    tx: mpsc::Sender<Sample>,
    machine_name: String,
    machine_ip: String,
    http: Arc<http::HttpSettings>,
    keep_details: bool,
    /// `CookieManager.save.cookies`: the variable prefix (`CookieManager.name.prefix`) under which
    /// received cookies are saved, or `None`.
    save_cookies: Option<String>,
    /// Throughput Shaping Timers' slot counters, by the timer's slot.
    shaping: Arc<Vec<shaping::ShapingState>>,
    sample_variables: Vec<String>,
    max_redirects: u32,
    /// Values of the user-defined variables, evaluated once at test start.
    user_variables: Vec<(crate::plan::VarId, String)>,
    /// Seeded generators of Random Variable elements shared by all threads, by call slot.
    /// Locked once per iteration of such an element only.
    seeded: Arc<std::sync::Mutex<std::collections::HashMap<usize, fastrand::Rng>>>,
    controllers: Arc<ControllerShared>,
    /// Shared Constant Throughput Timers' last scheduled times (ns since the epoch's base), by
    /// `slot × groups + group` (mode "shared by all" uses group 0).
    throughput_timers: Arc<Vec<std::sync::atomic::AtomicU64>>,
    /// Synchronizing Timers' gatherings, by slot.
    sync_timers: Arc<Vec<SyncPoint>>,
    /// Precise Throughput Timers' schedules, by slot.
    precise_timers: Arc<Vec<precise::PreciseState>>,
    /// What a GET answered by a Cache Manager leaves (`cache_manager.cached_resource_mode`).
    cached_mode: cache::CachedMode,
    /// Methods whose responses a Cache Manager stores (`cacheable_methods`).
    cacheable_methods: Vec<String>,
    /// Parsers and limits of "Retrieve All Embedded Resources".
    embedded: Arc<embedded::Settings>,
    /// The folder of the plan file, which relative upload paths fall back to.
    plan_dir: PathBuf,
    /// The files of `__StringFromFile` and `__CSVRead`.
    text_files: Arc<text_files::TextFiles>,
}

/// A Synchronizing Timer's gathering: how many users wait, and a generation that changes each
/// time they are released.
#[derive(Default)]
pub(crate) struct SyncPoint {
    state: std::sync::Mutex<(usize, u64)>,
    released: tokio::sync::Notify,
}

impl SyncPoint {
    /// Waits until `size` users arrived (this one included) or `timeout` passed, then releases
    /// everyone waiting; false when the run stops meanwhile.
    pub(crate) async fn gather(
        &self,
        size: usize,
        timeout: Option<Duration>,
        stop: &mut watch::Receiver<u8>,
    ) -> bool {
        let generation = {
            let mut state = match self.state.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            state.0 += 1;
            if state.0 >= size.max(1) {
                *state = (0, state.1 + 1);
                self.released.notify_waiters();
                return true;
            }
            state.1
        };
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let current = match self.state.lock() {
                Ok(guard) => guard.1,
                Err(poisoned) => poisoned.into_inner().1,
            };
            if current != generation {
                return true;
            }
            tokio::select! {
                _ = notified => {}
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    // JMeter's barrier breaks on a timeout: everyone waiting goes.
                    let mut state = match self.state.lock() {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    if state.1 == generation {
                        *state = (0, state.1 + 1);
                        self.released.notify_waiters();
                    }
                    return true;
                }
                _ = stop.changed() => return false,
            }
        }
    }
}

/// Run-wide state of controllers.
#[derive(Default)]
struct ControllerShared {
    /// Throughput Controllers not per user: (decisions taken, executions), by controller slot.
    /// Locked once per parent iteration of such a controller only.
    throughput: Vec<std::sync::Mutex<(i64, i64)>>,
    /// Critical Section Controllers' locks, by name.
    locks: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// JMeter's `cache_manager.cached_resource_mode` and the code and message it implies.
fn cached_mode(props: &Properties) -> cache::CachedMode {
    let mode = props
        .get("cache_manager.cached_resource_mode")
        .unwrap_or_default();
    match mode.trim() {
        "RETURN_200_CACHE" => cache::CachedMode::Sample {
            code: "200".into(),
            message: props
                .get("RETURN_200_CACHE.message")
                .unwrap_or_else(|| "(ex cache)".into()),
        },
        "RETURN_CUSTOM_STATUS" => cache::CachedMode::Sample {
            code: props.get("RETURN_CUSTOM_STATUS.code").unwrap_or_default(),
            message: props
                .get("RETURN_CUSTOM_STATUS.message")
                .unwrap_or_default(),
        },
        "" | "RETURN_NO_SAMPLE" => cache::CachedMode::NoSample,
        other => {
            tracing::warn!(
                "cache_manager.cached_resource_mode={other} is not one of RETURN_NO_SAMPLE, RETURN_200_CACHE, RETURN_CUSTOM_STATUS; using RETURN_NO_SAMPLE"
            );
            cache::CachedMode::NoSample
        }
    }
}

/// Runs the plan to the end, or until `stop`. Every sample is sent to `tx` before this returns.
pub async fn run(
    plan: Arc<Plan>,
    props: Arc<Properties>,
    settings: &RunSettings,
    tx: mpsc::Sender<Sample>,
    stop: Arc<Stop>,
    threads: Arc<ThreadCounts>,
) -> Result<RunStats, RuntimeError> {
    let n_groups = plan.all_groups().count();
    let csv = csv_data::load_all(
        &plan.csv_data_sets,
        &plan.vars,
        &settings.plan_dir,
        n_groups,
    )?;
    let global_counters: Vec<AtomicI64> =
        (0..plan.n_call_slots).map(|_| AtomicI64::new(1)).collect();
    for group in plan.all_groups() {
        init_counters(
            &group.body.on_iteration,
            &group.body.children,
            &global_counters,
        );
    }
    let machine_name = machine_name();
    let epoch = Epoch::now();
    props.set("TESTSTART.MS", &epoch.base_ms.to_string());
    let user_variables = plan.evaluate_user_variables(&props);
    let save_cookies = props.bool("CookieManager.save.cookies", false).then(|| {
        props
            .get("CookieManager.name.prefix")
            .unwrap_or_else(|| "COOKIE_".into())
    });
    let cached_mode = cached_mode(&props);
    let (embedded, warnings) = embedded::Settings::from_properties(&props);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let cacheable_methods = props
        .get("cacheable_methods")
        .unwrap_or_else(|| "GET".into())
        .split([' ', ','])
        .filter(|m| !m.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let shared = Arc::new(Shared {
        save_cookies,
        sample_variables: props.list("sample_variables"),
        max_redirects: props.int("httpsampler.max_redirects", 20).clamp(0, 1000) as u32,
        plan: plan.clone(),
        props,
        csv: Arc::new(csv),
        global_counters: Arc::new(global_counters),
        threads,
        group_active: Arc::new((0..n_groups).map(|_| AtomicU32::new(0)).collect()),
        stop: stop.clone(),
        epoch,
        tx,
        machine_ip: machine_ip(&machine_name),
        machine_name,
        http: settings.http.clone(),
        keep_details: settings.keep_details,
        shaping: Arc::new(
            (0..plan.n_shaping_timers)
                .map(|_| shaping::ShapingState::default())
                .collect(),
        ),
        user_variables,
        seeded: Arc::default(),
        cached_mode,
        cacheable_methods,
        embedded: Arc::new(embedded),
        plan_dir: settings.plan_dir.clone(),
        text_files: Arc::default(),
        sync_timers: Arc::new(
            (0..plan.n_sync_timers)
                .map(|_| SyncPoint::default())
                .collect(),
        ),
        precise_timers: Arc::new(
            (0..plan.n_precise_timers)
                .map(|_| precise::PreciseState::default())
                .collect(),
        ),
        throughput_timers: Arc::new(
            (0..plan.n_throughput_timers * n_groups.max(1))
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        ),
        controllers: Arc::new(ControllerShared {
            throughput: (0..plan.n_controller_slots)
                .map(|_| std::sync::Mutex::new((0, 0)))
                .collect(),
            locks: Default::default(),
        }),
    });

    let mut stats = RunStats::default();
    let mut group_index = 0;
    let n_setup = plan.setup_groups.len();
    let n_normal = plan.groups.len();
    stats.threads_started += run_series(&shared, 0, n_setup, false).await;
    group_index += n_setup;
    if !stop.is_stopping() {
        stats.threads_started +=
            run_series(&shared, group_index, n_normal, plan.serialize_thread_groups).await;
    }
    group_index += n_normal;
    let teardown = !stop.is_stop_now() && (!stop.is_stopping() || plan.teardown_on_shutdown);
    if teardown {
        // JMeter runs tearDown groups after a graceful shutdown when the plan asks for it.
        let teardown_stop = Arc::new(Stop::default());
        let shared_teardown = Arc::new(Shared::with_stop(&shared, teardown_stop));
        stats.threads_started += run_series(
            &shared_teardown,
            group_index,
            plan.teardown_groups.len(),
            false,
        )
        .await;
    }
    stats.stopped_early = stop.is_stopping();
    Ok(stats)
}

impl Shared {
    fn with_stop(other: &Shared, stop: Arc<Stop>) -> Shared {
        Shared {
            plan: other.plan.clone(),
            props: other.props.clone(),
            csv: other.csv.clone(),
            global_counters: other.global_counters.clone(),
            threads: other.threads.clone(),
            group_active: other.group_active.clone(),
            stop,
            epoch: other.epoch,
            tx: other.tx.clone(),
            machine_name: other.machine_name.clone(),
            machine_ip: other.machine_ip.clone(),
            http: other.http.clone(),
            keep_details: other.keep_details,
            save_cookies: other.save_cookies.clone(),
            shaping: other.shaping.clone(),
            sample_variables: other.sample_variables.clone(),
            max_redirects: other.max_redirects,
            user_variables: other.user_variables.clone(),
            seeded: other.seeded.clone(),
            controllers: other.controllers.clone(),
            cached_mode: other.cached_mode.clone(),
            throughput_timers: other.throughput_timers.clone(),
            precise_timers: other.precise_timers.clone(),
            sync_timers: other.sync_timers.clone(),
            cacheable_methods: other.cacheable_methods.clone(),
            embedded: other.embedded.clone(),
            plan_dir: other.plan_dir.clone(),
            text_files: other.text_files.clone(),
        }
    }

    fn group(&self, index: usize) -> &ThreadGroup {
        // The index comes from enumerating the same groups.
        self.plan
            .all_groups()
            .nth(index)
            .unwrap_or(&self.plan.groups[0])
    }
}

/// Runs `count` groups from `first` (an index into `Plan::all_groups`), in parallel or in series.
async fn run_series(shared: &Arc<Shared>, first: usize, count: usize, serial: bool) -> u64 {
    let mut started = 0;
    if serial {
        for i in first..first + count {
            if shared.stop.is_stopping() {
                break;
            }
            started += run_group(shared.clone(), i, i - first + 1).await;
        }
    } else {
        let handles: Vec<_> = (first..first + count)
            .map(|i| tokio::spawn(run_group(shared.clone(), i, i - first + 1)))
            .collect();
        for handle in handles {
            started += handle.await.unwrap_or(0);
        }
    }
    started
}

/// Starts a group's threads along its ramp-up and waits for them.
async fn run_group(shared: Arc<Shared>, index: usize, number_in_series: usize) -> u64 {
    let group = shared.group(index);
    if let Some(dynamic) = &group.dynamic {
        return dynamic::run(shared.clone(), index, number_in_series, dynamic).await;
    }
    let n = group.threads;
    let start = tokio::time::Instant::now() + group.delay;
    let end = group.duration.map(|d| start + d);
    // JMeter: thread i starts i * round(ramp * 1000 / n) ms after the group start.
    let step = if n > 0 {
        Duration::from_millis((group.ramp_up.as_millis() as f64 / n as f64).round() as u64)
    } else {
        Duration::ZERO
    };
    let mut handles = Vec::with_capacity(n as usize);
    let mut stop_rx = shared.stop.subscribe();
    // Thread numbers in start order, with each one's start and end.
    let order: Vec<(u32, tokio::time::Instant, Option<tokio::time::Instant>)> =
        match &group.schedule {
            Some(spans) => {
                let mut order: Vec<_> = spans
                    .iter()
                    .enumerate()
                    .map(|(i, (s, e))| (i as u32, start + *s, Some(start + *e)))
                    .collect();
                order.sort_by_key(|(i, at, _)| (*at, *i));
                order
            }
            None => (0..n).map(|i| (i, start + step * i, end)).collect(),
        };
    for (i, at, end) in order {
        if end.is_some_and(|e| at >= e) {
            if group.schedule.is_some() {
                continue;
            }
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stop_rx.changed() => {}
        }
        if shared.stop.is_stopping() {
            break;
        }
        let name: Arc<str> = format!("{} {}-{}", group.name, number_in_series, i + 1).into();
        let user = vu::VirtualUser::new(
            shared.clone(),
            index,
            i + 1,
            name,
            end.map(|e| e.into_std()),
        );
        handles.push(tokio::spawn(user.run()));
    }
    let started = handles.len() as u64;
    for handle in handles {
        let _ = handle.await;
    }
    started
}

/// Sets every shared Counter element to its start value.
fn init_counters(hooks: &[IterationHook], nodes: &[Node], counters: &[AtomicI64]) {
    for hook in hooks {
        if let IterationHook::Counter(counter) = hook {
            if let Some(slot) = counters.get(counter.slot) {
                slot.store(counter.start, Ordering::Relaxed);
            }
        }
    }
    for node in nodes {
        if let Node::Controller(controller) = node {
            init_counters(&controller.on_iteration, &controller.children, counters);
        }
    }
}

fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The address the machine's name resolves to (JMeter: `InetAddress.getLocalHost()`).
fn machine_ip(name: &str) -> String {
    use std::net::ToSocketAddrs;
    let addresses: Vec<std::net::IpAddr> = (name, 0)
        .to_socket_addrs()
        .map(|a| a.map(|s| s.ip()).collect())
        .unwrap_or_default();
    addresses
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(addresses.first())
        .map_or_else(|| "127.0.0.1".into(), ToString::to_string)
}
