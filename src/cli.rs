//! The command line: JMeter's non-GUI flags (`rmeter -n -t plan.jmx -l results.jtl -J k=v`) plus
//! rmeter's subcommands (`run`, `check`, `demo`, `elements`), turned once into a [`RunConfig`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::properties::{Properties, PropertiesError};

#[derive(Debug, Parser)]
#[command(
    name = "rmeter",
    version,
    about = "Runs Apache JMeter test plans (.jmx) unchanged and writes JMeter's JTL files",
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version (JMeter's -v).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Print help (JMeter's -?).
    #[arg(short = '?', action = clap::ArgAction::Help)]
    pub usage: Option<bool>,
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the `Run` variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run a plan (the same as `rmeter -n -t PLAN`).
    Run {
        /// The .jmx test plan.
        #[arg(value_name = "PLAN")]
        file: PathBuf,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Report, for each enabled element, whether rmeter runs it.
    Check {
        /// The .jmx test plans.
        #[arg(required = true)]
        plans: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// Set a JMeter property (name=value), as for a run.
        #[arg(short = 'J', long = "jmeterproperty", value_parser = parse_property)]
        props: Vec<(String, String)>,
    },
    /// Start the demo bank service and run the demo banking journey against it.
    Demo {
        /// Seconds to run the journey.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Virtual users.
        #[arg(long, default_value_t = 5)]
        users: u32,
        /// The JTL file to write.
        #[arg(short = 'l', long = "logfile", default_value = "demo-results.jtl")]
        jtl: PathBuf,
        /// Only serve the demo bank (for running other tools against it) until interrupted.
        #[arg(long)]
        serve: bool,
        /// The port to serve on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Extra latency on every request, in ms (a slower "candidate" for `rmeter compare`).
        #[arg(long, default_value_t = 0)]
        extra_latency_ms: u64,
    },
    /// Write the HTML report and statistics.json from a CSV results file (the same as `-g`).
    Report {
        /// The CSV JTL file.
        #[arg(value_name = "JTL")]
        results: PathBuf,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Compare a baseline and a candidate run (CSV JTL files): markdown on standard output,
    /// and with -o a folder with index.html and compare.json.
    Compare {
        /// The baseline run's JTL.
        baseline: PathBuf,
        /// The candidate run's JTL.
        candidate: PathBuf,
        /// The output folder (absent or empty, unless -f).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Empty a non-empty output folder first.
        #[arg(short = 'f', long = "force")]
        force: bool,
        /// A limit that fails the comparison (exit 3): 'p99=10%', 'p95=50ms', 'errors=0.5pp',
        /// 'tps=5%' (a drop), optionally 'label=NAME:...' (repeatable).
        #[arg(long = "max-regression", value_name = "LIMIT")]
        max_regression: Vec<crate::report::compare::MaxRegression>,
        /// Set a JMeter property (report settings such as sampleresult.timestamp.start).
        #[arg(short = 'J', long = "jmeterproperty", value_parser = parse_property)]
        props: Vec<(String, String)>,
    },
    /// Print the element support table (the source of compat/ELEMENTS.md).
    Elements,
    /// Lay out an rmeter home at DIR (bin/jmeter.sh and friends) for tools that drive JMeter
    /// by its home folder, such as Taurus.
    InstallHome {
        /// The folder to write (created when missing).
        dir: PathBuf,
    },
    /// Ask a running test to stop gracefully (JMeter's shutdown.sh).
    Shutdown {
        /// The test's UDP port (jmeterengine.nongui.port), as shutdown.sh's argument.
        #[arg(value_name = "PORT", conflicts_with = "port")]
        port_arg: Option<u16>,
        /// The test's UDP port (default 4445).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Ask a running test to stop now (JMeter's stoptest.sh).
    Stoptest {
        /// The test's UDP port (jmeterengine.nongui.port), as shutdown.sh's argument.
        #[arg(value_name = "PORT", conflicts_with = "port")]
        port_arg: Option<u16>,
        /// The test's UDP port (default 4445).
        #[arg(long)]
        port: Option<u16>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

/// JMeter's non-GUI flags.
#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
    /// Non-GUI mode; accepted for JMeter compatibility (rmeter has no GUI).
    #[arg(short = 'n', long = "nongui")]
    pub non_gui: bool,
    /// The .jmx test plan to run.
    #[arg(short = 't', long = "testfile")]
    pub plan: Option<PathBuf>,
    /// The JTL results file (appended to when it exists, as JMeter).
    #[arg(short = 'l', long = "logfile")]
    pub jtl: Option<PathBuf>,
    /// The run log (default jmeter.log, as JMeter); a name with paired single quotes is a date
    /// pattern ('jmeter_'yyyyMMddHHmmss'.log').
    #[arg(short = 'j', long = "jmeterlogfile")]
    pub log: Option<PathBuf>,
    /// Log level of the run log: LEVEL or category=LEVEL (repeatable), as JMeter's -L.
    #[arg(short = 'L', long = "loglevel")]
    pub log_levels: Vec<String>,
    /// Set a JMeter property: -Jname=value or -J name=value; an empty value removes it.
    #[arg(short = 'J', long = "jmeterproperty", value_parser = parse_property)]
    pub props: Vec<(String, String)>,
    /// A global property (name=value) or a file of them; in a local run the same as -J / -q.
    #[arg(short = 'G', long = "globalproperty")]
    pub global_props: Vec<String>,
    /// Set a system property (name=value); an empty value removes it.
    #[arg(short = 'D', long = "systemproperty", value_parser = parse_property)]
    pub system_props: Vec<(String, String)>,
    /// Load a system properties file (repeatable).
    #[arg(short = 'S', long = "systemPropertyFile")]
    pub system_property_files: Vec<PathBuf>,
    /// Load an additional properties file (repeatable, in order).
    #[arg(short = 'q', long = "addprop")]
    pub property_files: Vec<PathBuf>,
    /// Use this properties file instead of the built-in jmeter.properties defaults.
    #[arg(short = 'p', long = "propfile")]
    pub property_file: Option<PathBuf>,
    /// The rmeter home (its bin/ holds jmeter.properties, user.properties, system.properties);
    /// default $RMETER_HOME, else the parent of the binary's folder when that is named bin.
    #[arg(short = 'd', long = "homedir")]
    pub home: Option<PathBuf>,
    /// Delete the results files (-l and the plan's listeners) before the run.
    #[arg(short = 'f', long = "forceDeleteResultFile")]
    pub force_delete: bool,
    /// HTTP proxy host (give -P too).
    #[arg(short = 'H', long = "proxyHost")]
    pub proxy_host: Option<String>,
    /// HTTP proxy port (give -H too).
    #[arg(short = 'P', long = "proxyPort")]
    pub proxy_port: Option<String>,
    /// Proxy scheme (http or https), with -H and -P.
    #[arg(short = 'E', long = "proxyScheme")]
    pub proxy_scheme: Option<String>,
    /// Hosts reached without the proxy, e.g. '*.example.org|localhost'.
    #[arg(short = 'N', long = "nonProxyHosts")]
    pub non_proxy_hosts: Option<String>,
    /// Proxy user name.
    #[arg(short = 'u', long = "username")]
    pub proxy_user: Option<String>,
    /// Proxy password.
    #[arg(short = 'a', long = "password")]
    pub proxy_password: Option<String>,
    /// Run on the remote_hosts servers (distributed testing; not available yet).
    #[arg(short = 'r', long = "runremote")]
    pub run_remote: bool,
    /// Run on these remote servers (distributed testing; not available yet).
    #[arg(short = 'R', long = "remotestart")]
    pub remote_start: Option<String>,
    /// Ask remote servers to exit at the end (distributed testing; not available yet).
    #[arg(short = 'X', long = "remoteexit")]
    pub remote_exit: bool,
    /// Generate the HTML dashboard after the run (not available yet).
    #[arg(short = 'e', long = "reportatendofloadtests")]
    pub report_at_end: bool,
    /// The HTML dashboard's folder (not available yet).
    #[arg(short = 'o', long = "reportoutputfolder")]
    pub report_folder: Option<PathBuf>,
    /// Only generate the HTML dashboard from a JTL file (not available yet).
    #[arg(short = 'g', long = "reportonly")]
    pub report_only: Option<PathBuf>,
    /// Send requests for host OLD to NEW without editing the plan: OLD is host, host:port or *;
    /// NEW is host, host:port or scheme://host[:port] (repeatable).
    #[arg(long = "host-map", value_name = "OLD=NEW")]
    pub host_map: Vec<crate::runtime::http::HostRule>,
    /// JMeter's "Validate Test Plan": one thread per thread group, one iteration, no timers
    /// (the testplan_validation.* properties change these).
    #[arg(long)]
    pub validate: bool,
    /// Exit 1 when any sample failed (JMeter exits 0); also the property rmeter.fail_on_error.
    #[arg(long)]
    pub fail_on_error: bool,
    /// A pass/fail limit checked after the run or report, e.g. 'p99<800ms',
    /// 'label=TX03 Transfer:p95<500ms', 'errors<1%', 'tps>200' (repeatable; also
    /// rmeter.threshold.* properties). A breach exits 3.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<crate::report::threshold::Threshold>,
    /// Verify TLS certificates (JMeter accepts any certificate, and so does rmeter by default).
    #[arg(long)]
    pub verify_tls: bool,
    /// Run even when the plan has unsupported elements, printing each one that is skipped.
    #[arg(long)]
    pub skip_unsupported: bool,
}

/// `name=value` for -J and -D.
fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected name=value, got {text:?}")),
    }
}

/// A validated run: everything `lib::run` needs, nothing it must check again.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub plan: PathBuf,
    pub jtl: Option<PathBuf>,
    pub log: PathBuf,
    /// `-L` values, checked when logging is set up.
    pub log_levels: Vec<String>,
    /// `-e -o FOLDER`: the report to write after the run.
    pub report_folder: Option<PathBuf>,
    pub props: Arc<Properties>,
    /// The rmeter home, where JMeter looks for `bin/` files such as `hc.parameters`.
    pub home: Option<PathBuf>,
    /// Java system properties (`-D`, `-S`, `system.properties`, `-H`/`-P`); rmeter reads the
    /// proxy ones.
    pub system_props: Arc<Properties>,
    pub force_delete: bool,
    pub host_map: Vec<crate::runtime::http::HostRule>,
    pub validate: bool,
    pub fail_on_error: bool,
    /// `--threshold` and `rmeter.threshold.*`.
    pub thresholds: Vec<crate::report::threshold::Threshold>,
    pub verify_tls: bool,
    pub skip_unsupported: bool,
}

