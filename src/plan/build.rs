//! The walk from the element tree to the [`Plan`], with JMeter's scoping rules.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::assertion::Assertion;
use super::data::{self, CsvDataSet};
use super::diagnostic::{Diagnostic, DiagnosticKind, ElementPath};
use super::extract::PostProcessor;
use super::function::Env;
use super::http::{self, CookiePolicy, HeaderSet, HttpDefaults};
use super::listener::{self, Listener};
use super::reader::Builder;
use super::support::{self, Role, Status};
use super::template::{Context, Template};
use super::timer::Timer;

/// The jmeter-plugins JSON Path Assertion that JMeter's own was ported from (Taurus writes it).
const ATLANTBH_JSON_PATH_ASSERTION: &str =
    "com.atlantbh.jmeter.plugins.jsonutils.jsonpathassertion.JSONPathAssertion";
use super::vars::{VarId, VarTable};
use super::*;
use crate::jmx::{Element, Tree};
use crate::properties::Properties;

/// Builds the plan from a parsed tree. `props` are the run's properties, which thread group
/// counts and user-defined variables may read.
pub fn build(tree: &Tree, props: &Properties) -> (Plan, Vec<Diagnostic>) {
    build_file(tree, props, None)
}

/// [`build`] for a plan read from a file in `plan_dir`, which Include Controllers resolve
/// their files against.
pub fn build_file(
    tree: &Tree,
    props: &Properties,
    plan_dir: Option<&std::path::Path>,
) -> (Plan, Vec<Diagnostic>) {
    let mut walk = Walk {
        static_hosts: Vec::new(),
        keystore: None,
        keep_last_page: false,
        tree,
        plan_dir: plan_dir.map(std::path::Path::to_path_buf),
        expanding: Vec::new(),
        b: Builder::default(),
        props,
        elements: Vec::new(),
        csv_data_sets: Vec::new(),
        listeners: Vec::new(),
        user_variables: Vec::new(),
        initial_values: HashMap::new(),
        n_controller_slots: 0,
        groups: [Vec::new(), Vec::new(), Vec::new()],
    };
    let mut plan_name = String::new();
    let mut flags = (false, false, false);

    // JMeter evaluates every user-defined variable at test start, whatever its position.
    for root in tree.roots.iter().filter(|e| e.enabled) {
        walk.collect_user_variables(root, &ElementPath::default(), true);
    }

    let root_path = ElementPath::default();
    let mut root_scope = Scope::default();
    let mut root_hooks = Vec::new();
    // A saved selection has no TestPlan: its top-level elements sit directly at the root.
    let top_level: Vec<&Element> = tree.roots.iter().filter(|e| e.enabled).collect();
    let mut plan_children: Vec<(&Element, ElementPath)> = Vec::new();
    for element in top_level {
        let path = root_path.child(&element.name);
        let (status, role, note) = support::classify(element);
        match (element.testclass.as_str(), status) {
            ("TestPlan", _) => {
                walk.report(element, &path, status, role, note);
                plan_name = element.name.clone();
                let mut p = walk.b.props(element, &path);
                flags = (
                    p.bool("TestPlan.functional_mode", false),
                    p.bool("TestPlan.serialize_threadgroups", false),
                    p.bool("TestPlan.tearDown_on_shutdown", false),
                );
                plan_children.extend(
                    element
                        .children
                        .iter()
                        .filter(|c| c.enabled)
                        .map(|c| (c, path.clone())),
                );
            }
            (_, Status::Inert) if role == Role::Other => {
                walk.report(element, &path, status, role, note)
            }
            _ => plan_children.push((element, root_path.clone())),
        }
    }
    // Test-plan-level configs, timers, assertions… apply under every thread group.
    for (element, parent) in &plan_children {
        walk.collect_level_item(element, parent, &mut root_scope, &mut root_hooks);
    }
    for (element, parent) in &plan_children {
        let path = parent.child(&element.name);
        let (status, role, note) = support::classify(element);
        match role {
            Role::ThreadGroup => {
                walk.report(element, &path, status, role, note);
                if status == Status::Runs {
                    walk.thread_group(element, &path, &root_scope, &root_hooks);
                } else {
                    walk.unsupported(element, &path, note);
                }
            }
            Role::Sampler | Role::Controller => {
                walk.report(element, &path, status, role, note);
                walk.b.warn(
                    &path,
                    DiagnosticKind::Other(
                        "a sampler or controller outside a thread group never runs".into(),
                    ),
                );
            }
            _ => {} // Reported by collect_level_item.
        }
    }

    // Reports are made where the walk meets each element; list them in the file's (tree) order.
    walk.elements.sort_by_key(|e| e.line);
    let [setup_groups, groups, teardown_groups] = walk.groups;
    let plan = Plan {
        name: plan_name,
        functional_mode: flags.0,
        serialize_thread_groups: flags.1,
        teardown_on_shutdown: flags.2,
        ignore_timers: false,
        user_variables: walk.user_variables,
        setup_groups,
        groups,
        teardown_groups,
        n_call_slots: walk.b.next_slot,
        static_hosts: walk.static_hosts,
        keystore: walk.keystore,
        keep_last_page: walk.keep_last_page,
        keep_last_response: walk.b.keep_last_response,
        n_compare_slots: walk.b.next_compare_slot,
        n_shaping_timers: walk.b.next_shaping_slot,
        n_throughput_timers: walk.b.next_throughput_slot,
        n_precise_timers: walk.b.next_precise_slot,
        n_sync_timers: walk.b.next_sync_slot,
        n_controller_slots: walk.n_controller_slots,
        vars: walk.b.vars,
        csv_data_sets: walk.csv_data_sets,
        listeners: walk.listeners,
        elements: walk.elements,
    };
    (plan, walk.b.diagnostics)
}

/// What applies to the samplers below a point of the tree, outermost level first.
#[derive(Clone, Default)]
struct Scope {
    /// With the depth of their level, to order them innermost level first at merge time.
    http_defaults: Vec<(usize, Arc<HttpDefaults>)>,
    /// TCP Sampler Config elements, merged into TCP samplers by property.
    tcp_defaults: Vec<(usize, Arc<Element>)>,
    headers: Vec<(usize, Arc<HeaderSet>)>,
    cookies: Option<Arc<CookiePolicy>>,
    cache: Option<Arc<http::CachePolicy>>,
    credentials: Option<Arc<[http::Credentials]>>,
    pre: Vec<Arc<PreProcessor>>,
    timers: Vec<Arc<Timer>>,
    post: Vec<Arc<PostProcessor>>,
    assertions: Vec<Arc<Assertion>>,
    listeners: Vec<u16>,
    on_error: Vec<OnSampleError>,
}

