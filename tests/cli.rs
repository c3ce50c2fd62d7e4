//! The real binary: exit codes and messages for plans with mistakes, and a dead target.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("jmx-fixtures/errors")
        .join(name)
}

/// Runs `rmeter -n -t PLAN -l out.jtl` in a temporary folder.
fn rmeter(plan: &Path) -> (i32, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rmeter"))
        .current_dir(dir.path())
        .args(["-n", "-t"])
        .arg(plan)
        .args(["-l", "out.jtl"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.code().unwrap_or(-1), stdout, stderr, dir)
}

/// Starts `forever.jmx` (4 users looping against a refused port) in `dir`, writing `out.jtl`.
fn spawn_forever(dir: &Path, extra: &[&str], stdout: std::process::Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_rmeter"))
        .current_dir(dir)
        .args(["-n", "-t"])
        .arg(fixture("forever.jmx"))
        .args(["-l", "out.jtl"])
        .args(extra)
        .stdout(stdout)
        .spawn()
        .unwrap()
}

#[track_caller]
fn fails_with(plan: &str, expected: &[&str]) {
    let (code, _, stderr, dir) = rmeter(&fixture(plan));
    assert_eq!(code, 1, "{plan}: expected exit 1, stderr:\n{stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{plan}: stderr lacks {text:?}:\n{stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    let log = std::fs::read_to_string(dir.path().join("jmeter.log")).unwrap_or_default();
    assert!(
        log.contains("ERROR"),
        "{plan}: jmeter.log has no ERROR line:\n{log}"
    );
}

#[test]
fn broken_xml_names_the_line() {
    fails_with("broken-xml.jmx", &["broken-xml.jmx", "line 20"]);
}

#[test]
fn invalid_regex_names_the_element() {
    fails_with(
        "bad-regex.jmx",
        &[
            "Test Plan › Bank Users › TX01 Login › Extract token",
            "invalid regular expression",
        ],
    );
}

#[test]
fn missing_csv_file_names_the_element() {
    fails_with(
        "missing-csv.jmx",
        &[
            "Test Plan › Bank Users › TX01 Login › Customers",
            "no-such-customers.csv",
        ],
    );
}

#[test]
fn misspelled_property_value_names_the_element() {
    fails_with(
        "bad-property.jmx",
        &[
            "Test Plan › Bank Users",
            "ThreadGroup.on_sample_error",
            "stopthred",
        ],
    );
}

#[test]
fn missing_plan_file() {
    let (code, _, stderr, _dir) = rmeter(Path::new("/nonexistent/plan.jmx"));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("doesn't exist or can't be opened"),
        "{stderr}"
    );
}

#[test]
fn a_dead_target_gives_failed_samples_and_exit_0() {
    let (code, stdout, stderr, dir) = rmeter(&fixture("refused.jmx"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("summary =      1 in"), "{stdout}");
    let jtl = std::fs::read_to_string(dir.path().join("out.jtl")).unwrap();
    let row = jtl.lines().nth(1).unwrap();
    assert!(
        row.contains(",TX01 Login,Non HTTP response code: org.apache.http.conn.HttpHostConnectException,Non HTTP response message: Connect to 127.0.0.1:1 [/127.0.0.1] failed: Connection refused,Bank Users 1-1,text,false,"),
        "{row}"
    );
}

#[test]
fn check_reports_statuses_and_exit_code() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("jmx-fixtures/demo/banking-journey.jmx");
    let output = Command::new(env!("CARGO_BIN_EXE_rmeter"))
        .arg("check")
        .arg(&demo)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("runs         Banking Journey › Bank Users › TX01 Login › POST /api/login"),
        "{stdout}"
    );
    assert!(
        stdout.contains("inert        Banking Journey › View Results Tree"),
        "{stdout}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_rmeter"))
        .args(["check", "--format", "json"])
        .arg(fixture("bad-regex.jmx"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["files"][0]["runnable"], false);
    assert!(json["files"][0]["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("invalid regular expression"));
}

/// SIGINT and SIGTERM stop gracefully, and a second signal stops at once; in every case the
/// run exits 0 with whole rows, and the summariser counts exactly the rows written.
#[cfg(unix)]
#[test]
fn signals_stop_gracefully_and_keep_every_row() {
    for signals in [&["-INT"][..], &["-TERM"], &["-INT", "-TERM"]] {
        let dir = tempfile::tempdir().unwrap();
        let child = spawn_forever(dir.path(), &[], std::process::Stdio::piped());
        std::thread::sleep(std::time::Duration::from_millis(1500));
        for signal in signals {
            let status = Command::new("kill")
                .args([*signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{signals:?}: {stdout}");
        assert!(stdout.contains("... end of run"), "{stdout}");
        let jtl = std::fs::read_to_string(dir.path().join("out.jtl")).unwrap();
        assert!(jtl.ends_with('\n'), "{signals:?}: the last row is torn");
        let rows: Vec<&str> = jtl.lines().skip(1).collect();
        assert!(rows.len() >= 8, "only {} rows", rows.len());
        for row in &rows {
            assert_eq!(row.split(',').count(), 17, "a torn row: {row}");
        }
        assert!(
            stdout.contains(&format!("summary = {:>6} in", rows.len())),
            "{signals:?}: {stdout}"
        );
    }
}

/// JMeter's remote stop: `Shutdown` and `StopTestNow` over UDP on 127.0.0.1, sent by
/// `rmeter shutdown` / `rmeter stoptest` as `shutdown.sh` / `stoptest.sh` do.
#[test]
fn udp_commands_stop_the_run() {
    for command in ["shutdown", "stoptest"] {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let ports = [
            format!("-Jjmeterengine.nongui.port={port}"),
            format!("-Jjmeterengine.nongui.maxport={port}"),
        ];
        let child = spawn_forever(
            dir.path(),
            &[&ports[0], &ports[1]],
            std::process::Stdio::piped(),
        );
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let sent = Command::new(env!("CARGO_BIN_EXE_rmeter"))
            .args([command, "--port", &port.to_string()])
            .output()
            .unwrap();
        assert!(
            sent.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&sent.stderr)
        );
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{command}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "Waiting for possible Shutdown/StopTestNow message on port {port}"
            )),
            "{stdout}"
        );
        let jtl = std::fs::read_to_string(dir.path().join("out.jtl")).unwrap();
        let rows: Vec<&str> = jtl.lines().skip(1).collect();
        assert!(!rows.is_empty(), "{command}: no rows");
        assert!(
            rows.iter().all(|r| r.split(',').count() == 17),
            "{command}: a torn row"
        );
        assert!(
            stdout.contains(&format!("summary = {:>6} in", rows.len())),
            "{command}: {stdout}"
        );
    }
}

/// `jmeter.save.saveservice.autoflush=true` puts each row on disk as soon as it is written.
#[cfg(unix)]
#[test]
fn autoflush_writes_rows_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "-Jjmeter.save.saveservice.autoflush=true",
        "-Jjmeterengine.nongui.port=0",
    ];
    let child = spawn_forever(dir.path(), &flags, std::process::Stdio::null());
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let while_running = std::fs::read_to_string(dir.path().join("out.jtl")).unwrap();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(0));
    assert!(
        while_running.lines().count() > 10,
        "only {} lines on disk while running",
        while_running.lines().count()
    );
}

