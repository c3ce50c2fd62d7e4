//! Which test elements rmeter runs, which have no effect on a run, and which it does not support.
//!
//! This table is the single source of truth for `rmeter check`, for the plan builder (which refuses
//! what is not `Runs`) and for `compat/ELEMENTS.md` (generated from it; a test keeps it fresh).
//! A test in `plan::build` builds one element of every `Runs` class to prove the walk handles it.

use crate::jmx::Element;

/// What rmeter does with an enabled element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Implemented: it runs as in JMeter.
    Runs,
    /// Has no effect on a non-GUI run (a GUI-only visualizer, the workbench, a recorder).
    Inert,
    /// Not implemented: a run refuses to start unless told to skip it.
    Unsupported,
}

/// The part an element plays in JMeter's tree, which decides its scoping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    TestPlan,
    ThreadGroup,
    Sampler,
    Controller,
    Config,
    Timer,
    PreProcessor,
    PostProcessor,
    Assertion,
    Listener,
    Other,
}

/// One row of the support table.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub testclass: &'static str,
    pub role: Role,
    pub status: Status,
    pub note: &'static str,
}

const fn kind(testclass: &'static str, role: Role, status: Status, note: &'static str) -> Kind {
    Kind {
        testclass,
        role,
        status,
        note,
    }
}

use Role::*;
use Status::*;

