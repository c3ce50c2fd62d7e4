//! Element tree → [`Plan`]: typed, scoped, templates compiled, built once and shared by every user.
//!
//! [`build`] walks the enabled elements of the tree, asks [`support::classify`] what each one is,
//! converts the ones that run into typed values, and resolves JMeter's scoping rules: for every
//! sampler it collects the config elements, timers, pre/post-processors, assertions and listeners
//! of its ancestors' levels and its own children, in JMeter's order (reference §4.3).
//! It returns the plan together with every diagnostic, so one run of `rmeter check` shows all
//! the problems of a file; the caller decides which are fatal.
//!
//! **Architecture Invariant:** `plan` does no I/O; after `plan`, no code reads an XML property name.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod assertion;
pub mod diagnostic;
pub mod extract;
pub mod function;
pub mod http;
pub mod java_time;
pub mod javascript;
pub mod listener;
mod reader;
pub mod sampler;
pub mod schedule;
pub mod shaping;
pub mod support;
pub mod template;
pub mod timer;
pub mod vars;

mod build;
pub mod data;

use std::sync::Arc;
use std::time::Duration;

pub use build::{build, build_file};
pub use data::{Counter, CsvDataSet, RandomVariable, ShareMode, UserParameters};
pub use diagnostic::{Diagnostic, DiagnosticKind, ElementPath, Severity};
pub use template::Template;
pub use vars::{VarId, VarTable};

use assertion::Assertion;
use extract::PostProcessor;
use http::HttpRequest;
use listener::Listener;
use support::{Role, Status};
use timer::Timer;

/// The compiled test plan. Immutable; every virtual user shares it through an `Arc`.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub functional_mode: bool,
    pub serialize_thread_groups: bool,
    pub teardown_on_shutdown: bool,
    /// Timers do not pause (`--validate`).
    pub ignore_timers: bool,
    /// User-defined variables (Test Plan and every `Arguments` element) in the order JMeter
    /// evaluates them, once at test start; later definitions of a name win.
    pub user_variables: Vec<(VarId, Template)>,
    pub setup_groups: Vec<ThreadGroup>,
    pub groups: Vec<ThreadGroup>,
    pub teardown_groups: Vec<ThreadGroup>,
    pub vars: VarTable,
    /// How many function call sites need per-user or global state (`__counter`).
    pub n_call_slots: usize,
    /// The DNS Cache Managers' static host table (custom resolver): name → addresses.
    pub static_hosts: Vec<(String, Vec<std::net::IpAddr>)>,
    /// The Keystore Configuration (the last one in the plan), which picks the client
    /// certificates of `javax.net.ssl.keyStore`.
    pub keystore: Option<KeystoreSettings>,
    /// How many Throughput Shaping Timers the plan has (each has a shared run-time state).
    pub n_shaping_timers: usize,
    /// How many Constant Throughput Timers the plan has.
    pub n_throughput_timers: usize,
    /// How many Precise Throughput Timers the plan has.
    pub n_precise_timers: usize,
    /// How many Synchronizing Timers the plan has.
    pub n_sync_timers: usize,
    /// Some HTML Link Parser or URL Re-writing Modifier is enabled: each user keeps its last
    /// page.
    pub keep_last_page: bool,
    /// Some `__regexFunction` reads the previous response: each user keeps its last sample's
    /// response text.
    pub keep_last_response: bool,
    /// How many Compare Assertions the plan has (each user keeps a list of responses per one).
    pub n_compare_slots: usize,
    /// How many controllers keep per-user state (Once Only).
    pub n_controller_slots: usize,
    pub csv_data_sets: Vec<CsvDataSet>,
    pub listeners: Vec<Listener>,
    /// Every enabled element with its status, in tree order, for `rmeter check`.
    pub elements: Vec<ElementReport>,
}

/// One enabled element and what rmeter does with it.
#[derive(Debug, Clone)]
pub struct ElementReport {
    /// Line of the element's start tag in the file.
    pub line: u32,
    pub path: ElementPath,
    pub testclass: String,
    pub role: Role,
    pub status: Status,
    pub note: &'static str,
}

/// Which series a thread group belongs to; each series numbers its groups from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Setup,
    Normal,
    Teardown,
}

/// What a failed sample does to its thread (`ThreadGroup.on_sample_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSampleError {
    Continue,
    StartNextLoop,
    StopThread,
    StopTest,
    StopTestNow,
    /// Result Status Action Handler only: the next iteration of the innermost loop.
    NextIteration,
    /// Result Status Action Handler only: leave the innermost loop.
    BreakLoop,
}

