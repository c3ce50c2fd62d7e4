//! The `rmeter` binary: parses the command line, sets up logging, calls the library, and maps the
//! result to an exit code (README "Exit codes"): 0 the run completed, even with failed samples,
//! as JMeter; 1 the run could not start, the plan is not runnable, or `--fail-on-error` saw a
//! failure; 2 a usage error; 3 a threshold or regression limit was breached.

use std::process::ExitCode;
use std::sync::Arc;

// Console output that never panics: a closed pipe (`rmeter check ... | head`) must not kill a
// run or lose what it measured, so errors writing to standard output or error are ignored.
// These shadow the standard macros for this file.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _};
use rmeter::cli::{CheckFormat, Cli, CliError, Command, RunConfig};
use rmeter::runtime::Stop;

/// glibc's malloc takes an arena lock on the per-sample path under many threads (measured in
/// `benches/`: futex wake-ups and lock waits); mimalloc's thread-local heaps do not.
/// The `system-alloc` feature leaves the system allocator in place, for heap profilers
/// (heaptrack) that only see malloc.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Some(Command::Check {
            plans,
            format,
            props,
        }) => check(&plans, format, &props),
        Some(Command::Shutdown { port_arg, port }) => {
            send_command("Shutdown", port_arg.or(port).unwrap_or(4445))
        }
        Some(Command::Stoptest { port_arg, port }) => {
            send_command("StopTestNow", port_arg.or(port).unwrap_or(4445))
        }
        Some(Command::InstallHome { dir }) => install_home(&dir),
        Some(Command::Compare {
            baseline,
            candidate,
            output,
            force,
            max_regression,
            props,
        }) => compare(
            &baseline,
            &candidate,
            output.as_deref(),
            force,
            &max_regression,
            &props,
        ),
        Some(Command::Elements) => {
            print!("{}", rmeter::plan::support::elements_markdown());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Demo {
            duration,
            users,
            jtl,
            serve,
            port,
            extra_latency_ms,
        }) => {
            let extra = std::time::Duration::from_millis(extra_latency_ms);
            if serve {
                serve_demo(port, extra)
            } else {
                demo(duration, users, jtl, extra)
            }
        }
        Some(Command::Run { file, args }) => args
            .into_config(Some(file), matches.subcommand_matches("run"))
            .map_err(Into::into)
            .and_then(run),
        Some(Command::Report { results, args }) => rmeter::cli::RunArgs {
            report_only: Some(results),
            ..args
        }
        .into_report_config(matches.subcommand_matches("report"))
        .map_err(Into::into)
        .and_then(report_only),
        None if cli.run.report_only.is_some() => cli
            .run
            .into_report_config(Some(&matches))
            .map_err(Into::into)
            .and_then(report_only),
        None => cli
            .run
            .into_config(None, Some(&matches))
            .map_err(Into::into)
            .and_then(run),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            match error.downcast_ref::<CliError>() {
                Some(usage) if usage.exit_code() == 2 => {
                    eprintln!("{usage}");
                    ExitCode::from(2)
                }
                _ => {
                    eprintln!("An error occurred: {error:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn check(
    plans: &[std::path::PathBuf],
    format: CheckFormat,
    props: &[(String, String)],
) -> anyhow::Result<ExitCode> {
    let properties = rmeter::properties::Properties::with_jmeter_defaults();
    for (k, v) in props {
        properties.apply_option(k, v);
    }
    let reports: Vec<_> = plans
        .iter()
        .map(|p| rmeter::check::check_file(p, &properties))
        .collect();
    match format {
        CheckFormat::Text => print!("{}", rmeter::check::text(&reports)),
        CheckFormat::Json => println!("{}", rmeter::check::json(&reports)),
    }
    Ok(if reports.iter().all(|r| r.runnable()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn install_home(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let binary = std::env::current_exe().context("cannot find the rmeter binary")?;
    let written = rmeter::home::install(dir, &binary)
        .with_context(|| format!("cannot install an rmeter home in {}", dir.display()))?;
    for file in written {
        println!("{}", file.display());
    }
    println!(
        "rmeter home ready: point Taurus's modules.jmeter.path at {}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn send_command(command: &str, port: u16) -> anyhow::Result<ExitCode> {
    rmeter::control::send(command, port)
        .with_context(|| format!("cannot send {command} to port {port}"))?;
    println!("Sending {command} request to port {port}");
    Ok(ExitCode::SUCCESS)
}

fn set_up_logging(log: &std::path::Path, levels: &[String]) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open the log file {}", log.display()))?;
    let base = std::env::var("RMETER_LOG").unwrap_or_else(|_| "info".into());
    let directives =
        rmeter::log_format::filter_directives(&base, levels).map_err(anyhow::Error::msg)?;
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .with_context(|| format!("bad log level {directives:?}"))?;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .event_format(rmeter::log_format::JMeterLogFormat)
        .with_env_filter(filter)
        .try_init();
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `-g JTL -o FOLDER` / `rmeter report`.
fn report_only(config: rmeter::cli::ReportConfig) -> anyhow::Result<ExitCode> {
    set_up_logging(&config.log, &config.log_levels)?;
    rmeter::report::prepare_folder(&config.folder, config.force)?;
    let summary = rmeter::report::generate(
        &config.jtl,
        &config.folder,
        &config.props,
        &config.thresholds,
    )?;
    println!(
        "Report of {} samples written to {}",
        summary.rows,
        summary.folder.join("index.html").display()
    );
    Ok(threshold_verdict(&summary.thresholds).unwrap_or(ExitCode::SUCCESS))
}

fn compare(
    baseline: &std::path::Path,
    candidate: &std::path::Path,
    output: Option<&std::path::Path>,
    force: bool,
    limits: &[rmeter::report::compare::MaxRegression],
    props: &[(String, String)],
) -> anyhow::Result<ExitCode> {
    let properties = rmeter::properties::Properties::with_jmeter_defaults();
    for (k, v) in props {
        properties.apply_option(k, v);
    }
    if let Some(folder) = output {
        rmeter::report::prepare_folder(folder, force)?;
    }
    let comparison = rmeter::report::compare::compare(baseline, candidate, &properties, limits)?;
    print!("{}", comparison.markdown);
    if let Some(folder) = output {
        rmeter::report::write_comparison(folder, &comparison)?;
        println!(
            "\nComparison written to {}",
            folder.join("index.html").display()
        );
    }
    let failed = comparison.verdicts.iter().filter(|v| !v.passed).count();
    if failed > 0 {
        eprintln!(
            "{failed} regression limits exceeded: exit {}",
            rmeter::report::threshold::EXIT_CODE
        );
        return Ok(ExitCode::from(rmeter::report::threshold::EXIT_CODE));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the thresholds' table; `Some(exit code)` when one was breached.
fn threshold_verdict(outcomes: &[rmeter::report::threshold::Outcome]) -> Option<ExitCode> {
    if outcomes.is_empty() {
        return None;
    }
    println!();
    print!("{}", rmeter::report::threshold::table(outcomes));
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed == 0 {
        return None;
    }
    tracing::error!("{failed} thresholds breached");
    eprintln!(
        "{failed} thresholds breached: exit {}",
        rmeter::report::threshold::EXIT_CODE
    );
    Some(ExitCode::from(rmeter::report::threshold::EXIT_CODE))
}

/// `-e`: the checks JMeter makes before the run.
fn check_report_at_end(config: &RunConfig) -> anyhow::Result<()> {
    let Some(folder) = &config.report_folder else {
        return Ok(());
    };
    if config
        .props
        .get("jmeter.save.saveservice.output_format")
        .is_some_and(|f| f.trim().eq_ignore_ascii_case("xml"))
    {
        anyhow::bail!("Report generation requires csv output format, check 'jmeter.save.saveservice.output_format' property");
    }
    if let Some(jtl) = &config.jtl {
        let len = std::fs::metadata(jtl).map(|m| m.len()).unwrap_or(0);
        if len > 0 && !config.force_delete {
            anyhow::bail!("Results file:{} is not empty", jtl.display());
        }
    }
    rmeter::report::prepare_folder(folder, config.force_delete)?;
    Ok(())
}

fn run(config: RunConfig) -> anyhow::Result<ExitCode> {
    set_up_logging(&config.log, &config.log_levels)?;
    let runtime = runtime()?;
    runtime.block_on(run_plan(config))
}

/// JMeter's `2026 Jun 17 13:32:35 UTC (1781703155000)` stamp.
fn stamp() -> String {
    let now = chrono::Local::now();
    let zone = if now.offset().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        now.format("%:z").to_string()
    };
    format!(
        "{} {zone} ({})",
        now.format("%Y %b %d %H:%M:%S"),
        now.timestamp_millis()
    )
}

async fn run_plan(config: RunConfig) -> anyhow::Result<ExitCode> {
    check_report_at_end(&config)?;
    let stop = Arc::new(Stop::default());
    spawn_signal_handler(stop.clone());
    if let Some(name) = config
        .props
        .get("summariser.name")
        .filter(|n| !n.is_empty())
    {
        println!("Creating summariser <{name}>");
    }
    for name in config.unused_system_properties() {
        tracing::warn!("system property {name} has no effect in rmeter");
        eprintln!("Warning: system property {name} has no effect in rmeter");
    }
    let prepared = rmeter::prepare(&config)?;
    for note in &prepared.notes {
        tracing::warn!("{note}");
        eprintln!("Warning: {note}");
    }
    for d in &prepared.diagnostics {
        eprintln!("{d}");
    }
    println!(
        "Created the tree successfully using {}",
        config.plan.display()
    );
    println!("Starting standalone test @ {}", stamp());
    if let Some(port) = rmeter::control::listen(&config.props, stop.clone()).await {
        println!("Waiting for possible Shutdown/StopTestNow message on port {port}");
    }
    tracing::info!("Running the test!");
    let outcome = rmeter::execute(&config, prepared, stop).await?;
    println!("Tidying up ...    @ {}", stamp());
    println!("... end of run");
    if !outcome.output.label_table.is_empty() {
        println!();
        print!("{}", outcome.output.label_table);
    }
    if let (Some(folder), Some(jtl)) = (&config.report_folder, &config.jtl) {
        let summary = rmeter::report::generate(jtl, folder, &config.props, &[])
            .context("Error generating the report")?;
        println!(
            "Report written to {}",
            summary.folder.join("index.html").display()
        );
    }
    let verdicts = outcome.output.stats.check(&config.thresholds);
    if let Some(code) = threshold_verdict(&verdicts) {
        return Ok(code);
    }
    let failed = outcome.output.failed_samples;
    if config.fail_on_error && failed > 0 {
        tracing::error!("{failed} samples failed (--fail-on-error)");
        eprintln!("{failed} samples failed: exit 1 (--fail-on-error)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGINT and SIGTERM stop the test gracefully; a second one stops it now.
fn spawn_signal_handler(stop: Arc<Stop>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                if stop.is_stopping() {
                    stop.stop_now();
                } else {
                    stop.shutdown();
                }
            }
        }
        #[cfg(not(unix))]
        {
            while tokio::signal::ctrl_c().await.is_ok() {
                if stop.is_stopping() {
                    stop.stop_now();
                } else {
                    stop.shutdown();
                }
            }
        }
    });
}

fn serve_demo(port: u16, extra: std::time::Duration) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let (addr, _server) = rmeter::demo::start_slowed(([127, 0, 0, 1], port).into(), extra)
            .await
            .context("cannot start the demo bank")?;
        println!("Demo bank listening on http://{addr} (Ctrl-C to stop)");
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        Ok(ExitCode::SUCCESS)
    })
}

fn demo(
    duration: u64,
    users: u32,
    jtl: std::path::PathBuf,
    extra: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        let (addr, _server) = rmeter::demo::start_slowed(([127, 0, 0, 1], 0).into(), extra)
            .await
            .context("cannot start the demo bank")?;
        let dir = std::env::temp_dir().join(format!("rmeter-demo-{}", std::process::id()));
        let plan = rmeter::demo::write_demo_plan(&dir).context("cannot write the demo plan")?;
        println!(
            "Demo bank listening on http://{addr}; running {} for {duration} s with {users} users",
            plan.display()
        );
        let args = rmeter::cli::RunArgs {
            jtl: Some(jtl.clone()),
            force_delete: true,
            props: vec![
                ("host".into(), addr.ip().to_string()),
                ("port".into(), addr.port().to_string()),
                ("duration".into(), duration.to_string()),
                ("users".into(), users.to_string()),
            ],
            ..Default::default()
        };
        let config = args.into_config(Some(plan), None)?;
        set_up_logging(&config.log, &config.log_levels)?;
        let code = run_plan(config).await?;
        let _ = std::fs::remove_dir_all(&dir);
        println!("Results written to {}", jtl.display());
        Ok(code)
    })
}
