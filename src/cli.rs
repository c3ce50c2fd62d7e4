//! The command line: JMeter's non-GUI flags (`rmeter -n -t plan.jmx -l results.jtl -J k=v`) plus
//! rmeter's subcommands (`run`, `check`, `demo`, `elements`), turned once into a [`RunConfig`].

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::properties::{Properties, PropertiesError};

#[derive(Debug, Parser)]
#[command(
    name = "rmeter",
    version,
    about = "Runs Apache JMeter test plans (.jmx) unchanged and writes JMeter's JTL files",
    args_conflicts_with_subcommands = true,
    disable_help_flag = false
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
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
    },
    /// Print the element support table (the source of compat/ELEMENTS.md).
    Elements,
    /// Ask a running test to stop gracefully (JMeter's shutdown.sh).
    Shutdown {
        /// The test's UDP port (jmeterengine.nongui.port).
        #[arg(long, default_value_t = 4445)]
        port: u16,
    },
    /// Ask a running test to stop now (JMeter's stoptest.sh).
    Stoptest {
        /// The test's UDP port (jmeterengine.nongui.port).
        #[arg(long, default_value_t = 4445)]
        port: u16,
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
    /// The run log (default jmeter.log, as JMeter).
    #[arg(short = 'j', long = "jmeterlogfile")]
    pub log: Option<PathBuf>,
    /// Log level of the run log: LEVEL or category=LEVEL (repeatable), as JMeter's -L.
    #[arg(short = 'L', long = "loglevel")]
    pub log_levels: Vec<String>,
    /// Set a JMeter property: -Jname=value or -J name=value; an empty value removes it.
    #[arg(short = 'J', long = "jmeterproperty", value_parser = parse_property)]
    pub props: Vec<(String, String)>,
    /// Load an additional properties file (repeatable, in order).
    #[arg(short = 'q', long = "addprop")]
    pub property_files: Vec<PathBuf>,
    /// Use this properties file instead of the built-in jmeter.properties defaults.
    #[arg(short = 'p', long = "propfile")]
    pub property_file: Option<PathBuf>,
    /// Delete the results file before the run.
    #[arg(short = 'f', long = "forceDeleteResultFile")]
    pub force_delete: bool,
    /// Verify TLS certificates (JMeter accepts any certificate, and so does rmeter by default).
    #[arg(long)]
    pub verify_tls: bool,
    /// Run even when the plan has unsupported elements, printing each one that is skipped.
    #[arg(long)]
    pub skip_unsupported: bool,
}

/// `name=value` for -J.
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
    pub props: Arc<Properties>,
    pub force_delete: bool,
    pub verify_tls: bool,
    pub skip_unsupported: bool,
}

/// A command line that cannot start a run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("non-GUI runs require a test plan: give -t PLAN.jmx")]
    NoPlan,
    #[error(transparent)]
    Properties(#[from] PropertiesError),
}

impl RunArgs {
    /// Builds the run configuration, loading properties in JMeter's order: defaults (or -p),
    /// then -q files, then -J options.
    pub fn into_config(self, plan: Option<PathBuf>) -> Result<RunConfig, CliError> {
        let plan = plan.or(self.plan).ok_or(CliError::NoPlan)?;
        let props = match &self.property_file {
            Some(file) => {
                let props = Properties::default();
                props.load_file(file)?;
                props
            }
            None => Properties::with_jmeter_defaults(),
        };
        for file in &self.property_files {
            props.load_file(file)?;
        }
        for (name, value) in &self.props {
            props.apply_option(name, value);
        }
        Ok(RunConfig {
            plan,
            jtl: self.jtl,
            log: self.log.unwrap_or_else(|| PathBuf::from("jmeter.log")),
            log_levels: self.log_levels,
            props: Arc::new(props),
            force_delete: self.force_delete,
            verify_tls: self.verify_tls,
            skip_unsupported: self.skip_unsupported,
        })
    }
}

#[cfg(test)]
mod tests {
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
        let config = cli.run.into_config(None).unwrap();
        assert_eq!(config.plan, PathBuf::from("p.jmx"));
        assert_eq!(config.props.get("users").as_deref(), Some("5"));
        assert_eq!(config.props.get("host").as_deref(), Some("x"));
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
        assert!(matches!(cli.run.into_config(None), Err(CliError::NoPlan)));
    }
}