/// Every test class rmeter knows, in the order of the generated table.
pub const KINDS: &[Kind] = &[
    kind("TestPlan", TestPlan, Runs, "user-defined variables, serialize_threadgroups, tearDown_on_shutdown"),
    kind("ThreadGroup", ThreadGroup, Runs, "threads, ramp-up, loops, scheduler, on_sample_error, same_user_on_next_iteration"),
    kind("SetupThreadGroup", ThreadGroup, Runs, ""),
    kind("kg.apc.jmeter.threads.UltimateThreadGroup", ThreadGroup, Runs, "rows of threads, initial delay, startup, hold and shutdown, spaced as the plugin spaces them; the `threads_schedule` property replaces the rows"),
    kind("com.blazemeter.jmeter.threads.concurrency.ConcurrencyThreadGroup", ThreadGroup, Runs, "target concurrency in steps or linear over the ramp-up, then hold (seconds or minutes); a user that ends (Iterations, stop thread) is replaced at once; LogFilename is an unsupported option"),
    kind("com.blazemeter.jmeter.threads.arrivals.ArrivalsThreadGroup", ThreadGroup, Runs, "iterations start at the arrival rate (steps, or linear over the ramp-up), each on an idle user or a new one up to the concurrency limit, else dropped; a linear ramp-up is taken at its rate, where the plugin's code waits for its end"),
    kind("com.blazemeter.jmeter.threads.arrivals.FreeFormArrivalsThreadGroup", ThreadGroup, Runs, "arrival-rate rows (start rate, end rate, duration), as the Arrivals Thread Group otherwise"),
    kind("kg.apc.jmeter.threads.SteppingThreadGroup", ThreadGroup, Runs, "initial delay, burst, threads per step, step period with ramp-up, hold, threads stopped per period"),
    kind("PostThreadGroup", ThreadGroup, Runs, ""),
    kind("HTTPSamplerProxy", Sampler, Runs, "HTTP/1.1 (as JMeter's HttpClient4), gzip/deflate/brotli bodies decoded; embedded resources (JMeter's HTML and CSS parsers, URL patterns, download pool) as sub-results; multipart bodies and file uploads (browser-compatible parts, a nameless file as the body); per-sampler proxies and non-UTF-8 content encodings are unsupported options"),
    kind("HTTPSampler", Sampler, Runs, "the pre-2.x class name, run as HTTPSamplerProxy"),
    kind("GenericController", Controller, Runs, "Simple Controller"),
    kind("LoopController", Controller, Runs, ""),
    kind("TransactionController", Controller, Runs, "both modes, includeTimers"),
    kind("IfController", Controller, Runs, "expression mode, and condition mode with a JavaScript subset"),
    kind("WhileController", Controller, Runs, ""),
    kind("OnceOnlyController", Controller, Runs, ""),
    kind("RecordingController", Controller, Runs, "runs as a Simple Controller, as in JMeter"),
    kind("ConfigTestElement", Config, Runs, "HTTP Request Defaults (guiclass HttpDefaultsGui) and TCP Sampler Config (TCPConfigGui, its properties fill the TCP samplers' empty ones); other guiclasses are unsupported"),
    kind("Arguments", Config, Runs, "User Defined Variables"),
    kind("HeaderManager", Config, Runs, ""),
    kind("CookieManager", Config, Runs, "a jar per virtual user with RFC 6265 rules (all policies but ignoreCookies), clearEachIteration, controlledByThreadGroup; predefined cookies are an unsupported option"),
    kind("CSVDataSet", Config, Runs, "share modes all, group, thread"),
    kind("CounterConfig", Config, Runs, ""),
    kind("RandomVariableConfig", Config, Runs, ""),
    kind("ConstantTimer", Timer, Runs, ""),
    kind("UniformRandomTimer", Timer, Runs, ""),
    kind("GaussianRandomTimer", Timer, Runs, ""),
    kind("PoissonRandomTimer", Timer, Runs, ""),
    kind("RegexExtractor", PostProcessor, Runs, "Rust regex syntax: look-around and back-references are refused; an expression built from variables is compiled per sample; scopes main sample, sub-samples, both, or a variable"),
    kind("JSONPostProcessor", PostProcessor, Runs, "JSON Extractor (RFC 9535 JSONPath, Jayway's `.[` accepted); scopes main sample, sub-samples, both, or a variable"),
    kind("BoundaryExtractor", PostProcessor, Runs, "scopes main sample, sub-samples, both, or a variable"),
    kind("ResponseAssertion", Assertion, Runs, ""),
    kind("DurationAssertion", Assertion, Runs, ""),
    kind("SizeAssertion", Assertion, Runs, ""),
    kind("JSONPathAssertion", Assertion, Runs, ""),
    kind("com.atlantbh.jmeter.plugins.jsonutils.jsonpathassertion.JSONPathAssertion", Assertion, Runs, "the jmeter-plugins JSON Path Assertion (Taurus's `assert-jsonpath`): the same properties and messages as JMeter's own, which was ported from it"),
    kind("ResultCollector", Listener, Runs, "writes its CSV file with its own saveConfig; with no file name it is a GUI-only visualizer (inert)"),
    kind("kg.apc.jmeter.vizualizers.CompositeResultCollector", Listener, Runs, "the jmeter-plugins Composite Graph: with no file name a GUI-only graph (inert), with one a result file as ResultCollector's"),
    kind("kg.apc.jmeter.perfmon.PerfMonCollector", Listener, Unsupported, "PerfMon metrics come from the PerfMon server agent, which rmeter does not query; with no file name the GUI-only graph is inert"),
    kind("kg.apc.jmeter.vizualizers.CorrectedResultCollector", Listener, Runs, "the jmeter-plugins graphs (jp@gc - Transactions per Second, Response Times Over Time...): with no file name a GUI-only graph (inert), with one a result file as ResultCollector's; its label filters and offsets are an unsupported option"),
    kind("WorkBench", Other, Inert, "never runs"),
    kind("ProxyControl", Other, Inert, "the HTTP(S) Test Script Recorder does nothing in a non-GUI run"),
    kind("TestFragmentController", Controller, Inert, "a Test Fragment runs only through Module or Include controllers"),
    kind("Summariser", Listener, Inert, "rmeter prints its own summariser lines; the element's extra lines are not printed"),
    kind("BackendListener", Listener, Unsupported, ""),
    kind("DebugSampler", Sampler, Runs, "the response lists the variables (and the properties when asked) in JMeter's order and layout; Java system properties are an unsupported option"),
    kind("DebugPostProcessor", PostProcessor, Runs, "adds a sub-result (`<sampler>-N`, 200 OK) listing the sampler's properties (as written in the plan, class names unexpanded, values evaluated), the variables and the properties, in JMeter's order; Java system properties are an unsupported option"),
    kind("JSR223Sampler", Sampler, Unsupported, "scripting"),
    kind("JSR223PreProcessor", PreProcessor, Unsupported, "scripting"),
    kind("JSR223PostProcessor", PostProcessor, Unsupported, "scripting"),
    kind("JSR223Assertion", Assertion, Unsupported, "scripting"),
    kind("JSR223Timer", Timer, Unsupported, "scripting"),
    kind("JSR223Listener", Listener, Unsupported, "scripting"),
    kind("BeanShellSampler", Sampler, Unsupported, "scripting"),
    kind("BeanShellPreProcessor", PreProcessor, Unsupported, "scripting"),
    kind("BeanShellPostProcessor", PostProcessor, Unsupported, "scripting"),
    kind("BeanShellAssertion", Assertion, Unsupported, "scripting"),
    kind("TestAction", Sampler, Runs, "Flow Control Action: pause, stop, stop now, start next thread loop, next iteration and break of the innermost loop; writes no sample, as in JMeter"),
    kind("ResultAction", PostProcessor, Runs, "Result Status Action Handler: what a failed sample in its scope does (continue, stop thread, stop test, stop now, start next thread loop, next iteration or break of the innermost loop)"),
    kind("ForeachController", Controller, Runs, "start index exclusive, end index inclusive, stops at the first missing variable"),
    kind("SwitchController", Controller, Runs, "by index (out of range: the first child) or by name, else a child named `default`"),
    kind("RandomController", Controller, Runs, "one child per visit; with \"ignore sub-controller blocks\" child Simple, If, Once Only, Transaction, Loop, While, ForEach, Interleave and Random Controllers of samplers give one sampler per visit (JMeter 5.6's pull), other controller children are an unsupported option"),
    kind("RandomOrderController", Controller, Runs, ""),
    kind("InterleaveControl", Controller, Runs, "one child per visit, position kept across iterations, across threads; with \"ignore sub-controller blocks\" child Simple, If, Once Only, Transaction, Loop, While, ForEach, Interleave and Random Controllers of samplers give one sampler per visit (JMeter 5.6's pull), other controller children are an unsupported option"),
    kind("ThroughputController", Controller, Runs, "total or percent executions (JMeter's running ratio), per user or shared, decided when the parent starts an iteration"),
    kind("RunTime", Controller, Runs, "loops over its children until the seconds have passed, checked before each child"),
    kind("ModuleController", Controller, Runs, "the target (even disabled) is built again under the module's scope"),
    kind("IncludeController", Controller, Runs, "the first Test Fragment of the file (`includecontroller.prefix` + path, else beside the plan); a missing file is an error"),
    kind("CriticalSectionController", Controller, Runs, "a run-wide lock per name held over each pass"),
    kind("com.blazemeter.jmeter.controller.ParallelSampler", Controller, Runs, "Parallel Controller (plugin): each child runs concurrently on its own connections (at most `MAX_THREAD_NUMBER` at once with the limit on), starting from the user's variables and cookies, whose changes are merged back at the end; with \"Generate parent sample\" the children's samples are sub-results of one sample (200 OK, failed when a child failed), else they are reported one by one. Children thread names are `<thread> - <controller> - <child>`"),
    kind("kg.apc.jmeter.timers.VariableThroughputTimer", Timer, Runs, "Throughput Shaping Timer (jmeter-plugins; Taurus's `throughput:`): `load_profile` rows or the `load_profile` property language; threads that reach it after the schedule ends stop"),
    kind("ConstantThroughputTimer", Timer, Runs, "all five modes (this thread, all active threads, active threads in the group, shared by all, shared in the group); times kept in nanoseconds, so high rates do not drift to whole milliseconds"),
    kind("PreciseThroughputTimer", Timer, Runs, "one shared random schedule per timer with the exact count in each stretch (exactLimit), batches with their delay, randomSeed; allowedThroughputSurplus is not needed since every stretch is exact"),
    kind("SyncTimer", Timer, Runs, "users wait until the group size (0: the thread group's users) arrived, or the timeout; then all go"),
    kind("CacheManager", Config, Runs, "a cache of validators and expiry dates per virtual user (Last-Modified, ETag, Expires, Cache-Control max-age/no-cache/no-store, Vary), If-Modified-Since/If-None-Match, a fresh GET answered from the cache with no sample (`cache_manager.cached_resource_mode`), clearEachIteration, controlledByThread, maxSize"),
    kind("AuthManager", Config, Runs, "BASIC credentials by URL prefix, sent with the first request (JMeter's `httpclient4.auth.preemptive=true`); DIGEST credentials answer the server's `401` challenge (MD5 or MD5-sess, `qop=auth`) within the same sample; KERBEROS is an unsupported option"),
    kind("DNSCacheManager", Config, Runs, "system resolver (as Taurus adds it): rmeter resolves the host of each new connection and keeps no DNS cache, so `clearEachIteration` changes nothing; custom resolver: its static host table (one table for the run), other names from the system resolver; the plan's own DNS servers are an unsupported option"),
    kind("KeystoreConfig", Config, Runs, "client certificates from the PKCS12 keystore of `-Djavax.net.ssl.keyStore` (PBES2/AES, as keytool 12+ and OpenSSL 3 write; JKS is refused at start): the key entries from startIndex to endIndex, each user's alias from clientCertAliasVarName, else a round robin (one key per user); without this element the first key entry"),
    kind("UserParameters", PreProcessor, Runs, "per sample, or once per iteration of its controller"),
    kind("RegExUserParameters", PreProcessor, Runs, "HTTP samplers only: the arguments named by a Regular Expression Extractor's matches (match number -1, `ref_i_gN`) take the matched values; other arguments are kept, none is added"),
    kind("URLRewritingModifier", PreProcessor, Runs, "HTTP samplers only: the session id found in the last HTTP response (URL parameter, `;name=` path extension or hidden form field) goes into the request as an argument or path extension; the last value is kept per user (`cache_value`)"),
    kind("AnchorModifier", PreProcessor, Runs, "HTML Link Parser: sends its HTTP sampler to a random link, frame or form of the previous HTML response that the sampler's protocol, domain, path and argument names match (regular expressions allowed); a form's fields fill the arguments they match"),
    kind("XPathExtractor", PostProcessor, Runs, "XPath 1.0 (sxd-xpath) on the XML body, or with \"use Tidy\" on the HTML as html5ever repairs it; namespace-aware or not as JMeter, prefixes from the document element; an element's value is its first child's, fragments as XML; parse and XPath errors as failed assertion results; Tidy's error report and DTD downloads are unsupported options; scopes main sample, sub-samples, both, or a variable"),
    kind("XPath2Extractor", PostProcessor, Runs, "the XPath 1.0 subset of XPath 2 (a query beyond it is refused at build), with the declared namespaces; an element's value is its string value; scopes main sample, sub-samples, both, or a variable"),
    kind("HtmlExtractor", PostProcessor, Runs, "CSS Selector Extractor: selectors of the `selectors` crate (html5ever's tree); JSoup text (whitespace collapsed, spaces at block boundaries) or Jodd text (trimmed); match numbers count across the samples in scope"),
    kind("JMESPathExtractor", PostProcessor, Runs, "jmespath.rs; strings bare, other values as compact JSON, arrays split into matches, nulls skipped"),
    kind("XPathAssertion", Assertion, Runs, "XPath 1.0 node-set and boolean results with JMeter's messages, negate, Tidy mode and namespaces as the XPath Extractor; DTD validation is an unsupported option"),
    kind("XPath2Assertion", Assertion, Runs, "the XPath 1.0 subset of XPath 2 (a query beyond it is refused at build), with the declared namespaces"),
    kind("JMESPathAssertion", Assertion, Runs, "existence, null, equality (text, then JSON structure) or full regex match, inverted or not, with JMeter's messages"),
    kind("HTMLAssertion", Assertion, Runs, "JTidy r938's error and warning counts for the checks rmeter makes (unknown elements and attributes, doctype and its version match, title, end tags, entities, required attributes...), not its attribute-value and URI checks; JMeter 5.6's message; no report file"),
    kind("MD5HexAssertion", Assertion, Runs, "the MD5 of the body as text (UTF-8, invalid bytes replaced)"),
    kind("XMLAssertion", Assertion, Runs, "well-formed XML without a DOCTYPE, with Xerces' messages"),
    kind("CompareAssertion", Assertion, Runs, "each response of a user is compared with the earlier ones since its controller's iteration began: content after the `stringsToSkip` substitutions (literal, as with JMeter's default ORO engine) and elapsed time"),
    kind("XMLSchemaAssertion", Assertion, Runs, "XSD 1.0 validation with Xerces' messages and positions (first error, as JMeter); identity constraints, substitution groups, redefine and http: schemas are reported unsupported"),
    kind("JavaSampler", Sampler, Runs, "Java Request with JMeter's test class `org.apache.jmeter.protocol.java.test.JavaTest` (sleep, label, code, message, status, sampler and result data); other Java classes are an unsupported option"),
    kind("kg.apc.jmeter.samplers.DummySampler", Sampler, Runs, "jmeter-plugins Dummy Sampler: code, message, data, response time (waited when \"waiting\" is set), latency, connect, URL and result class from its settings"),
    kind("SystemSampler", Sampler, Runs, "OS Process Sampler: runs the program the plan names (it trusts the plan, as JMeter does), with arguments, environment, working directory, timeout, stdin/stdout/stderr files; the exit code is the response code, stdout the response"),
    kind("TCPSampler", Sampler, Runs, "TCPClientImpl (UTF-8 text, end-of-line byte), BinaryTCPClientImpl (hex, end-of-message byte) and LengthPrefixedBinaryTCPClientImpl (2- or 4-byte prefix); a socket per user and server kept when re-used; the `tcp.*` properties (status prefix, suffix and properties file too); JMeter's codes and exception texts; an unknown client class fails each sample with \"Protocol handler not found\", as in JMeter; `tcp.charset` other than UTF-8 and a lingering close are unsupported options"),
    kind("JDBCSampler", Sampler, Unsupported, "protocol"),
    kind("JDBCDataSource", Config, Unsupported, "protocol"),
    kind("OpenModelThreadGroup", ThreadGroup, Runs, "the schedule language (rate, random_arrivals, even_arrivals, pause, units, comments), random_seed; each arrival is a new user running one iteration, with no cap; at the schedule's end running users stop before their next sampler (JMeter interrupts the samples in flight)"),
];