struct Walk<'p> {
    /// The DNS Cache Managers' static host tables, merged.
    static_hosts: Vec<(String, Vec<std::net::IpAddr>)>,
    /// The last Keystore Configuration met (JMeter's is global, the last one wins).
    keystore: Option<super::KeystoreSettings>,
    /// Some HTML Link Parser or URL Re-writing Modifier is enabled: users keep their last page.
    keep_last_page: bool,
    tree: &'p Tree,
    plan_dir: Option<std::path::PathBuf>,
    /// The Module and Include Controllers being expanded, innermost last (their targets' lines
    /// or files), to refuse a controller that includes itself.
    expanding: Vec<String>,
    b: Builder,
    props: &'p Properties,
    elements: Vec<ElementReport>,
    csv_data_sets: Vec<CsvDataSet>,
    listeners: Vec<Listener>,
    user_variables: Vec<(VarId, Template)>,
    /// Values of the user-defined variables, for evaluating thread group counts.
    initial_values: HashMap<String, String>,
    n_controller_slots: usize,
    /// Setup, normal and teardown groups.
    groups: [Vec<ThreadGroup>; 3],
}

impl Walk<'_> {
    fn report(
        &mut self,
        element: &Element,
        path: &ElementPath,
        status: Status,
        role: Role,
        note: &'static str,
    ) {
        // A module's or an included file's elements are reported where they are written.
        if !self.expanding.is_empty() {
            return;
        }
        self.elements.push(ElementReport {
            line: element.line,
            path: path.clone(),
            testclass: element.testclass.clone(),
            role,
            status,
            note,
        });
    }

    fn unsupported(&mut self, element: &Element, path: &ElementPath, note: &str) {
        self.b.error(
            path,
            DiagnosticKind::UnsupportedElement {
                testclass: element.testclass.clone(),
                note: note.to_string(),
            },
        );
    }

    /// Pre-pass: the Test Plan's variables and every enabled `Arguments` element, in tree order.
    fn collect_user_variables(&mut self, element: &Element, parent: &ElementPath, top: bool) {
        let path = parent.child(&element.name);
        if element.testclass == "TestPlan" {
            if let Some(args) = element.element("TestPlan.user_defined_variables") {
                self.add_user_variables(args, &path);
            }
        } else if element.testclass == "Arguments" && !top {
            self.add_user_variables(element, &path);
        }
        if matches!(support::classify(element).0, Status::Inert) {
            return;
        }
        for child in element.children.iter().filter(|c| c.enabled) {
            self.collect_user_variables(child, &path, false);
        }
    }

    fn add_user_variables(&mut self, args: &Element, path: &ElementPath) {
        for (name, value) in data::arguments(args) {
            let id = self.b.vars.intern(&name);
            let template = self.b.template(path, &value);
            let rendered = self.evaluate(&template);
            self.initial_values.insert(name, rendered);
            self.user_variables.push((id, template));
        }
    }

    /// Evaluates a template as JMeter does at test start: properties and user-defined variables only.
    fn evaluate(&self, template: &Template) -> String {
        let mut ctx = StartupContext {
            plan_name: "",
            table: &self.b.vars,
            values: self.initial_values.clone(),
            props: self.props,
            rng: fastrand::Rng::new(),
        };
        template.render(&mut ctx)
    }

    /// A property of a thread group that must be a number once evaluated.
    fn number(&mut self, element: &Element, path: &ElementPath, prop: &str, default: i64) -> i64 {
        let raw = element.text(prop).unwrap_or("").to_string();
        if raw.trim().is_empty() {
            return default;
        }
        let template = self.b.template(path, &raw);
        let value = self.evaluate(&template);
        match value.trim().parse::<i64>() {
            Ok(n) => n,
            // A value from a property or variable the run does not set: JMeter reads it as 0
            // (`AbstractProperty.getIntValue`), so the plan runs, with a warning.
            Err(_) if raw.contains("${") => {
                self.b.warn(
                    path,
                    DiagnosticKind::ReadAsZero {
                        prop: prop.to_string(),
                        raw,
                        value,
                    },
                );
                0
            }
            Err(_) => {
                self.b.error(
                    path,
                    DiagnosticKind::BadValue {
                        prop: prop.to_string(),
                        expected: "an integer",
                        value,
                    },
                );
                default
            }
        }
    }

    fn thread_group(
        &mut self,
        element: &Element,
        path: &ElementPath,
        root_scope: &Scope,
        root_hooks: &[IterationHook],
    ) {
        let kind = match element.testclass.as_str() {
            "SetupThreadGroup" => GroupKind::Setup,
            "PostThreadGroup" => GroupKind::Teardown,
            _ => GroupKind::Normal,
        };
        let schedule = match element.testclass.as_str() {
            "kg.apc.jmeter.threads.UltimateThreadGroup" => Some(super::schedule::ultimate(
                &self.ultimate_rows(element, path),
            )),
            "kg.apc.jmeter.threads.SteppingThreadGroup" => {
                // Bounded (about four months, ten million threads) so the schedule's
                // arithmetic cannot overflow.
                let mut n =
                    |prop: &str| self.number(element, path, prop, 0).clamp(0, 10_000_000) as u64;
                Some(super::schedule::stepping(&super::schedule::Stepping {
                    threads: n("ThreadGroup.num_threads"),
                    initial_delay: n("Threads initial delay"),
                    start_count: n("Start users count"),
                    start_burst: n("Start users count burst"),
                    start_period: n("Start users period"),
                    stop_count: n("Stop users count"),
                    stop_period: n("Stop users period"),
                    hold: n("flighttime"),
                    ramp_up: n("rampUp"),
                }))
            }
            _ => None,
        };
        let dynamic = self.dynamic_group(element, path);
        let threads = match &schedule {
            Some(spans) => spans.len() as u32,
            None => self
                .number(element, path, "ThreadGroup.num_threads", 1)
                .max(0) as u32,
        };
        let ramp_up = self
            .number(element, path, "ThreadGroup.ramp_time", 0)
            .max(0) as u64;
        // The main controller's `continue_forever` is always false in JMeter's thread loop.
        let loops = match element.element("ThreadGroup.main_controller") {
            // An open model's user runs one iteration.
            _ if matches!(dynamic, Some(super::schedule::Dynamic::OpenModel { .. })) => 1,
            // The BlazeMeter groups' users loop until their schedule ends, or `Iterations`.
            _ if dynamic.is_some() => {
                let n = self.number(element, path, "Iterations", 0);
                if n > 0 {
                    n
                } else {
                    -1
                }
            }
            Some(main) => self.number(main, path, "LoopController.loops", 1),
            None => 1,
        };
        let scheduler = self
            .b
            .props(element, path)
            .bool("ThreadGroup.scheduler", false);
        let duration = self.number(element, path, "ThreadGroup.duration", 0).max(0) as u64;
        let delay = self.number(element, path, "ThreadGroup.delay", 0).max(0) as u64;
        // The plugins' scheduled groups make their threads without "same user on next iteration";
        // the BlazeMeter groups name the property without the prefix.
        let same_user = schedule.is_none()
            && self.b.props(element, path).bool(
                if dynamic.is_some() && element.testclass != "OpenModelThreadGroup" {
                    "same_user_on_next_iteration"
                } else {
                    "ThreadGroup.same_user_on_next_iteration"
                },
                true,
            );
        let on_error = match element
            .text("ThreadGroup.on_sample_error")
            .unwrap_or("continue")
            .trim()
        {
            "" | "continue" => OnSampleError::Continue,
            "startnextloop" => OnSampleError::StartNextLoop,
            "stopthread" => OnSampleError::StopThread,
            "stoptest" => OnSampleError::StopTest,
            "stoptestnow" => OnSampleError::StopTestNow,
            other => {
                self.b.error(
                    path,
                    DiagnosticKind::BadValue {
                        prop: "ThreadGroup.on_sample_error".into(),
                        expected: "continue, startnextloop, stopthread, stoptest or stoptestnow",
                        value: other.to_string(),
                    },
                );
                OnSampleError::Continue
            }
        };
        // `ThreadGroup.delayedStart` needs no reading: rmeter always creates a user when it starts.
        let mut scope = root_scope.clone();
        let mut hooks = root_hooks.to_vec();
        let children: Vec<&Element> = element.children.iter().filter(|c| c.enabled).collect();
        for child in &children {
            self.collect_level_item(child, path, &mut scope, &mut hooks);
        }
        let nodes = self.nodes(&children, path, &scope, &mut hooks);
        let name: Arc<str> = element.name.as_str().into();
        let body = Controller {
            name: name.clone(),
            kind: ControllerKind::Simple,
            children: nodes,
            on_iteration: hooks,
            slot: 0,
        };
        let series = match kind {
            GroupKind::Setup => 0,
            GroupKind::Normal => 1,
            GroupKind::Teardown => 2,
        };
        self.groups[series].push(ThreadGroup {
            name,
            path: path.clone(),
            kind,
            threads,
            ramp_up: Duration::from_secs(ramp_up),
            loops: if loops < 0 { None } else { Some(loops as u64) },
            duration: scheduler
                .then(|| Duration::from_secs(duration))
                .filter(|d| !d.is_zero()),
            delay: if scheduler {
                Duration::from_secs(delay)
            } else {
                Duration::ZERO
            },
            same_user_on_next_iteration: same_user,
            on_sample_error: on_error,
            schedule: schedule.map(Into::into),
            dynamic,
            body,
        });
    }

    /// The Concurrency, Arrivals and Free-Form Arrivals Thread Groups' settings.
    fn dynamic_group(
        &mut self,
        element: &Element,
        path: &ElementPath,
    ) -> Option<super::schedule::Dynamic> {
        use super::schedule::{ArrivalProfile, Dynamic};
        if element.testclass == "OpenModelThreadGroup" {
            let text = element.text("OpenModelThreadGroup.schedule").unwrap_or("");
            let template = self.b.template(path, text);
            let schedule = self.evaluate(&template);
            let steps = match super::schedule::parse_open_model(&schedule) {
                Ok(steps) => steps,
                Err(why) => {
                    self.b.error(
                        path,
                        DiagnosticKind::BadValue {
                            prop: "OpenModelThreadGroup.schedule".into(),
                            expected: "a schedule such as rate(10/sec) random_arrivals(1 min)",
                            value: format!("{schedule} ({why})"),
                        },
                    );
                    Vec::new()
                }
            };
            let seed = element
                .text("OpenModelThreadGroup.random_seed")
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0);
            return Some(Dynamic::OpenModel { steps, seed });
        }
        const BASE: &str = "com.blazemeter.jmeter.threads.";
        let kind = element.testclass.strip_prefix(BASE)?;
        if !matches!(
            kind,
            "concurrency.ConcurrencyThreadGroup"
                | "arrivals.ArrivalsThreadGroup"
                | "arrivals.FreeFormArrivalsThreadGroup"
        ) {
            return None;
        }
        // Every setting is a string that may hold `${...}`, evaluated at test start.
        let value = |walk: &mut Self, prop: &str| -> Option<String> {
            let text = element.text(prop)?;
            let template = walk.b.template(path, text);
            Some(walk.evaluate(&template).trim().to_string())
        };
        let unit = if value(self, "Unit").as_deref() == Some("M") {
            60.0
        } else {
            1.0
        };
        let number = |walk: &mut Self, prop: &str, absent: f64| -> f64 {
            match value(walk, prop) {
                None => absent,
                Some(text) if text.is_empty() => 0.0,
                Some(text) => match text.parse::<f64>() {
                    Ok(n) if n.is_finite() && n >= 0.0 => n,
                    _ => {
                        walk.b.error(
                            path,
                            DiagnosticKind::BadValue {
                                prop: prop.to_string(),
                                expected: "a number",
                                value: text,
                            },
                        );
                        0.0
                    }
                },
            }
        };
        // The plugin reads the target as an integer (a fraction is 0).
        let target = match value(self, "TargetLevel") {
            None => 1.0,
            Some(text) => text.parse::<u32>().unwrap_or(0) as f64,
        };
        let ramp_up = (number(self, "RampUp", 0.0) * unit).round();
        let steps = number(self, "Steps", 0.0) as u64;
        let hold = (number(self, "Hold", 1.0) * unit).round();
        if value(self, "LogFilename").is_some_and(|f| !f.is_empty()) {
            self.b.error(
                path,
                DiagnosticKind::UnsupportedOption {
                    prop: "LogFilename".into(),
                    why: "the thread group's own event log is not supported yet".into(),
                },
            );
        }
        if value(self, "ArrivalsLimit").is_some_and(|f| !f.is_empty() && f != "0") {
            self.b.error(
                path,
                DiagnosticKind::UnsupportedOption {
                    prop: "ArrivalsLimit".into(),
                    why: "a limit on the number of arrivals is not supported yet".into(),
                },
            );
        }
        let concurrency_limit = value(self, "ConcurrencyLimit")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(|n| n.min(u32::MAX as i64) as u32);
        Some(match kind {
            "concurrency.ConcurrencyThreadGroup" => Dynamic::Concurrency {
                target: target as u32,
                ramp_up: super::schedule::seconds(ramp_up),
                steps,
                hold: super::schedule::seconds(hold),
            },
            "arrivals.ArrivalsThreadGroup" => Dynamic::Arrivals {
                profile: ArrivalProfile::Ramp {
                    per_second: target / unit,
                    ramp_up,
                    steps,
                    hold,
                },
                concurrency_limit,
            },
            _ => {
                let mut rows = Vec::new();
                for row in element.collection("Schedule") {
                    let crate::jmx::PropValue::Collection(cells) = &row.value else {
                        continue;
                    };
                    let mut v = [0.0f64; 3];
                    for (slot, cell) in v.iter_mut().zip(cells) {
                        if let crate::jmx::PropValue::Scalar(_, text) = &cell.value {
                            let template = self.b.template(path, text);
                            *slot = self.evaluate(&template).trim().parse().unwrap_or(0.0);
                        }
                    }
                    rows.push((v[0] / unit, v[1] / unit, v[2] * unit));
                }
                Dynamic::Arrivals {
                    profile: ArrivalProfile::FreeForm(rows),
                    concurrency_limit,
                }
            }
        })
    }

    /// The Ultimate Thread Group's rows (by position: the cells' names are stale hashes), or the
    /// `threads_schedule` property's when it is set, as the plugin does.
    fn ultimate_rows(
        &mut self,
        element: &Element,
        path: &ElementPath,
    ) -> Vec<super::schedule::UltimateRow> {
        if let Some(text) = self
            .props
            .get("threads_schedule")
            .filter(|t| !t.trim().is_empty())
        {
            match super::schedule::parse_threads_schedule(&text) {
                Ok(rows) => return rows,
                Err(why) => {
                    self.b.error(
                        path,
                        DiagnosticKind::BadValue {
                            prop: "threads_schedule".into(),
                            expected: "spawn(threads, delay, startup, hold, shutdown)...",
                            value: why,
                        },
                    );
                    return Vec::new();
                }
            }
        }
        let mut rows = Vec::new();
        for row in element.collection("ultimatethreadgroupdata") {
            let crate::jmx::PropValue::Collection(cells) = &row.value else {
                continue;
            };
            let mut values = [0u64; 5];
            for (value, cell) in values.iter_mut().zip(cells) {
                if let crate::jmx::PropValue::Scalar(_, text) = &cell.value {
                    let template = self.b.template(path, text);
                    // The plugin reads each cell as an integer; anything else is 0.
                    *value = self
                        .evaluate(&template)
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0)
                        .min(10_000_000);
                }
            }
            rows.push(values);
        }
        rows
    }

    /// Adds one non-controller, non-sampler element to the scope of its level.
    fn collect_level_item(
        &mut self,
        element: &Element,
        parent: &ElementPath,
        scope: &mut Scope,
        hooks: &mut Vec<IterationHook>,
    ) {
        let path = parent.child(&element.name);
        let (status, role, note) = support::classify(element);
        if matches!(
            role,
            Role::Sampler | Role::Controller | Role::ThreadGroup | Role::TestPlan
        ) {
            return;
        }
        self.report(element, &path, status, role, note);
        match status {
            Status::Inert => return,
            Status::Unsupported => return self.unsupported(element, &path, note),
            Status::Runs => {}
        }
        let class = element.testclass.as_str();
        match class {
            "ConfigTestElement" if element.guiclass.ends_with("TCPConfigGui") => scope
                .tcp_defaults
                .push((path.0.len(), Arc::new(element.clone()))),
            "ConfigTestElement" => scope
                .http_defaults
                .push((path.0.len(), Arc::new(http::defaults(element)))),
            "HeaderManager" => scope
                .headers
                .push((path.0.len(), Arc::new(http::header_set(element)))),
            "CookieManager" => {
                let policy = http::cookie_policy(&mut self.b.props(element, &path));
                // JMeter: the outermost Cookie Manager wins.
                if scope.cookies.is_none() {
                    scope.cookies = Some(Arc::new(policy));
                }
            }
            "CacheManager" => {
                let policy = http::cache_policy(&mut self.b.props(element, &path));
                // JMeter: the outermost Cache Manager wins, as for cookies.
                if scope.cache.is_none() {
                    scope.cache = Some(Arc::new(policy));
                }
            }
            "AuthManager" => {
                let entries = http::credentials(&mut self.b.props(element, &path));
                if scope.credentials.is_none() {
                    scope.credentials = Some(entries.into());
                }
            }
            "Arguments" => {} // Collected in the pre-pass.
            "KeystoreConfig" => {
                if let Some(settings) =
                    super::data::keystore_settings(&mut self.b.props(element, &path))
                {
                    self.keystore = Some(settings);
                }
            }
            "DNSCacheManager" => {
                let table = http::dns_cache_manager(&mut self.b.props(element, &path));
                for (name, addresses) in table {
                    match self.static_hosts.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                        Some((_, known)) if *known != addresses => self.b.error(
                            &path,
                            DiagnosticKind::Other(format!(
                                "`{name}` has other addresses in another DNS Cache Manager; rmeter keeps one host table for the run"
                            )),
                        ),
                        Some(_) => {}
                        None => self.static_hosts.push((name, addresses)),
                    }
                }
            }
            "CSVDataSet" => {
                let csv = data::csv_data_set(&mut self.b.props(element, &path));
                let csv = CsvDataSet {
                    filename: self.evaluate(&csv.0),
                    ..csv.1
                };
                hooks.push(IterationHook::Csv(self.csv_data_sets.len()));
                self.csv_data_sets.push(csv);
            }
            "CounterConfig" => {
                let bounds = data::CounterBounds {
                    start: self.number(element, &path, "CounterConfig.start", 0),
                    end: element
                        .text("CounterConfig.end")
                        .filter(|t| !t.trim().is_empty())
                        .map(|_| self.number(element, &path, "CounterConfig.end", i64::MAX)),
                    increment: self.number(element, &path, "CounterConfig.incr", 1),
                };
                let counter = data::counter(&mut self.b.props(element, &path), bounds);
                hooks.push(IterationHook::Counter(Arc::new(counter)));
            }
            "URLRewritingModifier" => {
                self.keep_last_page = true;
                if let Some(rewriting) = data::url_rewriting(&mut self.b.props(element, &path)) {
                    scope
                        .pre
                        .push(Arc::new(PreProcessor::UrlRewriting(Arc::new(rewriting))));
                }
            }
            "RegExUserParameters" => {
                let parameters = data::regex_parameters(&mut self.b.props(element, &path));
                scope
                    .pre
                    .push(Arc::new(PreProcessor::RegexParameters(Arc::new(
                        parameters,
                    ))));
            }
            "AnchorModifier" => {
                self.keep_last_page = true;
                scope.pre.push(Arc::new(PreProcessor::LinkParser));
            }
            "UserParameters" => {
                let parameters = Arc::new(data::user_parameters(&mut self.b.props(element, &path)));
                if parameters.per_iteration {
                    hooks.push(IterationHook::UserParameters(parameters));
                } else {
                    scope
                        .pre
                        .push(Arc::new(PreProcessor::UserParameters(parameters)));
                }
            }
            "RandomVariableConfig" => {
                let random = data::random_variable(&mut self.b.props(element, &path));
                hooks.push(IterationHook::Random(Arc::new(random)));
            }
            "ConstantTimer"
            | "UniformRandomTimer"
            | "GaussianRandomTimer"
            | "PoissonRandomTimer" => {
                scope.timers.push(Arc::new(super::timer::timer(
                    &mut self.b.props(element, &path),
                )));
            }
            "ConstantThroughputTimer" => {
                let slot = self.b.next_throughput_slot;
                self.b.next_throughput_slot += 1;
                if let Some(timer) =
                    super::timer::constant_throughput(&mut self.b.props(element, &path), slot)
                {
                    scope
                        .timers
                        .push(Arc::new(Timer::ConstantThroughput(timer)));
                }
            }
            "SyncTimer" => {
                let slot = self.b.next_sync_slot;
                self.b.next_sync_slot += 1;
                let timer = super::timer::sync_timer(&mut self.b.props(element, &path), slot);
                scope.timers.push(Arc::new(Timer::Sync(timer)));
            }
            "PreciseThroughputTimer" => {
                let slot = self.b.next_precise_slot;
                self.b.next_precise_slot += 1;
                let timer =
                    super::timer::precise_throughput(&mut self.b.props(element, &path), slot);
                scope.timers.push(Arc::new(Timer::PreciseThroughput(timer)));
            }
            "kg.apc.jmeter.timers.VariableThroughputTimer" => {
                let slot = self.b.next_shaping_slot;
                self.b.next_shaping_slot += 1;
                let props = self.props;
                let timer =
                    super::shaping::shaping_timer(&mut self.b.props(element, &path), props, slot);
                scope.timers.push(Arc::new(Timer::Shaping(timer)));
            }
            "RegexExtractor" | "JSONPostProcessor" | "BoundaryExtractor" | "XPathExtractor"
            | "XPath2Extractor" | "HtmlExtractor" | "JMESPathExtractor" | "DebugPostProcessor" => {
                if let Some(post) =
                    super::extract::post_processor(&mut self.b.props(element, &path))
                {
                    scope.post.push(Arc::new(post));
                }
            }
            "ResponseAssertion"
            | "DurationAssertion"
            | "MD5HexAssertion"
            | "SizeAssertion"
            | "JSONPathAssertion"
            | "XPathAssertion"
            | "XPath2Assertion"
            | "XMLAssertion"
            | "JMESPathAssertion"
            | "CompareAssertion"
            | "HTMLAssertion"
            | "XMLSchemaAssertion"
            | ATLANTBH_JSON_PATH_ASSERTION => {
                if let Some(assertion) =
                    super::assertion::assertion(&mut self.b.props(element, &path))
                {
                    // JMeter: the Compare Assertion listens to its controller's iterations.
                    if let super::assertion::AssertionKind::Compare(c) = &assertion.kind {
                        hooks.push(IterationHook::CompareReset(c.slot));
                    }
                    scope.assertions.push(Arc::new(assertion));
                }
            }
            "ResultAction" => {
                let action = match self.b.props(element, &path).int("OnError.action", 0) {
                    0 => OnSampleError::Continue,
                    1 => OnSampleError::StopThread,
                    2 => OnSampleError::StopTest,
                    3 => OnSampleError::StopTestNow,
                    4 => OnSampleError::StartNextLoop,
                    5 => OnSampleError::NextIteration,
                    6 => OnSampleError::BreakLoop,
                    other => {
                        self.b.error(
                            &path,
                            DiagnosticKind::BadValue {
                                prop: "OnError.action".into(),
                                expected: "0 to 6",
                                value: other.to_string(),
                            },
                        );
                        OnSampleError::Continue
                    }
                };
                scope.on_error.push(action);
            }
            "ResultCollector"
            | "kg.apc.jmeter.vizualizers.CorrectedResultCollector"
            | "kg.apc.jmeter.vizualizers.CompositeResultCollector" => {
                let mut p = self.b.props(element, &path);
                for name in [
                    "include_sample_labels",
                    "exclude_sample_labels",
                    "start_offset",
                    "end_offset",
                ] {
                    if !p.text(name).trim().is_empty() {
                        p.unsupported_option(
                            name,
                            "the jmeter-plugins result filters are not supported yet",
                        );
                    }
                }
                let collector = listener::result_collector(&mut self.b.props(element, &path));
                let filename = self.evaluate(&collector.0);
                let index = self.listeners.len() as u16;
                self.listeners.push(Listener {
                    filename,
                    ..collector.1
                });
                scope.listeners.push(index);
            }
            other => {
                // The support table says it runs but no arm builds it: a bug, reported as such.
                self.b.error(
                    &path,
                    DiagnosticKind::Other(format!(
                        "internal: `{other}` is marked as running but is not built"
                    )),
                );
            }
        }
    }

    /// Builds the samplers and controllers of one level. Iteration hooks found under a sampler act
    /// on the enclosing controller, so they are added to `parent_hooks`.
    fn nodes(
        &mut self,
        children: &[&Element],
        parent: &ElementPath,
        scope: &Scope,
        parent_hooks: &mut Vec<IterationHook>,
    ) -> Vec<Node> {
        let mut nodes = Vec::new();
        for element in children {
            let path = parent.child(&element.name);
            let (status, role, note) = support::classify(element);
            if !matches!(role, Role::Sampler | Role::Controller | Role::ThreadGroup) {
                continue;
            }
            self.report(element, &path, status, role, note);
            match status {
                Status::Inert => continue,
                Status::Unsupported => {
                    self.unsupported(element, &path, note);
                    continue;
                }
                Status::Runs => {}
            }
            if role == Role::ThreadGroup {
                self.b.warn(
                    &path,
                    DiagnosticKind::Other("a thread group inside a thread group never runs".into()),
                );
                continue;
            }
            let grandchildren: Vec<&Element> =
                element.children.iter().filter(|c| c.enabled).collect();
            let mut inner = scope.clone();
            let mut hooks = Vec::new();
            for child in &grandchildren {
                self.collect_level_item(child, &path, &mut inner, &mut hooks);
            }
            if role == Role::Sampler {
                // JMeter: iteration listeners under a sampler act on its controller's iterations.
                parent_hooks.append(&mut hooks);
                for child in grandchildren
                    .iter()
                    .filter(|c| matches!(support::classify(c).1, Role::Sampler | Role::Controller))
                {
                    self.b.warn(
                        &path.child(&child.name),
                        DiagnosticKind::Other(
                            "a sampler or controller under a sampler never runs".into(),
                        ),
                    );
                }
                if let Some(sampler) = self.sampler(element, &path, &inner) {
                    nodes.push(Node::Sampler(Arc::new(sampler)));
                }
            } else if element.testclass == "ModuleController" {
                if let Some(node) = self.module(element, &path, &inner) {
                    nodes.push(node);
                }
            } else if element.testclass == "IncludeController" {
                if let Some(node) = self.include(element, &path, &inner) {
                    nodes.push(node);
                }
            } else {
                let slot = self.n_controller_slots;
                self.n_controller_slots += 1;
                let mut kind = self.controller_kind(element, &path, scope, &inner, slot);
                if let ControllerKind::Throughput(spec) = &kind {
                    // JMeter: the decision is an iteration listener of the parent controller.
                    parent_hooks.push(IterationHook::Throughput(spec.clone()));
                }
                if let ControllerKind::Interleave { ignore_sub, .. } = &mut kind {
                    *ignore_sub = self.interleave_style(element, &path, &grandchildren);
                }
                let children = self.nodes(&grandchildren, &path, &inner, &mut hooks);
                nodes.push(Node::Controller(Controller {
                    name: element.name.as_str().into(),
                    kind,
                    children,
                    on_iteration: hooks,
                    slot,
                }));
            }
        }
        nodes
    }

    fn controller_kind(
        &mut self,
        element: &Element,
        path: &ElementPath,
        scope: &Scope,
        inner: &Scope,
        slot: usize,
    ) -> ControllerKind {
        let idx_var = || format!("__jm__{}__idx", element.name);
        let mut p = self.b.props(element, path);
        match element.testclass.as_str() {
            "LoopController" => {
                let loops = p.template("LoopController.loops");
                let idx_var = p.builder.vars.intern(&idx_var());
                let once_per_thread = !p.bool("LoopController.continue_forever", true);
                ControllerKind::Loop {
                    loops,
                    idx_var,
                    once_per_thread,
                }
            }
            "WhileController" => {
                let condition = p.template("WhileController.condition");
                let idx_var = p.builder.vars.intern(&idx_var());
                ControllerKind::While { condition, idx_var }
            }
            "IfController" => ControllerKind::If {
                condition: p.template("IfController.condition"),
                use_expression: p.bool("IfController.useExpression", false),
                evaluate_all: p.bool("IfController.evaluateAll", false),
            },
            "OnceOnlyController" => ControllerKind::OnceOnly,
            "TransactionController" => ControllerKind::Transaction(Arc::new(Transaction {
                name: element.name.as_str().into(),
                parent: p.bool("TransactionController.parent", false),
                include_timers: p.bool("TransactionController.includeTimers", true),
                listeners: scope.listeners.clone().into(),
                assertions: inner.assertions.clone(),
            })),
            "InterleaveControl" | "RandomController" => ControllerKind::Interleave {
                random: element.testclass == "RandomController",
                across_threads: p.bool("InterleaveControl.accrossThreads", false),
                ignore_sub: false,
            },
            "RandomOrderController" => ControllerKind::RandomOrder,
            "SwitchController" => ControllerKind::Switch {
                value: p.template("SwitchController.value"),
            },
            "ThroughputController" => {
                // JMeter's constructor defaults hold for missing properties: total executions,
                // per user, 1 execution, 100 percent.
                let by_percent = p.int("ThroughputController.style", 0) == 1;
                let per_user = p.bool("ThroughputController.perThread", true);
                let text_or = |p: &mut super::reader::Props, name: &str, default: &str| {
                    let text = p.text(name).to_string();
                    let text = if p.has(name) { text } else { default.into() };
                    p.builder.template(&p.path, &text)
                };
                ControllerKind::Throughput(Arc::new(Throughput {
                    slot,
                    per_user,
                    by_percent,
                    max_executions: text_or(&mut p, "ThroughputController.maxThroughput", "1"),
                    percent: text_or(&mut p, "ThroughputController.percentThroughput", "100"),
                }))
            }
            "RunTime" => ControllerKind::RunTime {
                seconds: p.template("RunTime.seconds"),
            },
            "ForeachController" => {
                let optional = |p: &mut super::reader::Props, name: &str| {
                    p.has(name).then(|| p.template(name))
                };
                ControllerKind::ForEach(Arc::new(ForEach {
                    input_prefix: p.template("ForeachController.inputVal"),
                    return_var: p.template("ForeachController.returnVal"),
                    separator: p.bool("ForeachController.useSeparator", true),
                    start: optional(&mut p, "ForeachController.startIndex"),
                    end: optional(&mut p, "ForeachController.endIndex"),
                    idx_var: p.builder.vars.intern(&idx_var()),
                }))
            }
            "com.blazemeter.jmeter.controller.ParallelSampler" => {
                let limit = p.bool("LIMIT_MAX_THREAD_NUMBER", false);
                let max = p.int("MAX_THREAD_NUMBER", 6).max(1) as usize;
                ControllerKind::Parallel(Arc::new(super::Parallel {
                    name: element.name.as_str().into(),
                    parent: p.bool("PARENT_SAMPLE", false),
                    max_threads: limit.then_some(max),
                    listeners: inner.listeners.clone().into(),
                }))
            }
            "CriticalSectionController" => ControllerKind::CriticalSection {
                lock: p.template("CriticalSectionController.lockName"),
            },
            _ => ControllerKind::Simple,
        }
    }

    /// "Ignore sub-controller blocks" (`InterleaveControl.style` 0, also when missing) takes one
    /// sampler at a time out of a child controller. rmeter does so for the controllers of
    /// [`STEPPABLE`] whose children are samplers; other controller children are refused with this
    /// style. Returns whether a child controller is stepped through that way.
    fn interleave_style(
        &mut self,
        element: &Element,
        path: &ElementPath,
        children: &[&Element],
    ) -> bool {
        let style = element
            .text("InterleaveControl.style")
            .unwrap_or("0")
            .trim();
        let controllers: Vec<&&Element> = children
            .iter()
            .filter(|c| support::classify(c).1 == Role::Controller)
            .collect();
        if style == "1" || controllers.is_empty() {
            return false;
        }
        let steppable = controllers.iter().all(|c| {
            STEPPABLE.contains(&c.testclass.as_str())
                && c.children
                    .iter()
                    .filter(|g| g.enabled)
                    .all(|g| support::classify(g).1 != Role::Controller)
        });
        if !steppable {
            self.b.error(
                path,
                DiagnosticKind::UnsupportedOption {
                    prop: "InterleaveControl.style".into(),
                    why: format!(
                        "`{style}` (ignore sub-controller blocks) is supported for child Simple, If, Once Only, Transaction, Loop, While, ForEach, Interleave and Random Controllers that hold samplers only; untick \"ignore sub-controller blocks\" (style 1) to run each child controller's whole pass per visit"
                    ),
                },
            );
        }
        steppable
    }

    /// A Module Controller: the target controller (found by its names from the Test Plan, even
    /// when disabled) is built again here, under this controller's scope.
    fn module(&mut self, element: &Element, path: &ElementPath, scope: &Scope) -> Option<Node> {
        let names: Vec<&str> = element
            .collection("ModuleController.node_path")
            .iter()
            .filter_map(|item| match &item.value {
                crate::jmx::PropValue::Scalar(_, text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        // The first name is the GUI tree's root (WorkBench or Test Plan), not an element.
        let target = names
            .get(1..)
            .filter(|rest| !rest.is_empty())
            .and_then(|rest| find_module_target(&self.tree.roots, rest));
        let Some(target) = target else {
            self.b.error(
                path,
                DiagnosticKind::Other(format!(
                    "the Module Controller's target `{}` is not in the plan (was an element on the path renamed?)",
                    names.get(1..).unwrap_or_default().join(" › ")
                )),
            );
            return None;
        };
        let key = format!("line {}", target.line);
        self.expand(element, path, scope, key, &[target])
    }

    /// An Include Controller: the children of the first Test Fragment of another plan file, read
    /// at build time as `includecontroller.prefix` + path, else relative to this plan's folder.
    fn include(&mut self, element: &Element, path: &ElementPath, scope: &Scope) -> Option<Node> {
        let given = element.text("IncludeController.includepath").unwrap_or("");
        if given.trim().is_empty() {
            // JMeter logs an error and includes nothing.
            self.b.warn(
                path,
                DiagnosticKind::Other(
                    "the Include Controller names no file: it runs nothing".into(),
                ),
            );
            return Some(self.simple_node(element, Vec::new(), Vec::new()));
        }
        let prefix = self
            .props
            .get("includecontroller.prefix")
            .unwrap_or_default();
        let first = std::path::PathBuf::from(format!("{prefix}{given}").trim());
        let file = if first.exists() || first.is_absolute() {
            first
        } else {
            match &self.plan_dir {
                Some(dir) => dir.join(given.trim()),
                None => first,
            }
        };
        let tree = std::fs::read(&file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::jmx::parse(&bytes).map_err(|e| e.to_string()));
        let tree = match tree {
            Ok(tree) => tree,
            Err(e) => {
                self.b.error(
                    path,
                    DiagnosticKind::Other(format!("cannot include {}: {e}", file.display())),
                );
                return None;
            }
        };
        let fragment = tree
            .roots
            .iter()
            .flat_map(|root| root.children.iter())
            .find(|e| e.testclass == "TestFragmentController");
        let Some(fragment) = fragment else {
            self.b.error(
                path,
                DiagnosticKind::Other(format!(
                    "{} has no Test Fragment at its top level to include",
                    file.display()
                )),
            );
            return None;
        };
        let children: Vec<&Element> = fragment.children.iter().filter(|c| c.enabled).collect();
        let key = format!("file {}", file.display());
        let mut scope = scope.clone();
        let mut hooks = Vec::new();
        if self.expanding.contains(&key) {
            self.b.error(
                path,
                DiagnosticKind::Other(format!("{} includes itself", file.display())),
            );
            return None;
        }
        self.expanding.push(key);
        for child in &children {
            self.collect_level_item(child, path, &mut scope, &mut hooks);
        }
        let nodes = self.nodes(&children, path, &scope, &mut hooks);
        self.expanding.pop();
        Some(self.simple_node(element, nodes, hooks))
    }

    /// Builds `targets` as the children of a Simple Controller standing for `element`.
    fn expand(
        &mut self,
        element: &Element,
        path: &ElementPath,
        scope: &Scope,
        key: String,
        targets: &[&Element],
    ) -> Option<Node> {
        if self.expanding.contains(&key) {
            self.b.error(
                path,
                DiagnosticKind::Other(
                    "the Module Controller's target contains it: it would run itself forever"
                        .into(),
                ),
            );
            return None;
        }
        self.expanding.push(key);
        let mut hooks = Vec::new();
        let nodes = self.nodes(targets, path, scope, &mut hooks);
        self.expanding.pop();
        Some(self.simple_node(element, nodes, hooks))
    }

    fn simple_node(
        &mut self,
        element: &Element,
        children: Vec<Node>,
        hooks: Vec<IterationHook>,
    ) -> Node {
        let slot = self.n_controller_slots;
        self.n_controller_slots += 1;
        Node::Controller(Controller {
            name: element.name.as_str().into(),
            kind: ControllerKind::Simple,
            children,
            on_iteration: hooks,
            slot,
        })
    }

    /// A sampler's scalar properties as JMeter's Debug PostProcessor lists them (values
    /// evaluated at each use), with the `TestElement.*` names it adds.
    fn raw_properties(&mut self, element: &Element, path: &ElementPath) -> Vec<(String, Template)> {
        let mut out = vec![
            (
                "TestElement.gui_class".to_string(),
                Template::literal(&element.guiclass),
            ),
            (
                "TestElement.test_class".to_string(),
                Template::literal(&element.testclass),
            ),
            (
                "TestElement.name".to_string(),
                Template::literal(&element.name),
            ),
            ("TestElement.enabled".to_string(), Template::literal("true")),
        ];
        for prop in &element.props {
            if let crate::jmx::PropValue::Scalar(_, value) = &prop.value {
                if !out.iter().any(|(n, _)| *n == prop.name) {
                    out.push((prop.name.clone(), self.b.template(path, value)));
                }
            }
        }
        out
    }

    fn sampler(&mut self, element: &Element, path: &ElementPath, scope: &Scope) -> Option<Sampler> {
        let label = self.b.template(path, &element.name);
        let merged;
        let element = if element.testclass == "TCPSampler" && !scope.tcp_defaults.is_empty() {
            merged = with_defaults(element, &innermost_first(&scope.tcp_defaults));
            &merged
        } else {
            element
        };
        let mut p = self.b.props(element, path);
        let kind = match element.testclass.as_str() {
            "JavaSampler" => SamplerKind::JavaTest(super::sampler::java_test(&mut p)?),
            "DebugSampler" => SamplerKind::Debug(super::sampler::debug(&mut p)),
            "TestAction" => SamplerKind::Action(super::sampler::flow_action(&mut p)?),
            "SystemSampler" => SamplerKind::System(super::sampler::system_command(&mut p)),
            "kg.apc.jmeter.samplers.DummySampler" => {
                SamplerKind::Dummy(super::sampler::dummy(&mut p))
            }
            "TCPSampler" => SamplerKind::Tcp(super::sampler::tcp(&mut p, self.props)?),
            _ => {
                let defaults = innermost_first(&scope.http_defaults);
                let headers = innermost_first(&scope.headers);
                SamplerKind::Http(http::request(
                    &mut p,
                    &defaults,
                    &headers,
                    scope.cookies.as_deref(),
                    scope.cache.as_deref(),
                    scope.credentials.as_ref(),
                )?)
            }
        };
        // A Debug PostProcessor in scope may list the sampler's properties.
        let raw_properties = if scope
            .post
            .iter()
            .any(|p| matches!(&**p, PostProcessor::Debug(d) if d.sampler_properties))
        {
            self.raw_properties(element, path)
        } else {
            Vec::new()
        };
        Some(Sampler {
            label,
            path: path.clone(),
            kind,
            raw_properties,
            timers: scope.timers.clone(),
            pre: scope.pre.clone(),
            post: scope.post.clone(),
            assertions: scope.assertions.clone(),
            listeners: scope.listeners.clone().into(),
            on_error: scope.on_error.clone(),
        })
    }
}

/// JMeter's module target search: names from the Test Plan down, Module Controllers skipped,
/// disabled elements included; the last match in document order wins.
fn find_module_target<'t>(elements: &'t [Element], names: &[&str]) -> Option<&'t Element> {
    let (first, rest) = names.split_first()?;
    let mut found = None;
    for element in elements {
        if element.testclass == "ModuleController" || element.name != *first {
            continue;
        }
        let hit = if rest.is_empty() {
            Some(element)
        } else {
            find_module_target(&element.children, rest)
        };
        if hit.is_some() {
            found = hit;
        }
    }
    found
}

