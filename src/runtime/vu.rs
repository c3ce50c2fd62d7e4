//! One virtual user: a tokio task that runs its thread group's body in a loop.
//!
//! The user walks the shared plan with plain (boxed, recursive) async calls, one per controller
//! level, and owns all of its mutable state. A [`Flow`] value carries "start next loop",
//! "stop thread" and "stop test" up the call chain, as JMeter's controllers do.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::cache::{CachedMode, HttpCache};
use super::cookies::CookieJar;
use super::csv_data::Next;
use super::http::{ClientKey, Exchange, Outgoing, UserHttp};
use super::process::{self, Response};
use super::Shared;
use crate::plan::extract::PostProcessor;
use crate::plan::function::Env;
use crate::plan::http::{EmbeddedResources, HttpRequest};
use crate::plan::sampler::{Action, Debug, DebugPost, Dummy, FlowAction, JavaTest, SystemCommand};
use crate::plan::template::{Context, Template};
use crate::plan::timer::{ConstantThroughput, PreciseThroughput, ThroughputMode, Timer};
use crate::plan::{
    Controller, ControllerKind, ForEach, IterationHook, Node, OnSampleError, Parallel, Plan,
    PreProcessor, Sampler, SamplerKind, Throughput, Transaction, UserParameters, VarId,
};
use crate::properties::Properties;
use crate::sample::Details;
use crate::sample::{DataType, Sample};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the rest of an iteration does after a node ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    /// Skip the rest of this iteration of the thread's main loop.
    StartNextLoop,
    /// End this thread (its loops, the scheduler or a stop are done).
    StopThread,
    /// Flow Control Action: go to the next iteration of the innermost loop.
    ContinueLoop,
    /// Flow Control Action: leave the innermost loop.
    BreakLoop,
}

/// What a loop does after one of its passes.
enum PassEnd {
    /// Next pass.
    Go,
    /// Leave the loop (a break).
    Leave,
    /// Leave and hand the jump to the enclosing controller.
    Up(Flow),
}

/// What every embedded resource of one page is sent with.
struct Resource<'a> {
    key: ClientKey,
    headers: &'a [(String, String)],
    keep_alive: bool,
}

impl Resource<'_> {
    /// The GET of one embedded resource.
    fn get(&self, url: url::Url) -> Outgoing {
        Outgoing {
            method: reqwest::Method::GET,
            url,
            headers: self.headers.to_vec(),
            body: None,
            display: None,
            keep_alive: self.keep_alive,
            entity_type: None,
        }
    }
}

/// One controller's state for one user.
#[derive(Debug, Clone, Copy, Default)]
struct ControllerState {
    /// Interleave and Random: the next child.
    position: u32,
    started: bool,
    /// Throughput: decisions taken and executions granted (per user), and the last decision.
    decisions: i64,
    executions: i64,
    run: bool,
}

/// A virtual user's variables: a slot per plan variable, plus names made up at run time.
#[derive(Clone)]
struct Vars {
    slots: Vec<Option<String>>,
    extra: HashMap<String, String>,
}

/// Where an HTML Link Parser sends its sampler: protocol, domain, path and the arguments (name,
/// value, "encode", "use equals").
struct Link {
    protocol: String,
    domain: String,
    path: String,
    args: Vec<(String, String, bool, bool)>,
}

/// An open Transaction Controller.
struct TxFrame {
    tx: Arc<Transaction>,
    start: Instant,
    start_ms: i64,
    count: u64,
    failures: u64,
    /// Parent mode: the code of the first failing child, else of the last child.
    code: Option<String>,
    bytes: u64,
    sent_bytes: u64,
    latency: u64,
    connect: u64,
    /// Wall time covered by the samples inside, for the idle time of `includeTimers=false`.
    busy_ms: u64,
    last_counts: (u32, u32),
    subresults: Vec<Sample>,
}

impl TxFrame {
    fn new(tx: &Arc<Transaction>, start_ms: i64) -> TxFrame {
        TxFrame {
            tx: tx.clone(),
            start: Instant::now(),
            start_ms,
            count: 0,
            failures: 0,
            code: None,
            bytes: 0,
            sent_bytes: 0,
            latency: 0,
            connect: 0,
            busy_ms: 0,
            last_counts: (0, 0),
            subresults: Vec::new(),
        }
    }
}

pub(super) struct VirtualUser {
    shared: Arc<Shared>,
    plan: Arc<Plan>,
    group_index: usize,
    thread_num: u32,
    /// The thread group iteration under way, from 1 (`vars.getIteration()`).
    iteration: u64,
    thread_name: Arc<str>,
    end_at: Option<Instant>,
    vars: Vars,
    rng: fastrand::Rng,
    http: UserHttp,
    cookies: CookieJar,
    cache: HttpCache,
    /// Clients of the embedded-resource download pool, made on first use.
    download_pool: Vec<UserHttp>,
    /// `__counter(TRUE)` and per-user Counter values, by call slot.
    user_slots: Vec<Option<i64>>,
    once_done: Vec<bool>,
    /// Interleave, Random and Throughput Controllers' per-user state, by controller slot.
    controllers: Vec<ControllerState>,
    /// Constant Throughput Timers' last scheduled times for this user (ns, 0 = never), by slot.
    throughput_last: Vec<u64>,
    /// The current HTTP sample keeps its sub-samples' responses (an extractor reads them).
    keep_sub_details: bool,
    /// Samplers run so far, to tell whether a child controller's pass ran anything.
    samplers_run: u64,
    csv_positions: Vec<usize>,
    last_sample_ok_var: Option<VarId>,
    tx_stack: Vec<TxFrame>,
    /// Transaction Controllers an Interleave takes one sampler at a time from: open between
    /// visits, by controller slot.
    stepped_tx: Vec<(usize, TxFrame)>,
    sampler_name: String,
    stop_rx: watch::Receiver<u8>,
    /// Per-thread seeded generators of Random Variable elements, by call slot.
    seeded: HashMap<usize, fastrand::Rng>,
    /// Set when a CSV Data Set with "stop thread on EOF" ran dry.
    stop_thread: bool,
    /// Arrivals Thread Groups: each iteration waits for an arrival.
    arrivals: Option<Arc<super::dynamic::Arrivals>>,
    /// A Parallel Controller's child: its samples are kept here for the controller.
    capture: Option<Vec<Sample>>,
    /// The last sample's URL and body when it was an HTTP response (kept when the plan has an
    /// HTML Link Parser).
    last_page: Option<(url::Url, String)>,
    /// The last sample's response, when the plan reads it (`Plan::keep_last_response`).
    last_response: Option<String>,
    /// Compare Assertions' responses since their controller's iteration began, by slot.
    compare_lists: Vec<Vec<(String, u64)>>,
    /// The TCP Sampler's sockets, by `TCP#server#port#user#password`.
    tcp_sockets: HashMap<String, tokio::net::TcpStream>,
    /// An HTML Link Parser acts on the sampler about to run.
    follow_link: bool,
    /// RegEx User Parameters acting on the sampler about to run.
    regex_parameters: Vec<Arc<crate::plan::data::RegexParameters>>,
    /// URL Re-writing Modifiers acting on the sampler about to run, with the value found.
    url_rewrites: Vec<(Arc<crate::plan::data::UrlRewriting>, String)>,
    /// Each URL Re-writing Modifier's last value, by the element's address (`cache_value`).
    session_ids: HashMap<usize, String>,
    /// `__CSVRead`: this user's row of each file, until `next`.
    csv_read_rows: HashMap<String, usize>,
}

impl VirtualUser {
    pub(super) fn new(
        shared: Arc<Shared>,
        group_index: usize,
        thread_num: u32,
        thread_name: Arc<str>,
        end_at: Option<Instant>,
    ) -> VirtualUser {
        let plan = shared.plan.clone();
        let mut slots = vec![None; plan.vars.len()];
        for (id, value) in &shared.user_variables {
            if let Some(slot) = slots.get_mut(id.0 as usize) {
                *slot = Some(value.clone());
            }
        }
        let stop_rx = shared.stop.subscribe();
        VirtualUser {
            group_index,
            thread_num,
            iteration: 0,
            thread_name,
            end_at,
            vars: Vars {
                slots,
                extra: HashMap::new(),
            },
            rng: fastrand::Rng::new(),
            http: UserHttp::new(shared.http.clone()),
            cookies: CookieJar::default(),
            cache: HttpCache::default(),
            download_pool: Vec::new(),
            user_slots: vec![None; plan.n_call_slots],
            once_done: vec![false; plan.n_controller_slots],
            controllers: vec![ControllerState::default(); plan.n_controller_slots],
            samplers_run: 0,
            keep_sub_details: false,
            throughput_last: vec![0; plan.n_throughput_timers],
            csv_positions: vec![0; plan.csv_data_sets.len()],
            last_sample_ok_var: plan.vars.get("JMeterThread.last_sample_ok"),
            tx_stack: Vec::new(),
            stepped_tx: Vec::new(),
            sampler_name: String::new(),
            stop_rx,
            stop_thread: false,
            seeded: HashMap::new(),
            arrivals: None,
            capture: None,
            last_page: None,
            last_response: None,
            tcp_sockets: HashMap::new(),
            compare_lists: vec![Vec::new(); plan.n_compare_slots],
            follow_link: false,
            regex_parameters: Vec::new(),
            url_rewrites: Vec::new(),
            session_ids: HashMap::new(),
            csv_read_rows: HashMap::new(),
            plan,
            shared,
        }
    }

    /// A copy of this user that runs one child of a Parallel Controller: the same variables,
    /// cookies, cache and per-user state, its own connections, its samples kept for the
    /// controller.
    fn fork(&self, thread_name: Arc<str>) -> VirtualUser {
        VirtualUser {
            shared: self.shared.clone(),
            plan: self.plan.clone(),
            group_index: self.group_index,
            thread_num: self.thread_num,
            iteration: self.iteration,
            thread_name,
            end_at: self.end_at,
            vars: self.vars.clone(),
            rng: fastrand::Rng::new(),
            http: UserHttp::new(self.shared.http.clone()),
            cookies: self.cookies.clone(),
            cache: self.cache.clone(),
            download_pool: Vec::new(),
            user_slots: self.user_slots.clone(),
            once_done: self.once_done.clone(),
            controllers: self.controllers.clone(),
            throughput_last: self.throughput_last.clone(),
            keep_sub_details: false,
            samplers_run: 0,
            csv_positions: self.csv_positions.clone(),
            last_sample_ok_var: self.last_sample_ok_var,
            tx_stack: Vec::new(),
            stepped_tx: Vec::new(),
            sampler_name: String::new(),
            stop_rx: self.shared.stop.subscribe(),
            seeded: self.seeded.clone(),
            stop_thread: false,
            arrivals: None,
            capture: Some(Vec::new()),
            last_page: None,
            last_response: None,
            tcp_sockets: HashMap::new(),
            compare_lists: self.compare_lists.clone(),
            follow_link: false,
            regex_parameters: Vec::new(),
            url_rewrites: Vec::new(),
            session_ids: self.session_ids.clone(),
            csv_read_rows: self.csv_read_rows.clone(),
        }
    }

    /// A Parallel Controller: each child runs at once on a fork of this user (at most
    /// `max_threads` at a time); the forks' variable and cookie changes come back in child
    /// order; their samples become one parent sample's sub-results, in the order they ended, or
    /// are reported one by one.
    async fn run_parallel(&mut self, controller: &Controller, spec: &Parallel) -> Flow {
        if let Some(flow) = self.fire_hooks(controller) {
            return flow;
        }
        let start = Instant::now();
        let start_ms = self.shared.epoch.millis_at(start);
        let mut forks: Vec<VirtualUser> = controller
            .children
            .iter()
            .map(|child| {
                let child_name = match child {
                    Node::Sampler(s) => s.path.0.last().map_or("", String::as_str),
                    Node::Controller(c) => &c.name,
                };
                self.fork(format!("{} - {} - {child_name}", self.thread_name, spec.name).into())
            })
            .collect();
        let limit = spec.max_threads.unwrap_or(usize::MAX);
        {
            let mut running: Vec<Option<BoxFuture<'_, Flow>>> = forks
                .iter_mut()
                .zip(&controller.children)
                .map(|(fork, child)| Some(fork.run_nodes(std::slice::from_ref(child))))
                .collect();
            std::future::poll_fn(|cx| {
                let mut active = 0;
                let mut pending = false;
                for slot in running.iter_mut() {
                    let Some(future) = slot else { continue };
                    if active == limit {
                        pending = true;
                        break;
                    }
                    if future.as_mut().poll(cx).is_ready() {
                        *slot = None;
                    } else {
                        active += 1;
                        pending = true;
                    }
                }
                if pending {
                    std::task::Poll::Pending
                } else {
                    std::task::Poll::Ready(())
                }
            })
            .await;
        }
        let (before_vars, before_cookies) = (self.vars.clone(), self.cookies.clone());
        let mut samples = Vec::new();
        let mut stop = false;
        for fork in &mut forks {
            for (i, value) in fork.vars.slots.iter().enumerate() {
                if *value != before_vars.slots[i] {
                    self.vars.slots[i] = value.clone();
                }
            }
            for (name, value) in &fork.vars.extra {
                if before_vars.extra.get(name) != Some(value) {
                    self.vars.extra.insert(name.clone(), value.clone());
                }
            }
            self.cookies.merge_changes(&before_cookies, &fork.cookies);
            self.samplers_run += fork.samplers_run;
            stop |= fork.stop_thread;
            samples.append(fork.capture.get_or_insert_with(Vec::new));
        }
        samples.sort_by_key(|s| s.end_ms);
        if spec.parent {
            let wall = start.elapsed().as_millis() as u64;
            let mut sample = Sample::new(spec.name.to_string(), self.thread_name.clone(), start_ms);
            sample.end_ms = start_ms + wall as i64;
            sample.elapsed = wall;
            sample.response_code = "200".into();
            sample.response_message = "OK".into();
            sample.data_type = DataType::Empty;
            sample.success = samples.iter().all(|s| s.success);
            sample.bytes = samples.iter().map(|s| s.bytes).sum();
            sample.sent_bytes = samples.iter().map(|s| s.sent_bytes).sum();
            (sample.grp_threads, sample.all_threads) = self.thread_counts();
            sample.listeners = spec.listeners.clone();
            sample.subresults = samples;
            self.emit(sample).await;
        } else {
            for sample in samples {
                self.emit(sample).await;
            }
        }
        if stop {
            self.stop_thread = true;
            return Flow::StopThread;
        }
        Flow::Next
    }

    /// A user of an Arrivals Thread Group: one iteration per arrival.
    pub(super) fn on_arrivals(mut self, arrivals: Arc<super::dynamic::Arrivals>) -> Self {
        self.arrivals = Some(arrivals);
        self
    }

    pub(super) async fn run(mut self) {
        let shared = self.shared.clone();
        shared.threads.active.fetch_add(1, Ordering::Relaxed);
        shared.threads.started.fetch_add(1, Ordering::Relaxed);
        if let Some(active) = shared.group_active.get(self.group_index) {
            active.fetch_add(1, Ordering::Relaxed);
        }
        self.set_var("JMeterThread.last_sample_ok", "true".into());
        self.main_loop().await;
        if let Some(active) = shared.group_active.get(self.group_index) {
            active.fetch_sub(1, Ordering::Relaxed);
        }
        shared.threads.active.fetch_sub(1, Ordering::Relaxed);
        shared.threads.finished.fetch_add(1, Ordering::Relaxed);
    }