/// A thread group with its counts resolved at build time (JMeter evaluates them at test start,
/// with properties and user-defined variables, which is when `build` runs).
#[derive(Debug)]
pub struct ThreadGroup {
    pub name: Arc<str>,
    pub path: ElementPath,
    pub kind: GroupKind,
    pub threads: u32,
    pub ramp_up: Duration,
    /// `None` loops until the scheduler or a stop ends the thread.
    pub loops: Option<u64>,
    pub duration: Option<Duration>,
    pub delay: Duration,
    pub same_user_on_next_iteration: bool,
    pub on_sample_error: OnSampleError,
    /// Ultimate and Stepping Thread Groups: each thread's start and end from the group's start,
    /// in thread-number order (ramp-up, delay and duration are then unused).
    pub schedule: Option<Arc<[schedule::Span]>>,
    /// Concurrency and Arrivals Thread Groups: a starter makes the threads while the test runs.
    pub dynamic: Option<schedule::Dynamic>,
    /// The group's body: one iteration of the thread's main loop runs it once.
    pub body: Controller,
}

/// A node of a thread group's body.
#[derive(Debug)]
pub enum Node {
    Sampler(Arc<Sampler>),
    Controller(Controller),
}

/// A logic controller and its children.
#[derive(Debug)]
pub struct Controller {
    pub name: Arc<str>,
    pub kind: ControllerKind,
    pub children: Vec<Node>,
    /// Config elements that act when this controller starts an iteration (CSV Data Set, Counter,
    /// Random Variable), in tree order.
    pub on_iteration: Vec<IterationHook>,
    /// Index of this controller's per-user state, where it has some.
    pub slot: usize,
}

#[derive(Debug)]
pub enum ControllerKind {
    Simple,
    Loop {
        loops: Template,
        idx_var: VarId,
        /// `LoopController.continue_forever=false`: JMeter drops the loop from its parent once
        /// it has run, so it runs once per thread.
        once_per_thread: bool,
    },
    While {
        condition: Template,
        idx_var: VarId,
    },
    If {
        condition: Template,
        use_expression: bool,
        evaluate_all: bool,
    },
    OnceOnly,
    Transaction(Arc<Transaction>),
    /// Interleave (`random: false`) and Random controllers: one child (a sampler, or a whole
    /// pass of a sub-controller) per visit.
    Interleave {
        random: bool,
        /// `InterleaveControl.accrossThreads`: thread n starts at child n-1.
        across_threads: bool,
        /// "Ignore sub-controller blocks" with controller children: a visit to a child (Simple)
        /// controller runs its next sampler only, and it keeps its place for the next visit.
        ignore_sub: bool,
    },
    /// Runs every child once per pass, in a new random order each pass.
    RandomOrder,
    /// Runs the child named, or numbered, by the value.
    Switch {
        value: Template,
    },
    Throughput(Arc<Throughput>),
    /// Loops over its children until `seconds` have passed since the visit began.
    RunTime {
        seconds: Template,
    },
    ForEach(Arc<ForEach>),
    /// Holds the named run-wide lock over each pass.
    CriticalSection {
        lock: Template,
    },
    /// The Parallel Controller plugin (`com.blazemeter.jmeter.controller.ParallelSampler`):
    /// each child runs concurrently.
    Parallel(Arc<Parallel>),
}

/// A Parallel Controller.
#[derive(Debug)]
pub struct Parallel {
    pub name: Arc<str>,
    /// "Generate parent sample": the children's samples are sub-results of one sample.
    pub parent: bool,
    /// "Limit max thread number": at most this many children at once.
    pub max_threads: Option<usize>,
    /// Listeners of the parent sample.
    pub listeners: Arc<[u16]>,
}

/// A Throughput Controller. The decision is taken when its parent starts an iteration.
#[derive(Debug)]
pub struct Throughput {
    /// Per-user state index (the controller's slot).
    pub slot: usize,
    pub per_user: bool,
    /// Percent mode, else total executions.
    pub by_percent: bool,
    pub max_executions: Template,
    pub percent: Template,
}

/// A ForEach Controller.
#[derive(Debug)]
pub struct ForEach {
    pub input_prefix: Template,
    pub return_var: Template,
    /// `_` between the prefix and the number.
    pub separator: bool,
    /// Exclusive; `None` is 0.
    pub start: Option<Template>,
    /// Inclusive; `None` is unbounded.
    pub end: Option<Template>,
    pub idx_var: VarId,
}