/// A sampler with the scalar properties of its config elements (innermost first) filled in
/// where it has none or an empty one, as JMeter's `addConfigElement` merges them.
fn with_defaults(element: &Element, defaults: &[Arc<Element>]) -> Element {
    let mut merged = element.clone();
    for config in defaults {
        for prop in &config.props {
            let crate::jmx::PropValue::Scalar(_, value) = &prop.value else {
                continue;
            };
            if prop.name.starts_with("TestElement.") || value.is_empty() {
                continue;
            }
            match merged.props.iter_mut().find(|p| p.name == prop.name) {
                Some(own) if matches!(&own.value, crate::jmx::PropValue::Scalar(_, v) if v.is_empty()) =>
                {
                    own.value = prop.value.clone();
                }
                Some(_) => {}
                None => merged.props.push(prop.clone()),
            }
        }
    }
    merged
}

/// JMeter merges config elements innermost level first, and in tree order within a level.
fn innermost_first<T>(items: &[(usize, Arc<T>)]) -> Vec<Arc<T>> {
    let mut sorted: Vec<&(usize, Arc<T>)> = items.iter().collect();
    sorted.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    sorted.into_iter().map(|(_, item)| item.clone()).collect()
}

impl Plan {
    /// Evaluates the user-defined variables once, in order, each seeing the earlier ones, as
    /// JMeter does at test start.
    pub fn evaluate_user_variables(&self, props: &Properties) -> Vec<(VarId, String)> {
        let mut ctx = StartupContext {
            plan_name: &self.name,
            table: &self.vars,
            values: HashMap::new(),
            props,
            rng: fastrand::Rng::new(),
        };
        let mut out = Vec::new();
        for (id, template) in &self.user_variables {
            let value = template.render(&mut ctx);
            ctx.values
                .insert(self.vars.name(*id).to_string(), value.clone());
            out.push((*id, value));
        }
        out
    }
}