    async fn main_loop(&mut self) {
        let shared = self.shared.clone();
        let group = shared.group(self.group_index);
        let clear_cookies = cookie_flag(&group.body.children, &|c| c.clear_each_iteration);
        let controlled_cookies =
            cookie_flag(&group.body.children, &|c| c.controlled_by_thread_group);
        // JMeter's Cache Manager, at each iteration start: with "controlled by thread group",
        // only a new user clears it; else `clearEachIteration` does.
        let cache_policy = cache_policy(&group.body.children);
        let clear_cache = cache_policy.as_ref().is_some_and(|c| {
            if c.controlled_by_thread {
                !group.same_user_on_next_iteration
            } else {
                c.clear_each_iteration
            }
        });
        let mut reset_counters = Vec::new();
        counters_to_reset(
            &group.body.on_iteration,
            &group.body.children,
            &mut reset_counters,
        );
        let mut iteration: u64 = 0;
        loop {
            if self.should_stop() || group.loops.is_some_and(|n| iteration >= n) {
                break;
            }
            if let Some(arrivals) = self.arrivals.clone() {
                if !arrivals.next(&mut self.stop_rx).await || self.should_stop() {
                    break;
                }
            }
            let new_user = iteration > 0 && !group.same_user_on_next_iteration;
            if new_user {
                self.http.reset();
            }
            if clear_cookies || (new_user && controlled_cookies) {
                self.cookies.clear();
            }
            if clear_cache {
                self.cache.clear();
            }
            iteration += 1;
            self.iteration = iteration;
            for &slot in &reset_counters {
                self.user_slots[slot] = None;
            }
            let flow = match self.fire_hooks(&group.body) {
                Some(flow) => flow,
                None => self.run_nodes(&group.body.children).await,
            };
            // A break with no loop around it breaks the thread's own loop, which ends the thread.
            if matches!(flow, Flow::StopThread | Flow::BreakLoop) || self.stop_thread {
                break;
            }
            if matches!(flow, Flow::StartNextLoop | Flow::ContinueLoop) {
                // JMeter resets the flag when it starts the next loop after an error.
                self.set_var("JMeterThread.last_sample_ok", "true".into());
            }
            // An iteration that sampled nothing must still let other users run.
            tokio::task::yield_now().await;
        }
    }

    fn should_stop(&self) -> bool {
        self.shared.stop.is_stopping()
            || self.stop_thread
            || self.end_at.is_some_and(|end| Instant::now() >= end)
    }