/// Java system properties with a meaning in rmeter: the proxy ones, and the DNS cache TTLs
/// (rmeter resolves names for each new connection, which is what a TTL of 0 asks for).
pub const SYSTEM_PROPERTIES_READ: &[&str] = &[
    "http.proxyHost",
    "http.proxyPort",
    "https.proxyHost",
    "https.proxyPort",
    "http.proxyScheme",
    "http.nonProxyHosts",
    "https.nonProxyHosts",
    "sun.net.inetaddr.ttl",
    "networkaddress.cache.ttl",
];

impl RunConfig {
    /// System properties that were set but mean nothing to rmeter (reported, never silent).
    pub fn unused_system_properties(&self) -> Vec<String> {
        self.system_props
            .snapshot()
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !SYSTEM_PROPERTIES_READ.contains(&name.as_str()))
            .collect()
    }
}

/// A command line that cannot start a run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("Incorrect Usage: non-GUI runs require a test plan: give -t PLAN.jmx")]
    NoPlan,
    #[error(
        "Incorrect Usage: if specifying a proxy server, host and port must be given (-H and -P)"
    )]
    ProxyIncomplete,
    #[error("distributed testing (-r, -R, -X) is not available in rmeter yet: run rmeter on each load generator instead")]
    Distributed,
    #[error("Incorrect Usage: {0}")]
    Usage(String),
    #[error("invalid threshold property {0}")]
    Threshold(String),
    #[error(transparent)]
    Properties(#[from] PropertiesError),
}