/// The context of test start: properties and user-defined variables, no thread.
struct StartupContext<'a> {
    plan_name: &'a str,
    table: &'a VarTable,
    values: HashMap<String, String>,
    props: &'a Properties,
    rng: fastrand::Rng,
}

impl Context for StartupContext<'_> {
    fn var(&self, id: VarId) -> Option<&str> {
        self.values.get(self.table.name(id)).map(String::as_str)
    }
    fn var_by_name(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
    fn set_var(&mut self, name: &str, value: String) {
        self.values.insert(name.to_string(), value);
    }
    fn remove_var(&mut self, name: &str) {
        self.values.remove(name);
    }
    fn env(&mut self) -> &mut dyn Env {
        self
    }
}

impl Env for StartupContext<'_> {
    fn props(&self) -> &Properties {
        self.props
    }
    fn thread_num(&self) -> u32 {
        0
    }
    fn thread_group_name(&self) -> &str {
        ""
    }
    fn sampler_name(&self) -> &str {
        ""
    }
    fn test_plan_name(&self) -> &str {
        self.plan_name
    }
    fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }
    fn user_counter(&mut self, _slot: usize) -> u64 {
        1
    }
    fn global_counter(&self, _slot: usize) -> u64 {
        1
    }
    fn machine_name(&self) -> &str {
        ""
    }
    fn machine_ip(&self) -> &str {
        ""
    }
    fn now_millis(&self) -> i64 {
        crate::clock::epoch_millis()
    }
    fn utc_offset_seconds(&self) -> i32 {
        crate::clock::utc_offset_seconds()
    }
}

