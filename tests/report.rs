//! The report: `statistics.json` equals JMeter's own expected file for JMeter's own test JTL
//! (both read from `../shared/jmeter-batch`, Apache-2.0, never copied here; the test says so and
//! passes when that folder is absent), the folder rules, and the CLI forms `-g`, `report`, `-e`.

mod support;

use std::path::{Path, PathBuf};

fn batch(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/jmeter-batch")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

use support::rmeter;

/// Compares two JSON trees; numbers must be equal as f64 (JMeter writes `6.1894261494177E-4`
/// where serde writes `0.00061894261494177`).
fn assert_same(expected: &serde_json::Value, actual: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<_> = e.keys().collect();
            let mut ak: Vec<_> = a.keys().collect();
            ek.sort();
            ak.sort();
            assert_eq!(ek, ak, "keys at {at}");
            for (k, v) in e {
                assert_same(v, &a[k], &format!("{at}.{k}"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            assert_eq!(e.as_f64(), a.as_f64(), "{at}: expected {e}, got {a}");
        }
        _ => assert_eq!(expected, actual, "at {at}"),
    }
}

#[test]
fn statistics_json_equals_jmeters() {
    let (Some(jtl), Some(expected)) = (
        batch("HTMLReportTestFile.csv"),
        batch("HTMLReportExpect.json"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["-g", jtl.to_str().unwrap(), "-o", "whole"],
        vec![
            "report",
            jtl.to_str().unwrap(),
            "-o",
            "window",
            "-Jrmeter.report.percentiles=jmeter",
        ],
    ] {
        let out = rmeter(dir.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let folder = dir
            .path()
            .join(args[args.iter().position(|a| *a == "-o").unwrap() + 1]);
        let actual: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("statistics.json")).unwrap())
                .unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&expected).unwrap()).unwrap();
        assert_same(&expected, &actual, "statistics");
        let page = std::fs::read_to_string(folder.join("index.html")).unwrap();
        assert!(page.contains("\"JR-KO\""), "the page carries the data");
    }
}

#[test]
fn a_jtl_without_required_columns_fails_and_leaves_the_folder_empty() {
    let Some(jtl) = batch("HTMLReportFalseTestFile.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = rmeter(dir.path(), &["-g", jtl.to_str().unwrap(), "-o", "report"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("responseCode, responseMessage"), "{stderr}");
    let folder = dir.path().join("report");
    assert!(
        !folder.exists() || std::fs::read_dir(&folder).unwrap().next().is_none(),
        "the folder must stay empty"
    );
}

/// JMeter's folder rule (absent or empty, or -f), and `-e -o` after a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_at_end_of_a_run() {
    let addr = support::serve_target(serde_json::json!([
        {"method": "GET", "path": "/health", "status": 200, "body": "up"}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("jmx-fixtures/pipeline/env-plan.jmx");
    let port = format!("-Jport={}", addr.port());
    let args: Vec<String> = [
        "-n",
        "-t",
        plan.to_str().unwrap(),
        "-l",
        "r.jtl",
        "-e",
        "-o",
        "report",
        "-Jhost=127.0.0.1",
        &port,
        "-Jusers=3",
        "-Jloops=5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = |extra: &[&str]| {
        let (d, mut args) = (d.clone(), args.clone());
        args.extend(extra.iter().map(|s| s.to_string()));
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            rmeter(&d, &args)
        })
    };
    let out = run(&[]).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report/statistics.json")).unwrap())
            .unwrap();
    assert_eq!(stats["Total"]["sampleCount"], 30);
    assert_eq!(stats["Total"]["errorCount"], 15);
    assert_eq!(stats["GET /missing"]["errorPct"], 100.0);
    // Again: the results file and the folder are not empty, so JMeter's rules refuse the run...
    let out = run(&[]).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
    // ...unless -f, which empties both first.
    let out = run(&["-f"]).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = support::read_jtl(&std::fs::read_to_string(d.join("r.jtl")).unwrap());
    assert_eq!(rows.len(), 31);
    // A threshold on the run itself: half the samples fail.
    let out = run(&[
        "-f",
        "--threshold",
        "errors<10%",
        "--threshold",
        "label=GET /health none:p99<5s",
    ])
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("FAIL  errors<10%")
            && stdout.contains("PASS  label=GET /health none:p99<5s"),
        "{stdout}"
    );
    // -g with a non-empty folder fails the same way, and usage mistakes exit 2.
    let out = rmeter(&d, &["-g", "r.jtl", "-o", "report"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("folder is not empty"));
    for args in [
        &["-g", "r.jtl"][..],
        &["-n", "-t", "x.jmx", "-e", "-o", "r2"],
        &["-n", "-t", "x.jmx", "-o", "r2"],
    ] {
        assert_eq!(rmeter(&d, args).status.code(), Some(2), "{args:?}");
    }
}

/// Thresholds on `rmeter report` and on a run: a table of verdicts, and exit 3 on a breach.
#[test]
fn thresholds_fail_the_build_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut jtl = String::from("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n");
    for i in 0..100u64 {
        let (label, ok) = if i % 10 == 0 {
            ("TX03 Transfer", i != 0)
        } else {
            ("TX01 Login", true)
        };
        let code = if ok {
            "200,OK"
        } else {
            "503,Service Unavailable"
        };
        jtl.push_str(&format!(
            "{},{},{label},{code},Users 1-1,text,{ok},,100,10,1,1,null,5,0,1\n",
            1_700_000_000_000u64 + i * 100,
            10 + i * 5
        ));
    }
    std::fs::write(d.join("r.jtl"), jtl).unwrap();
    let report = |folder: &str, thresholds: &[&str]| {
        let mut args = vec!["report", "r.jtl", "-o", folder];
        for t in thresholds {
            args.extend(["--threshold", t]);
        }
        rmeter(d, &args)
    };
    let out = report(
        "pass",
        &["p99<600ms", "errors<2%", "label=TX01 Login:avg<300"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS  p99<600ms"), "{stdout}");
    let out = report("fail", &["p99<600ms", "label=TX03 Transfer:p95<400ms"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("FAIL  label=TX03 Transfer:p95<400ms"),
        "{stdout}"
    );
    assert!(
        d.join("fail/index.html").exists(),
        "the report is written anyway"
    );
    // From a properties file, and malformed ones.
    std::fs::write(
        d.join("gate.properties"),
        "rmeter.threshold.errors=errors<0.5%\n",
    )
    .unwrap();
    let out = rmeter(d, &["-g", "r.jtl", "-o", "props", "-q", "gate.properties"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(report("bad", &["p99 800"]).status.code(), Some(2));
}