impl CliError {
    /// Usage errors exit 2 (JMeter exits 0 on them, a trap for scripts); the rest 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::NoPlan | CliError::ProxyIncomplete | CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Properties as loaded for a run or a report.
struct Loaded {
    props: Properties,
    system: Properties,
    home: Option<PathBuf>,
}

/// A report without a run (`-g`, `rmeter report`).
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub jtl: PathBuf,
    pub folder: PathBuf,
    pub thresholds: Vec<crate::report::threshold::Threshold>,
    pub props: Arc<Properties>,
    /// `-f`: empty a non-empty output folder first.
    pub force: bool,
    pub log: PathBuf,
    pub log_levels: Vec<String>,
}

/// One property source from the command line, applied in command-line order as JMeter does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    AddProp(PathBuf),
    SystemFile(PathBuf),
    System(String, String),
    Jmeter(String, String),
    Global(String),
}

impl RunArgs {
    /// Builds the run configuration, loading properties in JMeter's order: defaults (or -p),
    /// the home's `user.properties` and `system.properties`, then -q, -S, -D, -J and -G in the
    /// order of the command line (`matches`; without it, in that order of kinds).
    pub fn into_config(
        self,
        plan: Option<PathBuf>,
        matches: Option<&clap::ArgMatches>,
    ) -> Result<RunConfig, CliError> {
        if self.run_remote || self.remote_start.is_some() || self.remote_exit {
            return Err(CliError::Distributed);
        }
        if self.report_only.is_some() {
            return Err(CliError::Usage(
                "-g generates a report from a results file and cannot be combined with a run (-t)"
                    .into(),
            ));
        }
        let report_folder = match (self.report_at_end, &self.report_folder) {
            (false, None) => None,
            (true, Some(folder)) if self.jtl.is_some() => Some(folder.clone()),
            (true, Some(_)) => {
                return Err(CliError::Usage(
                    "-e requires -l, the results file to report on".into(),
                ))
            }
            (true, None) => {
                return Err(CliError::Usage(
                    "-e requires -o, the report's output folder".into(),
                ))
            }
            (false, Some(_)) => {
                return Err(CliError::Usage("-o can only be used with -e or -g".into()))
            }
        };
        let plan = plan.or(self.plan.clone()).ok_or(CliError::NoPlan)?;
        let loaded = self.load_properties(matches)?;
        let (props, system, home) = (loaded.props, loaded.system, loaded.home);
        match (&self.proxy_host, &self.proxy_port) {
            (Some(host), Some(port)) => {
                for scheme in ["http", "https"] {
                    system.set(&format!("{scheme}.proxyHost"), host);
                    system.set(&format!("{scheme}.proxyPort"), port);
                }
                if let Some(scheme) = self
                    .proxy_scheme
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                {
                    system.set("http.proxyScheme", scheme);
                }
            }
            (None, None) => {}
            _ => return Err(CliError::ProxyIncomplete),
        }
        if let Some(hosts) = &self.non_proxy_hosts {
            system.set("http.nonProxyHosts", hosts);
            system.set("https.nonProxyHosts", hosts);
        }
        if let Some(user) = &self.proxy_user {
            props.set("http.proxyUser", user);
            if let Some(password) = &self.proxy_password {
                props.set("http.proxyPass", password);
            }
        }
        let fail_on_error = self.fail_on_error || props.bool("rmeter.fail_on_error", false);
        let thresholds = all_thresholds(self.thresholds.clone(), &props)?;
        Ok(RunConfig {
            plan,
            jtl: self.jtl,
            log: self
                .log
                .map(|log| dated_name(&log))
                .unwrap_or_else(|| PathBuf::from("jmeter.log")),
            log_levels: self.log_levels,
            report_folder,
            props: Arc::new(props),
            home,
            system_props: Arc::new(system),
            force_delete: self.force_delete,
            host_map: self.host_map,
            validate: self.validate,
            fail_on_error,
            thresholds,
            verify_tls: self.verify_tls,
            skip_unsupported: self.skip_unsupported,
        })
    }