    fn run_nodes<'a>(&'a mut self, nodes: &'a [Node]) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            for node in nodes {
                if self.should_stop() {
                    return Flow::StopThread;
                }
                let flow = match node {
                    Node::Sampler(sampler) => self.run_sampler(sampler).await,
                    Node::Controller(controller) => self.run_controller(controller).await,
                };
                if flow != Flow::Next {
                    return flow;
                }
            }
            Flow::Next
        })
    }

    /// Runs the iteration hooks of a controller; a CSV set at EOF with "stop thread" ends the thread.
    fn fire_hooks(&mut self, controller: &Controller) -> Option<Flow> {
        for hook in &controller.on_iteration {
            match hook {
                IterationHook::Csv(index) => {
                    let shared = self.shared.clone();
                    let table = shared.csv.get(*index)?;
                    let position = self.csv_positions.get_mut(*index)?;
                    match table.next(self.group_index, position) {
                        Next::Row(row) => {
                            for (i, (name, id)) in table.names().iter().enumerate() {
                                let value = row.get(i).cloned().unwrap_or_default();
                                match id {
                                    Some(id) => self.vars.slots[id.0 as usize] = Some(value),
                                    None => {
                                        self.vars.extra.insert(name.clone(), value);
                                    }
                                }
                            }
                        }
                        Next::Eof => {
                            for (name, _) in table.names() {
                                self.set_var(name, "<EOF>".into());
                            }
                        }
                        Next::StopThread => {
                            self.stop_thread = true;
                            return Some(Flow::StopThread);
                        }
                    }
                }
                IterationHook::Counter(counter) => {
                    let value = if counter.per_user {
                        let slot = &mut self.user_slots[counter.slot];
                        let current = slot.unwrap_or(counter.start);
                        let mut next = current.saturating_add(counter.increment);
                        if counter.end.is_some_and(|end| next > end) {
                            next = counter.start;
                        }
                        *slot = Some(next);
                        current
                    } else {
                        let cell = &self.shared.global_counters[counter.slot];
                        let mut current = cell.load(Ordering::Relaxed);
                        loop {
                            let mut next = current.saturating_add(counter.increment);
                            if counter.end.is_some_and(|end| next > end) {
                                next = counter.start;
                            }
                            match cell.compare_exchange_weak(
                                current,
                                next,
                                Ordering::Relaxed,
                                Ordering::Relaxed,
                            ) {
                                Ok(_) => break current,
                                Err(actual) => current = actual,
                            }
                        }
                    };
                    self.vars.slots[counter.var.0 as usize] = Some(counter.format.format(value));
                }
                IterationHook::UserParameters(parameters) => self.set_user_parameters(parameters),
                IterationHook::Throughput(spec) => self.decide_throughput(spec),
                IterationHook::CompareReset(slot) => {
                    if let Some(list) = self.compare_lists.get_mut(*slot) {
                        list.clear();
                    }
                }
                IterationHook::Random(random) => {
                    let (lo, hi) = (random.min.min(random.max), random.max.max(random.min));
                    let value = match (random.seed, random.per_thread) {
                        (None, _) => self.rng.i64(lo..=hi),
                        (Some(seed), true) => {
                            let rng = self
                                .seeded
                                .entry(random.slot)
                                .or_insert_with(|| fastrand::Rng::with_seed(seed));
                            rng.i64(lo..=hi)
                        }
                        (Some(seed), false) => {
                            let mut shared = match self.shared.seeded.lock() {
                                Ok(guard) => guard,
                                Err(poisoned) => poisoned.into_inner(),
                            };
                            shared
                                .entry(random.slot)
                                .or_insert_with(|| fastrand::Rng::with_seed(seed))
                                .i64(lo..=hi)
                        }
                    };
                    self.vars.slots[random.var.0 as usize] = Some(random.format.format(value));
                }
            }
        }
        None
    }

    fn run_controller<'a>(&'a mut self, controller: &'a Controller) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            match &controller.kind {
                ControllerKind::Simple => match self.fire_hooks(controller) {
                    Some(flow) => flow,
                    None => self.run_nodes(&controller.children).await,
                },
                ControllerKind::OnceOnly => {
                    if std::mem::replace(&mut self.once_done[controller.slot], true) {
                        return Flow::Next;
                    }
                    match self.fire_hooks(controller) {
                        Some(flow) => flow,
                        None => self.run_nodes(&controller.children).await,
                    }
                }
                ControllerKind::If {
                    condition,
                    use_expression,
                    evaluate_all,
                } => {
                    if !self.if_condition(condition, *use_expression, &controller.name) {
                        return Flow::Next;
                    }
                    if let Some(flow) = self.fire_hooks(controller) {
                        return flow;
                    }
                    if !*evaluate_all {
                        return self.run_nodes(&controller.children).await;
                    }
                    for (i, child) in controller.children.iter().enumerate() {
                        if i > 0 && !self.if_condition(condition, *use_expression, &controller.name)
                        {
                            break;
                        }
                        let flow = self.run_nodes(std::slice::from_ref(child)).await;
                        if flow != Flow::Next {
                            return flow;
                        }
                    }
                    Flow::Next
                }
                ControllerKind::Loop {
                    loops,
                    idx_var,
                    once_per_thread,
                } => {
                    if *once_per_thread
                        && std::mem::replace(&mut self.once_done[controller.slot], true)
                    {
                        return Flow::Next;
                    }
                    let rendered = loops.render(self);
                    let count: i64 = rendered.trim().parse().unwrap_or(0);
                    let mut i: i64 = 0;
                    while count < 0 || i < count {
                        let flow = self.loop_pass(controller, *idx_var, i as u64).await;
                        match self.pass_end(flow) {
                            PassEnd::Go => {}
                            PassEnd::Leave => break,
                            PassEnd::Up(flow) => return flow,
                        }
                        if self.should_stop() {
                            return Flow::StopThread;
                        }
                        i += 1;
                        if controller.children.is_empty() {
                            tokio::task::yield_now().await;
                        }
                    }
                    // JMeter: the index is back to 0 once the loop ends or breaks.
                    self.vars.slots[idx_var.0 as usize] = Some("0".into());
                    Flow::Next
                }
                ControllerKind::While { condition, idx_var } => {
                    let mode = condition.as_literal().map(str::trim);
                    let mut i: u64 = 0;
                    loop {
                        let enter = match mode {
                            Some("") => true,
                            Some(text) if text.eq_ignore_ascii_case("LAST") => {
                                i > 0 || self.last_ok()
                            }
                            _ => !condition.render(self).trim().eq_ignore_ascii_case("false"),
                        };
                        if !enter {
                            break;
                        }
                        let flow = self.loop_pass(controller, *idx_var, i).await;
                        match self.pass_end(flow) {
                            PassEnd::Go => {}
                            PassEnd::Leave => break,
                            PassEnd::Up(flow) => return flow,
                        }
                        i += 1;
                        // Empty condition and LAST: leave when the last sample failed.
                        if matches!(mode, Some(m) if m.is_empty() || m.eq_ignore_ascii_case("LAST"))
                            && !self.last_ok()
                        {
                            break;
                        }
                        if self.should_stop() {
                            return Flow::StopThread;
                        }
                        tokio::task::yield_now().await;
                    }
                    self.vars.slots[idx_var.0 as usize] = Some("0".into());
                    Flow::Next
                }
                ControllerKind::Interleave {
                    random,
                    across_threads,
                    ignore_sub,
                } => {
                    self.interleave(controller, *random, *across_threads, *ignore_sub)
                        .await
                }
                ControllerKind::RandomOrder => {
                    if let Some(flow) = self.fire_hooks(controller) {
                        return flow;
                    }
                    let mut order: Vec<usize> = (0..controller.children.len()).collect();
                    self.rng.shuffle(&mut order);
                    for i in order {
                        let flow = self.run_nodes(&controller.children[i..=i]).await;
                        if flow != Flow::Next {
                            return flow;
                        }
                    }
                    Flow::Next
                }
                ControllerKind::Switch { value } => {
                    let value = value.render(self);
                    let Some(i) = switch_choice(value.trim(), &controller.children) else {
                        return Flow::Next;
                    };
                    if let Some(flow) = self.fire_hooks(controller) {
                        return flow;
                    }
                    self.run_nodes(&controller.children[i..=i]).await
                }
                ControllerKind::Throughput(spec) => {
                    if !self.controllers[spec.slot].run {
                        return Flow::Next;
                    }
                    match self.fire_hooks(controller) {
                        Some(flow) => flow,
                        None => self.run_nodes(&controller.children).await,
                    }
                }
                ControllerKind::RunTime { seconds } => {
                    // JMeter parses the value with `Long.parseLong`, untrimmed; 0 when it cannot.
                    let seconds = seconds.render(self).parse::<u64>().unwrap_or(0);
                    if seconds == 0 || controller.children.is_empty() {
                        return Flow::Next;
                    }
                    let started = Instant::now();
                    let over = || started.elapsed().as_secs() >= seconds;
                    loop {
                        if let Some(flow) = self.fire_hooks(controller) {
                            return flow;
                        }
                        let before = self.samplers_run;
                        for child in &controller.children {
                            if over() {
                                return Flow::Next;
                            }
                            let flow = self.run_nodes(std::slice::from_ref(child)).await;
                            if flow != Flow::Next {
                                return flow;
                            }
                        }
                        if over() {
                            return Flow::Next;
                        }
                        if self.should_stop() {
                            return Flow::StopThread;
                        }
                        if self.samplers_run == before {
                            // Nothing ran: wait a little rather than spin until the time is up.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
                ControllerKind::ForEach(spec) => self.for_each(controller, spec).await,
                ControllerKind::Parallel(spec) => self.run_parallel(controller, spec).await,
                ControllerKind::CriticalSection { lock } => {
                    let name = lock.render(self);
                    if name.is_empty() {
                        tracing::warn!("Critical Section Controller {} has an empty lock name: it runs without a lock", controller.name);
                        return match self.fire_hooks(controller) {
                            Some(flow) => flow,
                            None => self.run_nodes(&controller.children).await,
                        };
                    }
                    let mutex = {
                        let mut locks = match self.shared.controllers.locks.lock() {
                            Ok(guard) => guard,
                            Err(poisoned) => poisoned.into_inner(),
                        };
                        locks.entry(name).or_default().clone()
                    };
                    let _guard = tokio::select! {
                        guard = mutex.lock_owned() => guard,
                        _ = self.stop_rx.changed() => return Flow::StopThread,
                    };
                    match self.fire_hooks(controller) {
                        Some(flow) => flow,
                        None => self.run_nodes(&controller.children).await,
                    }
                }
                ControllerKind::Transaction(tx) => {
                    // JMeter: a controller without children is done after its first pass and
                    // its parent drops it, so an empty transaction reports once per thread.
                    if controller.children.is_empty()
                        && std::mem::replace(&mut self.once_done[controller.slot], true)
                    {
                        return Flow::Next;
                    }
                    let frame = TxFrame::new(tx, self.shared.epoch.millis());
                    self.tx_stack.push(frame);
                    let flow = match self.fire_hooks(controller) {
                        Some(flow) => flow,
                        None => self.run_nodes(&controller.children).await,
                    };
                    // JMeter: a thread that stops inside a non-parent transaction sends no
                    // transaction sample; a parent-mode one is ended and sent.
                    if let Some(frame) = self
                        .tx_stack
                        .pop()
                        .filter(|f| f.tx.parent || flow != Flow::StopThread)
                    {
                        let cut = matches!(
                            flow,
                            Flow::StartNextLoop | Flow::ContinueLoop | Flow::BreakLoop
                        );
                        let mut sample = self.transaction_sample(frame, cut);
                        if tx.parent {
                            self.assert_transaction(tx, &mut sample);
                        }
                        self.emit(sample).await;
                    }
                    flow
                }
            }
        })
    }

    /// JMeter's `doEndTransactionSampler`: the assertions in a parent-mode controller's scope run
    /// on its sample, which then sets `JMeterThread.last_sample_ok`.
    fn assert_transaction(&mut self, tx: &Transaction, sample: &mut Sample) {
        if tx.assertions.is_empty() {
            return;
        }
        let (code, message) = (
            sample.response_code.clone(),
            sample.response_message.clone(),
        );
        let response = Response {
            body: "",
            response_headers: "",
            request_headers: "",
            url: "",
            code: &code,
            message: &message,
            body_bytes: 0,
            header_bytes: 0,
            subs: &[],
        };
        let mut message_set = false;
        for assertion in &tx.assertions {
            let outcome = process::assert(assertion, sample, &response, self);
            if let (false, Some(text)) = (message_set, &outcome.message) {
                sample.failure_message = text.clone();
                message_set = true;
            }
            sample.assertions.push(outcome);
        }
        self.set_var("JMeterThread.last_sample_ok", sample.success.to_string());
    }

    /// An assertion scoped to sub-samples (JMeter's `recurseAssertionChecks`): each sub-sample,
    /// and theirs down to `depth` more levels, is checked; a parent that passed fails with "One
    /// or more sub-samples failed" when one of its sub-samples failed. `responses` are the
    /// sub-samples' texts in depth-first order; `next` walks them.
    fn assert_sub_samples(
        &mut self,
        assertion: &crate::plan::assertion::Assertion,
        parent: &mut Sample,
        responses: &[Response<'_>],
        next: &mut usize,
        depth: i32,
    ) {
        let mut child_failed = false;
        for child in &mut parent.subresults {
            let at = *next;
            *next += 1;
            if let Some(response) = responses.get(at) {
                let outcome = process::assert(assertion, child, response, self);
                record_assertion(child, outcome);
            }
            if depth > 0 {
                self.assert_sub_samples(assertion, child, responses, next, depth - 1);
            } else {
                *next += count_subs(&child.subresults);
            }
            child_failed |= !child.success;
        }
        if child_failed && parent.success {
            parent.success = false;
            record_assertion(
                parent,
                crate::sample::AssertionResult {
                    name: assertion.name.clone(),
                    failure: true,
                    error: false,
                    message: Some("One or more sub-samples failed".into()),
                },
            );
        }
    }

    /// What a Loop, While or ForEach does after one pass: a Flow Control Action's continue or
    /// break stops here (JMeter then resets `JMeterThread.last_sample_ok`); any other jump goes up.
    fn pass_end(&mut self, flow: Flow) -> PassEnd {
        match flow {
            Flow::Next => PassEnd::Go,
            Flow::ContinueLoop | Flow::BreakLoop => {
                self.set_var("JMeterThread.last_sample_ok", "true".into());
                if flow == Flow::BreakLoop {
                    PassEnd::Leave
                } else {
                    PassEnd::Go
                }
            }
            flow => PassEnd::Up(flow),
        }
    }

    /// Interleave and Random Controllers: one child per visit (a sampler, or a child
    /// controller's whole pass, or with `ignore_sub` its next sampler); a child controller that
    /// runs nothing hands over to the next.
    async fn interleave(
        &mut self,
        controller: &Controller,
        random: bool,
        across: bool,
        ignore_sub: bool,
    ) -> Flow {
        let n = controller.children.len();
        if n == 0 {
            return Flow::Next;
        }
        let slot = controller.slot;
        if !self.controllers[slot].started {
            self.controllers[slot].started = true;
            self.controllers[slot].position = if random {
                self.rng.usize(..n) as u32
            } else if across {
                ((self.thread_num as usize - 1) % n) as u32
            } else {
                0
            };
        }
        // JMeter starts an iteration of the controller at every visit.
        if let Some(flow) = self.fire_hooks(controller) {
            return flow;
        }
        for _ in 0..n {
            let i = self.controllers[slot].position as usize % n;
            let before = self.samplers_run;
            let flow = match &controller.children[i] {
                Node::Controller(child) if ignore_sub => self.step(controller, child).await,
                _ => self.run_nodes(&controller.children[i..=i]).await,
            };
            self.controllers[slot].position = if random {
                self.rng.usize(..n) as u32
            } else {
                ((i + 1) % n) as u32
            };
            if flow != Flow::Next {
                return flow;
            }
            if self.samplers_run != before {
                break;
            }
        }
        Flow::Next
    }

    /// The next sampler of a child controller that an Interleave with "ignore sub-controller
    /// blocks" takes one sampler at a time (the build allows children of samplers only), as
    /// JMeter 5.6 pulls it:
    /// - Simple, If and Once Only Controllers keep their place between visits; their pass (an
    ///   If's condition, a Once Only's only pass, their hooks) starts again with the first child;
    /// - Loop, While and ForEach Controllers are iteration listeners of the Interleave, rewound at
    ///   every visit: each visit runs the first sampler of a fresh first pass;
    /// - an Interleave or Random Controller gives one sampler per visit by itself.
    ///
    /// A child with no sampler to give is asked again and again by JMeter until its thread dies
    /// of a `StackOverflowError`; this user stops there, with an error.
    async fn step(&mut self, interleave: &Controller, child: &Controller) -> Flow {
        let len = child.children.len();
        if len == 0 {
            return Flow::Next;
        }
        let at = self.controllers[child.slot].position as usize % len;
        let pass_starts = at == 0;
        match &child.kind {
            ControllerKind::Interleave { .. } => return self.run_controller(child).await,
            ControllerKind::Transaction(tx) => return self.step_transaction(child, tx, at).await,
            // Rewound at every visit, a Loop never gets to be done (even one that does not
            // continue forever).
            ControllerKind::Loop { loops, idx_var, .. } => {
                let count: i64 = loops.render(self).trim().parse().unwrap_or(0);
                if count == 0 {
                    return self.interleave_dead_end(interleave, child);
                }
                return self.first_of_fresh_pass(child, *idx_var, 0).await;
            }
            ControllerKind::While { condition, idx_var } => {
                let enter = match condition.as_literal().map(str::trim) {
                    Some("") => true,
                    Some(text) if text.eq_ignore_ascii_case("LAST") => self.last_ok(),
                    _ => !condition.render(self).trim().eq_ignore_ascii_case("false"),
                };
                if !enter {
                    return self.interleave_dead_end(interleave, child);
                }
                return self.first_of_fresh_pass(child, *idx_var, 0).await;
            }
            ControllerKind::ForEach(spec) => {
                let prefix = spec.input_prefix.render(self);
                let return_var = spec.return_var.render(self);
                let separator = if spec.separator { "_" } else { "" };
                let start = spec
                    .start
                    .as_ref()
                    .map_or(0, |t| t.render(self).parse::<i64>().unwrap_or(0));
                let end = spec
                    .end
                    .as_ref()
                    .map_or(i64::MAX, |t| t.render(self).parse::<i64>().unwrap_or(0));
                // A ForEach past its end is done: JMeter drops it and the visit moves on.
                if start >= end {
                    return Flow::Next;
                }
                let name = format!("{prefix}{separator}{}", start + 1);
                let Some(value) = self.var_by_name(&name).map(str::to_string) else {
                    return self.interleave_dead_end(interleave, child);
                };
                self.set_var(&return_var, value);
                return self.first_of_fresh_pass(child, spec.idx_var, start).await;
            }
            ControllerKind::If {
                condition,
                use_expression,
                evaluate_all,
            } if (pass_starts || *evaluate_all)
                && !self.if_condition(condition, *use_expression, &child.name) =>
            {
                self.controllers[child.slot].position = 0;
                return self.interleave_dead_end(interleave, child);
            }
            ControllerKind::OnceOnly
                if pass_starts && std::mem::replace(&mut self.once_done[child.slot], true) =>
            {
                return self.interleave_dead_end(interleave, child);
            }
            _ => {}
        }
        if pass_starts {
            if let Some(flow) = self.fire_hooks(child) {
                return flow;
            }
        }
        self.controllers[child.slot].position = ((at + 1) % len) as u32;
        let flow = self.run_nodes(&child.children[at..=at]).await;
        // JMeter rewinds a controller whose pass a flow action ends (start next thread loop,
        // next iteration, break).
        if flow != Flow::Next {
            self.controllers[child.slot].position = 0;
        }
        flow
    }

    /// One child of a Transaction Controller that an Interleave steps through. The transaction
    /// stays open between visits; the visit after its last child reports it, as JMeter does:
    /// without a parent sample, the row comes first and the next pass starts in the same visit;
    /// with one, the parent sample (its children held as sub-results) is that visit's sample.
    async fn step_transaction(
        &mut self,
        child: &Controller,
        tx: &Arc<Transaction>,
        at: usize,
    ) -> Flow {
        let open = self
            .stepped_tx
            .iter()
            .position(|(slot, _)| *slot == child.slot);
        let frame = match (at, open) {
            (0, Some(i)) => {
                let (_, frame) = self.stepped_tx.swap_remove(i);
                let mut sample = self.transaction_sample(frame, false);
                if tx.parent {
                    self.assert_transaction(tx, &mut sample);
                }
                self.emit(sample).await;
                if tx.parent {
                    // The parent sample is what this visit gave.
                    self.samplers_run += 1;
                    return Flow::Next;
                }
                None
            }
            (_, Some(i)) => Some(self.stepped_tx.swap_remove(i).1),
            (_, None) => None,
        };
        let frame = frame.unwrap_or_else(|| TxFrame::new(tx, self.shared.epoch.millis()));
        self.tx_stack.push(frame);
        if at == 0 {
            if let Some(flow) = self.fire_hooks(child) {
                self.tx_stack.pop();
                return flow;
            }
        }
        self.controllers[child.slot].position = ((at + 1) % child.children.len()) as u32;
        let flow = self.run_nodes(&child.children[at..=at]).await;
        let Some(frame) = self.tx_stack.pop() else {
            return flow;
        };
        if flow == Flow::Next {
            self.stepped_tx.push((child.slot, frame));
            return flow;
        }
        // A flow action ends the transaction's pass: it is reported now (a parent-mode one also
        // when the user stops), and the controller is rewound.
        self.controllers[child.slot].position = 0;
        if tx.parent || flow != Flow::StopThread {
            let mut sample = self.transaction_sample(frame, flow != Flow::StopThread);
            if tx.parent {
                self.assert_transaction(tx, &mut sample);
            }
            self.emit(sample).await;
        }
        flow
    }

    /// A loop controller's first pass begins (index 0, its hooks) and runs its first child.
    /// A continue or break from inside ends that pass, as in the loop itself.
    async fn first_of_fresh_pass(
        &mut self,
        child: &Controller,
        idx_var: VarId,
        index: i64,
    ) -> Flow {
        self.vars.slots[idx_var.0 as usize] = Some(index.to_string());
        if let Some(flow) = self.fire_hooks(child) {
            return flow;
        }
        let flow = self.run_nodes(&child.children[..1]).await;
        match self.pass_end(flow) {
            PassEnd::Go | PassEnd::Leave => Flow::Next,
            PassEnd::Up(flow) => flow,
        }
    }

    /// JMeter's thread ends with a `StackOverflowError` when a child of an Interleave with
    /// "ignore sub-controller blocks" gives no sampler; this user ends there too.
    fn interleave_dead_end(&mut self, interleave: &Controller, child: &Controller) -> Flow {
        tracing::error!(
            controller = %interleave.name,
            child = %child.name,
            "the child controller gives no sampler to an Interleave that ignores sub-controller blocks: JMeter's thread ends here (StackOverflowError), and so does this user"
        );
        Flow::StopThread
    }

    /// JMeter's Throughput Controller decision, taken when its parent starts an iteration:
    /// total executions run while fewer than the maximum were granted; percent executions run
    /// when `(100 × executions + 50) / (iteration + 1) < percent` (a running ratio, not a draw).
    fn decide_throughput(&mut self, spec: &Throughput) {
        // JMeter: an unparsable maximum is 1, an unparsable percentage 100.
        let max = spec.max_executions.render(self).parse::<i64>().unwrap_or(1);
        let percent = spec
            .percent
            .render(self)
            .trim()
            .parse::<f64>()
            .unwrap_or(100.0);
        let decide = |executions: i64, iteration: i64| {
            if spec.by_percent {
                (100.0 * executions as f64 + 50.0) / (iteration as f64 + 1.0) < percent
            } else {
                executions < max
            }
        };
        let run = if spec.per_user {
            let state = &mut self.controllers[spec.slot];
            let run = decide(state.executions, state.decisions);
            state.decisions += 1;
            state.executions += run as i64;
            run
        } else {
            let Some(cell) = self.shared.controllers.throughput.get(spec.slot) else {
                return;
            };
            let mut counts = match cell.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let run = decide(counts.1, counts.0);
            counts.0 += 1;
            counts.1 += run as i64;
            run
        };
        self.controllers[spec.slot].run = run;
    }

    /// A ForEach Controller: one pass per variable `<prefix>_<n>` from `start + 1` to `end`,
    /// up to the first one missing, with the value in the return variable.
    async fn for_each(&mut self, controller: &Controller, spec: &ForEach) -> Flow {
        let prefix = spec.input_prefix.render(self);
        let return_var = spec.return_var.render(self);
        let separator = if spec.separator { "_" } else { "" };
        // JMeter: a present but empty or unparsable index reads as 0.
        let mut index = |t: &Option<Template>, missing: i64| match t {
            Some(t) => t.render(self).parse::<i64>().unwrap_or(0),
            None => missing,
        };
        let start = index(&spec.start, 0);
        let end = index(&spec.end, i64::MAX);
        let mut i = start;
        let mut first = None;
        while i < end {
            let name = format!("{prefix}{separator}{}", i + 1);
            let Some(value) = self.var_by_name(&name).map(str::to_string) else {
                break;
            };
            if first.is_none() {
                first = Some(value.clone());
            }
            self.set_var(&return_var, value);
            let flow = self
                .loop_pass(controller, spec.idx_var, i.max(0) as u64)
                .await;
            match self.pass_end(flow) {
                PassEnd::Go => {}
                PassEnd::Leave => break,
                PassEnd::Up(flow) => return flow,
            }
            if self.should_stop() {
                return Flow::StopThread;
            }
            i += 1;
        }
        self.vars.slots[spec.idx_var.0 as usize] = Some(start.to_string());
        // JMeter: after the loop the return variable holds the first value again.
        if let Some(first) = first {
            self.set_var(&return_var, first);
        }
        Flow::Next
    }

    /// One pass of a Loop or While controller: `__jm__<name>__idx`, iteration hooks, children.
    async fn loop_pass(&mut self, controller: &Controller, idx_var: VarId, i: u64) -> Flow {
        if i == 0 {
            self.rearm_once_only(controller);
        }
        self.vars.slots[idx_var.0 as usize] = Some(i.to_string());
        if let Some(flow) = self.fire_hooks(controller) {
            return flow;
        }
        self.run_nodes(&controller.children).await
    }

    /// JMeter: a Once Only Controller runs again when its parent loop starts its first iteration,
    /// so under a Loop or While it runs once each time the loop is entered.
    fn rearm_once_only(&mut self, parent: &Controller) {
        for child in &parent.children {
            if let Node::Controller(c) = child {
                if matches!(c.kind, ControllerKind::OnceOnly) {
                    self.once_done[c.slot] = false;
                }
            }
        }
    }

    fn last_ok(&self) -> bool {
        self.var_by_name("JMeterThread.last_sample_ok") != Some("false")
    }

    fn if_condition(
        &mut self,
        condition: &crate::plan::Template,
        use_expression: bool,
        name: &str,
    ) -> bool {
        let text = condition.render(self);
        if use_expression {
            // JMeter: `equalsIgnoreCase("true")`, without trimming.
            return text.eq_ignore_ascii_case("true");
        }
        // JMeter evaluates the condition as JavaScript and accepts only "true" or "false".
        match crate::plan::javascript::eval(&text) {
            Ok(crate::plan::javascript::JsValue::Bool(b)) => b,
            Ok(crate::plan::javascript::JsValue::Str(s)) if s == "true" => true,
            Ok(_) => false,
            Err(e) => {
                tracing::error!(controller = name, condition = %text, "if controller: {e}");
                false
            }
        }
    }

    fn thread_counts(&self) -> (u32, u32) {
        let group = self
            .shared
            .group_active
            .get(self.group_index)
            .map_or(0, |a| a.load(Ordering::Relaxed));
        (group, self.shared.threads.active.load(Ordering::Relaxed))
    }

    /// `cut`: the transaction ended through a jump out of it (start next loop, next
    /// iteration, break); JMeter's `triggerEndOfLoop` then leaves a non-parent code empty.
    fn transaction_sample(&self, frame: TxFrame, cut: bool) -> Sample {
        let end = Instant::now();
        let wall = end.duration_since(frame.start).as_millis() as u64;
        // No child filled in the thread fields of an empty transaction: JMeter leaves them blank.
        let thread_name = if frame.count == 0 && !frame.tx.parent {
            Arc::from("")
        } else {
            self.thread_name.clone()
        };
        let mut sample = Sample::new(frame.tx.name.to_string(), thread_name, frame.start_ms);
        sample.end_ms = frame.start_ms + wall as i64;
        sample.idle = if frame.tx.include_timers {
            0
        } else {
            wall.saturating_sub(frame.busy_ms)
        };
        sample.elapsed = wall - sample.idle;
        sample.success = frame.failures == 0;
        sample.response_code = match (sample.success, frame.tx.parent) {
            (true, false) if cut => String::new(),
            (true, _) => "200".into(),
            (false, true) => frame.code.unwrap_or_default(),
            (false, false) => String::new(),
        };
        sample.response_message = format!(
            "Number of samples in transaction : {}, number of failing samples : {}",
            frame.count, frame.failures
        );
        sample.data_type = DataType::Empty;
        sample.bytes = frame.bytes;
        sample.sent_bytes = frame.sent_bytes;
        // A parent-mode transaction (JMeter's TransactionSampler) does not sum latencies.
        sample.latency = if frame.tx.parent { 0 } else { frame.latency };
        sample.connect = frame.connect;
        (sample.grp_threads, sample.all_threads) = frame.last_counts;
        sample.is_transaction = true;
        sample.listeners = frame.tx.listeners.clone();
        sample.subresults = frame.subresults;
        sample
    }

    /// Hands a finished sample to the enclosing transactions and the listeners, as JMeter does:
    /// non-parent transactions count it, a parent-mode transaction keeps it as a sub-result and
    /// hides it from the listeners outside.
    async fn emit(&mut self, mut sample: Sample) {
        for frame in self.tx_stack.iter_mut().rev() {
            // JMeter: a non-parent transaction ignores the samples of transactions inside it.
            if sample.is_transaction && !frame.tx.parent {
                continue;
            }
            // Parent mode: the code follows the children up to the first failure.
            if frame.failures == 0 {
                frame.code = Some(sample.response_code.clone());
            }
            frame.count += 1;
            if !sample.success {
                frame.failures += 1;
            }
            frame.bytes += sample.bytes;
            frame.sent_bytes += sample.sent_bytes;
            frame.latency += sample.latency;
            frame.connect += sample.connect;
            frame.busy_ms += (sample.end_ms - sample.start_ms).max(0) as u64;
            frame.last_counts = (sample.grp_threads, sample.all_threads);
            if frame.tx.parent {
                frame.subresults.push(sample);
                return;
            }
        }
        if let Some(captured) = &mut self.capture {
            captured.push(sample);
            return;
        }
        if !self.shared.sample_variables.is_empty() {
            sample.variables = self
                .shared
                .sample_variables
                .iter()
                .map(|n| self.var_by_name(n).unwrap_or("").to_string())
                .collect();
        }
        // A closed channel means the writer is gone; the run is ending and nothing can be saved.
        let _ = self.shared.tx.send(sample).await;
    }

    /// Sets the variables of a User Parameters element from this thread's column.
    fn set_user_parameters(&mut self, parameters: &UserParameters) {
        if parameters.columns.is_empty() {
            return;
        }
        let column = &parameters.columns[(self.thread_num as usize - 1) % parameters.columns.len()];
        for (id, value) in parameters.names.iter().zip(column) {
            let value = value.render(self);
            self.vars.slots[id.0 as usize] = Some(value);
        }
    }

    async fn run_sampler(&mut self, sampler: &Sampler) -> Flow {
        self.samplers_run += 1;
        self.follow_link = false;
        self.regex_parameters.clear();
        self.url_rewrites.clear();
        for pre in &sampler.pre {
            match pre.as_ref() {
                PreProcessor::UserParameters(parameters) => self.set_user_parameters(parameters),
                PreProcessor::LinkParser => self.follow_link = true,
                PreProcessor::RegexParameters(parameters) => {
                    self.regex_parameters.push(parameters.clone())
                }
                PreProcessor::UrlRewriting(rewriting) => {
                    if !matches!(sampler.kind, SamplerKind::Http(_)) {
                        continue;
                    }
                    if let Some(value) = self.session_id(rewriting) {
                        self.url_rewrites.push((rewriting.clone(), value));
                    }
                }
            }
        }
        // JMeter evaluates the label after the pre-processors ran.
        self.sampler_name = sampler.label.render(self);
        if !sampler.timers.is_empty() && !self.plan.ignore_timers {
            let mut total = Duration::ZERO;
            for timer in &sampler.timers {
                if let Timer::Shaping(shaping) = timer.as_ref() {
                    // The plugin blocks inside its delay(), before the other timers' sleep.
                    let state = &self.shared.shaping[shaping.slot];
                    let now = Instant::now();
                    match state.reserve(shaping, now) {
                        super::shaping::Slot::At(at) => {
                            if at > now && !self.pause(at - now).await {
                                return Flow::StopThread;
                            }
                        }
                        super::shaping::Slot::Over => return Flow::StopThread,
                    }
                    continue;
                }
                if let Timer::ConstantThroughput(ctt) = timer.as_ref() {
                    total += self.constant_throughput_delay(ctt);
                    continue;
                }
                if let Timer::Sync(sync) = timer.as_ref() {
                    // JMeter's timer blocks inside its delay(), then adds nothing.
                    let size = match sync.group_size.render(self).trim().parse::<usize>() {
                        Ok(n) if n > 0 => n,
                        _ => self.shared.group(self.group_index).threads as usize,
                    };
                    let timeout = (!sync.timeout.is_zero()).then_some(sync.timeout);
                    let points = self.shared.sync_timers.clone();
                    if !points[sync.slot]
                        .gather(size, timeout, &mut self.stop_rx)
                        .await
                    {
                        return Flow::StopThread;
                    }
                    continue;
                }
                if let Timer::PreciseThroughput(ptt) = timer.as_ref() {
                    total += self.precise_throughput_delay(ptt);
                    continue;
                }
                let mut rng = std::mem::replace(&mut self.rng, fastrand::Rng::with_seed(0));
                total += crate::plan::timer::draw(timer, &mut |t| t.render(self), &mut rng);
                self.rng = rng;
            }
            if !self.pause(total).await {
                return Flow::StopThread;
            }
        }
        let label = self.sampler_name.clone();
        // Sub-samples keep their responses when an extractor reads them.
        self.keep_sub_details = sampler
            .post
            .iter()
            .any(|p| p.scope() != crate::plan::extract::SampleScope::Parent)
            || sampler.assertions.iter().any(|a| a.scope.sub_samples());
        let (mut sample, mut exchange) = match &sampler.kind {
            // Boxed: the request's large state lives on the heap only while it runs, so a user
            // waiting in a timer holds a small future (S3: about 1.7 KB less per user).
            SamplerKind::Http(request) => match Box::pin(self.http_sample(request, label)).await {
                Some(result) => result,
                // Answered by the Cache Manager, which leaves no sample: JMeter then skips the
                // post-processors, assertions and listeners.
                None => return Flow::Next,
            },
            SamplerKind::JavaTest(test) => self.java_test_sample(test, label).await,
            SamplerKind::Debug(debug) => self.debug_sample(debug, label),
            SamplerKind::System(command) => self.system_sample(command, label).await,
            SamplerKind::Dummy(dummy) => self.dummy_sample(dummy, label).await,
            SamplerKind::Tcp(tcp) => self.tcp_sample(tcp, label).await,
            SamplerKind::Action(action) => return self.flow_action(action).await,
        };
        if self.shared.keep_details && !matches!(sampler.kind, SamplerKind::Http(_)) {
            sample.details = Some(Box::new(Details {
                response_data: exchange.body.clone(),
                sampler_data: exchange.sampler_data.take(),
                ..Default::default()
            }));
        }
        if self.plan.keep_last_response {
            // What `__regexFunction` reads (JMeter's previous result, set before post-processing).
            self.last_response = Some(String::from_utf8_lossy(&exchange.body).into_owned());
        }
        if self.plan.keep_last_page {
            // The page the next sampler's HTML Link Parser reads.
            self.last_page = match &sampler.kind {
                SamplerKind::Http(_) => url::Url::parse(&exchange.url)
                    .ok()
                    .map(|url| (url, String::from_utf8_lossy(&exchange.body).into_owned())),
                _ => None,
            };
        }
        sample.listeners = sampler.listeners.clone();
        (sample.grp_threads, sample.all_threads) = self.thread_counts();
        // JMeter fills the thread fields of direct sub-results too.
        for sub in &mut sample.subresults {
            (sub.grp_threads, sub.all_threads) = (sample.grp_threads, sample.all_threads);
        }
        let body = String::from_utf8_lossy(&exchange.body);
        let response_headers = exchange.response_head();
        // Extractors scoped to sub-samples read them depth-first, from their kept details.
        let mut sub_texts: Vec<[String; 6]> = Vec::new();
        if self.keep_sub_details {
            collect_subs(&sample.subresults, &mut sub_texts);
        }
        let subs: Vec<Response> = sub_texts
            .iter()
            .map(
                |[body, response_headers, request_headers, url, code, message]| Response {
                    body,
                    response_headers,
                    request_headers,
                    url,
                    code,
                    message,
                    body_bytes: body.len() as u64,
                    header_bytes: 0,
                    subs: &[],
                },
            )
            .collect();
        let (code, message) = (
            sample.response_code.clone(),
            sample.response_message.clone(),
        );
        let response = Response {
            body: &body,
            response_headers: &response_headers,
            request_headers: &exchange.request_headers,
            url: &exchange.url,
            code: &code,
            message: &message,
            body_bytes: exchange.body.len() as u64,
            header_bytes: exchange.header_bytes,
            subs: &subs,
        };
        for post in &sampler.post {
            if let PostProcessor::Debug(debug) = &**post {
                self.debug_post(debug, sampler, &mut sample);
                continue;
            }
            if let Some(outcome) = process::post_process(post, &response, self) {
                record_assertion(&mut sample, outcome);
            }
        }
        for assertion in &sampler.assertions {
            if assertion.scope.main_sample() {
                let outcome = process::assert(assertion, &mut sample, &response, self);
                record_assertion(&mut sample, outcome);
            }
            if assertion.scope.sub_samples() {
                let mut next = 0;
                self.assert_sub_samples(assertion, &mut sample, &subs, &mut next, 3);
            }
        }
        let ok = sample.success;
        match self.last_sample_ok_var {
            Some(id) => self.vars.slots[id.0 as usize] = Some(ok.to_string()),
            None => self.set_var("JMeterThread.last_sample_ok", ok.to_string()),
        }
        self.emit(sample).await;
        if ok {
            return Flow::Next;
        }
        // A Result Status Action Handler's action comes first; "continue" there leaves the
        // thread group's own setting.
        let action = sampler
            .on_error
            .iter()
            .copied()
            .find(|a| *a != OnSampleError::Continue)
            .unwrap_or(self.shared.group(self.group_index).on_sample_error);
        match action {
            OnSampleError::Continue => Flow::Next,
            OnSampleError::NextIteration => Flow::ContinueLoop,
            OnSampleError::BreakLoop => Flow::BreakLoop,
            OnSampleError::StartNextLoop => Flow::StartNextLoop,
            OnSampleError::StopThread => Flow::StopThread,
            OnSampleError::StopTest => {
                self.shared.stop.shutdown();
                Flow::StopThread
            }
            OnSampleError::StopTestNow => {
                self.shared.stop.stop_now();
                Flow::StopThread
            }
        }
    }

    /// JMeter's `JavaTest`: sleeps `Sleep_Time + now % Sleep_Mask` ms, then answers with the
    /// code, message, status and data its arguments give. A stop-now interrupts it (a failure).
    async fn java_test_sample(&mut self, test: &JavaTest, label: String) -> (Sample, Exchange) {
        let mut arg = |t: &Option<Template>| t.as_ref().map(|t| t.render(self));
        let sleep_time = arg(&test.sleep_time);
        let sleep_mask = arg(&test.sleep_mask);
        let custom_label = arg(&test.label).unwrap_or_default();
        let code = arg(&test.response_code).unwrap_or_default();
        let message = arg(&test.response_message).unwrap_or_default();
        let ok = arg(&test.status).is_none_or(|s| s.eq_ignore_ascii_case("OK"));
        let sampler_data = arg(&test.sampler_data).unwrap_or_default();
        let result_data = arg(&test.result_data).unwrap_or_default();
        // JMeter's `getLongParameter` falls back to the default on a value it cannot parse.
        let long = |v: Option<String>, default: i64| {
            v.and_then(|v| crate::plan::sampler::decode_long(&v))
                .unwrap_or(default)
        };
        let (sleep_time, sleep_mask) = (long(sleep_time, 100), long(sleep_mask, 0xff));
        let label = if custom_label.is_empty() {
            label
        } else {
            custom_label
        };
        let start_ms = self.shared.epoch.millis();
        let started = Instant::now();
        let sleep = if sleep_time > 0 && sleep_mask > 0 {
            sleep_time + start_ms.rem_euclid(sleep_mask)
        } else {
            sleep_time
        };
        let mut interrupted = false;
        if sleep > 0 {
            let until = tokio::time::Instant::now() + Duration::from_millis(sleep as u64);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    _ = self.stop_rx.changed() => {
                        if self.shared.stop.is_stop_now() {
                            interrupted = true;
                            break;
                        }
                    }
                }
            }
        }
        let mut sample = Sample::new(label, self.thread_name.clone(), start_ms);
        sample.elapsed = started.elapsed().as_millis() as u64;
        sample.end_ms = start_ms + sample.elapsed as i64;
        sample.response_code = code;
        sample.response_message = message;
        sample.success = ok && !interrupted;
        sample.sent_bytes = sampler_data.len() as u64;
        sample.bytes = result_data.len() as u64;
        let mut exchange = Exchange::empty(String::new(), start_ms, result_data.into_bytes());
        exchange.sampler_data = Some(sampler_data).filter(|d| !d.is_empty());
        (sample, exchange)
    }

    /// JMeter's OS Process Sampler: runs the command and waits for it (up to its timeout); the
    /// exit code is the response code and standard output the response body.
    async fn system_sample(
        &mut self,
        command: &SystemCommand,
        label: String,
    ) -> (Sample, Exchange) {
        let program = command.command.render(self);
        let arguments: Vec<String> = command.arguments.iter().map(|a| a.render(self)).collect();
        let environment: Vec<(String, String)> = command
            .environment
            .iter()
            .map(|(n, v)| (n.clone(), v.render(self)))
            .collect();
        let directory = command.directory.render(self);
        let (stdin, stdout, stderr) = (
            command.stdin.render(self),
            command.stdout.render(self),
            command.stderr.render(self),
        );
        let start_ms = self.shared.epoch.millis();
        let mut sample = Sample::new(label, self.thread_name.clone(), start_ms);
        let started = Instant::now();
        let outcome = super::process::run_command(
            &program,
            &arguments,
            &environment,
            &directory,
            [&stdin, &stdout, &stderr],
            command.timeout,
        )
        .await;
        sample.elapsed = started.elapsed().as_millis() as u64;
        sample.end_ms = start_ms + sample.elapsed as i64;
        let output = match outcome {
            Ok((code, output)) => {
                sample.response_code = code.to_string();
                if command.check_return_code && code != command.expected_return_code {
                    sample.success = false;
                    sample.response_message = format!(
                        "Unexpected return code.  Expected [{}]. Actual [{code}].",
                        command.expected_return_code
                    );
                } else {
                    sample.response_message = "OK".into();
                }
                output
            }
            Err(message) => {
                sample.success = false;
                sample.response_code = "500".into();
                sample.response_message = message;
                Vec::new()
            }
        };
        sample.bytes = output.len() as u64;
        (sample, Exchange::empty(String::new(), start_ms, output))
    }

    /// JMeter's TCP Sampler, on this user's sockets.
    async fn tcp_sample(
        &mut self,
        tcp: &crate::plan::sampler::Tcp,
        label: String,
    ) -> (Sample, Exchange) {
        let server = tcp.server.render(self);
        let port_text = tcp.port.render(self);
        // JMeter's integer getter: anything that is not a number is 0.
        let port = port_text.parse::<u16>().unwrap_or(0);
        let mut ms = |t: &Template| t.render(self).trim().parse::<u64>().unwrap_or(0);
        let (timeout, connect_timeout) = (ms(&tcp.timeout), ms(&tcp.connect_timeout));
        let text = tcp.request.render(self);
        let request = super::tcp::Request {
            server: &server,
            port,
            client: tcp.client,
            eol: tcp.eol,
            reuse: tcp.reuse,
            close: tcp.close,
            nodelay: tcp.nodelay,
            timeout: (timeout > 0).then(|| Duration::from_millis(timeout)),
            connect_timeout: (connect_timeout > 0).then(|| Duration::from_millis(connect_timeout)),
            so_linger: tcp.so_linger,
            request: &text,
            key: format!("TCP#{server}#{port}#{}#{}", tcp.username, tcp.password),
            status: tcp.status.as_ref(),
        };
        let start_ms = self.shared.epoch.millis();
        let started = Instant::now();
        // Only "stop now" interrupts a sample in flight, as JMeter's `interrupt()` does.
        let outcome = {
            // Boxed: every user's task holds the largest sampler future it might await.
            let mut sampling = Box::pin(super::tcp::sample(&request, &mut self.tcp_sockets));
            loop {
                tokio::select! {
                    outcome = &mut sampling => break Some(outcome),
                    changed = self.stop_rx.changed() => {
                        if changed.is_err() || self.shared.stop.is_stop_now() {
                            break None;
                        }
                    }
                }
            }
        };
        let mut sample = Sample::new(label, self.thread_name.clone(), start_ms);
        sample.elapsed = started.elapsed().as_millis() as u64;
        sample.end_ms = start_ms + sample.elapsed as i64;
        let outcome = outcome.unwrap_or_else(|| super::tcp::Outcome {
            code: "500".into(),
            message: "java.net.SocketException: Socket closed".into(),
            success: false,
            body: Some(String::new()),
            connect: Duration::ZERO,
            latency: Duration::ZERO,
        });
        sample.connect = outcome.connect.as_millis() as u64;
        sample.latency = outcome.latency.as_millis() as u64;
        sample.response_code = outcome.code;
        sample.response_message = outcome.message;
        sample.success = outcome.success;
        // JMeter's request data: the connection's settings until the request is written.
        let sampler_data = match outcome.body {
            Some(_) => text,
            None => format!(
                "Host: {server} Port: {port}\nReuse: {} Close: {}\n[SOLINGER: {} EOL: {} noDelay: {}]",
                tcp.reuse,
                tcp.close,
                tcp.so_linger.unwrap_or(0),
                tcp.eol_setting,
                tcp.nodelay
            ),
        };
        let body = match outcome.body {
            Some(body) => body.into_bytes(),
            // A connect failure: no response and no data type, as in JMeter.
            None => {
                sample.data_type = crate::sample::DataType::Empty;
                Vec::new()
            }
        };
        sample.bytes = body.len() as u64;
        let mut exchange = Exchange::empty(String::new(), start_ms, body);
        exchange.sampler_data = Some(sampler_data);
        (sample, exchange)
    }

    /// The alias of this user's client certificate, when a variable names it.
    fn cert_alias(&self) -> Option<String> {
        self.http
            .client_alias_var()
            .and_then(|var| self.var_by_name(var))
            .map(str::to_string)
    }

    /// The jmeter-plugins Dummy Sampler.
    async fn dummy_sample(&mut self, dummy: &Dummy, label: String) -> (Sample, Exchange) {
        // The plugin reads the times as integers (0 when they are not).
        let mut ms = |t: &Template| t.render(self).trim().parse::<i64>().unwrap_or(0).max(0) as u64;
        let (response_time, latency, connect) = (
            ms(&dummy.response_time),
            ms(&dummy.latency),
            ms(&dummy.connect),
        );
        let start_ms = self.shared.epoch.millis();
        if dummy.waiting && response_time > 0 {
            let until = tokio::time::Instant::now() + Duration::from_millis(response_time);
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = self.stop_rx.changed() => {}
            }
        }
        let mut sample = Sample::new(label, self.thread_name.clone(), start_ms);
        sample.elapsed = if dummy.waiting {
            (self.shared.epoch.millis() - start_ms).max(0) as u64
        } else {
            response_time
        };
        sample.end_ms = start_ms + sample.elapsed as i64;
        sample.latency = latency;
        sample.connect = connect;
        sample.success = dummy.success;
        sample.response_code = dummy.response_code.render(self);
        sample.response_message = dummy.response_message.render(self);
        let body = dummy.response_data.render(self).into_bytes();
        sample.bytes = body.len() as u64;
        let url = dummy.url.render(self);
        sample.http = dummy.http;
        if !url.trim().is_empty() {
            sample.url = Some(url.trim().to_string());
        }
        let mut exchange = Exchange::empty(sample.url.clone().unwrap_or_default(), start_ms, body);
        exchange.sampler_data = Some(dummy.request_data.render(self)).filter(|d| !d.is_empty());
        (sample, exchange)
    }

    /// JMeter's Debug Sampler: the variables, then the properties, as `debug_text` lists them.
    fn debug_sample(&mut self, debug: &Debug, label: String) -> (Sample, Exchange) {
        let start_ms = self.shared.epoch.millis();
        let text = self.debug_text(None, debug.variables, debug.properties);
        let mut sample = Sample::new(label, self.thread_name.clone(), start_ms);
        sample.response_code = "200".into();
        sample.response_message = "OK".into();
        sample.bytes = text.len() as u64;
        let mut exchange = Exchange::empty(String::new(), start_ms, text.into_bytes());
        exchange.sampler_data = debug_sections(false, debug.variables, debug.properties);
        (sample, exchange)
    }

    /// The Debug Sampler's and Debug PostProcessor's text: for each section asked for, a
    /// `Name:` line, `key=value` lines in JMeter's alphanumeric key order, and an empty line.
    fn debug_text(
        &mut self,
        sampler_properties: Option<&[(String, Template)]>,
        variables: bool,
        properties: bool,
    ) -> String {
        fn section(text: &mut String, title: &str, mut lines: Vec<(String, String)>) {
            lines.sort_by(|a, b| crate::plan::sampler::alphanumeric_order(&a.0, &b.0));
            text.push_str(title);
            text.push_str(":\n");
            for (name, value) in lines {
                text.push_str(&format!("{name}={value}\n"));
            }
            text.push('\n');
        }
        let mut text = String::new();
        if let Some(raw) = sampler_properties {
            let lines = raw
                .iter()
                .map(|(n, t)| (n.clone(), t.render(self)))
                .collect();
            section(&mut text, "SamplerProperties", lines);
        }
        if variables {
            let lines = self
                .vars
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let value = v.as_deref()?;
                    Some((
                        self.plan.vars.name(VarId(i as u32)).to_string(),
                        value.to_string(),
                    ))
                })
                .chain(self.vars.extra.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect();
            section(&mut text, "JMeterVariables", lines);
        }
        if properties {
            section(&mut text, "JMeterProperties", self.shared.props.sorted());
        }
        text
    }

    /// The Debug PostProcessor's sub-result, added to `sample` as JMeter's `addSubResult` does:
    /// renamed after its parent, its size added to the parent's.
    fn debug_post(&mut self, debug: &DebugPost, sampler: &Sampler, sample: &mut Sample) {
        let start_ms = self.shared.epoch.millis();
        let raw = debug
            .sampler_properties
            .then_some(&sampler.raw_properties[..]);
        let text = self.debug_text(raw, debug.variables, debug.properties);
        let label = if self.plan.functional_mode {
            debug.name.clone()
        } else {
            format!("{}-{}", sample.label, sample.subresults.len())
        };
        let mut sub = Sample::new(label, self.thread_name.clone(), start_ms);
        sub.end_ms = self.shared.epoch.millis();
        sub.elapsed = (sub.end_ms - start_ms).max(0) as u64;
        sub.response_code = "200".into();
        sub.response_message = "OK".into();
        sub.bytes = text.len() as u64;
        if self.keep_sub_details || self.shared.keep_details {
            sub.details = Some(Box::new(crate::sample::Details {
                response_data: text.into_bytes(),
                sampler_data: debug_sections(
                    debug.sampler_properties,
                    debug.variables,
                    debug.properties,
                ),
                ..Default::default()
            }));
        }
        sample.bytes += sub.bytes;
        if sub.end_ms > sample.end_ms {
            sample.elapsed += (sub.end_ms - sample.end_ms) as u64;
            sample.end_ms = sub.end_ms;
        }
        sample.subresults.push(sub);
    }

    /// A Flow Control Action, after its pre-processors and timers ran. It writes no sample, but
    /// JMeter's non-parent Transaction Controllers count it among their samplers.
    async fn flow_action(&mut self, action: &FlowAction) -> Flow {
        for frame in self.tx_stack.iter_mut().rev() {
            if frame.tx.parent {
                break;
            }
            frame.count += 1;
        }
        match action.action {
            Action::Pause => {
                let ms = action
                    .duration
                    .render(self)
                    .trim()
                    .parse::<i64>()
                    .unwrap_or(0);
                if ms > 0 && !self.pause(Duration::from_millis(ms as u64)).await {
                    return Flow::StopThread;
                }
                Flow::Next
            }
            Action::Stop if action.all_threads => {
                self.shared.stop.shutdown();
                Flow::StopThread
            }
            Action::Stop => Flow::StopThread,
            Action::StopNow if action.all_threads => {
                self.shared.stop.stop_now();
                Flow::StopThread
            }
            Action::StopNow => Flow::StopThread,
            Action::StartNextLoop => Flow::StartNextLoop,
            Action::NextIteration => Flow::ContinueLoop,
            Action::BreakLoop => Flow::BreakLoop,
        }
    }

    /// JMeter's Constant Throughput Timer: the next sample is due one interval (60 s / rate,
    /// times the active threads in modes 1 and 2) after the last scheduled one, or now when that
    /// has passed. Shared modes take their turn from one schedule with a compare-and-swap.
    fn constant_throughput_delay(&mut self, ctt: &ConstantThroughput) -> Duration {
        let per_minute = ctt
            .per_minute
            .render(self)
            .trim()
            .parse::<f64>()
            .unwrap_or(0.0);
        if !(per_minute > 0.0 && per_minute.is_finite()) {
            return Duration::ZERO;
        }
        let interval = 60e9 / per_minute;
        let now = self.shared.epoch.nanos();
        let n_groups = self.shared.group_active.len().max(1);
        let shared = match ctt.mode {
            ThroughputMode::SharedAll => Some(ctt.slot * n_groups),
            ThroughputMode::SharedInGroup => Some(ctt.slot * n_groups + self.group_index),
            _ => None,
        };
        if let Some(index) = shared {
            let cell = &self.shared.throughput_timers[index];
            let mut last = cell.load(Ordering::Relaxed);
            loop {
                let next = if last == 0 {
                    now
                } else {
                    ((last as f64 + interval) as u64).max(now)
                };
                match cell.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return Duration::from_nanos(next - now),
                    Err(actual) => last = actual,
                }
            }
        }
        let threads = match ctt.mode {
            ThroughputMode::AllActiveThreads => {
                self.shared.threads.active.load(Ordering::Relaxed).max(1) as f64
            }
            ThroughputMode::ActiveThreadsInGroup => {
                self.shared
                    .group_active
                    .get(self.group_index)
                    .map_or(1, |a| a.load(Ordering::Relaxed).max(1)) as f64
            }
            _ => 1.0,
        };
        let last = self.throughput_last[ctt.slot];
        let next = if last == 0 {
            now
        } else {
            ((last as f64 + interval * threads) as u64).max(now)
        };
        self.throughput_last[ctt.slot] = next;
        Duration::from_nanos(next - now)
    }

    /// A Precise Throughput Timer: the wait until this sample's time in the timer's schedule
    /// (plus its place in a batch); none when that time has passed.
    fn precise_throughput_delay(&mut self, ptt: &PreciseThroughput) -> Duration {
        let shared = self.shared.clone();
        let now = shared.epoch.nanos() as f64 / 1e9;
        let rate = || {
            ptt.throughput
                .render(self)
                .trim()
                .parse::<f64>()
                .unwrap_or(0.0)
        };
        let Some((at, place)) = shared.precise_timers[ptt.slot].take(ptt, now, rate) else {
            return Duration::ZERO;
        };
        crate::plan::schedule::seconds(at - now)
            .saturating_add(ptt.batch_delay.saturating_mul(place))
    }

    /// Sleeps for a timer, cut short by the scheduler's end (then false) or by a stop.
    async fn pause(&mut self, delay: Duration) -> bool {
        let mut until = Instant::now() + delay;
        let mut cut = false;
        if let Some(end) = self.end_at {
            if until >= end {
                until = end;
                cut = true;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => {}
            _ = self.stop_rx.changed() => return false,
        }
        !cut
    }

    /// `None` when the Cache Manager answered the request and leaves no sample.
    async fn http_sample(
        &mut self,
        request: &HttpRequest,
        label: String,
    ) -> Option<(Sample, Exchange)> {
        let start_ms = self.shared.epoch.millis();
        let outgoing = match self.render_request(request) {
            Ok(outgoing) => outgoing,
            Err((class, message)) => {
                let mut sample = Sample::new(label, self.thread_name.clone(), start_ms);
                sample.http = true;
                sample.response_code = format!("Non HTTP response code: {class}");
                sample.response_message = format!("Non HTTP response message: {message}");
                sample.success = false;
                let body = format!("{class}: {message}\n").into_bytes();
                sample.bytes = body.len() as u64;
                let exchange = Exchange::empty(String::new(), start_ms, body);
                return Some((sample, exchange));
            }
        };
        let key = ClientKey {
            connect_timeout: request.connect_timeout,
            response_timeout: request.response_timeout,
        };
        let follow = request.follow_redirects || request.auto_redirects;
        // Embedded resources go out with the page's headers (not its body's).
        let resource_headers: Vec<(String, String)> = match &request.embedded {
            Some(_) => outgoing
                .headers
                .iter()
                .filter(|(n, _)| {
                    !n.eq_ignore_ascii_case("content-type")
                        && !n.eq_ignore_ascii_case("content-length")
                })
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let keep_alive = outgoing.keep_alive;
        let mut hops: Vec<Exchange> = Vec::new();
        // The targets HttpClient's own redirects have gone to (its `RedirectLocations`).
        let mut auto_targets = std::collections::HashSet::new();
        let mut details: Vec<Box<Details>> = Vec::new();
        let mut next = Some(outgoing);
        while let Some(mut out) = next.take() {
            if let Some(policy) = &request.cache {
                match self.consult_cache(policy, &mut out) {
                    None => {}
                    // The first hop is cached: no sample; a later one ends the redirects.
                    Some(None) if hops.is_empty() => return None,
                    Some(None) => break,
                    Some(Some(cached)) => {
                        hops.push(cached);
                        break;
                    }
                }
            }
            self.add_credentials(request, &mut out);
            if out.url.scheme() == "https" {
                let alias = self.cert_alias();
                self.http.choose_client_cert(alias.as_deref());
            }
            let jar = request.cookies.as_ref().map(|_| &mut self.cookies);
            let mut exchange = self.http.exchange(key, &out, jar, &self.shared.epoch).await;
            // The request stays for a challenge's answer, the cache and a redirect.
            let Outgoing {
                method,
                url,
                headers,
                body,
                display,
                keep_alive,
                entity_type,
            } = out;
            if exchange.status == 401 {
                if let Some(answer) =
                    self.digest_answer(request, &url, &method, &headers, &exchange)
                {
                    // HttpClient answers the challenge within the same sample.
                    let mut answered = headers.clone();
                    answered.push(("Authorization".into(), answer));
                    let retry = Outgoing {
                        method: method.clone(),
                        url: url.clone(),
                        headers: answered,
                        body: body.clone(),
                        display: display.clone(),
                        keep_alive,
                        entity_type,
                    };
                    let jar = request.cookies.as_ref().map(|_| &mut self.cookies);
                    let challenged = exchange;
                    exchange = self
                        .http
                        .exchange(key, &retry, jar, &self.shared.epoch)
                        .await;
                    exchange.start_ms = challenged.start_ms;
                    exchange.elapsed += challenged.elapsed;
                    exchange.latency += challenged.elapsed;
                    exchange.connect += challenged.connect;
                }
            }
            if request.cookies.is_some() {
                self.save_cookies(&exchange);
            }
            if let Some(policy) = &request.cache {
                let cacheable = self
                    .shared
                    .cacheable_methods
                    .iter()
                    .any(|m| m.as_str() == method.as_str());
                self.cache.store(
                    policy,
                    cacheable,
                    url.as_str(),
                    &exchange.code,
                    &exchange.response_headers,
                    &headers,
                    std::time::SystemTime::now(),
                );
            }
            if self.shared.keep_details || self.keep_sub_details {
                let shown = display.as_ref().map(|d| d.as_bytes()).or(body.as_deref());
                details.push(exchange_details(&exchange, &method, &url, shown));
            }
            let status = exchange.status;
            let redirect = follow && matches!(status, 301 | 302 | 303 | 307 | 308);
            let location = exchange.location.clone();
            hops.push(exchange);
            if !redirect {
                break;
            }
            let Some(target) = location.and_then(|l| url.join(&l).ok()) else {
                break;
            };
            let max = self.shared.max_redirects as usize;
            if request.follow_redirects && hops.len() > max {
                // JMeter's `followRedirects`: after the last allowed hop, a result of its own
                // (no request) copied from that hop says why it stopped.
                let hop = hops.last().expect("pushed above");
                let message = format!("Exceeded maximum number of redirects: {max}");
                let mut stop = Exchange::empty(
                    hop.url.clone(),
                    hop.start_ms + hop.elapsed.as_millis() as i64,
                    format!("java.io.IOException: {message}\n").into_bytes(),
                );
                stop.code = "Non HTTP response code: java.io.IOException".into();
                stop.message = format!("Non HTTP response message: {message}");
                stop.request_headers = hop.request_headers.clone();
                stop.cookies = hop.cookies.clone();
                if self.shared.keep_details || self.keep_sub_details {
                    details.push(exchange_details(&stop, &method, &url, None));
                }
                hops.push(stop);
                break;
            }
            if !request.follow_redirects
                && (!auto_targets.insert(target.to_string()) || hops.len() > max)
            {
                // HttpClient's own redirects (`auto_redirects`): a target seen before
                // (`CircularRedirectException`) or one too many (`RedirectException`) ends the
                // sample with the `ClientProtocolException` that wraps them, message and all.
                let hop = hops.last_mut().expect("pushed above");
                let class = "org.apache.http.client.ClientProtocolException";
                super::http::fail(hop, class, "null");
                // Java prints an exception without a message as its class alone.
                hop.body = format!("{class}\n").into_bytes();
                hop.wire_body_bytes = hop.body.len() as u64;
                hop.response_headers.clear();
                hop.status = 0;
                if let Some(last) = details.last_mut() {
                    *last = exchange_details(hop, &method, &url, None);
                }
                break;
            }
            // JMeter (`computeMethodForRedirect`) follows every redirect with a GET without a
            // body, except HEAD; HttpClient keeps the method and body on 307 and 308.
            let same = method == reqwest::Method::HEAD
                || (!request.follow_redirects && matches!(status, 307 | 308));
            next = Some(Outgoing {
                method: if same { method } else { reqwest::Method::GET },
                url: target,
                headers,
                body: if same { body } else { None },
                display: None,
                keep_alive,
                entity_type: if same { entity_type } else { None },
            });
        }
        let mut last = hops
            .pop()
            .unwrap_or_else(|| Exchange::empty(String::new(), start_ms, Vec::new()));
        let first_start = hops.first().map_or(last.start_ms, |h| h.start_ms);
        let mut sample = sample_from_exchange(&last, label.clone(), self.thread_name.clone());
        let mut details = details.into_iter();
        let last_details = details.next_back();
        if !hops.is_empty() {
            let end_ms = last.start_ms + last.elapsed.as_millis() as i64;
            sample.start_ms = first_start;
            sample.end_ms = end_ms;
            sample.elapsed = (end_ms - first_start).max(0) as u64;
            sample.latency = hops[0].latency.as_millis() as u64;
            sample.connect = hops[0].connect.as_millis() as u64;
            let hop_samples: Vec<Sample> = hops
                .iter()
                .chain(std::iter::once(&last))
                .enumerate()
                .map(|(i, h)| {
                    let name = if self.plan.functional_mode {
                        label.clone()
                    } else {
                        format!("{label}-{i}")
                    };
                    sample_from_exchange(h, name, self.thread_name.clone())
                })
                .zip(details.map(Some).chain(std::iter::repeat(None)))
                .map(|(mut hop, hop_details)| {
                    hop.details = hop_details;
                    hop
                })
                .collect();
            sample.bytes = hop_samples.iter().map(|s| s.bytes).sum();
            sample.sent_bytes = hop_samples.iter().map(|s| s.sent_bytes).sum();
            if request.follow_redirects {
                sample.subresults = hop_samples;
            }
        }
        if let Some(mut last_details) = last_details {
            if let Some(hop) = sample.subresults.last_mut() {
                hop.details = Some(last_details.clone());
            }
            // JMeter's `followRedirects` copies the last hop into the parent, cookies excepted.
            if let Some(first) = sample.subresults.first().and_then(|h| h.details.as_ref()) {
                last_details.cookies = first.cookies.clone();
            }
            sample.details = Some(last_details);
        }
        last.url = sample.url.clone().unwrap_or_default();
        if let Some(spec) = &request.embedded {
            let page = Resource {
                key,
                headers: &resource_headers,
                keep_alive,
            };
            sample = self
                .embedded_resources(request, spec, &page, sample, &last, 0)
                .await;
        }
        Some((sample, last))
    }

    /// "Retrieve All Embedded Resources": a successful text page whose type has a parser
    /// becomes a container: the page as its first sub-result, then each resource it links to
    /// (fetched with GET, the page's headers, cookies and cache), in document order; resources
    /// that are pages or stylesheets are parsed in turn, down to `httpsampler.max_frame_depth` (5).
    fn embedded_resources<'a>(
        &'a mut self,
        request: &'a HttpRequest,
        spec: &'a EmbeddedResources,
        page: &'a Resource<'a>,
        mut sample: Sample,
        exchange: &'a Exchange,
        depth: u32,
    ) -> BoxFuture<'a, Sample> {
        Box::pin(async move {
            if !sample.success
                || sample.data_type != DataType::Text
                || exchange.body.is_empty()
                || depth > self.shared.embedded.max_depth
            {
                return sample;
            }
            let content_type = exchange
                .response_headers
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.trim())
                .next_back()
                .unwrap_or("");
            let Some(parser) = self.shared.embedded.parser_for(content_type) else {
                return sample;
            };
            let Ok(base) = url::Url::parse(&exchange.url) else {
                return sample;
            };
            let body = String::from_utf8_lossy(&exchange.body);
            let urls = super::embedded::collect(parser, &body, &base);
            if urls.is_empty() {
                return sample;
            }
            let urls: Vec<url::Url> = urls
                .into_iter()
                .filter(|u| {
                    spec.include
                        .as_ref()
                        .is_none_or(|re| re.is_match(u.as_str()))
                })
                .filter(|u| {
                    spec.exclude
                        .as_ref()
                        .is_none_or(|re| !re.is_match(u.as_str()))
                })
                .collect();
            // The page itself is the container's first child (after any redirect hops).
            if sample.subresults.is_empty() {
                let mut first = sample.clone();
                first.details = None;
                sample.subresults.push(first);
            }
            let first_new = sample.subresults.len();
            let fetched = if spec.pool > 1 && urls.len() > 1 {
                self.fetch_concurrently(request, spec, page, urls, depth)
                    .await
            } else {
                let mut fetched = Vec::with_capacity(urls.len());
                for url in urls {
                    if let Some(resource) =
                        self.fetch_resource(request, spec, page, url, depth).await
                    {
                        fetched.push(resource);
                    }
                }
                fetched
            };
            for resource in fetched {
                sample.end_ms = sample.end_ms.max(resource.end_ms);
                sample.bytes += resource.bytes;
                sample.sent_bytes += resource.sent_bytes;
                sample.subresults.push(resource);
            }
            sample.elapsed =
                ((sample.end_ms - sample.start_ms).max(0) as u64).saturating_sub(sample.idle);
            // JMeter renames each child after its container: `Name-0`, `Name-1`...
            if !self.plan.functional_mode {
                for (i, child) in sample.subresults.iter_mut().enumerate() {
                    child.label = format!("{}-{i}", sample.label);
                }
            }
            if !self.shared.embedded.ignore_failed {
                let failed: Vec<&Sample> = sample.subresults[first_new..]
                    .iter()
                    .filter(|r| !r.success)
                    .collect();
                if !failed.is_empty() {
                    let mut message = String::from("Embedded resource download error:");
                    for r in failed {
                        message.push_str(&format!(
                            "{} code:{} message:{}, ",
                            r.url.as_deref().unwrap_or(""),
                            r.response_code,
                            r.response_message
                        ));
                    }
                    sample.success = false;
                    sample.response_message = message;
                }
            }
            sample
        })
    }

    /// One embedded resource, on this user's connections; `None` when a fresh cache entry
    /// answers it (no sample, as JMeter).
    async fn fetch_resource(
        &mut self,
        request: &HttpRequest,
        spec: &EmbeddedResources,
        page: &Resource<'_>,
        url: url::Url,
        depth: u32,
    ) -> Option<Sample> {
        let mut out = page.get(url);
        if let Some(policy) = &request.cache {
            match self.consult_cache(policy, &mut out) {
                None => {}
                Some(None) => return None,
                Some(Some(cached)) => {
                    let mut sample = sample_from_exchange(
                        &cached,
                        self.sampler_name.clone(),
                        self.thread_name.clone(),
                    );
                    sample.success = true;
                    return Some(sample);
                }
            }
        }
        self.add_credentials(request, &mut out);
        let url = out.url.clone();
        let sent_headers = out.headers.clone();
        if url.scheme() == "https" {
            let alias = self.cert_alias();
            self.http.choose_client_cert(alias.as_deref());
        }
        let jar = request.cookies.as_ref().map(|_| &mut self.cookies);
        let exchange = self
            .http
            .exchange(page.key, &out, jar, &self.shared.epoch)
            .await;
        if request.cookies.is_some() {
            self.save_cookies(&exchange);
        }
        self.remember(request, &url, &exchange, &sent_headers);
        let mut sample = sample_from_exchange(
            &exchange,
            self.sampler_name.clone(),
            self.thread_name.clone(),
        );
        if self.shared.keep_details || self.keep_sub_details {
            sample.details = Some(exchange_details(
                &exchange,
                &reqwest::Method::GET,
                &url,
                None,
            ));
        }
        Some(
            self.embedded_resources(request, spec, page, sample, &exchange, depth + 1)
                .await,
        )
    }

    /// Several embedded resources at once, as JMeter's download pool: each on a pool client of
    /// this user (its own connections), with a copy of the user's cookies taken before; the
    /// cookies they receive are added to the user's jar afterwards, and the results kept in
    /// document order. Resources that are pages or stylesheets are then parsed here.
    async fn fetch_concurrently(
        &mut self,
        request: &HttpRequest,
        spec: &EmbeddedResources,
        page: &Resource<'_>,
        urls: Vec<url::Url>,
        depth: u32,
    ) -> Vec<Sample> {
        let mut outgoing: Vec<Option<Outgoing>> = Vec::with_capacity(urls.len());
        let mut results: Vec<Option<Sample>> = Vec::with_capacity(urls.len());
        for url in urls {
            let mut out = page.get(url);
            let cached = match &request.cache {
                Some(policy) => self.consult_cache(policy, &mut out),
                None => None,
            };
            match cached {
                None => {
                    self.add_credentials(request, &mut out);
                    outgoing.push(Some(out));
                    results.push(None);
                }
                Some(None) => {
                    outgoing.push(None);
                    results.push(None);
                }
                Some(Some(exchange)) => {
                    outgoing.push(None);
                    results.push(Some(sample_from_exchange(
                        &exchange,
                        self.sampler_name.clone(),
                        self.thread_name.clone(),
                    )));
                }
            }
        }
        let snapshot = request.cookies.as_ref().map(|_| self.cookies.clone());
        while self.download_pool.len() < spec.pool {
            self.download_pool
                .push(UserHttp::new(self.shared.http.clone()));
        }
        // Each response with the headers its request went out with, in document order.
        type Done = Option<(Exchange, Vec<(String, String)>)>;
        let mut exchanges: Vec<Done> = (0..outgoing.len()).map(|_| None).collect();
        let mut tasks = tokio::task::JoinSet::new();
        let mut pending = outgoing
            .into_iter()
            .enumerate()
            .filter_map(|(i, o)| o.map(|o| (i, o)));
        let alias = self.cert_alias();
        let spawn = |tasks: &mut tokio::task::JoinSet<_>,
                     mut client: UserHttp,
                     (i, out): (usize, Outgoing)| {
            client.choose_client_cert(alias.as_deref());
            let mut jar = snapshot.clone();
            let shared = self.shared.clone();
            let key = page.key;
            tasks.spawn(async move {
                let headers = out.headers.clone();
                let exchange = client
                    .exchange(key, &out, jar.as_mut(), &shared.epoch)
                    .await;
                (i, client, exchange, headers)
            });
        };
        for _ in 0..spec.pool {
            let (Some(next), Some(client)) = (pending.next(), self.download_pool.pop()) else {
                break;
            };
            spawn(&mut tasks, client, next);
        }
        while let Some(done) = tasks.join_next().await {
            let Ok((i, client, exchange, headers)) = done else {
                continue;
            };
            match pending.next() {
                Some(next) => spawn(&mut tasks, client, next),
                None => self.download_pool.push(client),
            }
            exchanges[i] = Some((exchange, headers));
        }
        for (i, slot) in exchanges.into_iter().enumerate() {
            let Some((exchange, headers)) = slot else {
                continue;
            };
            if let (Some(_), Ok(url)) = (&request.cookies, url::Url::parse(&exchange.url)) {
                for line in exchange.response_headers.lines() {
                    if let Some((name, value)) = line.split_once(':') {
                        if name.trim().eq_ignore_ascii_case("set-cookie") {
                            self.cookies.store(value.trim(), &url);
                        }
                    }
                }
                self.save_cookies(&exchange);
            }
            if let Ok(url) = url::Url::parse(&exchange.url) {
                self.remember(request, &url, &exchange, &headers);
            }
            let mut sample = sample_from_exchange(
                &exchange,
                self.sampler_name.clone(),
                self.thread_name.clone(),
            );
            if let (true, Ok(url)) = (
                self.shared.keep_details || self.keep_sub_details,
                url::Url::parse(&exchange.url),
            ) {
                sample.details = Some(exchange_details(
                    &exchange,
                    &reqwest::Method::GET,
                    &url,
                    None,
                ));
            }
            results[i] = Some(
                self.embedded_resources(request, spec, page, sample, &exchange, depth + 1)
                    .await,
            );
        }
        results.into_iter().flatten().collect()
    }

    /// Stores a response's validators in the user's cache, when the request has a Cache Manager.
    fn remember(
        &mut self,
        request: &HttpRequest,
        url: &url::Url,
        exchange: &Exchange,
        sent_headers: &[(String, String)],
    ) {
        if let Some(policy) = &request.cache {
            let cacheable = self.shared.cacheable_methods.iter().any(|m| m == "GET");
            self.cache.store(
                policy,
                cacheable,
                url.as_str(),
                &exchange.code,
                &exchange.response_headers,
                sent_headers,
                std::time::SystemTime::now(),
            );
        }
    }

    /// Before a request with a Cache Manager: the stored validators become `If-Modified-Since`
    /// and `If-None-Match`; a GET whose entry is fresh is not sent. `Some(None)`: answered with
    /// no sample; `Some(Some(..))`: answered with the configured sample.
    fn consult_cache(
        &mut self,
        policy: &crate::plan::http::CachePolicy,
        out: &mut Outgoing,
    ) -> Option<Option<Exchange>> {
        let url = out.url.as_str();
        let (modified, etag) = self.cache.validators(url, &out.headers);
        for (name, value) in [("If-Modified-Since", modified), ("If-None-Match", etag)] {
            if let Some(value) = value {
                out.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                out.headers.push((name.to_string(), value));
            }
        }
        let fresh = policy.use_expires
            && out.method == reqwest::Method::GET
            && self
                .cache
                .is_fresh(url, &out.headers, std::time::SystemTime::now());
        if !fresh {
            return None;
        }
        Some(match &self.shared.cached_mode {
            CachedMode::NoSample => None,
            CachedMode::Sample { code, message } => {
                let start_ms = self.shared.epoch.millis();
                let mut exchange = Exchange::empty(url.to_string(), start_ms, Vec::new());
                exchange.code = code.clone();
                exchange.message = message.clone();
                exchange.success = true;
                Some(exchange)
            }
        })
    }

    /// The Authorization Manager's first entry whose URL prefix matches: `Authorization: Basic`,
    /// unless the request already has an `Authorization` header (HttpClient's rule).
    fn add_credentials(&self, request: &HttpRequest, out: &mut Outgoing) {
        let Some(entries) = &request.credentials else {
            return;
        };
        let url = out.url.as_str();
        let Some(entry) = entries.iter().find(|e| url.starts_with(e.url.as_str())) else {
            return;
        };
        // Digest credentials wait for the server's challenge (`digest_answer`).
        if entry.digest {
            return;
        }
        if out
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Authorization"))
        {
            return;
        }
        let user = if entry.domain.is_empty() {
            entry.username.clone()
        } else {
            format!("{}\\{}", entry.domain, entry.username)
        };
        let token =
            crate::plan::function::base64_encode(format!("{user}:{}", entry.password).as_bytes());
        out.headers
            .push(("Authorization".into(), format!("Basic {token}")));
    }

    /// The `Authorization` header answering a `401`'s Digest challenge with the Authorization
    /// Manager's DIGEST credentials for the URL (and realm, when the entry names one); `None`
    /// when there are none, the request carried its own, or the challenge is no Digest one.
    fn digest_answer(
        &mut self,
        request: &HttpRequest,
        url: &url::Url,
        method: &reqwest::Method,
        headers: &[(String, String)],
        exchange: &Exchange,
    ) -> Option<String> {
        let entry = request
            .credentials
            .as_ref()?
            .iter()
            .find(|e| url.as_str().starts_with(e.url.as_str()))?;
        if !entry.digest
            || headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            return None;
        }
        let params = exchange.response_headers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            if !name.trim().eq_ignore_ascii_case("www-authenticate") {
                return None;
            }
            super::digest::challenge(value)
        })?;
        let realm = params.iter().find(|(n, _)| n == "realm").map(|(_, v)| v);
        if !entry.realm.is_empty() && realm != Some(&entry.realm) {
            return None;
        }
        let user = if entry.domain.is_empty() {
            entry.username.clone()
        } else {
            format!("{}\\{}", entry.domain, entry.username)
        };
        let mut uri = url.path().to_string();
        if let Some(query) = url.query() {
            uri.push('?');
            uri.push_str(query);
        }
        let cnonce = format!("{:016x}", self.rng.u64(..));
        super::digest::authorization(
            &params,
            &user,
            &entry.password,
            method.as_str(),
            &uri,
            &cnonce,
        )
    }

    /// `CookieManager.save.cookies`: each cookie a response sets becomes the variable
    /// `COOKIE_<name>`, and disappears when the response deletes the cookie.
    fn save_cookies(&mut self, exchange: &Exchange) {
        let Some(prefix) = self.shared.save_cookies.clone() else {
            return;
        };
        for line in exchange.response_headers.lines() {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if !header.trim().eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let Some((name, _)) = value.split_once('=') else {
                continue;
            };
            let name = name.trim();
            let var = format!("{prefix}{name}");
            match self.cookies.value(name).map(str::to_string) {
                Some(stored) => self.set_var(&var, stored),
                None => self.remove_var(&var),
            }
        }
    }

    /// The HTML Link Parser's choice among the links and forms of the last page that this
    /// sampler matches, with the arguments it then sends (`None`: no page or no match, and the
    /// sampler goes out as it is).
    fn link_from_last_page(&mut self, request: &HttpRequest, path: &str) -> Option<Link> {
        let (page, body) = self.last_page.take()?;
        let protocol = request.protocol.render(self).trim().to_ascii_lowercase();
        let domain = request.domain.render(self).trim().to_string();
        let flags: Vec<(bool, bool)> = request
            .args
            .iter()
            .map(|a| (a.always_encode, a.use_equals))
            .collect();
        let mut args: Vec<(String, String)> = request
            .args
            .iter()
            .map(|a| (a.name.render(self), a.value.render(self)))
            .collect();
        let candidates = super::anchor::candidates(&body, &page);
        self.last_page = Some((page, body));
        let matcher = super::anchor::Matcher::new(&super::anchor::Sampler {
            protocol: &protocol,
            domain: &domain,
            path,
            args: &args,
        });
        let fitting: Vec<&super::anchor::Candidate> =
            candidates.iter().filter(|c| matcher.matches(c)).collect();
        if fitting.is_empty() {
            tracing::debug!("HTML Link Parser: no link of the last page matches {path}");
            return None;
        }
        let chosen = fitting[self.rng.usize(..fitting.len())].clone();
        let (protocol, domain, path) = super::anchor::apply(&chosen, &mut args, &mut self.rng);
        let args = if chosen.form {
            args.into_iter()
                .zip(flags)
                .map(|((n, v), (encode, equals))| (n, v, encode, equals))
                .collect()
        } else {
            // A link's arguments go as they were written.
            args.into_iter().map(|(n, v)| (n, v, false, true)).collect()
        };
        Some(Link {
            protocol,
            domain,
            path,
            args,
        })
    }

    /// The session id a URL Re-writing Modifier finds in the last page (empty when there is
    /// none, or the last value found with `cache_value`); `None` without a last page.
    fn session_id(&mut self, rewriting: &Arc<crate::plan::data::UrlRewriting>) -> Option<String> {
        let (_, body) = self.last_page.as_ref()?;
        let found = rewriting
            .pattern
            .captures(body)
            .and_then(|c| c.iter().skip(1).flatten().next())
            .map_or(String::new(), |m| m.as_str().to_string());
        if !rewriting.cache {
            return Some(found);
        }
        let key = Arc::as_ptr(rewriting) as usize;
        if found.is_empty() {
            return Some(self.session_ids.get(&key).cloned().unwrap_or_default());
        }
        self.session_ids.insert(key, found.clone());
        Some(found)
    }

    /// RegEx User Parameters: each argument named by one of the extractor's matches takes its
    /// value (JMeter's `RegExUserParameters.process`).
    fn set_regex_parameters(
        &mut self,
        parameters: &crate::plan::data::RegexParameters,
        args: &mut [(String, String, bool, bool)],
    ) {
        let reference = parameters.reference.render(self);
        let names = parameters.names_group.render(self);
        let values = parameters.values_group.render(self);
        let count = self
            .var_by_name(&format!("{reference}_matchNr"))
            .and_then(|n| n.trim().parse::<usize>().ok());
        let found = |i: usize, group: &str| format!("{reference}_{i}_g{group}");
        let (Some(count), true, true) = (
            count,
            self.var_by_name(&found(1, &names)).is_some(),
            self.var_by_name(&found(1, &values)).is_some(),
        ) else {
            tracing::info!("RegEx User Parameters: the referenced matches of {reference} were not found, no parameter will be changed");
            return;
        };
        let mut map: HashMap<String, String> = HashMap::new();
        for i in 1..=count {
            if let (Some(name), Some(value)) = (
                self.var_by_name(&found(i, &names)),
                self.var_by_name(&found(i, &values)),
            ) {
                map.insert(name.to_string(), value.to_string());
            }
        }
        for (name, value, _, _) in args.iter_mut() {
            if let Some(new) = map.get(name.as_str()) {
                value.clone_from(new);
            }
        }
    }

    /// Renders the request's templates into a URL, headers and body.
    fn render_request(
        &mut self,
        request: &HttpRequest,
    ) -> Result<Outgoing, (&'static str, String)> {
        let mut path = request.path.render(self);
        // An HTML Link Parser sends the sampler where a link or form of the last page points.
        let link = match std::mem::take(&mut self.follow_link) {
            true => self.link_from_last_page(request, &path),
            false => None,
        };
        if let Some(link) = &link {
            path = link.path.clone();
        }
        let rewrites = std::mem::take(&mut self.url_rewrites);
        for (rewriting, value) in rewrites.iter().filter(|(r, _)| r.path_extension) {
            // JMeter: a `;name` already there is cut out up to the query, then the new one is
            // appended at the end.
            let marker = format!(";{}", rewriting.name);
            if let Some(at) = path.find(&marker) {
                let tail = path[at..].find('?').map(|q| path[at + q..].to_string());
                path.truncate(at);
                path.push_str(tail.as_deref().unwrap_or(""));
            }
            path.push_str(&marker);
            if !rewriting.no_equals {
                path.push('=');
            }
            path.push_str(value);
        }
        let mut url = if path.starts_with("http://") || path.starts_with("https://") {
            url::Url::parse(&path)
                .map_err(|e| ("java.net.MalformedURLException", format!("{e}: {path}")))?
        } else {
            let (protocol, domain) = match &link {
                Some(link) => (link.protocol.clone(), link.domain.clone()),
                None => (
                    request.protocol.render(self).trim().to_ascii_lowercase(),
                    request.domain.render(self).trim().to_string(),
                ),
            };
            let protocol = if protocol.is_empty() {
                "http".to_string()
            } else {
                protocol
            };
            if domain.is_empty() {
                return Err((
                    "java.lang.IllegalArgumentException",
                    "Host may not be blank".into(),
                ));
            }
            let port = request.port.render(self).trim().to_string();
            let host = if domain.contains(':') && !domain.starts_with('[') {
                format!("[{domain}]")
            } else {
                domain
            };
            let authority = if port.is_empty() {
                host
            } else {
                format!("{host}:{port}")
            };
            let path = if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            };
            let text = format!("{protocol}://{authority}{path}");
            url::Url::parse(&text)
                .map_err(|e| ("java.net.MalformedURLException", format!("{e}: {text}")))?
        };
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.render(self), v.render(self)))
            .filter(|(n, _)| !n.trim().is_empty())
            .collect();
        let args_in_body = matches!(method.as_str(), "POST" | "PUT" | "PATCH")
            || (request.raw_body && method == reqwest::Method::DELETE);
        let entity = args_in_body || method == reqwest::Method::DELETE;
        if entity && (request.multipart || !request.files.is_empty()) {
            if let Some((body, display)) = self.upload_body(request, &mut headers)? {
                return Ok(Outgoing {
                    method,
                    url,
                    headers,
                    body: Some(body),
                    display,
                    keep_alive: request.keep_alive,
                    entity_type: None,
                });
            }
        }
        let mut body = None;
        let mut entity_type = None;
        // JMeter (`getSendParameterValuesAsPostBody`): a POST whose arguments all lack a name
        // sends their values as the body, as "Body Data" does.
        let unnamed = args_in_body
            && !request.args.is_empty()
            && request.args.iter().all(|a| a.name.as_literal() == Some(""));
        if request.raw_body || unnamed {
            let mut text = String::new();
            for arg in &request.args {
                arg.value.render_into(self, &mut text);
            }
            body = Some(text.into_bytes());
            // HttpClient's `StringEntity` in UTF-8.
            entity_type = Some("text/plain; charset=UTF-8");
        } else if !request.args.is_empty()
            || link.as_ref().is_some_and(|l| !l.args.is_empty())
            || rewrites.iter().any(|(r, _)| !r.path_extension)
        {
            // Name, value, "encode", "use equals".
            let args: Vec<(String, String, bool, bool)> = match link {
                Some(link) => link.args,
                None => request
                    .args
                    .iter()
                    .map(|arg| {
                        let name = arg.name.render(self);
                        let value = arg.value.render(self);
                        (name, value, arg.always_encode, arg.use_equals)
                    })
                    .collect(),
            };
            let mut args = args;
            for parameters in std::mem::take(&mut self.regex_parameters) {
                self.set_regex_parameters(&parameters, &mut args);
            }
            for (rewriting, value) in rewrites.iter().filter(|(r, _)| !r.path_extension) {
                // JMeter replaces every argument of that name with one at the end; a value
                // found as it appears in a URL is decoded first unless "URL encode" is set.
                args.retain(|(name, ..)| *name != rewriting.name);
                let value = if rewriting.encode {
                    value.clone()
                } else {
                    super::anchor::form_decode(value)
                };
                args.push((rewriting.name.clone(), value, true, true));
            }
            let mut encoded = String::new();
            for (name, value, always_encode, use_equals) in &args {
                // JMeter skips arguments without a name.
                if name.trim().is_empty() {
                    continue;
                }
                if !encoded.is_empty() {
                    encoded.push('&');
                }
                let encode = |s: &str| -> String {
                    if *always_encode {
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
                    } else {
                        s.to_string()
                    }
                };
                encoded.push_str(&encode(name));
                // Without "use equals" JMeter writes the name and value side by side.
                if *use_equals {
                    encoded.push('=');
                }
                encoded.push_str(&encode(value));
            }
            if args_in_body {
                // HttpClient's `UrlEncodedFormEntity` in UTF-8.
                entity_type = Some("application/x-www-form-urlencoded; charset=UTF-8");
                body = Some(encoded.into_bytes());
            } else if !encoded.is_empty() {
                let query = match url.query() {
                    Some(q) if !q.is_empty() => format!("{q}&{encoded}"),
                    _ => encoded,
                };
                url.set_query(Some(&query));
            }
        }
        if body.is_none() && args_in_body && method != reqwest::Method::DELETE {
            // HttpClient's empty `UrlEncodedFormEntity`.
            body = Some(Vec::new());
            entity_type = Some("application/x-www-form-urlencoded; charset=UTF-8");
        }
        Ok(Outgoing {
            method,
            url,
            headers,
            body,
            display: None,
            keep_alive: request.keep_alive,
            entity_type,
        })
    }

    /// JMeter's uploads (HttpClient 4, 5.6): a multipart body when asked, or when files have
    /// field names; a single file without a field name (and no arguments) as the body itself.
    /// `None` when the request has neither.
    #[allow(clippy::type_complexity)]
    fn upload_body(
        &mut self,
        request: &HttpRequest,
        headers: &mut Vec<(String, String)>,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, (&'static str, String)> {
        let files: Vec<(String, String, String)> = request
            .files
            .iter()
            .map(|f| {
                (
                    f.path.render(self),
                    f.param.render(self),
                    f.mime.render(self),
                )
            })
            .collect();
        let as_body = files.len() == 1 && !files[0].0.is_empty() && files[0].1.is_empty();
        let multipart = request.multipart
            || (!files.is_empty() && files.iter().all(|f| !f.0.is_empty()) && !as_body);
        if !multipart {
            if !(as_body && request.args.is_empty()) {
                return Ok(None);
            }
            let (path, _, mime) = &files[0];
            let content = self.read_upload(path)?;
            // The Header Manager's Content-Type wins, else the file's type, else none.
            if !mime.is_empty()
                && !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), mime.clone()));
            }
            return Ok(Some((content, Some(FILE_NOT_SHOWN.into()))));
        }
        const ALPHABET: &[u8] = b"-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let length = 30 + self.rng.usize(..=10);
        let boundary: String = (0..length)
            .map(|_| ALPHABET[self.rng.usize(..ALPHABET.len())] as char)
            .collect();
        let quote = |name: &str| name.replace('\\', "\\\\").replace('"', "\\\"");
        let browser = request.browser_compatible;
        let mut body: Vec<u8> = Vec::new();
        let mut shown = String::new();
        let mut both = |bytes: &[u8], text: &str| {
            body.extend_from_slice(bytes);
            shown.push_str(text);
        };
        for arg in &request.args {
            let name = arg.name.render(self);
            let trimmed = name.trim();
            // JMeter skips a nameless argument and one whose name is an unresolved `${...}`.
            if trimmed.is_empty() || (trimmed.starts_with("${") && trimmed.ends_with('}')) {
                continue;
            }
            let value = arg.value.render(self);
            let mut head = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n",
                quote(&name)
            );
            if !browser {
                let content_type = if arg.content_type.contains(';') {
                    arg.content_type.clone()
                } else {
                    format!("{}; charset=UTF-8", arg.content_type.to_ascii_lowercase())
                };
                head.push_str(&format!(
                    "Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n"
                ));
            }
            head.push_str("\r\n");
            both(head.as_bytes(), &head);
            both(value.as_bytes(), &value);
            both(b"\r\n", "\r\n");
        }
        for (path, param, mime) in &files {
            let content = self.read_upload(path)?;
            let resolved = self.resolve_upload(path);
            let filename = resolved
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .replace('"', "%22")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            let mut head = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {mime}\r\n",
                quote(param),
                quote(&filename)
            );
            if !browser {
                head.push_str("Content-Transfer-Encoding: binary\r\n");
            }
            head.push_str("\r\n");
            both(head.as_bytes(), &head);
            both(&content, FILE_NOT_SHOWN);
            both(b"\r\n", "\r\n");
        }
        let end = format!("--{boundary}--\r\n");
        both(end.as_bytes(), &end);
        // The body's own type replaces a Header Manager's.
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        headers.push((
            "Content-Type".into(),
            format!("multipart/form-data; boundary={boundary}; charset=UTF-8"),
        ));
        Ok(Some((body, Some(shown))))
    }

    /// JMeter's `FileServer.getResolvedFile`: as given when absolute or present from the working
    /// directory, else beside the plan.
    fn resolve_upload(&self, path: &str) -> std::path::PathBuf {
        let given = std::path::PathBuf::from(path);
        if given.is_absolute() || given.exists() {
            given
        } else {
            self.shared.plan_dir.join(path)
        }
    }

    fn read_upload(&self, path: &str) -> Result<Vec<u8>, (&'static str, String)> {
        let resolved = self.resolve_upload(path);
        std::fs::read(&resolved).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
                _ => e.to_string(),
            };
            (
                "java.io.FileNotFoundException",
                format!("{} ({why})", resolved.display()),
            )
        })
    }
}