/// `output_format=xml` writes JMeter's XML JTL; a second run appends inside `<testResults>`.
#[test]
fn xml_results_append_like_jmeter() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let status = Command::new(env!("CARGO_BIN_EXE_rmeter"))
            .current_dir(dir.path())
            .args(["-n", "-t"])
            .arg(fixture("refused.jmx"))
            .args([
                "-l",
                "out.xml",
                "-Jjmeter.save.saveservice.output_format=xml",
                "-Jjmeterengine.nongui.port=0",
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let xml = std::fs::read_to_string(dir.path().join("out.xml")).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testResults version=\"1.2\">\n<httpSample t=\""), "{xml}");
    assert!(xml.ends_with("</httpSample>\n\n</testResults>\n"), "{xml}");
    assert_eq!(xml.matches("<testResults").count(), 1, "{xml}");
    assert_eq!(xml.matches("</testResults>").count(), 1, "{xml}");
    assert_eq!(xml.matches("<httpSample ").count(), 2, "{xml}");
    assert!(xml.contains(" lb=\"TX01 Login\" rc=\"Non HTTP response code: org.apache.http.conn.HttpHostConnectException\""), "{xml}");
    assert!(
        xml.contains("<java.net.URL>http://127.0.0.1:1/login</java.net.URL>"),
        "{xml}"
    );
}

/// `rmeter check ... | head`: a reader that goes away is not a panic (and not an error).
#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::Read as _;
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("jmx-fixtures/demo/banking-journey.jmx");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rmeter"))
        .args(["check", "--format", "json"])
        .args(std::iter::repeat_n(&demo, 40))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here, while the report is far longer than a pipe holds.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