    /// Loads the properties in JMeter's order (see [`RunArgs::into_config`]).
    fn load_properties(&self, matches: Option<&clap::ArgMatches>) -> Result<Loaded, CliError> {
        let home = crate::home::locate(self.home.clone());
        let bin = home.as_ref().map(|h| h.join("bin"));
        let props = match &self.property_file {
            Some(file) => {
                let props = Properties::default();
                props.load_file(file)?;
                props
            }
            None => {
                let props = Properties::with_jmeter_defaults();
                if let Some(file) = bin.as_ref().map(|b| b.join("jmeter.properties")) {
                    if file.is_file() {
                        props.load_file(&file)?;
                    }
                }
                props
            }
        };
        let system = Properties::default();
        for (name, target) in [("user.properties", &props), ("system.properties", &system)] {
            let file = props.get(name).and_then(|f| find_file(&f, bin.as_deref()));
            if let Some(file) = file {
                target.load_file(&file)?;
            }
        }
        for source in self.sources(matches) {
            match source {
                Source::AddProp(file) => props.load_file(&file)?,
                Source::SystemFile(file) => system.load_file(&file)?,
                Source::System(name, value) => system.apply_option(&name, &value),
                Source::Jmeter(name, value) => props.apply_option(&name, &value),
                Source::Global(text) => match parse_property(&text) {
                    Ok((name, value)) => props.apply_option(&name, &value),
                    Err(_) => props.load_file(Path::new(&text))?,
                },
            }
        }
        Ok(Loaded {
            props,
            system,
            home,
        })
    }