/// What JMeter shows in place of an uploaded file's content.
const FILE_NOT_SHOWN: &str = "<actual file content, not shown here>";

fn sample_from_exchange(exchange: &Exchange, label: String, thread_name: Arc<str>) -> Sample {
    let mut sample = Sample::new(label, thread_name, exchange.start_ms);
    sample.elapsed = exchange.elapsed.as_millis() as u64;
    sample.end_ms = exchange.start_ms + sample.elapsed as i64;
    sample.latency = exchange.latency.as_millis() as u64;
    sample.connect = exchange.connect.as_millis() as u64;
    sample.response_code = exchange.code.clone();
    sample.response_message = exchange.message.clone();
    sample.success = exchange.success;
    sample.data_type = exchange.data_type;
    sample.encoding = exchange.encoding.clone();
    sample.bytes = exchange.header_bytes + exchange.wire_body_bytes;
    sample.sent_bytes = exchange.sent_bytes;
    sample.url = Some(exchange.url.clone());
    sample.http = true;
    sample
}

/// The headers, body and request data of one exchange, for XML result files that save them.
fn exchange_details(
    exchange: &Exchange,
    method: &reqwest::Method,
    url: &url::Url,
    body: Option<&[u8]>,
) -> Box<Details> {
    let response_headers = exchange.response_head();
    let query_string = match body {
        Some(body) => String::from_utf8_lossy(body).into_owned(),
        None => url.query().unwrap_or("").to_string(),
    };
    let redirect = matches!(exchange.status, 301 | 302 | 303 | 307 | 308);
    Box::new(Details {
        response_headers,
        request_headers: exchange.request_headers.clone(),
        response_data: exchange.body.clone(),
        cookies: exchange.cookies.clone(),
        method: method.as_str().to_string(),
        query_string,
        redirect_location: exchange.location.clone().filter(|_| redirect),
        sampler_data: None,
    })
}

