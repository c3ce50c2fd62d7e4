//! Issue 4's drop-in promise: a pipeline's `jmeter -n ...` command line, run with rmeter in its
//! place against a local target, leaves the files JMeter would leave.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("jmx-fixtures/pipeline")
        .join(name)
}

use support::rmeter;

/// Runs the binary off the async runtime, which serves the target meanwhile.
async fn blocking(dir: &Path, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rmeter(&dir, &args)
    })
    .await
    .unwrap()
}

fn routes() -> serde_json::Value {
    serde_json::json!([
        {"method": "GET", "path": "/health", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "up"}
    ])
}

fn text(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jmeter_command_line_works_unchanged() {
    let addr = support::serve_target(routes()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("env.properties"),
        format!(
            "host=127.0.0.1\nport={}\nenv=staging\nloops=3\nerrors_file=errors.csv\n",
            addr.port()
        ),
    )
    .unwrap();
    // Left-overs of an earlier run: -f deletes the -l file and every listener's file.
    std::fs::write(d.join("r.jtl"), "old\n").unwrap();
    std::fs::write(d.join("errors.csv"), "old\n").unwrap();
    let plan = fixture("env-plan.jmx").to_str().unwrap().to_string();
    let plan = plan.as_str();
    let args = [
        "-n",
        "-t",
        plan,
        "-l",
        "r.jtl",
        "-j",
        "j.log",
        "-q",
        "env.properties",
        "-Jusers=2",
        "-f",
    ];
    let out = blocking(d, &args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("summary =     12 in"), "{stdout}");

    let rows = support::read_jtl(&text(d.join("r.jtl")));
    assert_eq!(rows[0][0], "timeStamp", "a fresh header after -f");
    assert_eq!(rows.len(), 1 + 2 * 3 * 2);
    let health = rows
        .iter()
        .filter(|r| r[2] == "GET /health staging" && r[7] == "true");
    assert_eq!(health.count(), 6);
    let threads: std::collections::BTreeSet<&str> =
        rows[1..].iter().map(|r| r[5].as_str()).collect();
    assert_eq!(
        threads.into_iter().collect::<Vec<_>>(),
        ["Users 1-1", "Users 1-2"]
    );

    let errors = support::read_jtl(&text(d.join("errors.csv")));
    assert_eq!(
        errors[0],
        ["timeStamp", "elapsed", "label", "responseCode", "success"]
    );
    assert_eq!(errors.len(), 1 + 6);
    assert!(errors[1..]
        .iter()
        .all(|r| r[2] == "GET /missing" && r[3] == "404" && r[4] == "false"));

    let log = text(d.join("j.log"));
    assert!(log.contains(" INFO "), "{log}");
    assert!(!d.join("jmeter.log").exists(), "-j names the log");

    // The same command without -f appends, with no second header; -J after -q wins.
    let args2 = [
        "-n",
        "-t",
        plan,
        "-l",
        "r.jtl",
        "-j",
        "j.log",
        "-q",
        "env.properties",
        "-Jenv=prod",
        "-Jloops=1",
    ];
    let out = blocking(d, &args2).await;
    assert_eq!(out.status.code(), Some(0));
    let rows = support::read_jtl(&text(d.join("r.jtl")));
    assert_eq!(rows.len(), 1 + 12 + 2);
    assert_eq!(rows.iter().filter(|r| r[0] == "timeStamp").count(), 1);
    assert_eq!(rows[13][2], "GET /health prod");
}

/// The save-service properties pipelines set change the -l file as in JMeter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_service_properties_shape_the_file() {
    let addr = support::serve_target(routes()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("csv.properties"),
        "jmeter.save.saveservice.default_delimiter=\\t\n\
         jmeter.save.saveservice.print_field_names=false\n\
         jmeter.save.saveservice.timestamp_format=yyyy/MM/dd HH:mm:ss.SSS\n\
         jmeter.save.saveservice.latency=false\n\
         jmeter.save.saveservice.hostname=true\n\
         sample_variables=region\n\
         summariser.out=false\n",
    )
    .unwrap();
    let plan = fixture("env-plan.jmx");
    let port = format!("-Jport={}", addr.port());
    let args = [
        "-n",
        "-t",
        plan.to_str().unwrap(),
        "-l",
        "r.jtl",
        "-q",
        "csv.properties",
        "-Jhost=127.0.0.1",
        &port,
        "-Jenv=qa",
        "-Jregion=us",
    ];
    let out = rmeter(d, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !stdout.contains("summary ="),
        "summariser.out=false: {stdout}"
    );
    let jtl = text(d.join("r.jtl"));
    let lines: Vec<&str> = jtl.lines().collect();
    assert_eq!(lines.len(), 2, "no header: {jtl}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    // timeStamp elapsed label code message thread dataType success failureMessage bytes
    // sentBytes grpThreads allThreads URL Hostname IdleTime Connect region
    assert_eq!(fields.len(), 18, "{fields:?}");
    let ts = fields[0];
    assert!(
        ts.len() == 23 && ts.as_bytes()[4] == b'/' && ts.as_bytes()[19] == b'.',
        "{ts}"
    );
    assert_eq!(fields[2], "GET /health qa");
    assert_eq!(fields[17], "us");
    assert_eq!(
        fields[13],
        format!("http://127.0.0.1:{}/health", addr.port())
    );
}

#[test]
fn usage_errors_exit_2_and_other_mistakes_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = fixture("env-plan.jmx");
    let plan = plan.to_str().unwrap();
    for (args, code, message) in [
        (&["-n"][..], 2, "require a test plan"),
        (
            &["-n", "-t", plan, "-H", "proxy"],
            2,
            "host and port must be given",
        ),
        (&["-n", "-t", plan, "--no-such-flag"], 2, "--no-such-flag"),
        (&["-n", "-t", plan, "-R", "h1,h2"], 1, "distributed testing"),
        (
            &["-n", "-t", plan, "-e", "-o", "report"],
            2,
            "-e requires -l",
        ),
        (&["-g", "missing.jtl", "-o", "report"], 1, "missing.jtl"),
    ] {
        let out = rmeter(d, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    for args in [
        &["-v"][..],
        &["--version"],
        &["-j", "x.log", "--version"],
        &["-?"],
        &["-h"],
    ] {
        let out = rmeter(d, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}

/// `output_format=xml` with headers and on-error data: what Taurus's error writer asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_results_keep_headers_and_failed_responses() {
    let addr = support::serve_target(routes()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = fixture("env-plan.jmx");
    let port = format!("-Jport={}", addr.port());
    let args = [
        "-n",
        "-t",
        plan.to_str().unwrap(),
        "-l",
        "r.xml",
        "-Jhost=127.0.0.1",
        &port,
        "-Jjmeter.save.saveservice.output_format=xml",
        "-Jjmeter.save.saveservice.response_data.on_error=true",
        "-Jjmeter.save.saveservice.responseHeaders=true",
        "-Jjmeter.save.saveservice.requestHeaders=true",
    ];
    let out = blocking(d, &args).await;
    assert_eq!(out.status.code(), Some(0));
    let xml = text(d.join("r.xml"));
    let samples: Vec<&str> = xml.split("<httpSample ").skip(1).collect();
    assert_eq!(samples.len(), 2, "{xml}");
    let (ok, failed) = (samples[0], samples[1]);
    assert!(
        ok.contains("<responseHeader class=\"java.lang.String\">HTTP/1.1 200 OK\n"),
        "{ok}"
    );
    assert!(
        ok.contains("<requestHeader class=\"java.lang.String\">"),
        "{ok}"
    );
    assert!(!ok.contains("<responseData"), "{ok}");
    assert!(
        failed.contains("<responseData class=\"java.lang.String\">no route</responseData>"),
        "{failed}"
    );
    assert!(
        failed.contains("<method class=\"java.lang.String\">GET</method>"),
        "{failed}"
    );
    assert!(
        failed.contains("<queryString class=\"java.lang.String\"></queryString>"),
        "{failed}"
    );
    assert!(xml.ends_with("</testResults>\n"));
}

/// `--host-map` sends an unchanged plan to another service and records where it went;
/// `--validate` runs one user once; `--fail-on-error` turns failed samples into exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_map_validate_and_fail_on_error() {
    let legacy = support::serve_target(routes()).await;
    let modern = support::serve_target(serde_json::json!([
        {"method": "GET", "path": "/health", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "up"},
        {"method": "GET", "path": "/missing", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "found"}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = fixture("env-plan.jmx");
    let plan = plan.to_str().unwrap();
    let port = format!("-Jport={}", legacy.port());
    let base = [
        "-n",
        "-t",
        plan,
        "-l",
        "r.jtl",
        "-Jhost=legacy.bank.invalid",
        &port,
    ];
    let run = |extra: Vec<String>| {
        let mut args: Vec<String> = base.iter().map(|a| a.to_string()).collect();
        args.extend(extra);
        async move {
            let _ = std::fs::remove_file(d.join("r.jtl"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = blocking(d, &args).await;
            let rows =
                support::read_jtl(&std::fs::read_to_string(d.join("r.jtl")).unwrap_or_default());
            (out, rows)
        }
    };
    // The legacy host name does not resolve: unmapped, every sample fails.
    let (out, rows) = run(vec!["-Jusers=2".into(), "-Jloops=2".into()]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "failed samples still exit 0, as JMeter"
    );
    assert_eq!(rows.len(), 1 + 8);
    assert!(rows[1..].iter().all(|r| r[7] == "false"));
    // Mapped to the legacy service by host, then to the modern one with a port.
    let to_legacy = format!("legacy.bank.invalid=127.0.0.1:{}", legacy.port());
    let (_, rows) = run(vec!["--host-map".into(), to_legacy]).await;
    assert_eq!(rows[1][7], "true", "{rows:?}");
    assert_eq!(
        rows[1][13],
        format!("http://127.0.0.1:{}/health", legacy.port())
    );
    let to_modern = format!("*=http://127.0.0.1:{}", modern.port());
    let (out, rows) = run(vec![
        "--host-map".into(),
        to_modern,
        "--fail-on-error".into(),
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing failed on the modern service"
    );
    assert_eq!(
        rows[2][2..4],
        ["GET /missing".to_string(), "200".to_string()]
    );
    assert_eq!(
        rows[2][13],
        format!("http://127.0.0.1:{}/missing", modern.port())
    );
    // --fail-on-error with failures: exit 1, and the JTL is complete.
    let to_legacy = format!("legacy.bank.invalid=127.0.0.1:{}", legacy.port());
    let (out, rows) = run(vec![
        "--host-map".into(),
        to_legacy,
        "--fail-on-error".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 samples failed"));
    assert_eq!(rows.len(), 3);
    // --validate: one thread, one iteration, whatever the properties say.
    let to_legacy = format!("legacy.bank.invalid=127.0.0.1:{}", legacy.port());
    let (out, rows) = run(vec![
        "--host-map".into(),
        to_legacy,
        "--validate".into(),
        "-Jusers=50".into(),
        "-Jloops=100".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rows.len(), 3, "{rows:?}");
    let bad = rmeter(d, &["-n", "-t", plan, "--host-map", "nohost"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `hc.parameters.file` from the rmeter home sets the default socket timeout; HTTP client
/// properties rmeter does not implement are reported at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hc_parameters_timeouts_and_unhonoured_properties() {
    let addr = support::serve_target(serde_json::json!([
        {"method": "GET", "path": "/health", "status": 200, "delay_ms": 1500, "body": "slow"}
    ]))
    .await;
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("bin")).unwrap();
    std::fs::write(
        home.path().join("bin/hc.parameters"),
        "http.socket.timeout$Integer=300\nhttp.protocol.version$HttpVersion=1.1\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan = fixture("env-plan.jmx");
    let port = format!("-Jport={}", addr.port());
    let args = [
        "-n",
        "-t",
        plan.to_str().unwrap(),
        "-l",
        "r.jtl",
        "-d",
        home.path().to_str().unwrap(),
        "-Jhc.parameters.file=hc.parameters",
        "-Jhttpclient4.retrycount=2",
        "-Jhost=127.0.0.1",
        &port,
    ];
    let out = blocking(d, &args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("http.protocol.version$HttpVersion has no effect"),
        "{stderr}"
    );
    assert!(
        stderr.contains("httpclient4.retrycount=2 has no effect"),
        "{stderr}"
    );
    let rows = support::read_jtl(&text(d.join("r.jtl")));
    assert_eq!(rows[1][2], "GET /health none");
    assert_eq!(
        rows[1][3], "Non HTTP response code: java.net.SocketTimeoutException",
        "{rows:?}"
    );
    let missing = blocking(
        d,
        &[
            "-n",
            "-t",
            plan.to_str().unwrap(),
            "-Jhc.parameters.file=nope",
        ],
    )
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("hc.parameters.file nope"));
}