/// A Transaction Controller's settings.
#[derive(Debug)]
pub struct Transaction {
    pub name: Arc<str>,
    pub parent: bool,
    pub include_timers: bool,
    /// Listeners in the controller's scope, which receive its sample.
    pub listeners: Arc<[u16]>,
    /// Parent mode: JMeter runs the assertions in the controller's scope on its sample.
    pub assertions: Vec<Arc<Assertion>>,
}

/// Something a config element does at the start of an iteration of the controller it sits in.
#[derive(Debug, Clone)]
pub enum IterationHook {
    /// Read the next line of `plan.csv_data_sets[i]`.
    Csv(usize),
    Counter(Arc<Counter>),
    Random(Arc<RandomVariable>),
    UserParameters(Arc<UserParameters>),
    /// A Throughput Controller among the children decides whether it runs in this iteration.
    Throughput(Arc<Throughput>),
    /// A Compare Assertion's list of responses starts again (its slot).
    CompareReset(usize),
}

/// The Keystore Configuration: the key entries loaded (`startIndex` to `endIndex`, -1 for the
/// last) and the variable that names each user's alias (none: a round robin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreSettings {
    pub start: usize,
    pub end: Option<usize>,
    pub alias_var: Option<String>,
}

/// A pre-processor, run before the sampler's timers.
#[derive(Debug)]
pub enum PreProcessor {
    UserParameters(Arc<UserParameters>),
    /// The HTML Link Parser (`AnchorModifier`).
    LinkParser,
    RegexParameters(Arc<data::RegexParameters>),
    UrlRewriting(Arc<data::UrlRewriting>),
}

/// A sampler with everything in its scope resolved.
#[derive(Debug)]
pub struct Sampler {
    pub label: Template,
    pub path: ElementPath,
    pub kind: SamplerKind,
    /// Its scalar properties, kept only when a Debug PostProcessor in scope lists them.
    pub raw_properties: Vec<(String, template::Template)>,
    /// Pre-processors, outermost level first, tree order within a level.
    pub pre: Vec<Arc<PreProcessor>>,
    /// Timers in scope; their delays are summed before the sample.
    pub timers: Vec<Arc<Timer>>,
    /// Post-processors, outermost level first, tree order within a level.
    pub post: Vec<Arc<PostProcessor>>,
    /// Assertions, in the same order.
    pub assertions: Vec<Arc<Assertion>>,
    /// Plan listeners (indexes into `Plan::listeners`) that receive this sampler's results.
    pub listeners: Arc<[u16]>,
    /// Result Status Action Handlers in scope: what a failed sample does, outermost first.
    pub on_error: Vec<OnSampleError>,
}

#[derive(Debug)]
pub enum SamplerKind {
    Http(HttpRequest),
    JavaTest(sampler::JavaTest),
    Debug(sampler::Debug),
    /// A Flow Control Action: it runs its pre-processors and timers, then acts; no sample.
    Action(sampler::FlowAction),
    /// OS Process Sampler.
    System(sampler::SystemCommand),
    /// jmeter-plugins Dummy Sampler.
    Dummy(sampler::Dummy),
    Tcp(sampler::Tcp),
}

impl Plan {
    /// All thread groups, in run order.
    pub fn all_groups(&self) -> impl Iterator<Item = &ThreadGroup> {
        self.setup_groups
            .iter()
            .chain(&self.groups)
            .chain(&self.teardown_groups)
    }

    /// JMeter's "Validate Test Plan" (`TreeClonerForValidation`): every thread group runs
    /// `testplan_validation.nb_threads_per_thread_group` threads (1) for
    /// `testplan_validation.number_iterations` iterations (1), at once, without its scheduler;
    /// `testplan_validation.ignore_timers` (true) drops every timer.
    pub fn validate(&mut self, props: &crate::properties::Properties) {
        let threads = props
            .int("testplan_validation.nb_threads_per_thread_group", 1)
            .clamp(1, u32::MAX as i64) as u32;
        let iterations = props.int("testplan_validation.number_iterations", 1).max(1) as u64;
        for group in self
            .setup_groups
            .iter_mut()
            .chain(&mut self.groups)
            .chain(&mut self.teardown_groups)
        {
            group.threads = threads;
            group.loops = Some(iterations);
            group.ramp_up = Duration::ZERO;
            group.delay = Duration::ZERO;
            group.duration = None;
            group.schedule = None;
            group.dynamic = None;
        }
        self.ignore_timers = props.bool("testplan_validation.ignore_timers", true);
    }

    /// True when some enabled element is unsupported or some diagnostic is an error.
    pub fn unsupported(&self) -> impl Iterator<Item = &ElementReport> {
        self.elements
            .iter()
            .filter(|e| e.status == Status::Unsupported)
    }
}