/// Sub-samples depth-first (JMeter's `getSampleList`): body, response headers, request headers,
/// URL, code and message of each, as text.
/// How many samples lie below these, at any depth.
fn count_subs(subs: &[Sample]) -> usize {
    subs.iter().map(|s| 1 + count_subs(&s.subresults)).sum()
}

fn collect_subs(subs: &[Sample], out: &mut Vec<[String; 6]>) {
    for sub in subs {
        let details = sub.details.as_deref();
        out.push([
            details
                .map(|d| String::from_utf8_lossy(&d.response_data).into_owned())
                .unwrap_or_default(),
            details
                .map(|d| d.response_headers.clone())
                .unwrap_or_default(),
            details
                .map(|d| d.request_headers.clone())
                .unwrap_or_default(),
            sub.url.clone().unwrap_or_default(),
            sub.response_code.clone(),
            sub.response_message.clone(),
        ]);
        collect_subs(&sub.subresults, out);
    }
}

/// The Debug Sampler's and PostProcessor's request data: the name of each section listed.
fn debug_sections(sampler_properties: bool, variables: bool, properties: bool) -> Option<String> {
    let mut text = String::new();
    for (on, name) in [
        (sampler_properties, "SamplerProperties\n"),
        (variables, "JMeterVariables\n"),
        (properties, "JMeterProperties\n"),
    ] {
        if on {
            text.push_str(name);
        }
    }
    Some(text).filter(|t| !t.is_empty())
}

