//! rmeter runs Apache JMeter test plans (`.jmx`) unchanged and writes JMeter's JTL result files.
//!
//! # Layout
//! The modules follow the data:
//! JMX bytes → [`jmx`] element tree → [`plan`] (typed, scoped, compiled once) → [`runtime`]
//! (one tokio task per virtual user) → [`sample::Sample`] (over a bounded channel) → [`output`]
//! (JTL CSV files, console summary). [`cli`] turns JMeter's command line into a
//! [`cli::RunConfig`]; [`check`] reports what a plan needs; [`demo`] is the demo bank service that
//! `rmeter demo` and the tests run against.

pub mod check;
pub mod cli;
pub mod clock;
pub mod control;
pub mod demo;
pub mod home;
pub mod jmx;
pub mod log_format;
pub mod output;
pub mod plan;
pub mod properties;
pub mod report;
pub mod runtime;
pub mod sample;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cli::RunConfig;
use output::{FileTarget, OutputConfig, OutputReport};
use plan::{Diagnostic, Plan, Severity};
use runtime::{RunSettings, RunStats, Stop, ThreadCounts};

/// Capacity of the sample channel between the users and the writer.
const SAMPLE_CHANNEL: usize = 16 * 1024;

/// Why a run did not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the file {path} doesn't exist or can't be opened: {cause}")]
    PlanFile { path: String, cause: std::io::Error },
    #[error("{path}: {cause}")]
    Jmx { path: String, cause: jmx::JmxError },
    #[error("{path}: the plan cannot run:\n{}", list(.diagnostics))]
    Plan {
        path: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    #[error(transparent)]
    Output(#[from] output::OutputError),
    #[error(transparent)]
    Format(#[from] output::jtl::FormatError),
    #[error("cannot delete {path}: {cause}")]
    Delete { path: String, cause: std::io::Error },
    #[error(transparent)]
    Proxy(#[from] runtime::http::ProxyError),
    #[error("property {name}={value:?}: expected {expected}")]
    Property {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(rustls::Error),
    #[error("{0}")]
    Keystore(String),
    #[error("hc.parameters.file {path}: {message}")]
    HcParameters { path: String, message: String },
}

fn list(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a finished run reports.
#[derive(Debug)]
pub struct RunOutcome {
    pub stats: RunStats,
    pub output: OutputReport,
    /// Warnings (and skipped unsupported elements) found while building the plan.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and builds a plan, returning it with every diagnostic. The caller decides what is fatal.
pub fn load_plan(
    path: &Path,
    props: &properties::Properties,
) -> Result<(Plan, Vec<Diagnostic>), RunError> {
    let bytes = std::fs::read(path).map_err(|cause| RunError::PlanFile {
        path: path.display().to_string(),
        cause,
    })?;
    let tree = jmx::parse(&bytes).map_err(|cause| RunError::Jmx {
        path: path.display().to_string(),
        cause,
    })?;
    Ok(plan::build_file(&tree, props, path.parent()))
}

/// A plan that is built, checked and ready to run.
pub struct Prepared {
    plan: Arc<Plan>,
    plan_dir: PathBuf,
    files: Vec<FileTarget>,
    http: Arc<runtime::http::HttpSettings>,
    /// Some result file saves headers or bodies: samples carry [`sample::Details`].
    keep_details: bool,
    /// Settings that have no effect in rmeter, to print before the run.
    pub notes: Vec<String>,
    /// Warnings (and skipped unsupported elements) found while building the plan.
    pub diagnostics: Vec<Diagnostic>,
}

/// The client certificates of `javax.net.ssl.keyStore`, as JMeter's `JmeterKeyStore` loads them:
/// the key entries of the Keystore Configuration's range, else the first one.
fn client_certs(
    system: &properties::Properties,
    keystore: Option<&plan::KeystoreSettings>,
) -> Result<Option<Arc<runtime::http::ClientCerts>>, String> {
    let Some(mut keys) = runtime::keystore::ClientKeys::from_system_properties(system)? else {
        return Ok(None);
    };
    let (start, end) = match keystore {
        Some(k) => (k.start, k.end),
        None => (0, Some(0)),
    };
    let last = end
        .unwrap_or(usize::MAX)
        .min(keys.keys.len().saturating_sub(1));
    if start >= keys.keys.len() {
        return Err(format!(
            "keystore {}: No key(s) found (start index {start}, {} key entries)",
            system.get("javax.net.ssl.keyStore").unwrap_or_default(),
            keys.keys.len()
        ));
    }
    keys.keys = keys.keys.drain(start..=last).collect();
    Ok(Some(Arc::new(runtime::http::ClientCerts {
        keys,
        alias_var: keystore.and_then(|k| k.alias_var.clone()),
        next: std::sync::atomic::AtomicUsize::new(0),
    })))
}

/// Loads and builds the plan, refuses it when a diagnostic is fatal, and prepares the outputs.
pub fn prepare(config: &RunConfig) -> Result<Prepared, RunError> {
    let (mut plan, diagnostics) = load_plan(&config.plan, &config.props)?;
    if config.validate {
        plan.validate(&config.props);
    }
    let fatal: Vec<Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| !(config.skip_unsupported && is_unsupported(d)))
        .cloned()
        .collect();
    if !fatal.is_empty() {
        return Err(RunError::Plan {
            path: config.plan.display().to_string(),
            diagnostics: fatal,
        });
    }
    let plan_dir = config
        .plan
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let http2 = match config.props.get("rmeter.http2").as_deref().map(str::trim) {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(RunError::Property {
                name: "rmeter.http2",
                value: v.to_string(),
                expected: "true or false",
            })
        }
    };
    let tls = runtime::http::tls_config(config.verify_tls, http2).map_err(RunError::Tls)?;
    let client_keys =
        client_certs(&config.system_props, plan.keystore.as_ref()).map_err(RunError::Keystore)?;
    let mut http = runtime::http::HttpSettings {
        verify_tls: config.verify_tls,
        tls: Some(Arc::new(tls)),
        proxy: runtime::http::ProxySettings::from_properties(&config.system_props, &config.props)?,
        host_map: config.host_map.clone(),
        static_hosts: plan.static_hosts.clone().into(),
        user_agent: (!config
            .props
            .get("httpclient4.default_user_agent_disabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")))
        .then_some(runtime::http::JMETER_USER_AGENT),
        client_keys,
        ..Default::default()
    };
    let mut notes = Vec::new();
    if let Some(name) = config
        .props
        .get("hc.parameters.file")
        .filter(|n| !n.trim().is_empty())
    {
        let bin = config.home.as_ref().map(|h| h.join("bin"));
        let file = cli::find_file(&name, bin.as_deref()).ok_or_else(|| RunError::HcParameters {
            path: name.clone(),
            message: "the file does not exist".into(),
        })?;
        let text = std::fs::read_to_string(&file).map_err(|e| RunError::HcParameters {
            path: file.display().to_string(),
            message: e.to_string(),
        })?;
        let unused = runtime::http::apply_hc_parameters(&mut http, &text).map_err(|message| {
            RunError::HcParameters {
                path: file.display().to_string(),
                message,
            }
        })?;
        for key in unused {
            notes.push(format!(
                "{}: HttpClient parameter {key} has no effect in rmeter",
                file.display()
            ));
        }
    }
    notes.extend(properties::unhonoured(&config.props));
    if http2 && http.proxy.is_some() {
        notes.push("rmeter.http2=true: requests through the proxy stay on HTTP/1.1; only the hosts reached directly (-N) may speak HTTP/2".into());
    }
    let http = Arc::new(http);
    let mut files = Vec::new();
    if let Some(jtl) = &config.jtl {
        let save = plan::listener::SaveConfig::from_properties(&config.props);
        files.push(FileTarget {
            path: jtl.clone(),
            format: file_format(save, &config.props, plan.functional_mode)?,
            listener: None,
            errors_only: false,
            successes_only: false,
        });
    }
    for (i, listener) in plan.listeners.iter().enumerate() {
        files.push(FileTarget {
            path: listener_path(&listener.filename, &plan_dir),
            format: file_format(listener.save.clone(), &config.props, plan.functional_mode)?,
            listener: Some(i as u16),
            errors_only: listener.errors_only,
            successes_only: listener.successes_only,
        });
    }
    let keep_details = files.iter().any(|f| match &f.format {
        output::FileFormat::Xml(xml) => xml.save.needs_details(plan.functional_mode),
        output::FileFormat::Csv(_) => false,
    });
    if config.force_delete {
        // JMeter's -f deletes the file of every result collector, -l included.
        for file in &files {
            if file.path.exists() {
                std::fs::remove_file(&file.path).map_err(|cause| RunError::Delete {
                    path: file.path.display().to_string(),
                    cause,
                })?;
            }
        }
    }
    Ok(Prepared {
        plan: Arc::new(plan),
        plan_dir,
        files,
        http,
        keep_details,
        notes,
        diagnostics,
    })
}

/// Runs a prepared plan to the end and writes its results. `stop` lets the caller end the run early.
pub async fn execute(
    config: &RunConfig,
    prepared: Prepared,
    stop: Arc<Stop>,
) -> Result<RunOutcome, RunError> {
    let Prepared {
        plan,
        plan_dir,
        files,
        http,
        keep_details,
        diagnostics,
        ..
    } = prepared;
    let start_ms = clock::epoch_millis();
    let output_config = OutputConfig {
        files,
        summariser_name: config.props.get("summariser.name").unwrap_or_default(),
        summariser_interval_s: config.props.int("summariser.interval", 30),
        summariser_out: config.props.bool("summariser.out", true),
        autoflush: config
            .props
            .bool("jmeter.save.saveservice.autoflush", false),
        start_ms,
    };
    let threads = Arc::new(ThreadCounts::default());
    let (tx, rx) = tokio::sync::mpsc::channel(SAMPLE_CHANNEL);
    let writer = output::spawn(output_config, rx, threads.clone())?;
    let settings = RunSettings {
        plan_dir,
        http,
        keep_details,
    };
    let result = runtime::run(plan, config.props.clone(), &settings, tx, stop, threads).await;
    // Every sender is gone once `run` returns: the writer drains, flushes and reports.
    let output = match writer.join() {
        Ok(report) => report?,
        Err(_) => OutputReport::default(),
    };
    Ok(RunOutcome {
        stats: result?,
        output,
        diagnostics,
    })
}

/// Prepares and runs a plan.
pub async fn run(config: &RunConfig, stop: Arc<Stop>) -> Result<RunOutcome, RunError> {
    let prepared = prepare(config)?;
    execute(config, prepared, stop).await
}

fn is_unsupported(d: &Diagnostic) -> bool {
    matches!(
        d.kind,
        plan::DiagnosticKind::UnsupportedElement { .. }
            | plan::DiagnosticKind::UnsupportedOption { .. }
            | plan::DiagnosticKind::UnsupportedFunction { .. }
    )
}

/// The format of a result file: CSV, or XML when its save configuration says so.
fn file_format(
    save: plan::listener::SaveConfig,
    props: &properties::Properties,
    functional_mode: bool,
) -> Result<output::FileFormat, RunError> {
    if save.xml {
        return Ok(output::FileFormat::Xml(output::xml::XmlFormat {
            save,
            functional_mode,
            sample_variables: props.list("sample_variables"),
            hostname: runtime_hostname(),
        }));
    }
    let mut format = output::jtl::CsvFormat::new(save, props)?;
    format.hostname = runtime_hostname();
    Ok(output::FileFormat::Csv(format))
}

fn runtime_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// JMeter: a listener file name starting with `~/` is relative to the plan's folder; others to
/// the working directory.
fn listener_path(name: &str, plan_dir: &Path) -> PathBuf {
    match name.strip_prefix("~/") {
        Some(rest) => plan_dir.join(rest),
        None => PathBuf::from(name),
    }
}