    /// `-g JTL -o FOLDER` (or `rmeter report JTL -o FOLDER`): a report without a run.
    pub fn into_report_config(
        self,
        matches: Option<&clap::ArgMatches>,
    ) -> Result<ReportConfig, CliError> {
        let Some(jtl) = self.report_only.clone() else {
            return Err(CliError::Usage(
                "give the results file to report on (-g FILE)".into(),
            ));
        };
        if self.plan.is_some() || self.jtl.is_some() || self.report_at_end {
            return Err(CliError::Usage(
                "-g cannot be combined with -t, -l or -e".into(),
            ));
        }
        let folder = self
            .report_folder
            .clone()
            .ok_or_else(|| CliError::Usage("-g requires -o, the report's output folder".into()))?;
        let loaded = self.load_properties(matches)?;
        let thresholds = all_thresholds(self.thresholds.clone(), &loaded.props)?;
        Ok(ReportConfig {
            jtl,
            folder,
            thresholds,
            props: Arc::new(loaded.props),
            force: self.force_delete,
            log: self
                .log
                .map(|log| dated_name(&log))
                .unwrap_or_else(|| PathBuf::from("jmeter.log")),
            log_levels: self.log_levels,
        })
    }

    /// The property options in command-line order.
    fn sources(&self, matches: Option<&clap::ArgMatches>) -> Vec<Source> {
        let mut sources: Vec<(usize, Source)> = Vec::new();
        let mut add = |id: &str, items: Vec<Source>| {
            let indices: Vec<usize> = matches
                .and_then(|m| m.indices_of(id))
                .map(Iterator::collect)
                .unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                // Without matches, kinds keep the order in which they are added here.
                let at = indices.get(i).copied().unwrap_or(usize::MAX / 2);
                sources.push((at, item));
            }
        };
        add(
            "property_files",
            self.property_files
                .iter()
                .cloned()
                .map(Source::AddProp)
                .collect(),
        );
        add(
            "system_property_files",
            self.system_property_files
                .iter()
                .cloned()
                .map(Source::SystemFile)
                .collect(),
        );
        add(
            "system_props",
            self.system_props
                .iter()
                .map(|(k, v)| Source::System(k.clone(), v.clone()))
                .collect(),
        );
        add(
            "props",
            self.props
                .iter()
                .map(|(k, v)| Source::Jmeter(k.clone(), v.clone()))
                .collect(),
        );
        add(
            "global_props",
            self.global_props
                .iter()
                .cloned()
                .map(Source::Global)
                .collect(),
        );
        // A stable sort keeps same-index (matches-less) items in kind order.
        sources.sort_by_key(|(at, _)| *at);
        sources.into_iter().map(|(_, s)| s).collect()
    }
}