/// Adds an assertion's outcome to a sample; the first message becomes its failure message.
fn record_assertion(sample: &mut Sample, outcome: crate::sample::AssertionResult) {
    if let (true, Some(message)) = (
        sample.assertions.iter().all(|a| a.message.is_none()),
        &outcome.message,
    ) {
        sample.failure_message = message.clone();
    }
    sample.assertions.push(outcome);
}

/// JMeter's Switch Controller choice: empty is the first child; digits are an index (the first
/// child when out of range); anything else is a child's exact name, else a child named
/// `default` in any case (the last one), else nothing.
fn switch_choice(value: &str, children: &[Node]) -> Option<usize> {
    if children.is_empty() {
        return None;
    }
    if value.is_empty() {
        return Some(0);
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = value.parse::<i32>() {
            return Some(if (n as usize) < children.len() {
                n as usize
            } else {
                0
            });
        }
    }
    let name = |node: &Node| -> String {
        match node {
            Node::Sampler(s) => s.path.0.last().cloned().unwrap_or_default(),
            Node::Controller(c) => c.name.to_string(),
        }
    };
    children.iter().position(|c| name(c) == value).or_else(|| {
        children
            .iter()
            .rposition(|c| name(c).eq_ignore_ascii_case("default"))
    })
}

/// Per-user counters that restart at each thread group iteration (`reset_on_tg_iteration`).
fn counters_to_reset(hooks: &[IterationHook], nodes: &[Node], out: &mut Vec<usize>) {
    for hook in hooks {
        if let IterationHook::Counter(c) = hook {
            if c.per_user && c.reset_on_thread_group_iteration {
                out.push(c.slot);
            }
        }
    }
    for node in nodes {
        if let Node::Controller(c) = node {
            counters_to_reset(&c.on_iteration, &c.children, out);
        }
    }
}