/// The child controllers an Interleave with "ignore sub-controller blocks" takes one sampler at a
/// time from (when they hold samplers only); see `Vu::step`.
const STEPPABLE: [&str; 9] = [
    "GenericController",
    "TransactionController",
    "IfController",
    "OnceOnlyController",
    "LoopController",
    "WhileController",
    "ForeachController",
    "InterleaveControl",
    "RandomController",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::support::KINDS;

    /// Every class the support table says runs is built by the walk, never by the fallback arm
    /// that reports "marked as running but is not built".
    #[test]
    fn every_running_class_is_built() {
        for kind in KINDS.iter().filter(|k| k.status == Status::Runs) {
            let element = match kind.role {
                Role::TestPlan | Role::ThreadGroup => continue,
                _ => format!(
                    "<{c} guiclass=\"HttpDefaultsGui\" testclass=\"{c}\" testname=\"x\"><stringProp name=\"filename\">f.csv</stringProp></{c}><hashTree/>",
                    c = kind.testclass
                ),
            };
            let xml = format!(
                "<jmeterTestPlan><hashTree><TestPlan testname=\"P\"/><hashTree>\
                 <ThreadGroup testname=\"G\"/><hashTree>\
                 <HTTPSamplerProxy testname=\"s\"/><hashTree>{element}</hashTree>{element}\
                 </hashTree></hashTree></hashTree></jmeterTestPlan>"
            );
            let tree = crate::jmx::parse(xml.as_bytes()).unwrap();
            let (plan, diagnostics) = build(&tree, &Properties::with_jmeter_defaults());
            assert!(
                diagnostics
                    .iter()
                    .all(|d| !d.to_string().contains("is not built")),
                "{}: {diagnostics:?}",
                kind.testclass
            );
            assert!(
                plan.elements.iter().any(|e| e.testclass == kind.testclass),
                "{} not reported",
                kind.testclass
            );
        }
    }

    /// A thread count from a property the run does not set is read as 0, as JMeter's
    /// `getIntValue` does, with a warning; a literal that is no integer stays an error.
    #[test]
    fn unset_property_counts_are_zero_with_a_warning() {
        let plan_with = |threads: &str| {
            let xml = format!(
                "<jmeterTestPlan><hashTree><TestPlan testname=\"P\"/><hashTree>\
                 <ThreadGroup testname=\"G\"><stringProp name=\"ThreadGroup.num_threads\">{threads}</stringProp></ThreadGroup><hashTree/>\
                 </hashTree></hashTree></jmeterTestPlan>"
            );
            let tree = crate::jmx::parse(xml.as_bytes()).unwrap();
            build(&tree, &Properties::with_jmeter_defaults())
        };
        let (plan, diagnostics) = plan_with("${__property(threads)}");
        assert_eq!(plan.groups[0].threads, 0);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(diagnostics[0].severity, Severity::Warning);
        assert!(
            diagnostics[0]
                .to_string()
                .contains("gives \"threads\", not an integer: read as 0"),
            "{diagnostics:?}"
        );
        let (_, diagnostics) = plan_with("ten");
        assert_eq!(diagnostics[0].severity, Severity::Error, "{diagnostics:?}");
    }
}