/// `--threshold` options, then the `rmeter.threshold.*` properties.
fn all_thresholds(
    mut options: Vec<crate::report::threshold::Threshold>,
    props: &Properties,
) -> Result<Vec<crate::report::threshold::Threshold>, CliError> {
    options.extend(crate::report::threshold::from_properties(props).map_err(CliError::Threshold)?);
    Ok(options)
}

/// JMeter's `findFile`: the name as given (relative to the working folder), else in the home's
/// `bin` folder.
pub fn find_file(name: &str, bin: Option<&Path>) -> Option<PathBuf> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let direct = PathBuf::from(name);
    if direct.is_file() {
        return Some(direct);
    }
    bin.map(|b| b.join(name)).filter(|f| f.is_file())
}

/// A file name with paired single quotes is a SimpleDateFormat pattern of the current time.
fn dated_name(name: &Path) -> PathBuf {
    let text = name.to_string_lossy();
    if text.matches('\'').count() < 2 {
        return name.to_path_buf();
    }
    match crate::plan::java_time::DatePattern::compile(&text) {
        Ok(pattern) => {
            let now = chrono::Local::now();
            let parts = crate::plan::java_time::DateTimeParts::from_epoch_millis(
                now.timestamp_millis(),
                now.offset().local_minus_utc(),
            );
            PathBuf::from(pattern.format(&parts))
        }
        Err(_) => name.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _};

    use super::*;

    #[test]
    fn jmeter_style_flags() {
        let cli = Cli::try_parse_from([
            "rmeter",
            "-n",
            "-t",
            "p.jmx",
            "-l",
            "r.jtl",
            "-Jusers=5",
            "-J",
            "host=x",
        ])
        .unwrap();
        let config = cli.run.into_config(None, None).unwrap();
        assert_eq!(config.plan, PathBuf::from("p.jmx"));
        assert_eq!(config.props.get("users").as_deref(), Some("5"));
        assert_eq!(config.props.get("host").as_deref(), Some("x"));
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn subcommands() {
        let cli =
            Cli::try_parse_from(["rmeter", "check", "a.jmx", "b.jmx", "--format", "json"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Check { ref plans, format: CheckFormat::Json, .. }) if plans.len() == 2)
        );
        let cli = Cli::try_parse_from(["rmeter", "run", "a.jmx", "-l", "x.jtl"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Run { .. })));
    }

    #[test]
    fn missing_plan_is_an_error() {
        let cli = Cli::try_parse_from(["rmeter", "-n"]).unwrap();
        assert!(matches!(
            cli.run.into_config(None, None),
            Err(CliError::NoPlan)
        ));
    }

    fn config(args: &[&str]) -> RunConfig {
        let matches = Cli::command().try_get_matches_from(args).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        cli.run.into_config(None, Some(&matches)).unwrap()
    }

    #[test]
    fn property_options_apply_in_command_line_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.properties");
        let b = dir.path().join("b.properties");
        std::fs::write(&a, "x=from-a\ny=from-a\n").unwrap();
        std::fs::write(&b, "x=from-b\nz=from-b\n").unwrap();
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let c = config(&[
            "rmeter",
            "-n",
            "-t",
            "p.jmx",
            "-Jx=cli",
            "-q",
            a,
            "-Gy=global",
            "-q",
            b,
            "-G",
            "w=1",
            "-Dsys=1",
            "-Jz=",
        ]);
        assert_eq!(c.props.get("x").as_deref(), Some("from-b"));
        assert_eq!(c.props.get("y").as_deref(), Some("global"));
        assert_eq!(c.props.get("z"), None, "-Jz= after the file removes z");
        assert_eq!(c.props.get("w").as_deref(), Some("1"));
        assert_eq!(c.props.get("sys"), None);
        assert_eq!(c.system_props.get("sys").as_deref(), Some("1"));
        // -G with a file loads it, like -q.
        let c = config(&["rmeter", "-n", "-t", "p.jmx", "-G", a]);
        assert_eq!(c.props.get("y").as_deref(), Some("from-a"));
    }

    #[test]
    fn home_supplies_jmeter_user_and_system_properties() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(
            bin.join("jmeter.properties"),
            "summariser.name=home\nu=jm\n",
        )
        .unwrap();
        std::fs::write(bin.join("user.properties"), "u=user\n").unwrap();
        std::fs::write(bin.join("system.properties"), "http.proxyHost=p.example\n").unwrap();
        let home = home.path().to_str().unwrap();
        let c = config(&["rmeter", "-n", "-t", "p.jmx", "-d", home]);
        assert_eq!(c.props.get("summariser.name").as_deref(), Some("home"));
        assert_eq!(c.props.get("u").as_deref(), Some("user"));
        assert_eq!(
            c.system_props.get("http.proxyHost").as_deref(),
            Some("p.example")
        );
        // -p replaces jmeter.properties; user.properties still follows.
        let p = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(p.path(), "user.properties=user.properties\n").unwrap();
        let c = config(&[
            "rmeter",
            "-n",
            "-t",
            "p.jmx",
            "-d",
            home,
            "-p",
            p.path().to_str().unwrap(),
        ]);
        assert_eq!(c.props.get("summariser.name"), None);
        assert_eq!(c.props.get("u").as_deref(), Some("user"));
    }

    #[test]
    fn proxy_options_become_system_properties() {
        let c = config(&[
            "rmeter",
            "-n",
            "-t",
            "p.jmx",
            "-H",
            "proxy.local",
            "-P",
            "3128",
            "-N",
            "*.corp|localhost",
            "-u",
            "me",
            "-a",
            "secret",
        ]);
        let sys = |k: &str| c.system_props.get(k);
        assert_eq!(sys("http.proxyHost").as_deref(), Some("proxy.local"));
        assert_eq!(sys("https.proxyPort").as_deref(), Some("3128"));
        assert_eq!(
            sys("http.nonProxyHosts").as_deref(),
            Some("*.corp|localhost")
        );
        assert_eq!(c.props.get("http.proxyPass").as_deref(), Some("secret"));
        let proxy = crate::runtime::http::ProxySettings::from_properties(&c.system_props, &c.props)
            .unwrap()
            .unwrap();
        assert_eq!(proxy.url.as_str(), "http://proxy.local:3128/");
        assert!(proxy.bypasses("a.CORP") && proxy.bypasses("localhost"));
        assert!(!proxy.bypasses("corp.example") && !proxy.bypasses("localhost2"));
        let matches = Cli::command()
            .try_get_matches_from(["rmeter", "-n", "-t", "p.jmx", "-H", "x"])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let err = cli.run.into_config(None, Some(&matches)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn distributed_options_fail_clearly() {
        for args in [&["-r"][..], &["-R", "h1,h2"], &["-X"]] {
            let mut all = vec!["rmeter", "-n", "-t", "p.jmx", "-l", "r.jtl"];
            all.extend_from_slice(args);
            let matches = Cli::command().try_get_matches_from(&all).unwrap();
            let cli = Cli::from_arg_matches(&matches).unwrap();
            let err = cli.run.into_config(None, Some(&matches)).unwrap_err();
            assert_eq!(err.exit_code(), 1, "{args:?}");
        }
    }

    #[test]
    fn dated_log_names() {
        let name = dated_name(Path::new("'run_'yyyy'.log'"));
        let year = chrono::Local::now().format("%Y").to_string();
        assert_eq!(name, PathBuf::from(format!("run_{year}.log")));
        assert_eq!(
            dated_name(Path::new("plain.log")),
            PathBuf::from("plain.log")
        );
    }
}