/// The support table row of a test class.
pub fn lookup(testclass: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.testclass == testclass)
}

/// The status of one element, looking at the properties where they decide it.
pub fn classify(element: &Element) -> (Status, Role, &'static str) {
    let Some(kind) = lookup(&element.testclass) else {
        return (
            Unsupported,
            guess_role(&element.testclass),
            "not implemented",
        );
    };
    if matches!(
        kind.testclass,
        "ResultCollector"
            | "kg.apc.jmeter.vizualizers.CorrectedResultCollector"
            | "kg.apc.jmeter.vizualizers.CompositeResultCollector"
            | "kg.apc.jmeter.perfmon.PerfMonCollector"
    ) && element.text("filename").unwrap_or("").trim().is_empty()
    {
        return (
            Inert,
            Listener,
            "a visualizer with no file name has no effect in a non-GUI run",
        );
    }
    if kind.testclass == "ConfigTestElement"
        && !matches!(element.guiclass.as_str(), "HttpDefaultsGui" | "")
        && !element.guiclass.ends_with("TCPConfigGui")
    {
        return (
            Unsupported,
            Config,
            "only HTTP Request Defaults (HttpDefaultsGui) and TCP Sampler Config (TCPConfigGui) are implemented",
        );
    }
    (kind.status, kind.role, kind.note)
}