/// The group's Cache Manager, if a sampler has one.
fn cache_policy(nodes: &[Node]) -> Option<crate::plan::http::CachePolicy> {
    nodes.iter().find_map(|node| match node {
        Node::Sampler(s) => match &s.kind {
            SamplerKind::Http(r) => r.cache.clone(),
            _ => None,
        },
        Node::Controller(c) => cache_policy(&c.children),
    })
}

/// True when a Cookie Manager in the group has the flag.
fn cookie_flag(nodes: &[Node], flag: &dyn Fn(&crate::plan::http::CookiePolicy) -> bool) -> bool {
    nodes.iter().any(|node| match node {
        Node::Sampler(s) => match &s.kind {
            SamplerKind::Http(r) => r.cookies.as_ref().is_some_and(flag),
            _ => false,
        },
        Node::Controller(c) => cookie_flag(&c.children, flag),
    })
}

impl Context for VirtualUser {
    fn var(&self, id: VarId) -> Option<&str> {
        self.vars
            .slots
            .get(id.0 as usize)
            .and_then(|v| v.as_deref())
    }

    fn var_by_name(&self, name: &str) -> Option<&str> {
        match self.plan.vars.get(name) {
            Some(id) => self.var(id),
            None => self.vars.extra.get(name).map(String::as_str),
        }
    }

    fn set_var(&mut self, name: &str, value: String) {
        match self.plan.vars.get(name) {
            Some(id) => self.vars.slots[id.0 as usize] = Some(value),
            None => {
                self.vars.extra.insert(name.to_string(), value);
            }
        }
    }

    fn remove_var(&mut self, name: &str) {
        match self.plan.vars.get(name) {
            Some(id) => self.vars.slots[id.0 as usize] = None,
            None => {
                self.vars.extra.remove(name);
            }
        }
    }

    fn env(&mut self) -> &mut dyn Env {
        self
    }
}

impl Env for VirtualUser {
    fn props(&self) -> &Properties {
        &self.shared.props
    }
    fn thread_num(&self) -> u32 {
        self.thread_num
    }
    fn thread_group_name(&self) -> &str {
        &self.shared.group(self.group_index).name
    }
    fn sampler_name(&self) -> &str {
        &self.sampler_name
    }
    fn test_plan_name(&self) -> &str {
        &self.plan.name
    }
    fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }
    fn user_counter(&mut self, slot: usize) -> u64 {
        let value = self.user_slots.get_mut(slot).map_or(1, |s| {
            let v = s.unwrap_or(1);
            *s = Some(v + 1);
            v
        });
        value.max(0) as u64
    }
    fn global_counter(&self, slot: usize) -> u64 {
        self.shared
            .global_counters
            .get(slot)
            .map_or(1, |c| c.fetch_add(1, Ordering::Relaxed))
            .max(0) as u64
    }
    fn machine_name(&self) -> &str {
        &self.shared.machine_name
    }
    fn machine_ip(&self) -> &str {
        &self.shared.machine_ip
    }
    fn now_millis(&self) -> i64 {
        crate::clock::epoch_millis()
    }
    fn utc_offset_seconds(&self) -> i32 {
        crate::clock::utc_offset_seconds()
    }
    fn iteration(&self) -> u64 {
        self.iteration
    }
    fn string_from_file(&mut self, slot: usize, file: &str) -> Option<String> {
        // JMeter opens the name as given: relative to the working directory.
        self.shared
            .text_files
            .next_line(slot, std::path::Path::new(file))
    }
    fn xpath_next(&mut self, file: &str, query: &str) -> String {
        self.shared.text_files.next_xpath_value(file, query)
    }
    fn compare_history(&mut self, slot: usize) -> Option<&mut Vec<(String, u64)>> {
        self.compare_lists.get_mut(slot)
    }
    fn previous_response(&self) -> Option<&str> {
        self.last_response.as_deref()
    }
    fn csv_read(&mut self, file: &str, column: &str) -> String {
        let files = &self.shared.text_files;
        if column.starts_with('*') {
            files.alias(file, column);
            return String::new();
        }
        let Some(name) = files.resolve(file) else {
            tracing::warn!("__CSVRead: no file has the alias {file}");
            return String::new();
        };
        if column == "next" || column == "next()" {
            self.csv_read_rows.remove(&name);
            return String::new();
        }
        let Ok(index) = column.parse::<usize>() else {
            tracing::warn!("__CSVRead: can't parse column number: {column}");
            return String::new();
        };
        // Relative to the plan's folder, as JMeter's FileServer resolves it.
        let path = self.shared.plan_dir.join(&name);
        let row = match self.csv_read_rows.get(&name) {
            Some(&row) => row,
            None => match files.next_row(&path) {
                Some(row) => {
                    self.csv_read_rows.insert(name.clone(), row);
                    row
                }
                None => return String::new(),
            },
        };
        files.cell(&path, row, index).unwrap_or_else(|| {
            tracing::warn!("__CSVRead: invalid column number: {index} at row {row}");
            String::new()
        })
    }
}