/// A role for a class rmeter does not know, from its name, so that `check` can say what it is.
fn guess_role(testclass: &str) -> Role {
    let short = testclass.rsplit('.').next().unwrap_or(testclass);
    if short.ends_with("ThreadGroup") {
        ThreadGroup
    } else if short.ends_with("Sampler") {
        Sampler
    } else if short.ends_with("Controller") || short.ends_with("Control") {
        Controller
    } else if short.ends_with("Timer") {
        Timer
    } else if short.ends_with("Assertion") {
        Assertion
    } else if short.ends_with("PostProcessor") || short.ends_with("Extractor") {
        PostProcessor
    } else if short.ends_with("PreProcessor") {
        PreProcessor
    } else if short.ends_with("Collector")
        || short.ends_with("Listener")
        || short.ends_with("Visualizer")
    {
        Listener
    } else {
        Other
    }
}

/// `compat/ELEMENTS.md`, generated from [`KINDS`].
pub fn elements_markdown() -> String {
    let mut out = String::from(
        "# Element support\n\n\
         Generated from `src/plan/support.rs` by `rmeter elements`; a test fails when this file is stale.\n\
         `runs`: implemented as in JMeter. `inert`: has no effect on a non-GUI run. \
         `unsupported`: `rmeter check` reports it and a run refuses to start \
         (unless `--skip-unsupported`, which prints each skipped element).\n\
         A test class not listed here is unsupported.\n\n\
         | test class | role | status | notes |\n|---|---|---|---|\n",
    );
    for kind in KINDS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            kind.testclass,
            role_name(kind.role),
            status_name(kind.status),
            kind.note
        ));
    }
    out.push_str(
        "\n## Functions\n\n\
         The `${__name(...)}` functions rmeter evaluates (from `src/plan/function.rs`); any other \
         is reported by `rmeter check` and left as literal text, as JMeter does with unknown functions.\n\n",
    );
    let names: Vec<String> = super::function::Function::ALL
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect();
    out.push_str(&names.join(", "));
    out.push('\n');
    out
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Runs => "runs",
        Inert => "inert",
        Unsupported => "unsupported",
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        TestPlan => "test plan",
        ThreadGroup => "thread group",
        Sampler => "sampler",
        Controller => "controller",
        Config => "config element",
        Timer => "timer",
        PreProcessor => "pre-processor",
        PostProcessor => "post-processor",
        Assertion => "assertion",
        Listener => "listener",
        Other => "other",
    }
}
